// The DIP as a message family (core/engine/family.hpp): what the generic pipeline asks of it.
// Linked whole into libflowguard and registered under "dip", the plugin name of its types.
#pragma once

#include "family.hpp"

namespace flowguard::dip {

class DipFamily final : public engine::Family {
 public:
  std::string_view name() const noexcept override { return "dip"; }
  // A DIP submission item is {"payload": {...}} or the bare payload.
  Unwrapped unwrap(const json::Value& item) const override;
  // CommonBlock S1: the sender's reference, correlation id, timestamp, DIP ids.
  void describe(const json::Value& message, MessageInfo& info) const override;
  // The S1 senderTimestamp.
  std::optional<std::int64_t> ordering_key(const json::Value& message) const override;
  // The DIP's StandardResponse (response.cpp).
  bool append_response(std::string& out, const FileReport& report, const std::string& now) const override;
  // --flows and --timestamp-skew, read by the DIP's flow and time rules.
  void write_run_options(json::Writer& options, const EngineOptions& engine_options) const override;
  // --registry: the market registry as fg.data.registry.
  Status add_rule_data(const EngineOptions& engine_options, const std::vector<std::filesystem::path>& schema_dirs,
                       RuleData& data) const override;
};

// The registered DIP family (for the DIP-named public functions of engine.hpp).
const DipFamily& dip_family();

}  // namespace flowguard::dip
