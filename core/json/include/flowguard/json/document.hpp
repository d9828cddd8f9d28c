// A read-only JSON DOM that remembers where every value came from.
//
// Why our own parser: every finding must name FILE:LINE:COL, and decimal places must be counted in
// the source text (25.11 is not representable as a double). Mainstream DOMs drop both. Values are
// laid out contiguously (children of a container are adjacent) and strings without escapes point
// straight into the source buffer, so the parse allocates little and lookups stay cache-friendly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "flowguard/padded_bytes.hpp"
#include "flowguard/result.hpp"

namespace flowguard::json {

enum class Kind : std::uint8_t { kNull, kFalse, kTrue, kNumber, kString, kArray, kObject };

const char* to_string(Kind kind) noexcept;  // "null", "boolean", "number", "string", "array", "object"

struct Member;

// One JSON value. Owned by a Document; never copied by users (refer to it by pointer/reference).
class Value {
 public:
  Kind kind() const noexcept { return kind_; }
  bool is_null() const noexcept { return kind_ == Kind::kNull; }
  bool is_bool() const noexcept { return kind_ == Kind::kTrue || kind_ == Kind::kFalse; }
  bool is_number() const noexcept { return kind_ == Kind::kNumber; }
  bool is_string() const noexcept { return kind_ == Kind::kString; }
  bool is_array() const noexcept { return kind_ == Kind::kArray; }
  bool is_object() const noexcept { return kind_ == Kind::kObject; }

  // Byte offset of the value's first character in the source (the quote of a string, '[' of an array).
  std::uint32_t offset() const noexcept { return offset_; }

  bool as_bool() const noexcept { return kind_ == Kind::kTrue; }

  // Numbers: the exact source text (e.g. "25.110", "-0", "1e3") and its double value.
  std::string_view number_text() const noexcept { return {text_, size_}; }
  double as_double() const noexcept { return number_; }
  // True when the source text has no fraction or exponent part ("12", not "12.0" or "1e2").
  bool is_integer_text() const noexcept;
  // Digits after the decimal point in the source text, ignoring exponent ("25.110" -> 3, "7" -> 0,
  // "1.5e2" -> 1). Trailing zeros count: the text is what was submitted.
  std::size_t decimal_places() const noexcept;

  // Strings: the decoded (unescaped) UTF-8 contents.
  std::string_view as_string() const noexcept { return {text_, size_}; }
  // True when the parser met this string as plain ASCII without escapes, so its length in code
  // points is its length in bytes. False says nothing (a value not from the parser, or escapes).
  bool is_plain_ascii() const noexcept { return plain_ascii_; }

  // Arrays.
  std::span<const Value> items() const noexcept { return {items_, kind_ == Kind::kArray ? size_ : 0}; }
  // Objects, in source order. Duplicate keys are kept (see Document::duplicate_keys()).
  std::span<const Member> members() const noexcept;
  // First member with this exact key, or nullptr. Linear: objects here are small.
  const Value* find(std::string_view key) const noexcept;
  const Member* find_member(std::string_view key) const noexcept;
  // The member with exactly this key, else the first whose key equals it ignoring ASCII case (how
  // the DIP matches field names); nullptr when neither exists.
  const Member* find_member_ignoring_case(std::string_view key) const noexcept;

  std::size_t size() const noexcept { return (kind_ == Kind::kArray || kind_ == Kind::kObject) ? size_ : 0; }

  // Objects: a nonzero id when the parser knows this object's keys, in order, and knows they do
  // not repeat. Two objects of one document with the same nonzero key_shape() have the same keys
  // in the same order (the converse does not hold). 0 says nothing. Lets a validator match a
  // record's members to declared properties once per shape instead of once per record.
  std::uint32_t key_shape() const noexcept { return kind_ == Kind::kObject ? key_shape_ : 0; }

 private:
  friend class Parser;
  Kind kind_ = Kind::kNull;
  bool plain_ascii_ = false;  // in the padding after kind_: Value stays 32 bytes
  std::uint32_t offset_ = 0;
  std::uint32_t size_ = 0;  // string/number text length, or child count
  std::uint32_t key_shape_ = 0;  // objects (in what would be padding: Value stays 32 bytes)
  union {
    const char* text_;        // string (decoded) or number (source text)
    const Value* items_;      // array children
    const Member* members_;   // object members
  };
  double number_ = 0.0;
 public:
  Value() noexcept : text_(nullptr) {}
};

struct Member {
  std::string_view key;        // decoded
  std::uint32_t key_offset = 0;  // byte offset of the key's opening quote
  Value value;
};

inline std::span<const Member> Value::members() const noexcept {
  return {members_, kind_ == Kind::kObject ? size_ : 0};
}

struct ParseOptions {
  std::size_t max_depth = 256;                 // deeper nesting is refused, never a stack overflow
  std::size_t max_bytes = 0xFFFFFFF0u;         // offsets are 32-bit
  // Threads that may parse one document. With threads > 1, an input of at least
  // parallel_min_bytes whose root is an array (no BOM) has the array's items split into up to
  // `threads` contiguous ranges at item boundaries, parsed concurrently (the calling thread parses
  // one range). The Document is the same as the serial parse's in every observable way (kinds,
  // offsets, number text and values, strings, keys, duplicate_keys() and its order, source(),
  // lines()). Anything unusual — a split that does not fall between items, any range that fails to
  // parse, malformed input of any kind — falls back to the serial parse of the whole input, so
  // errors (message, offset, line, column, limit) are always the serial parser's. A malformed
  // input that still looks like `[ ... ]` therefore costs the parallel attempt plus the serial
  // parse. A split is the first item boundary after each ideal cut (1/threads of the array), so an
  // array whose items are few or huge gets fewer ranges (or none: serial). Memory: about the
  // same as the serial parse; each range thread owns its arena until the Document adopts it.
  unsigned threads = 1;
  std::size_t parallel_min_bytes = std::size_t{1} << 20;  // smaller inputs are parsed serially
};

// Memory reuse across parses. A document of a few MiB or more is parsed into large blocks; when
// such a document is destroyed its blocks are kept (process-wide, thread-safe) for the next parse,
// up to `bytes` in total, because reusing mapped memory spares the kernel zeroing fresh pages (a
// third of parse time on a 4 MB batch). The cost: up to that much stays resident between checks.
// 0 turns the cache off (and frees what it holds).
inline constexpr std::size_t kDefaultParseMemoryCache = std::size_t{128} << 20;
void set_parse_memory_cache(std::size_t bytes);

// Where a parse failed: byte offset plus a message that says what was expected.
struct ParseError {
  std::uint64_t offset = 0;
  std::uint32_t line = 0;
  std::uint32_t column = 0;
  std::string message;  // e.g. "expected ',' or '}' after object member, found '\"'"
  bool limit = false;   // true when a limit (depth, size), not the syntax, was the problem
};

// Line/column from byte offsets. The index of line starts (and of code points per 4 KiB block) is
// extended only as far as the offsets asked for: a finding near the top of a gigabyte file does not
// scan the whole file. O(log lines) per lookup once built; safe to use from several threads.
class LineIndex {
 public:
  LineIndex() = default;
  explicit LineIndex(std::string_view source);
  // 1-based line and 1-based column counted in Unicode code points (what editors show).
  std::pair<std::uint32_t, std::uint32_t> locate(std::uint64_t offset) const noexcept;

 private:
  // Where a scan for line ends has reached: the line that `offset` is on and where it starts.
  struct Mark {
    std::uint64_t offset = 0;
    std::uint32_t line = 1;
    std::uint64_t line_start = 0;
  };
  std::string_view source_;
  bool indexed_ = false;  // false for a default LineIndex: everything is at 1:1
  mutable std::mutex mutex_;
  // Findings are located in ascending order: each call counts line ends from the previous one
  // (16 bytes at a time), so locating them all reads the text once. A mark is kept every 64 KiB
  // scanned, so a call that goes backwards rescans at most that much.
  mutable Mark cursor_;
  mutable std::vector<Mark> marks_;
  // Code points before each 4 KiB block, so columns on long (minified) lines stay cheap.
  mutable std::vector<std::uint32_t> block_code_points_;
  void scan_to(std::uint64_t offset) const noexcept;  // moves cursor_ forward to offset
  void extend_blocks_to(std::size_t offset) const;  // block counts (long lines only)
  std::uint64_t code_points_before(std::uint64_t offset) const noexcept;
};

// An owned, parsed document. Movable, not copyable; Values point into it.
class Document {
 public:
  Document(Document&&) noexcept;
  Document& operator=(Document&&) noexcept;
  ~Document();

  // Parses a copy of `bytes`. A UTF-8 BOM is skipped. On failure returns a ParseError.
  static Result<Document> parse(std::string_view bytes, const ParseOptions& options = {});
  // Same, reporting the structured error (line/column filled in).
  static bool parse(std::string_view bytes, Document& out, ParseError& error, const ParseOptions& options = {});
  // Same, reading `bytes` in place instead of copying them (a parallel parse still copies): the
  // document borrows them, so they must outlive it and stay unchanged.
  static bool parse(const PaddedBytes& bytes, Document& out, ParseError& error, const ParseOptions& options = {});

  const Value& root() const noexcept;
  std::string_view source() const noexcept;
  const LineIndex& lines() const;  // built lazily on first use

  // Keys that appear more than once in the same object: (offset of the repeated key, key).
  struct DuplicateKey {
    std::uint32_t key_offset;
    std::string_view key;
    const Value* object;
  };
  const std::vector<DuplicateKey>& duplicate_keys() const noexcept;

  Document();  // empty document (root is null); use parse()

 private:
  static bool parse_source(std::string_view bytes, bool padded, Document& out, ParseError& error,
                           const ParseOptions& options);
  friend class Parser;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

namespace detail {
// Parses that took the parallel path of ParseOptions::threads (rather than falling back to the
// serial parse) since the process started. For tests.
std::uint64_t parallel_parses() noexcept;
}  // namespace detail

// RFC 6901 helpers.
std::string escape_pointer_token(std::string_view token);          // "a/b~c" -> "a~1b~0c"
void append_pointer(std::string& pointer, std::string_view token);  // pointer += "/" + escaped token
void append_pointer(std::string& pointer, std::size_t index);
// Resolves a pointer against a value; nullptr when it does not resolve.
const Value* resolve_pointer(const Value& root, std::string_view pointer) noexcept;

// Writes `text` as a JSON string literal (with quotes) into `out`; for reports.
void write_json_string(std::string& out, std::string_view text);
// A short, quoted rendering of a value for messages, at most about `max_chars` characters
// ("\"18-03-203\"", "42", "true", "{…}", "[…] (3 items)").
std::string preview(const Value& value, std::size_t max_chars = 40);

}  // namespace flowguard::json
