#include "call.hpp"

#include "family.hpp"
#include "files.hpp"
#include "flowguard/json/writer.hpp"
#include "flowguard/engine.hpp"
#include "flowguard/registry/registry.hpp"

namespace flowguard::engine {

namespace {

// fg.data.options: the run options the rules see (the families' own, then the time).
std::string options_json(const EngineOptions& options, std::string_view now) {
  std::string text;
  json::Writer out(text);
  out.begin_object();
  for (const Family* family : families()) family->write_run_options(out, options);
  out.member("now", now).end_object();
  return text;
}

// fg.data.headers: the request's HTTP headers, in the order given.
std::string headers_json(const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string text;
  json::Writer out(text);
  out.begin_object();
  for (const auto& [name, value] : headers) out.member(name, value);
  out.end_object();
  return text;
}

}  // namespace

Status CallSettings::init(const EngineOptions& options) {
  options_ = &options;
  engine_now_ = options.now.empty() ? utc_now() : options.now;
  auto run_options_doc = json::Document::parse(options_json(options, engine_now_));
  if (!run_options_doc) return make_error(ErrorCode::kInternal, "run options: " + run_options_doc.error().message);
  engine_call_.max_findings = options.max_findings;
  engine_call_.strict_keys = options.strict_keys;
  engine_call_.options = std::make_shared<const json::Document>(std::move(run_options_doc).value());
  if (!options.headers.empty()) {
    auto headers_doc = json::Document::parse(headers_json(options.headers));
    if (!headers_doc) return make_error(ErrorCode::kUsage, "--header: " + headers_doc.error().message);
    engine_call_.headers = std::make_shared<const json::Document>(std::move(headers_doc).value());
  }
  return Ok{};
}

Result<std::string_view> CallSettings::now_of(const CheckRequest& request, std::int64_t& now) {
  const EngineOptions& options = *options_;
  if (request.now.empty() && options.now.empty()) {  // the clock, read as text once a second
    const std::time_t t = std::time(nullptr);
    if (t != clock_second_) {
      clock_text_ = utc_text(t, "Z");
      clock_second_ = t;
    }
    now = static_cast<std::int64_t>(t);
    return std::string_view(clock_text_);
  }
  const std::string_view now_text = !request.now.empty() ? std::string_view(request.now) : std::string_view(options.now);
  // Only a time that is needed is judged: a request's own, or the engine's when a window uses it
  // (the engine never required --now to be a date-time; a DIP time rule then simply does not run).
  if (!request.now.empty() || request.references) {
    const auto instant = now_text.size() >= 20 && now_text[10] == 'T' ? registry::parse_instant(now_text) : std::nullopt;
    if (!instant)
      return make_error(ErrorCode::kUsage, std::string(request.now.empty() ? "--now" : "CheckRequest::now") + " \"" +
                                               std::string(now_text) +
                                               "\" is not a date-time; expected YYYY-MM-DDThh:mm:ssZ (or an offset)");
    now = *instant;
  }
  return now_text;
}

Result<Call> CallSettings::for_request(const CheckRequest& request, std::int64_t& now) {
  Call call = engine_call_;
  call.state = nullptr;
  if (request.max_findings) call.max_findings = *request.max_findings;
  if (request.strict_keys) call.strict_keys = *request.strict_keys;
  auto now_text = now_of(request, now);
  if (!now_text) return std::move(now_text).error();
  if (*now_text == engine_now_) {
    call.options = engine_call_.options;
  } else {
    if (!request_options_ || *now_text != request_now_) {
      auto doc = json::Document::parse(options_json(*options_, *now_text));
      if (!doc) return make_error(ErrorCode::kInternal, "run options: " + doc.error().message);
      request_options_ = std::make_shared<const json::Document>(std::move(doc).value());
      request_now_ = std::string(*now_text);
    }
    call.options = request_options_;
  }
  if (!request.headers.empty()) {
    if (!request_headers_doc_ || request.headers != request_headers_) {
      auto doc = json::Document::parse(headers_json(request.headers));
      if (!doc) return make_error(ErrorCode::kUsage, "CheckRequest::headers: " + doc.error().message);
      request_headers_doc_ = std::make_shared<const json::Document>(std::move(doc).value());
      request_headers_ = request.headers;
    }
    call.headers = request_headers_doc_;
  }
  return call;
}

}  // namespace flowguard::engine
