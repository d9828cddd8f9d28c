// A sink: where the router delivers valid (or dead-lettered) messages. One small interface; each
// kind of sink is one file in sinks/ (stdout, file, spool, webhook, jetstream).
//
// Contract (the router relies on every point):
// - deliver() is called by one delivery thread of the router at a time per sink object; a sink
//   need not be thread-safe. It may block (a webhook call, a PubAck wait) but must return within
//   its own configured timeouts: it never waits forever.
// - deliver() returns exactly one DeliveryResult per message, in the order given, and never throws
//   (errors are values). A message reported kDelivered is durably where the sink puts it: written
//   and fsync'd for file/spool, answered 2xx for a webhook, PubAck'd for JetStream.
// - Delivery is at least once: after a crash the router re-delivers what the journal does not show
//   as delivered, so a sink may see a message again; every message carries its `reference` (the
//   DIP senderUniqueReference, or flowguard's id) for the receiver to de-duplicate on.
// - kRetry is for transient failures (timeouts, 408/429/5xx, connection refused); kFailed is
//   permanent for that message (400, 413, a message bigger than the sink's size limit): the router
//   dead-letters it instead of retrying.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "flowguard/result.hpp"

namespace flowguard::sinks {

// One message as the router hands it to a sink.
struct Delivery {
  std::string id;          // flowguard's transaction id for the message (the journal's key)
  std::string reference;   // de-duplication key: senderUniqueReference, else `id`
  std::string type;        // "dip.IF-001.…", "dfs.bid-submission", …
  std::string body;        // the message as delivered: for the DIP, one {"payload":{…}} element
  // Set for dead-lettered messages: why, and the findings as a JSON array (flowguard's report shape).
  std::string dead_letter_reason;
  std::string findings_json;
};

enum class Outcome {
  kDelivered,  // durably accepted
  kDuplicate,  // the destination already had it (JetStream's duplicate PubAck): as good as delivered
  kRetry,      // transient: try again later
  kFailed,     // permanent for this message: dead-letter it
};

struct DeliveryResult {
  Outcome outcome = Outcome::kRetry;
  std::string detail;                                   // for the journal's last_error / the log
  std::optional<std::chrono::milliseconds> retry_after;  // a server's Retry-After, when it gave one
};

class Sink {
 public:
  virtual ~Sink() = default;
  // The name it was configured under (routes refer to it), and its kind ("webhook", …).
  virtual const std::string& name() const = 0;
  virtual std::string_view kind() const = 0;
  // The most messages one deliver() call may take; the router never hands more.
  virtual std::size_t max_batch() const { return 1; }
  virtual std::vector<DeliveryResult> deliver(std::span<const Delivery> batch) = 0;
};

}  // namespace flowguard::sinks
