// The journal against real SQLite files in a temporary folder: states, duplicates, group commit,
// claims, restart, retention, replay/requeue, idempotency, refusing foreign files, and a SIGKILL
// crash in the middle of accept()s.
#include <catch2/catch.hpp>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <condition_variable>
#include <map>
#include <mutex>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "flowguard/journal/journal.hpp"
#include "journal_test_support.hpp"

using namespace flowguard;
using namespace flowguard::journal;
using namespace std::chrono_literals;
using flowguard::journal::testing::message;
using flowguard::journal::testing::TempDir;

namespace {

std::unique_ptr<Journal> open_ok(const std::filesystem::path& path, JournalOptions options = {}) {
  auto j = open_journal(path, options);
  INFO((j ? std::string() : j.error().message));
  REQUIRE(j.ok());
  return std::move(j).value();
}

std::vector<std::string> accept_ok(Journal& j, const std::vector<NewMessage>& batch) {
  auto r = j.accept(batch);
  INFO((r ? std::string() : r.error().message));
  REQUIRE(r.ok());
  REQUIRE(r->duplicates.empty());
  REQUIRE(r->ids.size() == batch.size());
  return r->ids;
}

MessageRecord show_ok(Journal& j, const std::string& id) {
  auto r = j.show(id);
  REQUIRE(r.ok());
  REQUIRE(r->has_value());
  return **r;
}

const DeliveryRecord& delivery(const MessageRecord& r, const std::string& sink) {
  for (const auto& d : r.deliveries) {
    if (d.sink == sink) return d;
  }
  FAIL("no delivery to " << sink << " in " << r.id);
  throw std::logic_error("unreachable");
}

std::vector<std::string> claim_ids(Journal& j, const std::string& sink, std::size_t max = 100,
                                   TimePoint now = Clock::now()) {
  auto c = j.claim(sink, max, now);
  REQUIRE(c.ok());
  std::vector<std::string> ids;
  for (const auto& x : *c) ids.push_back(x.id);
  return ids;
}

std::string sql_text(const std::filesystem::path& path, const char* sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) == SQLITE_OK);
  std::string out;
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    if (!out.empty()) out += "\n";
    const auto* t = sqlite3_column_text(stmt, 0);
    out += t ? reinterpret_cast<const char*>(t) : "";
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return out;
}

}  // namespace

TEST_CASE("journal: accept gives ids from references, or generated ones, and keeps every field") {
  TempDir dir("ids");
  auto j = open_ok(dir.file("j.db"));
  auto a = message("REF-0001", {"hook"});
  a.interface_id = "IF-006";
  a.event_code = "CS001";
  a.mpan = "1234567890123";
  a.sender = "SUP1";
  a.recipient = "DIP";
  a.findings_json = "[]";
  a.received_at = Clock::now() - 2s;
  a.validated_at = Clock::now() - 1s;
  auto b = message("", {"hook"});
  auto c = message("", {"hook"});
  const std::string long_ref(120, 'x');
  auto d = message(long_ref, {"hook"});
  const auto ids = accept_ok(*j, {a, b, c, d});

  CHECK(ids[0] == "T-REF-0001");
  const std::regex generated(R"(T-FG-\d{8}T\d{6}Z-\d+)");
  CHECK(std::regex_match(ids[1], generated));
  CHECK(std::regex_match(ids[2], generated));
  CHECK(ids[1] != ids[2]);
  CHECK(ids[3].size() <= 65);
  CHECK(ids[3].rfind("T-xxxx", 0) == 0);

  const auto r = show_ok(*j, ids[0]);
  CHECK(r.reference == "REF-0001");
  CHECK(r.type == "dip.test");
  CHECK(r.interface_id == "IF-006");
  CHECK(r.event_code == "CS001");
  CHECK(r.mpan == "1234567890123");
  CHECK(r.sender == "SUP1");
  CHECK(r.recipient == "DIP");
  CHECK(r.valid);
  CHECK(r.body == a.body);
  CHECK(r.state == MessageState::kRouted);
  CHECK(std::chrono::abs(r.received_at - a.received_at) < 1ms);
  CHECK(std::chrono::abs(r.validated_at - a.validated_at) < 1ms);
  CHECK(r.routed_at >= r.validated_at);
  REQUIRE(r.deliveries.size() == 1);
  CHECK(r.deliveries[0].state == DeliveryState::kPending);

  auto by_ref = j->id_for_reference(long_ref);
  REQUIRE(by_ref.ok());
  CHECK(*by_ref == std::optional<std::string>(ids[3]));
  CHECK(!j->id_for_reference("no-such-ref")->has_value());
  CHECK(!j->show("T-missing")->has_value());

  // Generated ids stay distinct across a reopen (the sequence is in the file).
  j.reset();
  j = open_ok(dir.file("j.db"));
  const auto more = accept_ok(*j, {message("", {"hook"})});
  CHECK(more[0] != ids[1]);
  CHECK(more[0] != ids[2]);
}

TEST_CASE("journal: delivery and message states through delivered, retry, failure and dead-letter") {
  TempDir dir("states");
  auto j = open_ok(dir.file("j.db"));
  const auto ids = accept_ok(*j, {message("A", {"hook"}), message("B", {"hook"}), message("C", {"hook", "file"}),
                                  message("D", {"hook"})});

  SECTION("delivered") {
    REQUIRE(claim_ids(*j, "hook").size() == 4);
    REQUIRE(j->mark_delivered("hook", {ids[0]}).ok());
    const auto r = show_ok(*j, ids[0]);
    CHECK(r.state == MessageState::kDelivered);
    CHECK(r.deliveries[0].state == DeliveryState::kDelivered);
    CHECK(r.deliveries[0].attempts == 1);
    CHECK(r.deliveries[0].delivered_at.has_value());
    // A repeat is harmless; an id without a delivery to that sink is an error naming it.
    CHECK(j->mark_delivered("hook", {ids[0]}).ok());
    auto bad = j->mark_delivered("file", {ids[0]});
    REQUIRE(!bad.ok());
    CHECK(bad.error().code == ErrorCode::kUsage);
    CHECK_THAT(bad.error().message, Catch::Contains(ids[0]) && Catch::Contains("\"file\""));
  }

  SECTION("one of two sinks delivered: still Routed; both: Delivered") {
    claim_ids(*j, "hook");
    REQUIRE(j->mark_delivered("hook", {ids[2]}).ok());
    CHECK(show_ok(*j, ids[2]).state == MessageState::kRouted);
    REQUIRE(claim_ids(*j, "file") == std::vector<std::string>{ids[2]});
    REQUIRE(j->mark_delivered("file", {ids[2]}).ok());
    CHECK(show_ok(*j, ids[2]).state == MessageState::kDelivered);
  }

  SECTION("retrying: not due before next_attempt, then delivered") {
    claim_ids(*j, "hook");
    const auto later = Clock::now() + 1h;
    REQUIRE(j->mark_retry("hook", ids[1], later, "HTTP 503").ok());
    auto r = show_ok(*j, ids[1]);
    CHECK(r.state == MessageState::kRetrying);
    CHECK(r.deliveries[0].state == DeliveryState::kRetrying);
    CHECK(r.deliveries[0].attempts == 1);
    CHECK(r.deliveries[0].last_error == "HTTP 503");
    // The claim was released but the retry is not due yet; an hour on, it is.
    CHECK(claim_ids(*j, "hook").empty());
    auto again = j->claim("hook", 10, later + 1s);
    REQUIRE(again.ok());
    REQUIRE(again->size() == 1);
    CHECK((*again)[0].id == ids[1]);
    CHECK((*again)[0].attempts == 1);
    REQUIRE(j->mark_delivered("hook", {ids[1]}).ok());
    r = show_ok(*j, ids[1]);
    CHECK(r.state == MessageState::kDelivered);
    CHECK(r.deliveries[0].attempts == 2);
  }

  SECTION("a retrying sink beside a delivered one makes the message Retrying") {
    claim_ids(*j, "hook");
    claim_ids(*j, "file");
    REQUIRE(j->mark_delivered("file", {ids[2]}).ok());
    REQUIRE(j->mark_retry("hook", ids[2], Clock::now() + 1min, "timeout").ok());
    CHECK(show_ok(*j, ids[2]).state == MessageState::kRetrying);
  }

  SECTION("failed without a dead-letter sink") {
    claim_ids(*j, "hook");
    REQUIRE(j->mark_failed("hook", ids[3], "HTTP 400", "").ok());
    const auto r = show_ok(*j, ids[3]);
    CHECK(r.state == MessageState::kFailed);
    CHECK(r.deliveries[0].state == DeliveryState::kFailed);
    CHECK(r.deliveries[0].last_error == "HTTP 400");
    CHECK(claim_ids(*j, "hook").empty());
  }

  SECTION("failed with a dead-letter sink: DeadLettered once the dead-letter copy is delivered") {
    claim_ids(*j, "hook");
    REQUIRE(j->mark_failed("hook", ids[3], "HTTP 413", "dlq").ok());
    auto r = show_ok(*j, ids[3]);
    CHECK(delivery(r, "hook").state == DeliveryState::kDeadLettered);
    CHECK(delivery(r, "dlq").state == DeliveryState::kPending);
    CHECK(r.state == MessageState::kRouted);  // the dead-letter copy is still to go
    CHECK_THAT(r.dead_letter_reason, Catch::Contains("HTTP 413"));
    auto dl = j->claim("dlq", 10, Clock::now());
    REQUIRE(dl.ok());
    REQUIRE(dl->size() == 1);
    CHECK((*dl)[0].id == ids[3]);
    CHECK_THAT((*dl)[0].dead_letter_reason, Catch::Contains("HTTP 413"));
    CHECK((*dl)[0].reference == "D");
    REQUIRE(j->mark_delivered("dlq", {ids[3]}).ok());
    r = show_ok(*j, ids[3]);
    CHECK(r.state == MessageState::kDeadLettered);
    auto st = j->stats();
    REQUIRE(st.ok());
    CHECK(st->dead_lettered == 1);
  }

  SECTION("the dead-letter sink failing permanently is Failed, not dead-lettered to itself") {
    claim_ids(*j, "hook");
    REQUIRE(j->mark_failed("hook", ids[3], "HTTP 413", "dlq").ok());
    claim_ids(*j, "dlq");
    REQUIRE(j->mark_failed("dlq", ids[3], "disk full", "dlq").ok());
    const auto r = show_ok(*j, ids[3]);
    CHECK(delivery(r, "dlq").state == DeliveryState::kFailed);
    CHECK(r.state == MessageState::kFailed);
  }
}

TEST_CASE("journal: duplicates inside a batch and across batches commit nothing and name the indexes") {
  TempDir dir("dups");
  auto j = open_ok(dir.file("j.db"));
  accept_ok(*j, {message("R1", {"hook"}), message("R2", {"hook"})});

  auto across = j->accept({message("R3", {"hook"}), message("R2", {"hook"}), message("", {"hook"})});
  REQUIRE(across.ok());
  CHECK(across->ids.empty());
  CHECK(across->duplicates == std::vector<std::size_t>{1});

  auto inside = j->accept({message("R4", {"hook"}), message("R5", {"hook"}), message("R4", {"hook"})});
  REQUIRE(inside.ok());
  CHECK(inside->ids.empty());
  CHECK(inside->duplicates == std::vector<std::size_t>{2});

  // Nothing of either batch is there; the references are free for a later batch.
  CHECK(!j->id_for_reference("R3")->has_value());
  CHECK(!j->id_for_reference("R4")->has_value());
  CHECK(j->stats()->messages == 2);
  accept_ok(*j, {message("R3", {"hook"}), message("R4", {"hook"})});
  CHECK(j->stats()->messages == 4);
}

TEST_CASE("journal: max_undelivered refuses a batch with kLimit, and frees up as deliveries complete") {
  TempDir dir("limit");
  JournalOptions options;
  options.max_undelivered = 3;
  auto j = open_ok(dir.file("j.db"), options);
  const auto ids = accept_ok(*j, {message("L1", {"a", "b"})});
  auto refused = j->accept({message("L2", {"a", "b"})});
  REQUIRE(!refused.ok());
  CHECK(refused.error().code == ErrorCode::kLimit);
  CHECK_THAT(refused.error().message, Catch::Contains("limit of 3"));
  CHECK(!j->id_for_reference("L2")->has_value());
  claim_ids(*j, "a");
  REQUIRE(j->mark_delivered("a", ids).ok());
  accept_ok(*j, {message("L2", {"a", "b"})});
  // The count survives a reopen (it is read from the file).
  j.reset();
  j = open_ok(dir.file("j.db"), options);
  CHECK(j->accept({message("L3", {"a"})}).error().code == ErrorCode::kLimit);
}

TEST_CASE("journal: group commit from 8 threads keeps every batch atomic and every id distinct") {
  TempDir dir("group");
  JournalOptions options;
  options.group_commit_window = 5ms;
  auto j = open_ok(dir.file("j.db"), options);
  constexpr int kThreads = 8;
  constexpr int kBatches = 25;
  std::vector<std::vector<std::string>> ids(kThreads);
  std::vector<std::vector<std::string>> refused_refs(kThreads);
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int b = 0; b < kBatches; ++b) {
        const std::string prefix = "G" + std::to_string(t) + "-" + std::to_string(b) + "-";
        std::vector<NewMessage> batch{message(prefix + "0", {"hook"}), message("", {"hook"}),
                                      message(prefix + "2", {"hook", "file"})};
        // Every fifth batch repeats a reference this thread already journaled: it alone must fail.
        const bool duplicate = b % 5 == 4;
        if (duplicate) batch.push_back(message("G" + std::to_string(t) + "-0-0", {"hook"}));
        auto r = j->accept(batch);
        if (!r.ok()) {
          errors[t] = r.error().message;
          return;
        }
        if (duplicate) {
          if (!r->ids.empty() || r->duplicates != std::vector<std::size_t>{3}) errors[t] = "duplicate not reported";
          refused_refs[t].push_back(prefix + "0");
          refused_refs[t].push_back(prefix + "2");
        } else {
          if (r->ids.size() != 3 || !r->duplicates.empty()) errors[t] = "batch not accepted whole";
          ids[t].insert(ids[t].end(), r->ids.begin(), r->ids.end());
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  std::set<std::string> all;
  std::size_t total = 0;
  for (int t = 0; t < kThreads; ++t) {
    INFO("thread " << t);
    CHECK(errors[t].empty());
    total += ids[t].size();
    all.insert(ids[t].begin(), ids[t].end());
    for (const auto& ref : refused_refs[t]) CHECK(!j->id_for_reference(ref)->has_value());
  }
  CHECK(total == std::size_t{kThreads} * 20 * 3);
  CHECK(all.size() == total);
  CHECK(j->stats()->messages == total);
  CHECK(j->stats()->undelivered == total / 3 * 4);
  // Each accepted batch is whole: its referenced messages and its generated one are all there.
  for (const auto& id : all) CHECK(j->show(id)->has_value());
}

TEST_CASE("journal: claim never hands one delivery out twice, even from concurrent threads") {
  TempDir dir("claims");
  auto j = open_ok(dir.file("j.db"));
  std::vector<NewMessage> batch;
  for (int i = 0; i < 300; ++i) batch.push_back(message("C" + std::to_string(i), {"hook"}));
  const auto ids = accept_ok(*j, batch);

  // Sequentially: a second claim without a mark gets nothing; oldest first, up to max.
  auto first = claim_ids(*j, "hook", 10);
  CHECK(first == std::vector<std::string>(ids.begin(), ids.begin() + 10));
  auto second = claim_ids(*j, "hook", 5);
  CHECK(second == std::vector<std::string>(ids.begin() + 10, ids.begin() + 15));
  REQUIRE(j->mark_delivered("hook", first).ok());
  REQUIRE(j->mark_delivered("hook", second).ok());

  std::vector<std::vector<std::string>> got(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (;;) {
        auto c = j->claim("hook", 7, Clock::now());
        if (!c.ok() || c->empty()) return;
        for (const auto& x : *c) got[t].push_back(x.id);
      }
    });
  }
  for (auto& th : threads) th.join();
  std::multiset<std::string> handed;
  for (const auto& g : got) handed.insert(g.begin(), g.end());
  CHECK(handed.size() == 285);
  CHECK(std::set<std::string>(handed.begin(), handed.end()).size() == 285);
  // Other sinks have their own claims.
  CHECK(claim_ids(*j, "file").empty());
}

TEST_CASE("journal: after a restart every delivery not final is claimable again") {
  TempDir dir("restart");
  std::vector<std::string> ids;
  {
    auto j = open_ok(dir.file("j.db"));
    ids = accept_ok(*j, {message("S1", {"hook"}), message("S2", {"hook"}), message("S3", {"hook"})});
    REQUIRE(claim_ids(*j, "hook").size() == 3);
    REQUIRE(j->mark_delivered("hook", {ids[0]}).ok());
    REQUIRE(j->mark_retry("hook", ids[1], Clock::now() - 1s, "timeout").ok());
    // ids[2] stays claimed, as if the process died mid-delivery.
    CHECK(claim_ids(*j, "hook") == std::vector<std::string>{ids[1]});
  }
  auto j = open_ok(dir.file("j.db"));
  CHECK(claim_ids(*j, "hook") == std::vector<std::string>{ids[1], ids[2]});
  CHECK(show_ok(*j, ids[0]).state == MessageState::kDelivered);
}

TEST_CASE("journal: prune removes old final messages and old idempotency keys, keeps undelivered ones") {
  TempDir dir("prune");
  JournalOptions options;
  options.retention = std::chrono::hours(24);
  auto j = open_ok(dir.file("j.db"), options);
  auto old_done = message("P1", {"hook"});
  auto old_pending = message("P2", {"hook"});
  auto fresh_done = message("P3", {"hook"});
  old_done.received_at = old_pending.received_at = Clock::now() - 48h;
  const auto ids = accept_ok(*j, {old_done, old_pending, fresh_done});
  REQUIRE(claim_ids(*j, "hook").size() == 3);
  REQUIRE(j->mark_delivered("hook", {ids[0], ids[2]}).ok());
  REQUIRE(j->remember("key-1", {"abc", 201, "{}"}).ok());

  auto none = j->prune(Clock::now());
  REQUIRE(none.ok());
  CHECK(*none == 1);
  CHECK(!j->show(ids[0])->has_value());
  CHECK(j->show(ids[1])->has_value());
  CHECK(j->show(ids[2])->has_value());
  CHECK(j->recall("key-1")->has_value());
  // Two days on, the fresh one and the key are old too; the pending one still stays.
  auto later = j->prune(Clock::now() + 48h);
  REQUIRE(later.ok());
  CHECK(*later == 1);
  CHECK(j->show(ids[1])->has_value());
  CHECK(sql_text(dir.file("j.db"), "SELECT count(*) FROM idempotency") == "0");
  CHECK(sql_text(dir.file("j.db"), "SELECT count(*) FROM deliveries") == "1");
}

TEST_CASE("journal: list, replay and requeue filter by time, event code, MPAN, ids and state") {
  TempDir dir("query");
  auto j = open_ok(dir.file("j.db"));
  const auto t0 = Clock::now() - 10h;
  std::vector<NewMessage> batch;
  for (int i = 0; i < 6; ++i) {
    auto m = message("Q" + std::to_string(i), {"hook"});
    m.event_code = i % 2 ? "CS002" : "CS001";
    m.mpan = i < 3 ? "1111111111111" : "2222222222222";
    m.received_at = t0 + std::chrono::hours(i);
    batch.push_back(m);
  }
  const auto ids = accept_ok(*j, batch);
  REQUIRE(claim_ids(*j, "hook").size() == 6);
  REQUIRE(j->mark_delivered("hook", {ids[0], ids[1], ids[2], ids[3]}).ok());
  REQUIRE(j->mark_failed("hook", ids[4], "HTTP 400", "").ok());
  REQUIRE(j->mark_failed("hook", ids[5], "HTTP 413", "dlq").ok());

  auto listed = [&](MessageQuery q) {
    auto r = j->list(q);
    REQUIRE(r.ok());
    std::vector<std::string> out;
    for (const auto& m : *r) out.push_back(m.id);
    return out;
  };
  MessageQuery q;
  CHECK(listed(q) == ids);
  q.event_code = "CS001";
  CHECK(listed(q) == std::vector<std::string>{ids[0], ids[2], ids[4]});
  q.mpan = "2222222222222";
  CHECK(listed(q) == std::vector<std::string>{ids[4]});
  q = {};
  q.from = t0 + 1h;
  q.to = t0 + 3h;
  CHECK(listed(q) == std::vector<std::string>{ids[1], ids[2], ids[3]});
  q = {};
  q.ids = {ids[5], ids[0], "T-none"};
  CHECK(listed(q) == std::vector<std::string>{ids[0], ids[5]});
  q = {};
  q.state = MessageState::kFailed;
  CHECK(listed(q) == std::vector<std::string>{ids[4]});
  q = {};
  q.limit = 2;
  CHECK(listed(q) == std::vector<std::string>{ids[0], ids[1]});

  SECTION("more than 100 ids are refused, as the DIP refuses them") {
    MessageQuery many;
    for (int i = 0; i < 101; ++i) many.ids.push_back("T-" + std::to_string(i));
    CHECK(j->list(many).error().code == ErrorCode::kUsage);
    CHECK(j->replay(many, "").error().code == ErrorCode::kUsage);
    CHECK(j->requeue(many).error().code == ErrorCode::kUsage);
    CHECK_THAT(j->requeue(many).error().message, Catch::Contains("101") && Catch::Contains("100"));
    many.ids.resize(100);
    CHECK(j->list(many).ok());
  }

  SECTION("replay: Delivered messages matching the filter become pending again") {
    MessageQuery r;
    r.event_code = "CS002";
    auto replayed = j->replay(r, "");
    REQUIRE(replayed.ok());
    CHECK(*replayed == std::vector<std::string>{ids[1], ids[3]});  // ids[5] is not Delivered
    CHECK(show_ok(*j, ids[1]).state == MessageState::kRouted);
    CHECK(show_ok(*j, ids[1]).deliveries[0].attempts == 0);
    CHECK(claim_ids(*j, "hook") == std::vector<std::string>{ids[1], ids[3]});
    // To one other sink alone.
    MessageQuery one;
    one.ids = {ids[0]};
    auto to_archive = j->replay(one, "archive");
    REQUIRE(to_archive.ok());
    CHECK(*to_archive == std::vector<std::string>{ids[0]});
    const auto rec = show_ok(*j, ids[0]);
    CHECK(delivery(rec, "archive").state == DeliveryState::kPending);
    CHECK(delivery(rec, "hook").state == DeliveryState::kDelivered);
    MessageQuery failed_only;
    failed_only.state = MessageState::kFailed;
    CHECK(j->replay(failed_only, "").error().code == ErrorCode::kUsage);
  }

  SECTION("requeue: Failed and DeadLettered deliveries become pending with attempts reset") {
    auto requeued = j->requeue(MessageQuery{});
    REQUIRE(requeued.ok());
    CHECK(*requeued == std::vector<std::string>{ids[4], ids[5]});
    auto r4 = show_ok(*j, ids[4]);
    CHECK(r4.state == MessageState::kRouted);
    CHECK(r4.deliveries[0].state == DeliveryState::kPending);
    CHECK(r4.deliveries[0].attempts == 0);
    CHECK(delivery(show_ok(*j, ids[5]), "hook").state == DeliveryState::kPending);
    CHECK(claim_ids(*j, "hook") == std::vector<std::string>{ids[4], ids[5]});
    // Nothing left to requeue.
    CHECK(j->requeue(MessageQuery{})->empty());
  }

  SECTION("requeue by MPAN and state") {
    MessageQuery r;
    r.mpan = "2222222222222";
    r.state = MessageState::kFailed;
    CHECK(*j->requeue(r) == std::vector<std::string>{ids[4]});
    CHECK(show_ok(*j, ids[5]).deliveries.size() == 2);
    CHECK(delivery(show_ok(*j, ids[5]), "hook").state == DeliveryState::kDeadLettered);
  }
}

TEST_CASE("journal: idempotency keys are recalled, and the first answer stays") {
  TempDir dir("idem");
  auto j = open_ok(dir.file("j.db"));
  CHECK(!j->recall("k1")->has_value());
  REQUIRE(j->remember("k1", {"sha-a", 201, "{\"ok\":true}"}).ok());
  REQUIRE(j->remember("k1", {"sha-b", 500, "{}"}).ok());
  auto r = j->recall("k1");
  REQUIRE(r.ok());
  REQUIRE(r->has_value());
  CHECK((*r)->body_sha256 == "sha-a");
  CHECK((*r)->status == 201);
  CHECK((*r)->response == "{\"ok\":true}");
  j.reset();
  j = open_ok(dir.file("j.db"));
  CHECK(j->recall("k1")->value().status == 201);
}

TEST_CASE("journal: a file that is not a journal, or from a newer flowguard, is refused clearly") {
  TempDir dir("foreign");
  SECTION("a text file") {
    std::ofstream(dir.file("notes.txt")) << "this is not a database, just some text that is long enough to matter\n";
    auto r = open_journal(dir.file("notes.txt"));
    REQUIRE(!r.ok());
    CHECK(r.error().code == ErrorCode::kIo);
    CHECK_THAT(r.error().message, Catch::Contains("notes.txt") && Catch::Contains("not a flowguard journal"));
  }
  SECTION("another application's SQLite database") {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(dir.file("other.db").c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db, "CREATE TABLE t(x)", nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
    auto r = open_journal(dir.file("other.db"));
    REQUIRE(!r.ok());
    CHECK_THAT(r.error().message, Catch::Contains("not a flowguard journal"));
  }
  SECTION("a journal from a newer version") {
    open_ok(dir.file("j.db"));
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(dir.file("j.db").c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db, "PRAGMA user_version = 99", nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
    auto r = open_journal(dir.file("j.db"));
    REQUIRE(!r.ok());
    CHECK_THAT(r.error().message, Catch::Contains("schema version 99") && Catch::Contains("newer flowguard"));
  }
  SECTION("a folder that does not exist") {
    auto r = open_journal(dir.file("missing/dir/j.db"));
    REQUIRE(!r.ok());
    CHECK(r.error().code == ErrorCode::kIo);
    CHECK_THAT(r.error().message, Catch::Contains("missing/dir/j.db"));
  }
  SECTION("a new file becomes a journal in WAL mode") {
    open_ok(dir.file("new.db"));
    CHECK(sql_text(dir.file("new.db"), "PRAGMA journal_mode") == "wal");
    CHECK(sql_text(dir.file("new.db"), "PRAGMA user_version") == "1");
  }
}

TEST_CASE("journal: stats count messages, undelivered deliveries and the oldest undelivered") {
  TempDir dir("stats");
  auto j = open_ok(dir.file("j.db"));
  auto st = j->stats();
  REQUIRE(st.ok());
  CHECK(st->messages == 0);
  CHECK(!st->oldest_undelivered);
  auto old = message("O1", {"a", "b"});
  old.received_at = Clock::now() - 5h;
  const auto ids = accept_ok(*j, {old, message("O2", {"a"})});
  st = j->stats();
  CHECK(st->messages == 2);
  CHECK(st->undelivered == 3);
  REQUIRE(st->oldest_undelivered);
  CHECK(std::chrono::abs(*st->oldest_undelivered - old.received_at) < 1ms);
  claim_ids(*j, "a");
  claim_ids(*j, "b");
  REQUIRE(j->mark_delivered("a", ids).ok());
  REQUIRE(j->mark_delivered("b", {ids[0]}).ok());
  st = j->stats();
  CHECK(st->undelivered == 0);
  CHECK(!st->oldest_undelivered);
}

TEST_CASE("journal: a writer SIGKILLed mid-accept loses nothing it reported, and the file is intact") {
  TempDir dir("crash");
  const auto path = dir.file("j.db");
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // The child: accept() in a loop from 4 threads; after each returns, report its ids.
    ::close(fds[0]);
    auto opened = open_journal(path);
    if (!opened.ok()) ::_exit(3);
    auto& j = *opened.value();
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0;; ++i) {
          const std::string ref = "K" + std::to_string(t) + "-" + std::to_string(i);
          auto r = j.accept({message(ref + "a", {"hook"}), message(ref + "b", {"hook"})});
          if (!r.ok() || r->ids.size() != 2) ::_exit(4);
          const std::string line = r->ids[0] + " " + r->ids[1] + "\n";  // < PIPE_BUF: written whole
          if (::write(fds[1], line.data(), line.size()) != static_cast<ssize_t>(line.size())) ::_exit(5);
        }
      });
    }
    for (auto& th : threads) th.join();
    ::_exit(0);
  }
  ::close(fds[1]);
  std::random_device rd;
  const unsigned seed = rd();
  INFO("kill delay seed " << seed);
  const auto delay = std::chrono::milliseconds(100 + std::mt19937(seed)() % 400);
  std::this_thread::sleep_for(delay);
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  CHECK(WIFSIGNALED(status));
  std::string reported;
  char buf[4096];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) reported.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);

  CHECK(sql_text(path, "PRAGMA integrity_check") == "ok");
  auto j = open_ok(path);
  std::istringstream lines(reported);
  std::size_t checked = 0;
  for (std::string a, b; lines >> a >> b;) {
    for (const auto& id : {a, b}) {
      auto r = j->show(id);
      REQUIRE(r.ok());
      INFO(id);
      REQUIRE(r->has_value());
      const auto& rec = **r;
      CHECK(rec.body == testing::body_for(rec.reference));
      REQUIRE(rec.deliveries.size() == 1);
      CHECK(rec.deliveries[0].state == DeliveryState::kPending);
      ++checked;
    }
  }
  INFO("accepts reported before the kill: " << checked);
  CHECK(checked > 0);
  CHECK(j->stats()->messages >= checked);
  CHECK(sql_text(path, "PRAGMA integrity_check") == "ok");
}

TEST_CASE("journal: id edge cases: 63-character references, a reference shaped like another's id, sinks") {
  TempDir dir("edges");
  auto j = open_ok(dir.file("j.db"));
  const std::string fits(63, 'a'), too_long(64, 'a');
  auto ids = accept_ok(*j, {message(fits, {"hook"}), message(too_long, {"hook"})});
  CHECK(ids[0] == "T-" + fits);
  CHECK(ids[0].size() == 65);
  CHECK(ids[1].size() == 65);
  CHECK(ids[1] != ids[0]);
  // "FG-…-1" as a reference would be T-FG-…-1, which may be a generated id: both stay distinct.
  const auto generated = accept_ok(*j, {message("", {"hook"})})[0];
  const auto shaped = accept_ok(*j, {message(generated.substr(2), {"hook"})})[0];
  CHECK(shaped != generated);
  CHECK(shaped.size() <= 65);
  CHECK(show_ok(*j, shaped).reference == generated.substr(2));
  // A sink named twice is one delivery; no sinks at all is nothing to deliver.
  const auto twice = accept_ok(*j, {message("twice", {"hook", "hook"}), message("none", {})});
  CHECK(show_ok(*j, twice[0]).deliveries.size() == 1);
  CHECK(show_ok(*j, twice[1]).state == MessageState::kDelivered);
  CHECK(j->accept({}).ok());
}

TEST_CASE("journal: accept_async and remember_async call back once each, durably, and may chain") {
  TempDir dir("async");
  std::set<std::string> ids;
  std::size_t duplicates = 0;
  std::atomic<int> remembered{0};
  {
    auto j = open_ok(dir.file("j.db"));
    std::mutex mutex;
    std::condition_variable cv;
    int callbacks = 0;
    constexpr int kBatches = 200;
    for (int i = 0; i < kBatches; ++i) {
      // Every 10th batch repeats an earlier reference: its callback reports the duplicate.
      const std::string ref = i % 10 == 9 ? "A-" + std::to_string(i - 1) : "A-" + std::to_string(i);
      j->accept_async({message(ref, {"out"})}, [&, i](Result<AcceptOutcome> r) {
        REQUIRE(r.ok());
        // A callback may queue more asynchronous work (the server keeps the Idempotency-Key's answer so).
        if (r->duplicates.empty())
          j->remember_async("key-" + std::to_string(i), {"digest", 202, "answer"}, [&](Status s) {
            CHECK(s.ok());
            ++remembered;
          });
        std::lock_guard lock(mutex);
        for (const auto& id : r->ids) ids.insert(id);
        duplicates += r->duplicates.size();
        ++callbacks;
        cv.notify_all();
      });
    }
    std::unique_lock lock(mutex);
    REQUIRE(cv.wait_for(lock, 30s, [&] { return callbacks == kBatches; }));
    // Destroying the journal finishes whatever is still queued (the chained remembers).
  }
  CHECK(ids.size() == 180);
  CHECK(duplicates == 20);
  CHECK(remembered == 180);
  auto again = open_ok(dir.file("j.db"));
  CHECK(again->stats()->messages == 180);
  auto recalled = again->recall("key-0");
  REQUIRE(recalled.ok());
  REQUIRE(*recalled);
  CHECK((*recalled)->status == 202);
}
