// The JetStream pull consumer against a real nats-server: settlement semantics (Ack, Nak with a
// delay, Term, max_deliver), InProgress for slow handlers, and two instances sharing one durable.
#include "flowguard/consume/consumer.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "flowguard/sinks/sinks.hpp"
#include "nats_server.hpp"

namespace fc = flowguard::consume;
namespace fs = flowguard::sinks;
using flowguard::test::NatsServer;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

// A server with stream "IN" on "in.>" and `n` messages published through the JetStream sink.
struct Fixture {
  NatsServer server;
  bool ready = false;
  explicit Fixture(int n, bool work_queue = false) {
    if (!server.start()) return;
    flowguard::test::StreamSpec spec{"IN", {"in.>"}};
    spec.work_queue = work_queue;
    if (!flowguard::test::create_stream({server.url()}, spec).empty()) return;
    ready = publish(0, n);
  }
  bool publish(int from, int to) {
    fs::JetStreamOptions o;
    o.servers = {server.url()};
    o.subject = "in.{type}";
    o.stream = "IN";
    auto sink = fs::make_jetstream_sink("in", o);
    if (!sink) return false;
    std::vector<fs::Delivery> batch;
    for (int i = from; i < to; ++i)
      batch.push_back({"id-" + std::to_string(i), "m-" + std::to_string(i), "t", "body-" + std::to_string(i), "", ""});
    for (const auto& r : (*sink)->deliver(batch))
      if (r.outcome != fs::Outcome::kDelivered) return false;
    return true;
  }
  fc::ConsumerOptions options(const std::string& durable = "work") const {
    fc::ConsumerOptions o;
    o.servers = {server.url()};
    o.stream = "IN";
    o.durable = durable;
    o.ack_wait = 1000ms;
    o.fetch_timeout = 100ms;
    return o;
  }
};

// Runs a consumer on this thread until `done` says so or `limit` passes; then stops it.
Clock::duration run_until(fc::Consumer& consumer, const fc::Handler& handler, const std::function<bool()>& done,
                          Clock::duration limit) {
  std::atomic<bool> stop{false};
  const auto started = Clock::now();
  std::thread watchdog([&] {
    while (!stop && Clock::now() - started < limit && !done()) std::this_thread::sleep_for(10ms);
    stop = true;
  });
  const auto status = consumer.run(handler, stop);
  stop = true;
  watchdog.join();
  INFO((status ? std::string() : status.error().message));
  CHECK(status);
  return Clock::now() - started;
}

std::unique_ptr<fc::Consumer> make(const fc::ConsumerOptions& o) {
  auto c = fc::Consumer::create(o);
  INFO((c ? std::string() : c.error().message));
  REQUIRE(c);
  return std::move(c).value();
}

}  // namespace

TEST_CASE("consumer: options that cannot work are errors") {
  FLOWGUARD_SKIP_WITHOUT_NATS_SERVER();
  Fixture f(0);
  REQUIRE(f.ready);
  auto o = f.options();
  o.create_if_missing = false;
  auto c = fc::Consumer::create(o);
  REQUIRE_FALSE(c);
  CHECK_THAT(c.error().message, Catch::Contains("does not exist"));
  o = f.options();
  o.stream = "NOPE";
  c = fc::Consumer::create(o);
  REQUIRE_FALSE(c);
  CHECK_THAT(c.error().message, Catch::Contains("NOPE"));
  o = f.options();
  o.durable.clear();
  REQUIRE_FALSE(fc::Consumer::create(o));
}

TEST_CASE("consumer: Ack removes the message, and run() returns soon after stop") {
  FLOWGUARD_SKIP_WITHOUT_NATS_SERVER();
  Fixture f(20, /*work_queue=*/true);
  REQUIRE(f.ready);
  auto consumer = make(f.options());
  std::vector<fc::InboundMessage> seen;
  run_until(
      *consumer,
      [&](std::span<const fc::InboundMessage> b) {
        seen.insert(seen.end(), b.begin(), b.end());
        return std::vector<fc::Decision>(b.size(), fc::Decision::ack());
      },
      [&] { return seen.size() >= 20; }, 10s);
  REQUIRE(seen.size() == 20);
  for (const auto& m : seen) {
    CHECK(m.delivered_count == 1);
    CHECK(m.subject == "in.t");
    CHECK(m.data == "body-" + m.msg_id.substr(2));
    CHECK(m.stream_sequence >= 1);
  }
  CHECK(consumer->stats().acked == 20);
  // A work-queue stream drops what its consumer acked; the acks were confirmed before run() returned.
  CHECK(flowguard::test::stream_message_count({f.server.url()}, "IN") == 0);

  // Nothing more to fetch: a stop is honoured within about a second (one fetch at most).
  std::size_t more = 0;
  std::atomic<bool> stop{false};
  std::thread stopper([&] {
    std::this_thread::sleep_for(300ms);
    stop = true;
  });
  const auto before = Clock::now();
  CHECK(consumer->run(
      [&](std::span<const fc::InboundMessage> b) {
        more += b.size();
        return std::vector<fc::Decision>(b.size(), fc::Decision::ack());
      },
      stop));
  stopper.join();
  CHECK(Clock::now() - before < 2s);
  CHECK(more == 0);
}

TEST_CASE("consumer: Nak(delay) redelivers no sooner than the delay, with delivered_count 2") {
  FLOWGUARD_SKIP_WITHOUT_NATS_SERVER();
  Fixture f(1);
  REQUIRE(f.ready);
  auto o = f.options();
  o.ack_wait = 10s;  // so only the Nak can bring it back this soon
  auto consumer = make(o);
  std::vector<std::pair<Clock::time_point, std::uint64_t>> deliveries;
  run_until(
      *consumer,
      [&](std::span<const fc::InboundMessage> b) {
        std::vector<fc::Decision> d;
        for (const auto& m : b) {
          deliveries.emplace_back(Clock::now(), m.delivered_count);
          d.push_back(m.delivered_count == 1 ? fc::Decision::nak(1500ms) : fc::Decision::ack());
        }
        return d;
      },
      [&] { return deliveries.size() >= 2; }, 8s);
  REQUIRE(deliveries.size() == 2);
  CHECK(deliveries[0].second == 1);
  CHECK(deliveries[1].second == 2);
  CHECK(deliveries[1].first - deliveries[0].first >= 1400ms);
  CHECK(consumer->stats().naked == 1);
}

TEST_CASE("consumer: Term is never redelivered, and max_deliver caps Nak'd redeliveries") {
  FLOWGUARD_SKIP_WITHOUT_NATS_SERVER();
  Fixture f(2);
  REQUIRE(f.ready);
  auto o = f.options();
  o.max_deliver = 3;
  auto consumer = make(o);
  std::map<std::string, int> handled;
  // m-0 is terminated; m-1 is always Nak'd (50 ms): the server stops after 3 deliveries. The run
  // lasts well past ack_wait (1 s) and the Nak delays, so any further redelivery would show.
  run_until(
      *consumer,
      [&](std::span<const fc::InboundMessage> b) {
        std::vector<fc::Decision> d;
        for (const auto& m : b) {
          ++handled[m.msg_id];
          d.push_back(m.msg_id == "m-0" ? fc::Decision::term() : fc::Decision::nak(50ms));
        }
        return d;
      },
      [] { return false; }, 3500ms);
  CHECK(handled["m-0"] == 1);
  CHECK(handled["m-1"] == 3);
  CHECK(consumer->stats().termed == 1);
}

TEST_CASE("consumer: a slow handler keeps its messages with InProgress") {
  FLOWGUARD_SKIP_WITHOUT_NATS_SERVER();
  Fixture f(3);
  REQUIRE(f.ready);
  auto slow = make(f.options());
  auto other = make(f.options());
  std::atomic<int> slow_seen{0}, other_seen{0};
  std::atomic<bool> other_stop{false};
  std::thread other_thread([&] {
    CHECK(other->run(
        [&](std::span<const fc::InboundMessage> b) {
          other_seen += static_cast<int>(b.size());
          return std::vector<fc::Decision>(b.size(), fc::Decision::ack());
        },
        other_stop));
  });
  // The slow instance takes all three, then works 2.5 × ack_wait on them before acking.
  std::vector<std::uint64_t> counts;
  run_until(
      *slow,
      [&](std::span<const fc::InboundMessage> b) {
        slow_seen += static_cast<int>(b.size());
        for (const auto& m : b) counts.push_back(m.delivered_count);
        std::this_thread::sleep_for(2500ms);
        return std::vector<fc::Decision>(b.size(), fc::Decision::ack());
      },
      [&] { return slow_seen + other_seen >= 3; }, 10s);
  std::this_thread::sleep_for(1500ms);  // past another ack_wait: a lost message would reappear at `other`
  other_stop = true;
  other_thread.join();
  // Either instance may have fetched some first; none was delivered twice.
  CHECK(slow_seen + other_seen == 3);
  CHECK(slow->stats().acked + other->stats().acked == 3);
  if (slow_seen > 0) CHECK(slow->stats().in_progress > 0);
  for (auto c : counts) CHECK(c == 1);
}

TEST_CASE("consumer: two instances on one durable split the work, each message acked once") {
  FLOWGUARD_SKIP_WITHOUT_NATS_SERVER();
  constexpr int kMessages = 300;
  Fixture f(kMessages);
  REQUIRE(f.ready);
  std::mutex mutex;
  std::multiset<std::string> handled;
  std::map<int, int> per_instance;
  std::atomic<bool> stop{false};
  auto worker = [&](int instance) {
    auto o = f.options();
    o.fetch_batch = 10;
    auto consumer = fc::Consumer::create(o);
    REQUIRE(consumer);
    CHECK((*consumer)->run(
        [&](std::span<const fc::InboundMessage> b) {
          {
            std::lock_guard lock(mutex);
            for (const auto& m : b) handled.insert(m.msg_id);
            per_instance[instance] += static_cast<int>(b.size());
            if (handled.size() >= kMessages) stop = true;
          }
          std::this_thread::sleep_for(5ms);  // some work, so both instances take turns
          return std::vector<fc::Decision>(b.size(), fc::Decision::ack());
        },
        stop));
  };
  std::thread a(worker, 0), b(worker, 1);
  std::thread watchdog([&] {
    const auto until = Clock::now() + 30s;
    while (!stop && Clock::now() < until) std::this_thread::sleep_for(10ms);
    stop = true;
  });
  a.join();
  b.join();
  watchdog.join();
  CHECK(handled.size() == kMessages);
  std::set<std::string> unique(handled.begin(), handled.end());
  CHECK(unique.size() == kMessages);  // nobody handled a message twice
  CHECK(per_instance[0] > 0);
  CHECK(per_instance[1] > 0);
}

TEST_CASE("consumer: what a killed instance held is redelivered to the other after ack_wait") {
  FLOWGUARD_SKIP_WITHOUT_NATS_SERVER();
  constexpr int kMessages = 20;
  Fixture f(kMessages);
  REQUIRE(f.ready);
  // The worker process takes a batch of 5 and hangs in its handler (sending InProgress) unacked.
  int out[2];
  REQUIRE(::pipe(out) == 0);
  std::vector<std::string> args = {FG_CONSUME_WORKER, f.server.url(), "IN", "work", "1000", "5"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::dup2(out[1], 1);
    ::close(out[0]);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(out[1]);
  std::string text;
  const auto deadline = Clock::now() + 15s;
  ::fcntl(out[0], F_SETFL, O_NONBLOCK);
  while (text.find("READY\n") == std::string::npos && Clock::now() < deadline) {
    char buf[256];
    const ssize_t n = ::read(out[0], buf, sizeof buf);
    if (n > 0)
      text.append(buf, static_cast<std::size_t>(n));
    else if (n == 0)
      break;
    else
      std::this_thread::sleep_for(10ms);
  }
  ::close(out[0]);
  std::set<std::string> held;
  for (std::size_t at = 0; at < text.size();) {
    const auto nl = text.find('\n', at);
    const std::string line = text.substr(at, nl - at);
    if (line != "READY" && !line.empty()) held.insert(line);
    at = nl == std::string::npos ? text.size() : nl + 1;
  }
  INFO("worker said: " << text);
  REQUIRE(text.find("READY") != std::string::npos);
  REQUIRE(held.size() == 5);

  // The survivor works meanwhile; it must not see the held messages while the worker lives.
  auto survivor = make(f.options());
  std::mutex mutex;
  std::multiset<std::string> acked;
  std::map<std::string, std::uint64_t> delivered_count;
  std::atomic<bool> killed{false};
  std::atomic<bool> held_seen_early{false};
  std::atomic<bool> rest_done{false};
  // Once everything else is done, the survivor keeps fetching past ack_wait (InProgress keeps the
  // batch with the worker), then the worker "crashes" before acking it.
  std::thread killer([&] {
    const auto until = Clock::now() + 20s;
    while (!rest_done && Clock::now() < until) std::this_thread::sleep_for(10ms);
    std::this_thread::sleep_for(2500ms);
    std::lock_guard lock(mutex);
    ::kill(pid, SIGKILL);
    killed = true;
  });
  run_until(
      *survivor,
      [&](std::span<const fc::InboundMessage> b) {
        std::lock_guard lock(mutex);
        for (const auto& m : b) {
          if (held.count(m.msg_id) && !killed) held_seen_early = true;
          acked.insert(m.msg_id);
          delivered_count[m.msg_id] = m.delivered_count;
        }
        if (acked.size() >= kMessages - 5) rest_done = true;
        return std::vector<fc::Decision>(b.size(), fc::Decision::ack());
      },
      [&] {
        std::lock_guard lock(mutex);
        return acked.size() >= kMessages;
      },
      25s);
  killer.join();
  int raw = 0;
  ::kill(pid, SIGKILL);
  ::waitpid(pid, &raw, 0);
  CHECK_FALSE(held_seen_early);
  CHECK(acked.size() == kMessages);
  CHECK(std::set<std::string>(acked.begin(), acked.end()).size() == kMessages);  // each acked exactly once
  for (const auto& id : held) CHECK(delivered_count[id] == 2);
}
