// valijson adapter over flowguard::json::Value (read-only), private to core/schema.
//
// Follows valijson's BasicAdapter pattern: a light value wrapper (JsonValueRef) supplies the
// mechanics, BasicAdapter supplies the type semantics. Numbers follow draft-07: a number with a
// zero fraction ("1.0", "1e2") is an integer when it fits in int64, so valijson's "type": "integer"
// agrees with ours. Frozen values keep a pointer to the source Value: the documents must outlive
// the valijson Schema built from them (the bridge guarantees that).
#pragma once

#include <cmath>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <utility>

#if !VALIJSON_USE_EXCEPTIONS
#error "build with VALIJSON_USE_EXCEPTIONS=1: otherwise valijson calls abort() on a bad schema"
#endif
#include <valijson/exceptions.hpp>
#include <valijson/internal/adapter.hpp>
#include <valijson/internal/basic_adapter.hpp>
#include <valijson/internal/frozen_value.hpp>

#include "flowguard/json/document.hpp"

namespace flowguard::schema::vj {

class JsonAdapter;
class JsonArrayIterator;
class JsonMemberIterator;

using JsonMember = std::pair<std::string, JsonAdapter>;

inline const json::Value& null_value() {
  static const json::Value v;
  return v;
}

// draft-07 integer: integral value representable as int64.
inline bool integral_value(const json::Value& v, std::int64_t* out = nullptr) {
  if (!v.is_number()) return false;
  double d = v.as_double();
  if (!std::isfinite(d) || std::floor(d) != d || d < -9.2233720368547758e18 || d >= 9.2233720368547758e18)
    return false;
  if (out) *out = static_cast<std::int64_t>(d);
  return true;
}

class JsonArray {
 public:
  using const_iterator = JsonArrayIterator;
  using iterator = JsonArrayIterator;
  JsonArray() : value_(&null_value()) {}
  explicit JsonArray(const json::Value& v) : value_(&v) {
    if (!v.is_array()) valijson::throwRuntimeError("Value is not an array.");
  }
  JsonArrayIterator begin() const;
  JsonArrayIterator end() const;
  std::size_t size() const { return value_->size(); }

 private:
  const json::Value* value_;
};

class JsonObject {
 public:
  using const_iterator = JsonMemberIterator;
  using iterator = JsonMemberIterator;
  JsonObject() : value_(&null_value()) {}
  explicit JsonObject(const json::Value& v) : value_(&v) {
    if (!v.is_object()) valijson::throwRuntimeError("Value is not an object.");
  }
  JsonMemberIterator begin() const;
  JsonMemberIterator end() const;
  JsonMemberIterator find(const std::string& name) const;
  std::size_t size() const { return value_->size(); }

 private:
  const json::Value* value_;
};

class JsonFrozenValue : public valijson::adapters::FrozenValue {
 public:
  explicit JsonFrozenValue(const json::Value& v) : value_(&v) {}
  FrozenValue* clone() const override { return new JsonFrozenValue(*value_); }
  bool equalTo(const valijson::adapters::Adapter& other, bool strict) const override;

 private:
  const json::Value* value_;
};

class JsonValueRef {
 public:
  JsonValueRef() : value_(&null_value()) {}
  explicit JsonValueRef(const json::Value& v) : value_(&v) {}

  valijson::adapters::FrozenValue* freeze() const { return new JsonFrozenValue(*value_); }

  std::optional<JsonArray> getArrayOptional() const {
    if (value_->is_array()) return std::make_optional(JsonArray(*value_));
    return {};
  }
  bool getArraySize(std::size_t& r) const {
    if (!value_->is_array()) return false;
    r = value_->size();
    return true;
  }
  bool getBool(bool& r) const {
    if (!value_->is_bool()) return false;
    r = value_->as_bool();
    return true;
  }
  bool getDouble(double& r) const {
    if (!isDouble()) return false;
    r = value_->as_double();
    return true;
  }
  bool getInteger(std::int64_t& r) const { return integral_value(*value_, &r); }
  std::optional<JsonObject> getObjectOptional() const {
    if (value_->is_object()) return std::make_optional(JsonObject(*value_));
    return {};
  }
  bool getObjectSize(std::size_t& r) const {
    if (!value_->is_object()) return false;
    r = value_->size();
    return true;
  }
  bool getString(std::string& r) const {
    if (!value_->is_string()) return false;
    r = std::string(value_->as_string());
    return true;
  }
  static bool hasStrictTypes() { return true; }
  bool isArray() const { return value_->is_array(); }
  bool isBool() const { return value_->is_bool(); }
  bool isDouble() const { return value_->is_number() && !integral_value(*value_); }
  bool isInteger() const { return integral_value(*value_); }
  bool isNull() const { return value_->is_null(); }
  bool isNumber() const { return value_->is_number(); }
  bool isObject() const { return value_->is_object(); }
  bool isString() const { return value_->is_string(); }

 private:
  const json::Value* value_;
};

class JsonAdapter
    : public valijson::adapters::BasicAdapter<JsonAdapter, JsonArray, JsonMember, JsonObject, JsonValueRef> {
 public:
  JsonAdapter() : BasicAdapter() {}
  JsonAdapter(const json::Value& v) : BasicAdapter(JsonValueRef(v)) {}  // NOLINT: valijson converts implicitly
  JsonAdapter(const json::Document& d) : BasicAdapter(JsonValueRef(d.root())) {}  // NOLINT
};

class JsonArrayIterator {
 public:
  using iterator_category = std::bidirectional_iterator_tag;
  using value_type = JsonAdapter;
  using difference_type = JsonAdapter;
  using pointer = JsonAdapter*;
  using reference = JsonAdapter&;

  explicit JsonArrayIterator(const json::Value* p) : p_(p) {}
  JsonAdapter operator*() const { return JsonAdapter(*p_); }
  valijson::adapters::DerefProxy<JsonAdapter> operator->() const {
    return valijson::adapters::DerefProxy<JsonAdapter>(**this);
  }
  bool operator==(const JsonArrayIterator& o) const { return p_ == o.p_; }
  bool operator!=(const JsonArrayIterator& o) const { return p_ != o.p_; }
  const JsonArrayIterator& operator++() { ++p_; return *this; }
  JsonArrayIterator operator++(int) { auto t = *this; ++p_; return t; }
  const JsonArrayIterator& operator--() { --p_; return *this; }
  void advance(std::ptrdiff_t n) { p_ += n; }

 private:
  const json::Value* p_;
};

class JsonMemberIterator {
 public:
  using iterator_category = std::bidirectional_iterator_tag;
  using value_type = JsonMember;
  using difference_type = JsonMember;
  using pointer = JsonMember*;
  using reference = JsonMember&;

  explicit JsonMemberIterator(const json::Member* p) : p_(p) {}
  JsonMember operator*() const { return JsonMember(std::string(p_->key), JsonAdapter(p_->value)); }
  valijson::adapters::DerefProxy<JsonMember> operator->() const {
    return valijson::adapters::DerefProxy<JsonMember>(**this);
  }
  bool operator==(const JsonMemberIterator& o) const { return p_ == o.p_; }
  bool operator!=(const JsonMemberIterator& o) const { return p_ != o.p_; }
  const JsonMemberIterator& operator++() { ++p_; return *this; }
  JsonMemberIterator operator++(int) { auto t = *this; ++p_; return t; }
  const JsonMemberIterator& operator--() { --p_; return *this; }

 private:
  const json::Member* p_;
};

inline bool JsonFrozenValue::equalTo(const valijson::adapters::Adapter& other, bool strict) const {
  return JsonAdapter(*value_).equalTo(other, strict);
}
inline JsonArrayIterator JsonArray::begin() const { return JsonArrayIterator(value_->items().data()); }
inline JsonArrayIterator JsonArray::end() const {
  return JsonArrayIterator(value_->items().data() + value_->items().size());
}
inline JsonMemberIterator JsonObject::begin() const { return JsonMemberIterator(value_->members().data()); }
inline JsonMemberIterator JsonObject::end() const {
  return JsonMemberIterator(value_->members().data() + value_->members().size());
}
inline JsonMemberIterator JsonObject::find(const std::string& name) const {
  const json::Member* m = value_->find_member(name);
  return m ? JsonMemberIterator(m) : end();
}

}  // namespace flowguard::schema::vj

namespace valijson::adapters {
template <>
struct AdapterTraits<flowguard::schema::vj::JsonAdapter> {
  using DocumentType = flowguard::json::Document;
  static std::string adapterName() { return "FlowguardJsonAdapter"; }
};
}  // namespace valijson::adapters
