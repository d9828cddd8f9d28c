// The journal: flowguard's durable record of every message it accepted for routing, in SQLite
// (WAL mode, synchronous=FULL). It is the source of truth the router delivers from: a message is
// acknowledged to its sender only once accept() has committed it, and undelivered work resumes
// from here after a restart.
//
// States, per message (seed 000's tracking states Delivered/Retrying/Failed plus the router's own):
//   Received → Validated → Routed → Delivered | Retrying | Failed | DeadLettered
// and per (message, sink) delivery: Pending → Delivered | Retrying → … | Failed | DeadLettered.
// A message's state is derived from its deliveries: Delivered when every delivery is; DeadLettered
// when any was dead-lettered and none is still pending; Retrying while any is retrying; Failed when
// a delivery failed with no dead-letter sink to take it.
//
// Thread-safety: one Journal is shared by the server's workers and the router's delivery threads;
// every method is safe to call concurrently. accept() calls from many threads are group-committed:
// they share one transaction and one fsync (see docs/routing.md).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "flowguard/result.hpp"

namespace flowguard::journal {

using Clock = std::chrono::system_clock;
using TimePoint = Clock::time_point;

enum class MessageState { kReceived, kValidated, kRouted, kDelivered, kRetrying, kFailed, kDeadLettered };
enum class DeliveryState { kPending, kRetrying, kDelivered, kFailed, kDeadLettered };
const char* to_string(MessageState state) noexcept;
const char* to_string(DeliveryState state) noexcept;

// A message to journal, as the router hands it over.
struct NewMessage {
  std::string reference;   // senderUniqueReference (DIP), else empty: the journal then uses the id
  std::string type;        // flowguard type name
  std::string interface_id, event_code, mpan;  // what MessageRequest filters on; empty when none
  std::string sender, recipient;               // DIP IDs / roles when known, for `journal list`
  bool valid = true;
  std::string body;                // the message as sinks deliver it
  std::string findings_json;       // "[]" when valid
  std::vector<std::string> sinks;  // where to deliver it (a dead-letter sink for invalid ones)
  std::string dead_letter_reason;  // why it goes to dead-letter, when it does
  // When the request arrived and when validation finished; the journal adds routed_at at commit.
  // (Received and Validated are in-process states: a message is journaled once it is validated
  // and routed, because the sender's acknowledgement waits for the journal.) Left at the epoch,
  // received_at is the commit time and validated_at is received_at. Stored to the microsecond.
  // A sink named twice is one delivery; a message with no sinks is Delivered at once.
  TimePoint received_at{}, validated_at{};
};

// What accept() did. All or nothing: when any reference is already journaled (or repeated within
// the batch), nothing is committed, `ids` is empty and `duplicates` holds the indexes concerned
// (the server answers MSG1006 for them, as the DIP does). Within a batch, the first use of a
// reference is not a duplicate; its repeats are.
struct AcceptOutcome {
  std::vector<std::string> ids;
  std::vector<std::size_t> duplicates;
};

struct JournalOptions {
  std::chrono::hours retention{24 * 30};   // seed 000: messages are kept 30 days
  std::uint64_t max_undelivered = 1'000'000;  // back-pressure: accept() refuses beyond this many pending deliveries
  std::chrono::milliseconds group_commit_window{2};  // how long a commit waits for company
};

// A pending delivery handed to a sink's delivery thread.
struct Claimed {
  std::string id;
  std::string reference;  // the sink's de-duplication key: the message's reference, else its id
  std::string type;
  std::string body;
  std::string findings_json;
  std::string dead_letter_reason;
  std::uint32_t attempts = 0;  // before this one
};

// Filters for list/replay/requeue (the DIP's MessageRequest plus what an operator needs).
struct MessageQuery {
  std::optional<TimePoint> from, to;         // received between (inclusive)
  std::string event_code, mpan, interface_id, type;
  std::vector<std::string> ids;              // transaction ids; empty: any
  std::optional<MessageState> state;
  std::size_t limit = 100;
};

struct DeliveryRecord {
  std::string sink;
  DeliveryState state = DeliveryState::kPending;
  std::uint32_t attempts = 0;
  std::optional<TimePoint> next_attempt, delivered_at;
  std::string last_error;
};

struct MessageRecord {
  std::string id, reference, type, interface_id, event_code, mpan, sender, recipient;
  bool valid = true;
  MessageState state = MessageState::kReceived;
  TimePoint received_at{}, validated_at{}, routed_at{}, updated_at{};
  std::string body, findings_json, dead_letter_reason;
  std::vector<DeliveryRecord> deliveries;
};

struct Stats {
  std::uint64_t messages = 0;
  std::uint64_t undelivered = 0;  // deliveries pending or retrying
  std::optional<TimePoint> oldest_undelivered;
  std::uint64_t dead_lettered = 0;
};

class Journal {
 public:
  virtual ~Journal() = default;

  // Commits the messages in one transaction (all or nothing, as a DIP batch), durably (fsync'd)
  // before it returns, and gives their new ids in order. Fails with kLimit when it would take the
  // undelivered count past max_undelivered (the server then answers 503 with Retry-After).
  virtual Result<AcceptOutcome> accept(const std::vector<NewMessage>& messages) = 0;
  // The same without waiting: `done` is called once the group commit holding the batch is durable
  // (or failed), on the journal's committer thread. So a server's worker can check the next
  // request while the fsync is in flight, and one fsync serves every request in flight. `done`
  // must be quick and must not call the journal's blocking methods (accept, remember: they wait
  // for the thread `done` runs on); the *_async ones are fine.
  using AcceptDone = std::function<void(Result<AcceptOutcome>)>;
  virtual void accept_async(std::vector<NewMessage> messages, AcceptDone done) = 0;

  // Up to `max` deliveries for `sink` that are due at `now` (pending, or retrying with
  // next_attempt <= now), oldest first. A claimed delivery is not handed out again until it is
  // marked, or until the process restarts (claims are not persisted).
  virtual Result<std::vector<Claimed>> claim(const std::string& sink, std::size_t max, TimePoint now) = 0;
  // Marks release the claims they name whatever their outcome (a failed mark leaves the delivery
  // due again: at least once). Marking a delivery already final is a no-op; naming a message
  // with no delivery to `sink` is kUsage and marks nothing. Each mark counts one attempt.
  virtual Status mark_delivered(const std::string& sink, const std::vector<std::string>& ids) = 0;
  virtual Status mark_retry(const std::string& sink, const std::string& id, TimePoint next_attempt,
                            const std::string& error) = 0;
  // Permanent failure at `sink`; with a dead-letter sink, a delivery to it is added (same transaction)
  // and the message's dead_letter_reason says why, unless it had one. The dead-letter sink itself
  // failing permanently is Failed, never dead-lettered to itself.
  virtual Status mark_failed(const std::string& sink, const std::string& id, const std::string& error,
                             const std::string& dead_letter_sink) = 0;

  virtual Result<std::vector<MessageRecord>> list(const MessageQuery& query) = 0;
  virtual Result<std::optional<MessageRecord>> show(const std::string& id) = 0;
  virtual Result<std::optional<std::string>> id_for_reference(const std::string& reference) = 0;
  // Replay: deliver matching Delivered messages again (to the sinks they went to, or `sink` alone).
  // Requeue: matching Failed/DeadLettered deliveries become Pending again with attempts reset.
  // Both return the ids affected, oldest first, at most query.limit; replay with a state filter
  // other than Delivered is kUsage.
  virtual Result<std::vector<std::string>> replay(const MessageQuery& query, const std::string& sink) = 0;
  virtual Result<std::vector<std::string>> requeue(const MessageQuery& query) = 0;

  // Idempotency-Key: remembers (key → body hash, status, response) for the retention period.
  // The first answer remembered for a key stays; remember() is group-committed like accept().
  struct Remembered {
    std::string body_sha256;
    unsigned status = 0;
    std::string response;
  };
  virtual Result<std::optional<Remembered>> recall(const std::string& idempotency_key) = 0;
  virtual Status remember(const std::string& idempotency_key, const Remembered& answer) = 0;
  virtual void remember_async(std::string idempotency_key, Remembered answer, std::function<void(Status)> done) = 0;

  // Deletes messages older than the retention whose deliveries are all final; returns how many.
  virtual Result<std::uint64_t> prune(TimePoint now) = 0;
  virtual Result<Stats> stats() = 0;
};

// Opens (creating if needed) the journal at `path`. Runs the schema migration; a file that is not
// a flowguard journal, or one written by a newer flowguard, is refused with a clear message.
Result<std::unique_ptr<Journal>> open_journal(const std::filesystem::path& path, const JournalOptions& options = {});

}  // namespace flowguard::journal
