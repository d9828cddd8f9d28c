// The server's lifecycle: the first generation, listening, dispatch to the workers, reload on
// SIGHUP or a changed file, and drain on SIGTERM.
#include "flowguard/server/server.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <csignal>
#include <cstdio>
#include <map>

#include "flowguard/json/writer.hpp"
#include "http_session.hpp"
#include "messages.hpp"
#include "server_impl.hpp"
#include "ui.hpp"
#include "flowguard/reference_window.hpp"

namespace flowguard::server {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

// What the watched files look like now: a change in any of them (or in the set) is a reload.
std::map<fs::path, std::pair<fs::file_time_type, std::uintmax_t>> fingerprint(const ServerConfig& config) {
  std::map<fs::path, std::pair<fs::file_time_type, std::uintmax_t>> out;
  for (const auto& p : watched_paths(config)) {
    std::error_code ec;
    const auto t = fs::last_write_time(p, ec);
    const auto size = ec ? 0 : fs::file_size(p, ec);
    out[p] = {ec ? fs::file_time_type{} : t, ec ? 0 : size};
  }
  return out;
}

// The headers the rules see (fg.data.headers): what the client says about the message, not how
// it was carried. Leaving out the transport's (Content-Length differs on every request) lets the
// engine reuse the headers it built for the previous request of a client; the API key is never
// passed on.
bool is_rule_header(beast::string_view name) {
  static constexpr const char* kTransport[] = {"X-API-Key", "Host", "Content-Length", "Content-Type", "Connection",
                                               "Keep-Alive", "Transfer-Encoding", "Expect", "Accept", "Accept-Encoding",
                                               "User-Agent", "TE", "Upgrade", "Proxy-Connection"};
  for (const char* t : kTransport)
    if (beast::iequals(name, t)) return false;
  return true;
}

HttpResponse json_status(unsigned status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

}  // namespace

ServerImpl::ServerImpl(ServerConfig config, unsigned workers, std::shared_ptr<spdlog::logger> log,
                       std::unique_ptr<routing::Router> router)
    : start_config_(std::move(config)),
      workers_(workers),
      log_(std::move(log)),
      router_(std::move(router)),
      ioc_(static_cast<int>(start_config_.io_threads)),
      acceptor_(ioc_),
      signals_(ioc_, SIGINT, SIGTERM, SIGHUP),
      drain_timer_(ioc_) {}

ServerImpl::~ServerImpl() {
  {
    std::lock_guard lock(reload_mutex_);
    reload_stop_ = true;
  }
  reload_cv_.notify_all();
  if (reload_thread_.joinable()) reload_thread_.join();
  if (pool_) pool_->stop();
  // The router first: its journal finishes the commits in flight and runs their answers, which
  // use the metrics and the sessions' executor, both still alive here.
  router_.reset();
}

std::shared_ptr<Generation> ServerImpl::current() const {
  std::lock_guard lock(generation_mutex_);
  return generation_;
}

Limits ServerImpl::limits() const {
  auto g = current();
  return g ? g->config.limits : start_config_.limits;
}

bool ServerImpl::load_first_generation() {
  const auto t0 = Clock::now();
  auto built = build_generation(start_config_, workers_, 1, nullptr);
  if (!built.generation) {
    for (const auto& e : built.errors) log_->error("{}", e);
    return false;
  }
  if (!start_config_.decision_log.path.empty()) {
    std::string error;
    decision_log_ = DecisionLog::open(start_config_.decision_log.path, start_config_.decision_log.unmask, error);
    if (!decision_log_) {
      log_->error("{}", error);
      return false;
    }
    if (start_config_.decision_log.unmask) log_->warn("decision log {} is UNMASKED: it holds MPANs, names and free text as sent",
                                                      start_config_.decision_log.path.string());
  }
  if (built.generation->api_keys.empty())
    log_->warn("no api_keys_env configured: every request is accepted without an X-API-Key (development only)");
  std::lock_guard lock(generation_mutex_);
  generation_ = std::move(built.generation);
  generation_id_ = 1;
  metrics_.generation(1);
  log_->info("loaded {} message types on {} workers in {:.0f} ms", generation_->types.size(), workers_,
             std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  return true;
}

bool ServerImpl::listen() {
  std::string host;
  std::uint16_t port = 0;
  if (!split_listen(start_config_.listen, host, port)) {
    log_->error("listen is \"{}\"; expected HOST:PORT such as 127.0.0.1:8080", start_config_.listen);
    return false;
  }
  beast::error_code ec;
  const auto address = net::ip::make_address(host, ec);
  if (ec) {
    log_->error("listen: \"{}\" is not an IP address ({}); expected e.g. 127.0.0.1 or ::1", host, ec.message());
    return false;
  }
  const tcp::endpoint endpoint(address, port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    log_->error("cannot listen on {}: {}", start_config_.listen, ec.message());
    return false;
  }
  const auto bound = acceptor_.local_endpoint();
  // One line on stdout, for scripts and tests that start the server on port 0.
  std::printf("flowguard serve: listening on http://%s:%u\n", bound.address().to_string().c_str(), bound.port());
  std::fflush(stdout);
  return true;
}

void ServerImpl::accept() {
  acceptor_.async_accept(net::make_strand(ioc_), [this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
      log_->warn("accept: {}", ec.message());  // e.g. out of file descriptors: keep serving the others
    } else if (sessions_.load() >= limits().max_connections) {
      metrics_.rejected_for_load();
      static constexpr char kBusy[] =
          "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      beast::error_code wec;
      net::write(socket, net::buffer(kBusy, sizeof kBusy - 1), wec);
      socket.close(wec);
    } else {
      std::make_shared<Session>(std::move(socket), *this)->start();
    }
    if (!draining()) accept();
  });
}

void ServerImpl::session_opened(Session* s, const std::weak_ptr<Session>& weak) {
  ++sessions_;
  std::lock_guard lock(sessions_mutex_);
  live_sessions_.emplace(s, weak);
}

void ServerImpl::session_closed(Session* s) {
  --sessions_;
  std::lock_guard lock(sessions_mutex_);
  live_sessions_.erase(s);
}

HttpResponse ServerImpl::readiness() const {
  std::lock_guard lock(generation_mutex_);
  if (!generation_) return json_status(503, "{\"ready\":false,\"reason\":\"loading plugins, schemas and rules\"}\n");
  std::string body;
  json::Writer w(body);
  w.begin_object().member("ready", true).member("generation", generation_->id).member("types", generation_->types.size());
  w.member("workers", workers_).key("last_reload_error");
  if (last_reload_error_.empty()) w.null();
  else w.string(last_reload_error_);
  w.end_object();
  body += '\n';
  return json_status(200, std::move(body));
}

void ServerImpl::on_request(const std::shared_ptr<Session>& session, http::request<http::string_body>&& req) {
  const auto t0 = Clock::now();
  const bool keep_alive = req.keep_alive();
  const std::string_view target(req.target().data(), req.target().size());
  const std::string_view path = path_of(target);
  const bool get = req.method() == http::verb::get;
  const bool post = req.method() == http::verb::post;
  auto answer = [&](Route route, HttpResponse r) {
    metrics_.request(route, r.status, std::chrono::duration<double>(Clock::now() - t0).count());
    session->send(std::move(r), keep_alive);
  };
  auto wrong_method = [&](Route route, const char* allow) {
    HttpResponse r = error_response(405, "method-not-allowed", std::string("use ") + allow + " on " + std::string(path));
    r.headers.emplace_back("Allow", allow);
    answer(route, std::move(r));
  };
  const auto api_key_field = req.find("X-API-Key");
  const std::string_view api_key = api_key_field == req.end() ? std::string_view()
                                                              : std::string_view(api_key_field->value().data(), api_key_field->value().size());

  if (path == "/healthz") return get ? answer(Route::kHealth, json_status(200, "{\"status\":\"ok\"}\n")) : wrong_method(Route::kHealth, "GET");
  if (path == "/readyz") return get ? answer(Route::kReady, readiness()) : wrong_method(Route::kReady, "GET");
  const auto generation = current();
  // The checker page is open like /healthz (it holds no data); the checks it sends need the key.
  if (is_ui_path(path) && (generation ? generation->config.ui : start_config_.ui)) {
    if (!get) return wrong_method(Route::kUi, "GET");
    return answer(Route::kUi, ui_response(path));
  }
  if (path == "/metrics") {
    if (!get) return wrong_method(Route::kMetrics, "GET");
    if (generation && generation->config.metrics_require_key && !authorised(*generation, api_key))
      return answer(Route::kMetrics, error_response(401, "unauthorised", "missing or unknown X-API-Key"));
    if (generation && generation->references)
      metrics_.reference_window(generation->references->size(), generation->references->memory_bytes(), generation->references->evicted());
    if (router_) {
      const auto stats = router_->stats();
      std::map<std::string, Metrics::SinkTotals> sinks;
      for (const auto& [name, c] : stats.sinks) sinks[name] = {c.delivered, c.duplicates, c.retries, c.dead_lettered, c.failed};
      const double oldest = stats.journal.oldest_undelivered
                                ? std::max(0.0, std::chrono::duration<double>(journal::Clock::now() - *stats.journal.oldest_undelivered).count())
                                : 0.0;
      metrics_.routing(sinks, stats.journal.undelivered, oldest, stats.journal.messages, stats.journal.dead_lettered);
    }
    HttpResponse r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = metrics_.render();
    return answer(Route::kMetrics, std::move(r));
  }
  Route route = Route::kOther;
  if (path.rfind("/v1/validate/", 0) == 0) route = Route::kValidate;
  else if (path == "/v1/check") route = Route::kCheck;
  else if (path == "/v1/messages") route = Route::kMessages;
  else if (path == "/v1/replay") route = Route::kReplay;
  else if (path == "/v1/requeue") route = Route::kRequeue;
  if (route == Route::kOther)
    return answer(route, error_response(404, "not-found",
                                        "no such endpoint " + std::string(path) +
                                            "; flowguard serves POST /v1/validate/{interface}/{eventCode}, POST /v1/check, "
                                            "POST /v1/messages, /v1/replay, /v1/requeue (with routing), GET /healthz, /readyz, "
                                            "/metrics, /ui/ (the checker page)"));
  if ((route == Route::kMessages || route == Route::kReplay || route == Route::kRequeue) && !router_)
    return answer(route, error_response(404, "routing-not-configured",
                                        "routing is not configured: add `routing: ROUTES.yaml` to the server's config (docs/routing.md)"));
  if (!post) return wrong_method(route, "POST");
  // A browser sends Origin with every cross-site POST, and a plain-text one needs no preflight: any
  // page a user visits could otherwise post to a loopback sidecar (without api_keys_env, nothing
  // else stops it) and have /v1/messages journal and deliver what it sent. Only the server's own
  // origin (the checker page) may post from a browser; clients that are not browsers send no Origin.
  if (const auto origin = req.find(http::field::origin); origin != req.end()) {
    const auto host = req.find(http::field::host);
    const std::string_view o(origin->value().data(), origin->value().size());
    const auto scheme_end = o.find("://");
    const std::string_view authority = scheme_end == std::string_view::npos ? o : o.substr(scheme_end + 3);
    if (host == req.end() || authority != std::string_view(host->value().data(), host->value().size()))
      return answer(route, error_response(403, "cross-origin",
                                          "a browser page from " + std::string(o) +
                                              " may not post to this server; only its own pages (/ui/) may"));
  }
  if (!generation) {
    HttpResponse r = error_response(503, "not-ready", "still loading plugins, schemas and rules");
    r.headers.emplace_back("Retry-After", "1");
    return answer(route, std::move(r));
  }
  if (!authorised(*generation, api_key))
    return answer(route, error_response(401, "unauthorised", api_key.empty() ? "missing X-API-Key header" : "unknown X-API-Key"));

  // Admission: at most max_in_flight requests queued or running; the rest are told to retry
  // (503 is on the DIP's retried list) rather than queued without bound.
  if (in_flight_.fetch_add(1) >= generation->config.limits.max_in_flight) {
    --in_flight_;
    metrics_.rejected_for_load();
    HttpResponse r = error_response(503, "overloaded", "too many requests in flight; retry shortly");
    r.headers.emplace_back("Retry-After", "1");
    return answer(route, std::move(r));
  }
  metrics_.in_flight().Increment();
  auto request = std::make_shared<HttpRequest>();
  request->method = std::string(req.method_string());
  request->target = std::string(target);
  request->api_key = std::string(api_key);
  request->content_type = std::string(req[http::field::content_type]);
  for (const auto& field : req)
    if (is_rule_header(field.name_string()))
      request->headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  request->body = std::move(req.body());
  const bool submitted = pool_->try_submit([this, session, request, generation, route, keep_alive, t0](unsigned worker) {
    // The answer, from this worker or later (POST /v1/messages answers once its journal commit is
    // durable, from the journal's thread, so this worker goes on to the next request meanwhile).
    auto finish = [this, session, request, generation, route, keep_alive, t0](HttpResponse r) {
      metrics_.in_flight().Decrement();
      --in_flight_;
      metrics_.request(route, r.status, std::chrono::duration<double>(Clock::now() - t0).count());
      net::post(session->executor(), [session, r = std::move(r), keep_alive]() mutable { session->send(std::move(r), keep_alive); });
    };
    HttpResponse r;
    try {
      switch (route) {
        case Route::kValidate: r = handle_validate(*request, *generation, worker, metrics_, decision_log_.get()); break;
        case Route::kMessages:
          return handle_messages(*request, *generation, worker, metrics_, decision_log_.get(), *router_, std::move(finish));
        case Route::kReplay: r = handle_replay(*request, *router_, false); break;
        case Route::kRequeue: r = handle_replay(*request, *router_, true); break;
        default: r = handle_check(*request, *generation, worker, metrics_, decision_log_.get()); break;
      }
    } catch (const std::exception& e) {  // a bug, not an expected path: this request fails, the server goes on
      log_->error("internal error on {}: {}", request->target, e.what());
      r = error_response(500, "internal", "internal error; the request was not checked");
    }
    finish(std::move(r));
  });
  if (!submitted) {
    metrics_.in_flight().Decrement();
    --in_flight_;
    metrics_.rejected_for_load();
    HttpResponse r = error_response(503, "overloaded", "the worker queue is full; retry shortly");
    r.headers.emplace_back("Retry-After", "1");
    answer(route, std::move(r));
  }
}

void ServerImpl::reload(const char* why) {
  const auto t0 = Clock::now();
  ServerConfig next = start_config_;
  if (!start_config_.source.empty()) {
    auto loaded = load_config(start_config_.source);
    if (!loaded.config) {
      std::string all;
      for (const auto& e : loaded.errors) {
        log_->error("reload refused: {}", e.to_string());
        all += (all.empty() ? "" : "; ") + e.to_string();
      }
      metrics_.reload_failed();
      std::lock_guard lock(generation_mutex_);
      last_reload_error_ = all;
      return;
    }
    next = std::move(*loaded.config);
    // What the process is built around stays as it started.
    if (next.listen != start_config_.listen || next.jobs != start_config_.jobs || next.io_threads != start_config_.io_threads ||
        next.decision_log.path != start_config_.decision_log.path || next.decision_log.unmask != start_config_.decision_log.unmask)
      log_->warn("reload: listen, jobs, io_threads and decision_log take effect only on restart; kept as they started");
    next.listen = start_config_.listen;
    next.jobs = start_config_.jobs;
    next.io_threads = start_config_.io_threads;
    next.decision_log = start_config_.decision_log;
    if (next.routing != start_config_.routing) log_->warn("reload: routing takes effect only on restart; kept as it started");
    next.routing = start_config_.routing;
  }
  auto previous = current();
  std::uint64_t id;
  {
    std::lock_guard lock(generation_mutex_);
    id = generation_id_ + 1;
  }
  auto built = build_generation(next, workers_, id, previous ? previous->references : nullptr);
  if (!built.generation) {
    std::string all;
    for (const auto& e : built.errors) {
      log_->error("reload refused: {}", e);
      all += (all.empty() ? "" : "; ") + e;
    }
    metrics_.reload_failed();
    std::lock_guard lock(generation_mutex_);
    last_reload_error_ = all;
    return;
  }
  {
    // Requests already dispatched hold the old generation and finish on it.
    std::lock_guard lock(generation_mutex_);
    generation_ = std::move(built.generation);
    generation_id_ = id;
    last_reload_error_.clear();
  }
  metrics_.generation(id);
  log_->info("reloaded ({}): generation {} in {:.0f} ms", why, id, std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
}

void ServerImpl::reload_loop() {
  auto seen = fingerprint(start_config_);
  for (;;) {
    bool requested = false;
    {
      std::unique_lock lock(reload_mutex_);
      const auto interval = std::chrono::milliseconds(start_config_.watch_interval_ms ? start_config_.watch_interval_ms : 3'600'000);
      reload_cv_.wait_for(lock, interval, [this] { return reload_requested_ || reload_stop_; });
      if (reload_stop_) return;
      requested = reload_requested_;
      reload_requested_ = false;
    }
    auto now = fingerprint(current() ? current()->config : start_config_);
    const bool changed = start_config_.watch_interval_ms && now != seen;
    if (!requested && !changed) continue;
    // What the reload reads is at least as new as `now`: a change made while it runs is seen next round.
    seen = std::move(now);
    reload(requested ? "SIGHUP" : "a watched file changed");
  }
}

void ServerImpl::begin_drain(const char* why) {
  if (draining_.exchange(true)) return;
  log_->info("{}: draining ({} in flight, {} connections)", why, in_flight_.load(), sessions_.load());
  beast::error_code ec;
  acceptor_.close(ec);
  {
    std::lock_guard lock(sessions_mutex_);
    for (auto& [raw, weak] : live_sessions_)
      if (auto s = weak.lock()) s->drain();
  }
  drain_deadline_ = Clock::now() + std::chrono::milliseconds(start_config_.shutdown_timeout_ms);
  drain_tick();
}

void ServerImpl::drain_tick() {
  if ((sessions_.load() == 0 && in_flight_.load() == 0) || Clock::now() >= drain_deadline_) {
    if (in_flight_.load()) log_->warn("shutdown timeout: {} requests still in flight", in_flight_.load());
    ioc_.stop();
    return;
  }
  drain_timer_.expires_after(std::chrono::milliseconds(20));
  drain_timer_.async_wait([this](beast::error_code) { drain_tick(); });
}

int ServerImpl::run() {
  pool_ = std::make_unique<WorkerPool>(workers_, std::max<std::size_t>(1, start_config_.limits.max_in_flight));
  std::function<void()> wait_signal = [&] {
    signals_.async_wait([&](beast::error_code ec, int signal) {
      if (ec) return;
      if (signal == SIGHUP) {
        {
          std::lock_guard lock(reload_mutex_);
          reload_requested_ = true;
        }
        reload_cv_.notify_all();
        wait_signal();
        return;
      }
      begin_drain(signal == SIGTERM ? "SIGTERM" : "SIGINT");
    });
  };
  wait_signal();
  accept();
  // The sockets are served while the engines load: /healthz answers, /readyz says "loading".
  std::vector<std::thread> io;
  for (unsigned i = 0; i < start_config_.io_threads; ++i) io.emplace_back([this] { ioc_.run(); });
  int status = 0;
  if (load_first_generation()) {
    reload_thread_ = std::thread([this] { reload_loop(); });
  } else {
    status = 3;
    net::post(ioc_, [this] { begin_drain("start-up failed"); });
  }
  for (auto& t : io) t.join();
  pool_->stop();  // jobs already queued finish (their answers have nowhere to go; nothing is half-done)
  log_->info("stopped");
  return status;
}

int serve(const ServeOptions& options) {
  auto log = spdlog::stderr_color_mt("flowguard-serve");
  log->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ flowguard serve: %l: %v", spdlog::pattern_time_type::utc);
  ServerConfig config;
  if (options.config_file) {
    auto loaded = load_config(*options.config_file);
    if (!loaded.config) {
      for (const auto& e : loaded.errors) log->error("{}", e.to_string());
      return 2;
    }
    config = std::move(*loaded.config);
  }
  if (options.listen) config.listen = *options.listen;
  if (options.jobs) config.jobs = *options.jobs;
  if (options.registry) config.registry = *options.registry;
  const unsigned workers = config.jobs ? config.jobs : std::max(1u, std::thread::hardware_concurrency());
  std::signal(SIGPIPE, SIG_IGN);  // a client that hangs up mid-answer is an error code, not a death
  std::unique_ptr<routing::Router> router;
  if (!config.routing.empty()) {
    auto routes = routing::load_routes(config.routing);
    if (!routes.config) {
      for (const auto& e : routes.errors) log->error("{}", e.to_string());
      return 2;
    }
    // The journal and the sinks start before the port opens: nothing is acknowledged that could
    // not be kept. Undelivered messages from the last run resume now.
    auto started = routing::Router::start(*routes.config);
    if (!started) {
      log->error("routing: {}", started.error().message);
      return 3;
    }
    router = std::move(*started);
    const auto stats = router->stats();
    log->info("routing: journal {} holds {} messages, {} deliveries undelivered (resuming); {} sinks, {} routes",
              routes.config->journal_path.string(), stats.journal.messages, stats.journal.undelivered, routes.config->sinks.size(),
              routes.config->routes.size());
  }
  ServerImpl server(config, workers, log, std::move(router));
  if (!server.listen()) return 2;
  return server.run();
}

}  // namespace flowguard::server
