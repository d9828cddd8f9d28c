#include "flowguard/routing/router.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <iostream>
#include <mutex>
#include <random>
#include <thread>

#include "flowguard/sinks/sinks.hpp"

namespace flowguard::routing {
namespace {

using journal::Clock;

bool matches_any(const std::vector<std::string>& patterns, const std::string& value) {
  if (patterns.empty()) return true;
  for (const auto& p : patterns) {
    if (!p.empty() && p.back() == '*') {
      if (value.compare(0, p.size() - 1, p, 0, p.size() - 1) == 0) return true;
    } else if (p == value) {
      return true;
    }
  }
  return false;
}

bool matches(const Match& m, const MessageFacts& f) {
  if (m.verdict == Match::Verdict::kValid && !f.valid) return false;
  if (m.verdict == Match::Verdict::kInvalid && f.valid) return false;
  if (m.min_severity && (!f.worst || *f.worst > *m.min_severity)) return false;  // kError < kWarning < kInfo
  return matches_any(m.type, f.type) && matches_any(m.interface_id, f.interface_id) &&
         matches_any(m.event_code, f.event_code) && matches_any(m.sender, f.sender) &&
         matches_any(m.sender_role, f.sender_role) && matches_any(m.recipient, f.recipient) &&
         matches_any(m.recipient_role, f.recipient_role);
}

Result<std::unique_ptr<sinks::Sink>> make_sink(const SinkConfig& c) {
  return std::visit(
      [&](const auto& o) -> Result<std::unique_ptr<sinks::Sink>> {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, StdoutSinkOptions>) return sinks::make_stdout_sink(c.name, std::cout);
        else if constexpr (std::is_same_v<T, sinks::FileOptions>) return sinks::make_file_sink(c.name, o);
        else if constexpr (std::is_same_v<T, sinks::SpoolOptions>) return sinks::make_spool_sink(c.name, o);
        else if constexpr (std::is_same_v<T, sinks::WebhookOptions>) return sinks::make_webhook_sink(c.name, o);
        else return sinks::make_jetstream_sink(c.name, o);
      },
      c.options);
}

}  // namespace

Selection select_sinks(const RoutingConfig& config, const MessageFacts& facts, bool batch_valid) {
  Selection s;
  if (!batch_valid && facts.valid) {
    s.sinks = {config.dead_letter};
    s.dead_letter_reason = "the batch was rejected: another message in it has errors (a DIP batch is all or nothing)";
    return s;
  }
  for (const auto& route : config.routes) {
    if (!matches(route.match, facts)) continue;
    for (const auto& name : route.sinks)
      if (std::find(s.sinks.begin(), s.sinks.end(), name) == s.sinks.end()) s.sinks.push_back(name);
    if (!route.continue_matching) break;
  }
  if (s.sinks.empty()) {
    s.sinks = {config.dead_letter};
    s.dead_letter_reason = facts.valid ? "no route matched the message" : "the message has errors and no route takes invalid messages";
  } else if (!facts.valid && s.sinks != std::vector<std::string>{config.dead_letter}) {
    // A route that takes invalid messages decides where they go; say why in the journal.
    s.dead_letter_reason = "the message has errors";
  }
  return s;
}

std::chrono::milliseconds backoff(const RetryPolicy& policy, std::uint32_t attempt, double jitter01) {
  double ms = static_cast<double>(policy.initial_backoff.count());
  for (std::uint32_t i = 1; i < attempt && ms < static_cast<double>(policy.max_backoff.count()); ++i) ms *= 2;
  ms = std::min(ms, static_cast<double>(policy.max_backoff.count()));
  ms *= 0.5 + jitter01;  // ±50%
  return std::chrono::milliseconds(std::max<long long>(1, static_cast<long long>(ms)));
}

struct Router::Impl {
  RoutingConfig config;
  std::unique_ptr<journal::Journal> journal;
  struct Lane {
    const SinkConfig* config = nullptr;
    std::unique_ptr<sinks::Sink> sink;
    std::thread thread;
    std::mutex mutex;  // deliver_now and the lane's thread share the sink
  };
  std::vector<std::unique_ptr<Lane>> lanes;
  std::mutex mutex;
  std::condition_variable wake;
  std::uint64_t submissions = 0;  // bumped by submit(), under mutex
  bool stopping = false;
  std::thread pruner;
  std::mutex stats_mutex;
  std::map<std::string, SinkCounters> counters;
  std::atomic<std::uint64_t> direct_ids{0};

  void count(const std::string& sink, auto&& change) {
    std::lock_guard lock(stats_mutex);
    change(counters[sink]);
  }

  void run_lane(Lane& lane) {
    std::mt19937_64 rng(std::hash<std::string>{}(lane.config->name) ^ static_cast<std::uint64_t>(Clock::now().time_since_epoch().count()));
    std::uniform_real_distribution<double> jitter(0.0, 1.0);
    const std::string& name = lane.config->name;
    const bool is_dead_letter = name == config.dead_letter;
    std::uint64_t seen = 0;
    while (true) {
      {
        std::unique_lock lock(mutex);
        if (stopping) return;
        seen = submissions;
      }
      auto claimed = journal->claim(name, lane.sink->max_batch(), Clock::now());
      if (!claimed) {
        spdlog::error("routing: sink {}: cannot read the journal: {}", name, claimed.error().message);
      }
      if (!claimed || claimed->empty()) {
        // Nothing due: sleep until a submission, or poll for retries coming due.
        std::unique_lock lock(mutex);
        wake.wait_for(lock, std::chrono::milliseconds(200), [&] { return stopping || submissions != seen; });
        continue;
      }
      std::vector<sinks::Delivery> batch;
      batch.reserve(claimed->size());
      for (auto& c : *claimed)
        batch.push_back({c.id, c.reference.empty() ? c.id : c.reference, c.type, c.body,
                         is_dead_letter ? c.dead_letter_reason : std::string(), is_dead_letter ? c.findings_json : std::string()});
      std::vector<sinks::DeliveryResult> results;
      {
        std::lock_guard lock(lane.mutex);
        results = lane.sink->deliver(batch);
      }
      if (results.size() != batch.size()) {
        // A sink that breaks its contract must not lose messages: everything is retried.
        spdlog::error("routing: sink {} answered {} results for {} messages; retrying them all", name, results.size(), batch.size());
        results.assign(batch.size(), {sinks::Outcome::kRetry, "the sink broke its contract (result count)", std::nullopt});
      }
      std::vector<std::string> done;
      const auto now = Clock::now();
      for (std::size_t i = 0; i < batch.size(); ++i) {
        const auto& r = results[i];
        const auto& c = (*claimed)[i];
        Status marked = Ok{};
        switch (r.outcome) {
          case sinks::Outcome::kDelivered:
          case sinks::Outcome::kDuplicate:
            done.push_back(c.id);
            count(name, [&](SinkCounters& k) { ++(r.outcome == sinks::Outcome::kDelivered ? k.delivered : k.duplicates); });
            break;
          case sinks::Outcome::kRetry: {
            const std::uint32_t attempts = c.attempts + 1;
            if (attempts >= lane.config->retry.max_attempts && !is_dead_letter) {
              marked = journal->mark_failed(name, c.id, "gave up after " + std::to_string(attempts) + " attempts: " + r.detail,
                                            config.dead_letter);
              count(name, [](SinkCounters& k) { ++k.dead_lettered; });
            } else {
              // The dead-letter sink is retried for as long as it takes: it is the last place a message can go.
              auto wait = backoff(lane.config->retry, attempts, jitter(rng));
              if (r.retry_after) wait = std::max(wait, *r.retry_after);
              marked = journal->mark_retry(name, c.id, now + wait, r.detail);
              count(name, [](SinkCounters& k) { ++k.retries; });
            }
            break;
          }
          case sinks::Outcome::kFailed:
            marked = journal->mark_failed(name, c.id, r.detail, is_dead_letter ? std::string() : config.dead_letter);
            count(name, [&](SinkCounters& k) { ++(is_dead_letter ? k.failed : k.dead_lettered); });
            break;
        }
        if (!marked.ok()) spdlog::error("routing: sink {}: cannot journal the outcome of {}: {}", name, c.id, marked.error().message);
      }
      if (!done.empty()) {
        if (auto s = journal->mark_delivered(name, done); !s.ok())
          spdlog::error("routing: sink {}: cannot journal {} deliveries (they will be delivered again): {}", name, done.size(),
                        s.error().message);
      }
      if (std::any_of(results.begin(), results.end(), [](const auto& r) { return r.outcome == sinks::Outcome::kFailed || r.outcome == sinks::Outcome::kRetry; }))
        notify();  // a dead-letter delivery may have been added
    }
  }

  void notify() {
    {
      std::lock_guard lock(mutex);
      ++submissions;
    }
    wake.notify_all();
  }

  void run_pruner() {
    std::unique_lock lock(mutex);
    while (!stopping) {
      if (wake.wait_for(lock, config.prune_interval, [&] { return stopping; })) return;
      lock.unlock();
      if (auto n = journal->prune(Clock::now()); !n) spdlog::error("routing: journal prune failed: {}", n.error().message);
      else if (*n) spdlog::info("routing: pruned {} messages past the retention", *n);
      lock.lock();
    }
  }

  Lane* lane(const std::string& name) {
    for (auto& l : lanes)
      if (l->config->name == name) return l.get();
    return nullptr;
  }
};

Router::Router() : impl_(std::make_unique<Impl>()) {}

Router::~Router() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  for (auto& l : impl_->lanes)
    if (l->thread.joinable()) l->thread.join();
  if (impl_->pruner.joinable()) impl_->pruner.join();
}

Result<std::unique_ptr<Router>> Router::start(const RoutingConfig& config) {
  std::vector<std::unique_ptr<sinks::Sink>> made;
  for (const auto& c : config.sinks) {
    auto sink = make_sink(c);
    if (!sink) return make_error(sink.error().code, "sink " + c.name + " (" + kind_of(c) + "): " + sink.error().message);
    made.push_back(std::move(*sink));
  }
  return start(config, std::move(made));
}

Result<std::unique_ptr<Router>> Router::start(const RoutingConfig& config, std::vector<std::unique_ptr<sinks::Sink>> made) {
  std::unique_ptr<Router> router(new Router());
  Impl& r = *router->impl_;
  r.config = config;
  auto journal = journal::open_journal(config.journal_path, config.journal);
  if (!journal) return make_error(journal.error().code, "journal " + config.journal_path.string() + ": " + journal.error().message);
  r.journal = std::move(*journal);
  for (const auto& c : r.config.sinks) {
    auto it = std::find_if(made.begin(), made.end(), [&](const auto& s) { return s && s->name() == c.name; });
    if (it == made.end()) return make_error(ErrorCode::kUsage, "sink " + c.name + " was configured but not created");
    auto lane = std::make_unique<Impl::Lane>();
    lane->config = &c;
    lane->sink = std::move(*it);
    r.lanes.push_back(std::move(lane));
  }
  for (auto& l : r.lanes) l->thread = std::thread([&r, lane = l.get()] { r.run_lane(*lane); });
  r.pruner = std::thread([&r] { r.run_pruner(); });
  return router;
}

namespace {

std::vector<journal::NewMessage> to_journal(const RoutingConfig& config, const std::vector<Incoming>& messages,
                                            bool batch_valid) {
  std::vector<journal::NewMessage> batch;
  batch.reserve(messages.size());
  for (const auto& m : messages) {
    const Selection s = select_sinks(config, m.facts, batch_valid);
    journal::NewMessage n;
    n.reference = m.facts.reference;
    n.type = m.facts.type;
    n.interface_id = m.facts.interface_id;
    n.event_code = m.facts.event_code;
    n.mpan = m.facts.mpan;
    n.sender = m.facts.sender;
    n.recipient = m.facts.recipient;
    n.valid = m.facts.valid && batch_valid;
    n.body = m.body;
    n.findings_json = m.findings_json.empty() ? "[]" : m.findings_json;
    n.sinks = s.sinks;
    n.dead_letter_reason = s.dead_letter_reason;
    n.received_at = m.received_at;
    n.validated_at = m.validated_at;
    batch.push_back(std::move(n));
  }
  return batch;
}

}  // namespace

Result<Submitted> Router::submit(const std::vector<Incoming>& messages, bool batch_valid) {
  auto accepted = impl_->journal->accept(to_journal(impl_->config, messages, batch_valid));
  if (!accepted) return std::move(accepted).error();
  if (!accepted->duplicates.empty()) return Submitted{{}, accepted->duplicates};
  impl_->notify();
  return Submitted{std::move(accepted->ids), {}};
}

void Router::submit_async(const std::vector<Incoming>& messages, bool batch_valid,
                          std::function<void(Result<Submitted>)> done) {
  impl_->journal->accept_async(to_journal(impl_->config, messages, batch_valid),
                               [impl = impl_.get(), done = std::move(done)](Result<journal::AcceptOutcome> accepted) {
                                 if (!accepted) return done(std::move(accepted).error());
                                 if (!accepted->duplicates.empty()) return done(Submitted{{}, accepted->duplicates});
                                 impl->notify();
                                 done(Submitted{std::move(accepted->ids), {}});
                               });
}

std::vector<sinks::DeliveryResult> Router::deliver_now(const std::vector<Incoming>& messages, bool batch_valid) {
  std::vector<sinks::DeliveryResult> out(messages.size(), {sinks::Outcome::kDelivered, "", std::nullopt});
  std::vector<Selection> selections;
  std::map<std::string, std::vector<std::size_t>> per_sink;  // the indexes of the messages each sink takes
  for (std::size_t i = 0; i < messages.size(); ++i) {
    selections.push_back(select_sinks(impl_->config, messages[i].facts, batch_valid));
    for (const auto& s : selections.back().sinks) per_sink[s].push_back(i);
  }
  auto deliver = [&](const std::string& name, const std::vector<std::size_t>& indexes) {
    Impl::Lane* lane = impl_->lane(name);
    if (!lane) return;
    const bool is_dead_letter = name == impl_->config.dead_letter;
    for (std::size_t from = 0; from < indexes.size(); from += lane->sink->max_batch()) {
      std::vector<sinks::Delivery> batch;
      const std::size_t to = std::min(indexes.size(), from + lane->sink->max_batch());
      for (std::size_t k = from; k < to; ++k) {
        const Incoming& m = messages[indexes[k]];
        const std::string id = m.facts.reference.empty() ? "T-FG-direct-" + std::to_string(++impl_->direct_ids) : "T-" + m.facts.reference;
        batch.push_back({id, m.facts.reference.empty() ? id : m.facts.reference, m.facts.type, m.body,
                         is_dead_letter ? selections[indexes[k]].dead_letter_reason : std::string(),
                         is_dead_letter ? m.findings_json : std::string()});
      }
      std::vector<sinks::DeliveryResult> results;
      {
        std::lock_guard lock(lane->mutex);
        results = lane->sink->deliver(batch);
      }
      results.resize(batch.size(), {sinks::Outcome::kRetry, "the sink broke its contract (result count)", std::nullopt});
      for (std::size_t k = from; k < to; ++k) {
        const auto& r = results[k - from];
        auto& o = out[indexes[k]];
        if (r.outcome == sinks::Outcome::kDelivered || r.outcome == sinks::Outcome::kDuplicate) {
          impl_->count(name, [&](SinkCounters& c) { ++(r.outcome == sinks::Outcome::kDelivered ? c.delivered : c.duplicates); });
          continue;
        }
        // The worst outcome wins: a retry anywhere means the message is handled again.
        if (r.outcome == sinks::Outcome::kRetry || o.outcome != sinks::Outcome::kRetry) {
          o.outcome = r.outcome;
          o.detail = name + ": " + r.detail;
          if (r.retry_after) o.retry_after = r.retry_after;
        }
        impl_->count(name, [&](SinkCounters& c) { ++(r.outcome == sinks::Outcome::kRetry ? c.retries : c.failed); });
      }
    }
  };
  for (const auto& [name, indexes] : per_sink) deliver(name, indexes);
  // A permanent failure at a sink dead-letters the message there and then (with the reason), so the
  // caller can settle it; only a failure of the dead-letter sink itself is left as kFailed/kRetry.
  std::vector<std::size_t> failed;
  for (std::size_t i = 0; i < out.size(); ++i)
    if (out[i].outcome == sinks::Outcome::kFailed &&
        std::find(selections[i].sinks.begin(), selections[i].sinks.end(), impl_->config.dead_letter) == selections[i].sinks.end()) {
      selections[i].dead_letter_reason = "delivery failed permanently: " + out[i].detail;
      out[i] = {sinks::Outcome::kDelivered, "", std::nullopt};
      failed.push_back(i);
    }
  if (!failed.empty()) {
    deliver(impl_->config.dead_letter, failed);
    for (std::size_t i : failed)
      if (out[i].outcome == sinks::Outcome::kDelivered) out[i].detail = "dead-lettered: " + selections[i].dead_letter_reason;
  }
  return out;
}

bool Router::wait_idle(std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto s = impl_->journal->stats();
    if (s && s->undelivered == 0) return true;
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

journal::Journal& Router::journal() { return *impl_->journal; }
const RoutingConfig& Router::config() const { return impl_->config; }

RouterStats Router::stats() {
  RouterStats s;
  {
    std::lock_guard lock(impl_->stats_mutex);
    s.sinks = impl_->counters;
  }
  for (const auto& c : impl_->config.sinks) s.sinks[c.name];  // every sink, even idle ones
  if (auto j = impl_->journal->stats()) s.journal = *j;
  return s;
}

}  // namespace flowguard::routing
