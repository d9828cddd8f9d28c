// The server's moving parts, shared by the HTTP sessions (http_session.cpp) and the lifecycle
// (server.cpp): the current generation, the worker pool, admission, reload and drain.
#pragma once

#include <utility>  // Boost 1.74 asio uses std::exchange without including it
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <spdlog/spdlog.h>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "decision_log.hpp"
#include "flowguard/routing/router.hpp"
#include "metrics.hpp"
#include "service.hpp"
#include "worker_pool.hpp"

namespace flowguard::server {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

class Session;

class ServerImpl {
 public:
  // `router` is null without a routes file; it lives as long as the process (reloads keep it).
  ServerImpl(ServerConfig config, unsigned workers, std::shared_ptr<spdlog::logger> log,
             std::unique_ptr<routing::Router> router = nullptr);
  ~ServerImpl();

  bool listen();  // false: cannot bind (reason logged)
  int run();  // until drained after SIGTERM/SIGINT: 0, or 3 when the first generation did not load

  // For the sessions.
  void on_request(const std::shared_ptr<Session>& session, http::request<http::string_body>&& request);
  Limits limits() const;
  bool draining() const noexcept { return draining_.load(); }
  void session_opened(Session* s, const std::weak_ptr<Session>& weak);
  void session_closed(Session* s);
  Metrics& metrics() noexcept { return metrics_; }
  spdlog::logger& log() noexcept { return *log_; }

 private:
  std::shared_ptr<Generation> current() const;
  bool load_first_generation();  // false: refused, reasons logged
  void accept();
  void begin_drain(const char* why);
  void drain_tick();
  void reload_loop();
  void reload(const char* why);
  HttpResponse readiness() const;

  ServerConfig start_config_;
  unsigned workers_;
  std::shared_ptr<spdlog::logger> log_;
  Metrics metrics_;
  std::unique_ptr<DecisionLog> decision_log_;
  std::unique_ptr<routing::Router> router_;

  mutable std::mutex generation_mutex_;
  std::shared_ptr<Generation> generation_;
  std::uint64_t generation_id_ = 0;
  std::string last_reload_error_;  // under generation_mutex_

  net::io_context ioc_;
  tcp::acceptor acceptor_;
  net::signal_set signals_;
  net::steady_timer drain_timer_;
  std::chrono::steady_clock::time_point drain_deadline_;
  std::unique_ptr<WorkerPool> pool_;

  std::atomic<std::size_t> in_flight_{0};
  std::atomic<std::size_t> sessions_{0};
  std::atomic<bool> draining_{false};
  std::mutex sessions_mutex_;
  std::unordered_map<Session*, std::weak_ptr<Session>> live_sessions_;

  std::thread reload_thread_;
  std::mutex reload_mutex_;
  std::condition_variable reload_cv_;
  bool reload_requested_ = false, reload_stop_ = false;
};

}  // namespace flowguard::server
