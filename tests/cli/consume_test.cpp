// `flowguard consume` as it runs in production: two real processes on one durable consumer of a
// real nats-server, one SIGKILLed mid-run. Every valid message ends in the output stream exactly
// once (its Nats-Msg-Id de-duplicates the repeats an unacked redelivery causes), every invalid one
// in dead-letter, and the input consumer has nothing left unacknowledged.
#include <catch2/catch.hpp>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <filesystem>
#include <thread>

#include "flowguard/sinks/sinks.hpp"
#include "nats_server.hpp"
#include "server_process.hpp"

extern char** environ;

namespace fs = std::filesystem;
using namespace flowguard;
using namespace flowguard::test;

namespace {

pid_t spawn_consume(const fs::path& config, const fs::path& log) {
  const std::string exe = flowguard_exe().string(), cfg = config.string();
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  std::vector<char*> argv{const_cast<char*>(exe.c_str()), const_cast<char*>("consume"), const_cast<char*>("--config"),
                          const_cast<char*>(cfg.c_str()), nullptr};
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

int stop(pid_t pid, int sig) {
  ::kill(pid, sig);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

TEST_CASE("consume: two instances share a durable, one is SIGKILLed, nothing is lost or delivered twice") {
  FLOWGUARD_SKIP_WITHOUT_NATS_SERVER();
  NatsServer nats;
  REQUIRE(nats.start());
  const std::vector<std::string> servers{nats.url()};
  REQUIRE(create_stream(servers, {"IN", {"in.>"}}).empty());
  REQUIRE(create_stream(servers, {"OUT", {"out.>"}}).empty());
  const fs::path dir = scratch_dir("fg-consume");
  write_file(dir / "routes.yaml",
             "journal: {path: journal.db}\n"
             "sinks:\n"
             "  bus: {kind: jetstream, servers: ['" + nats.url() + "'], subject: 'out.{type}', stream: OUT}\n"
             "  dead: {kind: spool, directory: dead}\n"
             "dead_letter: dead\n"
             "routes:\n  - match: {type: 'dip.*'}\n    sinks: [bus]\n");
  write_file(dir / "serve.yaml", "registry: default\nrouting: routes.yaml\n"
                                 "consume: {servers: ['" + nats.url() + "'], stream: IN, durable: fg, ack_wait_ms: 2000, "
                                 "max_deliver: -1, fetch_batch: 16}\n");
  // The input: valid messages with unique references, and some invalid ones.
  auto publisher = sinks::make_jetstream_sink("in", {servers, "in.dip", "IN", {}, std::chrono::milliseconds(5000), 256});
  REQUIRE(publisher);
  const std::string base = dip_message("IF-001/InitialRegistration");
  constexpr int kValid = 300, kInvalid = 10;
  std::vector<sinks::Delivery> batch;
  for (int i = 0; i < kValid; ++i) {
    const std::string ref = "V" + std::to_string(100000 + i);
    batch.push_back({"in-" + ref, "in-" + ref, "dip", envelope(with_reference(base, ref)), "", ""});
  }
  for (int i = 0; i < kInvalid; ++i) {
    std::string bad = with_reference(base, "X" + std::to_string(100000 + i));
    bad.replace(bad.find("\"MPANCore\""), 10, "\"MPANCorX\"");
    batch.push_back({"in-bad-" + std::to_string(i), "in-bad-" + std::to_string(i), "dip", envelope(bad), "", ""});
  }
  for (const auto& r : (*publisher)->deliver(batch)) REQUIRE(r.outcome == sinks::Outcome::kDelivered);

  const pid_t a = spawn_consume(dir / "serve.yaml", dir / "a.log");
  const pid_t b = spawn_consume(dir / "serve.yaml", dir / "b.log");
  REQUIRE(a > 0);
  REQUIRE(b > 0);
  // Kill one as soon as work is under way: what it held unacked goes to the other after AckWait.
  REQUIRE(eventually([&] { return stream_message_count(servers, "OUT") > 20; }, std::chrono::seconds(30)));
  stop(a, SIGKILL);
  INFO(slurp(dir / "b.log"));
  REQUIRE(eventually([&] { return stream_message_count(servers, "OUT") == kValid && json_files_in(dir / "dead") == kInvalid; },
                     std::chrono::seconds(60)));
  // Nothing more arrives: each valid message is in OUT exactly once.
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  CHECK(stream_message_count(servers, "OUT") == kValid);
  CHECK(json_files_in(dir / "dead") == kInvalid);
  CHECK(stop(b, SIGTERM) == 0);
  CHECK_THAT(slurp(dir / "b.log"), Catch::Contains("acked"));
}

TEST_CASE("consume: a config without a consume section, or an unreachable server, is refused with its reason") {
  const fs::path dir = scratch_dir("fg-consume-bad");
  write_file(dir / "routes.yaml", "journal: {path: journal.db}\nsinks: {out: {kind: stdout}}\nroutes: [{sinks: [out]}]\n");
  write_file(dir / "no-consume.yaml", "registry: default\nrouting: routes.yaml\n");
  int status = stop(spawn_consume(dir / "no-consume.yaml", dir / "1.log"), 0);
  CHECK(status == 2);
  CHECK_THAT(slurp(dir / "1.log"), Catch::Contains("consume needs a `consume:` section"));
  write_file(dir / "bad-key.yaml", "registry: default\nrouting: routes.yaml\nconsume: {stream: IN, durable: fg, ackwait_ms: 5}\n");
  status = stop(spawn_consume(dir / "bad-key.yaml", dir / "2.log"), 0);
  CHECK(status == 2);
  CHECK_THAT(slurp(dir / "2.log"), Catch::Contains("did you mean \"ack_wait_ms\""));
  write_file(dir / "down.yaml", "registry: default\nrouting: routes.yaml\nconsume: {servers: ['nats://127.0.0.1:9'], stream: IN, durable: fg}\n");
  status = stop(spawn_consume(dir / "down.yaml", dir / "3.log"), 0);
  CHECK(status == 3);
}
