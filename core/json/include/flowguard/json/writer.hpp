// A small JSON text writer: objects, arrays and scalars appended to a string, commas placed for
// the caller. The one way flowguard writes JSON (reports, responses, the rules' data documents).
// It checks nothing: keys and values go where the calls put them, compactly, in call order.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

#include "flowguard/json/document.hpp"

namespace flowguard::json {

class Writer {
 public:
  explicit Writer(std::string& out) noexcept : out_(out) {}

  Writer& begin_object() { return open('{'); }
  Writer& end_object() { return close('}'); }
  Writer& begin_array() { return open('['); }
  Writer& end_array() { return close(']'); }
  Writer& key(std::string_view k) {
    separate();
    write_json_string(out_, k);
    out_ += ':';
    fresh_ = true;
    return *this;
  }
  Writer& string(std::string_view s) {
    separate();
    write_json_string(out_, s);
    return *this;
  }
  template <class Int, std::enable_if_t<std::is_integral_v<Int> && !std::is_same_v<Int, bool>, int> = 0>
  Writer& number(Int n) {
    separate();
    out_ += std::to_string(n);
    return *this;
  }
  Writer& boolean(bool b) { return raw(b ? "true" : "false"); }
  Writer& null() { return raw("null"); }
  // JSON text already written elsewhere (a number's source text, a nested document).
  Writer& raw(std::string_view json) {
    separate();
    out_ += json;
    return *this;
  }
  // A string, or null when absent.
  Writer& string_or_null(const std::string* s) { return s ? string(*s) : null(); }

  // key(k) then the value: member("rule", f.rule).
  Writer& member(std::string_view k, std::string_view s) { return key(k).string(s); }
  Writer& member(std::string_view k, const char* s) { return key(k).string(s); }
  Writer& member(std::string_view k, const std::string& s) { return key(k).string(s); }
  Writer& member(std::string_view k, bool b) { return key(k).boolean(b); }
  template <class Int, std::enable_if_t<std::is_integral_v<Int> && !std::is_same_v<Int, bool>, int> = 0>
  Writer& member(std::string_view k, Int n) {
    return key(k).number(n);
  }

  std::string& out() noexcept { return out_; }

 private:
  Writer& open(char c) {
    separate();
    out_ += c;
    fresh_ = true;
    return *this;
  }
  Writer& close(char c) {
    out_ += c;
    fresh_ = false;
    return *this;
  }
  // A comma before every value but the first of its container (and none after a key).
  void separate() {
    if (!fresh_) out_ += ',';
    fresh_ = false;
  }

  std::string& out_;
  bool fresh_ = true;
};

}  // namespace flowguard::json
