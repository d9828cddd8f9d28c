// The `flowguard serve` configuration: a YAML file (docs/server.md lists every key), validated
// with FILE:LINE:COL for each problem, like the registry. Paths in it are relative to its folder.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "flowguard/config/yaml_reader.hpp"
#include "flowguard/engine.hpp"

namespace flowguard::server {

struct Limits {
  std::size_t max_body_kb = 8192;          // a request body over this is 413, refused before it is read
  std::size_t max_header_kb = 16;          // request line + headers
  std::size_t max_findings = 1000;         // per request; the rest are counted, not kept
  std::uint32_t request_timeout_ms = 5000; // to read one request whole (slow clients are cut off)
  std::uint32_t idle_timeout_ms = 30000;   // a keep-alive connection waiting for its next request
  std::size_t max_in_flight = 64;          // requests queued or being checked; beyond it: 503 at once
  std::size_t max_connections = 4096;      // open connections; beyond it new ones get 503 and close
  std::uint64_t lua_instructions = 10'000'000;  // per rule call
  std::size_t lua_memory_mb = 64;          // per rule state
};

struct Dedupe {
  std::int64_t window_seconds = 86400;     // a senderUniqueReference repeated within it is MSG1006; 0: off
  std::size_t max_entries = 1'000'000;     // memory bound of the window (oldest evicted first)
};

struct DecisionLogConfig {
  std::filesystem::path path;  // empty: no decision log
  bool unmask = false;         // log MPANs, names, addresses and free text as sent (never by default)
};

// `flowguard consume`: the JetStream durable pull consumer it takes messages from (docs/jetstream.md).
struct ConsumeConfig {
  std::vector<std::string> servers{"nats://127.0.0.1:4222"};
  std::filesystem::path credentials;
  std::string stream, durable, filter_subject;
  std::uint32_t ack_wait_ms = 30000;
  std::int32_t max_deliver = 5;        // -1: unlimited
  std::size_t fetch_batch = 64;
  std::uint32_t nak_delay_ms = 1000;
  std::string type;                    // type hint for the engine; empty: recognised from content
};

struct ServerConfig {
  std::filesystem::path source;        // the YAML file it came from; empty for command-line defaults
  std::string listen = "127.0.0.1:8080";
  unsigned jobs = 0;                   // worker threads (each owns its engine); 0: the number of cores
  unsigned io_threads = 1;             // threads reading and writing sockets
  std::string api_keys_env;            // env var holding comma-separated keys; empty: no auth (logged)
  bool metrics_require_key = false;    // /metrics behind the API key too
  bool ui = true;                      // the checker page at /ui/ (docs/ui.md); false: 404 there
  std::string registry;                // as --registry: a YAML file, "default", or empty
  std::vector<std::filesystem::path> rules, plugins, schemas;
  bool strict_keys = false;
  std::int64_t timestamp_skew_seconds = 300;
  Limits limits;
  Dedupe dedupe;
  DecisionLogConfig decision_log;
  std::filesystem::path routing;       // a routes file (docs/routing.md): enables /v1/messages, /v1/replay, /v1/requeue
  std::optional<ConsumeConfig> consume;  // the `consume:` section, for `flowguard consume`
  std::uint32_t watch_interval_ms = 1000;  // how often config, registry and rule files are checked for changes; 0: SIGHUP only
  std::uint32_t shutdown_timeout_ms = 10000;  // SIGTERM: how long in-flight requests may take to finish
};

using ConfigDiagnostic = config::Diagnostic;

struct ConfigOutcome {
  std::optional<ServerConfig> config;      // set when errors is empty
  std::vector<ConfigDiagnostic> errors;    // every problem, in file order
};

// Reads and validates a config file. Never throws.
ConfigOutcome load_config(const std::filesystem::path& file);
// The same from text (tests, fuzzing); `file` names it in diagnostics and anchors relative paths.
ConfigOutcome parse_config(const std::string& text, const std::filesystem::path& file);

// "host:port" → its parts; the port may be 0 (any free port).
bool split_listen(const std::string& listen, std::string& host, std::uint16_t& port);

// The engine settings a config gives (serve's workers and consume alike): everything loaded up front.
EngineOptions engine_options(const ServerConfig& config);

// The files whose change triggers a reload: the config, the registry and every file under the
// rule and plugin folders.
std::vector<std::filesystem::path> watched_paths(const ServerConfig& config);

}  // namespace flowguard::server
