#include "stream.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "flowguard/utf8.hpp"

namespace flowguard::engine {

namespace {
constexpr std::size_t kBlock = 1 << 20;
bool is_space(int c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Line feeds in `span`, 16 bytes a step (the per-lane counts summed before any can overflow).
std::size_t count_newlines(std::string_view span) noexcept {
  const char* p = span.data();
  std::size_t n = span.size(), total = 0;
#if defined(__SSE2__)
  const __m128i lf = _mm_set1_epi8('\n'), zero = _mm_setzero_si128();
  while (n >= 16) {
    __m128i lanes = zero;
    const std::size_t steps = std::min<std::size_t>(n / 16, 255);
    for (std::size_t k = 0; k < steps; ++k, p += 16)
      lanes = _mm_sub_epi8(lanes, _mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)), lf));
    const __m128i sums = _mm_sad_epu8(lanes, zero);
    total += static_cast<std::size_t>(_mm_cvtsi128_si32(sums)) + static_cast<std::size_t>(_mm_cvtsi128_si32(_mm_srli_si128(sums, 8)));
    n -= steps * 16;
  }
#endif
  return total + static_cast<std::size_t>(std::count(p, p + n, '\n'));
}

// Where an item of the array ends, scanned a buffer at a time: the item runs to the ',' or ']' at
// depth 0 outside strings. The state carries over between buffers.
struct ItemScan {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;  // the previous byte was a backslash inside a string (maybe in the previous buffer)
  bool done = false;

  // One byte of the state machine (also what the 64-byte steps must agree with).
  bool step(char c) noexcept {  // true: the item ended before c
    if (escaped) {
      escaped = false;
    } else if (in_string) {
      if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (depth == 0 && (c == ',' || c == ']')) {
      return done = true;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      --depth;
    }
    return false;
  }

  // Bytes of p[0, n) that belong to the item (n when it goes on past them).
  std::size_t run(const char* p, std::size_t n) noexcept {
    std::size_t i = 0;
#if defined(__SSE2__)
    // 64 bytes a step: where strings are follows from the prefix parity of the quotes; then only
    // the brackets and commas outside strings matter, and commas only at depth 0. A block with a
    // backslash, or one that opens with an escaped byte, takes byte steps.
    while (i + 64 <= n) {
      if (escaped) {
        if (step(p[i])) return i;
        ++i;
        continue;
      }
      const __m128i v0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
      const __m128i v1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i + 16));
      const __m128i v2 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i + 32));
      const __m128i v3 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i + 48));
      const auto bits = [](__m128i a, __m128i b, __m128i c, __m128i d, __m128i byte) {
        return static_cast<std::uint64_t>(static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(a, byte)))) |
               static_cast<std::uint64_t>(static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(b, byte)))) << 16 |
               static_cast<std::uint64_t>(static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(c, byte)))) << 32 |
               static_cast<std::uint64_t>(static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(d, byte)))) << 48;
      };
      if (bits(v0, v1, v2, v3, _mm_set1_epi8('\\'))) {
        for (const std::size_t end = i + 64; i < end; ++i)
          if (step(p[i])) return i;
        continue;
      }
      std::uint64_t inside = bits(v0, v1, v2, v3, _mm_set1_epi8('"'));
      inside ^= inside << 1, inside ^= inside << 2, inside ^= inside << 4;
      inside ^= inside << 8, inside ^= inside << 16, inside ^= inside << 32;
      if (in_string) inside = ~inside;
      const std::uint64_t outside = ~inside;
      // '{' '[' are 0x7B 0x5B and '}' ']' 0x7D 0x5D: one compare each after OR 0x20.
      const __m128i lower = _mm_set1_epi8(0x20);
      const __m128i f0 = _mm_or_si128(v0, lower), f1 = _mm_or_si128(v1, lower), f2 = _mm_or_si128(v2, lower),
                    f3 = _mm_or_si128(v3, lower);
      const std::uint64_t open = bits(f0, f1, f2, f3, _mm_set1_epi8(0x7B)) & outside;
      const std::uint64_t close = bits(f0, f1, f2, f3, _mm_set1_epi8(0x7D)) & outside;
      const bool in_string_after = inside >> 63;
      if (!(open | close) && depth > 0) {
        in_string = in_string_after;
        i += 64;
        continue;
      }
      const std::uint64_t commas = bits(v0, v1, v2, v3, _mm_set1_epi8(',')) & outside;
      for (std::uint64_t rest = open | close | commas; rest; rest &= rest - 1) {
        const int k = std::countr_zero(rest);
        const std::uint64_t bit = std::uint64_t{1} << k;
        if (open & bit) {
          ++depth;
        } else if (depth == 0 && ((commas & bit) || p[i + static_cast<std::size_t>(k)] == ']')) {
          done = true;
          return i + static_cast<std::size_t>(k);
        } else if (close & bit) {
          --depth;
        }
      }
      in_string = in_string_after;
      i += 64;
    }
#endif
    for (; i < n; ++i)
      if (step(p[i])) return i;
    return n;
  }
};

// Line and column after `span`: a line per "\n", columns in code points.
void move_over(std::uint32_t& line, std::uint32_t& column, std::string_view span) {
  const auto lines = static_cast<std::uint32_t>(count_newlines(span));
  if (lines) {
    const auto last = span.rfind('\n');
    line += lines;
    column = 1 + static_cast<std::uint32_t>(utf8_code_points(span.substr(last + 1)));
  } else {
    column += static_cast<std::uint32_t>(utf8_code_points(span));
  }
}
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

void ItemReader::consume(std::size_t n) {
  move_over(line_, column_, std::string_view(buffer_.data() + pos_, n));
  pos_ += n;
  offset_ += n;
}

void ItemReader::skip_space() {
  while (is_space(peek())) get();
}

bool ItemReader::fail_too_long(const ItemStart& start) {
  fail("a record longer than " + std::to_string(kMaxItemBytes >> 20) +
       " MiB (a streamed input's records are read one at a time); expected smaller records");
  error_at_ = start;
  limit_ = true;
  return false;
}

bool ItemReader::fail(std::string message) {
  error_ = std::move(message);
  error_at_ = here();
  finished_ = true;
  return false;
}

namespace {
// Where read_item() puts an item: the text after `base` in a string or a chunk being built.
struct StringOut {
  std::string& s;
  std::size_t base = 0;
  bool empty() const noexcept { return s.size() == base; }
  std::size_t size() const noexcept { return s.size() - base; }
  unsigned char back() const noexcept { return static_cast<unsigned char>(s.back()); }
  void pop_back() noexcept { s.pop_back(); }
  void append(const char* p, std::size_t n) { s.append(p, n); }
};
struct PaddedOut {
  PaddedBytes& b;
  std::size_t base;
  bool empty() const noexcept { return b.size() == base; }
  std::size_t size() const noexcept { return b.size() - base; }
  unsigned char back() const noexcept { return static_cast<unsigned char>(b.data()[b.size() - 1]); }
  void pop_back() noexcept { b.truncate(b.size() - 1); }
  void append(const char* p, std::size_t n) { b.append(std::string_view(p, n)); }
};
}  // namespace

bool ItemReader::next(std::string& item, ItemStart& start) {
  item.clear();
  StringOut out{item};
  return read_item(out, start);
}

bool ItemReader::append_next(PaddedBytes& chunk, ItemStart& start) {
  const std::size_t base = chunk.size();
  PaddedOut out{chunk, base};
  if (read_item(out, start)) return true;
  chunk.truncate(base);
  return false;
}

template <class Out>
bool ItemReader::read_item(Out& item, ItemStart& start) {
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
      // The line up to its '\n' (not consumed), a buffer at a time.
      while (peek() >= 0) {
        const char* const from = buffer_.data() + pos_;
        const std::size_t left = buffer_.size() - pos_;
        const auto* nl = static_cast<const char*>(std::memchr(from, '\n', left));
        const std::size_t n = nl ? static_cast<std::size_t>(nl - from) : left;
        item.append(from, n);
        consume(n);
        if (nl) break;
        if (item.size() > kMaxItemBytes) return fail_too_long(start);
      }
      while (!item.empty() && is_space(item.back())) item.pop_back();
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
  // The item runs to the ',' or ']' at depth 0 outside strings (not consumed). Scanned a buffer at
  // a time: the bytes are appended and consumed in one step per buffer.
  ItemScan scan;
  while (!scan.done) {
    if (peek() < 0) return fail("unexpected end of input inside the array: expected ',' or ']'");
    const char* const from = buffer_.data() + pos_;
    const std::size_t n = scan.run(from, buffer_.size() - pos_);
    item.append(from, n);
    consume(n);
    if (item.size() > kMaxItemBytes) return fail_too_long(start);
  }
  while (!item.empty() && is_space(item.back())) item.pop_back();
  if (item.empty()) return fail("expected a record before ','");
  if (peek() == ',') {
    get();
    skip_space();
    if (peek() == ']') return fail("expected a record after ',' (trailing commas are not allowed)");
  }
  return true;
}

ItemStart position_in_item(const ItemStart& start, std::string_view item, std::size_t offset_in_item) {
  ItemStart at = start;
  at.offset += offset_in_item;
  move_over(at.line, at.column, item.substr(0, offset_in_item));
  return at;
}

}  // namespace flowguard::engine
