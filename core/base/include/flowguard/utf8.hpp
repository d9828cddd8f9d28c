// Counting UTF-8 code points: what editors show as columns and what JSON Schema's minLength and
// maxLength count. Hot on both paths (every length-bounded string; every located finding).
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace flowguard {

// Bytes that are not continuation bytes (10xxxxxx); an invalid byte counts as one code point, as
// editors that show replacement characters do. Eight bytes at a time.
inline std::size_t utf8_code_points(std::string_view s) noexcept {
  std::size_t continuation = 0, i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    std::uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    const std::uint64_t marks = w & ~(w << 1) & 0x8080808080808080ull;  // bit 7 set, bit 6 clear
    // Each mark byte is 0 or 1 after the shift; the multiply sums them into the top byte (no
    // popcount instruction is assumed).
    if (marks) continuation += static_cast<std::size_t>(((marks >> 7) * 0x0101010101010101ull) >> 56);
  }
  for (; i < s.size(); ++i) continuation += (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80;
  return s.size() - continuation;
}

}  // namespace flowguard
