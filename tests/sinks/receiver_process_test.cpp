// fg-webhook-receiver as its own process: what a test that kills flowguard keeps running. Every
// request body is a line of --out before the request is answered.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <string>

#include "flowguard/sinks/sinks.hpp"
#include "sink_test_util.hpp"

using namespace flowguard;

namespace {

struct ReceiverProcess {
  pid_t pid = -1;
  std::uint16_t port = 0;
  ~ReceiverProcess() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
};

// Starts the receiver and reads its "listening on 127.0.0.1:PORT" line.
void start(ReceiverProcess& p, const std::vector<std::string>& args) {
  int out[2];
  REQUIRE(::pipe(out) == 0);
  p.pid = ::fork();
  REQUIRE(p.pid >= 0);
  if (p.pid == 0) {
    ::dup2(out[1], 1);
    ::close(out[0]);
    ::close(out[1]);
    std::vector<std::string> all{FLOWGUARD_BINARY_DIR "/bin/fg-webhook-receiver"};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(out[1]);
  std::string line;
  char c;
  while (::read(out[0], &c, 1) == 1 && c != '\n') line += c;
  ::close(out[0]);
  const auto colon = line.rfind(':');
  REQUIRE(line.starts_with("listening on 127.0.0.1:"));
  p.port = static_cast<std::uint16_t>(std::stoi(line.substr(colon + 1)));
}

}  // namespace

TEST_CASE("fg-webhook-receiver: every body a line of --out, answered with --status", "[sinks][webhook][receiver]") {
  test::TempDir dir;
  const auto out = dir.path() / "received.jsonl";
  ReceiverProcess p;
  start(p, {"--port", "0", "--status", "202", "--out", out.string()});

  sinks::WebhookOptions options;
  options.url = "http://127.0.0.1:" + std::to_string(p.port) + "/hook";
  options.max_message_count = 2;
  auto sink = sinks::make_webhook_sink("partner", options);
  REQUIRE(sink.ok());
  std::vector<sinks::Delivery> batch{test::message(0), test::message(1)};
  for (const auto& r : (*sink)->deliver(batch)) CHECK(r.outcome == sinks::Outcome::kDelivered);
  batch = {test::message(2)};
  for (const auto& r : (*sink)->deliver(batch)) CHECK(r.outcome == sinks::Outcome::kDelivered);

  ::kill(p.pid, SIGTERM);
  int status = 0;
  ::waitpid(p.pid, &status, 0);
  p.pid = -1;
  CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
  const auto lines = test::lines_of(test::read_file(out));
  REQUIRE(lines.size() == 2);
  CHECK(lines[0] == "[" + test::message(0).body + "," + test::message(1).body + "]");
  CHECK(lines[1] == "[" + test::message(2).body + "]");
}

TEST_CASE("fg-webhook-receiver: --status 503 with --retry-after is kRetry with the delay",
          "[sinks][webhook][receiver]") {
  ReceiverProcess p;
  start(p, {"--status", "503", "--retry-after", "3"});
  sinks::WebhookOptions options;
  options.url = "http://127.0.0.1:" + std::to_string(p.port) + "/hook";
  auto sink = sinks::make_webhook_sink("partner", options);
  REQUIRE(sink.ok());
  const auto one = test::message(0);
  const auto r = (*sink)->deliver({&one, 1})[0];
  CHECK(r.outcome == sinks::Outcome::kRetry);
  CHECK(r.retry_after == std::optional<std::chrono::milliseconds>(std::chrono::seconds(3)));
}
