// DFS submissions as CSV (docs/csv.md), through the engine as `flowguard check FILE.csv` runs them.
//
// tests/corpus/dfs-csv/<case>.csv holds a CSV built from the spec's templates (the §6 field tables'
// JSON names as the header, the §8 samples as rows), each with spreadsheet mistakes; <case>.expected
// lists its findings, one a line, as ROW[:COLUMN-NAME]: SEVERITY: [RULE] in report order ('#' lines
// say what the case is about).
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <tuple>
#include <sstream>
#include <string>
#include <vector>

#include "flowguard/engine.hpp"
#include "flowguard/json/document.hpp"

namespace fs = std::filesystem;
using flowguard::Engine;
using flowguard::FileReport;
using flowguard::Finding;

namespace {

const fs::path kCorpus = fs::path(FLOWGUARD_SOURCE_DIR) / "tests/corpus/dfs-csv";

std::unique_ptr<Engine> engine() {
  auto created = Engine::create({});
  REQUIRE(created.ok());
  return std::move(created).value();
}

std::string slurp(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string position(const Finding& f) {
  if (!f.line) return "-";
  return std::to_string(f.line) + (f.column_name.empty() ? "" : ":" + f.column_name);
}

std::string brief(const Finding& f) {
  return position(f) + ": " + flowguard::to_string(f.severity) + ": [" + f.rule + "]";
}

std::vector<std::string> expected_lines(const fs::path& file) {
  std::vector<std::string> out;
  std::istringstream in(slurp(file));
  std::string line;
  while (std::getline(in, line))
    if (!line.empty() && line[0] != '#') out.push_back(line);
  return out;
}

std::vector<fs::path> cases() {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(kCorpus))
    if (e.path().extension() == ".csv") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

// (rule, severity, pointer, message): a finding as the JSON of the payload has it.
using Key = std::tuple<std::string, int, std::string, std::string>;
Key key(const Finding& f) { return {f.rule, static_cast<int>(f.severity), f.pointer, f.message}; }

}  // namespace

TEST_CASE("every CSV corpus case gives its expected findings at ROW:COLUMN-NAME") {
  auto e = engine();
  const auto files = cases();
  REQUIRE(files.size() >= 13);  // a moved or emptied corpus must not pass
  for (const auto& csv : files) {
    const fs::path expected = fs::path(csv).replace_extension(".expected");
    INFO(csv.filename().string());
    REQUIRE(fs::exists(expected));
    const FileReport report = e->check_file(csv);  // *.csv: read as CSV
    INFO(flowguard::format_text({report}));
    REQUIRE_FALSE(report.input_error);
    std::vector<std::string> actual;
    for (const auto& f : report.findings) actual.push_back(brief(f));
    CHECK(actual == expected_lines(expected));
    std::size_t errors = 0;
    for (const auto& f : report.findings) {
      errors += f.severity == flowguard::Severity::kError;
      // The CSV's own findings say what was expected.
      if (f.rule.rfind("csv.", 0) == 0) CHECK_THAT(f.message, Catch::Contains("expected"));
      // A finding at a column names one of the header's columns, at its index.
      if (!f.column_name.empty() && f.column) CHECK(f.line >= 1);
    }
    CHECK(report.errors == errors);
  }
}

TEST_CASE("the type is recognised from the header row, or taken from --type") {
  auto e = engine();
  const std::string bids = slurp(kCorpus / "template-bid-submission.csv");
  const FileReport recognised = e->check_csv(bids, "bids.csv");
  CHECK(recognised.type == "dfs.bid-submission");
  CHECK(recognised.type_from_content);
  CHECK(recognised.records == 2);
  const FileReport given = e->check_csv(bids, "bids.csv", "dfs.bid-submission");
  CHECK(given.type == "dfs.bid-submission");
  CHECK_FALSE(given.type_from_content);
  // A family narrows recognition; each template is recognised as its own type.
  for (const auto& [file, type] : std::map<std::string, std::string>{
           {"template-unit-meter-point-schedule.csv", "dfs.unit-meter-point-schedule"},
           {"template-weekly-settlement.csv", "dfs.weekly-settlement"},
           {"template-mpan-forecast.csv", "dfs.mpan-forecast"}}) {
    INFO(file);
    CHECK(e->check_csv(slurp(kCorpus / file), file, "dfs").type == type);
  }
  // Read as another type, the bid columns are unknown to it and its own are missing.
  const FileReport forecast = e->check_csv(bids, "bids.csv", "dfs.mpan-forecast");
  CHECK(forecast.errors > 0);
  CHECK(std::any_of(forecast.findings.begin(), forecast.findings.end(),
                    [](const Finding& f) { return f.rule == "csv.unknown-column" && f.column_name == "Event ID"; }));
  CHECK(std::any_of(forecast.findings.begin(), forecast.findings.end(),
                    [](const Finding& f) { return f.rule == "csv.missing-column" && f.column_name == "Baseline kWh"; }));
}

TEST_CASE("CSV that cannot be read as a type is an input error that says why") {
  auto e = engine();
  auto none = e->check_csv("colour,size\nred,3\n", "x.csv");
  REQUIRE(none.input_error);
  CHECK(none.input_error->code == flowguard::ErrorCode::kUnknownType);
  CHECK_THAT(none.input_error->message, Catch::Contains("x.csv:1:") && Catch::Contains("dfs.bid-submission"));
  auto empty = e->check_csv("", "empty.csv");
  REQUIRE(empty.input_error);
  CHECK_THAT(empty.input_error->message, Catch::Contains("no header row"));
  auto retrieval = e->check_csv("EventID,Status\n570,Accepted\n", "r.csv", "dfs.bid-results");
  REQUIRE(retrieval.input_error);
  CHECK_THAT(retrieval.input_error->message, Catch::Contains("not a JSON array of records"));
  auto unknown = e->check_csv("Event ID\n1\n", "u.csv", "dfs.no-such-type");
  REQUIRE(unknown.input_error);
  CHECK(unknown.input_error->code == flowguard::ErrorCode::kUnknownType);
}

TEST_CASE("cells are coerced by their field's schema type") {
  auto e = engine();
  auto conv = e->convert_csv(slurp(kCorpus / "template-weekly-settlement.csv"), "w.csv");
  REQUIRE(conv.ok());
  CHECK(conv->records == 1);
  CHECK(conv->rows == std::vector<std::uint32_t>{2});
  auto doc = flowguard::json::Document::parse(conv->json);
  REQUIRE(doc.ok());
  const auto& r = doc->root().items()[0];
  CHECK(r.find("Event ID")->is_number());
  CHECK(r.find("Event ID")->number_text() == "570");
  CHECK(r.find("Baseline kWh")->number_text() == "80.33");  // the source text, decimals kept
  CHECK(r.find("Participating")->is_bool());
  CHECK(r.find("Participating")->as_bool());                 // TRUE, as a spreadsheet writes it
  CHECK_FALSE(r.find("Participating Meter Electricity Supplier")->as_bool());
  CHECK(r.find("Import MPAN")->is_string());                  // digits, but a string field
  CHECK(r.find("Import MPAN")->as_string() == "3015019458618");
  // Empty cells: an empty string for a string field, absent for a number or boolean.
  auto ump = e->convert_csv(slurp(kCorpus / "template-unit-meter-point-schedule.csv"), "u.csv");
  REQUIRE(ump.ok());
  auto udoc = flowguard::json::Document::parse(ump->json);
  REQUIRE(udoc.ok());
  const auto& second = udoc->root().items()[1];
  REQUIRE(second.find("Consent Effective From"));
  CHECK(second.find("Consent Effective From")->as_string().empty());
  CHECK(second.find("Zone")->number_text() == "1");
  auto blank_number = e->convert_csv("Delivery Date,From_Local,To_Local,Registered DFS Participant,DFS Unit ID,"
                                     "Baseline kWh\n18-03-2026,04:30,05:00,Beta,B-1,\n", "f.csv");
  REQUIRE(blank_number.ok());
  auto bdoc = flowguard::json::Document::parse(blank_number->json);
  REQUIRE(bdoc.ok());
  CHECK(bdoc->root().items()[0].find("Baseline kWh") == nullptr);
}

TEST_CASE("quoted fields arrive as the text between the quotes") {
  auto e = engine();
  auto conv = e->convert_csv(slurp(kCorpus / "weekly-quoting.csv"), "q.csv");
  REQUIRE(conv.ok());
  auto doc = flowguard::json::Document::parse(conv->json);
  REQUIRE(doc.ok());
  REQUIRE(doc->root().size() == 2);
  for (const auto& r : doc->root().items()) CHECK(r.find("Registered DFS Participant")->as_string() == "Beta, \"Dev\" Ltd");
  CHECK(doc->root().items()[0].find("Sub Meter Serial Number")->as_string() == "SDF\r\nGH");
  CHECK(doc->root().items()[1].find("Event ID")->number_text() == "570");  // a quoted number is still a number
  CHECK(conv->rows == std::vector<std::uint32_t>{2, 3});
}

TEST_CASE("round trip: the converted JSON checks to the CSV's findings") {
  // Every finding of the CSV that is not the CSV's own is the JSON's, word for word at the same
  // pointer; every finding of the JSON is the CSV's, or sits on a cell or row the CSV reports on
  // (a rewritten date shows that finding alone), or is folded into a header finding.
  auto e = engine();
  std::size_t exact_cases = 0;
  for (const auto& csv : cases()) {
    INFO(csv.filename().string());
    const std::string bytes = slurp(csv);
    auto conv = e->convert_csv(bytes, csv.string());
    REQUIRE(conv.ok());
    const FileReport from_csv = e->check_csv(bytes, csv.string());
    const FileReport from_json = e->check(conv->json, "converted.json", conv->type);
    INFO(flowguard::format_text({from_csv, from_json}));
    std::multiset<Key> csv_keys, json_keys;
    std::set<std::string> csv_cells;
    bool header_findings = false;
    for (const auto& f : from_csv.findings) {
      if (f.rule.rfind("csv.", 0) == 0) {
        if (!f.pointer.empty()) csv_cells.insert(f.pointer);
        header_findings = header_findings || f.line == 1;
      } else {
        csv_keys.insert(key(f));
      }
    }
    for (const auto& f : from_json.findings) json_keys.insert(key(f));
    for (const auto& k : csv_keys) CHECK(json_keys.count(k) >= csv_keys.count(k));
    for (const auto& f : from_json.findings) {
      if (csv_keys.count(key(f))) continue;
      const bool on_reported = csv_cells.count(f.pointer) > 0 ||
                               std::any_of(csv_cells.begin(), csv_cells.end(), [&](const std::string& cell) {
                                 return f.pointer.size() > 1 && cell.rfind(f.pointer + "/", 0) == 0;
                               });
      INFO(f.rule << " at " << f.pointer);
      CHECK((on_reported || header_findings));
    }
    if (csv_cells.empty() && !header_findings) {
      CHECK(csv_keys == json_keys);
      ++exact_cases;
    }
  }
  CHECK(exact_cases >= 6);  // the templates, the rule findings, the quoting case
}

TEST_CASE("more records than one call takes is the payload's finding, not a row's") {
  auto e = engine();
  std::string csv = "Delivery Date,From_Local,To_Local,Registered DFS Participant,DFS Unit ID,Baseline kWh\n";
  for (int i = 0; i < 5001; ++i) csv += "18-03-2026,04:30,05:00,Beta Dev,Beta-" + std::to_string(i) + ",1.5\n";
  const FileReport r = e->check_csv(csv, "big.csv");
  REQUIRE(r.findings.size() == 1);
  CHECK(r.findings[0].rule == "schema.maxItems");
  CHECK(r.findings[0].line == 0);
  CHECK(r.records == 5001);
}

TEST_CASE("the text and JSON reports print CSV positions") {
  auto e = engine();
  const FileReport r = e->check_file(kCorpus / "bid-excel-dates.csv");
  const std::string text = flowguard::format_text({r}, false);
  CHECK_THAT(text, Catch::Contains("bid-excel-dates.csv:2:Delivery Date: error: [csv.excel-date]"));
  const std::string json = flowguard::format_json({r});
  CHECK_THAT(json, Catch::Contains("\"line\":2,\"column\":3,") && Catch::Contains("\"column_name\":\"Delivery Date\""));
  const FileReport rows = e->check_file(kCorpus / "forecast-row-problems.csv");
  CHECK_THAT(flowguard::format_text({rows}, false), Catch::Contains("forecast-row-problems.csv:3: error: [csv.field-count]"));
}

TEST_CASE("the findings cap (max-findings) holds for CSV findings too") {
  flowguard::EngineOptions options;
  options.max_findings = 2;
  auto created = Engine::create(options);
  REQUIRE(created.ok());
  const FileReport r = (*created)->check_file(kCorpus / "bid-excel-numbers.csv");
  CHECK(r.findings.size() == 2);
  CHECK(r.findings_not_shown == 3);
  CHECK(r.errors == 5);
}
