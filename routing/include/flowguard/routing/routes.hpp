// The routing configuration: named sinks, the journal, and the routes that send each message to
// sinks. A YAML file (docs/routing.md lists every key) validated like the server's config: every
// problem at file:line:col, unknown keys and unknown sink names refused at load.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <variant>

#include "flowguard/finding.hpp"
#include <vector>

#include "flowguard/config/yaml_reader.hpp"
#include "flowguard/journal/journal.hpp"
#include "flowguard/sinks/sinks.hpp"

namespace flowguard::routing {

// How a sink's transient failures are retried before its messages are dead-lettered.
struct RetryPolicy {
  std::uint32_t max_attempts = 10;                // then the message is dead-lettered
  std::chrono::milliseconds initial_backoff{500};  // doubled per attempt, with ±50% jitter
  std::chrono::milliseconds max_backoff{60000};
};

struct StdoutSinkOptions {};

struct SinkConfig {
  std::string name;
  std::variant<StdoutSinkOptions, sinks::FileOptions, sinks::SpoolOptions, sinks::WebhookOptions, sinks::JetStreamOptions>
      options;
  RetryPolicy retry;
  std::uint32_t line = 0;  // where it was defined, for messages
};

const char* kind_of(const SinkConfig& sink) noexcept;  // "stdout", "file", "spool", "webhook", "jetstream"

// What a route matches on. Every set field must match; a list matches any of its values; type and
// interface accept a trailing '*' ("dip.*", "IF-0*").
struct Match {
  std::vector<std::string> type, interface_id, event_code, sender, sender_role, recipient, recipient_role;
  enum class Verdict { kValid, kInvalid, kAny } verdict = Verdict::kValid;
  std::optional<Severity> min_severity;  // matches when the message has a finding at least this severe
};

struct Route {
  std::string name;
  Match match;
  std::vector<std::string> sinks;
  bool continue_matching = false;  // false: the first matching route decides
  std::uint32_t line = 0;
};

struct RoutingConfig {
  std::filesystem::path source;
  std::filesystem::path journal_path;            // required
  journal::JournalOptions journal;
  std::chrono::milliseconds prune_interval{3600'000};
  std::vector<SinkConfig> sinks;
  std::vector<Route> routes;
  // Valid messages no route matches, and invalid ones, go to this sink with their findings and the
  // reason (nothing is dropped silently). Unset in the file: an implicit spool sink "dead-letter" in
  // <journal folder>/dead-letter.
  std::string dead_letter;
  // An invalid batch is answered 400 either way; true also journals it to the dead-letter sink.
  bool dead_letter_invalid = true;

  const SinkConfig* sink(const std::string& name) const;
};

struct RoutesOutcome {
  std::optional<RoutingConfig> config;
  std::vector<config::Diagnostic> errors;
};

RoutesOutcome load_routes(const std::filesystem::path& file);
RoutesOutcome parse_routes(const std::string& text, const std::filesystem::path& file);

}  // namespace flowguard::routing
