// The sinks flowguard ships, each made from its options. A factory fails (an Error value, never an
// exception) on options that cannot work: an unwritable directory, a URL libcurl rejects, a NATS
// server that cannot be reached at start.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "flowguard/result.hpp"
#include "flowguard/sinks/sink.hpp"

namespace flowguard::sinks {

// JSON lines on standard output (or any stream): one line per message.
Result<std::unique_ptr<Sink>> make_stdout_sink(std::string name, std::ostream& out);

// JSON lines appended to a file, fsync'd before deliver() returns; rotated to
// `<path>.<UTC yyyymmddThhmmssZ>[.n]` when it would pass rotate_bytes or is older than rotate_every.
struct FileOptions {
  std::filesystem::path path;
  std::uint64_t rotate_bytes = 64ull << 20;  // 0: no size rotation
  std::chrono::seconds rotate_every{0};      // 0: no time rotation
  std::size_t max_batch = 500;
};
Result<std::unique_ptr<Sink>> make_file_sink(std::string name, const FileOptions& options);

// A directory a reader polls: each file is written under a temporary name, fsync'd, renamed into
// place and the directory fsync'd, so a reader never sees half a file. One message per file (named
// by the message id), or one batch per file (a JSON array).
struct SpoolOptions {
  std::filesystem::path directory;
  bool batch_per_file = false;
  std::size_t max_batch = 100;  // messages a file with batch_per_file; either way, files a directory fsync
};
Result<std::unique_ptr<Sink>> make_spool_sink(std::string name, const SpoolOptions& options);

struct TlsOptions {
  std::filesystem::path ca_file;       // empty: the system's CAs
  std::filesystem::path client_cert;   // PEM; with client_key, for mTLS
  std::filesystem::path client_key;
  std::string key_password;
  bool verify_peer = true;
};

// POSTs batches as the DIP publishes to a webhook: a JSON array of messages, at most
// max_message_count of them and at most max_payload_kb × 1024 bytes of body (a true upper bound:
// a single message bigger than that is kFailed, never sent). 2xx → delivered; 408, 429, 500, 502,
// 503, 504 and transport errors → kRetry (Retry-After honoured); any other status → kFailed.
struct WebhookOptions {
  std::string url;
  std::size_t max_message_count = 100;
  std::size_t max_payload_kb = 100000;
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds request_timeout{10000};
  std::vector<std::pair<std::string, std::string>> headers;  // e.g. an API key the receiver wants
  TlsOptions tls;
};
Result<std::unique_ptr<Sink>> make_webhook_sink(std::string name, const WebhookOptions& options);

// Publishes each message to a JetStream subject with Nats-Msg-Id = its reference and waits for the
// PubAck; a PubAck flagged duplicate is kDuplicate (counted), a timeout or an unavailable stream kRetry.
struct JetStreamOptions {
  std::vector<std::string> servers{"nats://127.0.0.1:4222"};
  std::string subject;           // may contain {type}: replaced by the message type ("." kept, as NATS tokens)
  std::string stream;            // expected stream (checked at start); empty: whatever holds the subject
  std::filesystem::path credentials;  // .creds file; empty: none
  std::chrono::milliseconds ack_timeout{5000};
  std::size_t max_batch = 256;   // published asynchronously, then every PubAck awaited
};
Result<std::unique_ptr<Sink>> make_jetstream_sink(std::string name, const JetStreamOptions& options);

}  // namespace flowguard::sinks
