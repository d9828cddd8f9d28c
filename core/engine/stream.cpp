#include "stream.hpp"

namespace flowguard::engine {

namespace {
constexpr std::size_t kBlock = 1 << 20;
bool is_space(int c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
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
      for (int c = peek(); c >= 0 && c != '\n'; c = peek()) item.push_back(static_cast<char>(get()));
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
  int depth = 0;
  bool in_string = false, escaped = false;
  for (;;) {
    const int c = peek();
    if (c < 0) return fail("unexpected end of input inside the array: expected ',' or ']'");
    if (in_string) {
      item.push_back(static_cast<char>(get()));
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (depth == 0 && (c == ',' || c == ']')) break;
    item.push_back(static_cast<char>(get()));
    if (c == '"') in_string = true;
    else if (c == '{' || c == '[') ++depth;
    else if (c == '}' || c == ']') --depth;
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
  for (std::size_t i = 0; i < offset_in_item && i < item.size(); ++i) {
    const auto c = static_cast<unsigned char>(item[i]);
    if (c == '\n') {
      ++at.line;
      at.column = 1;
    } else if ((c & 0xC0) != 0x80) {
      ++at.column;
    }
  }
  return at;
}

}  // namespace flowguard::engine
