// core/lua: the rule bridge. A rule source is loaded into a fresh sandboxed host with small budgets
// (instructions, memory, reports) and its record and document functions run over a few records.
// The first byte picks the form: a whole rule file (the seeds are the shipped rules), or the body
// of one rule's record and document functions (to reach the views, helpers and patterns at once).
// Contracts beyond "no crash": a failure is an error with a message; every report names a rule
// that exists and a message no longer than the cap (plus its note); a call's reports are capped.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "flowguard/json/document.hpp"
#include "flowguard/lua/rule_host.hpp"
#include "fuzz_support.hpp"

using namespace flowguard;

namespace {

constexpr const char* kRecords = R"([
  {"MPAN": "1200012345678", "Delivery Date": "18-03-2023", "From_Local": "17:30", "price": 280.25,
   "n": 3, "flag": true, "none": null, "list": [1, "two", {"three": 3}], "obj": {"a": {"b": "c"}}, "é": "ü"},
  {"MPAN": 1200012345678, "Delivery Date": "2023-03-18", "From_Local": "18:15", "price": -1e300},
  [], "text", 7
])";

const json::Document& records_doc() {
  static const json::Document doc = json::Document::parse(kRecords).value();
  return doc;
}

const std::shared_ptr<const json::Document>& options_doc() {
  static const auto doc = std::make_shared<const json::Document>(
      json::Document::parse(R"({"now": "2025-03-17T18:00:00Z", "flows": false})").value());
  return doc;
}

void check_reports(const lua::RuleHost& host, const lua::Limits& limits, const std::vector<lua::RuleReport>& reports) {
  // The cap is per severity (error, warning, info) of one call.
  FLOWGUARD_FUZZ_CHECK(reports.size() <= 3 * limits.max_reports_per_call + 3);
  for (const auto& r : reports) {
    FLOWGUARD_FUZZ_CHECK(r.rule < host.rules().size());
    FLOWGUARD_FUZZ_CHECK(r.message.size() <= limits.max_message_bytes + 100);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view body = fuzz::as_text(data + 1, size - 1);
  std::string source;
  if (data[0] & 1) {
    source = body;
  } else {
    source = "fg.require_api(1)\nreturn { { id = \"FUZZ-RULE\", severity = \"error\", types = { \"fuzz.*\" },\n"
             "record = function(rec, report)\n";
    source += body;
    source += "\nend,\ndocument = function(records, report, root)\n";
    source += body;
    source += "\nend } }\n";
  }
  lua::Limits limits;
  limits.instructions_per_call = 100'000;
  limits.memory_bytes = 8u << 20;
  limits.max_reports_per_call = 50;
  limits.max_message_bytes = 512;
  auto host = lua::RuleHost::create(limits);
  FLOWGUARD_FUZZ_CHECK(host.ok());
  (*host)->set_data("options", options_doc());
  const Status loaded = (*host)->load_file(fuzz::scratch_file("rule.lua", source));
  if (!loaded.ok()) {
    FLOWGUARD_FUZZ_CHECK(!loaded.error().message.empty());
    return 0;
  }
  const json::Value& root = records_doc().root();
  std::vector<const json::Value*> records;
  for (const auto& item : root.items()) records.push_back(&item);
  const auto& rules = (*host)->rules();
  for (std::size_t i = 0; i < rules.size() && i < 8; ++i) {
    (*host)->begin_document();
    std::vector<lua::RuleReport> reports;
    if (rules[i].has_record) {
      for (std::size_t r = 0; r < records.size(); ++r) {
        const Status run = (*host)->run_record(i, *records[r], r, reports);
        if (!run.ok()) FLOWGUARD_FUZZ_CHECK(!run.error().message.empty());
        check_reports(**host, limits, reports);
        reports.clear();
      }
    }
    if (rules[i].has_document) {
      const Status run = (*host)->run_document(i, records, root, reports);
      if (!run.ok()) FLOWGUARD_FUZZ_CHECK(!run.error().message.empty());
    }
    check_reports(**host, limits, reports);
  }
  return 0;
}
