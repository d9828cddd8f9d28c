// `flowguard test`, `rules list`, `explain` and `check --trace` as a rule author runs them.
#include "shell_run.hpp"
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "flowguard/json/document.hpp"

namespace fs = std::filesystem;

namespace {

using Run = flowguard::test::ShellRun;  // status, and what reached the pipe

// `redirect` says what reaches the pipe: "2>&1" both streams, "2>/dev/null" stdout, "2>&1 >/dev/null" stderr.
Run run(const std::string& args, const std::string& redirect = "2>&1") {
  const std::string command = std::string(FLOWGUARD_EXE) + " " + args + " " + redirect;
  return flowguard::test::run_shell(command);
}

std::string source(const std::string& rel) { return std::string(FLOWGUARD_SOURCE_DIR) + "/" + rel; }

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void replace_in(const fs::path& p, const std::string& from, const std::string& to) {
  std::string text = slurp(p);
  const auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  text.replace(at, from.size(), to);
  std::ofstream(p, std::ios::binary | std::ios::trunc) << text;
}

// A copy of examples/rule-tests to change.
fs::path example_copy(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("flowguard-rule-tests-" + name);
  fs::remove_all(dir);
  fs::copy(source("examples/rule-tests"), dir, fs::copy_options::recursive);
  return dir;
}

std::string test_args(const fs::path& dir) { return "test --rules " + (dir / "rules").string() + " " + (dir / "cases").string(); }

}  // namespace

TEST_CASE("flowguard test: the shipped example rule tests pass, with a coverage line") {
  const auto r = run(test_args(source("examples/rule-tests")));
  INFO(r.out);
  CHECK(r.status == 0);
  CHECK_THAT(r.out, Catch::Contains("ok   volume-too-large"));
  CHECK_THAT(r.out, Catch::Contains("coverage: 3 of 3 rules fired: ACME-MAX-VOLUME, ACME-ONE-EVENT, ACME-UNIT-PREFIX"));
  CHECK_THAT(r.out, Catch::Contains("4 cases: 4 passed, 0 failed"));
}

TEST_CASE("flowguard test: the shipped rule sets' own tests and the corpora pass") {
  const auto shipped = run("test --quiet " + source("rules"));
  INFO(shipped.out);
  CHECK(shipped.status == 0);
  CHECK_THAT(shipped.out, Catch::Contains(" 0 failed"));
  const auto corpus = run("test --quiet " + source("tests/corpus/dfs"));
  INFO(corpus.out);
  CHECK(corpus.status == 0);
}

TEST_CASE("flowguard test: a wrong expectation fails with a unified diff, --update rewrites it") {
  const fs::path dir = example_copy("diff");
  const fs::path expected = dir / "cases/volume-too-large.expected.json";
  replace_in(expected, "\"/1/DFS Volume MW\"", "\"/0/DFS Volume MW\"");
  auto r = run(test_args(dir));
  INFO(r.out);
  CHECK(r.status == 1);
  CHECK_THAT(r.out, Catch::Contains("FAIL volume-too-large"));
  CHECK_THAT(r.out, Catch::Contains("--- expected " + expected.string()));
  CHECK_THAT(r.out, Catch::Contains("+++ actual"));
  CHECK_THAT(r.out, Catch::Contains("@@ -1,1 +1,1 @@"));
  CHECK_THAT(r.out, Catch::Contains("\n-/0/DFS Volume MW: warning [ACME-MAX-VOLUME] \"DFS Volume MW\" is 12.5"));
  CHECK_THAT(r.out, Catch::Contains("\n+/1/DFS Volume MW: warning [ACME-MAX-VOLUME] \"DFS Volume MW\" is 12.5"));
  CHECK_THAT(r.out, Catch::Contains("4 cases: 3 passed, 1 failed"));

  r = run(test_args(dir) + " --update");
  INFO(r.out);
  CHECK(r.status == 0);
  CHECK_THAT(r.out, Catch::Contains("updated volume-too-large"));
  CHECK_THAT(r.out, Catch::Contains("3 passed, 0 failed, 1 updated"));
  const std::string rewritten = slurp(expected);
  CHECK_THAT(rewritten, Catch::Contains("\"path\": \"/1/DFS Volume MW\""));
  CHECK_THAT(rewritten, Catch::Contains("\"why\": \"12.5 MW from one unit"));  // the other keys are kept
  CHECK(run(test_args(dir)).status == 0);
}

TEST_CASE("flowguard test: a missing expected file fails, --update writes it, an unknown key fails") {
  const fs::path dir = example_copy("missing");
  fs::copy_file(dir / "cases/two-events.json", dir / "cases/new-case.json");
  auto r = run(test_args(dir));
  CHECK(r.status == 1);
  CHECK_THAT(r.out, Catch::Contains("FAIL new-case: " + (dir / "cases/new-case.expected.json").string() + " does not exist"));
  r = run(test_args(dir) + " --update");
  CHECK(r.status == 0);
  const std::string written = slurp(dir / "cases/new-case.expected.json");
  CHECK_THAT(written, Catch::Contains("\"type\": \"dfs.bid-submission\""));
  CHECK_THAT(written, Catch::Contains("\"rule\": \"ACME-ONE-EVENT\""));
  CHECK(run(test_args(dir)).status == 0);

  replace_in(dir / "cases/valid.expected.json", "\"why\"", "\"wyh\"");
  r = run(test_args(dir));
  INFO(r.out);
  CHECK(r.status == 1);
  CHECK_THAT(r.out, Catch::Contains("unknown key \"wyh\" in the expected file; did you mean \"why\"?"));
}

TEST_CASE("flowguard test: the coverage line names the rules under test that never fired") {
  const fs::path dir = example_copy("coverage");
  std::ofstream(dir / "rules/unused.lua") << R"(return {
  { id = "ACME-NEVER", severity = "info", description = "never fires", spec = "none",
    types = { "dfs.bid-submission" }, record = function(rec, report) end },
})";
  const auto r = run(test_args(dir));
  INFO(r.out);
  CHECK(r.status == 0);
  CHECK_THAT(r.out, Catch::Contains("coverage: 3 of 4 rules fired: ACME-MAX-VOLUME, ACME-ONE-EVENT, ACME-UNIT-PREFIX\n"));
  CHECK_THAT(r.out, Catch::Contains("coverage: never fired: ACME-NEVER\n"));
}

TEST_CASE("flowguard test: a rule that does not load fails the run, usage errors exit 2") {
  const fs::path dir = example_copy("broken");
  std::ofstream(dir / "rules/broken.lua") << "return { { id = \"ACME-BROKEN\" ";
  auto r = run(test_args(dir));
  INFO(r.out);
  CHECK(r.status == 1);
  CHECK_THAT(r.out, Catch::Contains("broken.lua"));
  CHECK(run("test --bogus").status == 2);
  const fs::path empty = fs::temp_directory_path() / "flowguard-rule-tests-empty";
  fs::create_directories(empty);
  r = run("test " + empty.string());
  CHECK(r.status == 2);
  CHECK_THAT(r.out, Catch::Contains("no rule tests"));
}

TEST_CASE("flowguard rules list: every rule with severity, file and types, --type, --format json") {
  auto r = run("rules list", "2>/dev/null");
  CHECK(r.status == 0);
  CHECK_THAT(r.out, Catch::Contains("DFS-HALF-HOUR"));
  CHECK_THAT(r.out, Catch::Contains("dfs/formats.lua:"));
  CHECK_THAT(r.out, Catch::Contains("SSI-HEADER-API-KEY"));
  CHECK_THAT(r.out, Catch::Contains("schema.<keyword>"));
  r = run("rules list --type ssi.ms-appointment-request", "2>/dev/null");
  CHECK(r.status == 0);
  CHECK_THAT(r.out, Catch::Contains("SSI-HEADER-API-KEY"));
  CHECK_THAT(r.out, !Catch::Contains("DFS-HALF-HOUR"));
  r = run("rules list --format json --rules " + source("examples/rule-tests/rules"), "2>/dev/null");
  CHECK(r.status == 0);
  auto doc = flowguard::json::Document::parse(r.out);
  REQUIRE(doc.ok());
  bool acme = false, builtin = false;
  for (const auto& rule : doc->root().find("rules")->items()) {
    const auto id = rule.find("id")->as_string();
    if (id == "ACME-ONE-EVENT") acme = rule.find("checks")->find("document")->as_bool();
    if (id == "json.duplicate-key") builtin = rule.find("builtin")->as_bool();
  }
  CHECK(acme);
  CHECK(builtin);
  r = run("rules list --type dfs.bid-submision");
  CHECK(r.status == 2);
  CHECK_THAT(r.out, Catch::Contains("did you mean \"dfs.bid-submission\"?"));
}

TEST_CASE("flowguard explain: description, spec, file and an example finding, did-you-mean") {
  auto r = run("explain DFS-HALF-HOUR", "2>/dev/null");
  INFO(r.out);
  CHECK(r.status == 0);
  CHECK_THAT(r.out, Catch::Contains("checks:   Event windows start and end on settlement-period (half-hour) boundaries"));
  CHECK_THAT(r.out, Catch::Contains("spec:     DFS API Schema V1.6"));
  CHECK_THAT(r.out, Catch::Contains("rules/dfs/formats.lua:"));
  CHECK_THAT(r.out, Catch::Contains("example:  "));
  CHECK_THAT(r.out, Catch::Contains("half-hour.json:10:17: error: [DFS-HALF-HOUR] \"To_Local\" is \"17:45\""));

  const std::string rules = " --rules " + source("examples/rule-tests/rules");
  r = run("explain ACME-MAX-VOLUME" + rules, "2>/dev/null");
  CHECK(r.status == 0);
  CHECK_THAT(r.out, Catch::Contains("example:  not available"));
  r = run("explain ACME-MAX-VOLUME" + rules + " --examples " + source("examples/rule-tests/cases"), "2>/dev/null");
  CHECK_THAT(r.out, Catch::Contains("volume-too-large.json:"));
  CHECK_THAT(r.out, Catch::Contains("warning: [ACME-MAX-VOLUME] \"DFS Volume MW\" is 12.5"));

  r = run("explain dfs-half-hours");
  CHECK(r.status == 2);
  CHECK_THAT(r.out, Catch::Contains("no rule \"dfs-half-hours\"; did you mean \"DFS-HALF-HOUR\"?"));
}

TEST_CASE("check --trace: what each rule decided on each record, on stderr, stdout unchanged") {
  const std::string file = source("examples/dfs/bid-submission-with-errors.json");
  const auto plain = run("check " + file, "2>/dev/null");
  const auto traced = run("check --trace " + file, "2>/dev/null");
  CHECK(traced.status == plain.status);
  CHECK(traced.out == plain.out);
  const auto trace = run("check --trace " + file, "2>&1 >/dev/null");
  INFO(trace.out);
  CHECK_THAT(trace.out, Catch::Contains("4 records as dfs.bid-submission"));
  CHECK_THAT(trace.out, Catch::Contains("record 4 (/3) as dfs.bid-submission"));
  CHECK_THAT(trace.out, Catch::Matches("(.|\n)*trace:   DFS-HALF-HOUR +reported 1: error at /3/To_Local(.|\n)*"));
  CHECK_THAT(trace.out, Catch::Matches("(.|\n)*trace:   DFS-HALF-HOUR +nothing(.|\n)*"));
  CHECK_THAT(trace.out, Catch::Contains("reported 1: error at /0/Delivery Date [schema.pattern]"));
  CHECK_THAT(trace.out, Catch::Contains("nothing (\"Delivery Date\" has a schema finding"));
  CHECK_THAT(trace.out, Catch::Matches("(.|\n)*trace:   DFS-DUPLICATE-RECORD +nothing(.|\n)*"));

  const auto json = run("check --trace --format json " + file, "2>/dev/null");
  CHECK(flowguard::json::Document::parse(json.out).ok());
  const auto no_rules = run("check --trace --no-rules " + file, "2>&1 >/dev/null");
  CHECK_THAT(no_rules.out, Catch::Contains("(--no-rules: none run)"));  // rule sets are not even loaded
  CHECK_THAT(no_rules.out, !Catch::Contains("DFS-HALF-HOUR"));
}
