// Routes file: YAML → RoutingConfig, every problem at file:line:col (config::Reader).
#include "flowguard/routing/routes.hpp"

#include <algorithm>
#include <cstdlib>
#include <set>

namespace flowguard::routing {
namespace fs = std::filesystem;
using config::Reader;

const char* kind_of(const SinkConfig& sink) noexcept {
  static constexpr const char* kNames[] = {"stdout", "file", "spool", "webhook", "jetstream"};
  return kNames[sink.options.index()];
}

const SinkConfig* RoutingConfig::sink(const std::string& name) const {
  for (const auto& s : sinks)
    if (s.name == name) return &s;
  return nullptr;
}

namespace {

const std::vector<std::string> kKinds = {"stdout", "file", "spool", "webhook", "jetstream"};

void read_retry(Reader& in, const YAML::Node& node, RetryPolicy& retry) {
  if (!node) return;
  if (!in.check_keys(node, "retry", {"max_attempts", "initial_backoff_ms", "max_backoff_ms"})) return;
  in.number(node, "max_attempts", retry.max_attempts, 1, 1'000'000);
  long long initial = retry.initial_backoff.count(), max = retry.max_backoff.count();
  in.number(node, "initial_backoff_ms", initial, 1, 3'600'000);
  in.number(node, "max_backoff_ms", max, 1, 86'400'000);
  retry.initial_backoff = std::chrono::milliseconds(initial);
  retry.max_backoff = std::chrono::milliseconds(std::max(max, initial));
}

// Header values may name an environment variable ("${NAME}") so secrets stay out of the file.
void read_headers(Reader& in, const YAML::Node& node, std::vector<std::pair<std::string, std::string>>& out) {
  if (!node) return;
  if (!node.IsMap()) return in.error(node, "headers must be a mapping of header names to values");
  for (const auto& kv : node) {
    if (!kv.second.IsScalar()) {
      in.error(kv.second, "header " + kv.first.Scalar() + " must have a string value");
      continue;
    }
    std::string value = kv.second.Scalar();
    if (value.size() > 3 && value.rfind("${", 0) == 0 && value.back() == '}') {
      const std::string var = value.substr(2, value.size() - 3);
      const char* set = std::getenv(var.c_str());
      if (!set) {
        in.error(kv.second, "header " + kv.first.Scalar() + " names the environment variable " + var + ", which is not set");
        continue;
      }
      value = set;
    }
    out.emplace_back(kv.first.Scalar(), value);
  }
}

template <typename Ms>
void millis(Reader& in, const YAML::Node& node, const char* key, Ms& out, long long min, long long max) {
  long long v = out.count();
  in.number(node, key, v, min, max);
  out = Ms(v);
}

std::optional<SinkConfig> read_sink(Reader& in, const std::string& name, const YAML::Node& node) {
  SinkConfig sink;
  sink.name = name;
  sink.line = static_cast<std::uint32_t>(node.Mark().line + 1);
  if (!node.IsMap()) {
    in.error(node, "sink " + name + " must be a mapping with a kind (one of: stdout, file, spool, webhook, jetstream)");
    return std::nullopt;
  }
  const YAML::Node kind_node = node["kind"];
  if (!kind_node || !kind_node.IsScalar()) {
    in.error(node, "sink " + name + " has no kind; expected one of: stdout, file, spool, webhook, jetstream");
    return std::nullopt;
  }
  const std::string kind = kind_node.Scalar();
  const std::string where = "sink " + name;
  if (kind == "stdout") {
    in.check_keys(node, where, {"kind"});
    sink.options = StdoutSinkOptions{};
  } else if (kind == "file") {
    sinks::FileOptions o;
    in.check_keys(node, where, {"kind", "path", "rotate_mb", "rotate_seconds", "max_batch", "retry"});
    std::string path;
    in.string(node, "path", path);
    if (path.empty()) in.error(node, where + " (file) needs a path");
    o.path = in.path_of(path);
    long long mb = static_cast<long long>(o.rotate_bytes >> 20), secs = o.rotate_every.count();
    in.number(node, "rotate_mb", mb, 0, 1 << 20);
    in.number(node, "rotate_seconds", secs, 0, 86400LL * 366);
    o.rotate_bytes = static_cast<std::uint64_t>(mb) << 20;
    o.rotate_every = std::chrono::seconds(secs);
    in.number(node, "max_batch", o.max_batch, 1, 100'000);
    sink.options = o;
  } else if (kind == "spool") {
    sinks::SpoolOptions o;
    in.check_keys(node, where, {"kind", "directory", "batch_per_file", "max_batch", "retry"});
    std::string dir;
    in.string(node, "directory", dir);
    if (dir.empty()) in.error(node, where + " (spool) needs a directory");
    o.directory = in.path_of(dir);
    in.boolean(node, "batch_per_file", o.batch_per_file);
    in.number(node, "max_batch", o.max_batch, 1, 100'000);
    sink.options = o;
  } else if (kind == "webhook") {
    sinks::WebhookOptions o;
    in.check_keys(node, where, {"kind", "url", "max_message_count", "max_payload_kb", "connect_timeout_ms", "timeout_ms",
                                "headers", "tls", "retry"});
    in.string(node, "url", o.url);
    if (o.url.rfind("http://", 0) != 0 && o.url.rfind("https://", 0) != 0)
      in.error(node["url"] ? node["url"] : node, where + " (webhook) needs a url starting http:// or https://");
    // The DIP's pubconfig: maxMessageCount and maxPayloadSize (KB).
    in.number(node, "max_message_count", o.max_message_count, 1, 100'000);
    in.number(node, "max_payload_kb", o.max_payload_kb, 1, 1 << 20);
    millis(in, node, "connect_timeout_ms", o.connect_timeout, 1, 600'000);
    millis(in, node, "timeout_ms", o.request_timeout, 1, 3'600'000);
    read_headers(in, node["headers"], o.headers);
    if (const YAML::Node t = node["tls"]; t && in.check_keys(t, where + " tls",
                                                            {"ca_file", "client_cert", "client_key", "key_password_env", "verify_peer"})) {
      std::string ca, cert, key, password_env;
      in.string(t, "ca_file", ca);
      in.string(t, "client_cert", cert);
      in.string(t, "client_key", key);
      in.string(t, "key_password_env", password_env);
      in.boolean(t, "verify_peer", o.tls.verify_peer);
      if (!ca.empty()) o.tls.ca_file = in.path_of(ca);
      if (!cert.empty()) o.tls.client_cert = in.path_of(cert);
      if (!key.empty()) o.tls.client_key = in.path_of(key);
      if (cert.empty() != key.empty()) in.error(t, where + " tls: client_cert and client_key go together (mTLS)");
      if (!password_env.empty()) {
        const char* p = std::getenv(password_env.c_str());
        if (!p) in.error(t["key_password_env"], "key_password_env names " + password_env + ", which is not set");
        else o.tls.key_password = p;
      }
    }
    sink.options = o;
  } else if (kind == "jetstream") {
    sinks::JetStreamOptions o;
    in.check_keys(node, where, {"kind", "servers", "subject", "stream", "credentials", "ack_timeout_ms", "max_batch", "retry"});
    if (node["servers"]) {
      o.servers.clear();
      in.strings(node, "servers", o.servers);
    }
    in.string(node, "subject", o.subject);
    if (o.subject.empty()) in.error(node, where + " (jetstream) needs a subject");
    in.string(node, "stream", o.stream);
    std::string creds;
    in.string(node, "credentials", creds);
    if (!creds.empty()) o.credentials = in.path_of(creds);
    millis(in, node, "ack_timeout_ms", o.ack_timeout, 1, 600'000);
    in.number(node, "max_batch", o.max_batch, 1, 100'000);
    sink.options = o;
  } else {
    const std::string hint = config::closest(kind, kKinds);
    in.error(kind_node, "sink " + name + " has kind \"" + kind + "\"" + (hint.empty() ? "" : "; did you mean \"" + hint + "\"?") +
                            " (expected one of: stdout, file, spool, webhook, jetstream)");
    return std::nullopt;
  }
  read_retry(in, node["retry"], sink.retry);
  return sink;
}

void read_match(Reader& in, const YAML::Node& node, Match& m) {
  if (!node) return;
  if (!in.check_keys(node, "match", {"type", "interface", "event", "verdict", "severity", "sender", "sender_role",
                                     "recipient", "recipient_role"}))
    return;
  in.strings(node, "type", m.type);
  in.strings(node, "interface", m.interface_id);
  in.strings(node, "event", m.event_code);
  in.strings(node, "sender", m.sender);
  in.strings(node, "sender_role", m.sender_role);
  in.strings(node, "recipient", m.recipient);
  in.strings(node, "recipient_role", m.recipient_role);
  std::string verdict;
  in.string(node, "verdict", verdict);
  if (verdict == "valid" || verdict.empty()) m.verdict = Match::Verdict::kValid;
  else if (verdict == "invalid") m.verdict = Match::Verdict::kInvalid;
  else if (verdict == "any") m.verdict = Match::Verdict::kAny;
  else in.error(node["verdict"], "verdict is \"" + verdict + "\"; expected valid, invalid or any");
  std::string severity;
  in.string(node, "severity", severity);
  if (!severity.empty()) {
    m.min_severity = severity_from_string(severity);
    if (!m.min_severity) in.error(node["severity"], "severity is \"" + severity + "\"; expected error, warning or info");
  }
}

}  // namespace

RoutesOutcome parse_routes(const std::string& text, const fs::path& file) {
  RoutesOutcome outcome;
  RoutingConfig c;
  c.source = file;
  Reader in(file, outcome.errors);
  const auto parsed = config::parse_yaml(text, file, "the routes", outcome.errors, "a mapping (docs/routing.md lists the keys)");
  if (!parsed) return outcome;
  const YAML::Node& root = *parsed;
  try {
    if (!in.check_keys(root, "the routes",
                       {"journal", "sinks", "routes", "dead_letter", "dead_letter_invalid"}))
      return outcome;
    if (const YAML::Node j = root["journal"];
        !j) {
      in.error(root, "the routes have no journal; expected journal: {path: FILE} (where accepted messages are kept)");
    } else if (in.check_keys(j, "journal", {"path", "retention_days", "max_undelivered", "group_commit_ms", "prune_interval_s"})) {
      std::string path;
      in.string(j, "path", path);
      if (path.empty()) in.error(j, "journal needs a path (an SQLite file; created when missing)");
      else c.journal_path = in.path_of(path);
      long long days = c.journal.retention.count() / 24, commit = c.journal.group_commit_window.count(),
                prune = c.prune_interval.count() / 1000;
      in.number(j, "retention_days", days, 1, 3660);
      in.number(j, "max_undelivered", c.journal.max_undelivered, 1, 1'000'000'000);
      in.number(j, "group_commit_ms", commit, 0, 1000);
      in.number(j, "prune_interval_s", prune, 1, 86400 * 30);
      c.journal.retention = std::chrono::hours(days * 24);
      c.journal.group_commit_window = std::chrono::milliseconds(commit);
      c.prune_interval = std::chrono::milliseconds(prune * 1000);
    }
    in.boolean(root, "dead_letter_invalid", c.dead_letter_invalid);
    if (const YAML::Node s = root["sinks"]; s) {
      if (!s.IsMap()) {
        in.error(s, "sinks must be a mapping of sink names to their settings");
      } else {
        for (const auto& kv : s) {
          const std::string name = kv.first.Scalar();
          if (c.sink(name)) {
            in.error(kv.first, "sink " + name + " is defined twice");
            continue;
          }
          if (auto sink = read_sink(in, name, kv.second)) c.sinks.push_back(std::move(*sink));
        }
      }
    }
    std::vector<std::string> sink_names;
    for (const auto& s : c.sinks) sink_names.push_back(s.name);
    auto known_sink = [&](const YAML::Node& at, const std::string& name, const std::string& where) {
      if (c.sink(name)) return true;
      const std::string hint = config::closest(name, sink_names);
      in.error(at, where + " names the sink \"" + name + "\", which is not defined under sinks" +
                       (hint.empty() ? "" : "; did you mean \"" + hint + "\"?"));
      return false;
    };
    in.string(root, "dead_letter", c.dead_letter);
    if (!c.dead_letter.empty()) known_sink(root["dead_letter"], c.dead_letter, "dead_letter");
    if (const YAML::Node r = root["routes"]; !r || !r.IsSequence() || r.size() == 0) {
      in.error(r ? r : root, "routes must be a list of routes, each {match: …, sinks: [...]}");
    } else {
      std::set<std::string> names;
      for (const auto& node : r) {
        Route route;
        route.line = static_cast<std::uint32_t>(node.Mark().line + 1);
        if (!in.check_keys(node, "a route", {"name", "match", "sinks", "continue"})) continue;
        in.string(node, "name", route.name);
        if (route.name.empty()) route.name = "route@" + std::to_string(route.line);
        if (!names.insert(route.name).second) in.error(node["name"], "route name " + route.name + " is used twice");
        read_match(in, node["match"], route.match);
        in.boolean(node, "continue", route.continue_matching);
        const YAML::Node sinks = node["sinks"];
        if (!sinks) in.error(node, "route " + route.name + " has no sinks; expected sinks: [NAME, …]");
        in.each_string(sinks, "sinks", [&](const YAML::Node& at, const std::string& name) {
          if (known_sink(at, name, "route " + route.name)) route.sinks.push_back(name);
        });
        c.routes.push_back(std::move(route));
      }
    }
  } catch (const YAML::Exception& e) {
    outcome.errors.push_back({file, static_cast<std::uint32_t>(e.mark.line + 1), static_cast<std::uint32_t>(e.mark.column + 1), e.msg});
  }
  if (outcome.errors.empty() && c.dead_letter.empty()) {
    sinks::SpoolOptions dead;
    dead.directory = c.journal_path.parent_path() / "dead-letter";
    c.sinks.push_back({"dead-letter", dead, RetryPolicy{}, 0});
    c.dead_letter = "dead-letter";
  }
  config::sort_by_position(outcome.errors);
  if (outcome.errors.empty()) outcome.config = std::move(c);
  return outcome;
}

RoutesOutcome load_routes(const fs::path& file) {
  RoutesOutcome outcome;
  const auto text = config::read_text(file, "the routes", outcome.errors);
  if (!text) return outcome;
  std::error_code ec;
  return parse_routes(*text, fs::absolute(file, ec));
}

}  // namespace flowguard::routing
