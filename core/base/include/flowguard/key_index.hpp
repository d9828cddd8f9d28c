// KeyIndex: a read-only map from a small, fixed set of keys to their positions, for the lookups
// the hot paths make once per object member (a schema's declared properties, the fields a type's
// native checks read). Records have a score of keys and every one is looked up, so the hash reads
// only the length and the first and last 8 bytes: usually one probe and one compare.
//
// The index keeps string_views: the keys must outlive it.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <vector>

namespace flowguard {

class KeyIndex {
 public:
  static constexpr std::uint32_t kNotFound = 0xFFFFFFFFu;

  KeyIndex() = default;
  // Position of a key = its index in `keys`; when a key repeats, the first position wins.
  explicit KeyIndex(std::span<const std::string_view> keys) : keys_(keys.begin(), keys.end()) {
    if (keys_.size() <= kLinearMax || keys_.size() >= kEmpty) return;  // a short linear scan is as fast
    std::size_t size = 8;
    while (size < keys_.size() * 2) size *= 2;
    slots_.assign(size, kEmpty);
    mask_ = size - 1;
    for (std::size_t i = 0; i < keys_.size(); ++i) {
      std::size_t s = hash(keys_[i]) & mask_;
      while (slots_[s] != kEmpty) s = (s + 1) & mask_;
      slots_[s] = static_cast<std::uint16_t>(i);
    }
  }

  std::size_t size() const noexcept { return keys_.size(); }

  std::uint32_t find(std::string_view key) const noexcept {
    if (slots_.empty()) {
      for (std::size_t i = 0; i < keys_.size(); ++i)
        if (same(keys_[i], key)) return static_cast<std::uint32_t>(i);
      return kNotFound;
    }
    // Probing meets an earlier position of a repeated key first: it was inserted first.
    for (std::size_t s = hash(key) & mask_;; s = (s + 1) & mask_) {
      const std::uint16_t i = slots_[s];
      if (i == kEmpty) return kNotFound;
      if (same(keys_[i], key)) return i;
    }
  }

  // Equality of two keys, inline: keys are short, so a call to memcmp (what string_view's == makes)
  // costs more than the compare. Loads stay inside both keys. (The parser's duplicate-key check
  // uses it too.)
  static bool same(std::string_view a, std::string_view b) noexcept {
    const std::size_t n = a.size();
    if (n != b.size()) return false;
    const char* x = a.data();
    const char* y = b.data();
    if (n >= 8) {
      for (std::size_t i = 0; i + 8 < n; i += 8)
        if (load<std::uint64_t>(x + i) != load<std::uint64_t>(y + i)) return false;
      return load<std::uint64_t>(x + n - 8) == load<std::uint64_t>(y + n - 8);
    }
    if (n >= 4)
      return load<std::uint32_t>(x) == load<std::uint32_t>(y) &&
             load<std::uint32_t>(x + n - 4) == load<std::uint32_t>(y + n - 4);
    for (std::size_t i = 0; i < n; ++i)
      if (x[i] != y[i]) return false;
    return true;
  }

  static std::uint64_t hash(std::string_view key) noexcept {
    std::uint64_t head = 0, tail = 0;
    const std::size_t n = key.size();
    const char* p = key.data();
    if (n >= 8) {
      head = load<std::uint64_t>(p);
      tail = load<std::uint64_t>(p + n - 8);
    } else if (n >= 4) {  // fixed-size loads: a memcpy of n bytes would be a call
      head = load<std::uint32_t>(p) | std::uint64_t{load<std::uint32_t>(p + n - 4)} << 32;
    } else if (n > 0) {
      head = static_cast<unsigned char>(p[0]) | static_cast<unsigned>(static_cast<unsigned char>(p[n / 2])) << 8 |
             static_cast<unsigned>(static_cast<unsigned char>(p[n - 1])) << 16;
    }
    const std::uint64_t h = (head ^ std::rotl(tail * 0x9E3779B97F4A7C15ull, 29) ^ n) * 0xFF51AFD7ED558CCDull;
    return h ^ (h >> 29);
  }

 private:
  template <typename T>
  static T load(const char* p) noexcept {
    T v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }

  static constexpr std::size_t kLinearMax = 4;
  static constexpr std::uint16_t kEmpty = 0xFFFF;
  std::vector<std::string_view> keys_;
  std::vector<std::uint16_t> slots_;  // slot -> position, kEmpty when free
  std::size_t mask_ = 0;
};

}  // namespace flowguard
