// What one check runs with: the engine's settings, or a CheckRequest's overrides of them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "flowguard/json/document.hpp"
#include "flowguard/lua/rule_host.hpp"
#include "flowguard/result.hpp"

namespace flowguard::engine {

struct Call {
  std::size_t max_findings = 1000;
  bool strict_keys = false;
  std::shared_ptr<const json::Document> options;  // fg.data.options
  std::shared_ptr<const json::Document> headers;  // fg.data.headers; null: none
  lua::CallState* state = nullptr;                 // fg.state; null: none (the rules' own memory)
};

}  // namespace flowguard::engine

namespace flowguard {
struct EngineOptions;
struct CheckRequest;
}  // namespace flowguard

namespace flowguard::engine {

// The calls' settings: the engine's own (documents made once, at create()), and a request's,
// whose documents are rebuilt only when they differ from the previous request's.
class CallSettings {
 public:
  // The engine's call from its options (kept by reference: the engine's, which outlive this).
  Status init(const EngineOptions& options);
  const Call& engine_call() const noexcept { return engine_call_; }

  // The settings of `request`; `now` is set to its time (unix seconds). Usage errors as values.
  Result<Call> for_request(const CheckRequest& request, std::int64_t& now);

 private:
  // The call's time as text: the request's, else the engine's --now, else the clock.
  Result<std::string_view> now_of(const CheckRequest& request, std::int64_t& now);

  const EngineOptions* options_ = nullptr;
  Call engine_call_;
  std::string engine_now_;  // the `now` in engine_call_.options
  // The last request's documents, reused while the next asks for the same `now` (with the clock:
  // for a second) or the same headers: a server's calls parse no JSON for them in between.
  std::string request_now_;
  std::shared_ptr<const json::Document> request_options_;
  std::vector<std::pair<std::string, std::string>> request_headers_;
  std::shared_ptr<const json::Document> request_headers_doc_;
  std::time_t clock_second_ = -1;  // the clock's last reading, as text
  std::string clock_text_;
};

}  // namespace flowguard::engine
