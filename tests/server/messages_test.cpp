// POST /v1/messages, /v1/replay and /v1/requeue on the real server, delivering to a real webhook
// receiver on loopback: journaled before 202, delivered after; retried on 5xx; dead-lettered on
// 400 and for invalid batches; idempotency; back-pressure; a SIGKILLed server resumes.
#include <catch2/catch.hpp>
#include <signal.h>

#include <filesystem>
#include <set>

#include "flowguard/journal/journal.hpp"
#include "flowguard/json/document.hpp"
#include "server_process.hpp"
#include "webhook_receiver.hpp"

namespace fs = std::filesystem;
using namespace flowguard::test;
using flowguard::json::Document;

namespace {

struct Setup {
  fs::path dir;
  std::unique_ptr<WebhookReceiver> receiver;
  fs::path config;

  explicit Setup(const std::string& name, const std::string& webhook_extra = "", const std::string& journal_extra = "") {
    dir = scratch_dir(name);
    auto r = WebhookReceiver::start();
    REQUIRE(r);
    receiver = std::move(*r);
    write_routes(webhook_extra, journal_extra);
    config = dir / "serve.yaml";
    write_file(config, "registry: default\nrouting: routes.yaml\nwatch_interval_ms: 0\n");
  }
  void write_routes(const std::string& webhook_extra = "", const std::string& journal_extra = "") {
    write_file(dir / "routes.yaml",
               "journal: {path: journal.db, group_commit_ms: 1" + journal_extra + "}\n"
               "sinks:\n"
               "  hook: {kind: webhook, url: '" + receiver->url() + "', timeout_ms: 1000, connect_timeout_ms: 500, "
               "retry: {max_attempts: 5, initial_backoff_ms: 20, max_backoff_ms: 200}" + webhook_extra + "}\n"
               "  dead: {kind: spool, directory: dead}\n"
               "dead_letter: dead\n"
               "routes:\n  - match: {type: 'dip.*'}\n    sinks: [hook]\n");
  }
  std::vector<std::string> args() const { return {"--config", config.string()}; }
  std::unique_ptr<flowguard::journal::Journal> journal() const {
    auto j = flowguard::journal::open_journal(dir / "journal.db");
    REQUIRE(j);
    return std::move(*j);
  }
};

std::string message(const std::string& suffix) { return envelope(with_reference(dip_message("IF-001/InitialRegistration"), suffix)); }

Document parse(const std::string& body) {
  auto doc = Document::parse(body);
  INFO(body);
  REQUIRE(doc.ok());
  return std::move(doc).value();
}

std::string first_id(const std::string& body) {
  const auto doc = parse(body);
  const auto* messages = doc.root().find("messages");
  REQUIRE(messages);
  REQUIRE(messages->size() >= 1);
  return std::string(messages->items()[0].find("transactionID")->as_string());
}

}  // namespace

TEST_CASE("messages: a valid batch is 202 once journaled, then delivered to the webhook as sent") {
  Setup s("fg-messages-valid");
  ServerProcess server(s.args());
  REQUIRE(server.ready());
  HttpClient client(server.port());
  const std::string body = message("A0001");
  const auto reply = client.request("POST", "/v1/messages", body);
  INFO(reply.body);
  REQUIRE(reply.status == 202);
  const std::string id = first_id(reply.body);
  CHECK_THAT(id, Catch::StartsWith("T-S-IF-001-"));
  REQUIRE(s.receiver->wait_for_requests(1, std::chrono::seconds(10)));
  const auto got = s.receiver->requests().at(0);
  CHECK(got.method == "POST");
  // The DIP's egress shape: an array of {"payload": …}, the message's bytes as they were posted.
  CHECK(got.body == body);
  REQUIRE(eventually([&] {
    auto shown = s.journal()->show(id);
    return shown && *shown && (*shown)->state == flowguard::journal::MessageState::kDelivered;
  }, std::chrono::seconds(10)));
  // The same reference again: MSG1006 from the journal, nothing delivered twice.
  const auto again = client.request("POST", "/v1/messages", body);
  CHECK(again.status == 400);
  CHECK_THAT(again.body, Catch::Contains("MSG1006"));
  CHECK_THAT(again.body, Catch::Contains("/0/payload/CommonBlock/S1/senderUniqueReference"));
  // Metrics show the sink's deliveries and the journal.
  REQUIRE(eventually([&] {
    return client.request("GET", "/metrics").body.find("flowguard_sink_events_total{outcome=\"delivered\",sink=\"hook\"} 1") != std::string::npos;
  }, std::chrono::seconds(5)));
  CHECK_THAT(client.request("GET", "/metrics").body, Catch::Contains("flowguard_routing_queue_depth 0"));
}

TEST_CASE("messages: an invalid batch is 400 with findings, and dead-lettered with them") {
  Setup s("fg-messages-invalid");
  ServerProcess server(s.args());
  REQUIRE(server.ready());
  HttpClient client(server.port());
  std::string bad = with_reference(dip_message("IF-001/InitialRegistration"), "B0001");
  bad.replace(bad.find("\"MPANCore\""), 10, "\"MPANCorX\"");
  const auto reply = client.request("POST", "/v1/messages", envelope(bad));
  REQUIRE(reply.status == 400);
  const auto doc = parse(reply.body);
  REQUIRE(doc.root().find("messageArray"));
  REQUIRE(doc.root().find("flowguard"));
  REQUIRE(doc.root().find("deadLettered"));
  CHECK(doc.root().find("deadLettered")->size() == 1);
  REQUIRE(eventually([&] { return json_files_in(s.dir / "dead") == 1; }, std::chrono::seconds(10)));
  std::string dead;
  for (const auto& e : fs::directory_iterator(s.dir / "dead")) dead += slurp(e.path());
  CHECK_THAT(dead, Catch::Contains("MPANCor"));
  CHECK_THAT(dead, Catch::Contains("has errors"));
  CHECK(s.receiver->request_count() == 0);
  // Malformed JSON is refused without journaling anything.
  const auto malformed = client.request("POST", "/v1/messages", "[{\"payload\": ");
  CHECK(malformed.status == 400);
  CHECK_THAT(malformed.body, Catch::Contains("MSG1001"));
}

TEST_CASE("messages: Idempotency-Key replays the first answer, and refuses another body with 409") {
  Setup s("fg-messages-idempotency");
  ServerProcess server(s.args());
  REQUIRE(server.ready());
  HttpClient client(server.port());
  const auto first = client.request("POST", "/v1/messages", message("C0001"), {{"Idempotency-Key", "k-1"}});
  REQUIRE(first.status == 202);
  const auto second = client.request("POST", "/v1/messages", message("C0001"), {{"Idempotency-Key", "k-1"}});
  CHECK(second.status == 202);
  CHECK(second.body == first.body);
  CHECK(second.headers.count("idempotent-replayed"));
  const auto other = client.request("POST", "/v1/messages", message("C0002"), {{"Idempotency-Key", "k-1"}});
  CHECK(other.status == 409);
  REQUIRE(s.receiver->wait_for_requests(1, std::chrono::seconds(10)));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(s.receiver->request_count() == 1);
}

TEST_CASE("messages: 5xx and 429 are retried until the webhook recovers, 400 dead-letters, requeue redelivers") {
  Setup s("fg-messages-retry");
  s.receiver->set_sequence({Reply::answer(500), Reply::retry_after(429, "0"), Reply::answer(503)}, Reply::answer(201));
  ServerProcess server(s.args());
  REQUIRE(server.ready());
  HttpClient client(server.port());
  REQUIRE(client.request("POST", "/v1/messages", message("D0001")).status == 202);
  REQUIRE(s.receiver->wait_for_requests(4, std::chrono::seconds(10)));
  CHECK(s.receiver->requests().back().body == s.receiver->requests().front().body);
  // A permanent refusal: dead-lettered with the receiver's answer, then requeued once it is fixed.
  s.receiver->set_reply(Reply::answer(400, "{\"error\":\"bad\"}"));
  const auto reply = client.request("POST", "/v1/messages", message("D0002"));
  REQUIRE(reply.status == 202);
  const std::string id = first_id(reply.body);
  REQUIRE(eventually([&] {
    auto shown = s.journal()->show(id);
    return shown && *shown && (*shown)->state == flowguard::journal::MessageState::kDeadLettered;
  }, std::chrono::seconds(10)));
  CHECK(json_files_in(s.dir / "dead") == 1);
  s.receiver->set_reply(Reply::answer(201));
  const std::size_t before = s.receiver->request_count();
  const auto requeued = client.request("POST", "/v1/requeue",
                                       "{\"datetimeFrom\":null,\"datetimeTo\":null,\"eventCode\":null,\"MPAN\":null,\"version\":null,"
                                       "\"transactionIDs\":[\"" + id + "\"]}");
  INFO(requeued.body);
  REQUIRE(requeued.status == 200);
  CHECK_THAT(requeued.body, Catch::Contains(id));
  REQUIRE(s.receiver->wait_for_requests(before + 1, std::chrono::seconds(10)));
  REQUIRE(eventually([&] {
    auto shown = s.journal()->show(id);
    return shown && *shown && (*shown)->state == flowguard::journal::MessageState::kDelivered;
  }, std::chrono::seconds(10)));
}

TEST_CASE("messages: replay answers the messages as a DIPMessageEgressArray, a bad MessageRequest is 400") {
  Setup s("fg-messages-replay");
  ServerProcess server(s.args());
  REQUIRE(server.ready());
  HttpClient client(server.port());
  REQUIRE(client.request("POST", "/v1/messages", message("E0001")).status == 202);
  REQUIRE(client.request("POST", "/v1/messages", message("E0002")).status == 202);
  const auto replay = client.request("POST", "/v1/replay",
                                     "{\"datetimeFrom\":\"2000-01-01T00:00:00+00:00\",\"datetimeTo\":\"2100-01-01T00:00:00+00:00\","
                                     "\"eventCode\":\"[InitialRegistration]\",\"MPAN\":null,\"version\":\"1\"}");
  INFO(replay.body);
  REQUIRE(replay.status == 200);
  const auto doc = parse(replay.body);
  REQUIRE(doc.root().is_array());
  CHECK(doc.root().size() == 2);
  CHECK(doc.root().items()[0].find("payload"));
  std::string ids = "[";
  for (int i = 0; i < 101; ++i) ids += (i ? ",\"T-" : "\"T-") + std::to_string(i) + "\"";
  ids += "]";
  const auto too_many = client.request("POST", "/v1/requeue",
                                       "{\"datetimeFrom\":null,\"datetimeTo\":null,\"eventCode\":null,\"MPAN\":null,\"version\":null,"
                                       "\"transactionIDs\":" + ids + "}");
  CHECK(too_many.status == 400);
  CHECK_THAT(too_many.body, Catch::Contains("1 to 100"));
  const auto missing = client.request("POST", "/v1/replay", "{\"datetimeFrom\":null}");
  CHECK(missing.status == 400);
  CHECK_THAT(missing.body, Catch::Contains("is required"));
  // Without routing configured the routes say so.
  const fs::path plain = s.dir / "plain.yaml";
  write_file(plain, "registry: default\nwatch_interval_ms: 0\n");
  ServerProcess bare({"--config", plain.string()});
  REQUIRE(bare.ready());
  HttpClient bare_client(bare.port());
  CHECK(bare_client.request("POST", "/v1/messages", message("E0003")).status == 404);
}

TEST_CASE("messages: when a sink is down the journal absorbs up to max_undelivered, then 503 with Retry-After") {
  Setup s("fg-messages-backpressure", "", ", max_undelivered: 3");
  s.receiver->set_reply(Reply::answer(503));
  ServerProcess server(s.args());
  REQUIRE(server.ready());
  HttpClient client(server.port());
  for (int i = 0; i < 3; ++i) REQUIRE(client.request("POST", "/v1/messages", message("F000" + std::to_string(i))).status == 202);
  const auto full = client.request("POST", "/v1/messages", message("F0009"));
  CHECK(full.status == 503);
  CHECK(full.headers.count("retry-after"));
  // The refused batch left nothing behind: once the sink is back it can be sent again.
  s.receiver->set_reply(Reply::answer(201));
  REQUIRE(eventually([&] { return client.request("POST", "/v1/messages", message("F0009")).status == 202; }, std::chrono::seconds(10)));
}

TEST_CASE("messages: a SIGKILLed server resumes undelivered messages from its journal on restart") {
  Setup s("fg-messages-restart");
  s.receiver->set_reply(Reply::answer(503));
  std::set<std::string> acked;
  {
    ServerProcess server(s.args());
    REQUIRE(server.ready());
    HttpClient client(server.port());
    for (int i = 0; i < 5; ++i) {
      const auto r = client.request("POST", "/v1/messages", message("G000" + std::to_string(i)));
      REQUIRE(r.status == 202);
      acked.insert(first_id(r.body));
    }
    server.signal(SIGKILL);
    server.wait();
  }
  s.receiver->set_reply(Reply::answer(201));
  s.receiver->clear();
  ServerProcess server(s.args());
  REQUIRE(server.ready());
  REQUIRE(eventually([&] {
    auto j = s.journal();
    for (const auto& id : acked) {
      auto shown = j->show(id);
      if (!shown || !*shown || (*shown)->state != flowguard::journal::MessageState::kDelivered) return false;
    }
    return true;
  }, std::chrono::seconds(15)));
  // Resumed in one webhook batch (max_message_count 100): each message exactly once.
  std::multiset<std::string> references;
  for (const auto& r : s.receiver->requests()) {
    const auto doc = parse(r.body);
    for (const auto& m : doc.root().items())
      references.insert(std::string(flowguard::json::resolve_pointer(m, "/payload/CommonBlock/S1/senderUniqueReference")->as_string()));
  }
  CHECK(references.size() == 5);
  CHECK(std::set<std::string>(references.begin(), references.end()).size() == 5);
}

TEST_CASE("messages: a cross-site browser POST (a foreign Origin) is refused before anything is checked or kept") {
  Setup s("fg-messages-origin");
  ServerProcess server(s.args());
  REQUIRE(server.ready());
  HttpClient client(server.port());
  const auto foreign = client.request("POST", "/v1/messages", message("H0001"), {{"Origin", "https://evil.example"}});
  CHECK(foreign.status == 403);
  CHECK_THAT(foreign.body, Catch::Contains("cross-origin"));
  CHECK(client.request("POST", "/v1/check", message("H0001"), {{"Origin", "http://attacker.test:8080"}}).status == 403);
  // The server's own page (same origin) and non-browser clients (no Origin) are served.
  const std::string own = "http://127.0.0.1:" + std::to_string(server.port());
  CHECK(client.request("POST", "/v1/messages", message("H0002"), {{"Origin", own}}).status == 202);
  CHECK(client.request("POST", "/v1/messages", message("H0003")).status == 202);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto j = s.journal();
  auto kept = j->id_for_reference("S-IF-001-0123456789-SUP-20250317-H0001");
  REQUIRE(kept);
  CHECK(!*kept);
}
