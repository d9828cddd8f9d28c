// The built-in modules (require("flowguard.*")) and report{record =, path =}.
#include <string>
#include <vector>

#include "support.hpp"

using namespace fgtest;

namespace {

std::string document_rule(const std::string& id, const std::string& body) {
  return "local dip = require('flowguard.dip')\nlocal dates = require('flowguard.dates')\n"
         "local util = require('flowguard.util')\nlocal mpan = require('flowguard.mpan')\nfg.require_api(1)\n"
         "return {\n  id = \"" +
         id +
         "\", severity = \"error\", description = \"test\", spec = \"test spec\", types = { \"t.x\" },\n"
         "  document = function(records, report, root)\n" +
         body + "\n  end,\n}\n";
}

struct Doc {
  flowguard::json::Document doc;
  std::vector<const flowguard::json::Value*> records;
};

// A DIPMessageArray: each item's payload is a record.
Doc payloads(const std::string& text) {
  Doc d{parse(text), {}};
  for (const auto& item : d.doc.root().items()) d.records.push_back(item.find("payload"));
  return d;
}

std::vector<RuleReport> run(RuleHost& host, const std::string& id, const Doc& d) {
  std::vector<RuleReport> out;
  const auto status = host.run_document(
      index_of(host, id), d.records, [](std::size_t i) { return "/" + std::to_string(i) + "/payload"; }, d.doc.root(),
      out);
  if (!status.ok()) FAIL(status.error().message);
  return out;
}

}  // namespace

TEST_CASE("flowguard.dates, mpan and util answer as documented", "[lua][modules]") {
  TempDir dir;
  auto host = make_host();
  load_ok(*host, dir, "m.lua", document_rule("MODS", R"lua(
    local function eq(a, b, what) if a ~= b then error(what .. ": " .. tostring(a) .. " ~= " .. tostring(b)) end end
    eq(dates.utc_seconds("1970-01-01T01:00:00+01:00"), 0, "offset")
    eq(dates.utc_seconds("2024-02-29T23:59:59-00:00"), 1709251199, "leap day")
    eq(dates.utc_seconds("2025-02-29T00:00:00+00:00"), false, "no 29 Feb 2025")
    eq(dates.utc_seconds("2025-01-01T00:00:00+15:00"), false, "dip offsets up to 14 h")
    eq(dates.utc_seconds("2025-01-01T00:00:00Z"), nil, "dip: no Z")
    eq(dates.utc_seconds("2025-01-01T00:00:00.25Z", "dip-clock"), 1735689600, "clock: Z and fraction")
    eq(dates.utc_seconds("2025-01-01T00:00", "iso"), 1735689600, "iso: no seconds, UTC")
    local ok, why = dates.utc_seconds("2025-01-01T00:00+24:00", "iso")
    eq(ok, false, "iso offset") eq(why, "its UTC offset +24:00 does not exist", "offset reason")
    ok, why = dates.utc_seconds("2025-01-01T24:00:00", "iso")
    eq(why, "24:00:00 is not a time of day (00:00:00 to 23:59:59)", "time reason")
    ok, why = dates.utc_seconds("2025-02-30T00:00", "iso")
    eq(why, "2025-02-30 is not a date that exists", "date reason")
    eq(dates.utc_seconds(12), nil, "not a string")
    eq(dates.real_ymd("20240229"), true, "real") eq(dates.real_ymd("20250229"), false, "not real")
    eq(dates.days_from_civil(1970, 1, 2), 1, "days") eq(select(2, dates.civil_from_days(59)), 3, "1 March 1970")
    eq(dates.gb_offset(dates.day_of("2025-07-01")), 60, "BST") eq(dates.gb_offset(dates.day_of("01-01-2025")), 0, "GMT")
    eq(dates.gb_offset(dates.day_of("2025-03-30")), nil, "spring change") eq(dates.gb_offset(dates.day_of("26-10-2025")), nil, "autumn")
    eq(dates.dmy("2025-07-01"), "01-07-2025", "dmy") eq(dates.format_dmy(0), "01-01-1970", "format") eq(dates.hhmm(-30), "23:30", "hhmm")
    eq(mpan.is_core("2000056535971"), true, "mpan") eq(mpan.check_digit("200005653597"), 1, "digit")
    eq(mpan.digits(2000056535971.0), "2000056535971", "digits") eq(mpan.number(2.5), nil, "not whole")
    eq(util.pointer("/a", "b/c", 3, "~"), "/a/b~1c/3/~0", "pointer") eq(util.join({ 1, "x", true }), "1, x, true", "join")
    eq(util.contains({ "a", "b" }, "b"), true, "contains") eq(util.lower_set({ "AbC" }).abc, true, "lower_set")
    eq(util.str(1), nil, "str") eq(util.text(""), nil, "text") eq(util.int(1.0), nil, "int") eq(util.get(fg.null, "x"), nil, "get")
    eq(dip.API, 2, "API") eq(fg.api, 2, "fg.api")
  )lua"));
  const Doc d = payloads(R"([{"payload": {"a": 1}}])");
  CHECK(run(*host, "MODS", d).empty());
}

TEST_CASE("dates.real_ymd says exactly which yyyymmdd exist (against the civil day arithmetic)", "[lua][modules]") {
  TempDir dir;
  auto host = make_host();
  load_ok(*host, dir, "y.lua", document_rule("YMD", R"lua(
    local checked = 0
    local function year(y)
      for m = 0, 13 do
        for d = 0, 32 do
          local text = ("%04d%02d%02d"):format(y, m, d)
          local cy, cm, cd = dates.civil_from_days(dates.days_from_civil(y, m, d))
          local exists = y >= 1900 and m >= 1 and m <= 12 and d >= 1 and cy == y and cm == m and cd == d
          if dates.real_ymd(text) ~= exists then error(text .. ": " .. tostring(dates.real_ymd(text))) end
          checked = checked + 1
        end
      end
    end
    for y = 1896, 2104 do year(y) end
    for _, y in ipairs({ 2200, 2300, 2400, 9999 }) do year(y) end
    for _, bad in ipairs({ "2024022", "202402290", "2024-229", "2024022a", " 20240229", "" }) do
      if dates.real_ymd(bad) then error(bad) end
    end
    if dates.real_ymd(20240229) then error("a number") end
    report{ message = tostring(checked) }
  )lua"));
  const Doc d = payloads(R"([{"payload": {"a": 1}}])");
  const auto out = run(*host, "YMD", d);
  REQUIRE(out.size() == 1);
  CHECK(out[0].message == std::to_string((2104 - 1896 + 1 + 4) * 14 * 33));
}

TEST_CASE("dip.each walks a document's messages once for every rule, report{path} spells keys as the message does",
          "[lua][modules]") {
  TempDir dir;
  auto host = make_host();
  const std::string body = R"lua(
    for m in dip.each(records) do
      report{ record = m.index, path = { "CommonBlock", "S1", "senderUniqueReference" },
              message = ("%s %s %s %s"):format(m.pointer, tostring(m.reference), tostring(m.time), tostring(m.is_message)) }
    end
    for m in dip.each(records, "exact") do
      report{ record = m.index, path = { "CommonBlock", "A0", "primaryRecipients", 2 },
              message = ("exact %s %s %d"):format(tostring(m.reference), tostring(m.primary[2]), #m.primary) }
    end)lua";
  load_ok(*host, dir, "a.lua", document_rule("WALK-A", body));
  load_ok(*host, dir, "b.lua", document_rule("WALK-B", body + "\n m = nil"));
  const Doc d = payloads(R"([
    {"payload": {"CommonBlock": {"S0": {}, "S1": {"senderUniqueReference": "R1", "senderTimestamp": "2025-01-01T00:00:00+00:00"},
                                 "A0": {"primaryRecipients": ["1", 2]}}}},
    {"payload": {"commonblock": {"S0": {}, "s1": {"SENDERUNIQUEREFERENCE": "R2"}}}},
    {"payload": "not a message"}
  ])");
  for (const char* id : {"WALK-A", "WALK-B"}) {
    INFO(id);
    const auto out = run(*host, id, d);
    REQUIRE(out.size() == 4);
    CHECK(out[0].pointer == "/0/payload/CommonBlock/S1/senderUniqueReference");
    CHECK(out[0].message == "/0/payload R1 1735689600 true");
    CHECK(out[1].pointer == "/1/payload/commonblock/s1/SENDERUNIQUEREFERENCE");
    CHECK(out[1].path == std::vector<std::string>{"commonblock", "s1", "SENDERUNIQUEREFERENCE"});
    CHECK(out[1].message == "/1/payload R2 nil true");
    CHECK(out[2].pointer == "/0/payload/CommonBlock/A0/primaryRecipients/1");
    CHECK(out[2].message == "exact R1 false 2");
    CHECK(out[3].message == "exact nil nil 0");  // keys not spelt as the spec spells them
  }
  // Another document at the same place after begin_document() is walked afresh.
  host->begin_document();
  const Doc e = payloads(R"([{"payload": {"CommonBlock": {"S0": {}, "S1": {"senderUniqueReference": "R9"}}}}])");
  const auto out = run(*host, "WALK-A", e);
  REQUIRE(out.size() == 2);
  CHECK(out[0].message == "/0/payload R9 nil true");
}

TEST_CASE("report{path} and dip.each are refused where they cannot work", "[lua][modules]") {
  TempDir dir;
  auto host = make_host();
  load_ok(*host, dir, "p.lua", document_rule("PATH-NO-RECORD", "report{ path = { 'a' }, message = 'x' }"));
  load_ok(*host, dir, "q.lua", document_rule("PATH-BAD-STEP", "report{ record = 1, path = { {} }, message = 'x' }"));
  load_ok(*host, dir, "r.lua", R"lua(
    local dip = require("flowguard.dip")
    return { id = "EACH-IN-RECORD", severity = "error", description = "t", spec = "t", types = { "t.x" },
             record = function(rec, report) for m in dip.each(rec) do end end })lua");
  const Doc d = payloads(R"([{"payload": {"a": 1}}])");
  std::vector<RuleReport> out;
  auto status = host->run_document(index_of(*host, "PATH-NO-RECORD"), d.records, d.doc.root(), out);
  REQUIRE_FALSE(status.ok());
  CHECK_THAT(status.error().message, Catch::Contains("report{path=...} needs record="));
  status = host->run_document(index_of(*host, "PATH-BAD-STEP"), d.records, d.doc.root(), out);
  REQUIRE_FALSE(status.ok());
  CHECK_THAT(status.error().message, Catch::Contains("step 1 must be a key"));
  status = host->run_record(index_of(*host, "EACH-IN-RECORD"), *d.records[0], 0, out);
  REQUIRE_FALSE(status.ok());
  CHECK_THAT(status.error().message, Catch::Contains("the records of a document check"));
}
