// `flowguard journal`'s core over a real journal file: output, filters, exit statuses.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "flowguard/journal/journal.hpp"
#include "flowguard/journal/journal_cli.hpp"
#include "flowguard/json/document.hpp"
#include "journal_test_support.hpp"

using namespace flowguard;
using namespace flowguard::journal;
using namespace std::chrono_literals;
using flowguard::journal::testing::message;
using flowguard::journal::testing::TempDir;

namespace {

struct Run {
  int status = -1;
  std::string out, err;
};

Run run(std::vector<std::string> args) {
  std::ostringstream out, err;
  Run r;
  r.status = run_journal_command(std::move(args), out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

// Three messages: T-A delivered (CS001, 2026-04-01T10:00Z), T-B failed (CS002, 11:00Z),
// T-C dead-lettered (CS001, 12:00Z, MPAN 2222222222222).
std::string make_journal(const TempDir& dir) {
  const auto path = dir.file("j.db").string();
  auto j = std::move(open_journal(path)).value();
  const auto base = Clock::from_time_t(1775037600);  // 2026-04-01T10:00:00Z
  std::vector<NewMessage> batch{message("A", {"hook"}), message("B", {"hook"}), message("C", {"hook"})};
  for (std::size_t i = 0; i < batch.size(); ++i) {
    batch[i].received_at = base + std::chrono::hours(i);
    batch[i].event_code = i == 1 ? "CS002" : "CS001";
    batch[i].mpan = i == 2 ? "2222222222222" : "1111111111111";
    batch[i].interface_id = "IF-006";
  }
  auto ids = j->accept(batch);
  REQUIRE(ids.ok());
  REQUIRE(j->claim("hook", 10, Clock::now())->size() == 3);
  REQUIRE(j->mark_delivered("hook", {"T-A"}).ok());
  REQUIRE(j->mark_failed("hook", "T-B", "HTTP 400", "").ok());
  REQUIRE(j->mark_failed("hook", "T-C", "HTTP 413", "dlq").ok());
  REQUIRE(j->claim("dlq", 10, Clock::now())->size() == 1);
  REQUIRE(j->mark_delivered("dlq", {"T-C"}).ok());
  return path;
}

}  // namespace

TEST_CASE("journal cli: list in text and JSON, with filters") {
  TempDir dir("cli-list");
  const auto db = make_journal(dir);
  auto all = run({"list", "--db", db});
  REQUIRE(all.status == 0);
  CHECK(all.out.find("T-A  Delivered  2026-04-01T10:00:00.000Z  dip.test  CS001  1111111111111  hook:Delivered") == 0);
  CHECK_THAT(all.out, Catch::Contains("T-B  Failed") && Catch::Contains("T-C  DeadLettered"));
  CHECK_THAT(all.out, Catch::Contains("dlq:Delivered,hook:DeadLettered"));
  CHECK_THAT(all.err, Catch::Contains("3 message(s)"));

  auto failed = run({"list", "--db", db, "--state", "failed"});
  REQUIRE(failed.status == 0);
  CHECK(failed.out.rfind("T-B ", 0) == 0);
  CHECK(failed.out.find("T-A") == std::string::npos);

  auto window = run({"list", "--db", db, "--from", "2026-04-01T11:00:00Z", "--to", "2026-04-01T13:00:00+01:00",
                     "--event", "CS001"});
  REQUIRE(window.status == 0);
  CHECK(window.out.find("T-A") == std::string::npos);  // before --from
  CHECK(window.out.find("T-B") == std::string::npos);  // CS002
  CHECK(window.out.rfind("T-C ", 0) == 0);  // 12:00Z: --to 13:00+01:00 is the same instant, inclusive
  auto inclusive = run({"list", "--db", db, "--from", "2026-04-01T11:00:00Z", "--to", "2026-04-01T13:00:00+01:00"});
  CHECK_THAT(inclusive.out, Catch::Contains("T-B") && Catch::Contains("T-C"));

  auto json = run({"list", "--db", db, "--mpan", "2222222222222", "--format", "json", "--limit", "5"});
  REQUIRE(json.status == 0);
  auto doc = json::Document::parse(json.out);
  REQUIRE(doc.ok());
  CHECK_THAT(json.out, Catch::StartsWith("{\"messages\":[{\"id\":\"T-C\""));
  CHECK_THAT(json.out, Catch::Contains("\"state\":\"DeadLettered\""));
  CHECK_THAT(json.out, Catch::Contains("\"lastError\":\"HTTP 413\""));
}

TEST_CASE("journal cli: show prints a message with its deliveries, findings and body") {
  TempDir dir("cli-show");
  const auto db = make_journal(dir);
  auto text = run({"show", "T-B", "--db", db});
  REQUIRE(text.status == 0);
  CHECK_THAT(text.out, Catch::Contains("id:                 T-B") && Catch::Contains("state:              Failed"));
  CHECK_THAT(text.out, Catch::Contains("hook  Failed  attempts 1  last error: HTTP 400"));
  CHECK_THAT(text.out, Catch::Contains(testing::body_for("B")));
  auto json = run({"show", "--db", db, "T-C", "--format", "json"});
  REQUIRE(json.status == 0);
  REQUIRE(json::Document::parse(json.out).ok());
  CHECK_THAT(json.out, Catch::Contains("\"body\":" + testing::body_for("C")));  // JSON bodies embedded as JSON
  CHECK_THAT(json.out, Catch::Contains("\"findings\":[]"));

  auto missing = run({"show", "T-nope", "--db", db});
  CHECK(missing.status == 2);
  CHECK_THAT(missing.err, Catch::Contains("no message with id \"T-nope\""));
}

TEST_CASE("journal cli: replay and requeue act on the matching messages only") {
  TempDir dir("cli-replay");
  const auto db = make_journal(dir);
  auto replayed = run({"replay", "--db", db, "--event", "CS001"});
  REQUIRE(replayed.status == 0);
  CHECK(replayed.out == "T-A\n");  // T-C is CS001 but DeadLettered
  CHECK_THAT(replayed.err, Catch::Contains("replayed 1 message(s)"));
  auto to_sink = run({"replay", "--db", db, "--id", "T-A", "--sink", "archive"});
  CHECK(to_sink.status == 0);
  CHECK(to_sink.out.empty());  // T-A is pending again, not Delivered: nothing to replay

  auto requeued = run({"requeue", "--db", db, "--mpan", "2222222222222"});
  REQUIRE(requeued.status == 0);
  CHECK(requeued.out == "T-C\n");
  auto j = std::move(open_journal(db)).value();
  const auto c = j->show("T-C")->value();
  CHECK(c.state == MessageState::kRouted);
  const auto b = j->show("T-B")->value();
  CHECK(b.state == MessageState::kFailed);
  auto claimed = j->claim("hook", 10, Clock::now());
  REQUIRE(claimed.ok());
  REQUIRE(claimed->size() == 2);
  CHECK((*claimed)[0].id == "T-A");
  CHECK((*claimed)[1].id == "T-C");
}

TEST_CASE("journal cli: the journal open in a server is requeued from the CLI, the server sees the new work") {
  TempDir dir("cli-beside");
  const auto db = make_journal(dir);
  JournalOptions options;
  options.max_undelivered = 1;
  auto server = std::move(open_journal(db, options)).value();  // nothing undelivered: room for one
  REQUIRE(run({"requeue", "--db", db, "--id", "T-B"}).status == 0);
  // The requeued delivery counts against the limit now, and it is claimable.
  auto refused = server->accept({message("D", {"hook"})});
  REQUIRE(!refused.ok());
  CHECK(refused.error().code == ErrorCode::kLimit);
  auto claimed = server->claim("hook", 10, Clock::now());
  REQUIRE(claimed->size() == 1);
  REQUIRE(server->mark_delivered("hook", {"T-B"}).ok());
  CHECK(server->accept({message("D", {"hook"})}).ok());
}

TEST_CASE("journal cli: prune and stats") {
  TempDir dir("cli-prune");
  const auto db = make_journal(dir);
  auto st = run({"stats", "--db", db, "--format", "json"});
  REQUIRE(st.status == 0);
  CHECK(st.out == "{\"messages\":3,\"undelivered\":0,\"oldestUndelivered\":null,\"deadLettered\":1}\n");
  // The messages are from 2026-04-01, so how many are pruned depends on today's date: every one
  // once the retention is shorter than their age.
  auto pruned = run({"prune", "--db", db, "--retention-days", "1"});
  REQUIRE(pruned.status == 0);
  const bool past = Clock::now() > Clock::from_time_t(1775037600) + 26h;
  CHECK(pruned.out == (past ? "pruned 3 message(s)\n" : "pruned 0 message(s)\n"));
}

TEST_CASE("journal cli: usage errors exit 2, journal errors exit 4") {
  TempDir dir("cli-errors");
  const auto db = make_journal(dir);
  CHECK(run({}).status == 2);
  auto help = run({"--help"});
  CHECK(help.status == 0);
  CHECK_THAT(help.out, Catch::Contains("usage: flowguard journal") && Catch::Contains("requeue"));
  CHECK(run({"list", "--help"}).status == 0);

  auto unknown = run({"lsit", "--db", db});
  CHECK(unknown.status == 2);
  CHECK_THAT(unknown.err, Catch::Contains("unknown journal command \"lsit\""));
  auto no_db = run({"list"});
  CHECK(no_db.status == 2);
  CHECK_THAT(no_db.err, Catch::Contains("needs --db FILE"));
  CHECK(run({"list", "--db", db, "--state", "lost"}).status == 2);
  CHECK(run({"list", "--db", db, "--from", "yesterday"}).status == 2);
  CHECK(run({"list", "--db", db, "--from", "2026-02-30"}).status == 2);
  CHECK(run({"list", "--db", db, "--limit", "0"}).status == 2);
  CHECK(run({"list", "--db", db, "--format", "xml"}).status == 2);
  CHECK(run({"list", "--db", db, "--bogus"}).status == 2);
  CHECK(run({"list", "--db"}).status == 2);
  auto everything = run({"requeue", "--db", db});
  CHECK(everything.status == 2);
  CHECK_THAT(everything.err, Catch::Contains("at least one filter"));
  CHECK(run({"replay", "--db", db, "--state", "failed"}).status == 2);
  std::vector<std::string> many{"requeue", "--db", db};
  for (int i = 0; i < 101; ++i) {
    many.push_back("--id");
    many.push_back("T-" + std::to_string(i));
  }
  auto too_many = run(many);
  CHECK(too_many.status == 2);
  CHECK_THAT(too_many.err, Catch::Contains("at most 100"));

  auto missing = run({"list", "--db", dir.file("nope.db").string()});
  CHECK(missing.status == 4);
  CHECK_THAT(missing.err, Catch::Contains("does not exist"));
  CHECK(!std::filesystem::exists(dir.file("nope.db")));
  std::ofstream(dir.file("text.db")) << "not a journal at all, only words in a file that is long enough\n";
  auto foreign = run({"list", "--db", dir.file("text.db").string()});
  CHECK(foreign.status == 4);
  CHECK_THAT(foreign.err, Catch::Contains("not a flowguard journal"));
}
