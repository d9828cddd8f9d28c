#include "dip_family.hpp"

#include "flowguard/domain/checks.hpp"
#include "flowguard/registry/registry.hpp"

namespace flowguard::dip {
namespace fs = std::filesystem;

namespace {

// Keys looked up ignoring case, as the DIP does on ingress.
const json::Value* find_loose(const json::Value* object, std::string_view key) {
  if (!object || !object->is_object()) return nullptr;
  if (const json::Value* v = object->find(key)) return v;
  for (const auto& m : object->members())
    if (domain::loosely_equal_keys(m.key, key) && m.key.size() == key.size()) return &m.value;
  return nullptr;
}

}  // namespace

const DipFamily& dip_family() {
  static const DipFamily family;
  return family;
}

namespace {
// Registered before any engine exists (static initialisation of libflowguard).
[[maybe_unused]] const bool kRegistered = engine::register_family(dip_family());
}  // namespace

engine::Family::Unwrapped DipFamily::unwrap(const json::Value& item) const {
  const json::Value* payload = item.is_object() && item.size() == 1 ? item.find("payload") : nullptr;
  if (payload && payload->is_object()) return {payload, "/payload"};
  return {&item, {}};
}

void DipFamily::describe(const json::Value& message, MessageInfo& info) const {
  const json::Value* s1 = find_loose(find_loose(&message, "CommonBlock"), "S1");
  if (!s1 || !s1->is_object()) return;
  // The five S1 fields in one pass over S1's members, as find_loose finds each: the first exact
  // key, else the first key of the same length that matches loosely.
  static constexpr std::string_view kKeys[] = {"senderUniqueReference", "senderCorrelationID", "senderTimestamp",
                                               "senderDIPID", "DIPConnectionProviderID"};
  constexpr std::size_t kCount = std::size(kKeys);
  const json::Value* found[kCount] = {};
  bool exact[kCount] = {};
  for (const auto& m : s1->members())
    for (std::size_t k = 0; k < kCount; ++k) {
      if (exact[k] || m.key.size() != kKeys[k].size()) continue;
      if (m.key == kKeys[k]) found[k] = &m.value, exact[k] = true;
      else if (!found[k] && domain::loosely_equal_keys(m.key, kKeys[k])) found[k] = &m.value;
    }
  auto text = [&](std::size_t k) -> std::optional<std::string> {
    if (found[k] && found[k]->is_string()) return std::string(found[k]->as_string());
    return std::nullopt;
  };
  info.sender_unique_reference = text(0);
  info.sender_correlation_id = text(1);
  info.sender_timestamp = text(2);
  info.sender_dip_id = text(3);
  info.dcp_dip_id = text(4);
}

std::optional<std::int64_t> DipFamily::ordering_key(const json::Value& message) const {
  MessageInfo info;
  describe(message, info);
  if (!info.sender_timestamp) return std::nullopt;
  return registry::parse_instant(*info.sender_timestamp);
}

void DipFamily::write_run_options(json::Writer& options, const EngineOptions& engine_options) const {
  options.member("flows", engine_options.flows).member("timestamp_skew_seconds", engine_options.timestamp_skew_seconds);
}

Status DipFamily::add_rule_data(const EngineOptions& engine_options, const std::vector<fs::path>& schema_dirs,
                                RuleData& data) const {
  if (engine_options.registry.empty()) return Ok{};
  std::error_code ec;
  fs::path data_dir;
  for (const auto& dir : schema_dirs)
    if (fs::is_regular_file(dir / "registry.schema.json", ec)) {
      data_dir = dir.parent_path();
      break;
    }
  if (data_dir.empty())
    return make_error(ErrorCode::kUsage, "--registry: schemas/registry.schema.json was not found in any schema directory");
  auto registry = registry::load_registry_option(engine_options.registry, data_dir);
  if (!registry) return make_error(ErrorCode::kUsage, registry.error().message);
  data.emplace_back("registry", std::move(registry).value());
  return Ok{};
}

}  // namespace flowguard::dip

// The DIP-named functions of the public API (engine.hpp), kept for their callers.
namespace flowguard {

std::vector<std::string> order_by_sender_timestamp(const std::vector<std::string>& files) {
  return engine::order_by_family_key(files, dip::dip_family());
}

}  // namespace flowguard
