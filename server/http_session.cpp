#include "http_session.hpp"

namespace flowguard::server {

Session::Session(tcp::socket socket, ServerImpl& server)
    : stream_(std::move(socket)), deadline_(stream_.get_executor()), server_(server) {
  server_.metrics().connections().Increment();
}

Session::~Session() {
  server_.metrics().connections().Decrement();
  server_.session_closed(this);
}

void Session::start() {
  server_.session_opened(this, weak_from_this());
  net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read_header(); });
}

void Session::read_header() {
  if (server_.draining()) return close();
  stream_.expires_never();  // reads run under arm()'s deadline; writes under the stream's own
  limits_ = server_.limits();  // a reload may change them; each request is read under one set
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(limits_.max_header_kb * 1024));
  parser_->body_limit(static_cast<std::uint64_t>(limits_.max_body_kb) * 1024);
  // The first request of a connection gets the request timeout; a kept-alive one waits up to the
  // idle timeout for its next. Either way a deadline, not a per-read timer: a client trickling a
  // byte at a time is cut off all the same.
  arm(first_request_ && buffer_.size() == 0 ? limits_.request_timeout_ms : limits_.idle_timeout_ms);
  waiting_ = buffer_.size() == 0;
  http::async_read_header(stream_, buffer_, *parser_,
                          [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
}

// The read deadline: when it passes, the pending read is cancelled (not the socket closed, as
// tcp_stream's own timeout would), so the client can still be told 408.
void Session::arm(std::uint32_t ms) {
  const std::uint64_t epoch = ++deadline_epoch_;
  timed_out_ = false;
  deadline_.expires_after(std::chrono::milliseconds(ms));
  deadline_.async_wait([self = shared_from_this(), epoch](beast::error_code ec) {
    if (ec || epoch != self->deadline_epoch_ || self->closed_) return;  // re-armed or cancelled meanwhile
    self->timed_out_ = true;
    beast::error_code ignored;
    self->stream_.socket().cancel(ignored);
  });
}

void Session::disarm() {
  ++deadline_epoch_;
  deadline_.cancel();
}

void Session::on_header(beast::error_code ec) {
  waiting_ = false;
  disarm();
  if (timed_out_) ec = beast::error::timeout;
  if (ec == http::error::end_of_stream || ec == net::error::operation_aborted || ec == net::error::connection_reset)
    return close();
  if (ec == beast::error::timeout) {
    // Nothing sent: an idle keep-alive connection, closed quietly. Part of a request: say why.
    if (buffer_.size() == 0) return close();
    return refuse(408, "request-timeout", "the request was not received within " + std::to_string(limits_.request_timeout_ms) + " ms");
  }
  if (ec == http::error::header_limit)
    return refuse(431, "headers-too-large", "the request line and headers exceed " + std::to_string(limits_.max_header_kb) + " KB");
  // Beast checks a declared Content-Length against the body limit as the header completes.
  if (ec == http::error::body_limit || (!ec && parser_->content_length() &&
                                        *parser_->content_length() > static_cast<std::uint64_t>(limits_.max_body_kb) * 1024)) {
    const auto length = parser_->content_length();
    return refuse(413, "body-too-large",
                  "the body is " + (length ? std::to_string(*length) + " bytes" : std::string("larger than that")) +
                      "; the limit is " + std::to_string(limits_.max_body_kb) + " KB (limits.max_body_kb)");
  }
  if (ec) return refuse(400, "malformed-http", "malformed HTTP request: " + ec.message());
  if (const auto length = parser_->content_length(); length && *length > static_cast<std::uint64_t>(limits_.max_body_kb) * 1024)
    return refuse(413, "body-too-large",
                  "the body is " + std::to_string(*length) + " bytes; the limit is " + std::to_string(limits_.max_body_kb) + " KB");
  arm(limits_.request_timeout_ms);
  const auto& req = parser_->get();
  if (beast::iequals(req[http::field::expect], "100-continue")) {
    // curl sends this for bodies over 1 KB and waits a second for it: answer at once.
    continue_ = std::make_shared<http::response<http::empty_body>>(http::status::continue_, req.version());
    http::async_write(stream_, *continue_, [self = shared_from_this()](beast::error_code wec, std::size_t) {
      if (wec) return self->close();
      self->read_body();
    });
    return;
  }
  read_body();
}

void Session::read_body() {
  http::async_read(stream_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_body(ec); });
}

void Session::on_body(beast::error_code ec) {
  disarm();
  if (timed_out_) ec = beast::error::timeout;
  if (ec == http::error::body_limit)
    return refuse(413, "body-too-large", "the body exceeds " + std::to_string(limits_.max_body_kb) + " KB");
  if (ec == beast::error::timeout)
    return refuse(408, "request-timeout", "the body was not received within " + std::to_string(limits_.request_timeout_ms) + " ms");
  if (ec == http::error::end_of_stream || ec == net::error::operation_aborted || ec == net::error::connection_reset)
    return close();
  if (ec) return refuse(400, "malformed-http", "malformed HTTP request body: " + ec.message());
  // From here the worker's time is bounded by the rule budgets, not by a socket deadline.
  server_.on_request(shared_from_this(), parser_->release());
}

void Session::refuse(unsigned status, std::string_view code, std::string message) {
  server_.metrics().request(Route::kOther, status, 0);
  linger_ = true;
  send(error_response(status, code, message), false);
}

// After refusing a request whose body is still arriving, closing at once would reset the
// connection and could destroy the answer before the client reads it. Stop sending, then read
// and discard what still comes, for a bounded time, and only then close.
void Session::linger() {
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream_.expires_after(std::chrono::milliseconds(1000));
  discard_ = std::make_shared<std::array<char, 16384>>();
  discard_step();
}

void Session::discard_step() {
  stream_.async_read_some(net::buffer(*discard_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
    if (ec) return self->close();
    self->discard_step();
  });
}

void Session::send(HttpResponse r, bool keep_alive) {
  if (closed_) return;
  keep_alive = keep_alive && !server_.draining();
  response_ = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(r.status), 11);
  response_->set(http::field::server, "flowguard");
  response_->set(http::field::content_type, r.content_type);
  for (auto& [name, value] : r.headers) response_->set(name, value);
  response_->body() = std::move(r.body);
  response_->keep_alive(keep_alive);
  response_->prepare_payload();
  stream_.expires_after(std::chrono::milliseconds(limits_.request_timeout_ms));
  http::async_write(stream_, *response_, [self = shared_from_this(), keep_alive](beast::error_code ec, std::size_t) {
    self->response_.reset();
    if (!ec && self->linger_) return self->linger();
    if (ec || !keep_alive) return self->close();
    self->first_request_ = false;
    self->read_header();
  });
}

void Session::drain() {
  net::post(stream_.get_executor(), [self = shared_from_this()] {
    if (self->waiting_) self->close();
  });
}

void Session::close() {
  if (closed_) return;
  closed_ = true;
  disarm();
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream_.socket().close(ec);
}

}  // namespace flowguard::server
