// Server config: YAML → ServerConfig. Every problem is collected (not only the first) with its
// position, so a broken config is fixed in one pass; unknown keys are errors (a typo such as
// `max_body_kbs` must not silently leave the default in force).
#include "flowguard/server/config.hpp"


#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace flowguard::server {
namespace fs = std::filesystem;

bool split_listen(const std::string& listen, std::string& host, std::uint16_t& port) {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == listen.size()) return false;
  host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  unsigned value = 0;
  const char* begin = listen.data() + colon + 1;
  const char* end = listen.data() + listen.size();
  auto [ptr, ec] = std::from_chars(begin, end, value);
  if (ec != std::errc() || ptr != end || value > 65535) return false;
  port = static_cast<std::uint16_t>(value);
  return true;
}

using config::Reader;

ConfigOutcome parse_config(const std::string& text, const fs::path& file) {
  ConfigOutcome outcome;
  ServerConfig c;
  c.source = file;
  Reader in(file, outcome.errors);
  const auto parsed = config::parse_yaml(text, file, "the config", outcome.errors, "a mapping (docs/server.md lists the keys)");
  if (!parsed) return outcome;
  const YAML::Node& root = *parsed;
  try {
    if (in.check_keys(root, "the config",
                      {"listen", "jobs", "io_threads", "api_keys_env", "metrics_require_key", "ui", "registry", "rules",
                       "plugins", "schemas", "strict_keys", "timestamp_skew_seconds", "limits", "dedupe", "decision_log",
                       "watch_interval_ms", "shutdown_timeout_ms", "routing", "consume"})) {
      in.string(root, "listen", c.listen);
      if (root["listen"]) {
        std::string host;
        std::uint16_t port = 0;
        if (!split_listen(c.listen, host, port))
          in.error(root["listen"], "listen is \"" + c.listen + "\"; expected HOST:PORT such as 127.0.0.1:8080");
      }
      in.number(root, "jobs", c.jobs, 0, 256);
      in.number(root, "io_threads", c.io_threads, 1, 64);
      in.string(root, "api_keys_env", c.api_keys_env);
      in.boolean(root, "metrics_require_key", c.metrics_require_key);
      in.boolean(root, "ui", c.ui);
      in.string(root, "registry", c.registry);
      if (!c.registry.empty() && c.registry != "default") c.registry = in.path_of(c.registry).string();
      in.folders(root, "rules", c.rules);
      in.folders(root, "plugins", c.plugins);
      in.folders(root, "schemas", c.schemas);
      in.boolean(root, "strict_keys", c.strict_keys);
      in.number(root, "timestamp_skew_seconds", c.timestamp_skew_seconds, 0, 86400 * 366);
      in.number(root, "watch_interval_ms", c.watch_interval_ms, 0, 3'600'000);
      in.number(root, "shutdown_timeout_ms", c.shutdown_timeout_ms, 0, 3'600'000);
      if (const YAML::Node l = root["limits"]) {
        if (in.check_keys(l, "limits",
                          {"max_body_kb", "max_header_kb", "max_findings", "request_timeout_ms", "idle_timeout_ms",
                           "max_in_flight", "max_connections", "lua_instructions", "lua_memory_mb"})) {
          in.number(l, "max_body_kb", c.limits.max_body_kb, 1, 1 << 20);
          in.number(l, "max_header_kb", c.limits.max_header_kb, 1, 1024);
          in.number(l, "max_findings", c.limits.max_findings, 1, 1'000'000);
          in.number(l, "request_timeout_ms", c.limits.request_timeout_ms, 10, 3'600'000);
          in.number(l, "idle_timeout_ms", c.limits.idle_timeout_ms, 10, 3'600'000);
          in.number(l, "max_in_flight", c.limits.max_in_flight, 1, 1'000'000);
          in.number(l, "max_connections", c.limits.max_connections, 1, 1'000'000);
          in.number(l, "lua_instructions", c.limits.lua_instructions, 1000, 10'000'000'000LL);
          in.number(l, "lua_memory_mb", c.limits.lua_memory_mb, 1, 65536);
        }
      }
      if (const YAML::Node d = root["dedupe"]) {
        if (in.check_keys(d, "dedupe", {"window_seconds", "max_entries"})) {
          in.number(d, "window_seconds", c.dedupe.window_seconds, 0, 86400LL * 366);
          in.number(d, "max_entries", c.dedupe.max_entries, 1, 100'000'000);
        }
      }
      if (const YAML::Node d = root["decision_log"]) {
        if (in.check_keys(d, "decision_log", {"path", "unmask"})) {
          std::string p;
          in.string(d, "path", p);
          if (!p.empty()) c.decision_log.path = in.path_of(p);
          in.boolean(d, "unmask", c.decision_log.unmask);
        }
      }
      std::string routing;
      in.string(root, "routing", routing);
      if (!routing.empty()) c.routing = in.path_of(routing);
      if (const YAML::Node k = root["consume"]) {
        ConsumeConfig cc;
        if (in.check_keys(k, "consume", {"servers", "credentials", "stream", "durable", "filter_subject", "ack_wait_ms",
                                         "max_deliver", "fetch_batch", "nak_delay_ms", "type"})) {
          if (k["servers"]) {
            cc.servers.clear();
            in.strings(k, "servers", cc.servers);
          }
          std::string creds;
          in.string(k, "credentials", creds);
          if (!creds.empty()) cc.credentials = in.path_of(creds);
          in.string(k, "stream", cc.stream);
          in.string(k, "durable", cc.durable);
          in.string(k, "filter_subject", cc.filter_subject);
          in.string(k, "type", cc.type);
          if (cc.stream.empty()) in.error(k, "consume needs a stream (the JetStream stream messages arrive on)");
          if (cc.durable.empty()) in.error(k, "consume needs a durable (the consumer name the instances share)");
          in.number(k, "ack_wait_ms", cc.ack_wait_ms, 100, 3'600'000);
          in.number(k, "max_deliver", cc.max_deliver, -1, 1'000'000);
          if (cc.max_deliver == 0) in.error(k["max_deliver"], "max_deliver is 0; expected -1 (unlimited) or at least 1");
          in.number(k, "fetch_batch", cc.fetch_batch, 1, 10'000);
          in.number(k, "nak_delay_ms", cc.nak_delay_ms, 0, 3'600'000);
        }
        c.consume = cc;
      }
      if (!c.api_keys_env.empty()) {
        const char* keys = std::getenv(c.api_keys_env.c_str());
        if (!keys || !*keys)
          in.error(root["api_keys_env"], "api_keys_env names " + c.api_keys_env +
                                             ", which is not set or empty; expected comma-separated API keys in it");
      }
    }
  } catch (const YAML::Exception& e) {  // yaml-cpp reports conversion problems this way only
    outcome.errors.push_back({file, static_cast<std::uint32_t>(e.mark.line + 1), static_cast<std::uint32_t>(e.mark.column + 1), e.msg});
  }
  config::sort_by_position(outcome.errors);
  if (outcome.errors.empty()) outcome.config = std::move(c);
  return outcome;
}

ConfigOutcome load_config(const fs::path& file) {
  ConfigOutcome outcome;
  const auto text = config::read_text(file, "the config", outcome.errors);
  if (!text) return outcome;
  std::error_code ec;
  return parse_config(*text, fs::absolute(file, ec));
}

EngineOptions engine_options(const ServerConfig& c) {
  EngineOptions o;
  o.rule_dirs = c.rules;
  o.plugin_dirs = c.plugins;
  o.schema_dirs = c.schemas;
  o.max_findings = c.limits.max_findings;
  o.lua_instructions_per_call = c.limits.lua_instructions;
  o.lua_memory_bytes = c.limits.lua_memory_mb << 20;
  o.load_all_rules = true;
  o.strict_keys = c.strict_keys;
  o.registry = c.registry;
  o.timestamp_skew_seconds = c.timestamp_skew_seconds;
  o.jobs = 1;  // parallelism is across requests (or messages): one engine per worker
  return o;
}

std::vector<fs::path> watched_paths(const ServerConfig& config) {
  std::vector<fs::path> out;
  if (!config.source.empty()) out.push_back(config.source);
  if (!config.registry.empty() && config.registry != "default") out.emplace_back(config.registry);
  auto walk = [&](const std::vector<fs::path>& dirs) {
    for (const auto& dir : dirs) {
      std::error_code ec;
      for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
        if (it->is_regular_file(ec)) out.push_back(it->path());
    }
  };
  walk(config.rules);
  walk(config.plugins);
  return out;
}

}  // namespace flowguard::server
