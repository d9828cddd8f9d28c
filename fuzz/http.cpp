// The HTTP request parser as the server configures it (server/http_session.cpp): Boost.Beast's
// request_parser<string_body> with the header and body limits of the default server::Limits, fed
// as Beast's read loop feeds it (a growing window over the bytes received so far, in segments whose
// sizes the input picks), then the server's own checks of a parsed header, and the pipelined
// requests after it on the same connection. Contracts beyond "no crash": a parsed request's body
// and a declared Content-Length are within the body limit; a failure has an error code.
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <cstdint>
#include <optional>
#include <string_view>

#include "flowguard/server/config.hpp"
#include "fuzz_support.hpp"

namespace beast = boost::beast;
namespace http = beast::http;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t segment = 1 + data[0] % 64;  // bytes per read: how the request arrives
  std::string_view wire = flowguard::fuzz::as_text(data + 1, size - 1);
  const flowguard::server::Limits limits;
  const std::uint64_t body_limit = static_cast<std::uint64_t>(limits.max_body_kb) * 1024;
  for (int request = 0; request < 4 && !wire.empty(); ++request) {  // keep-alive: one connection, several requests
    std::optional<http::request_parser<http::string_body>> parser;
    parser.emplace();
    parser->header_limit(static_cast<std::uint32_t>(limits.max_header_kb * 1024));
    parser->body_limit(body_limit);
    std::size_t received = std::min(segment, wire.size());  // in the buffer, not yet consumed
    beast::error_code ec;
    bool header_checked = false;
    while (!parser->is_done()) {
      const std::size_t used = parser->put(boost::asio::buffer(wire.data(), received), ec);
      wire.remove_prefix(used);
      received -= used;
      if (ec == http::error::need_more) {
        ec = {};
        if (received == wire.size()) {  // the client closed the connection
          parser->put_eof(ec);
          break;
        }
        received = std::min(received + segment, wire.size());
        continue;
      }
      if (ec) break;
      if (parser->is_header_done() && !header_checked) {
        header_checked = true;
        // What on_header() does before reading the body.
        if (const auto length = parser->content_length()) FLOWGUARD_FUZZ_CHECK(*length <= body_limit);
        (void)parser->get()[http::field::expect];
        (void)parser->get().target();
      }
      if (received == 0 && !parser->is_done()) {
        if (wire.empty()) {
          parser->put_eof(ec);
          break;
        }
        received = std::min(segment, wire.size());
      }
    }
    if (ec || !parser->is_done()) {
      FLOWGUARD_FUZZ_CHECK(!ec || !ec.message().empty());
      return 0;
    }
    auto message = parser->release();
    FLOWGUARD_FUZZ_CHECK(message.body().size() <= body_limit);
    for (const auto& field : message) (void)field.name_string(), (void)field.value();
    if (!message.keep_alive()) return 0;
  }
  return 0;
}
