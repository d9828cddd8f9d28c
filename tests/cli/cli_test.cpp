// `flowguard check` as a user runs it: exit statuses, output formats, stdin, caps, bad input.
#include "shell_run.hpp"
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include "flowguard/json/document.hpp"
#include "flowguard/schema/validator.hpp"

namespace fs = std::filesystem;

namespace {

using Run = flowguard::test::ShellRun;  // status, and what reached the pipe

Run run(const std::string& args, const std::string& stdin_file = "") {
  std::string command = std::string(FLOWGUARD_EXE) + " " + args + " 2>&1";
  if (!stdin_file.empty()) command += " < " + stdin_file;
  return flowguard::test::run_shell(command);
}

std::string example(const std::string& name) { return std::string(FLOWGUARD_SOURCE_DIR) + "/examples/dfs/" + name; }

fs::path scratch(const std::string& name, const std::string& content) {
  const fs::path dir = fs::temp_directory_path() / "flowguard-cli-tests";
  fs::create_directories(dir);
  const fs::path file = dir / name;
  std::ofstream(file, std::ios::binary) << content;
  return file;
}

}  // namespace

TEST_CASE("a valid batch exits 0 and says what it was checked as") {
  const auto r = run("check " + example("bid-submission.json"));
  INFO(r.out);
  CHECK(r.status == 0);
  CHECK_THAT(r.out, Catch::Contains("note: checked as dfs.bid-submission (recognised from content)"));
  CHECK_THAT(r.out, Catch::Contains("0 errors"));
}

TEST_CASE("findings exit 1 and print as FILE:LINE:COL: SEVERITY: [RULE] message (POINTER)") {
  const auto r = run("check --quiet " + example("bid-submission-with-errors.json"));
  INFO(r.out);
  CHECK(r.status == 1);
  const std::regex line(R"(^.+bid-submission-with-errors\.json:[0-9]+:[0-9]+: (error|warning|info): \[[A-Za-z0-9_.-]+\] .+ \((/.*|document root)\)$)");
  std::istringstream lines(r.out);
  std::string l;
  int count = 0;
  while (std::getline(lines, l)) {
    INFO(l);
    CHECK(std::regex_match(l, line));
    ++count;
  }
  CHECK(count > 0);
}

TEST_CASE("the JSON report validates against schemas/report.schema.json") {
  const auto r = run("check --format json " + example("bid-submission-with-errors.json") + " " + example("bid-submission.json"));
  CHECK(r.status == 1);
  auto report = flowguard::json::Document::parse(r.out);
  INFO(r.out);
  REQUIRE(report.ok());
  auto schema = flowguard::schema::CompiledSchema::load_file(std::string(FLOWGUARD_SOURCE_DIR) + "/schemas/report.schema.json");
  REQUIRE(schema.ok());
  std::vector<flowguard::schema::Violation> violations;
  schema->validate(report->root(), "", violations);
  for (const auto& v : violations) INFO(v.pointer << ": " << v.message);
  CHECK(violations.empty());
  CHECK(report->root().find("files")->size() == 2);
}

TEST_CASE("stdin is read with -") {
  const auto r = run("check --quiet --type dfs.bid-submission -", example("bid-submission.json"));
  INFO(r.out);
  CHECK(r.status == 0);
}

TEST_CASE("input that is not JSON exits 2 with line and column") {
  const auto file = scratch("broken.json", "[\n  {\"Event ID\": 1,,}\n]\n");
  const auto r = run("check " + file.string());
  INFO(r.out);
  CHECK(r.status == 2);
  CHECK_THAT(r.out, Catch::Contains("broken.json:2:18: error: not valid JSON"));
}

TEST_CASE("usage errors exit 2") {
  CHECK(run("check").status == 2);
  CHECK(run("check --format xml x.json").status == 2);
  CHECK(run("check --max-findings zero x.json").status == 2);
  CHECK(run("frobnicate").status == 2);
  const auto missing = run("check /no/such/file.json");
  CHECK(missing.status == 2);
  CHECK_THAT(missing.out, Catch::Contains("cannot open file"));
  const auto unknown_type = run("check --type dfs.bid-submision " + example("bid-submission.json"));
  CHECK(unknown_type.status == 2);
  CHECK_THAT(unknown_type.out, Catch::Contains("dfs.bid-submission"));
}

TEST_CASE("max-findings caps the output with a note") {
  const auto r = run("check --max-findings 1 " + example("bid-submission-with-errors.json"));
  INFO(r.out);
  CHECK(r.status == 1);
  CHECK_THAT(r.out, Catch::Contains("not shown (--max-findings 1)"));
}

TEST_CASE("a broken rule directory is reported and exits 3, the other rules still run") {
  const fs::path dir = fs::temp_directory_path() / "flowguard-cli-tests" / "broken-rules";
  fs::create_directories(dir);
  std::ofstream(dir / "syntax.lua") << "return { id = \"X\", \n severity = \"error\" description }\n";
  std::ofstream(dir / "good.lua") << "return { id = \"USER-ALWAYS\", severity = \"warning\", description = \"d\", "
                                     "spec = \"s\", types = {\"dfs.*\"}, record = function(r, report) report(nil, \"seen\") end }\n";
  const auto r = run("check --rules " + dir.string() + " " + example("bid-submission.json"));
  INFO(r.out);
  CHECK(r.status == 3);
  CHECK_THAT(r.out, Catch::Contains("syntax.lua:2"));
  CHECK_THAT(r.out, Catch::Contains("[USER-ALWAYS] seen"));
}

TEST_CASE("types lists the DFS types") {
  const auto r = run("types");
  INFO(r.out);
  CHECK(r.status == 0);
  for (const char* t : {"dfs.unit-meter-point-schedule", "dfs.bid-submission", "dfs.weekly-settlement", "dfs.mpan-forecast",
                        "dfs.mpan-portfolio", "dfs.bid-results", "dfs.settlement-report", "dfs.absvd-domestic",
                        "dfs.absvd-non-domestic", "dfs.exclusion-report"})
    CHECK_THAT(r.out, Catch::Contains(t));
}

TEST_CASE("spec import-dip regenerates the committed DIP schemas and spec diff finds no change") {
  const fs::path spec = fs::path(FLOWGUARD_SHARED_DIR) / "specs/dip-api-documentation";
  if (!fs::is_directory(spec)) {
    WARN("skipped: the DIP OpenAPI spec is not on this machine (" << spec.string() << ")");
    return;
  }
  const fs::path out = fs::temp_directory_path() / "flowguard-cli-tests" / "dip-import";
  fs::remove_all(out);
  const auto imported = run("spec import-dip " + spec.string() + " --out " + out.string());
  INFO(imported.out);
  CHECK(imported.status == 0);
  CHECK_THAT(imported.out, Catch::Contains("58 interfaces, 146 variants"));
  const auto diff = run("spec diff " + std::string(FLOWGUARD_SOURCE_DIR) + "/schemas/dip " + out.string());
  INFO(diff.out);
  CHECK(diff.status == 0);
  CHECK_THAT(diff.out, Catch::Contains("No changes."));
  CHECK(run("spec import-dip " + spec.string()).status == 2);  // --out is required
}

TEST_CASE("format dip answers with the DIP's StandardResponse and its batch semantics") {
  const std::string dir = std::string(FLOWGUARD_SOURCE_DIR) + "/tests/corpus/dip/IF-031/MSApp/";
  std::ifstream valid_in(dir + "valid.json"), invalid_in(dir + "invalid.json");
  std::stringstream valid, invalid;
  valid << valid_in.rdbuf();
  invalid << invalid_in.rdbuf();
  REQUIRE(!valid.str().empty());
  // A DIPMessageArray submission: one good message and one bad one.
  const auto batch = scratch("batch.json", "[{\"payload\": " + valid.str() + "}, {\"payload\": " + invalid.str() + "}]");
  // Two files in one run: the second repeats the first's senderUniqueReference, which the DIP
  // rejects (MSG1006) even though the message on its own is valid.
  const auto r = run("check --format dip " + batch.string() + " " + dir + "valid.json");
  INFO(r.out);
  CHECK(r.status == 1);
  auto doc = flowguard::json::Document::parse(r.out);
  REQUIRE(doc.ok());
  REQUIRE(doc->root().size() == 2);
  const auto alone = run("check --format dip " + dir + "valid.json");
  CHECK(alone.status == 0);
  auto alone_doc = flowguard::json::Document::parse(alone.out);
  REQUIRE(alone_doc.ok());
  auto schema = flowguard::schema::CompiledSchema::load_file(std::string(FLOWGUARD_SOURCE_DIR) + "/schemas/dip/standard-response.schema.json");
  REQUIRE(schema.ok());
  for (const auto& response : doc->root().items()) {
    std::vector<flowguard::schema::Violation> violations;
    schema->validate(response, "", violations);
    for (const auto& v : violations) INFO(v.pointer << ": " << v.message);
    CHECK(violations.empty());
  }
  const auto& rejected = doc->root().items()[0].find("messageArray")->items();
  REQUIRE(rejected.size() == 2);
  // The whole submission is rejected: the good message is not accepted either.
  CHECK_THAT(std::string(rejected[0].find("message")->as_string()), Catch::StartsWith("MSG0001"));
  // The bad message carries its first error (here: both copies share a senderUniqueReference).
  const std::string second = std::string(rejected[1].find("message")->as_string());
  CHECK_FALSE(second.rfind("MSG000", 0) == 0);
  CHECK(rejected[1].find("help")->is_string());
  const auto& repeated = doc->root().items()[1].find("messageArray")->items();
  CHECK_THAT(std::string(repeated[0].find("message")->as_string()), Catch::StartsWith("MSG1006 - "));
  const auto& accepted = alone_doc->root().items()[0].find("messageArray")->items();
  CHECK(std::string(accepted[0].find("message")->as_string()) == "MSG0000 - Success");
}

TEST_CASE("SSI appointment headers given with --header are checked") {
  std::string valid;
  for (const auto& entry : fs::directory_iterator(std::string(FLOWGUARD_SOURCE_DIR) + "/tests/corpus/ssi/ms-appointment-request"))
    if (entry.path().filename() == "valid.json") valid = entry.path().string();
  REQUIRE(!valid.empty());
  const std::string key = "--header X-API-KEY=123e4567-e89b-12d3-a456-426614174000 ";
  CHECK(run("check --quiet " + key + "--header x-idempotency-key=retry-1 " + valid).status == 0);
  const auto bad_key = run("check --quiet --header X-API-KEY=secret --header X-IDEMPOTENCY-KEY=1 " + valid);
  CHECK(bad_key.status == 1);
  CHECK_THAT(bad_key.out, Catch::Contains("[SSI-HEADER-API-KEY]") && Catch::Contains("expected a UUID"));
  const auto no_idempotency = run("check --quiet " + key + valid);
  CHECK(no_idempotency.status == 1);
  CHECK_THAT(no_idempotency.out, Catch::Contains("[SSI-HEADER-IDEMPOTENCY-KEY]"));
  CHECK(run("check --quiet " + valid).status == 0);  // no headers given: the body alone is checked
  CHECK(run("check --header novalue " + valid).status == 2);
}

TEST_CASE("DIP key case: a warning by default, an error with --strict-keys") {
  const std::string file = std::string(FLOWGUARD_SOURCE_DIR) + "/tests/corpus/dip/key-case/discriminators-and-s1.json";
  const auto lenient = run("check --quiet " + file);
  INFO(lenient.out);
  CHECK(lenient.status == 0);
  CHECK_THAT(lenient.out, Catch::Contains("warning: [schema.key-case] key \"InterfaceID\""));
  const auto strict = run("check --quiet --strict-keys --format json " + file);
  INFO(strict.out);
  CHECK(strict.status == 1);
  CHECK_THAT(strict.out, Catch::Contains(R"("rule":"schema.key-case","severity":"error")"));
}

TEST_CASE("findings carry the DIP response code in text and JSON") {
  const std::string file = std::string(FLOWGUARD_SOURCE_DIR) + "/tests/corpus/dip/IF-031/MSApp/invalid.json";
  const auto text = run("check --quiet " + file);
  INFO(text.out);
  CHECK_THAT(text.out, Catch::Contains("error: [schema.required] (MSG1001) missing required property"));
  const auto json = run("check --format json " + file);
  INFO(json.out);
  CHECK_THAT(json.out, Catch::Contains(R"("code":"MSG1001")"));
  auto report = flowguard::json::Document::parse(json.out);
  REQUIRE(report.ok());
  auto schema = flowguard::schema::CompiledSchema::load_file(std::string(FLOWGUARD_SOURCE_DIR) + "/schemas/report.schema.json");
  REQUIRE(schema.ok());
  std::vector<flowguard::schema::Violation> violations;
  schema->validate(report->root(), "", violations);
  CHECK(violations.empty());
}

TEST_CASE("NDJSON is streamed: records are checked a chunk at a time and the count is judged at the end") {
  const std::string record =
      R"({"Event ID": 570, "Event Type": "Upwards", "Delivery Date": "18-03-2026", "Registered DFS Participant": "Beta Dev", )"
      R"("DFS Unit ID": "Beta-1-Z2", "DFS Volume MW": 78, "From_Local": "01:00", "To_Local": "01:30", "Utilisation price GBP per MWh": 200})";
  std::string lines;
  for (int i = 0; i < 5001; ++i) {
    std::string r = record;
    r.replace(r.find("570"), 3, std::to_string(1000 + i));  // distinct records: no duplicate warnings
    if (i == 4500) r.replace(r.find("18-03-2026"), 10, "31-02-2026");
    lines += r + "\n";
  }
  const auto file = scratch("bids.ndjson", lines);
  const auto r = run("check --quiet " + file.string());
  INFO(r.out.substr(0, 2000));
  CHECK(r.status == 1);
  CHECK_THAT(r.out, Catch::Contains("bids.ndjson:1:1: error: [schema.maxItems] the value has 5001 items; expected at most 5000 items"));
  CHECK_THAT(r.out, Catch::Contains("bids.ndjson:4501:") && Catch::Contains("[DFS-DATE-DMY]") && Catch::Contains("(/4500/Delivery Date)"));
}

TEST_CASE("control characters in messages, keys and paths are escaped: one finding, one line") {
  const fs::path dir = fs::temp_directory_path() / "flowguard-cli-tests" / "forging-rules";
  fs::create_directories(dir);
  std::ofstream(dir / "forge.lua")
      << "return { id = \"USER-FORGE\", severity = \"warning\", description = \"d\", spec = \"s\", types = {\"dfs.*\"},\n"
         "  record = function(r, report) report(nil, 'x\\n/etc/passwd:1:1: error: [FORGED] \\27[2Jgone\\r\\t\\194\\155') end }\n";
  const fs::path file = scratch("keys-with-newlines.json",
                                "[{\"a\\nfake.json:9:9: error: [FORGED] b\\u001b[31m\": 1}]");
  const auto r = run("check --type dfs.bid-submission --rules " + dir.string() + " " + file.string());
  INFO(r.out);
  CHECK(r.status == 1);
  CHECK(r.out.find('\x1b') == std::string::npos);
  CHECK(r.out.find('\r') == std::string::npos);
  CHECK(r.out.find("\xC2\x9B") == std::string::npos);
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    INFO(line);
    const bool forged_text = line.find("[FORGED]") != std::string::npos;
    const bool starts_as_finding = line.rfind(file.string() + ":", 0) == 0;
    CHECK((!forged_text || starts_as_finding));
  }
  CHECK_THAT(r.out, Catch::Contains("[USER-FORGE] x\\n/etc/passwd:1:1: error: [FORGED] \\x1b[2Jgone\\r\\t\\u009b"));
  CHECK_THAT(r.out, Catch::Contains("a\\nfake.json:9:9: error: [FORGED] b\\x1b[31m"));
}

TEST_CASE("a rule reporting in a loop is capped per call and per file, counted exactly, said in a note") {
  const fs::path dir = fs::temp_directory_path() / "flowguard-cli-tests" / "loop-rules";
  fs::create_directories(dir);
  std::ofstream(dir / "loop.lua")
      << "return { id = \"USER-LOOP\", severity = \"error\", description = \"d\", spec = \"s\", types = {\"dfs.*\"},\n"
         "  record = function(r, report) for i = 1, 30000 do report(nil, 'again ' .. i) end end }\n";
  const auto r = run("check --rules " + dir.string() + " " + example("bid-submission.json"));
  INFO(r.out.substr(r.out.size() > 2000 ? r.out.size() - 2000 : 0));
  CHECK(r.status == 1);
  CHECK_THAT(r.out, Catch::Contains("1 file, 4 records: 120000 errors, 0 warnings"));
  CHECK_THAT(r.out, Catch::Contains("[USER-LOOP] "));
  CHECK_THAT(r.out, Catch::Contains(" more findings counted but not kept"));
  const auto j = run("check --format json --rules " + dir.string() + " " + example("bid-submission.json"));
  CHECK_THAT(j.out, Catch::Contains("\"errors\":120000"));
  CHECK_THAT(j.out, Catch::Contains("\"findings_not_shown\":119000"));
}

TEST_CASE("a directory given as FILE is one clear line, exit 2") {
  const auto r = run("check " + std::string(FLOWGUARD_SOURCE_DIR) + "/examples/dfs");
  INFO(r.out);
  CHECK(r.status == 2);
  CHECK_THAT(r.out, Catch::StartsWith(std::string(FLOWGUARD_SOURCE_DIR) +
                                      "/examples/dfs: error: is a directory, expected a JSON file\n"));
}

TEST_CASE("numbers beyond double range are input errors at their line and column") {
  const fs::path big = scratch("huge-number.json", "[{\"Event ID\": 1e400}]");
  const auto r = run("check " + big.string());
  INFO(r.out);
  CHECK(r.status == 2);
  CHECK_THAT(r.out, Catch::Contains(big.string() + ":1:15: error: input exceeds a limit: the number 1e400 is beyond the range of a double"));
  const fs::path tiny = scratch("tiny-number.json", "[{\"Event ID\": -1e-400}]");
  const auto t = run("check " + tiny.string());
  INFO(t.out);
  CHECK(t.status == 2);
  CHECK_THAT(t.out, Catch::Contains(tiny.string() + ":1:15: error: input exceeds a limit: the number -1e-400 is too small to tell from zero"));
}

TEST_CASE("the option --now pins the clock of the time rules and of the DIP response") {
  const auto r = run("check --format dip --now 2027-01-14T09:00:00Z " + example("bid-submission.json"));
  INFO(r.out);
  CHECK(r.status == 0);
  CHECK_THAT(r.out, Catch::Contains("2027-01-14T09:00:00Z"));
  const auto bad = run("check --now yesterday " + example("bid-submission.json"));
  INFO(bad.out);
  CHECK(bad.status == 2);
  CHECK_THAT(bad.out, Catch::Contains("--now expects a date-time"));
  CHECK(run("check --now 2027-01-14T09:00:00+01:00 " + example("bid-submission.json")).status == 0);
}

TEST_CASE("a plugin that exits or crashes while loading is named, exits 3, and cannot make a failing check pass") {
  // Before plugins were described in a child process, exit(0) in a plugin's entry point ended
  // `flowguard check` with status 0 whatever the findings.
  const fs::path dir = fs::temp_directory_path() / "flowguard-cli-tests" / "faulty-plugins";
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (const char* name : {"exit_entry_plugin.so", "segv_entry_plugin.so"})
    fs::copy_file(fs::path(TEST_PLUGIN_DIR) / "faulty" / name, dir / name);
  const auto bad = scratch("faulty-plugins-bad.json", "[{\"not\": \"a bid\"}]");
  const auto r = run("check --type dfs.bid-submission --plugins " + dir.string() + " " + bad.string());
  INFO(r.out);
  CHECK(r.status == 3);
  CHECK_THAT(r.out, Catch::Contains("exit_entry_plugin.so refused: it ended the process loading it with exit status 0"));
  CHECK_THAT(r.out, Catch::Contains("segv_entry_plugin.so refused: it crashed the process loading it with signal SIGSEGV"));
  CHECK_THAT(r.out, Catch::Contains("error:"));  // the check itself ran, with the DFS plugin
}

TEST_CASE("standard input that cannot be JSON is refused at once, not read to its end") {
  const auto r = run("check --type dfs.bid-submission -", "/dev/zero");
  INFO(r.out);
  CHECK(r.status == 2);
  CHECK_THAT(r.out, Catch::Contains("-:1:1: error: not valid JSON: byte 0x00 cannot begin a JSON document"));
}
