// The server's Prometheus metrics (prometheus-cpp's model and text serializer). Label sets are
// bounded by construction: routes and statuses are a fixed set, types and rule ids come from the
// loaded catalogue and rule files, never from request content (no MPANs, ids or paths).
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace flowguard::server {

enum class Route { kValidate, kCheck, kMessages, kReplay, kRequeue, kHealth, kReady, kMetrics, kUi, kOther, kCount };
const char* route_name(Route route) noexcept;

class Metrics {
 public:
  Metrics();

  void request(Route route, unsigned status, double seconds);
  void message(std::string_view type, bool passed);
  void finding(std::string_view rule);
  prometheus::Gauge& in_flight() { return *in_flight_; }
  prometheus::Gauge& connections() { return *connections_; }
  void rejected_for_load() { rejected_->Increment(); }
  void generation(std::uint64_t id) { generation_->Set(static_cast<double>(id)); }
  void reload_failed() { reload_failures_->Increment(); }
  void reference_window(std::size_t entries, std::size_t bytes, std::uint64_t evicted);
  // The router's state at scrape time: per-sink totals since start (exposed as counters) and the
  // journal's backlog. Sink names come from the routes file, never from requests.
  struct SinkTotals {
    std::uint64_t delivered = 0, duplicates = 0, retries = 0, dead_lettered = 0, failed = 0;
  };
  void routing(const std::map<std::string, SinkTotals>& sinks, std::uint64_t undelivered, double oldest_undelivered_seconds,
               std::uint64_t journal_messages, std::uint64_t journal_dead_lettered);

  std::string render() const;  // text exposition format 0.0.4

 private:
  // Family::Add takes a lock and hashes the labels; the hot path looks its counter up here instead.
  prometheus::Counter& cached(prometheus::Family<prometheus::Counter>& family, std::map<std::string, prometheus::Counter*, std::less<>>& cache,
                              std::string_view key, const prometheus::Labels& labels);

  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>* requests_;
  prometheus::Family<prometheus::Histogram>* latency_;
  prometheus::Family<prometheus::Counter>* messages_;
  prometheus::Family<prometheus::Counter>* findings_;
  prometheus::Histogram* latency_by_route_[static_cast<int>(Route::kCount)];
  prometheus::Gauge* in_flight_;
  prometheus::Gauge* connections_;
  prometheus::Counter* rejected_;
  prometheus::Gauge* generation_;
  prometheus::Counter* reload_failures_;
  prometheus::Gauge* window_entries_;
  prometheus::Gauge* window_bytes_;
  prometheus::Gauge* window_evicted_;
  prometheus::Family<prometheus::Counter>* sink_events_ = nullptr;
  prometheus::Gauge* undelivered_ = nullptr;
  prometheus::Gauge* oldest_undelivered_ = nullptr;
  prometheus::Gauge* journal_messages_ = nullptr;
  prometheus::Gauge* journal_dead_lettered_ = nullptr;
  std::map<std::string, SinkTotals> sink_seen_;  // what the counters were last raised to
  std::mutex mutex_;
  std::map<std::string, prometheus::Counter*, std::less<>> request_cache_, message_cache_, finding_cache_;
};

}  // namespace flowguard::server
