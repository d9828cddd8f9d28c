// A real HTTP/1.1 webhook receiver for tests: Boost.Beast on 127.0.0.1 at an ephemeral port, on
// its own thread. It records every request (headers, body, time, connection) and answers as the
// test scripts it, and the script may change while it runs: a status (with headers such as
// Retry-After), "hang" (read the request, never answer), "close" (drop the connection unanswered),
// or a sequence of those before a standing reply. Optionally TLS, with client certificates.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "flowguard/result.hpp"

namespace flowguard::test {

struct ReceivedRequest {
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;  // as sent
  std::string body;
  std::chrono::system_clock::time_point at;
  std::size_t connection = 0;      // 1 for the first connection accepted, 2 for the next…
  std::string client_certificate;  // TLS: the subject of the client's verified certificate, else empty
  // The first header of that name (compared ignoring case), or empty.
  std::string header(std::string_view name) const;
};

struct Reply {
  enum class Kind { kAnswer, kHang, kClose };
  Kind kind = Kind::kAnswer;
  unsigned status = 201;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  static Reply answer(unsigned status, std::string body = {},
                      std::vector<std::pair<std::string, std::string>> headers = {});
  static Reply retry_after(unsigned status, std::string value) {
    return answer(status, {}, {{"Retry-After", std::move(value)}});
  }
  static Reply hang() { return Reply{Kind::kHang, 0, {}, {}}; }
  static Reply close() { return Reply{Kind::kClose, 0, {}, {}}; }
};

struct ReceiverTls {
  std::filesystem::path certificate;  // PEM chain the receiver presents
  std::filesystem::path key;
  std::filesystem::path client_ca;  // non-empty: client certificates are verified against it
  bool require_client_certificate = false;
};

struct ReceiverOptions {
  std::uint16_t port = 0;  // 0: an ephemeral port
  Reply reply = Reply::answer(201);
  std::optional<ReceiverTls> tls;
  // Called on the receiver's thread for every request, before it is answered (or hung, or dropped).
  std::function<void(const ReceivedRequest&)> on_request;
};

class WebhookReceiver {
 public:
  static Result<std::unique_ptr<WebhookReceiver>> start(ReceiverOptions options = {});
  ~WebhookReceiver();
  WebhookReceiver(const WebhookReceiver&) = delete;
  WebhookReceiver& operator=(const WebhookReceiver&) = delete;

  std::uint16_t port() const;
  // "http://127.0.0.1:<port><target>" (https with TLS).
  std::string url(std::string_view target = "/webhook") const;

  // Every request from now on gets `reply`; a pending sequence is dropped.
  void set_reply(Reply reply);
  // The next requests get `first` in order, then every one after them `then`.
  void set_sequence(std::vector<Reply> first, Reply then);

  std::vector<ReceivedRequest> requests() const;
  std::size_t request_count() const;
  // Waits until at least `count` requests have arrived; false on timeout.
  bool wait_for_requests(std::size_t count, std::chrono::milliseconds timeout) const;
  std::size_t connections_accepted() const;
  void clear();
  // Closes the listener and every connection, joins the thread. The destructor does it too.
  void stop();

  struct Impl;

 private:
  explicit WebhookReceiver(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace flowguard::test
