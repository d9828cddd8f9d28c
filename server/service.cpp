#include "service.hpp"

#include <cctype>
#include <chrono>
#include <ctime>
#include <thread>

#include "flowguard/json/writer.hpp"
#include "flowguard/reference_window.hpp"

namespace flowguard::server {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::vector<std::string> split_keys(const std::string& text) {
  std::vector<std::string> keys;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    std::string key = text.substr(start, end - start);
    while (!key.empty() && (key.back() == ' ' || key.back() == '\t')) key.pop_back();
    while (!key.empty() && (key.front() == ' ' || key.front() == '\t')) key.erase(key.begin());
    if (!key.empty()) keys.push_back(std::move(key));
    start = end + 1;
  }
  return keys;
}

// Per-message verdicts and per-rule counts into the metrics.
void count(const FileReport& report, Metrics& metrics) {
  for (const auto& f : report.findings) metrics.finding(f.rule);
  auto under = [](const std::string& pointer, const std::string& base) {
    return base.empty() || pointer == base ||
           (pointer.size() > base.size() && pointer.compare(0, base.size(), base) == 0 && pointer[base.size()] == '/');
  };
  if (report.messages.empty()) {
    metrics.message(report.type.empty() ? "unrecognised" : report.type, report.errors == 0 && !report.input_error);
    return;
  }
  for (const auto& m : report.messages) {
    bool passed = !report.input_error;
    for (const auto& f : report.findings)
      if (f.severity == Severity::kError && under(f.pointer, m.pointer)) passed = false;
    metrics.message(m.type.empty() ? "unrecognised" : m.type, passed);
  }
}

// Content-Type: text/csv (any parameters, any case): a DFS CSV (docs/csv.md), as `check FILE.csv`
// reads it. The type is the media type's, not a guess from the bytes: a CSV is not JSON that
// failed to parse, and a JSON body must never be read as CSV.
bool is_csv(std::string_view content_type) {
  const std::string_view media = content_type.substr(0, content_type.find(';'));
  std::string lower;
  for (char c : media)
    if (c != ' ' && c != '\t') lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower == "text/csv";
}

FileReport run_check(const HttpRequest& request, Generation& generation, unsigned worker, std::string_view type) {
  Engine& engine = *generation.engines.at(worker);
  if (is_csv(request.content_type)) return engine.check_csv(request.body, "body", type);
  const PaddedBytes body(request.body);
  CheckRequest call;
  call.headers = request.headers;
  call.references = generation.references;
  return engine.check(body, "body", type, call);
}

// The part of a JSON report after its opening brace, to embed it in another object.
std::string trim_newline(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

}  // namespace

BuildOutcome build_generation(const ServerConfig& config, unsigned workers, std::uint64_t id,
                              std::shared_ptr<ReferenceWindow> carry) {
  BuildOutcome out;
  auto g = std::make_shared<Generation>();
  g->id = id;
  g->config = config;
  if (!config.api_keys_env.empty()) {
    const char* keys = std::getenv(config.api_keys_env.c_str());
    g->api_keys = split_keys(keys ? keys : "");
    if (g->api_keys.empty()) {
      out.errors.push_back("api_keys_env " + config.api_keys_env + " holds no keys; expected comma-separated API keys");
      return out;
    }
  }
  // The engines load in parallel: each reads and compiles every schema and rule file on its own.
  const EngineOptions options = engine_options(config);
  std::vector<Result<std::unique_ptr<Engine>>> made;
  made.reserve(workers);
  for (unsigned i = 0; i < workers; ++i) made.emplace_back(make_error(ErrorCode::kInternal, "not built"));
  {
    std::vector<std::thread> builders;
    const unsigned parallel = std::max(1u, std::min(workers, std::thread::hardware_concurrency()));
    std::atomic<unsigned> next{0};
    for (unsigned t = 0; t < parallel; ++t)
      builders.emplace_back([&] {
        for (unsigned i; (i = next++) < workers;) made[i] = Engine::create(options);
      });
    for (auto& b : builders) b.join();
  }
  for (unsigned i = 0; i < workers; ++i) {
    if (!made[i]) {
      out.errors.push_back(made[i].error().message);
      return out;
    }
    g->engines.push_back(std::move(made[i]).value());
  }
  // Every engine loaded the same files; the first one's issues stand for all.
  for (const auto& issue : g->engines.front()->load_issues()) out.errors.push_back(issue.source + ": " + issue.message);
  if (!out.errors.empty()) return out;
  for (const auto& t : g->engines.front()->types()) g->types.insert(t.name);
  // Always a window, even with dedupe off (one that remembers nothing): without one the engine
  // would fall back to its run-scope memory, which grows for the process's lifetime.
  const ReferenceWindow::Limits limits{config.dedupe.window_seconds, config.dedupe.window_seconds > 0 ? config.dedupe.max_entries : 0};
  const bool same = carry && carry->limits().window_seconds == limits.window_seconds && carry->limits().max_entries == limits.max_entries;
  g->references = same ? std::move(carry) : std::make_shared<ReferenceWindow>(limits);
  g->no_references = std::make_shared<ReferenceWindow>(ReferenceWindow::Limits{0, 0});
  out.generation = std::move(g);
  return out;
}

std::string_view path_of(std::string_view target) { return target.substr(0, target.find('?')); }

std::string query_value(std::string_view target, std::string_view name) {
  const auto q = target.find('?');
  if (q == std::string_view::npos) return {};
  std::string_view query = target.substr(q + 1);
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) == name) {
      // Type names are plain ASCII; decode %XX so a client that escapes them still works.
      std::string value;
      const std::string_view raw = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
      for (std::size_t i = 0; i < raw.size(); ++i) {
        if (raw[i] == '%' && i + 2 < raw.size() + 0 && std::isxdigit(static_cast<unsigned char>(raw[i + 1])) &&
            std::isxdigit(static_cast<unsigned char>(raw[i + 2]))) {
          value += static_cast<char>(std::stoi(std::string(raw.substr(i + 1, 2)), nullptr, 16));
          i += 2;
        } else {
          value += raw[i] == '+' ? ' ' : raw[i];
        }
      }
      return value;
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return {};
}

bool authorised(const Generation& generation, std::string_view key) {
  if (generation.api_keys.empty()) return true;
  // Every key, every byte: the time taken does not depend on where a guess first differs.
  unsigned ok = 0;
  for (const auto& k : generation.api_keys) {
    const std::size_t n = std::max(k.size(), key.size());
    unsigned diff = k.size() != key.size() ? 1u : 0u;
    for (std::size_t i = 0; i < n; ++i) {
      const unsigned char a = i < k.size() ? static_cast<unsigned char>(k[i]) : 0;
      const unsigned char b = i < key.size() ? static_cast<unsigned char>(key[i]) : 0;
      diff |= static_cast<unsigned>(a ^ b);
    }
    ok |= diff == 0 ? 1u : 0u;
  }
  return ok != 0;
}

HttpResponse error_response(unsigned status, std::string_view code, std::string_view message) {
  HttpResponse r;
  r.status = status;
  json::Writer(r.body).begin_object().key("error").begin_object().member("code", code).member("message", message).end_object().end_object();
  r.body += '\n';
  return r;
}

HttpResponse handle_validate(const HttpRequest& request, Generation& generation, unsigned worker, Metrics& metrics,
                             DecisionLog* log) {
  const auto t0 = Clock::now();
  // /v1/validate/{interface}/{eventCode}: the DIP's own validation path, one variant per path.
  std::string_view rest = path_of(request.target).substr(std::string_view("/v1/validate/").size());
  const auto slash = rest.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == rest.size() || rest.find('/', slash + 1) != std::string_view::npos)
    return error_response(404, "unknown-path", "expected /v1/validate/{interface}/{eventCode}, e.g. /v1/validate/IF-001/InitialRegistration");
  const std::string interface(rest.substr(0, slash)), event(rest.substr(slash + 1));
  const std::string type = "dip." + interface + "." + event;
  if (!generation.types.count(type)) {
    std::string known;
    for (const auto& t : generation.types)
      if (t.rfind("dip." + interface + ".", 0) == 0) known += (known.empty() ? "" : ", ") + t.substr(5 + interface.size());
    return error_response(404, "unknown-variant",
                          "no DIP message variant " + interface + " [" + event + "]" +
                              (known.empty() ? "; " + interface + " is not a DIP interface flowguard knows"
                                             : "; event codes of " + interface + ": " + known));
  }
  // The DIP takes a DIPMessageArray only; a bare message would pass here and fail there.
  const auto first = request.body.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && request.body[first] != '[') {
    std::uint32_t line = 1, column = 1;
    for (std::size_t i = 0; i < first; ++i) request.body[i] == '\n' ? (++line, column = 1) : ++column;
    return error_response(400, "MSG1001", "body:" + std::to_string(line) + ":" + std::to_string(column) +
                                              ": the body is a DIPMessageArray, [{\"payload\": {…}}, …]; found a JSON " +
                                              (request.body[first] == '{' ? "object" : "value") + " instead");
  }
  FileReport report = run_check(request, generation, worker, type);
  const bool passed = report.errors == 0 && !report.input_error;
  HttpResponse r;
  r.status = passed ? 201 : 400;
  const std::string now = utc_now("+00:00");
  // The DIP's StandardResponse, with flowguard's own report (pointer, line:col, rule, spec) beside it.
  r.body = format_dip_response(report, now);
  r.body.pop_back();  // its closing brace: the report goes in before it
  r.body += ",\"flowguard\":" + trim_newline(format_json({report})) + "}\n";
  count(report, metrics);
  if (log) log->write("validate", type, r.status, report, seconds_since(t0));
  return r;
}

HttpResponse handle_check(const HttpRequest& request, Generation& generation, unsigned worker, Metrics& metrics,
                          DecisionLog* log) {
  const auto t0 = Clock::now();
  const std::string type = query_value(request.target, "type");
  FileReport report = run_check(request, generation, worker, type);
  HttpResponse r;
  // The check ran: 200 whatever it found (the report says); 400 when the body could not be checked.
  r.status = report.input_error ? 400 : 200;
  r.body = format_json({report});
  r.headers.emplace_back("X-Flowguard-Verdict", report.input_error ? "input-error" : report.errors ? "fail" : "pass");
  count(report, metrics);
  if (log) log->write("check", type, r.status, report, seconds_since(t0));
  return r;
}

}  // namespace flowguard::server
