// One client connection: HTTP/1.1 with keep-alive, every read bounded in size and time.
#pragma once

#include <array>
#include <memory>
#include <optional>

#include "server_impl.hpp"

namespace flowguard::server {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, ServerImpl& server);
  ~Session();
  void start();
  // Called on the session's strand with the answer to the request it handed over.
  void send(HttpResponse response, bool keep_alive);
  // SIGTERM: a connection waiting for its next request is closed now; a busy one after its answer.
  void drain();
  net::any_io_executor executor() { return stream_.get_executor(); }

 private:
  void read_header();
  void on_header(beast::error_code ec);
  void read_body();
  void on_body(beast::error_code ec);
  // An answer to a request that was not read whole (limits, malformed HTTP): then the connection closes.
  void refuse(unsigned status, std::string_view code, std::string message);
  void close();
  void arm(std::uint32_t ms);
  void disarm();
  void linger();
  void discard_step();

  beast::tcp_stream stream_;
  net::steady_timer deadline_;
  std::uint64_t deadline_epoch_ = 0;
  bool timed_out_ = false;
  beast::flat_buffer buffer_;
  ServerImpl& server_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<http::response<http::string_body>> response_;
  std::shared_ptr<http::response<http::empty_body>> continue_;
  Limits limits_;
  bool first_request_ = true;
  bool waiting_ = false;  // waiting for the first byte of a request
  bool closed_ = false;
  bool linger_ = false;  // a refusal: read out what the client still sends before closing
  std::shared_ptr<std::array<char, 16384>> discard_;
};

}  // namespace flowguard::server
