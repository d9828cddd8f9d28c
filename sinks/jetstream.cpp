// The JetStream sink: a batch is published asynchronously (one PUB per message, Nats-Msg-Id = its
// reference), then every PubAck is awaited within ack_timeout. libnats calls the context's
// AckHandler once per message (a PubAck, a server error, or its own MaxWait timeout) on its
// subscription thread; the handler files the outcome under the message's index in the batch.
#include "flowguard/sinks/jetstream.hpp"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>

#include "flowguard/sinks/nats_connection.hpp"
#include "flowguard/sinks/sinks.hpp"

namespace flowguard::sinks {
namespace {

constexpr std::string_view kTypeToken = "{type}";

// Every token non-empty, no whitespace, no wildcard: a publish subject the server accepts.
bool valid_subject(std::string_view subject) {
  if (subject.empty() || subject.front() == '.' || subject.back() == '.') return false;
  char previous = 0;
  for (const char c : subject) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '*' || c == '>') return false;
    if (c == '.' && previous == '.') return false;
    previous = c;
  }
  return true;
}

std::string render_subject(const std::string& pattern, const std::string& type) {
  std::string out;
  std::size_t from = 0;
  for (;;) {
    const std::size_t at = pattern.find(kTypeToken, from);
    if (at == std::string::npos) break;
    out.append(pattern, from, at - from);
    out += type;
    from = at + kTypeToken.size();
  }
  out.append(pattern, from);
  return out;
}

// The NATS header block the message will carry: "NATS/1.0\r\n", "Key: value\r\n" each, "\r\n".
std::size_t header_bytes(const Delivery& d, const std::string& msg_id) {
  auto line = [](std::string_view key, std::string_view value) { return key.size() + 2 + value.size() + 2; };
  return 10 + line("Nats-Msg-Id", msg_id) + line("Flowguard-Type", d.type) + line("Flowguard-Id", d.id) + 2;
}

class JetStreamSink final : public Sink, public JetStreamCounters {
 public:
  JetStreamSink(std::string name, JetStreamOptions options, std::unique_ptr<NatsConnection> connection)
      : name_(std::move(name)), options_(std::move(options)), connection_(std::move(connection)) {}

  ~JetStreamSink() override {
    // The context goes first: no AckHandler runs once it and the connection are closed.
    js_.reset();
    connection_.reset();
  }

  Status open() {
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = options_.ack_timeout.count();
    jo.PublishAsync.AckHandler = &JetStreamSink::on_ack;
    jo.PublishAsync.AckHandlerClosure = this;
    jsCtx* js = nullptr;
    natsStatus s = natsConnection_JetStream(&js, connection_->get(), &jo);
    if (s != NATS_OK)
      return make_error(ErrorCode::kIo,
                        nats_error_text(s, "Sink \"" + name_ + "\": cannot open a JetStream context") + ".");
    js_.reset(js);
    if (options_.stream.empty()) return Ok{};
    jsStreamInfo* info = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    s = js_GetStreamInfo(&info, js, options_.stream.c_str(), nullptr, &jerr);
    jsStreamInfo_Destroy(info);
    if (s == NATS_OK) return Ok{};
    if (s == NATS_NOT_FOUND || jerr == JSStreamNotFoundErr)
      return make_error(ErrorCode::kUsage, "Sink \"" + name_ + "\": the JetStream stream \"" + options_.stream +
                                               "\" does not exist on the NATS server; expected a stream that "
                                               "captures the subject \"" +
                                               options_.subject + "\" (create it, or leave `stream` empty).");
    if (jerr == JSNotEnabledErr || s == NATS_NO_RESPONDERS)
      return make_error(ErrorCode::kUsage, "Sink \"" + name_ +
                                               "\": the NATS server does not answer JetStream "
                                               "requests; expected a server started with JetStream enabled (-js).");
    return make_error(ErrorCode::kIo, nats_error_text(s, "Sink \"" + name_ + "\": looking up the JetStream stream \"" +
                                                             options_.stream + "\" failed") +
                                          ".");
  }

  const std::string& name() const override { return name_; }
  std::string_view kind() const override { return "jetstream"; }
  std::size_t max_batch() const override { return options_.max_batch == 0 ? 1 : options_.max_batch; }

  std::vector<DeliveryResult> deliver(std::span<const Delivery> batch) override {
    std::vector<DeliveryResult> results(batch.size());
    if (batch.empty()) return results;
    try {
      publish_and_wait(batch, results);
    } catch (...) {
      // Out of memory or the like: nothing is known to be stored, so the router tries again.
      for (auto& r : results)
        if (r.detail.empty()) r = {Outcome::kRetry, "the JetStream sink failed internally while publishing", {}};
      abandon_pending();
    }
    for (const auto& r : results) {
      switch (r.outcome) {
        case Outcome::kDelivered: ++delivered_; break;
        case Outcome::kDuplicate: ++duplicates_; break;
        case Outcome::kRetry: ++retries_; break;
        case Outcome::kFailed: ++failed_; break;
      }
    }
    return results;
  }

  JetStreamStats stats() const override {
    return {published_.load(), delivered_.load(), duplicates_.load(), retries_.load(), failed_.load()};
  }

 private:
  void publish_and_wait(std::span<const Delivery> batch, std::vector<DeliveryResult>& results) {
    const std::string waited = std::to_string(options_.ack_timeout.count()) + " ms";
    for (auto& r : results) r = {Outcome::kRetry, "no PubAck from JetStream within " + waited, {}};
    {
      std::lock_guard lock(mutex_);
      results_ = &results;
    }
    const std::int64_t max_payload = connection_->max_payload();
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const Delivery& d = batch[i];
      const std::string& msg_id = d.reference.empty() ? d.id : d.reference;
      const std::string subject = render_subject(options_.subject, d.type);
      if (!valid_subject(subject)) {
        results[i] = {Outcome::kFailed,
                      "the subject \"" + subject + "\" (from \"" + options_.subject + "\" and type \"" + d.type +
                          "\") is not a valid NATS publish subject",
                      {}};
        continue;
      }
      const std::size_t size = d.body.size() + header_bytes(d, msg_id);
      if (max_payload > 0 && size > static_cast<std::size_t>(max_payload)) {
        results[i] = {Outcome::kFailed,
                      "the message is " + std::to_string(size) +
                          " bytes with its headers, over the NATS "
                          "server's max_payload of " +
                          std::to_string(max_payload) + " bytes",
                      {}};
        continue;
      }
      natsMsg* msg = nullptr;
      natsStatus s = natsMsg_Create(&msg, subject.c_str(), nullptr, d.body.data(), static_cast<int>(d.body.size()));
      if (s == NATS_OK) s = natsMsgHeader_Set(msg, "Flowguard-Type", d.type.c_str());
      if (s == NATS_OK) s = natsMsgHeader_Set(msg, "Flowguard-Id", d.id.c_str());
      if (s != NATS_OK) {
        results[i] = {Outcome::kRetry, nats_error_text(s, "building the NATS message failed"), {}};
        natsMsg_Destroy(msg);
        continue;
      }
      jsPubOptions po;
      jsPubOptions_Init(&po);
      po.MsgId = msg_id.c_str();
      po.MaxWait = options_.ack_timeout.count();  // libnats reports a missing PubAck as NATS_TIMEOUT
      if (!options_.stream.empty()) po.ExpectStream = options_.stream.c_str();
      natsMsg* const key = msg;
      {
        // Registered before the publish: the PubAck may arrive before js_PublishMsgAsync returns.
        std::lock_guard lock(mutex_);
        inflight_[key] = i;
      }
      ++published_;
      s = js_PublishMsgAsync(js_.get(), &msg, &po);
      if (s != NATS_OK) {
        // msg is still ours (libnats clears it when it takes the message).
        {
          std::lock_guard lock(mutex_);
          inflight_.erase(key);
        }
        natsMsg_Destroy(msg);
        const bool too_big = s == NATS_MAX_PAYLOAD;
        results[i] = {too_big ? Outcome::kFailed : Outcome::kRetry,
                      nats_error_text(s, "publishing to \"" + subject + "\" failed"),
                      {}};
      }
    }
    jsPubOptions wait;
    jsPubOptions_Init(&wait);
    // Each message times out on its own after ack_timeout; the slack covers the last one's timer.
    wait.MaxWait = options_.ack_timeout.count() + 500;
    js_PublishAsyncComplete(js_.get(), &wait);
    abandon_pending();
  }

  // Whatever libnats still waits on is given up (its result stays "no PubAck"); a late PubAck for
  // it finds no batch to file into. Re-publishing it is safe: the stream de-duplicates on Nats-Msg-Id.
  void abandon_pending() {
    bool waiting = false;
    {
      std::lock_guard lock(mutex_);
      waiting = !inflight_.empty();
    }
    // Only when something is pending: libnats 3.4.1 crashes in GetPendingList on a context that
    // never published asynchronously.
    natsMsgList pending{};
    if (waiting && js_PublishAsyncGetPendingList(&pending, js_.get()) == NATS_OK) natsMsgList_Destroy(&pending);
    std::lock_guard lock(mutex_);
    inflight_.clear();
    results_ = nullptr;
  }

  static void on_ack(jsCtx*, natsMsg* msg, jsPubAck* ack, jsPubAckErr* err, void* closure) {
    auto* self = static_cast<JetStreamSink*>(closure);
    {
      std::lock_guard lock(self->mutex_);
      // Erased before natsMsg_Destroy below, so a new message at the same address is never confused with it.
      const auto it = self->inflight_.find(msg);
      if (it != self->inflight_.end() && self->results_ != nullptr) {
        (*self->results_)[it->second] = classify(ack, err, self->options_);
        self->inflight_.erase(it);
      }
    }
    natsMsg_Destroy(msg);  // with an AckHandler the message is ours to destroy
  }

  static DeliveryResult classify(const jsPubAck* ack, const jsPubAckErr* err, const JetStreamOptions& options) {
    if (ack != nullptr) {
      const std::string where =
          std::string("stream ") + (ack->Stream ? ack->Stream : "?") + " sequence " + std::to_string(ack->Sequence);
      if (ack->Duplicate) return {Outcome::kDuplicate, "already in " + where, {}};
      return {Outcome::kDelivered, where, {}};
    }
    if (err == nullptr) return {Outcome::kRetry, "JetStream gave neither a PubAck nor an error", {}};
    const std::string text = err->ErrText != nullptr && *err->ErrText ? err->ErrText : natsStatus_GetText(err->Err);
    if (err->Err == NATS_TIMEOUT)
      return {Outcome::kRetry,
              "no PubAck from JetStream within " + std::to_string(options.ack_timeout.count()) + " ms",
              {}};
    if (err->Err == NATS_NO_RESPONDERS)
      return {Outcome::kRetry,
              "no JetStream stream answered (no responders): no stream captures the subject, or it has no leader yet",
              {}};
    if (err->ErrCode == JSStreamMessageExceedsMaximumErr)
      return {Outcome::kFailed, "the stream refused the message as too large: " + text, {}};
    return {Outcome::kRetry,
            "JetStream refused the message: " + text + " (error code " + std::to_string(err->ErrCode) + ")",
            {}};
  }

  std::string name_;
  JetStreamOptions options_;
  std::unique_ptr<NatsConnection> connection_;
  JsContext js_;

  std::mutex mutex_;  // guards inflight_ and results_, shared with on_ack
  std::unordered_map<natsMsg*, std::size_t> inflight_;
  std::vector<DeliveryResult>* results_ = nullptr;

  std::atomic<std::uint64_t> published_{0}, delivered_{0}, duplicates_{0}, retries_{0}, failed_{0};
};

}  // namespace

Result<std::unique_ptr<Sink>> make_jetstream_sink(std::string name, const JetStreamOptions& options) {
  try {
    if (options.subject.empty())
      return make_error(ErrorCode::kUsage, "Sink \"" + name +
                                               "\": no subject given; expected a NATS subject such as "
                                               "\"flowguard.{type}\".");
    if (!valid_subject(render_subject(options.subject, "t")))
      return make_error(ErrorCode::kUsage, "Sink \"" + name + "\": the subject \"" + options.subject +
                                               "\" is not a valid NATS publish subject; expected dot-separated tokens "
                                               "without spaces or wildcards.");
    if (options.ack_timeout.count() <= 0)
      return make_error(ErrorCode::kUsage, "Sink \"" + name + "\": ack_timeout must be positive.");
    NatsConnectOptions connect;
    connect.servers = options.servers;
    connect.credentials = options.credentials;
    connect.name = "flowguard sink " + name;
    auto connection = NatsConnection::connect(connect);
    if (!connection) {
      Error e = std::move(connection).error();
      e.message = "Sink \"" + name + "\": " + e.message;
      return e;
    }
    auto sink = std::make_unique<JetStreamSink>(std::move(name), options, std::move(connection).value());
    if (auto opened = sink->open(); !opened) return std::move(opened).error();
    return std::unique_ptr<Sink>(std::move(sink));
  } catch (const std::exception& e) {
    return make_error(ErrorCode::kInternal, std::string("Creating the JetStream sink failed: ") + e.what() + ".");
  }
}

}  // namespace flowguard::sinks
