// ReferenceWindow: a hash index (key -> first time recorded) and a FIFO of insertions. Expiry and
// eviction both take from the FIFO's front, so each is O(1) per entry dropped.
//
// The FIFO holds a pointer to the index's node (an unordered_map node never moves) and the time it
// was recorded at. When times arrive out of order a key can be found older than the window while
// entries in front of it in the FIFO are not yet: it is then recorded afresh (its node gets the new
// time and a new FIFO entry), and the old FIFO entry becomes a tombstone, recognised by its time no
// longer being the node's. A key's successive times strictly increase (each is more than the
// window after the last), so a tombstone never matches, and it always precedes the key's live
// entry: the node it points at still exists when it is popped.

#include "flowguard/reference_window.hpp"

#include <algorithm>
#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>

namespace flowguard {
namespace {

// Transparent, so a lookup by string_view builds no std::string. Being noexcept and not one of the
// standard string hashes, libstdc++ does not cache it in the node (8 bytes less per entry; a rehash
// hashes the keys again instead, amortised O(1)).
struct KeyHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
struct KeyEqual {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const noexcept { return a == b; }
};

using Index = std::unordered_map<std::string, std::int64_t, KeyHash, KeyEqual>;

struct Entry {
  Index::value_type* node;
  std::int64_t time;  // when this entry recorded the key; the node's time differs for a tombstone
};

// What glibc's malloc takes for a request of n bytes: an 8-byte header, rounded up to 16, at least 32.
constexpr std::size_t malloc_chunk(std::size_t n) { return std::max<std::size_t>(32, (n + 8 + 15) & ~std::size_t{15}); }

// The heap a key's std::string holds beyond the node (nothing when the short-string buffer holds it).
std::size_t key_heap(const std::string& key) {
  return key.capacity() > 15 ? malloc_chunk(key.capacity() + 1) : 0;
}

}  // namespace

struct ReferenceWindow::Impl {
  Limits limits;
  mutable std::mutex m;
  Index index;
  std::deque<Entry> fifo;
  std::size_t key_bytes = 0;  // sum of key_heap() over the index
  std::uint64_t evicted = 0, expired = 0;

  bool live(const Entry& e) const noexcept { return e.node->second == e.time; }

  void drop(const Entry& e) noexcept {
    key_bytes -= key_heap(e.node->first);
    index.erase(index.find(std::string_view(e.node->first)));
  }

  void expire(std::int64_t now) noexcept {
    while (!fifo.empty()) {
      const Entry e = fifo.front();
      if (live(e)) {
        if (now - e.time <= limits.window_seconds) return;
        drop(e);
        ++expired;
      }
      fifo.pop_front();
    }
  }

  // Drops the oldest live entry (and the tombstones before it).
  void evict_one() noexcept {
    while (!fifo.empty()) {
      const Entry e = fifo.front();
      fifo.pop_front();
      if (!live(e)) continue;
      drop(e);
      ++evicted;
      return;
    }
  }
};

ReferenceWindow::ReferenceWindow(Limits limits) : impl_(std::make_unique<Impl>()) {
  limits.window_seconds = std::max<std::int64_t>(0, limits.window_seconds);
  impl_->limits = limits;
}

ReferenceWindow::~ReferenceWindow() = default;

std::optional<std::int64_t> ReferenceWindow::find(std::string_view key, std::int64_t now) const {
  std::lock_guard lock(impl_->m);
  const auto it = impl_->index.find(key);
  if (it == impl_->index.end() || now - it->second > impl_->limits.window_seconds) return std::nullopt;
  return it->second;
}

void ReferenceWindow::insert(std::string_view key, std::int64_t now) {
  Impl& w = *impl_;
  std::lock_guard lock(w.m);
  w.expire(now);
  if (w.limits.max_entries == 0) return;
  const auto it = w.index.find(key);
  if (it != w.index.end()) {
    if (now - it->second <= w.limits.window_seconds) return;  // within the window: keeps its first time
    try {
      w.fifo.push_back({&*it, now});
      it->second = now;  // the old FIFO entry is a tombstone from here on
    } catch (...) {     // no memory for the FIFO entry: the stale entry stays (found as outside the window)
    }
    return;
  }
  while (w.index.size() >= w.limits.max_entries) w.evict_one();
  // Tombstones occupy the FIFO without an index entry; keep them from outgrowing the index.
  while (!w.fifo.empty() && w.fifo.size() >= 2 * w.limits.max_entries) w.evict_one();
  Index::iterator node;
  try {
    node = w.index.emplace(std::string(key), now).first;
  } catch (...) {  // no memory: the key is not recorded (errors are values; a window is best effort)
    return;
  }
  try {
    w.fifo.push_back({&*node, now});
  } catch (...) {
    w.index.erase(node);
    return;
  }
  w.key_bytes += key_heap(node->first);
}

std::size_t ReferenceWindow::size() const {
  std::lock_guard lock(impl_->m);
  return impl_->index.size();
}

std::size_t ReferenceWindow::memory_bytes() const {
  const Impl& w = *impl_;
  std::lock_guard lock(w.m);
  // Index: one node per key (next pointer and the key/time pair) and the bucket array.
  const std::size_t node = malloc_chunk(sizeof(void*) + sizeof(Index::value_type));
  std::size_t bytes = sizeof(Impl) + w.index.size() * node + w.key_bytes;
  if (w.index.bucket_count() > 1) bytes += malloc_chunk(w.index.bucket_count() * sizeof(void*));
  // FIFO: libstdc++'s deque allocates 512-byte blocks (and a small array of block pointers); the
  // blocks in use, plus the one partly filled at each end.
  constexpr std::size_t kBlock = 512;
  const std::size_t per_block = std::max<std::size_t>(1, kBlock / sizeof(Entry));
  const std::size_t blocks = w.fifo.size() / per_block + 2;
  bytes += blocks * malloc_chunk(kBlock) + malloc_chunk(std::max<std::size_t>(8, blocks + 2) * sizeof(void*));
  return bytes;
}

std::uint64_t ReferenceWindow::evicted() const {
  std::lock_guard lock(impl_->m);
  return impl_->evicted;
}

std::uint64_t ReferenceWindow::expired() const {
  std::lock_guard lock(impl_->m);
  return impl_->expired;
}

const ReferenceWindow::Limits& ReferenceWindow::limits() const noexcept { return impl_->limits; }

}  // namespace flowguard
