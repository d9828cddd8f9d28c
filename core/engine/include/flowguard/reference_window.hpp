// A bounded, time-windowed memory of message references, shared by the workers of a server.
//
//   auto window = std::make_shared<flowguard::ReferenceWindow>(flowguard::ReferenceWindow::Limits{});
//   flowguard::CheckRequest request;
//   request.references = window;              // every worker's Engine gets the same pointer
//   auto report = engine->check(bytes, "submission", "", request);
//
// Engine::check consults it for the DIP's senderUniqueReference (MSG1006) and records a document's
// references in it when the document has no error findings. See docs/engine-requests.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#ifndef FLOWGUARD_API
#define FLOWGUARD_API __attribute__((visibility("default")))
#endif

namespace flowguard {

// A bounded, time-windowed memory of message references (the DIP's senderUniqueReference) shared
// by every worker of a server: a reference seen within `window` of an earlier one is a repeat
// (the DIP answers MSG1006). Thread-safe. Memory is bounded by max_entries: when full, the oldest
// entries are evicted first (counted in evicted()), never unbounded growth.
//
// Times are unix seconds supplied by the caller (a request's `now`), so the window follows the
// requests' clock, not the machine's. Requests may arrive slightly out of time order (workers read
// the clock independently): a key recorded at a time later than a lookup's `now` counts as seen.
// Every operation is O(1) amortised (a hash index over the keys and a FIFO of insertion order that
// expiry and eviction consume from the front) under one mutex, held for well under a microsecond:
// at tens of thousands of calls per second the lock is not where the time goes.
// No member throws: an allocation failure in insert() leaves the key unrecorded.
class FLOWGUARD_API ReferenceWindow {
 public:
  struct Limits {
    std::int64_t window_seconds = 86400;  // negative is taken as 0 (a repeat within the same second)
    std::size_t max_entries = 1'000'000;  // 0 remembers nothing
  };
  explicit ReferenceWindow(Limits limits);
  ~ReferenceWindow();
  ReferenceWindow(const ReferenceWindow&) = delete;
  ReferenceWindow& operator=(const ReferenceWindow&) = delete;

  // When `key` was first recorded (unix seconds), if it was within the window before `now`; nullopt otherwise.
  std::optional<std::int64_t> find(std::string_view key, std::int64_t now) const;
  // Records `key` at `now` (a key already present keeps its first time). Expires entries older than the window.
  // A key present but older than the window (left behind by out-of-order times) is recorded afresh.
  void insert(std::string_view key, std::int64_t now);
  std::size_t size() const;
  std::size_t memory_bytes() const;   // an honest estimate of the heap it holds (keys + index + queue)
  std::uint64_t evicted() const;      // entries dropped because max_entries was reached (not by expiry)
  std::uint64_t expired() const;      // entries dropped because they left the window
  const Limits& limits() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace flowguard
