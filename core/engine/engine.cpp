// The Engine facade: creation (plugins, rule hosts, rule data), types, preload, and the checks
// without a request. The work is done by the pieces in engine_impl.hpp.
#include "flowguard/engine.hpp"

#include <fstream>

#include "engine_impl.hpp"
#include "files.hpp"
#include "family.hpp"
#include "stream_check.hpp"

namespace flowguard {
namespace fs = std::filesystem;

namespace {

// The limits every rule host (the main one and each worker's) runs under.
lua::Limits rule_limits(const EngineOptions& options) {
  lua::Limits limits;
  limits.instructions_per_call = options.lua_instructions_per_call;
  limits.memory_bytes = options.lua_memory_bytes;
  limits.threads = std::max(1u, options.jobs);
  return limits;
}

}  // namespace

Engine::Engine() : impl_(std::make_unique<Impl>()) {}
Engine::~Engine() = default;

Result<std::unique_ptr<Engine>> Engine::create(const EngineOptions& options) {
  std::unique_ptr<Engine> engine(new Engine());
  Impl& impl = *engine->impl_;
  impl.options = options;

  engine::DefaultDirs defaults;
  if (options.use_default_dirs) defaults = engine::find_default_dirs();
  std::vector<fs::path> plugin_dirs = options.plugin_dirs;
  plugin_dirs.insert(plugin_dirs.end(), defaults.plugins.begin(), defaults.plugins.end());
  std::vector<fs::path> schema_dirs = options.schema_dirs;
  schema_dirs.insert(schema_dirs.end(), defaults.schemas.begin(), defaults.schemas.end());
  impl.catalogue.set_schema_dirs(schema_dirs);
  engine::PluginHostOptions plugin_options;
  plugin_options.isolate = options.isolate_plugins;
  plugin_options.timeout = std::chrono::milliseconds(options.plugin_load_timeout_ms);
  impl.catalogue.load_plugins(plugin_dirs, plugin_options);

  auto pool = engine::RulePool::create(rule_limits(impl.options), impl.issues);
  if (!pool) return std::move(pool).error();
  impl.pool = std::move(pool).value();
  impl.pool->set_rule_roots(defaults.rules);
  impl.pipeline.emplace(impl.options, impl.catalogue, *impl.pool);

  // Data for the rules: run options always, the headers when given, and the families' own (the DIP's
  // market registry).
  if (auto status = impl.calls.init(impl.options); !status) return std::move(status).error();
  const engine::Call& call = impl.calls.engine_call();
  engine::RulePool::SharedData data;
  data.emplace_back("options", call.options);
  if (call.headers) data.emplace_back("headers", call.headers);
  for (const engine::Family* family : engine::families())
    if (auto status = family->add_rule_data(impl.options, impl.catalogue.schema_dirs(), data); !status)
      return std::move(status).error();
  impl.pool->set_shared_data(std::move(data), call);
  for (const auto& dir : options.rule_dirs) impl.pool->load_rule_dir(dir, true);
  if (options.load_all_rules) engine->preload();
  return engine;
}

const std::vector<LoadIssue>& Engine::load_issues() const noexcept { return impl_->issues; }
const std::vector<LoadIssue>& Engine::load_warnings() const noexcept { return impl_->catalogue.plugin_warnings(); }

std::vector<TypeInfo> Engine::types() const {
  std::vector<TypeInfo> out;
  for (const auto& t : impl_->catalogue.types()) out.push_back({t.name, t.title, t.plugin, t.spec});
  return out;
}

void Engine::preload() {
  for (const auto& t : impl_->catalogue.types()) {
    impl_->pool->ensure_rule_set(t);
    impl_->catalogue.schema_for(t);
  }
}

FileReport Engine::Impl::check(std::string_view bytes, const PaddedBytes* padded, std::string_view source_name,
                               std::string_view type_hint, engine::Clock::time_point t_start, const engine::Call& call) {
  engine::Parsed parsed = pipeline->parse(bytes, padded, std::max(1u, options.jobs));
  return pipeline->check_parsed(parsed, source_name, type_hint, options.jobs, t_start, call);
}

FileReport Engine::check(std::string_view bytes, std::string_view source_name, std::string_view type_hint) {
  return impl_->check(bytes, nullptr, source_name, type_hint, engine::Clock::now(), impl_->calls.engine_call());
}

FileReport Engine::check(const PaddedBytes& bytes, std::string_view source_name, std::string_view type_hint) {
  return impl_->check(bytes.view(), &bytes, source_name, type_hint, engine::Clock::now(), impl_->calls.engine_call());
}

FileReport Engine::check_file(const fs::path& file, std::string_view type_hint) {
  if (is_csv_file(file)) return check_csv_file(*this, file, type_hint);
  return check_file_as(
      file, [&](std::istream& in, bool ndjson) { return check_stream(in, file.string(), type_hint, ndjson); },
      [&](const PaddedBytes& bytes) { return check(bytes, file.string(), type_hint); });
}

FileReport Engine::check_input(std::istream& in, std::string_view source_name, std::string_view type_hint) {
  return check_input_as(
      in, source_name, false,
      [&](std::istream& stream, bool ndjson) { return check_stream(stream, source_name, type_hint, ndjson); },
      [&](const PaddedBytes& bytes) { return check(bytes, source_name, type_hint); });
}

FileReport Engine::check_stream(std::istream& in, std::string_view source_name, std::string_view type_hint, bool ndjson) {
  return engine::check_stream(*impl_->pipeline, in, source_name, type_hint, ndjson, impl_->calls.engine_call());
}

std::string utc_now(const char* zone) { return engine::utc_text(std::time(nullptr), zone); }

}  // namespace flowguard
