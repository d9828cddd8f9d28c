// What the JetStream sink counts, beyond the Sink contract: the router's metrics read it through
// jetstream_counters(sink), which is null for a sink of another kind.
#pragma once

#include <cstdint>

#include "flowguard/sinks/sink.hpp"

namespace flowguard::sinks {

struct JetStreamStats {
  std::uint64_t published = 0;   // messages handed to the server (each attempt counts)
  std::uint64_t delivered = 0;   // PubAck'd as new
  std::uint64_t duplicates = 0;  // PubAck'd as a duplicate of a message the stream already had
  std::uint64_t retries = 0;     // answered kRetry
  std::uint64_t failed = 0;      // answered kFailed
};

class JetStreamCounters {
 public:
  virtual ~JetStreamCounters() = default;
  // Safe to call from any thread while deliver() runs.
  virtual JetStreamStats stats() const = 0;
  std::uint64_t duplicates() const { return stats().duplicates; }
};

inline const JetStreamCounters* jetstream_counters(const Sink& sink) {
  return dynamic_cast<const JetStreamCounters*>(&sink);
}

}  // namespace flowguard::sinks
