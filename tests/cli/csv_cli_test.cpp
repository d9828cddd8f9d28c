// CSV as a user runs it: `flowguard check FILE.csv`, `flowguard convert`, `flowguard split`.
#include "shell_run.hpp"
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <tuple>

#include "flowguard/json/document.hpp"
#include "flowguard/schema/validator.hpp"

namespace fs = std::filesystem;
using flowguard::json::Document;
using flowguard::json::Value;

namespace {

using Run = flowguard::test::ShellRun;  // status, and what reached the pipe

// stderr goes to `err` when given, else joins stdout.
Run run(const std::string& args, const fs::path& err = {}) {
  std::string command = std::string(FLOWGUARD_EXE) + " " + args + (err.empty() ? " 2>&1" : " 2>" + err.string());
  return flowguard::test::run_shell(command);
}

std::string corpus(const std::string& name) {
  return std::string(FLOWGUARD_SOURCE_DIR) + "/tests/corpus/dfs-csv/" + name;
}

fs::path scratch_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / "flowguard-csv-cli-tests" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string slurp(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void spit(const fs::path& file, const std::string& text) { std::ofstream(file, std::ios::binary) << text; }

Document parse(const std::string& text) {
  auto doc = Document::parse(text);
  INFO(text);
  REQUIRE(doc.ok());
  return std::move(doc).value();
}

std::string str(const Value& object, const char* key) {
  const Value* v = object.find(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::size_t num(const Value& object, const char* key) {
  const Value* v = object.find(key);
  return v && v->is_number() ? static_cast<std::size_t>(v->as_double()) : static_cast<std::size_t>(-1);
}

// (rule, severity, path, message) of every finding of a `check --format json` report.
std::multiset<std::tuple<std::string, std::string, std::string, std::string>> findings_of(const std::string& report) {
  const Document doc = parse(report);
  std::multiset<std::tuple<std::string, std::string, std::string, std::string>> out;
  for (const auto& file : doc.root().find("files")->items())
    for (const auto& f : file.find("findings")->items())
      out.emplace(str(f, "rule"), str(f, "severity"), str(f, "path"), str(f, "message"));
  return out;
}

// A bid submission of `units` units, unit u with sizes[u] records, units interleaved as a
// spreadsheet sorted by time would have them.
std::string bids(const std::vector<std::size_t>& sizes) {
  std::string out = "[";
  bool first = true;
  std::size_t most = 0;
  for (auto s : sizes) most = std::max(most, s);
  for (std::size_t k = 0; k < most; ++k)
    for (std::size_t u = 0; u < sizes.size(); ++u) {
      if (k >= sizes[u]) continue;
      const std::size_t minutes = (k % 47) * 30;
      char from[8], to[8];
      std::snprintf(from, sizeof from, "%02zu:%02zu", minutes / 60, minutes % 60);
      std::snprintf(to, sizeof to, "%02zu:%02zu", (minutes + 30) / 60, (minutes + 30) % 60);
      out += first ? "\n" : ",\n";
      first = false;
      out += "{\"Event ID\": " + std::to_string(570 + k / 47) + ", \"Event Type\": \"Upwards\", \"Delivery Date\": \"18-03-2026\", "
             "\"Registered DFS Participant\": \"Beta Dev\", \"DFS Unit ID\": \"U" + std::to_string(u) +
             "\", \"DFS Volume MW\": 1, \"From_Local\": \"" + from + "\", \"To_Local\": \"" + to +
             "\", \"Utilisation price GBP per MWh\": " + std::to_string(100 + k) + "}";
    }
  return out + "\n]\n";
}

// The batches a manifest lists, each file's records parsed; checks the manifest against the files.
struct Split {
  Document manifest;
  std::vector<Document> batches;
};

Split read_split(const fs::path& dir) {
  Split s{parse(slurp(dir / "manifest.json")), {}};
  std::size_t total = 0;
  for (const auto& b : s.manifest.root().find("batches")->items()) {
    const fs::path file = dir / str(b, "file");
    INFO(file.string());
    REQUIRE(fs::exists(file));
    s.batches.push_back(parse(slurp(file)));
    CHECK(s.batches.back().root().size() == num(b, "records"));
    CHECK(num(b, "errors") == 0);
    total += s.batches.back().root().size();
  }
  CHECK(total == num(s.manifest.root(), "records"));
  return s;
}

}  // namespace

TEST_CASE("check prints a CSV's findings as FILE:ROW:COLUMN-NAME") {
  const auto r = run("check --quiet " + corpus("bid-excel-dates.csv"));
  INFO(r.out);
  CHECK(r.status == 1);
  const std::regex line(R"(^.+bid-excel-dates\.csv:[0-9]+(:[A-Za-z_ ]+)?: (error|warning|info): \[[A-Za-z0-9_.-]+\] .+$)");
  std::istringstream lines(r.out);
  std::string l;
  int count = 0;
  while (std::getline(lines, l)) {
    INFO(l);
    CHECK(std::regex_match(l, line));
    ++count;
  }
  CHECK(count == 4);
  CHECK_THAT(r.out, Catch::Contains("bid-excel-dates.csv:3:Delivery Date: error: [csv.excel-date] \"Delivery Date\" is "
                                    "\"18/03/2026\""));
  const auto clean = run("check " + corpus("template-bid-submission.csv"));
  CHECK(clean.status == 0);
  CHECK_THAT(clean.out, Catch::Contains("checked as dfs.bid-submission (recognised from content), 2 records"));
  const auto typed = run("check --type dfs.bid-submission " + corpus("template-bid-submission.csv"));
  CHECK(typed.status == 0);
  const auto unreadable = run("check " + corpus("no-such-file.csv"));
  CHECK(unreadable.status == 2);
}

TEST_CASE("a CSV's JSON report validates against the report schema and names the columns") {
  const auto r = run("check --format json " + corpus("bid-header-problems.csv") + " " + corpus("weekly-quoting.csv"),
                     fs::temp_directory_path() / "flowguard-csv-cli-stderr.txt");
  CHECK(r.status == 1);
  const Document report = parse(r.out);
  auto schema = flowguard::schema::CompiledSchema::load_file(std::string(FLOWGUARD_SOURCE_DIR) + "/schemas/report.schema.json");
  REQUIRE(schema.ok());
  std::vector<flowguard::schema::Violation> violations;
  schema->validate(report.root(), "", violations);
  for (const auto& v : violations) INFO(v.pointer << ": " << v.message);
  CHECK(violations.empty());
  CHECK_THAT(r.out, Catch::Contains("\"column_name\":\"Sub Meter Serial Number\""));
}

TEST_CASE("convert writes the payload only when there are no errors, unless --force") {
  const fs::path dir = scratch_dir("convert");
  const fs::path out = dir / "bids.json";
  const auto refused = run("convert " + corpus("bid-excel-dates.csv") + " --out " + out.string());
  INFO(refused.out);
  CHECK(refused.status == 1);
  CHECK_FALSE(fs::exists(out));
  CHECK_THAT(refused.out, Catch::Contains("nothing written") && Catch::Contains("--force"));
  CHECK_THAT(refused.out, Catch::Contains(":2:Delivery Date: error: [csv.excel-date]"));

  const auto forced = run("convert --force " + corpus("bid-excel-dates.csv") + " --out " + out.string());
  CHECK(forced.status == 1);  // written, but the errors stand
  REQUIRE(fs::exists(out));
  CHECK(parse(slurp(out)).root().size() == 5);

  // Clean: the payload on standard output, nothing else there.
  const auto clean = run("convert " + corpus("template-weekly-settlement.csv"), dir / "stderr.txt");
  CHECK(clean.status == 0);
  const Document payload = parse(clean.out);
  REQUIRE(payload.root().is_array());
  CHECK(payload.root().size() == 1);
  CHECK(payload.root().items()[0].find("Participating")->is_bool());
}

TEST_CASE("convert round trip: CSV to JSON to check gives the CSV's findings") {
  const fs::path dir = scratch_dir("round-trip");
  for (const std::string name : {"bid-rule-findings.csv", "weekly-quoting.csv", "template-unit-meter-point-schedule.csv"}) {
    INFO(name);
    const fs::path json = dir / (name + ".json");
    run("convert --force --quiet " + corpus(name) + " --out " + json.string());
    REQUIRE(fs::exists(json));
    const fs::path err = dir / "stderr.txt";
    const auto from_csv = run("check --format json " + corpus(name), err);
    const auto from_json = run("check --format json " + json.string(), err);
    CHECK(from_csv.status == from_json.status);
    CHECK(findings_of(from_csv.out) == findings_of(from_json.out));
  }
}

TEST_CASE("split keeps each unit's records in one batch of at most --max records, with a manifest") {
  const fs::path dir = scratch_dir("split");
  // 9 units of 1 to 9 records: 45 records, 10 to a batch.
  std::vector<std::size_t> sizes;
  for (std::size_t u = 1; u <= 9; ++u) sizes.push_back(u);
  const fs::path input = dir / "bids.json";
  spit(input, bids(sizes));
  const fs::path out = dir / "batches";
  const auto r = run("split --max 10 --out " + out.string() + " " + input.string());
  INFO(r.out);
  REQUIRE(r.status == 0);
  const Split s = read_split(out);
  const auto& m = s.manifest.root();
  CHECK(str(m, "type") == "dfs.bid-submission");
  CHECK(num(m, "records") == 45);
  CHECK(num(m, "max_records_per_batch") == 10);
  std::map<std::string, std::set<std::size_t>> batches_of_unit;
  for (std::size_t b = 0; b < s.batches.size(); ++b) {
    CHECK(s.batches[b].root().size() <= 10);
    for (const auto& rec : s.batches[b].root().items()) batches_of_unit[str(rec, "DFS Unit ID")].insert(b);
  }
  CHECK(batches_of_unit.size() == 9);
  for (const auto& [unit, in] : batches_of_unit) {
    INFO(unit);
    CHECK(in.size() == 1);
  }
  // Greedy in order of first appearance: U0..U3 (1+2+3+4), U4 (5; U5 does not fit), U5 (6), U6, U7, U8.
  CHECK(s.batches.size() == 6);
  // Pacing: 30 calls a minute, stated in the output and the manifest.
  CHECK_THAT(r.out, Catch::Contains("30 calls a minute") && Catch::Contains("every 2 seconds") &&
                        Catch::Contains("6 batches: at least 10 seconds"));
  const Value* pacing = m.find("pacing");
  REQUIRE(pacing);
  CHECK(num(*pacing, "calls_per_minute") == 30);
  CHECK(num(*pacing, "seconds_between_calls") == 2);
  CHECK(num(*pacing, "minimum_seconds") == 10);
  CHECK_THAT(r.out, Catch::Contains("bids-001.json  10 records"));
}

TEST_CASE("split cuts a unit larger than a batch by Event ID, and says where it had to cut further") {
  const fs::path dir = scratch_dir("split-large-unit");
  // U0 has 100 records over 3 events (47, 47, 6), --max 50: each event fits a batch of its own.
  const fs::path input = dir / "bids.json";
  spit(input, bids({100, 3}));
  const auto r = run("split --max 50 --out " + (dir / "a").string() + " " + input.string());
  INFO(r.out);
  REQUIRE(r.status == 0);
  CHECK_THAT(r.out, !Catch::Contains("warning"));
  const Split s = read_split(dir / "a");
  std::map<std::string, std::set<std::size_t>> batches_of_event;
  for (std::size_t b = 0; b < s.batches.size(); ++b)
    for (const auto& rec : s.batches[b].root().items())
      if (str(rec, "DFS Unit ID") == "U0") batches_of_event[std::string(rec.find("Event ID")->number_text())].insert(b);
  CHECK(batches_of_event.size() == 3);
  for (const auto& [event, in] : batches_of_event) CHECK(in.size() == 1);

  // --max 20: an event of 47 records cannot stay whole; the warning names it and the batches.
  const auto cut = run("split --max 20 --out " + (dir / "b").string() + " " + input.string());
  INFO(cut.out);
  CHECK(cut.status == 0);
  CHECK_THAT(cut.out, Catch::Contains("warning: DFS Unit ID \"U0\", Event ID 570 has 47 records, more than a batch of 20"));
  const Split b = read_split(dir / "b");
  CHECK(b.manifest.root().find("warnings")->size() == 2);
  for (const auto& batch : b.batches) CHECK(batch.root().size() <= 20);
}

TEST_CASE("split takes a file of more than 5,000 records into batches of 5,000, from JSON or CSV") {
  const fs::path dir = scratch_dir("split-big");
  std::vector<std::size_t> sizes(12001, 1);  // one record per unit
  const fs::path input = dir / "big.json";
  spit(input, bids(sizes));
  const auto whole = run("check --quiet " + input.string());
  CHECK(whole.status == 1);
  CHECK_THAT(whole.out, Catch::Contains("schema.maxItems"));
  const auto r = run("split --out " + (dir / "out").string() + " " + input.string());
  INFO(r.out);
  REQUIRE(r.status == 0);
  const Split s = read_split(dir / "out");
  REQUIRE(s.batches.size() == 3);
  CHECK(s.batches[0].root().size() == 5000);
  CHECK(s.batches[1].root().size() == 5000);
  CHECK(s.batches[2].root().size() == 2001);
  // Records keep their order: the first batch starts with the file's first record.
  CHECK(str(s.batches[0].root().items()[0], "DFS Unit ID") == "U0");
  CHECK(str(s.batches[2].root().items()[2000], "DFS Unit ID") == "U12000");

  // CSV input: the batches are the converted payload's records.
  const auto csv = run("split --max 1 --out " + (dir / "csv").string() + " " + corpus("template-bid-submission.csv"));
  INFO(csv.out);
  REQUIRE(csv.status == 0);
  const Split c = read_split(dir / "csv");
  REQUIRE(c.batches.size() == 2);
  CHECK(c.batches[0].root().items()[0].find("Event ID")->is_number());
  CHECK(fs::exists(dir / "csv" / "template-bid-submission-002.json"));
}

TEST_CASE("split refuses a file with error findings unless --force") {
  const fs::path dir = scratch_dir("split-errors");
  const auto r = run("split --max 2 --out " + (dir / "out").string() + " " + corpus("bid-rule-findings.csv"));
  INFO(r.out);
  CHECK(r.status == 1);
  CHECK_THAT(r.out, Catch::Contains("nothing written") && Catch::Contains("bid-rule-findings.csv:2:To_Local"));
  CHECK_FALSE(fs::exists(dir / "out" / "manifest.json"));
  const auto forced = run("split --force --max 2 --out " + (dir / "out").string() + " " + corpus("bid-rule-findings.csv"));
  CHECK(forced.status == 1);
  CHECK(fs::exists(dir / "out" / "manifest.json"));
}

TEST_CASE("split and convert usage errors exit 2 and say what was expected") {
  const auto no_out = run("split " + corpus("template-bid-submission.csv"));
  CHECK(no_out.status == 2);
  CHECK_THAT(no_out.out, Catch::Contains("split needs --out DIR"));
  const auto too_many = run("split --max 6000 --out /tmp/x " + corpus("template-bid-submission.csv"));
  CHECK(too_many.status == 2);
  CHECK_THAT(too_many.out, Catch::Contains("--max expects a whole number from 1 to 5000"));
  const auto no_file = run("convert");
  CHECK(no_file.status == 2);
  const auto unknown = run("convert --bogus x.csv");
  CHECK(unknown.status == 2);
  CHECK_THAT(unknown.out, Catch::Contains("unknown option --bogus"));
  const fs::path dir = scratch_dir("usage");
  spit(dir / "colours.csv", "colour,size\nred,3\n");
  const auto none = run("convert " + (dir / "colours.csv").string());
  CHECK(none.status == 2);
  CHECK_THAT(none.out, Catch::Contains("names none of the fields"));
}

TEST_CASE("convert and split explain themselves with --help") {
  const auto convert = run("convert --help");
  CHECK(convert.status == 0);
  CHECK_THAT(convert.out, Catch::StartsWith("usage: flowguard convert FILE.csv"));
  for (const char* text : {"--type TYPE", "--out FILE", "--force", "FILE:ROW:COLUMN-NAME", "byte order mark",
                           "thousands separators", "exit status"})
    CHECK_THAT(convert.out, Catch::Contains(text));
  const auto split = run("split --help");
  CHECK(split.status == 0);
  CHECK_THAT(split.out, Catch::StartsWith("usage: flowguard split --out DIR"));
  for (const char* text : {"--max N", "5,000", "manifest.json", "30 calls a minute", "DFS Unit ID", "--force", "exit status"})
    CHECK_THAT(split.out, Catch::Contains(text));
  const auto top = run("--help");
  CHECK_THAT(top.out, Catch::Contains("convert FILE.csv") && Catch::Contains("split --out DIR"));
}

TEST_CASE("split again into the same folder leaves no batch of the earlier split behind") {
  const fs::path dir = scratch_dir("split-again");
  const fs::path input = dir / "bids.json";
  spit(input, bids({3, 3, 3, 3}));
  REQUIRE(run("split --max 3 --out " + (dir / "out").string() + " " + input.string()).status == 0);
  CHECK(fs::exists(dir / "out" / "bids-004.json"));
  spit(dir / "out" / "other-001.json", "[]");  // not this file's batch: kept
  const auto again = run("split --max 6 --out " + (dir / "out").string() + " " + input.string());
  INFO(again.out);
  REQUIRE(again.status == 0);
  CHECK(fs::exists(dir / "out" / "bids-002.json"));
  CHECK_FALSE(fs::exists(dir / "out" / "bids-003.json"));
  CHECK_FALSE(fs::exists(dir / "out" / "bids-004.json"));
  CHECK(fs::exists(dir / "out" / "other-001.json"));
  CHECK_THAT(again.out, Catch::Contains("removed bids-003.json, a batch of an earlier split"));
  const Split s = read_split(dir / "out");
  CHECK(s.batches.size() == 2);
}
