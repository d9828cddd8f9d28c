// What the server does with a request, apart from HTTP: one configuration generation (its engines,
// one per worker, its keys and its reference window) and the handlers of the API routes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "decision_log.hpp"
#include "flowguard/engine.hpp"
#include "flowguard/server/config.hpp"
#include "metrics.hpp"

namespace flowguard {
class ReferenceWindow;
}

namespace flowguard::server {

struct HttpRequest {
  std::string method;   // "GET", "POST", …
  std::string target;   // path and query as sent
  std::string api_key;  // X-API-Key
  std::string content_type;  // Content-Type: text/csv sends /v1/check's body to the CSV reader
  std::vector<std::pair<std::string, std::string>> headers;  // all of them, for the rules (fg.data.headers)
  std::string body;
};

struct HttpResponse {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// One loaded configuration. Immutable once built, except that worker i alone uses engines[i].
struct Generation {
  std::uint64_t id = 0;
  ServerConfig config;
  std::vector<std::unique_ptr<Engine>> engines;  // one per worker
  std::unordered_set<std::string> types;         // the catalogue, for the validation path
  std::vector<std::string> api_keys;             // empty: no auth
  std::shared_ptr<ReferenceWindow> references;   // shared by the workers; remembers nothing when dedupe is off
  std::shared_ptr<ReferenceWindow> no_references;  // remembers nothing: /v1/messages, whose journal finds repeats
};

// Builds a generation: every engine loaded in full (plugins, schemas, rules, registry), so a
// problem shows now rather than on the first request. Any load problem refuses the whole
// generation: a server must not run quietly without a rule it was configured with.
// `carry` is the previous generation's reference window, kept when the dedupe settings match.
struct BuildOutcome {
  std::shared_ptr<Generation> generation;
  std::vector<std::string> errors;
};
BuildOutcome build_generation(const ServerConfig& config, unsigned workers, std::uint64_t id,
                              std::shared_ptr<ReferenceWindow> carry);

// Splits a target into its path and the value of one query parameter.
std::string_view path_of(std::string_view target);
std::string query_value(std::string_view target, std::string_view name);

// True when the key is one of the generation's (every key is compared, in constant time per byte).
bool authorised(const Generation& generation, std::string_view key);

// The routes that run the engine, on worker `worker`.
HttpResponse handle_validate(const HttpRequest& request, Generation& generation, unsigned worker, Metrics& metrics,
                             DecisionLog* log);
HttpResponse handle_check(const HttpRequest& request, Generation& generation, unsigned worker, Metrics& metrics,
                          DecisionLog* log);

// A JSON error body {"error": {"code": …, "message": …}}.
HttpResponse error_response(unsigned status, std::string_view code, std::string_view message);

}  // namespace flowguard::server
