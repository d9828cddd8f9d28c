// A deliberately tiny JSON value for generated schemas: objects keep keys sorted (std::map), so
// output is deterministic without a separate sort step. Internal to flowguard_spec.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "flowguard/result.hpp"

namespace flowguard::spec {

class JValue;
using JArray = std::vector<JValue>;
using JObject = std::map<std::string, JValue>;

class JValue {
 public:
  JValue() = default;  // null
  JValue(std::nullptr_t) {}
  JValue(bool b) : v_(b) {}
  JValue(int i) : v_(static_cast<std::int64_t>(i)) {}
  JValue(std::int64_t i) : v_(i) {}
  JValue(double d) : v_(d) {}
  JValue(const char* s) : v_(std::string(s)) {}
  JValue(std::string s) : v_(std::move(s)) {}
  JValue(JArray a) : v_(std::move(a)) {}
  JValue(JObject o) : v_(std::move(o)) {}

  bool is_null() const { return v_.index() == 0; }
  bool is_bool() const { return v_.index() == 1; }
  bool is_int() const { return v_.index() == 2; }
  bool is_double() const { return v_.index() == 3; }
  bool is_number() const { return is_int() || is_double(); }
  bool is_string() const { return v_.index() == 4; }
  bool is_array() const { return v_.index() == 5; }
  bool is_object() const { return v_.index() == 6; }

  bool as_bool() const { return std::get<1>(v_); }
  std::int64_t as_int() const { return std::get<2>(v_); }
  double as_double() const { return is_int() ? static_cast<double>(as_int()) : std::get<3>(v_); }
  const std::string& as_string() const { return std::get<4>(v_); }
  const JArray& as_array() const { return std::get<5>(v_); }
  JArray& as_array() { return std::get<5>(v_); }
  const JObject& as_object() const { return std::get<6>(v_); }
  JObject& as_object() { return std::get<6>(v_); }

  // Member lookup on objects; nullptr when absent or not an object.
  const JValue* find(const std::string& key) const;
  JValue* find(const std::string& key);

  friend bool operator==(const JValue& a, const JValue& b) { return a.v_ == b.v_; }

 private:
  std::variant<std::nullptr_t, bool, std::int64_t, double, std::string, JArray, JObject> v_{nullptr};
};

// Stable formatting: two-space indent, one member / item per line, empty containers as {} / [],
// no trailing whitespace. `pretty` false gives a compact single line (for diff messages).
std::string write_json(const JValue& value, bool pretty = true);
void append_json_string(std::string& out, const std::string& s);

// Strict RFC 8259 parser (for reading generated files back in diff_dip). `what` names the source
// in error messages.
Result<JValue> parse_json(const std::string& text, const std::string& what);

// RFC 6901 token escaping.
std::string escape_pointer_token(const std::string& token);

}  // namespace flowguard::spec
