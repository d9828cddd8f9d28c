#include "stream.hpp"

#include <algorithm>
#include <cstring>

#include "flowguard/utf8.hpp"

namespace flowguard::engine {

namespace {
constexpr std::size_t kBlock = 1 << 20;
bool is_space(int c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Line and column after `span`: a line per "\n", columns in code points.
void move_over(std::uint32_t& line, std::uint32_t& column, std::string_view span) {
  const auto lines = static_cast<std::uint32_t>(std::count(span.begin(), span.end(), '\n'));
  if (lines) {
    const auto last = span.rfind('\n');
    line += lines;
    column = 1 + static_cast<std::uint32_t>(utf8_code_points(span.substr(last + 1)));
  } else {
    column += static_cast<std::uint32_t>(utf8_code_points(span));
  }
}
}  // namespace

ItemReader::ItemReader(std::istream& in, bool ndjson) : in_(in), ndjson_(ndjson) {}

int ItemReader::peek() {
  if (pos_ == buffer_.size()) {
    buffer_.resize(kBlock);
    in_.read(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
    buffer_.resize(static_cast<std::size_t>(in_.gcount()));
    pos_ = 0;
    if (buffer_.empty()) return -1;
  }
  return static_cast<unsigned char>(buffer_[pos_]);
}

int ItemReader::get() {
  const int c = peek();
  if (c < 0) return c;
  ++pos_;
  ++offset_;
  if (c == '\n') {
    ++line_;
    column_ = 1;
  } else if ((c & 0xC0) != 0x80) {  // continuation bytes do not start a code point
    ++column_;
  }
  return c;
}

void ItemReader::consume(std::size_t n) {
  move_over(line_, column_, std::string_view(buffer_.data() + pos_, n));
  pos_ += n;
  offset_ += n;
}

void ItemReader::skip_space() {
  while (is_space(peek())) get();
}

bool ItemReader::fail(std::string message) {
  error_ = std::move(message);
  error_at_ = here();
  finished_ = true;
  return false;
}

bool ItemReader::next(std::string& item, ItemStart& start) {
  item.clear();
  if (finished_) return false;
  if (!started_) {
    started_ = true;
    if (peek() == 0xEF) {  // UTF-8 byte order mark
      get(), get(), get();
      column_ = 1;
    }
    if (!ndjson_) {
      skip_space();
      document_start_ = here();
      if (get() != '[') return fail("expected '[' starting an array of records");
    } else {
      document_start_ = here();
    }
  }
  if (ndjson_) {
    for (;;) {
      while (peek() == '\n' || peek() == '\r' || peek() == ' ' || peek() == '\t') get();
      if (peek() < 0) {
        finished_ = true;
        return false;
      }
      start = here();
      // The line up to its '\n' (not consumed), a buffer at a time.
      while (peek() >= 0) {
        const char* const from = buffer_.data() + pos_;
        const std::size_t left = buffer_.size() - pos_;
        const auto* nl = static_cast<const char*>(std::memchr(from, '\n', left));
        const std::size_t n = nl ? static_cast<std::size_t>(nl - from) : left;
        item.append(from, n);
        consume(n);
        if (nl) break;
      }
      while (!item.empty() && is_space(static_cast<unsigned char>(item.back()))) item.pop_back();
      if (!item.empty()) return true;
    }
  }
  skip_space();
  if (peek() == ']') {
    get();
    skip_space();
    finished_ = true;
    if (peek() >= 0) return fail("unexpected text after the end of the array");
    return false;
  }
  if (peek() < 0) return fail("unexpected end of input inside the array: expected a record or ']'");
  start = here();
  // The item runs to the ',' or ']' at depth 0 outside strings (not consumed). Scanned a buffer at
  // a time: the bytes are appended and consumed in one step per buffer.
  int depth = 0;
  bool in_string = false, escaped = false;
  for (bool done = false; !done;) {
    if (peek() < 0) return fail("unexpected end of input inside the array: expected ',' or ']'");
    const char* const from = buffer_.data() + pos_;
    const std::size_t left = buffer_.size() - pos_;
    std::size_t i = 0;
    for (; i < left; ++i) {
      const char c = from[i];
      if (in_string) {
        if (escaped) escaped = false;
        else if (c == '\\') escaped = true;
        else if (c == '"') in_string = false;
        continue;
      }
      if (depth == 0 && (c == ',' || c == ']')) {
        done = true;
        break;
      }
      if (c == '"') in_string = true;
      else if (c == '{' || c == '[') ++depth;
      else if (c == '}' || c == ']') --depth;
    }
    item.append(from, i);
    consume(i);
  }
  while (!item.empty() && is_space(static_cast<unsigned char>(item.back()))) item.pop_back();
  if (item.empty()) return fail("expected a record before ','");
  if (peek() == ',') {
    get();
    skip_space();
    if (peek() == ']') return fail("expected a record after ',' (trailing commas are not allowed)");
  }
  return true;
}

ItemStart position_in_item(const ItemStart& start, const std::string& item, std::size_t offset_in_item) {
  ItemStart at = start;
  at.offset += offset_in_item;
  move_over(at.line, at.column, std::string_view(item).substr(0, offset_in_item));
  return at;
}

}  // namespace flowguard::engine
