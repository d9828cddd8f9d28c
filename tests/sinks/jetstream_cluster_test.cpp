// The JetStream sink against a 3-node cluster with an R3 file stream while the stream's leader is
// SIGKILLed mid-run: whatever the sink reported kDelivered/kDuplicate must be in the stream after.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <set>
#include <thread>

#include "flowguard/consume/consumer.hpp"
#include "flowguard/sinks/jetstream.hpp"
#include "flowguard/sinks/sinks.hpp"
#include "nats_server.hpp"

namespace fs = flowguard::sinks;
namespace fc = flowguard::consume;
using namespace std::chrono_literals;

TEST_CASE("jetstream sink on a 3-node cluster: no confirmed publish is lost when a node is killed") {
  FLOWGUARD_SKIP_WITHOUT_NATS_SERVER();
  flowguard::test::NatsCluster cluster;
  INFO(cluster.error());
  REQUIRE(cluster.start());
  const auto urls = cluster.urls();
  flowguard::test::StreamSpec spec{"FGC", {"fgc.>"}};
  spec.replicas = 3;
  REQUIRE(flowguard::test::create_stream(urls, spec, 30s) == "");

  fs::JetStreamOptions options;
  options.servers = urls;
  options.subject = "fgc.{type}";
  options.stream = "FGC";
  options.ack_timeout = 2000ms;
  auto sink = fs::make_jetstream_sink("cluster", options);
  INFO((sink ? std::string() : sink.error().message));
  REQUIRE(sink);

  // The leader is the node whose loss forces an election: that is the one to kill.
  const std::string leader = flowguard::test::stream_leader(urls, "FGC");
  int victim = 0;
  for (int i = 0; i < cluster.size(); ++i)
    if (cluster.node(i).url() != "" && ("fg-n" + std::to_string(i)) == leader) victim = i;

  constexpr int kBatches = 40, kPerBatch = 25;
  std::atomic<int> batches_done{0};
  std::thread killer([&] {
    while (batches_done.load() < 10) std::this_thread::sleep_for(1ms);
    cluster.kill(victim);  // while the next deliver() runs
  });

  std::set<std::string> confirmed;
  std::vector<fs::Delivery> retry;
  std::size_t retries_seen = 0;
  std::string first_retry;
  int retry_rounds = 0;
  auto settle = [&](const std::vector<fs::Delivery>& batch) {
    const auto results = (*sink)->deliver(batch);
    REQUIRE(results.size() == batch.size());
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (results[i].outcome == fs::Outcome::kDelivered || results[i].outcome == fs::Outcome::kDuplicate) {
        confirmed.insert(batch[i].reference);
      } else {
        REQUIRE(results[i].outcome == fs::Outcome::kRetry);  // never kFailed for a healthy message
        retry.push_back(batch[i]);
        if (retries_seen++ == 0) first_retry = results[i].detail;
      }
    }
  };
  for (int b = 0; b < kBatches; ++b) {
    std::vector<fs::Delivery> batch;
    for (int i = 0; i < kPerBatch; ++i) {
      fs::Delivery d;
      d.id = "fg-" + std::to_string(b) + "-" + std::to_string(i);
      d.reference = "ref-" + std::to_string(b * kPerBatch + i);
      d.type = "dip.IF-001";
      d.body = R"({"payload":{"n":)" + std::to_string(b * kPerBatch + i) + "}}";
      batch.push_back(std::move(d));
    }
    settle(batch);
    ++batches_done;
  }
  killer.join();
  // What came back kRetry is retried, as the router does, until the cluster has a new leader.
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (!retry.empty() && std::chrono::steady_clock::now() < deadline) {
    std::vector<fs::Delivery> again;
    again.swap(retry);
    settle(again);
    ++retry_rounds;
    if (!retry.empty()) std::this_thread::sleep_for(250ms);
  }
  WARN("kRetry answers during the run: " << retries_seen << " in " << retry_rounds
                                         << " retry rounds (first: " << first_retry << "); killed node fg-n" << victim
                                         << " (leader " << leader << ")");
  REQUIRE(retry.empty());
  REQUIRE(confirmed.size() == kBatches * kPerBatch);

  // Read everything back through a consumer on the surviving nodes.
  std::vector<std::string> alive;
  for (int i = 0; i < cluster.size(); ++i)
    if (i != victim) alive.push_back(cluster.node(i).url());
  fc::ConsumerOptions co;
  co.servers = alive;
  co.stream = "FGC";
  co.durable = "audit";
  co.fetch_batch = 200;
  co.fetch_timeout = 500ms;
  std::unique_ptr<fc::Consumer> consumer;
  for (int attempt = 0; attempt < 40 && !consumer; ++attempt) {  // the consumer's creation needs the meta leader
    auto made = fc::Consumer::create(co);
    if (made)
      consumer = std::move(made).value();
    else
      std::this_thread::sleep_for(250ms);
  }
  REQUIRE(consumer);
  std::multiset<std::string> seen;
  std::atomic<bool> stop{false};
  std::thread watchdog([&] {
    const auto until = std::chrono::steady_clock::now() + 30s;
    while (!stop && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(20ms);
    stop = true;
  });
  CHECK(consumer->run(
      [&](std::span<const fc::InboundMessage> batch) {
        for (const auto& m : batch) seen.insert(m.msg_id);
        if (seen.size() >= confirmed.size()) stop = true;
        return std::vector<fc::Decision>(batch.size(), fc::Decision::ack());
      },
      stop));
  stop = true;
  watchdog.join();
  std::size_t missing = 0;
  for (const auto& ref : confirmed) missing += seen.count(ref) == 0;
  CHECK(missing == 0);
  // The Nats-Msg-Id de-duplication kept re-published messages from being stored twice.
  CHECK(seen.size() == confirmed.size());
}
