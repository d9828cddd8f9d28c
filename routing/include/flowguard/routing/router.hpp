// The router: picks each message's sinks by the routes, journals it (the sender's acknowledgement
// waits for that), and delivers from the journal on one thread per sink, retrying with backoff and
// dead-lettering what cannot be delivered. Nothing is dropped: a message is Delivered, DeadLettered,
// or still in the journal (and resumes after a restart).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "flowguard/journal/journal.hpp"
#include "flowguard/result.hpp"
#include "flowguard/routing/message.hpp"
#include "flowguard/routing/routes.hpp"
#include "flowguard/sinks/sink.hpp"

namespace flowguard::routing {

// Sinks chosen for one message: the matching routes' sinks in route order, without repeats, or the
// dead-letter sink with the reason when it is invalid or nothing matched.
struct Selection {
  std::vector<std::string> sinks;
  std::string dead_letter_reason;  // set when the selection is the dead-letter sink
};
Selection select_sinks(const RoutingConfig& config, const MessageFacts& facts, bool batch_valid);

// Counters since start, per sink (for /metrics and the route command's summary).
struct SinkCounters {
  std::uint64_t delivered = 0, duplicates = 0, retries = 0, dead_lettered = 0, failed = 0;
};
struct RouterStats {
  std::map<std::string, SinkCounters> sinks;
  journal::Stats journal;
};

struct Submitted {
  std::vector<std::string> ids;          // in message order; empty when refused
  std::vector<std::size_t> duplicates;   // message indexes whose reference was already journaled
};

class Router {
 public:
  // Opens the journal and creates every sink (a sink that cannot start is an error naming it), then
  // starts the delivery threads, which resume whatever the journal holds undelivered.
  static Result<std::unique_ptr<Router>> start(const RoutingConfig& config);
  // The same with sinks made by the caller (tests; the consume command shares its connection).
  static Result<std::unique_ptr<Router>> start(const RoutingConfig& config,
                                               std::vector<std::unique_ptr<sinks::Sink>> sinks);
  ~Router();  // stops the delivery threads (after the batch each is delivering)

  // Journals a batch (all or nothing, fsync'd) and wakes the sinks' threads. `batch_valid` false:
  // every message goes to dead-letter (when the config keeps invalid batches) — the caller still
  // answers 400. Errors: kLimit when the journal is full of undelivered messages (answer 503).
  Result<Submitted> submit(const std::vector<Incoming>& messages, bool batch_valid);
  // The same without waiting for the fsync: `done` runs on the journal's committer thread once the
  // batch is durable (see Journal::accept_async for what `done` may do).
  void submit_async(const std::vector<Incoming>& messages, bool batch_valid, std::function<void(Result<Submitted>)> done);

  // Delivers synchronously without the journal (the consume command, whose durable queue is the
  // JetStream stream): kDelivered when every selected sink took it (dead-letter included, for
  // invalid ones, and for a message a sink refused for good: it is dead-lettered on the spot, the
  // detail saying so); kRetry when any sink asks for a retry, with its retry_after.
  std::vector<sinks::DeliveryResult> deliver_now(const std::vector<Incoming>& messages, bool batch_valid);

  // Waits until nothing is undelivered or `timeout` passes; true when drained.
  bool wait_idle(std::chrono::milliseconds timeout);

  journal::Journal& journal();
  const RoutingConfig& config() const;
  RouterStats stats();

 private:
  Router();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Backoff before attempt `attempt` (1-based count of failures so far): initial × 2^(attempt-1),
// capped, with ±50% jitter so many messages failing together do not retry together.
std::chrono::milliseconds backoff(const RetryPolicy& policy, std::uint32_t attempt, double jitter01);

}  // namespace flowguard::routing
