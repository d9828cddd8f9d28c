#include "input.hpp"

#include <algorithm>
#include <cstdio>
#include <string>

namespace flowguard::engine {

namespace {

constexpr std::size_t kReadBytes = 1u << 20;

bool is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// The bytes that can begin a JSON value (RFC 8259 §2-7).
bool can_start_json(unsigned char c) {
  return c == '{' || c == '[' || c == '"' || c == '-' || (c >= '0' && c <= '9') || c == 't' || c == 'f' || c == 'n';
}

std::string describe_byte(unsigned char c) {
  char buf[32];
  if (c >= 0x21 && c < 0x7f) std::snprintf(buf, sizeof buf, "'%c' (0x%02X)", c, c);
  else std::snprintf(buf, sizeof buf, "byte 0x%02X", c);
  return buf;
}

}  // namespace

Result<PaddedBytes> read_prefix(std::istream& in, std::string_view name, std::size_t limit, bool& complete) {
  PaddedBytes bytes;
  complete = false;
  std::size_t scanned = 0;  // bytes known to be leading whitespace (or the byte order mark)
  bool started = false;     // a byte that begins JSON was seen
  std::uint32_t line = 1;
  std::size_t line_start = 0;
  std::vector<char> chunk(kReadBytes);
  while (bytes.size() < limit) {
    const std::size_t want = std::min(kReadBytes, limit - bytes.size());
    in.read(chunk.data(), static_cast<std::streamsize>(want));
    bytes.append(std::string_view(chunk.data(), static_cast<std::size_t>(in.gcount())));
    if (in.bad()) return make_error(ErrorCode::kIo, std::string(name) + ": read error");
    if (!started) {
      const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
      if (scanned == 0 && bytes.size() >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF) scanned = line_start = 3;
      for (; scanned < bytes.size() && is_space(p[scanned]); ++scanned)
        if (p[scanned] == '\n') ++line, line_start = scanned + 1;
      if (scanned < bytes.size()) {
        if (!can_start_json(p[scanned]))
          return make_error(ErrorCode::kParse,
                            std::string(name) + ":" + std::to_string(line) + ":" + std::to_string(scanned - line_start + 1) +
                                ": not valid JSON: " + describe_byte(p[scanned]) +
                                " cannot begin a JSON document; expected '{', '[', a string, a number, true, false or null");
        started = true;
      }
    }
    if (in.eof()) {
      complete = true;
      return bytes;
    }
  }
  if (!started)
    return make_error(ErrorCode::kLimit, std::string(name) + ": the first " + std::to_string(limit) +
                                             " bytes are all whitespace; expected a JSON document");
  return bytes;
}

PrefixedStreambuf::PrefixedStreambuf(const PaddedBytes& prefix, std::streambuf* rest) : prefix_(prefix), rest_(rest) {}

PrefixedStreambuf::int_type PrefixedStreambuf::underflow() {
  if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
  if (!prefix_served_) {
    prefix_served_ = true;
    if (!prefix_.empty()) {
      // The get area only reads it: the const_cast is the streambuf interface's.
      char* begin = const_cast<char*>(prefix_.data());
      setg(begin, begin, begin + prefix_.size());
      return traits_type::to_int_type(*gptr());
    }
  }
  if (buffer_.empty()) buffer_.resize(kReadBytes);
  const std::streamsize n = rest_->sgetn(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
  if (n <= 0) return traits_type::eof();
  setg(buffer_.data(), buffer_.data(), buffer_.data() + n);
  return traits_type::to_int_type(*gptr());
}

}  // namespace flowguard::engine
