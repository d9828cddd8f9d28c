// report() forms and the fg helpers.
#include "support.hpp"

using namespace fgtest;
using flowguard::Severity;

TEST_CASE("report forms in a record check", "[lua][report]") {
  TempDir dir;
  auto host = make_host();
  load_ok(*host, dir, "r.lua", record_rule("REP", R"(
    report("Zone", "plain")
    report("Zone", "as warning", "warning")
    report(nil, "on the record")
    report("Price", 42)
    report{ field = "Zone", message = "table form", severity = "info" }
    report{ record = rec:index(), field = "A", message = "explicit own record" }
    report{ pointer = "/x/0", message = "anywhere" }
    report{ pointer = "", message = "root" }
  )"));
  const auto doc = parse(R"({"Zone": "Z"})");
  std::vector<RuleReport> out;
  const auto status = host->run_record(0, doc.root(), 4, out);
  if (!status.ok()) FAIL(status.error().message);
  REQUIRE(out.size() == 8);
  CHECK(out[0].record == std::optional<std::size_t>(4));
  CHECK(out[0].field == "Zone");
  CHECK(out[0].message == "plain");
  CHECK_FALSE(out[0].severity);
  CHECK(out[1].severity == std::optional<Severity>(Severity::kWarning));
  CHECK(out[2].field.empty());
  CHECK(out[2].record == std::optional<std::size_t>(4));
  CHECK(out[3].message == "42");
  CHECK(out[4].severity == std::optional<Severity>(Severity::kInfo));
  CHECK(out[4].record == std::optional<std::size_t>(4));
  CHECK(out[5].record == std::optional<std::size_t>(4));
  CHECK(out[5].field == "A");
  CHECK(out[6].pointer == std::optional<std::string>("/x/0"));
  CHECK(out[7].pointer == std::optional<std::string>(""));
}

TEST_CASE("bad report arguments fail the rule with a clear message", "[lua][report]") {
  struct Case {
    const char* body;
    const char* expected;
  };
  const Case record_cases[] = {
      {"report('Zone')", "message must be a string"},
      {"report('Zone', 'm', 'fatal')", "unknown severity 'fatal'"},
      {"report('Zone', 'm', 3)", "severity must be a string"},
      {"report(12, 'm')", "field must be a string"},
      {"report{ field = 'Zone' }", "message is required"},
      {"report{ message = 'm', colour = 'red' }", "unknown key 'colour'"},
      {"report{ message = 'm', record = 99 }", "can only report on its own record"},
      {"report{ message = 'm', record = 'x' }", "record must be an integer"},
      {"report{ message = 'm', pointer = 'no-slash' }", "pointer must be a JSON pointer"},
      {"report{ message = 'm', field = {} }", "field must be a string"},
  };
  TempDir dir;
  auto host = make_host();
  const auto doc = parse(R"({"Zone": "Z"})");
  int n = 0;
  for (const Case& c : record_cases) {
    const std::string id = "BAD-" + std::to_string(++n);
    INFO(c.body);
    load_ok(*host, dir, id + ".lua", record_rule(id, c.body));
    std::vector<RuleReport> out;
    const auto status = host->run_record(index_of(*host, id), doc.root(), 0, out);
    REQUIRE_FALSE(status.ok());
    CHECK_THAT(status.error().message, Catch::Contains(c.expected));
    CHECK_THAT(status.error().message, Catch::Contains(id + ".lua:4:"));
  }
  const Case document_cases[] = {
      {"report('Zone', 'm')", "works in record checks"},
      {"report{ message = 'm', record = 3 }", "no such record"},
      {"report{ message = 'm', record = 0 }", "no such record"},
      {"report{ message = 'm', field = 'Zone' }", "needs record="},
  };
  for (const Case& c : document_cases) {
    const std::string id = "BADDOC-" + std::to_string(++n);
    INFO(c.body);
    load_ok(*host, dir, id + ".lua",
            "return { id = '" + id + "', severity = 'info', description = 'd', spec = 's', types = { 't' },\n"
            "  document = function(records, report, root)\n" + c.body + "\nend }\n");
    std::vector<RuleReport> out;
    const flowguard::json::Value* records[] = {&doc.root(), &doc.root()};
    const auto status = host->run_document(index_of(*host, id), records, doc.root(), out);
    REQUIRE_FALSE(status.ok());
    CHECK_THAT(status.error().message, Catch::Contains(c.expected));
  }
}

TEST_CASE("fg helpers", "[lua][fg]") {
  TempDir dir;
  auto host = make_host();
  load_ok(*host, dir, "fg.lua", record_rule("FG", R"(
    local function check(cond, what) if not cond then report(nil, what) end end
    -- MPAN
    check(fg.is_mpan("1234567890126") == true, "is_mpan valid")
    check(fg.is_mpan("1234567890127") == false, "is_mpan bad digit")
    check(fg.is_mpan("123456789012") == false, "is_mpan short")
    check(fg.is_mpan(nil) == false and fg.is_mpan(1234567890126) == false, "is_mpan non-string")
    check(fg.mpan_check_digit("123456789012") == 6, "check digit")
    check(fg.mpan_check_digit("2000012345679") == 2, "check digit of first 12")
    check(fg.mpan_check_digit("12ab") == nil and fg.mpan_check_digit(nil) == nil, "check digit nil")
    -- dates
    local y, m, d = fg.parse_date("29-02-2024")
    check(y == 2024 and m == 2 and d == 29, "parse_date")
    check(fg.parse_date("29-02-2023") == nil and fg.parse_date("2024-02-29") == nil and fg.parse_date(nil) == nil,
      "parse_date invalid")
    y, m, d = fg.parse_iso_date("2024-12-31")
    check(y == 2024 and m == 12 and d == 31, "parse_iso_date")
    check(fg.parse_iso_date("2024-13-01") == nil and fg.parse_iso_date("31-12-2024") == nil, "parse_iso_date invalid")
    check(fg.day_number("01-01-1970") == 0 and fg.day_number("02-01-1970") == 1, "day_number")
    check(fg.day_number("01-03-2024") - fg.day_number("28-02-2024") == 2, "day_number leap")
    check(fg.day_number("31-02-2024") == nil, "day_number invalid")
    -- times
    check(fg.parse_time("00:00") == 0 and fg.parse_time("23:59") == 1439 and math.type(fg.parse_time("10:30")) == "integer",
      "parse_time")
    check(fg.parse_time("24:00") == nil and fg.parse_time("9:30") == nil and fg.parse_time(930) == nil, "parse_time invalid")
    check(fg.parse_datetime("01-01-1970 01:30") == 90, "parse_datetime")
    check(fg.parse_datetime("02-01-1970 00:00") == 1440, "parse_datetime day")
    check(fg.parse_datetime("01-01-1970") == nil and fg.parse_datetime("32-01-1970 00:00") == nil, "parse_datetime invalid")
    -- settlement periods
    check(fg.settlement_period("00:00") == 1 and fg.settlement_period("00:29") == 1 and fg.settlement_period("00:30") == 2,
      "settlement_period")
    check(fg.settlement_period("23:30") == 48, "settlement_period 48")
    check(fg.settlement_period("12:00", "15-06-2024") == 25, "settlement_period with date")
    check(fg.settlement_period("23:30", "31-03-2024") == 46, "settlement_period short day")
    check(fg.settlement_period("23:30", "27-10-2024") == 50, "settlement_period long day")
    check(fg.settlement_period("25:00") == nil and fg.settlement_period("10:00", "bad") == nil, "settlement_period invalid")
    -- decimals and preview
    check(fg.decimal_places("25.110") == 3 and fg.decimal_places("7") == 0 and fg.decimal_places(rec:raw("p")) == 3,
      "decimal_places")
    check(fg.decimal_places(1.5) == 1 and fg.decimal_places(nil) == nil, "decimal_places number/nil")
    check(fg.preview("18-03-203") == '"18-03-203"', "preview string " .. fg.preview("18-03-203"))
    check(fg.preview(42) == "42" and fg.preview(true) == "true" and fg.preview(nil) == "nil", "preview scalars")
    check(fg.preview(fg.null) == "null" and fg.preview(rec.z) == "null", "preview null")
    local long = fg.preview(("abcdefghij"):rep(10))
    check(#long < 50 and long:find("…", 1, true) and long:sub(1, 1) == '"', "preview long " .. long)
    check(type(fg.preview(rec.o)) == "string" and fg.preview(rec.o):sub(1, 1) == "{", "preview object " .. fg.preview(rec.o))
    check(type(fg.null) == "userdata" and fg.null == rec.z, "null sentinel")
    report(nil, "done")
  )"));
  const auto doc = parse(R"({"p": 1.250, "z": null, "o": {"a": 1}})");
  std::vector<RuleReport> out;
  const auto status = host->run_record(0, doc.root(), 0, out);
  if (!status.ok()) FAIL(status.error().message);
  std::string failed;
  for (const auto& r : out) {
    if (r.message != "done") failed += r.message + "; ";
  }
  CHECK(failed.empty());
  REQUIRE_FALSE(out.empty());
  CHECK(out.back().message == "done");
}

TEST_CASE("a rule reporting in a loop keeps a bounded number of reports and counts the rest", "[lua][report][caps]") {
  TempDir dir;
  Limits limits;
  limits.max_reports_per_call = 100;
  limits.max_message_bytes = 64;
  auto host = make_host(limits);
  load_ok(*host, dir, "loop.lua", record_rule("LOOP", R"(
    for i = 1, 20000 do report(nil, 'again') end
    for i = 1, 5 do report(nil, 'w', 'warning') end
    report(nil, ('é'):rep(100))
  )"));
  const auto doc = parse("{}");
  std::vector<RuleReport> out;
  REQUIRE(host->run_record(index_of(*host, "LOOP"), doc.root(), 0, out).ok());
  REQUIRE(out.size() == 102);  // 100 kept, one carrier per severity past the cap
  std::uint64_t total = 0, warnings = 0;
  for (const auto& r : out) {
    total += 1 + r.more;
    if (r.severity == flowguard::Severity::kWarning) warnings += 1 + r.more;
  }
  CHECK(total == 20006);
  CHECK(warnings == 5);
  // Within the cap, a long message is cut at a character and says so.
  out.clear();
  limits.max_reports_per_call = 10'000;
  auto roomy = make_host(limits);
  load_ok(*roomy, dir, "long.lua", record_rule("LONG", "report(nil, ('é'):rep(100))"));
  REQUIRE(roomy->run_record(index_of(*roomy, "LONG"), doc.root(), 0, out).ok());
  REQUIRE(out.size() == 1);
  CHECK(out[0].message.rfind("éé", 0) == 0);
  CHECK_THAT(out[0].message, Catch::EndsWith("... (message cut at 64 of 200 bytes)"));
}
