// Errors as values on expected paths (bad input, bad rules, I/O). C++20 has no std::expected,
// so this is a deliberately small stand-in: a value or an Error, never both.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace flowguard {

// Stable error codes; the CLI maps classes of them to exit statuses.
enum class ErrorCode {
  kIo,              // file missing or unreadable
  kParse,           // input is not well-formed JSON / YAML
  kLimit,           // a size or depth limit was exceeded
  kSchema,          // a schema file is invalid or uses something unsupported
  kRule,            // a Lua rule file failed to load or is malformed
  kPlugin,          // a plugin could not be loaded (ABI, symbol, file)
  kUnknownType,     // a document no plugin recognises / an unknown --type
  kUsage,           // bad option or argument
  kInternal,
};

const char* to_string(ErrorCode code) noexcept;

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;  // complete sentence(s) for a person: what, where, what was expected
};

template <typename T>
class Result {
 public:
  Result(T value) : state_(std::move(value)) {}          // NOLINT(google-explicit-constructor)
  Result(Error error) : state_(std::move(error)) {}      // NOLINT(google-explicit-constructor)

  bool ok() const noexcept { return state_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const& { return std::get<1>(state_); }
  Error&& error() && { return std::get<1>(std::move(state_)); }

 private:
  std::variant<T, Error> state_;
};

// For operations that return nothing on success.
struct Ok {};
using Status = Result<Ok>;

inline Error make_error(ErrorCode code, std::string message) { return Error{code, std::move(message)}; }

}  // namespace flowguard
