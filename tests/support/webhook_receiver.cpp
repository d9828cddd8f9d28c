#include "webhook_receiver.hpp"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>  // Boost 1.74 asio uses std::exchange without including it

namespace flowguard::test {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

std::string ReceivedRequest::header(std::string_view name) const {
  for (const auto& [key, value] : headers)
    if (beast::iequals(key, beast::string_view(name.data(), name.size()))) return value;
  return {};
}

Reply Reply::answer(unsigned status, std::string body, std::vector<std::pair<std::string, std::string>> headers) {
  return Reply{Kind::kAnswer, status, std::move(headers), std::move(body)};
}

struct WebhookReceiver::Impl {
  explicit Impl(ReceiverOptions o) : options(std::move(o)), acceptor(ioc), fallback(options.reply) {}

  ReceiverOptions options;
  std::optional<ssl::context> tls;  // before ioc: the sessions' TLS streams are destroyed with ioc
  net::io_context ioc;
  tcp::acceptor acceptor;
  std::thread thread;
  std::uint16_t port = 0;
  std::atomic<std::size_t> accepted{0};

  mutable std::mutex mutex;
  mutable std::condition_variable arrived;
  std::vector<ReceivedRequest> received;
  std::deque<Reply> sequence;
  Reply fallback;
  bool stopped = false;

  Reply record(ReceivedRequest request) {
    if (options.on_request) options.on_request(request);
    std::lock_guard lock(mutex);
    received.push_back(std::move(request));
    arrived.notify_all();
    if (sequence.empty()) return fallback;
    Reply r = std::move(sequence.front());
    sequence.pop_front();
    return r;
  }

  void accept();
};

namespace {

template <class Stream>
tcp::socket& socket_of(Stream& stream) {
  return beast::get_lowest_layer(stream).socket();
}

template <class Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  template <class... Args>
  Session(WebhookReceiver::Impl& receiver, std::size_t id, Args&&... args)
      : receiver_(receiver), id_(id), stream_(std::forward<Args>(args)...) {}

  void run() {
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      read();
    } else {
      stream_.async_handshake(ssl::stream_base::server, [self = this->shared_from_this()](beast::error_code ec) {
        if (ec) return self->close();
        X509* peer = SSL_get_peer_certificate(self->stream_.native_handle());
        if (peer) {
          char subject[512];
          X509_NAME_oneline(X509_get_subject_name(peer), subject, sizeof subject);
          self->client_certificate_ = subject;
          X509_free(peer);
        }
        self->read();
      });
    }
  }

 private:
  void read() {
    parser_.emplace();
    parser_->body_limit(std::uint64_t{1} << 30);
    http::async_read_header(
        stream_, buffer_, *parser_, [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
          if (ec) return self->close();
          if (beast::iequals(self->parser_->get()[http::field::expect], "100-continue")) {
            self->continue_ = std::make_shared<http::response<http::empty_body>>(http::status::continue_, 11);
            http::async_write(self->stream_, *self->continue_, [self](beast::error_code wec, std::size_t) {
              if (wec) return self->close();
              self->read_body();
            });
            return;
          }
          self->read_body();
        });
  }

  void read_body() {
    http::async_read(stream_, buffer_, *parser_, [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return self->close();
      self->on_request();
    });
  }

  void on_request() {
    auto req = parser_->release();
    ReceivedRequest r;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    for (const auto& field : req) r.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    r.body = std::move(req.body());
    r.at = std::chrono::system_clock::now();
    r.connection = id_;
    r.client_certificate = client_certificate_;
    const bool keep_alive = req.keep_alive();
    const Reply reply = receiver_.record(std::move(r));
    switch (reply.kind) {
      case Reply::Kind::kClose:
        return close();
      case Reply::Kind::kHang:
        return hang();
      case Reply::Kind::kAnswer:
        break;
    }
    response_ = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(reply.status), 11);
    response_->set(http::field::server, "fg-webhook-receiver");
    response_->set(http::field::content_type, "application/json");
    for (const auto& [key, value] : reply.headers) response_->set(key, value);
    response_->body() = reply.body;
    response_->keep_alive(keep_alive);
    response_->prepare_payload();
    http::async_write(stream_, *response_,
                      [self = this->shared_from_this(), keep_alive](beast::error_code ec, std::size_t) {
                        self->response_.reset();
                        if (ec || !keep_alive) return self->close();
                        self->read();
                      });
  }

  // Never answers: reads (and drops) whatever comes until the client gives up and closes.
  void hang() {
    stream_.async_read_some(net::buffer(discard_),
                            [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                              if (ec) return self->close();
                              self->hang();
                            });
  }

  void close() {
    beast::error_code ec;
    socket_of(stream_).shutdown(tcp::socket::shutdown_both, ec);
    socket_of(stream_).close(ec);
  }

  WebhookReceiver::Impl& receiver_;
  std::size_t id_;
  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<http::response<http::string_body>> response_;
  std::shared_ptr<http::response<http::empty_body>> continue_;
  std::array<char, 4096> discard_{};
  std::string client_certificate_;
};

}  // namespace

void WebhookReceiver::Impl::accept() {
  acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (ec) return;  // the acceptor was closed
    const std::size_t id = ++accepted;
    if (tls) {
      std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(*this, id, std::move(socket), *tls)->run();
    } else {
      std::make_shared<Session<beast::tcp_stream>>(*this, id, std::move(socket))->run();
    }
    accept();
  });
}

Result<std::unique_ptr<WebhookReceiver>> WebhookReceiver::start(ReceiverOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  if (impl->options.tls) {
    const ReceiverTls& t = *impl->options.tls;
    impl->tls.emplace(ssl::context::tls_server);
    beast::error_code ec;
    impl->tls->use_certificate_chain_file(t.certificate.string(), ec);
    if (!ec) impl->tls->use_private_key_file(t.key.string(), ssl::context::pem, ec);
    if (!ec && !t.client_ca.empty()) {
      impl->tls->load_verify_file(t.client_ca.string(), ec);
      if (!ec) {
        impl->tls->set_verify_mode(
            ssl::verify_peer | (t.require_client_certificate ? ssl::verify_fail_if_no_peer_cert : 0), ec);
      }
    }
    if (ec) return make_error(ErrorCode::kIo, "the webhook receiver's TLS setup failed: " + ec.message() + ".");
  }
  beast::error_code ec;
  const tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), impl->options.port);
  impl->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(endpoint, ec);
  if (!ec) impl->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    return make_error(ErrorCode::kIo, "the webhook receiver cannot listen on 127.0.0.1:" +
                                          std::to_string(impl->options.port) + ": " + ec.message() + ".");
  impl->port = impl->acceptor.local_endpoint().port();
  impl->accept();
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->ioc.run(); });
  return std::unique_ptr<WebhookReceiver>(new WebhookReceiver(std::move(impl)));
}

WebhookReceiver::WebhookReceiver(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

WebhookReceiver::~WebhookReceiver() { stop(); }

void WebhookReceiver::stop() {
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->stopped) return;
    impl_->stopped = true;
  }
  net::post(impl_->ioc, [impl = impl_.get()] {
    beast::error_code ec;
    impl->acceptor.close(ec);
    impl->ioc.stop();
  });
  if (impl_->thread.joinable()) impl_->thread.join();
}

std::uint16_t WebhookReceiver::port() const { return impl_->port; }

std::string WebhookReceiver::url(std::string_view target) const {
  return std::string(impl_->tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(impl_->port) +
         std::string(target);
}

void WebhookReceiver::set_reply(Reply reply) {
  std::lock_guard lock(impl_->mutex);
  impl_->sequence.clear();
  impl_->fallback = std::move(reply);
}

void WebhookReceiver::set_sequence(std::vector<Reply> first, Reply then) {
  std::lock_guard lock(impl_->mutex);
  impl_->sequence.assign(std::make_move_iterator(first.begin()), std::make_move_iterator(first.end()));
  impl_->fallback = std::move(then);
}

std::vector<ReceivedRequest> WebhookReceiver::requests() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->received;
}

std::size_t WebhookReceiver::request_count() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->received.size();
}

bool WebhookReceiver::wait_for_requests(std::size_t count, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->mutex);
  return impl_->arrived.wait_for(lock, timeout, [&] { return impl_->received.size() >= count; });
}

std::size_t WebhookReceiver::connections_accepted() const { return impl_->accepted.load(); }

void WebhookReceiver::clear() {
  std::lock_guard lock(impl_->mutex);
  impl_->received.clear();
}

}  // namespace flowguard::test
