// ECMA-262 "pattern" matching without std::regex on the hot path (private to core/schema).
//
// Why: std::regex is slow to run and allocates per match; schema patterns are overwhelmingly simple
// shapes ("^\\d{2}-\\d{2}-\\d{4}$", "^[A-Z]{3}$", "^$|^..."). We parse the common ECMAScript subset
// (literals, classes, \d \w \s and negations, '.', groups, alternation, ? * + {n} {n,} {n,m} greedy
// or lazy, ^ $ \b \B) into code for a Thompson/Pike NFA simulation (linear time, no backtracking
// blow-up, no allocation after warm-up). Anchored sequences of single-character items whose
// neighbours cannot overlap run on an even simpler greedy scanner. Anything else (lookaround,
// backreferences, unknown escapes) falls back to a cached std::regex (ECMAScript grammar).
// Strings are matched as UTF-8 code points (like a JS regex with the "u" flag).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <regex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "flowguard/result.hpp"

namespace flowguard::schema::detail {

// A set of code points: ASCII as a bitmap, the rest as sorted, disjoint, inclusive ranges.
struct CharSet {
  std::uint64_t ascii[2] = {0, 0};
  std::vector<std::pair<char32_t, char32_t>> high;  // ranges within [0x80, 0x10FFFF]

  bool contains(char32_t cp) const noexcept {
    if (cp < 128) return (ascii[cp >> 6] >> (cp & 63)) & 1u;
    std::size_t lo = 0, hi = high.size();
    while (lo < hi) {  // ranges are few; binary search keeps big classes cheap
      std::size_t mid = (lo + hi) / 2;
      if (cp < high[mid].first) hi = mid;
      else if (cp > high[mid].second) lo = mid + 1;
      else return true;
    }
    return false;
  }
  bool intersects(const CharSet& other) const noexcept;
};

class NativePattern {
 public:
  // Parses `source`; returns nullptr when the pattern uses something the native matcher does not
  // implement (the caller then falls back to std::regex). `error` is set (and nullptr returned)
  // when the pattern is certainly malformed (unbalanced parentheses, bad range, ...).
  static std::unique_ptr<NativePattern> compile(std::string_view source, std::string* error);

  // ECMAScript RegExp.prototype.test semantics: a match anywhere unless anchored.
  bool search(std::string_view text) const noexcept {
    if (!simple_) return match_nfa(text);
    return wide_or_empty_ ? match_wide_or_empty(text) : match_simple(text);
  }

  bool uses_simple_scanner() const noexcept { return simple_; }

  enum class Op : std::uint8_t { kChar, kSet, kSplit, kJmp, kBol, kEol, kWordB, kNotWordB, kMatch };
  struct Inst {
    Op op;
    std::uint32_t a = 0;  // char, set index, or first target
    std::uint32_t b = 0;  // second target (split)
  };
  struct Elem {  // simple-scanner item: one char or set, repeated min..max times greedily
    bool is_set;
    std::uint32_t value;
    std::uint32_t min, max;
    std::uint64_t ascii[2] = {0, 0};  // the ASCII characters it accepts (filled once compiled)
  };

 private:
  friend class PatternParser;
  bool match_simple(std::string_view text) const noexcept;
  // The common case of its own, small function: match_simple's general loop makes every call save
  // and restore a full set of registers.
  bool match_wide_or_empty(std::string_view text) const noexcept;
  bool match_nfa(std::string_view text) const noexcept;
  bool elem_matches(const Elem& e, char32_t cp) const noexcept {
    return e.is_set ? sets_[e.value].contains(cp) : cp == e.value;
  }

  std::vector<Inst> prog_;
  std::vector<CharSet> sets_;
  bool anchored_start_ = false;
  bool simple_ = false;
  std::vector<std::vector<Elem>> alternatives_;  // simple scanner program
  // Per alternative of alternatives_: when every element repeats a fixed number of times and
  // accepts ASCII only (dates, codes, "^[0-9]{13}$"), the text must be exactly `masks.size()`
  // bytes, each in its position's ASCII bitmap: one test per byte, no counting loop.
  struct FixedShape {
    bool fixed = false;
    std::vector<std::array<std::uint64_t, 2>> masks;
    // When every position's class is one range of bytes ([0-9], '-'): lo[i] <= byte <= lo[i] +
    // span[i], tested for all positions without a branch per byte.
    bool ranges = false;
    std::vector<unsigned char> lo, span;
    // Ranges shapes of 4 to 16 bytes: lo and span laid out as the text's head and tail loads (8 + 8
    // bytes, or 4 + 4), overlapping when shorter than 16, so one 16-byte compare tests every byte.
    bool wide = false;
    alignas(16) std::array<unsigned char, 16> lo16{}, span16{};
  };
  std::vector<FixedShape> fixed_;
  // Every alternative is a wide shape or empty ("^([0-9]{13})?$"): a length compare and at most
  // one wide_match per alternative is the whole match.
  bool wide_or_empty_ = false;
  static bool wide_match(const FixedShape& shape, std::string_view text) noexcept;
};

// A compiled "pattern" keyword: native when possible, std::regex otherwise.
class Pattern {
 public:
  static Result<Pattern> compile(std::string_view source);
  // Inline down to the native matcher's entry: the accept path calls it for most string fields.
  bool search(std::string_view text) const noexcept { return native_ ? native_->search(text) : search_regex(text); }
  const std::string& source() const noexcept { return source_; }
  bool is_native() const noexcept { return native_ != nullptr; }

 private:
  bool search_regex(std::string_view text) const noexcept;

  std::string source_;
  std::shared_ptr<const NativePattern> native_;
  std::shared_ptr<const std::regex> regex_;
};

// Decodes one UTF-8 code point at `i` (advancing it); invalid bytes decode as themselves.
char32_t decode_utf8_slow(std::string_view s, std::size_t& i) noexcept;
inline char32_t decode_utf8(std::string_view s, std::size_t& i) noexcept {
  auto b = static_cast<unsigned char>(s[i]);
  if (b < 0x80) {  // ASCII: the common case, kept inline
    ++i;
    return b;
  }
  return decode_utf8_slow(s, i);
}

}  // namespace flowguard::schema::detail
