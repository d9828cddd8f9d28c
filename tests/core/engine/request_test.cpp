// Per-call settings (CheckRequest): the call's now, headers, caps and key strictness reach the
// rules and the report without re-creating the engine, on every rule host the call uses; and a
// ReferenceWindow shared by checks judges the DIP's repeated senderUniqueReference (MSG1006).
#include <catch2/catch.hpp>

#include <array>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "flowguard/engine.hpp"

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  REQUIRE(!ss.str().empty());
  return ss.str();
}

std::string corpus(const std::string& relative) { return slurp(std::string(FLOWGUARD_SOURCE_DIR "/tests/corpus/") + relative); }

std::unique_ptr<flowguard::Engine> shipped_engine(flowguard::EngineOptions options = {}) {
  auto engine = flowguard::Engine::create(options);
  REQUIRE(engine.ok());
  return std::move(engine).value();
}

std::size_t count(const flowguard::FileReport& r, const std::string& rule) {
  std::size_t n = 0;
  for (const auto& f : r.findings) n += f.rule == rule;
  return n;
}

const flowguard::Finding* first(const flowguard::FileReport& r, const std::string& rule) {
  for (const auto& f : r.findings)
    if (f.rule == rule) return &f;
  return nullptr;
}

std::string describe(const flowguard::FileReport& r) { return flowguard::format_text({r}); }

// A valid DIP message (IF-024), senderTimestamp 2025-03-17T17:08:14+00:00, senderUniqueReference
// S-IF-024-0123456789-SUP-20250317-00060A.
const std::string& dip_message() {
  static const std::string text = corpus("dip/IF-024/SN-Vacant/valid.json");
  return text;
}

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

constexpr const char* kRepeated = "DIP-SENDER-UNIQUE-REFERENCE-REPEATED";

}  // namespace

TEST_CASE("a per-call now decides a DIP timestamp-in-the-future finding", "[request]") {
  flowguard::EngineOptions options;
  options.now = "2025-03-18T00:00:00Z";  // the engine's: the message is in the past
  auto engine = shipped_engine(options);
  const auto& doc = dip_message();
  CHECK(count(engine->check(doc, "m.json"), "DIP-TIMESTAMP-FUTURE") == 0);

  flowguard::CheckRequest early;
  early.now = "2025-03-17T17:00:00Z";  // 494 s before the sender's timestamp
  const auto r = engine->check(doc, "m.json", "", early);
  INFO(describe(r));
  const auto* future = first(r, "DIP-TIMESTAMP-FUTURE");
  REQUIRE(future);
  CHECK(future->code == "RCP1008");
  CHECK_THAT(future->message, Catch::Contains("is 494 s in the future (now 2025-03-17T17:00:00Z"));

  // The engine's own now again, for a request without one and for the overload without a request.
  CHECK(count(engine->check(doc, "m.json", "", flowguard::CheckRequest{}), "DIP-TIMESTAMP-FUTURE") == 0);
  CHECK(count(engine->check(doc, "m.json"), "DIP-TIMESTAMP-FUTURE") == 0);
  CHECK(count(engine->check(doc, "m.json", "", early), "DIP-TIMESTAMP-FUTURE") == 1);
}

TEST_CASE("a request without now uses the clock at the call, a now that is not a date-time is an error value",
          "[request]") {
  auto engine = shipped_engine();
  // The corpus message is from 2025: in the past by the clock.
  CHECK(count(engine->check(dip_message(), "m.json", "", flowguard::CheckRequest{}), "DIP-TIMESTAMP-FUTURE") == 0);
  flowguard::CheckRequest bad;
  bad.now = "yesterday";
  const auto r = engine->check(dip_message(), "m.json", "", bad);
  REQUIRE(r.input_error);
  CHECK(r.input_error->code == flowguard::ErrorCode::kUsage);
  CHECK_THAT(r.input_error->message, Catch::Contains("\"yesterday\" is not a date-time"));
  CHECK(r.findings.empty());
}

TEST_CASE("per-call headers reach the SSI header rules, in place of the engine's", "[request]") {
  const std::string doc = corpus("ssi/ms-appointment-request/valid.json");
  auto engine = shipped_engine();
  CHECK(engine->check(doc, "a.json").findings.empty());  // no headers given: the body alone

  flowguard::CheckRequest bad;
  bad.headers = {{"X-API-KEY", "secret"}, {"X-IDEMPOTENCY-KEY", "1"}};
  auto r = engine->check(doc, "a.json", "", bad);
  INFO(describe(r));
  REQUIRE(first(r, "SSI-HEADER-API-KEY"));
  CHECK_THAT(first(r, "SSI-HEADER-API-KEY")->message, Catch::Contains("\"secret\"") && Catch::Contains("expected a UUID"));
  CHECK(count(r, "SSI-HEADER-IDEMPOTENCY-KEY") == 0);

  flowguard::CheckRequest good;
  good.headers = {{"x-api-key", "123e4567-e89b-12d3-a456-426614174000"}, {"X-Idempotency-Key", "retry-1"}};
  CHECK(engine->check(doc, "a.json", "", good).findings.empty());
  CHECK(count(engine->check(doc, "a.json", "", bad), "SSI-HEADER-API-KEY") == 1);  // a changed set is rebuilt
  CHECK(engine->check(doc, "a.json").findings.empty());  // the engine's (none) again

  flowguard::EngineOptions options;
  options.headers = {{"X-API-KEY", "123e4567-e89b-12d3-a456-426614174000"}};
  auto with_headers = shipped_engine(options);
  CHECK(count(with_headers->check(doc, "a.json", "", flowguard::CheckRequest{}), "SSI-HEADER-IDEMPOTENCY-KEY") == 1);
  CHECK(count(with_headers->check(doc, "a.json", "", good), "SSI-HEADER-IDEMPOTENCY-KEY") == 0);
}

TEST_CASE("a per-call max_findings caps what is kept, not what is counted, strict_keys per call", "[request]") {
  auto engine = shipped_engine();
  const std::string doc = corpus("dip/key-case/discriminators-and-s1.json");
  // Each check with a window of its own: checked again without one, the document would repeat
  // its own senderUniqueReference from an earlier check of the run (MSG1006).
  auto fresh = [] {
    flowguard::CheckRequest request;
    request.references = std::make_shared<flowguard::ReferenceWindow>(flowguard::ReferenceWindow::Limits{});
    return request;
  };
  const auto all = engine->check(doc, "k.json", "", fresh());
  INFO(describe(all));
  REQUIRE(all.findings.size() >= 2);
  CHECK(all.errors == 0);  // key case: warnings by default

  auto capped = fresh();
  capped.max_findings = 1;
  const auto r = engine->check(doc, "k.json", "", capped);
  CHECK(r.findings.size() == 1);
  CHECK(r.findings_not_shown == all.findings.size() - 1);
  CHECK(r.warnings == all.warnings);

  auto strict = fresh();
  strict.strict_keys = true;
  const auto s = engine->check(doc, "k.json", "", strict);
  CHECK(s.errors == all.warnings);
  CHECK(s.warnings == 0);
  const auto again = engine->check(doc, "k.json", "", fresh());  // the engine's settings again
  CHECK(again.findings.size() == all.findings.size());
  CHECK(again.errors == 0);
}

TEST_CASE("every rule host of a call sees its now, headers and state (several jobs)", "[request][jobs]") {
  flowguard::EngineOptions options;
  options.use_default_dirs = false;
  options.plugin_dirs.emplace_back(TEST_PLUGIN_DIR "/good");
  options.schema_dirs.emplace_back(TEST_DATA_DIR "/schemas");
  options.rule_dirs.emplace_back(TEST_DATA_DIR "/rules-request");
  options.jobs = 2;
  options.now = "2026-01-01T00:00:00Z";
  auto engine = shipped_engine(options);
  std::string doc = "[";
  constexpr std::size_t kRecords = 2500;  // enough for the record stage to use both jobs
  for (std::size_t i = 0; i < kRecords; ++i) doc += std::string(i ? "," : "") + R"({"id": 1, "when": "01-02-2026", "amount": 7})";
  doc += "]";
  auto messages = [](const flowguard::FileReport& r) {
    std::set<std::string> out;
    for (const auto& f : r.findings) out.insert(f.message);
    return out;
  };
  auto window = std::make_shared<flowguard::ReferenceWindow>(flowguard::ReferenceWindow::Limits{});
  for (int round = 0; round < 2; ++round) {
    flowguard::CheckRequest request;
    request.now = "2026-05-0" + std::to_string(round + 1) + "T12:00:00Z";
    request.headers = {{"X-Test", "call-" + std::to_string(round)}};
    request.max_findings = kRecords;
    request.references = window;
    const auto r = engine->check(doc, "orders.json", "test.order", request);
    REQUIRE(r.findings.size() == kRecords);
    CHECK(messages(r) == std::set<std::string>{"now " + request.now + " header call-" + std::to_string(round) +
                                               " state true [engine request tests]"});

    const auto plain = engine->check(doc, "orders.json", "test.order");
    REQUIRE(plain.findings.size() + plain.findings_not_shown == kRecords);
    CHECK(messages(plain) == std::set<std::string>{"now 2026-01-01T00:00:00Z header nil state false [engine request tests]"});
  }
}

TEST_CASE("two checks sharing a window: the second repeating the first's reference gets MSG1006", "[request][window]") {
  auto engine = shipped_engine();
  auto window = std::make_shared<flowguard::ReferenceWindow>(flowguard::ReferenceWindow::Limits{86400, 1000});
  flowguard::CheckRequest first_call;
  first_call.now = "2025-03-17T18:00:00Z";
  first_call.references = window;
  const auto accepted = engine->check(dip_message(), "first.json", "", first_call);
  INFO(describe(accepted));
  CHECK(accepted.errors == 0);
  CHECK(window->size() == 1);
  CHECK(window->find("S-IF-024-0123456789-SUP-20250317-00060A", 1742234400));

  // Another message (another MPAN) with the same reference, 30 s later.
  const std::string again = replaced(dip_message(), "2000056535971", "1012345678903");
  flowguard::CheckRequest second_call = first_call;
  second_call.now = "2025-03-17T18:00:30Z";
  const auto repeated = engine->check(again, "second.json", "", second_call);
  INFO(describe(repeated));
  const auto* f = first(repeated, kRepeated);
  REQUIRE(f);
  CHECK(f->code == "MSG1006");
  CHECK(f->pointer == "/CommonBlock/S1/senderUniqueReference");
  CHECK_THAT(f->message, Catch::StartsWith("senderUniqueReference \"S-IF-024-0123456789-SUP-20250317-00060A\" is already "
                                           "used by a message accepted 30 s ago (within the 86400 s window); the DIP "
                                           "rejects a repeated reference"));
  CHECK(window->size() == 1);

  // Past the window the reference may be used again.
  flowguard::CheckRequest next_day = first_call;
  next_day.now = "2025-03-18T18:00:01Z";
  CHECK(count(engine->check(again, "third.json", "", next_day), kRepeated) == 0);

  // The window calls left the rule's own run-scope memory alone: without a window, nothing of
  // the above is an earlier document.
  CHECK(count(engine->check(dip_message(), "plain.json"), kRepeated) == 0);
}

TEST_CASE("a document with an error finding does not record its references in the window", "[request][window]") {
  auto engine = shipped_engine();
  auto window = std::make_shared<flowguard::ReferenceWindow>(flowguard::ReferenceWindow::Limits{});
  flowguard::CheckRequest request;
  request.now = "2025-03-17T18:00:00Z";
  request.references = window;
  // A wrong MPAN check digit: the submission is rejected.
  const auto rejected = engine->check(replaced(dip_message(), "2000056535971", "2000056535972"), "bad.json", "", request);
  INFO(describe(rejected));
  CHECK(rejected.errors > 0);
  CHECK(window->size() == 0);
  const auto resubmitted = engine->check(dip_message(), "good.json", "", request);
  INFO(describe(resubmitted));
  CHECK(resubmitted.errors == 0);
  CHECK(window->size() == 1);
}

TEST_CASE("with a window, a reference repeated within one document is still found", "[request][window]") {
  auto engine = shipped_engine();
  auto window = std::make_shared<flowguard::ReferenceWindow>(flowguard::ReferenceWindow::Limits{});
  flowguard::CheckRequest request;
  request.now = "2025-03-17T18:00:00Z";
  request.references = window;
  const std::string batch = "[{\"payload\": " + dip_message() + "}, {\"payload\": " + dip_message() + "}]";
  const auto r = engine->check(batch, "batch.json", "", request);
  INFO(describe(r));
  const auto* f = first(r, kRepeated);
  REQUIRE(f);
  CHECK(f->pointer == "/1/payload/CommonBlock/S1/senderUniqueReference");
  CHECK_THAT(f->message, Catch::Contains("already used by the message at /0/payload"));
  CHECK(window->size() == 0);  // rejected
}

TEST_CASE("a streamed document with a window records its references when accepted", "[request][window]") {
  auto engine = shipped_engine();
  auto window = std::make_shared<flowguard::ReferenceWindow>(flowguard::ReferenceWindow::Limits{});
  flowguard::CheckRequest request;
  request.now = "2025-03-17T18:00:00Z";
  request.references = window;
  std::string line = dip_message();
  std::erase(line, '\n');
  std::istringstream in(line + "\n");
  const auto streamed = engine->check_stream(in, "m.ndjson", "", true, request);
  INFO(describe(streamed));
  CHECK(streamed.errors == 0);
  CHECK(window->size() == 1);
  CHECK(count(engine->check(dip_message(), "again.json", "", request), kRepeated) == 1);
}

TEST_CASE("engines on two threads share one window", "[request][window][threads]") {
  auto window = std::make_shared<flowguard::ReferenceWindow>(flowguard::ReferenceWindow::Limits{});
  constexpr int kChecks = 100;
  std::vector<std::unique_ptr<flowguard::Engine>> engines;
  for (int t = 0; t < 2; ++t) engines.push_back(shipped_engine());
  std::array<int, 2> repeats{};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kChecks; ++i) {
        // Each thread's own references, and then every other check one the other thread also sends.
        const int n = i % 2 ? 1000 * (t + 1) + i : i;
        std::string suffix = std::to_string(100000 + n);  // 6 characters, as "00060A"
        std::string doc = dip_message();
        doc.replace(doc.find("00060A"), 6, suffix);
        flowguard::CheckRequest request;
        request.now = "2025-03-17T18:00:00Z";
        request.references = window;
        const auto r = engines[static_cast<std::size_t>(t)]->check(doc, "m.json", "", request);
        repeats[static_cast<std::size_t>(t)] += static_cast<int>(count(r, kRepeated));
      }
    });
  for (auto& th : threads) th.join();
  // 50 own references per thread, 50 shared: each shared one is accepted once at least.
  CHECK(window->size() == 150);
  CHECK(repeats[0] + repeats[1] <= 50);
}
