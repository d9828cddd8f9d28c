// Conservation: N unique messages posted while the webhook fails and recovers and the server is
// SIGKILLed at random points and restarted. Afterwards every message answered 202 is delivered or
// dead-lettered, exactly as the journal says; none is lost; the receiver sees only references that
// were sent (a repeat is the same reference, so the receiver can de-duplicate it).
#include <catch2/catch.hpp>
#include <signal.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "flowguard/journal/journal.hpp"
#include "flowguard/json/document.hpp"
#include "server_process.hpp"
#include "webhook_receiver.hpp"

namespace fs = std::filesystem;
using namespace flowguard::test;
using flowguard::journal::MessageState;

TEST_CASE("conservation: SIGKILLs and a flapping webhook lose no acknowledged message") {
  const fs::path dir = scratch_dir("fg-conservation");
  std::mutex mutex;
  std::multiset<std::string> received;  // references, as the receiver saw them
  ReceiverOptions options;
  options.on_request = [&](const ReceivedRequest& request) {
    auto doc = flowguard::json::Document::parse(request.body);
    if (!doc || !doc->root().is_array()) return;
    std::lock_guard lock(mutex);
    for (const auto& m : doc->root().items()) {
      const auto* ref = flowguard::json::resolve_pointer(m, "/payload/CommonBlock/S1/senderUniqueReference");
      if (ref && ref->is_string()) received.insert(std::string(ref->as_string()));
    }
  };
  auto started = WebhookReceiver::start(options);
  REQUIRE(started);
  auto receiver = std::move(*started);
  write_file(dir / "routes.yaml",
             "journal: {path: journal.db, group_commit_ms: 1}\n"
             "sinks:\n"
             "  hook: {kind: webhook, url: '" + receiver->url() + "', max_message_count: 7, timeout_ms: 1000, connect_timeout_ms: 500, "
             "retry: {max_attempts: 1000000, initial_backoff_ms: 10, max_backoff_ms: 100}}\n"
             "  dead: {kind: spool, directory: dead}\n"
             "dead_letter: dead\n"
             "routes:\n  - match: {type: 'dip.*'}\n    sinks: [hook]\n");
  write_file(dir / "serve.yaml", "registry: default\nrouting: routes.yaml\nwatch_interval_ms: 0\n");
  const std::vector<std::string> args{"--config", (dir / "serve.yaml").string()};

  // The webhook flaps between failing (500, 503, dropped connections) and accepting.
  std::atomic<bool> done{false};
  std::thread flapper([&] {
    std::mt19937 rng(7);
    const std::vector<Reply> failures{Reply::answer(500), Reply::answer(503), Reply::close(), Reply::retry_after(429, "0")};
    while (!done) {
      receiver->set_reply(rng() % 2 ? Reply::answer(201) : failures[rng() % failures.size()]);
      std::this_thread::sleep_for(std::chrono::milliseconds(30 + rng() % 120));
    }
    receiver->set_reply(Reply::answer(201));
  });

  const std::string base = dip_message("IF-001/InitialRegistration");
  std::set<std::string> posted, acked_refs, acked_ids;
  std::mt19937 rng(42);
  constexpr int kMessages = 600;
  int next = 0, kills = 0;
  while (next < kMessages) {
    ServerProcess server(args);
    REQUIRE(server.ready());
    HttpClient client(server.port());
    const int until = kills < 3 ? next + 60 + static_cast<int>(rng() % 120) : kMessages;
    for (; next < std::min(until, kMessages); ++next) {
      const std::string suffix = "K" + std::to_string(100000 + next);
      const std::string body = envelope(with_reference(base, suffix));
      auto doc = flowguard::json::Document::parse(body);
      REQUIRE(doc);
      const std::string ref(flowguard::json::resolve_pointer(doc->root(), "/0/payload/CommonBlock/S1/senderUniqueReference")->as_string());
      posted.insert(ref);
      const auto reply = client.request("POST", "/v1/messages", body);
      if (reply.status == 202) {
        acked_refs.insert(ref);
        auto answer = flowguard::json::Document::parse(reply.body);
        REQUIRE(answer);
        acked_ids.insert(std::string(answer->root().find("messages")->items()[0].find("transactionID")->as_string()));
      }
    }
    if (next < kMessages) {
      // Mid-flight: the last requests' deliveries are in the air.
      std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 80));
      server.signal(SIGKILL);
      server.wait();
      ++kills;
    } else {
      done = true;
      flapper.join();
      // Everything acknowledged ends Delivered (the webhook accepts again) — none is left behind.
      auto journal = flowguard::journal::open_journal(dir / "journal.db");
      REQUIRE(journal);
      REQUIRE(eventually([&] {
        for (const auto& id : acked_ids) {
          auto shown = (*journal)->show(id);
          if (!shown || !*shown) return false;
          if ((*shown)->state != MessageState::kDelivered && (*shown)->state != MessageState::kDeadLettered) return false;
        }
        return true;
      }, std::chrono::seconds(60)));
      server.signal(SIGTERM);
      CHECK(server.wait() == 0);
    }
  }
  CHECK(kills == 3);
  CHECK(acked_refs.size() >= kMessages - 3);  // at most the request in flight at each kill goes unanswered
  auto journal = flowguard::journal::open_journal(dir / "journal.db");
  REQUIRE(journal);
  std::lock_guard lock(mutex);
  std::size_t delivered = 0, dead = 0;
  for (const auto& ref : acked_refs) {
    auto id = (*journal)->id_for_reference(ref);
    REQUIRE(id);
    REQUIRE(*id);
    auto shown = (*journal)->show(**id);
    REQUIRE(shown);
    REQUIRE(*shown);
    if ((*shown)->state == MessageState::kDelivered) {
      ++delivered;
      INFO(ref);
      CHECK(received.count(ref) >= 1);  // the journal says delivered: the receiver has it
    } else {
      ++dead;
    }
  }
  CHECK(delivered + dead == acked_refs.size());
  for (const auto& ref : received) CHECK(posted.count(ref) == 1);  // nothing invented; repeats are the same reference
  WARN("delivered " << delivered << ", dead-lettered " << dead << ", receiver saw " << received.size()
                             << " (" << received.size() - std::set<std::string>(received.begin(), received.end()).size() << " repeats)");
}
