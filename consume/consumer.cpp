#include "flowguard/consume/consumer.hpp"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "flowguard/sinks/nats_connection.hpp"

namespace flowguard::consume {
namespace {

using sinks::nats_error_text;
using std::chrono::milliseconds;

constexpr milliseconds kLongestFetch{1000};  // so run() looks at `stop` at least once a second
constexpr std::int64_t kNanosPerMilli = 1000000;

// Owns a fetched batch (natsMsgList_Destroy destroys its messages).
struct FetchedBatch {
  natsMsgList list{};
  ~FetchedBatch() { natsMsgList_Destroy(&list); }
};

}  // namespace

struct Consumer::Impl {
  ConsumerOptions options;
  std::unique_ptr<sinks::NatsConnection> connection;
  sinks::JsContext js;
  natsSubscription* sub = nullptr;

  // The batch the handler is working on, for the InProgress keeper thread.
  std::mutex mutex;
  std::condition_variable wake;
  natsMsg** busy = nullptr;
  int busy_count = 0;
  bool keeper_stop = false;

  std::atomic<std::uint64_t> fetched{0}, acked{0}, naked{0}, termed{0}, in_progress{0}, settle_errors{0},
      handler_errors{0};

  ~Impl() {
    if (sub != nullptr) {
      // Unsubscribe would delete an ephemeral consumer; a bound durable stays. Destroy frees ours.
      natsSubscription_Destroy(sub);
    }
    js.reset();
    connection.reset();
  }

  milliseconds backoff(std::uint64_t delivered) const {
    const auto shift = std::min<std::uint64_t>(delivered == 0 ? 0 : delivered - 1, 20);
    const auto delay = options.nak_delay * (std::int64_t{1} << shift);
    return std::min<milliseconds>(delay, options.max_nak_delay);
  }

  // Sends InProgress for the busy batch every ack_wait/3 until the handler returns.
  void keep_alive() {
    const auto interval = std::max<milliseconds>(options.ack_wait / 3, milliseconds(50));
    std::unique_lock lock(mutex);
    while (!keeper_stop) {
      if (busy == nullptr) {
        wake.wait(lock, [&] { return keeper_stop || busy != nullptr; });
        continue;
      }
      natsMsg** batch = busy;
      if (wake.wait_for(lock, interval, [&] { return keeper_stop || busy != batch; })) continue;
      // Still the same batch after an interval: tell the server it is being worked on. Under the
      // lock, so no InProgress is sent once run() has taken the batch back to settle it.
      for (int i = 0; i < busy_count; ++i) {
        if (natsMsg_InProgress(batch[i], nullptr) == NATS_OK) ++in_progress;
      }
    }
  }

  std::vector<Decision> call_handler(const Handler& handler, std::span<const InboundMessage> inbound,
                                     natsMsgList& list) {
    {
      std::lock_guard lock(mutex);
      busy = list.Msgs;
      busy_count = list.Count;
    }
    wake.notify_all();
    std::vector<Decision> decisions;
    try {
      decisions = handler(inbound);
    } catch (...) {
      ++handler_errors;
      decisions.clear();
    }
    {
      std::lock_guard lock(mutex);
      busy = nullptr;
      busy_count = 0;
    }
    wake.notify_all();
    return decisions;
  }

  void settle(natsMsg* msg, const Decision& decision, const InboundMessage& in) {
    jsOptions jo;
    jsOptions_Init(&jo);
    // A Wait makes libnats send Nak and Term as requests too, so the server has them before the next fetch.
    jo.Wait = 5000;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    natsStatus s = NATS_OK;
    switch (decision.kind) {
      case Decision::Kind::kAck:
        s = natsMsg_AckSync(msg, &jo, &jerr);
        if (s == NATS_OK) ++acked;
        break;
      case Decision::Kind::kNak: {
        const milliseconds delay = decision.delay.value_or(backoff(in.delivered_count));
        s = delay.count() > 0 ? natsMsg_NakWithDelay(msg, delay.count(), &jo) : natsMsg_Nak(msg, &jo);
        if (s == NATS_OK) ++naked;
        break;
      }
      case Decision::Kind::kTerm:
        s = natsMsg_Term(msg, &jo);
        if (s == NATS_OK) ++termed;
        break;
    }
    // A failed settlement is not fatal: the server redelivers the message after ack_wait.
    if (s != NATS_OK) ++settle_errors;
  }

  Status run(const Handler& handler, const std::atomic<bool>& stop) {
    {
      std::lock_guard lock(mutex);
      keeper_stop = false;
    }
    std::thread keeper([this] { keep_alive(); });
    // Caught here, not only in Consumer::run: the keeper must be joined whatever happens.
    Status result = Ok{};
    try {
      result = loop(handler, stop);
    } catch (const std::exception& e) {
      result = make_error(ErrorCode::kInternal, std::string("The JetStream consumer failed: ") + e.what() + ".");
    } catch (...) {
      result = make_error(ErrorCode::kInternal, "The JetStream consumer failed with an unknown exception.");
    }
    {
      std::lock_guard lock(mutex);
      keeper_stop = true;
    }
    wake.notify_all();
    keeper.join();
    return result;
  }

  Status loop(const Handler& handler, const std::atomic<bool>& stop) {
    const int batch_size = static_cast<int>(std::clamp<std::size_t>(options.fetch_batch, 1, 100000));
    const auto fetch_wait = std::clamp(options.fetch_timeout, milliseconds(10), kLongestFetch);
    while (!stop.load()) {
      FetchedBatch batch;
      jsErrCode jerr = static_cast<jsErrCode>(0);
      const natsStatus s = natsSubscription_Fetch(&batch.list, sub, batch_size, fetch_wait.count(), &jerr);
      if (s == NATS_TIMEOUT) continue;  // nothing to do right now
      if (s != NATS_OK) {
        if (s == NATS_CONNECTION_CLOSED || s == NATS_INVALID_SUBSCRIPTION)
          return make_error(ErrorCode::kIo,
                            nats_error_text(s, "Consumer \"" + options.durable + "\": fetching failed") +
                                "; the NATS connection is closed.");
        if (jerr == JSConsumerNotFoundErr || jerr == JSStreamNotFoundErr)
          return make_error(ErrorCode::kIo, nats_error_text(s, "Consumer \"" + options.durable + "\" on stream \"" +
                                                                   options.stream + "\" is gone") +
                                                ".");
        // Disconnected, reconnecting, a leader election: wait a little and fetch again.
        for (int i = 0; i < 4 && !stop.load(); ++i) std::this_thread::sleep_for(milliseconds(50));
        continue;
      }
      if (batch.list.Count == 0) continue;
      fetched += static_cast<std::uint64_t>(batch.list.Count);
      std::vector<InboundMessage> inbound(static_cast<std::size_t>(batch.list.Count));
      for (int i = 0; i < batch.list.Count; ++i) {
        natsMsg* msg = batch.list.Msgs[i];
        InboundMessage& in = inbound[static_cast<std::size_t>(i)];
        in.subject = natsMsg_GetSubject(msg);
        in.data.assign(natsMsg_GetData(msg), static_cast<std::size_t>(natsMsg_GetDataLength(msg)));
        const char* id = nullptr;
        if (natsMsgHeader_Get(msg, "Nats-Msg-Id", &id) == NATS_OK && id != nullptr) in.msg_id = id;
        jsMsgMetaData* meta = nullptr;
        if (natsMsg_GetMetaData(&meta, msg) == NATS_OK) {
          in.stream_sequence = meta->Sequence.Stream;
          in.delivered_count = meta->NumDelivered;
          jsMsgMetaData_Destroy(meta);
        }
      }
      const std::vector<Decision> decisions = call_handler(handler, inbound, batch.list);
      for (std::size_t i = 0; i < inbound.size(); ++i) {
        const Decision d = i < decisions.size() ? decisions[i] : Decision::nak();
        settle(batch.list.Msgs[i], d, inbound[i]);
      }
    }
    return Ok{};
  }
};

Consumer::Consumer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Consumer::~Consumer() = default;

Result<std::unique_ptr<Consumer>> Consumer::create(const ConsumerOptions& options) {
  try {
    const std::string who = "Consumer \"" + options.durable + "\"";
    if (options.stream.empty())
      return make_error(ErrorCode::kUsage, who + ": no stream given; expected the JetStream stream to read.");
    if (options.durable.empty())
      return make_error(ErrorCode::kUsage, "Consumer: no durable name given; expected a name the instances share.");
    if (options.ack_wait.count() <= 0) return make_error(ErrorCode::kUsage, who + ": ack_wait must be positive.");
    auto impl = std::make_unique<Impl>();
    impl->options = options;
    sinks::NatsConnectOptions connect;
    connect.servers = options.servers;
    connect.credentials = options.credentials;
    connect.name = "flowguard consumer " + options.durable;
    auto connection = sinks::NatsConnection::connect(connect);
    if (!connection) {
      Error e = std::move(connection).error();
      e.message = who + ": " + e.message;
      return e;
    }
    impl->connection = std::move(connection).value();

    jsCtx* js = nullptr;
    natsStatus s = natsConnection_JetStream(&js, impl->connection->get(), nullptr);
    if (s != NATS_OK)
      return make_error(ErrorCode::kIo, nats_error_text(s, who + ": cannot open a JetStream context") + ".");
    impl->js.reset(js);

    jsConsumerInfo* info = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    s = js_GetConsumerInfo(&info, js, options.stream.c_str(), options.durable.c_str(), nullptr, &jerr);
    if (s == NATS_OK) {
      const bool explicit_acks = info->Config != nullptr && info->Config->AckPolicy == js_AckExplicit;
      jsConsumerInfo_Destroy(info);
      if (!explicit_acks)
        return make_error(ErrorCode::kUsage, who + " on stream \"" + options.stream +
                                                 "\" exists without explicit acks; expected AckPolicy explicit.");
    } else if (jerr == JSStreamNotFoundErr) {
      return make_error(ErrorCode::kUsage, who + ": the JetStream stream \"" + options.stream + "\" does not exist.");
    } else if (s == NATS_NOT_FOUND || jerr == JSConsumerNotFoundErr) {
      if (!options.create_if_missing)
        return make_error(ErrorCode::kUsage, who + " does not exist on stream \"" + options.stream +
                                                 "\"; expected it to be created beforehand (or create_if_missing).");
      jsConsumerConfig cfg;
      jsConsumerConfig_Init(&cfg);
      cfg.Durable = options.durable.c_str();
      cfg.AckPolicy = js_AckExplicit;
      cfg.AckWait = options.ack_wait.count() * kNanosPerMilli;
      cfg.MaxDeliver = options.max_deliver <= 0 ? -1 : options.max_deliver;
      cfg.DeliverPolicy = js_DeliverAll;
      if (!options.filter_subject.empty()) cfg.FilterSubject = options.filter_subject.c_str();
      s = js_AddConsumer(&info, js, options.stream.c_str(), &cfg, nullptr, &jerr);
      jsConsumerInfo_Destroy(info);
      // Another instance may have created it meanwhile with the same settings: that is success.
      if (s != NATS_OK && jerr != JSConsumerNameExistErr && jerr != JSConsumerExistingActiveErr)
        return make_error(ErrorCode::kIo,
                          nats_error_text(s, who + ": creating it on stream \"" + options.stream + "\" failed") + ".");
    } else {
      return make_error(ErrorCode::kIo,
                        nats_error_text(s, who + ": looking it up on stream \"" + options.stream + "\" failed") + ".");
    }

    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = options.stream.c_str();
    so.Consumer = options.durable.c_str();
    so.ManualAck = true;
    s = js_PullSubscribe(&impl->sub, js, options.filter_subject.empty() ? nullptr : options.filter_subject.c_str(),
                         options.durable.c_str(), nullptr, &so, &jerr);
    if (s != NATS_OK)
      return make_error(ErrorCode::kIo, nats_error_text(s, who + ": binding a pull subscription failed") + ".");
    return std::unique_ptr<Consumer>(new Consumer(std::move(impl)));
  } catch (const std::exception& e) {
    return make_error(ErrorCode::kInternal, std::string("Creating the JetStream consumer failed: ") + e.what() + ".");
  }
}

Status Consumer::run(const Handler& handler, const std::atomic<bool>& stop) {
  try {
    return impl_->run(handler, stop);
  } catch (const std::exception& e) {
    return make_error(ErrorCode::kInternal, std::string("The JetStream consumer failed: ") + e.what() + ".");
  } catch (...) {
    return make_error(ErrorCode::kInternal, "The JetStream consumer failed with an unknown exception.");
  }
}

ConsumerStats Consumer::stats() const {
  const Impl& i = *impl_;
  return {i.fetched.load(),     i.acked.load(),         i.naked.load(),         i.termed.load(),
          i.in_progress.load(), i.settle_errors.load(), i.handler_errors.load()};
}

}  // namespace flowguard::consume
