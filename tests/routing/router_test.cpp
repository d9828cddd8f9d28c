// The router end to end on real sinks and a real journal file: journal first, then delivery;
// dead letters with their reasons; a restart resumes what was not delivered.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "flowguard/engine.hpp"
#include "flowguard/json/document.hpp"
#include "flowguard/routing/message.hpp"
#include "flowguard/routing/router.hpp"

namespace fs = std::filesystem;
using namespace flowguard;
using namespace flowguard::routing;

namespace {

const fs::path kSource(FLOWGUARD_SOURCE_DIR);

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("fg-router-" + std::to_string(::getpid()) + "-" + std::to_string(rand()));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

RoutingConfig config_for(const fs::path& dir, const std::string& out_sink_yaml) {
  const std::string text = "journal: {path: " + (dir / "journal.db").string() + ", group_commit_ms: 0}\n" +
                           "sinks:\n  out: " + out_sink_yaml + "\n  dead: {kind: spool, directory: " + (dir / "dead").string() +
                           "}\ndead_letter: dead\nroutes:\n  - match: {type: 'dip.*'}\n    sinks: [out]\n";
  auto outcome = parse_routes(text, dir / "routes.yaml");
  INFO((outcome.errors.empty() ? "" : outcome.errors[0].to_string()));
  REQUIRE(outcome.config);
  return *outcome.config;
}

Incoming message(const std::string& reference, bool valid = true, std::string type = "dip.IF-001.initial-registration") {
  Incoming m;
  m.facts.type = std::move(type);
  m.facts.reference = reference;
  m.facts.valid = valid;
  m.facts.interface_id = "IF-001";
  m.facts.event_code = "[InitialRegistration]";
  m.body = "{\"payload\":{\"ref\":\"" + reference + "\"}}";
  m.findings_json = valid ? "[]" : "[{\"rule\":\"schema.required\"}]";
  m.received_at = m.validated_at = journal::Clock::now();
  return m;
}

std::vector<std::string> lines_of(const fs::path& file) {
  std::vector<std::string> out;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(line);
  return out;
}

std::size_t files_in(const fs::path& dir) {
  std::size_t n = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_regular_file() && e.path().filename().string().rfind(".tmp", 0) != 0) ++n;
  return n;
}

}  // namespace

TEST_CASE("router: a valid batch is journaled, then delivered to its route's sink") {
  TempDir dir;
  auto config = config_for(dir.path, "{kind: file, path: " + (dir.path / "out.jsonl").string() + "}");
  auto router = Router::start(config);
  REQUIRE(router);
  auto submitted = (*router)->submit({message("S-1"), message("S-2")}, true);
  REQUIRE(submitted);
  REQUIRE(submitted->ids.size() == 2);
  CHECK(submitted->ids[0] == "T-S-1");
  REQUIRE((*router)->wait_idle(std::chrono::seconds(10)));
  const auto lines = lines_of(dir.path / "out.jsonl");
  REQUIRE(lines.size() == 2);
  CHECK_THAT(lines[0], Catch::Contains("\"ref\":\"S-1\""));
  auto shown = (*router)->journal().show("T-S-2");
  REQUIRE(shown);
  REQUIRE(*shown);
  CHECK((*shown)->state == journal::MessageState::kDelivered);
  CHECK((*router)->stats().sinks["out"].delivered == 2);
}

TEST_CASE("router: a repeated reference is refused whole and nothing of the batch is journaled") {
  TempDir dir;
  auto router = Router::start(config_for(dir.path, "{kind: spool, directory: " + (dir.path / "spool").string() + "}"));
  REQUIRE(router);
  REQUIRE((*router)->submit({message("S-1")}, true));
  auto again = (*router)->submit({message("S-9"), message("S-1")}, true);
  REQUIRE(again);
  CHECK(again->ids.empty());
  CHECK(again->duplicates == std::vector<std::size_t>{1});
  auto shown = (*router)->journal().show("T-S-9");
  REQUIRE(shown);
  CHECK(!*shown);
}

TEST_CASE("router: invalid messages and rejected batches go to dead-letter with the reason and findings") {
  TempDir dir;
  auto router = Router::start(config_for(dir.path, "{kind: spool, directory: " + (dir.path / "spool").string() + "}"));
  REQUIRE(router);
  REQUIRE((*router)->submit({message("S-1"), message("S-2", false)}, false));
  // A valid message no route matches is dead-lettered too, never dropped.
  REQUIRE((*router)->submit({message("S-3", true, "dfs.bid-submission")}, true));
  REQUIRE((*router)->wait_idle(std::chrono::seconds(10)));
  CHECK(files_in(dir.path / "dead") == 3);
  CHECK(files_in(dir.path / "spool") == 0);
  std::string all;
  for (const auto& e : fs::directory_iterator(dir.path / "dead")) all += slurp(e.path());
  CHECK_THAT(all, Catch::Contains("all or nothing"));
  CHECK_THAT(all, Catch::Contains("schema.required"));
  CHECK_THAT(all, Catch::Contains("no route matched"));
  auto s2 = (*router)->journal().show("T-S-2");
  REQUIRE(s2);
  REQUIRE(*s2);
  CHECK(!(*s2)->valid);
}

TEST_CASE("router: a sink that cannot take messages keeps them in the journal, and a restart resumes them") {
  TempDir dir;
  // Nothing listens on port 9 of loopback: every attempt is a transient failure (kRetry).
  {
    auto router = Router::start(config_for(dir.path, "{kind: webhook, url: 'http://127.0.0.1:9/hook', connect_timeout_ms: 200, "
                                                     "retry: {max_attempts: 1000, initial_backoff_ms: 50}}"));
    REQUIRE(router);
    REQUIRE((*router)->submit({message("S-1"), message("S-2"), message("S-3")}, true));
    CHECK(!(*router)->wait_idle(std::chrono::milliseconds(600)));
    const auto stats = (*router)->stats();
    CHECK(stats.journal.undelivered == 3);
    CHECK(stats.sinks.at("out").retries >= 3);
    auto shown = (*router)->journal().show("T-S-1");
    REQUIRE(shown);
    REQUIRE(*shown);
    CHECK((*shown)->state == journal::MessageState::kRetrying);
    CHECK(!(*shown)->deliveries.at(0).last_error.empty());
  }
  // The same journal with a sink that works: everything comes out, once.
  auto router = Router::start(config_for(dir.path, "{kind: file, path: " + (dir.path / "out.jsonl").string() + "}"));
  REQUIRE(router);
  REQUIRE((*router)->wait_idle(std::chrono::seconds(10)));
  std::set<std::string> seen;
  for (const auto& line : lines_of(dir.path / "out.jsonl")) seen.insert(line);
  CHECK(seen.size() == 3);
}

TEST_CASE("router: after max_attempts a message is dead-lettered with the last error") {
  TempDir dir;
  auto router = Router::start(config_for(dir.path, "{kind: webhook, url: 'http://127.0.0.1:9/hook', connect_timeout_ms: 200, "
                                                   "retry: {max_attempts: 2, initial_backoff_ms: 10}}"));
  REQUIRE(router);
  REQUIRE((*router)->submit({message("S-1")}, true));
  REQUIRE((*router)->wait_idle(std::chrono::seconds(10)));
  auto shown = (*router)->journal().show("T-S-1");
  REQUIRE(shown);
  REQUIRE(*shown);
  CHECK((*shown)->state == journal::MessageState::kDeadLettered);
  CHECK(files_in(dir.path / "dead") == 1);
  CHECK((*router)->stats().sinks.at("out").dead_lettered == 1);
}

TEST_CASE("router: split_messages cuts a checked DIP array into its messages, bytes as sent") {
  auto engine = Engine::create({});
  REQUIRE(engine);
  const std::string body = slurp(kSource / "examples/dip/if-001-initial-registration.json");
  const std::string two = "[" + body.substr(body.find('[') + 1, body.rfind(']') - body.find('[') - 1) + "," +
                          body.substr(body.find('[') + 1, body.rfind(']') - body.find('[') - 1) + "]";
  FileReport report = (*engine)->check(two, "two.json");
  REQUIRE(report.messages.size() == 2);
  auto messages = split_messages(report, two, "2000000000001", "DS");
  REQUIRE(messages.size() == 2);
  CHECK(messages[0].facts.interface_id == "IF-001");
  CHECK(messages[0].facts.event_code == "[InitialRegistration]");
  CHECK(messages[0].facts.sender_role == "SUP");
  CHECK(messages[0].facts.mpan == "2000056535971");
  CHECK(messages[0].facts.recipient_role == "DS");
  CHECK(messages[0].body.front() == '{');
  CHECK(messages[0].body.back() == '}');
  CHECK(two.find(messages[1].body) != std::string::npos);
  auto parsed = json::Document::parse(messages[1].body);
  CHECK(parsed.ok());
  // The same reference twice in one document: the rule reports it, so both are invalid here.
  CHECK(report.errors > 0);
  CHECK_THAT(messages[1].findings_json, Catch::Contains("MSG1006"));
}
