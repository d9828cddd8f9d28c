#include "metrics.hpp"

#include <prometheus/text_serializer.h>

#include <algorithm>

namespace flowguard::server {

const char* route_name(Route route) noexcept {
  switch (route) {
    case Route::kValidate: return "validate";
    case Route::kCheck: return "check";
    case Route::kMessages: return "messages";
    case Route::kReplay: return "replay";
    case Route::kRequeue: return "requeue";
    case Route::kHealth: return "healthz";
    case Route::kReady: return "readyz";
    case Route::kMetrics: return "metrics";
    case Route::kUi: return "ui";
    default: return "other";
  }
}

Metrics::Metrics() : registry_(std::make_shared<prometheus::Registry>()) {
  using namespace prometheus;
  requests_ = &BuildCounter().Name("flowguard_http_requests_total").Help("HTTP requests answered, by route and status").Register(*registry_);
  latency_ = &BuildHistogram().Name("flowguard_http_request_duration_seconds").Help("Time from a request read whole to its answer, by route").Register(*registry_);
  // 50 µs to 5 s: a sidecar's answers are sub-millisecond, an overloaded one's are not.
  const Histogram::BucketBoundaries buckets{0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5};
  for (int r = 0; r < static_cast<int>(Route::kCount); ++r)
    latency_by_route_[r] = &latency_->Add({{"route", route_name(static_cast<Route>(r))}}, buckets);
  messages_ = &BuildCounter().Name("flowguard_messages_total").Help("Messages checked, by type and verdict").Register(*registry_);
  findings_ = &BuildCounter().Name("flowguard_findings_total").Help("Findings reported, by rule id").Register(*registry_);
  in_flight_ = &BuildGauge().Name("flowguard_requests_in_flight").Help("Requests queued or being checked").Register(*registry_).Add({});
  connections_ = &BuildGauge().Name("flowguard_connections_open").Help("Open client connections").Register(*registry_).Add({});
  rejected_ = &BuildCounter().Name("flowguard_rejected_for_load_total").Help("Requests answered 503 because max_in_flight or max_connections was reached").Register(*registry_).Add({});
  generation_ = &BuildGauge().Name("flowguard_config_generation").Help("The configuration generation serving requests (1 at start, +1 per reload)").Register(*registry_).Add({});
  reload_failures_ = &BuildCounter().Name("flowguard_reload_failures_total").Help("Reloads refused because the new config, registry, plugins or rules did not load").Register(*registry_).Add({});
  window_entries_ = &BuildGauge().Name("flowguard_reference_window_entries").Help("senderUniqueReferences held for duplicate detection").Register(*registry_).Add({});
  window_bytes_ = &BuildGauge().Name("flowguard_reference_window_bytes").Help("Heap held by the duplicate-detection window (estimate)").Register(*registry_).Add({});
  sink_events_ = &BuildCounter().Name("flowguard_sink_events_total").Help("Deliveries by sink and outcome (delivered, duplicate, retry, dead_lettered, failed)").Register(*registry_);
  undelivered_ = &BuildGauge().Name("flowguard_routing_queue_depth").Help("Deliveries journaled and not yet delivered (pending or retrying)").Register(*registry_).Add({});
  oldest_undelivered_ = &BuildGauge().Name("flowguard_routing_oldest_undelivered_seconds").Help("Age of the oldest undelivered message (0 when none)").Register(*registry_).Add({});
  journal_messages_ = &BuildGauge().Name("flowguard_journal_messages").Help("Messages held in the journal").Register(*registry_).Add({});
  journal_dead_lettered_ = &BuildGauge().Name("flowguard_journal_dead_lettered").Help("Messages in the journal that were dead-lettered").Register(*registry_).Add({});
  window_evicted_ = &BuildGauge().Name("flowguard_reference_window_evicted").Help("References evicted before their window ended because max_entries was reached").Register(*registry_).Add({});
}

prometheus::Counter& Metrics::cached(prometheus::Family<prometheus::Counter>& family,
                                     std::map<std::string, prometheus::Counter*, std::less<>>& cache, std::string_view key,
                                     const prometheus::Labels& labels) {
  std::lock_guard lock(mutex_);
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(std::string(key), &family.Add(labels)).first;
  return *it->second;
}

void Metrics::request(Route route, unsigned status, double seconds) {
  const std::string code = std::to_string(status);
  const std::string key = std::string(route_name(route)) + " " + code;
  cached(*requests_, request_cache_, key, {{"route", route_name(route)}, {"status", code}}).Increment();
  latency_by_route_[static_cast<int>(route)]->Observe(seconds);
}

void Metrics::message(std::string_view type, bool passed) {
  std::string key(type);
  key += passed ? " pass" : " fail";
  cached(*messages_, message_cache_, key, {{"type", std::string(type)}, {"verdict", passed ? "pass" : "fail"}}).Increment();
}

void Metrics::finding(std::string_view rule) {
  cached(*findings_, finding_cache_, rule, {{"rule", std::string(rule)}}).Increment();
}

void Metrics::reference_window(std::size_t entries, std::size_t bytes, std::uint64_t evicted) {
  window_entries_->Set(static_cast<double>(entries));
  window_bytes_->Set(static_cast<double>(bytes));
  window_evicted_->Set(static_cast<double>(evicted));
}

std::string Metrics::render() const { return prometheus::TextSerializer().Serialize(registry_->Collect()); }

void Metrics::routing(const std::map<std::string, SinkTotals>& sinks, std::uint64_t undelivered, double oldest_undelivered_seconds,
                      std::uint64_t journal_messages, std::uint64_t journal_dead_lettered) {
  std::lock_guard lock(mutex_);
  for (const auto& entry : sinks) {
    const std::string& sink = entry.first;  // not a structured binding: clang 14 cannot capture one
    const SinkTotals& now = entry.second;
    SinkTotals& seen = sink_seen_[sink];
    auto raise = [&](const char* outcome, std::uint64_t to, std::uint64_t& from) {
      if (to > from) sink_events_->Add({{"sink", sink}, {"outcome", outcome}}).Increment(static_cast<double>(to - from));
      else if (from == 0) sink_events_->Add({{"sink", sink}, {"outcome", outcome}});  // shown at 0 from the start
      from = std::max(from, to);
    };
    raise("delivered", now.delivered, seen.delivered);
    raise("duplicate", now.duplicates, seen.duplicates);
    raise("retry", now.retries, seen.retries);
    raise("dead_lettered", now.dead_lettered, seen.dead_lettered);
    raise("failed", now.failed, seen.failed);
  }
  undelivered_->Set(static_cast<double>(undelivered));
  oldest_undelivered_->Set(oldest_undelivered_seconds);
  journal_messages_->Set(static_cast<double>(journal_messages));
  journal_dead_lettered_->Set(static_cast<double>(journal_dead_lettered));
}

}  // namespace flowguard::server
