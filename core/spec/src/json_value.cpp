#include "json_value.hpp"

#include "flowguard/json/document.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace flowguard::spec {

const JValue* JValue::find(const std::string& key) const {
  if (!is_object()) return nullptr;
  auto it = as_object().find(key);
  return it == as_object().end() ? nullptr : &it->second;
}

JValue* JValue::find(const std::string& key) {
  if (!is_object()) return nullptr;
  auto it = as_object().find(key);
  return it == as_object().end() ? nullptr : &it->second;
}

// One JSON string writer for the whole project: core/json's.
void append_json_string(std::string& out, const std::string& s) { json::write_json_string(out, s); }

namespace {

void append_number(std::string& out, double d) {
  // Integral doubles print without exponent or fraction so 10.0 and 10 look alike; others use
  // the shortest representation that round-trips (std::to_chars), which is deterministic.
  if (std::isfinite(d) && d == std::trunc(d) && std::fabs(d) < 1e15) {
    out += std::to_string(static_cast<std::int64_t>(d));
    return;
  }
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
  out.append(buf, ec == std::errc() ? end : buf);
}

void write(std::string& out, const JValue& v, bool pretty, int depth) {
  auto newline = [&](int d) {
    if (!pretty) return;
    out += '\n';
    out.append(static_cast<std::size_t>(d) * 2, ' ');
  };
  if (v.is_null()) out += "null";
  else if (v.is_bool()) out += v.as_bool() ? "true" : "false";
  else if (v.is_int()) out += std::to_string(v.as_int());
  else if (v.is_double()) append_number(out, v.as_double());
  else if (v.is_string()) append_json_string(out, v.as_string());
  else if (v.is_array()) {
    const auto& a = v.as_array();
    if (a.empty()) { out += "[]"; return; }
    out += '[';
    bool first = true;
    for (const auto& item : a) {
      if (!first) out += pretty ? "," : ", ";
      first = false;
      newline(depth + 1);
      write(out, item, pretty, depth + 1);
    }
    newline(depth);
    out += ']';
  } else {
    const auto& o = v.as_object();
    if (o.empty()) { out += "{}"; return; }
    out += '{';
    bool first = true;
    for (const auto& [key, item] : o) {
      if (!first) out += pretty ? "," : ", ";
      first = false;
      newline(depth + 1);
      append_json_string(out, key);
      out += ": ";
      write(out, item, pretty, depth + 1);
    }
    newline(depth);
    out += '}';
  }
}

class Parser {
 public:
  Parser(const std::string& text, const std::string& what) : s_(text), what_(what) {}

  bool parse_document(JValue& v) {
    if (!value(v, 0)) return false;
    ws();
    if (pos_ != s_.size()) { err_ = "unexpected text after the JSON value"; return false; }
    return true;
  }

  Error error() const {  // where parsing stopped, as file:line:col
    std::size_t line = 1, col = 1;
    for (std::size_t i = 0; i < pos_ && i < s_.size(); ++i) {
      if (s_[i] == '\n') { ++line; col = 1; } else { ++col; }
    }
    return make_error(ErrorCode::kParse, what_ + ":" + std::to_string(line) + ":" + std::to_string(col) + ": " + err_);
  }
 private:
  void ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\r' || s_[pos_] == '\t')) ++pos_;
  }
  bool literal(const char* word, JValue v, JValue& out) {
    std::string_view w(word);
    if (s_.compare(pos_, w.size(), w) != 0) { err_ = "invalid literal"; return false; }
    pos_ += w.size();
    out = std::move(v);
    return true;
  }
  bool value(JValue& out, int depth) {
    if (depth > 512) { err_ = "nesting too deep"; return false; }
    ws();
    if (pos_ >= s_.size()) { err_ = "unexpected end of input"; return false; }
    char c = s_[pos_];
    if (c == '{') return object(out, depth);
    if (c == '[') return array(out, depth);
    if (c == '"') { std::string str; if (!string(str)) return false; out = std::move(str); return true; }
    if (c == 't') return literal("true", true, out);
    if (c == 'f') return literal("false", false, out);
    if (c == 'n') return literal("null", nullptr, out);
    return number(out);
  }
  bool object(JValue& out, int depth) {
    ++pos_;
    JObject o;
    ws();
    if (pos_ < s_.size() && s_[pos_] == '}') { ++pos_; out = std::move(o); return true; }
    for (;;) {
      ws();
      std::string key;
      if (pos_ >= s_.size() || s_[pos_] != '"') { err_ = "expected a member name"; return false; }
      if (!string(key)) return false;
      ws();
      if (pos_ >= s_.size() || s_[pos_] != ':') { err_ = "expected ':'"; return false; }
      ++pos_;
      JValue v;
      if (!value(v, depth + 1)) return false;
      if (!o.emplace(key, std::move(v)).second) { err_ = "duplicate member \"" + key + "\""; return false; }
      ws();
      if (pos_ < s_.size() && s_[pos_] == ',') { ++pos_; continue; }
      if (pos_ < s_.size() && s_[pos_] == '}') { ++pos_; out = std::move(o); return true; }
      err_ = "expected ',' or '}'";
      return false;
    }
  }
  bool array(JValue& out, int depth) {
    ++pos_;
    JArray a;
    ws();
    if (pos_ < s_.size() && s_[pos_] == ']') { ++pos_; out = std::move(a); return true; }
    for (;;) {
      JValue v;
      if (!value(v, depth + 1)) return false;
      a.push_back(std::move(v));
      ws();
      if (pos_ < s_.size() && s_[pos_] == ',') { ++pos_; continue; }
      if (pos_ < s_.size() && s_[pos_] == ']') { ++pos_; out = std::move(a); return true; }
      err_ = "expected ',' or ']'";
      return false;
    }
  }
  static void put_utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) out += static_cast<char>(cp);
    else if (cp < 0x800) { out += static_cast<char>(0xC0 | (cp >> 6)); out += static_cast<char>(0x80 | (cp & 0x3F)); }
    else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  bool hex4(unsigned& cp) {
    if (pos_ + 4 > s_.size()) { err_ = "truncated \\u escape"; return false; }
    cp = 0;
    for (int i = 0; i < 4; ++i) {
      char h = s_[pos_++];
      cp <<= 4;
      if (h >= '0' && h <= '9') cp |= static_cast<unsigned>(h - '0');
      else if (h >= 'a' && h <= 'f') cp |= static_cast<unsigned>(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F') cp |= static_cast<unsigned>(h - 'A' + 10);
      else { err_ = "bad \\u escape"; return false; }
    }
    return true;
  }
  bool string(std::string& out) {
    ++pos_;
    while (pos_ < s_.size()) {
      char c = s_[pos_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) { err_ = "control character in string"; return false; }
      if (c != '\\') { out += c; continue; }
      if (pos_ >= s_.size()) break;
      char e = s_[pos_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          unsigned cp;
          if (!hex4(cp)) return false;
          if (cp >= 0xD800 && cp < 0xDC00 && s_.compare(pos_, 2, "\\u") == 0) {
            pos_ += 2;
            unsigned lo;
            if (!hex4(lo)) return false;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          put_utf8(out, cp);
          break;
        }
        default: err_ = "bad escape"; return false;
      }
    }
    err_ = "unterminated string";
    return false;
  }
  bool number(JValue& out) {
    std::size_t start = pos_;
    if (pos_ < s_.size() && s_[pos_] == '-') ++pos_;
    bool integral = true;
    auto digits = [&] { std::size_t b = pos_; while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_; return pos_ > b; };
    if (!digits()) { err_ = "invalid value"; return false; }
    if (pos_ < s_.size() && s_[pos_] == '.') { ++pos_; integral = false; if (!digits()) { err_ = "bad number"; return false; } }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      ++pos_; integral = false;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      if (!digits()) { err_ = "bad number"; return false; }
    }
    const char* b = s_.data() + start;
    const char* e = s_.data() + pos_;
    if (integral) {
      std::int64_t i = 0;
      if (std::from_chars(b, e, i).ec == std::errc()) { out = i; return true; }
    }
    double d = 0;
    if (std::from_chars(b, e, d).ec != std::errc()) { err_ = "number out of range"; return false; }
    out = d;
    return true;
  }

  const std::string& s_;
  std::string what_;
  std::size_t pos_ = 0;
  std::string err_;
};

}  // namespace

std::string write_json(const JValue& value, bool pretty) {
  std::string out;
  write(out, value, pretty, 0);
  if (pretty) out += '\n';
  return out;
}

// GCC 12 flags moving a JValue into Result's std::variant as -Wmaybe-uninitialized (a known false
// positive with nested variants); the value is fully constructed here.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
Result<JValue> parse_json(const std::string& text, const std::string& what) {
  Parser parser(text, what);
  JValue value;
  if (!parser.parse_document(value)) return parser.error();
  return value;
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

std::string escape_pointer_token(const std::string& token) { return json::escape_pointer_token(token); }

}  // namespace flowguard::spec
