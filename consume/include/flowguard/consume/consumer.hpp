// A JetStream durable pull consumer: fetch a batch, hand it to the caller's handler, and settle each
// message as the handler decides (Ack / Nak with a delay / Term), acks confirmed by the server
// before the next fetch. Several Consumer objects (threads or processes) on the same durable share
// its messages work-queue style: the server hands each message to one fetcher at a time, and a
// message not acked within ack_wait (its fetcher died) goes to another.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "flowguard/result.hpp"

namespace flowguard::consume {

struct ConsumerOptions {
  std::vector<std::string> servers{"nats://127.0.0.1:4222"};
  std::filesystem::path credentials;  // .creds file; empty: none
  std::string stream;                 // required
  std::string durable;                // required: the consumer's durable name
  std::string filter_subject;         // empty: every subject of the stream
  // How long the server waits for a settlement before redelivering. While the handler runs, an
  // InProgress is sent every ack_wait/3, so a slow handler does not cause a redelivery.
  std::chrono::milliseconds ack_wait{30000};
  int max_deliver = 5;  // deliveries per message at most; -1: unlimited
  std::size_t fetch_batch = 64;
  // One fetch waits at most this long for messages (and never more than 1 s, so run() sees a stop).
  std::chrono::milliseconds fetch_timeout{1000};
  // A Nak without its own delay waits nak_delay × 2^(delivered_count − 1), at most max_nak_delay.
  std::chrono::milliseconds nak_delay{1000};
  std::chrono::milliseconds max_nak_delay{60000};
  // Missing consumer: create it (explicit acks, the settings above) or fail. An existing consumer
  // is used with its own settings; its ack policy must be explicit.
  bool create_if_missing = true;
};

struct InboundMessage {
  std::string subject;
  std::string data;
  std::string msg_id;  // the Nats-Msg-Id header; empty when absent
  std::uint64_t stream_sequence = 0;
  std::uint64_t delivered_count = 0;  // 1 on the first delivery
};

struct Decision {
  enum class Kind { kAck, kNak, kTerm };
  Kind kind = Kind::kAck;
  std::optional<std::chrono::milliseconds> delay;  // kNak only; unset: the backoff from nak_delay

  static Decision ack() { return {Kind::kAck, {}}; }
  static Decision nak(std::optional<std::chrono::milliseconds> delay = {}) { return {Kind::kNak, delay}; }
  static Decision term() { return {Kind::kTerm, {}}; }  // never redelivered
};

// One decision per message, in order. Fewer decisions than messages: the rest are Nak'd (backoff);
// a handler that throws has the whole batch Nak'd. The handler may block; it runs on run()'s thread.
using Handler = std::function<std::vector<Decision>(std::span<const InboundMessage>)>;

struct ConsumerStats {
  std::uint64_t fetched = 0;
  std::uint64_t acked = 0;  // confirmed by the server
  std::uint64_t naked = 0;
  std::uint64_t termed = 0;
  std::uint64_t in_progress = 0;    // InProgress signals sent for slow handlers
  std::uint64_t settle_errors = 0;  // an ack/nak/term that failed: the server redelivers after ack_wait
  std::uint64_t handler_errors = 0;
};

class Consumer {
 public:
  // Connects, finds (or creates) the durable consumer and binds a pull subscription to it. Fails on
  // an unreachable server, a missing stream, or a missing consumer without create_if_missing.
  static Result<std::unique_ptr<Consumer>> create(const ConsumerOptions& options);
  ~Consumer();
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;

  // Fetches and handles until `stop` is set (returns Ok within about a second of it, once the
  // handler has returned) or the connection is closed for good / the consumer deleted (an Error).
  // Never throws.
  Status run(const Handler& handler, const std::atomic<bool>& stop);

  ConsumerStats stats() const;

  struct Impl;

 private:
  explicit Consumer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace flowguard::consume
