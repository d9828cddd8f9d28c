// A consumer in its own process for consume_tests: fetches one batch on the durable, prints each
// message's Nats-Msg-Id and "READY", then blocks in its handler without acking until it is killed.
//   consume_test_worker URL STREAM DURABLE ACK_WAIT_MS BATCH
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "flowguard/consume/consumer.hpp"

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: consume_test_worker URL STREAM DURABLE ACK_WAIT_MS BATCH\n");
    return 2;
  }
  flowguard::consume::ConsumerOptions o;
  o.servers = {argv[1]};
  o.stream = argv[2];
  o.durable = argv[3];
  o.ack_wait = std::chrono::milliseconds(std::stol(argv[4]));
  o.fetch_batch = std::stoul(argv[5]);
  o.fetch_timeout = std::chrono::milliseconds(200);
  auto consumer = flowguard::consume::Consumer::create(o);
  if (!consumer) {
    std::fprintf(stderr, "%s\n", consumer.error().message.c_str());
    return 1;
  }
  std::atomic<bool> stop{false};
  const auto status = (*consumer)->run(
      [&](std::span<const flowguard::consume::InboundMessage> batch) {
        for (const auto& m : batch) std::printf("%s\n", m.msg_id.c_str());
        std::printf("READY\n");
        std::fflush(stdout);
        for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));  // "crashes" before acking
        return std::vector<flowguard::consume::Decision>{};
      },
      stop);
  return status ? 0 : 1;
}
