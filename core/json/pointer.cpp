// RFC 6901 JSON Pointer helpers and value rendering for reports.
#include <algorithm>
#include <charconv>

#include "flowguard/json/document.hpp"

namespace flowguard::json {
namespace {

constexpr char kHex[] = "0123456789abcdef";
constexpr std::string_view kEllipsis = "\xE2\x80\xA6";  // U+2026 "…"

constexpr bool is_continuation(unsigned char c) noexcept { return (c & 0xC0) == 0x80; }

// Length of the well-formed UTF-8 sequence at s[i] (non-ASCII lead), 0 when ill-formed.
std::size_t utf8_length(std::string_view s, std::size_t i) noexcept {
  const auto c = static_cast<unsigned char>(s[i]);
  const std::size_t avail = s.size() - i;
  auto cont = [&](std::size_t k) { return k < avail && is_continuation(static_cast<unsigned char>(s[i + k])); };
  auto byte = [&](std::size_t k) { return k < avail ? static_cast<unsigned char>(s[i + k]) : 0; };
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    const unsigned char c1 = byte(1);
    const bool ok = c == 0xE0 ? (c1 >= 0xA0 && c1 <= 0xBF) : c == 0xED ? (c1 >= 0x80 && c1 <= 0x9F) : cont(1);
    return ok && cont(2) ? 3 : 0;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    const unsigned char c1 = byte(1);
    const bool ok = c == 0xF0 ? (c1 >= 0x90 && c1 <= 0xBF) : c == 0xF4 ? (c1 >= 0x80 && c1 <= 0x8F) : cont(1);
    return ok && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

// Byte length of the first `n` code points of `s` (or all of it), and whether `s` is longer.
std::size_t prefix_bytes(std::string_view s, std::size_t n, bool& truncated) noexcept {
  std::size_t count = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (is_continuation(static_cast<unsigned char>(s[i]))) continue;
    if (count == n) {
      truncated = true;
      return i;
    }
    ++count;
  }
  truncated = false;
  return s.size();
}

// Does the (escaped) pointer token name this key? Compares without unescaping into a buffer.
bool token_matches(std::string_view token, std::string_view key) noexcept {
  std::size_t j = 0;
  for (std::size_t i = 0; i < token.size();) {
    char c = token[i];
    if (c == '~') {
      c = token[i + 1] == '0' ? '~' : '/';  // validity checked by the caller
      i += 2;
    } else {
      ++i;
    }
    if (j >= key.size() || key[j] != c) return false;
    ++j;
  }
  return j == key.size();
}

bool valid_token(std::string_view token) noexcept {
  for (std::size_t i = 0; i < token.size(); ++i) {
    if (token[i] == '~' && (i + 1 == token.size() || (token[i + 1] != '0' && token[i + 1] != '1'))) return false;
  }
  return true;
}

// RFC 6901 array index: "0" or digits without a leading zero; "-" (past the end) never resolves.
bool parse_index(std::string_view token, std::size_t& index) noexcept {
  if (token.empty() || token.size() > 19 || (token.size() > 1 && token[0] == '0')) return false;
  const auto [ptr, ec] = std::from_chars(token.data(), token.data() + token.size(), index);
  return ec == std::errc() && ptr == token.data() + token.size();
}

}  // namespace

std::string escape_pointer_token(std::string_view token) {
  std::string out;
  out.reserve(token.size());
  for (char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

void append_pointer(std::string& pointer, std::string_view token) {
  pointer.push_back('/');
  for (char c : token) {
    if (c == '~') {
      pointer += "~0";
    } else if (c == '/') {
      pointer += "~1";
    } else {
      pointer.push_back(c);
    }
  }
}

void append_pointer(std::string& pointer, std::size_t index) {
  char buf[24];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, index);
  (void)ec;  // 24 bytes always fit a size_t
  pointer.push_back('/');
  pointer.append(buf, end);
}

const Value* resolve_pointer(const Value& root, std::string_view pointer) noexcept {
  const Value* cur = &root;
  if (pointer.empty()) return cur;
  if (pointer[0] != '/') return nullptr;
  std::size_t pos = 1;
  for (;;) {
    const std::size_t slash = pointer.find('/', pos);
    const std::string_view token =
        pointer.substr(pos, slash == std::string_view::npos ? std::string_view::npos : slash - pos);
    if (!valid_token(token)) return nullptr;
    if (cur->is_object()) {
      const Value* next = nullptr;
      for (const Member& m : cur->members()) {
        if (token_matches(token, m.key)) {
          next = &m.value;
          break;
        }
      }
      if (!next) return nullptr;
      cur = next;
    } else if (cur->is_array()) {
      std::size_t index = 0;
      if (!parse_index(token, index) || index >= cur->size()) return nullptr;
      cur = &cur->items()[index];
    } else {
      return nullptr;
    }
    if (slash == std::string_view::npos) return cur;
    pos = slash + 1;
  }
}

void write_json_string(std::string& out, std::string_view text) {
  out.reserve(out.size() + text.size() + 2);
  out.push_back('"');
  std::size_t run = 0;  // start of the pending unescaped run
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      if (const std::size_t len = utf8_length(text, i)) {
        i += len;  // valid UTF-8 stays as-is
        continue;
      }
    }
    out.append(text.data() + run, i - run);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 0xF]);
        } else {
          out += "\\ufffd";  // ill-formed UTF-8: the output must stay valid JSON
        }
    }
    run = ++i;
  }
  out.append(text.data() + run, text.size() - run);
  out.push_back('"');
}

std::string preview(const Value& value, std::size_t max_chars) {
  max_chars = std::max<std::size_t>(max_chars, 4);
  switch (value.kind()) {
    case Kind::kNull: return "null";
    case Kind::kTrue: return "true";
    case Kind::kFalse: return "false";
    case Kind::kNumber: {
      const std::string_view text = value.number_text();
      if (text.size() <= max_chars) return std::string(text);
      return std::string(text.substr(0, max_chars - 1)).append(kEllipsis);
    }
    case Kind::kString: {
      // Budget counts the two quotes and the ellipsis, in code points.
      bool truncated = false;
      const std::string_view text = value.as_string();
      const std::size_t whole = prefix_bytes(text, max_chars - 2, truncated);
      std::string out;
      if (!truncated) {
        write_json_string(out, text.substr(0, whole));
        return out;
      }
      write_json_string(out, text.substr(0, prefix_bytes(text, max_chars - 3, truncated)));
      out.insert(out.size() - 1, kEllipsis);
      return out;
    }
    case Kind::kArray: {
      const std::size_t n = value.size();
      if (n == 0) return "[]";
      return "[\xE2\x80\xA6] (" + std::to_string(n) + (n == 1 ? " item)" : " items)");
    }
    case Kind::kObject: {
      const std::size_t n = value.size();
      if (n == 0) return "{}";
      return "{\xE2\x80\xA6} (" + std::to_string(n) + (n == 1 ? " member)" : " members)");
    }
  }
  return {};
}

}  // namespace flowguard::json
