// Reading a large JSON array or NDJSON stream one top-level item at a time, without parsing it,
// so that checking can proceed in chunks of bounded size.
#pragma once

#include <cstdint>
#include <istream>
#include <optional>
#include <string>

#include "flowguard/padded_bytes.hpp"

namespace flowguard::engine {

struct ItemStart {
  std::uint64_t offset = 0;  // byte offset of the item's first character in the stream
  std::uint32_t line = 1;    // 1-based line of that character
  std::uint32_t column = 1;  // 1-based column, in code points
};

class ItemReader {
 public:
  ItemReader(std::istream& in, bool ndjson);

  // The next item's text and where it starts. false at the end of the input or on an error.
  bool next(std::string& item, ItemStart& start);
  // The same, appending the item's text to `out` (a chunk being built: no copy in between). On
  // false `out` is as it was.
  bool append_next(PaddedBytes& out, ItemStart& start);

  // Set when the stream is not an array of items (or a line is unterminated garbage): what was
  // expected, and where.
  const std::optional<std::string>& error() const noexcept { return error_; }
  const ItemStart& error_at() const noexcept { return error_at_; }
  // The error is a size limit (a record longer than kMaxItemBytes), not malformed text.
  bool error_is_limit() const noexcept { return limit_; }
  // Bounds the memory one record of an endless stream (`["` and then no end) can take.
  static constexpr std::size_t kMaxItemBytes = 64u << 20;
  // Where the array (or stream) began: findings about the whole document point here.
  const ItemStart& document_start() const noexcept { return document_start_; }

 private:
  template <class Out>
  bool read_item(Out& out, ItemStart& start);
  int peek();  // next byte or -1, without consuming
  int get();   // consume one byte, tracking line and column
  // Consumes the next `n` buffered bytes at once (line and column from what they hold).
  void consume(std::size_t n);
  void skip_space();
  bool fail(std::string message);
  bool fail_too_long(const ItemStart& start);
  ItemStart here() const noexcept { return {offset_, line_, column_}; }

  std::istream& in_;
  bool ndjson_;
  std::string buffer_;
  std::size_t pos_ = 0;
  std::uint64_t offset_ = 0;
  std::uint32_t line_ = 1, column_ = 1;
  bool started_ = false, finished_ = false, limit_ = false;
  std::optional<std::string> error_;
  ItemStart error_at_, document_start_;
};

// Line and column of `offset_in_item` inside an item that starts at `start`.
ItemStart position_in_item(const ItemStart& start, std::string_view item, std::size_t offset_in_item);

}  // namespace flowguard::engine
