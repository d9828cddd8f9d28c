// Server config: YAML → ServerConfig. Every problem is collected (not only the first) with its
// position, so a broken config is fixed in one pass; unknown keys are errors (a typo such as
// `max_body_kbs` must not silently leave the default in force).
#include "flowguard/server/config.hpp"

#include "flowguard/registry/yaml_bounds.hpp"

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

std::string ConfigDiagnostic::to_string() const {
  std::string out = file.string();
  if (line) out += ":" + std::to_string(line) + ":" + std::to_string(column);
  return out + ": " + message;
}

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

namespace {

// The closest of `names` to `key`, for "did you mean" (a plain edit distance: the key sets are small).
std::string closest(const std::string& key, const std::vector<std::string>& names) {
  auto distance = [](const std::string& a, const std::string& b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
      std::size_t diag = row[0];
      row[0] = i;
      for (std::size_t j = 1; j <= b.size(); ++j) {
        const std::size_t up = row[j];
        row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
        diag = up;
      }
    }
    return row[b.size()];
  };
  std::string best;
  std::size_t best_d = 4;  // beyond three edits a suggestion is noise
  for (const auto& n : names)
    if (auto d = distance(key, n); d < best_d) best_d = d, best = n;
  return best;
}

class Reader {
 public:
  Reader(fs::path file, std::vector<ConfigDiagnostic>& errors) : file_(std::move(file)), errors_(errors) {}

  void error(const YAML::Node& at, std::string message) {
    const auto m = at.Mark();
    errors_.push_back({file_, m.line >= 0 ? static_cast<std::uint32_t>(m.line + 1) : 0,
                       m.column >= 0 ? static_cast<std::uint32_t>(m.column + 1) : 0, std::move(message)});
  }

  // Each key of `map` must be one of `known`; the mapping itself must be a mapping.
  bool check_keys(const YAML::Node& map, const std::string& where, const std::vector<std::string>& known) {
    if (!map.IsMap()) {
      error(map, where + " must be a mapping of keys to values");
      return false;
    }
    for (const auto& kv : map) {
      const std::string key = kv.first.Scalar();
      if (std::find(known.begin(), known.end(), key) != known.end()) continue;
      std::string hint = closest(key, known);
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      error(kv.first, "unknown key \"" + key + "\" in " + where +
                          (hint.empty() ? "" : "; did you mean \"" + hint + "\"?") + " (expected one of: " + list + ")");
    }
    return true;
  }

  template <typename T>
  void number(const YAML::Node& map, const char* key, T& out, long double min, long double max) {
    const YAML::Node n = map[key];
    if (!n) return;
    const std::string text = n.IsScalar() ? n.Scalar() : std::string();
    long long value = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (!n.IsScalar() || text.empty() || ec != std::errc() || ptr != text.data() + text.size() || value < min || value > max) {
      error(n, std::string(key) + " is " + (n.IsScalar() ? "\"" + text + "\"" : std::string("not a scalar")) +
                   "; expected a whole number from " + std::to_string(static_cast<long long>(min)) + " to " +
                   std::to_string(static_cast<long long>(max)));
      return;
    }
    out = static_cast<T>(value);
  }

  void boolean(const YAML::Node& map, const char* key, bool& out) {
    const YAML::Node n = map[key];
    if (!n) return;
    const std::string text = n.IsScalar() ? n.Scalar() : std::string();
    if (text == "true") out = true;
    else if (text == "false") out = false;
    else error(n, std::string(key) + " is \"" + text + "\"; expected true or false");
  }

  void string(const YAML::Node& map, const char* key, std::string& out) {
    const YAML::Node n = map[key];
    if (!n) return;
    if (!n.IsScalar()) return error(n, std::string(key) + " must be a string");
    out = n.Scalar();
  }

  fs::path path_of(const std::string& text) const {
    const fs::path p(text);
    return p.is_absolute() ? p : file_.parent_path() / p;
  }

  // A folder or a list of folders.
  void paths(const YAML::Node& map, const char* key, std::vector<fs::path>& out) {
    const YAML::Node n = map[key];
    if (!n) return;
    auto add = [&](const YAML::Node& item) {
      if (!item.IsScalar() || item.Scalar().empty()) return error(item, std::string(key) + ": expected a folder path");
      const fs::path p = path_of(item.Scalar());
      std::error_code ec;
      if (!fs::is_directory(p, ec)) return error(item, std::string(key) + ": " + p.string() + " is not a folder");
      out.push_back(p);
    };
    if (n.IsSequence()) {
      for (const auto& item : n) add(item);
    } else {
      add(n);
    }
  }

 private:
  fs::path file_;
  std::vector<ConfigDiagnostic>& errors_;
};

}  // namespace

ConfigOutcome parse_config(const std::string& text, const fs::path& file) {
  ConfigOutcome outcome;
  ServerConfig c;
  c.source = file;
  Reader in(file, outcome.errors);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    outcome.errors.push_back({file, static_cast<std::uint32_t>(e.mark.line + 1), static_cast<std::uint32_t>(e.mark.column + 1),
                              "not valid YAML: " + e.msg});
    return outcome;
  }
  if (const auto bounds = registry::check_yaml_nodes(root, registry::yaml_node_limit(text.size())); !bounds.ok) {
    const auto& m = bounds.mark;
    outcome.errors.push_back({file, m.line >= 0 ? static_cast<std::uint32_t>(m.line + 1) : 0,
                              m.column >= 0 ? static_cast<std::uint32_t>(m.column + 1) : 0,
                              registry::yaml_nodes_message(registry::yaml_node_limit(text.size()))});
    return outcome;
  }
  if (!root || root.IsNull()) {
    outcome.errors.push_back({file, 0, 0, "the config is empty; expected a mapping (docs/server.md lists the keys)"});
    return outcome;
  }
  try {
    if (in.check_keys(root, "the config",
                      {"listen", "jobs", "io_threads", "api_keys_env", "metrics_require_key", "registry", "rules", "plugins",
                       "schemas", "strict_keys", "timestamp_skew_seconds", "limits", "dedupe", "decision_log",
                       "watch_interval_ms", "shutdown_timeout_ms"})) {
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
      in.string(root, "registry", c.registry);
      if (!c.registry.empty() && c.registry != "default") c.registry = in.path_of(c.registry).string();
      in.paths(root, "rules", c.rules);
      in.paths(root, "plugins", c.plugins);
      in.paths(root, "schemas", c.schemas);
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
  std::stable_sort(outcome.errors.begin(), outcome.errors.end(),
                   [](const ConfigDiagnostic& a, const ConfigDiagnostic& b) { return a.line < b.line; });
  if (outcome.errors.empty()) outcome.config = std::move(c);
  return outcome;
}

ConfigOutcome load_config(const fs::path& file) {
  std::error_code ec;
  if (fs::is_directory(file, ec)) return {std::nullopt, {{file, 0, 0, "is a folder; expected a YAML config file"}}};
  std::ifstream in(file, std::ios::binary);
  if (!in) return {std::nullopt, {{file, 0, 0, std::string("cannot open the config (") + std::strerror(errno) + ")"}}};
  // A config is a few KB; a huge file is a mistake, not something to parse.
  constexpr std::size_t kMaxConfigBytes = 1 << 20;
  std::string text(kMaxConfigBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > kMaxConfigBytes) return {std::nullopt, {{file, 0, 0, "is larger than 1 MiB; expected a config file of a few KB"}}};
  return parse_config(text, fs::absolute(file, ec));
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
