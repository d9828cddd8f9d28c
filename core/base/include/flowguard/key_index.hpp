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
        if (keys_[i] == key) return static_cast<std::uint32_t>(i);
      return kNotFound;
    }
    // Probing meets an earlier position of a repeated key first: it was inserted first.
    for (std::size_t s = hash(key) & mask_;; s = (s + 1) & mask_) {
      const std::uint16_t i = slots_[s];
      if (i == kEmpty) return kNotFound;
      if (keys_[i] == key) return i;
    }
  }

  static std::uint64_t hash(std::string_view key) noexcept {
    std::uint64_t head = 0, tail = 0;
    const std::size_t n = key.size();
    if (n >= 8) {
      std::memcpy(&head, key.data(), 8);
      std::memcpy(&tail, key.data() + n - 8, 8);
    } else if (n > 0) {
      std::memcpy(&head, key.data(), n);
    }
    const std::uint64_t h = (head ^ std::rotl(tail * 0x9E3779B97F4A7C15ull, 29) ^ n) * 0xFF51AFD7ED558CCDull;
    return h ^ (h >> 29);
  }

 private:
  static constexpr std::size_t kLinearMax = 4;
  static constexpr std::uint16_t kEmpty = 0xFFFF;
  std::vector<std::string_view> keys_;
  std::vector<std::uint16_t> slots_;  // slot -> position, kEmpty when free
  std::size_t mask_ = 0;
};

}  // namespace flowguard
