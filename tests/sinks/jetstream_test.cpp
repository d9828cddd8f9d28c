// The JetStream sink against a real nats-server on a loopback ephemeral port.
#include "flowguard/sinks/jetstream.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <set>
#include <thread>

#include "flowguard/consume/consumer.hpp"
#include "flowguard/sinks/sinks.hpp"
#include "nats_server.hpp"

namespace fs = flowguard::sinks;
namespace fc = flowguard::consume;
using flowguard::test::NatsServer;
using namespace std::chrono_literals;

namespace {

const std::string kType = "dip.IF-001.InitialRegistration";

std::vector<fs::Delivery> deliveries(int n, const std::string& prefix = "ref-") {
  std::vector<fs::Delivery> out;
  for (int i = 0; i < n; ++i) {
    fs::Delivery d;
    d.id = "fg-" + std::to_string(i);
    d.reference = prefix + std::to_string(i);
    d.type = kType;
    d.body = R"({"payload":{"CommonBlock":{"S1":{"senderUniqueReference":")" + d.reference + R"("}}}})";
    out.push_back(std::move(d));
  }
  return out;
}

std::size_t count(const std::vector<fs::DeliveryResult>& results, fs::Outcome outcome) {
  std::size_t n = 0;
  for (const auto& r : results) n += r.outcome == outcome;
  return n;
}

std::string details(const std::vector<fs::DeliveryResult>& results) {
  std::string out;
  for (const auto& r : results) out += r.detail + "\n";
  return out;
}

fs::JetStreamOptions options_for(const NatsServer& server) {
  fs::JetStreamOptions o;
  o.servers = {server.url()};
  o.subject = "fg.{type}";
  o.stream = "FG";
  o.ack_timeout = 1000ms;
  return o;
}

// Everything in the stream, read back through a consumer until `expected` messages came (or 10 s).
std::vector<fc::InboundMessage> read_back(const std::vector<std::string>& servers, const std::string& stream,
                                          std::size_t expected, const std::string& durable = "readback") {
  fc::ConsumerOptions o;
  o.servers = servers;
  o.stream = stream;
  o.durable = durable;
  o.fetch_timeout = 200ms;
  auto consumer = fc::Consumer::create(o);
  INFO((consumer ? std::string() : consumer.error().message));
  REQUIRE(consumer);
  std::vector<fc::InboundMessage> seen;
  std::atomic<bool> stop{false};
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  std::thread watchdog([&] {
    while (!stop && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(20ms);
    stop = true;
  });
  const auto status = (*consumer)->run(
      [&](std::span<const fc::InboundMessage> batch) {
        seen.insert(seen.end(), batch.begin(), batch.end());
        if (seen.size() >= expected) stop = true;
        return std::vector<fc::Decision>(batch.size(), fc::Decision::ack());
      },
      stop);
  stop = true;
  watchdog.join();
  CHECK(status);
  return seen;
}

}  // namespace

TEST_CASE("jetstream sink: every message lands in the stream once, a repeat is a duplicate") {
  FLOWGUARD_SKIP_WITHOUT_NATS_SERVER();
  NatsServer server;
  INFO(server.error());
  REQUIRE(server.start());
  REQUIRE(flowguard::test::create_stream({server.url()}, {"FG", {"fg.>"}}) == "");

  auto sink = fs::make_jetstream_sink("js", options_for(server));
  INFO((sink ? std::string() : sink.error().message));
  REQUIRE(sink);
  CHECK((*sink)->kind() == "jetstream");
  CHECK((*sink)->max_batch() == 256);
  const auto* counters = fs::jetstream_counters(**sink);
  REQUIRE(counters != nullptr);

  const auto batch = deliveries(50);
  auto results = (*sink)->deliver(batch);
  REQUIRE(results.size() == batch.size());
  INFO(details(results));
  CHECK(count(results, fs::Outcome::kDelivered) == 50);
  CHECK(flowguard::test::stream_message_count({server.url()}, "FG") == 50);
  CHECK(counters->duplicates() == 0);

  // The same references again (a re-delivery after a crash): nothing new is stored.
  results = (*sink)->deliver(batch);
  CHECK(count(results, fs::Outcome::kDuplicate) == 50);
  CHECK(flowguard::test::stream_message_count({server.url()}, "FG") == 50);
  CHECK(counters->duplicates() == 50);
  CHECK(counters->stats().delivered == 50);

  // What a reader sees: the subject from the type, Nats-Msg-Id = reference, the body as given.
  const auto seen = read_back({server.url()}, "FG", 50);
  REQUIRE(seen.size() == 50);
  std::set<std::string> ids;
  for (const auto& m : seen) {
    CHECK(m.subject == "fg." + kType);
    ids.insert(m.msg_id);
  }
  CHECK(ids.size() == 50);
  CHECK(ids.count("ref-7") == 1);
  CHECK(seen.front().data == batch.front().body);
}

TEST_CASE("jetstream sink: a missing stream or server is a factory error") {
  FLOWGUARD_SKIP_WITHOUT_NATS_SERVER();
  NatsServer server;
  REQUIRE(server.start());
  auto options = options_for(server);
  options.stream = "NOPE";
  auto sink = fs::make_jetstream_sink("js", options);
  REQUIRE_FALSE(sink);
  CHECK_THAT(sink.error().message, Catch::Contains("\"NOPE\" does not exist"));

  options = options_for(server);
  options.subject = "fg.* bad";
  REQUIRE_FALSE(fs::make_jetstream_sink("js", options));

  options = options_for(server);
  server.stop();
  sink = fs::make_jetstream_sink("js", options);
  REQUIRE_FALSE(sink);
  CHECK_THAT(sink.error().message, Catch::Contains("Cannot connect to NATS"));
}

TEST_CASE("jetstream sink: a stopped server gives kRetry within the timeout, and delivery resumes after a restart") {
  FLOWGUARD_SKIP_WITHOUT_NATS_SERVER();
  NatsServer server;
  REQUIRE(server.start());
  REQUIRE(flowguard::test::create_stream({server.url()}, {"FG", {"fg.>"}}) == "");
  auto sink = fs::make_jetstream_sink("js", options_for(server));
  REQUIRE(sink);
  REQUIRE(count((*sink)->deliver(deliveries(3, "before-")), fs::Outcome::kDelivered) == 3);

  server.stop();
  const auto batch = deliveries(10, "during-");
  const auto started = std::chrono::steady_clock::now();
  auto results = (*sink)->deliver(batch);
  const auto took = std::chrono::steady_clock::now() - started;
  INFO(details(results));
  CHECK(count(results, fs::Outcome::kRetry) == 10);
  // The contract's bound, not a performance figure: ack_timeout (1 s) plus the sink's 0.5 s slack.
  CHECK(took < 3s);

  INFO(server.error());
  REQUIRE(server.start());  // same port, same store: the stream is still there
  // The router retries what came back kRetry until it is delivered (or found a duplicate: the
  // reconnect may have flushed the buffered publishes already).
  std::vector<fs::Delivery> todo = batch;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (!todo.empty() && std::chrono::steady_clock::now() < deadline) {
    results = (*sink)->deliver(todo);
    std::vector<fs::Delivery> again;
    for (std::size_t i = 0; i < todo.size(); ++i)
      if (results[i].outcome == fs::Outcome::kRetry)
        again.push_back(todo[i]);
      else
        CHECK((results[i].outcome == fs::Outcome::kDelivered || results[i].outcome == fs::Outcome::kDuplicate));
    todo = std::move(again);
    if (!todo.empty()) std::this_thread::sleep_for(200ms);
  }
  CHECK(todo.empty());
  CHECK(flowguard::test::stream_message_count({server.url()}, "FG") == 13);
}

TEST_CASE("jetstream sink: a message over the server's max_payload is kFailed, the rest of the batch delivered") {
  FLOWGUARD_SKIP_WITHOUT_NATS_SERVER();
  NatsServer server;
  REQUIRE(server.start());
  REQUIRE(flowguard::test::create_stream({server.url()}, {"FG", {"fg.>"}}) == "");
  auto sink = fs::make_jetstream_sink("js", options_for(server));
  REQUIRE(sink);
  auto batch = deliveries(3);
  batch[1].body.assign(2u << 20, 'x');  // the server's default max_payload is 1 MiB
  batch[2].type = "has space";
  const auto results = (*sink)->deliver(batch);
  INFO(details(results));
  CHECK(results[0].outcome == fs::Outcome::kDelivered);
  CHECK(results[1].outcome == fs::Outcome::kFailed);
  CHECK_THAT(results[1].detail, Catch::Contains("max_payload"));
  CHECK(results[2].outcome == fs::Outcome::kFailed);
  CHECK(flowguard::test::stream_message_count({server.url()}, "FG") == 1);
  CHECK(fs::jetstream_counters(**sink)->stats().failed == 2);
}
