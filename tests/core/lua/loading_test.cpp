// Loading rule files: strict validation, errors naming file and line, other files unaffected.
#include "support.hpp"

using namespace fgtest;

namespace {

std::string load_error(RuleHost& host, const TempDir& dir, const std::string& name, const std::string& text) {
  const auto status = host.load_file(dir.write(name, text));
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().code == flowguard::ErrorCode::kRule);
  return status.error().message;
}

}  // namespace

TEST_CASE("a good file loads with every field captured", "[lua][load]") {
  TempDir dir;
  auto host = make_host();
  load_ok(*host, dir, "good.lua", R"(-- a comment
return {
  {
    id = "DFS-WINDOW-ORDER",
    severity = "warning",
    description = "From_Local is before To_Local",
    spec = "DFS API Schema V1.6 §6",
    types = { "dfs.bid-submission", "dfs.weekly-settlement" },
    fields = {
      { check = "time_hhmm", "From_Local", "To_Local" },
      { check = "max_decimals", arg = 3, "Price" },
    },
    record = function(rec, report)
    end,
  },
  {
    id = "DOC.ONLY_1",
    severity = "info",
    description = "d",
    spec = "s",
    types = { "dfs.*" },
    document = function(records, report, root) end,
  },
}
)");
  const auto& rules = host->rules();
  REQUIRE(rules.size() == 2);
  const auto& r = rules[0];
  CHECK(r.id == "DFS-WINDOW-ORDER");
  CHECK(r.severity == flowguard::Severity::kWarning);
  CHECK(r.description == "From_Local is before To_Local");
  CHECK(r.spec == "DFS API Schema V1.6 §6");
  CHECK(r.types == std::vector<std::string>{"dfs.bid-submission", "dfs.weekly-settlement"});
  CHECK(r.file.filename() == "good.lua");
  CHECK(r.line == 4);  // where its id is written
  CHECK(r.has_record);
  CHECK_FALSE(r.has_document);
  REQUIRE(r.field_checks.size() == 2);
  CHECK(r.field_checks[0].check == "time_hhmm");
  CHECK(r.field_checks[0].fields == std::vector<std::string>{"From_Local", "To_Local"});
  CHECK(r.field_checks[1].check == "max_decimals");
  CHECK(r.field_checks[1].argument == 3);
  CHECK(r.field_checks[1].fields == std::vector<std::string>{"Price"});
  CHECK(rules[1].has_document);
  CHECK_FALSE(rules[1].has_record);
  CHECK(rules[1].line == 17);
  CHECK(rules[1].severity == flowguard::Severity::kInfo);
}

TEST_CASE("a single rule table (not a list) loads, a fields-only rule gets the return line", "[lua][load]") {
  TempDir dir;
  auto host = make_host();
  load_ok(*host, dir, "one.lua",
          "local x = 1\n\nreturn { id = 'ONE', severity = 'error', description = 'd', spec = 's',\n"
          "  types = { 't' }, fields = { { check = 'mpan', 'MPAN' } } }\n");
  REQUIRE(host->rules().size() == 1);
  CHECK(host->rules()[0].line == 3);
  CHECK_FALSE(host->rules()[0].has_record);
}

TEST_CASE("load errors name the file and line and say what is wrong", "[lua][load]") {
  TempDir dir;
  auto host = make_host();
  const std::string head = "return { id = 'X1', severity = 'error', description = 'd', spec = 's', types = { 't' },\n";

  SECTION("syntax error") {
    const auto msg = load_error(*host, dir, "syntax.lua", "return {\n  id = 'A',\n  severity = = 'error',\n}\n");
    CHECK_THAT(msg, Catch::Contains((dir.path() / "syntax.lua").string() + ":3:"));
  }
  SECTION("runtime error at top level") {
    const auto msg = load_error(*host, dir, "rt.lua", "local x = nil\nlocal y = x.field\nreturn {}\n");
    CHECK_THAT(msg, Catch::Contains("rt.lua:2:"));
    CHECK_THAT(msg, Catch::Contains("attempt to index"));
  }
  SECTION("binary chunk file") {
    const auto msg = load_error(*host, dir, "bin.lua", std::string("\x1bLua\x54\x00", 6));
    CHECK_THAT(msg, Catch::Contains("bin.lua"));
    CHECK_THAT(msg, Catch::Contains("binary chunk"));
  }
  SECTION("missing id") {
    const auto msg = load_error(*host, dir, "noid.lua",
                                "return {\n  { severity = 'error', description = 'd', spec = 's', types = { 't' },\n"
                                "    record = function() end } }\n");
    CHECK_THAT(msg, Catch::Contains("noid.lua:3: rule #1: missing field 'id'"));
  }
  SECTION("bad id") {
    const auto msg = load_error(*host, dir, "badid.lua",
                                "return { id = 'has space', severity = 'error', description = 'd', spec = 's',"
                                " types = { 't' }, record = function() end }");
    CHECK_THAT(msg, Catch::Contains("id must be"));
  }
  SECTION("bad severity") {
    const auto msg = load_error(*host, dir, "sev.lua",
                                "return { id = 'S', severity = 'fatal', description = 'd', spec = 's',\n"
                                " types = { 't' },\n record = function() end }");
    CHECK_THAT(msg, Catch::Contains("sev.lua:1: rule S: severity must be"));
    CHECK_THAT(msg, Catch::Contains("'fatal'"));
  }
  SECTION("missing description, spec, types") {
    CHECK_THAT(load_error(*host, dir, "d.lua", "return { id = 'D', severity = 'info', spec = 's', types = {'t'}, record = print }"),
               Catch::Contains("missing field 'description'"));
    CHECK_THAT(load_error(*host, dir, "s.lua", "return { id = 'D', severity = 'info', description = 'd', types = {'t'}, record = print }"),
               Catch::Contains("missing field 'spec'"));
    CHECK_THAT(load_error(*host, dir, "t.lua", "return { id = 'D', severity = 'info', description = 'd', spec = 's', record = print }"),
               Catch::Contains("missing field 'types'"));
    CHECK_THAT(load_error(*host, dir, "t2.lua", "return { id = 'D', severity = 'info', description = 'd', spec = 's', types = {}, record = print }"),
               Catch::Contains("types must be a non-empty list"));
    CHECK_THAT(load_error(*host, dir, "t3.lua", "return { id = 'D', severity = 'info', description = 'd', spec = 's', types = {1}, record = print }"),
               Catch::Contains("types[1] must be a non-empty string"));
    CHECK_THAT(load_error(*host, dir, "t4.lua", "return { id = 'D', severity = 'info', description = 'a\\nb', spec = 's', types = {'t'}, record = print }"),
               Catch::Contains("one-line"));
  }
  SECTION("no check at all") {
    CHECK_THAT(load_error(*host, dir, "none.lua", head + "}"), Catch::Contains("at least one is required"));
  }
  SECTION("unknown field") {
    CHECK_THAT(load_error(*host, dir, "typo.lua", head + "recrod = function() end }"),
               Catch::Contains("unknown field 'recrod'"));
  }
  SECTION("record not a function") {
    CHECK_THAT(load_error(*host, dir, "notfn.lua", head + "record = 'x' }"), Catch::Contains("record must be a function"));
  }
  SECTION("unknown check") {
    const auto msg = load_error(*host, dir, "check.lua", head + "fields = { { check = 'postcode', 'Zone' } } }");
    CHECK_THAT(msg, Catch::Contains("check.lua:1: rule X1: fields[1]: unknown check 'postcode'"));
  }
  SECTION("max_decimals needs arg, others take none") {
    CHECK_THAT(load_error(*host, dir, "md.lua", head + "fields = { { check = 'max_decimals', 'Price' } } }"),
               Catch::Contains("max_decimals needs arg"));
    CHECK_THAT(load_error(*host, dir, "md2.lua", head + "fields = { { check = 'mpan', arg = 2, 'MPAN' } } }"),
               Catch::Contains("takes no arg"));
    CHECK_THAT(load_error(*host, dir, "md3.lua", head + "fields = { { check = 'max_decimals', arg = 'x', 'P' } } }"),
               Catch::Contains("arg must be"));
  }
  SECTION("not_before needs a date arg; zone_suffix is a pair") {
    CHECK_THAT(load_error(*host, dir, "nb1.lua", head + "fields = { { check = 'not_before', 'Delivery Date' } } }"),
               Catch::Contains("not_before needs arg = DATE"));
    CHECK_THAT(load_error(*host, dir, "nb2.lua", head + "fields = { { check = 'not_before', arg = '31-02-2022', 'D' } } }"),
               Catch::Contains("not_before needs arg = DATE"));
    CHECK_THAT(load_error(*host, dir, "nb3.lua", head + "fields = { { check = 'mpan', arg = '01-11-2022', 'MPAN' } } }"),
               Catch::Contains("takes no arg"));
    CHECK_THAT(load_error(*host, dir, "zs1.lua", head + "fields = { { check = 'zone_suffix', 'DFS Unit ID' } } }"),
               Catch::Contains("UNIT, ZONE"));
    auto fresh = make_host();
    load_ok(*fresh, dir, "nb4.lua", head + "fields = { { check = 'not_before', arg = '2022-11-01', 'D' },\n"
                                           "{ check = 'zone_suffix', 'DFS Unit ID', 'Zone' } } }");
    const auto& checks = fresh->rules().at(0).field_checks;
    REQUIRE(checks.size() == 2);
    CHECK(checks[0].text_argument == "2022-11-01");
    CHECK(checks[1].fields == std::vector<std::string>{"DFS Unit ID", "Zone"});
  }
  SECTION("field entries") {
    CHECK_THAT(load_error(*host, dir, "f1.lua", head + "fields = { { check = 'mpan' } } }"), Catch::Contains("names no fields"));
    CHECK_THAT(load_error(*host, dir, "f2.lua", head + "fields = { { check = 'mpan', 12 } } }"),
               Catch::Contains("must be a field name"));
    CHECK_THAT(load_error(*host, dir, "f3.lua", head + "fields = { { 'MPAN' } } }"), Catch::Contains("needs check = NAME"));
    CHECK_THAT(load_error(*host, dir, "f4.lua", head + "fields = { 'mpan' } }"), Catch::Contains("fields[1] must be a table"));
    CHECK_THAT(load_error(*host, dir, "f5.lua", head + "fields = { { check = 'mpan', 'A', chek = 1 } } }"),
               Catch::Contains("unknown key 'chek'"));
  }
  SECTION("not a table") {
    CHECK_THAT(load_error(*host, dir, "nil.lua", "local x = 1\n"), Catch::Contains("must return a rule table"));
    CHECK_THAT(load_error(*host, dir, "empty.lua", "return {}\n"), Catch::Contains("non-empty list"));
    CHECK_THAT(load_error(*host, dir, "item.lua", "return { 1 }\n"), Catch::Contains("item 1"));
  }
  SECTION("duplicate id across files and within a file") {
    load_ok(*host, dir, "first.lua", record_rule("DUP", ""));
    const auto msg = load_error(*host, dir, "second.lua", record_rule("DUP", ""));
    CHECK_THAT(msg, Catch::Contains("second.lua:2: duplicate rule id 'DUP'"));
    CHECK_THAT(msg, Catch::Contains("first.lua"));
    const auto msg2 = load_error(*host, dir, "twice.lua",
                                 "local r = { id = 'TW', severity = 'info', description = 'd', spec = 's', types = {'t'},"
                                 " record = function() end }\nreturn { r, r }\n");
    CHECK_THAT(msg2, Catch::Contains("duplicate rule id 'TW'"));
    CHECK(host->rules().size() == 1);
  }
  // A failing file adds none of its rules.
  CHECK(host->rules().size() <= 1);
}

TEST_CASE("load_directory loads every *.lua in name order, bad files do not stop the others", "[lua][load]") {
  TempDir dir;
  auto host = make_host();
  dir.write("30-c.lua", record_rule("C", ""));
  dir.write("10-a.lua", record_rule("A", ""));
  dir.write("20-bad.lua", "return {\n  id = \n");
  dir.write("25-loop.lua", "while true do end");
  dir.write("notes.txt", "not a rule");
  Limits limits;
  limits.instructions_per_call = 100'000;
  auto limited = make_host(limits);
  const auto errors = limited->load_directory(dir.path());
  REQUIRE(errors.size() == 2);
  CHECK_THAT(errors[0].message, Catch::Contains("20-bad.lua:3:"));
  CHECK_THAT(errors[1].message, Catch::Contains("25-loop.lua"));
  CHECK_THAT(errors[1].message, Catch::Contains("instruction budget exceeded"));
  REQUIRE(limited->rules().size() == 2);
  CHECK(limited->rules()[0].id == "A");
  CHECK(limited->rules()[1].id == "C");

  const auto missing = host->load_directory(dir.path() / "nope");
  REQUIRE(missing.size() == 1);
  CHECK(missing[0].code == flowguard::ErrorCode::kIo);
}

TEST_CASE("applies_to matches exact types and families", "[lua][load]") {
  flowguard::lua::RuleInfo info;
  info.types = {"dfs.*", "dip.settlement"};
  CHECK(info.applies_to("dfs.bid-submission"));
  CHECK(info.applies_to("dip.settlement"));
  CHECK_FALSE(info.applies_to("dip.settlement-x"));
  CHECK_FALSE(info.applies_to("dfs"));
  CHECK_FALSE(info.applies_to("dfs."));
  CHECK_FALSE(info.applies_to("dfsx.a"));
  CHECK_FALSE(info.applies_to("bmrs.x"));
}

TEST_CASE("a rule whose id is computed gets the line of its function", "[lua][load]") {
  TempDir dir;
  auto host = make_host();
  load_ok(*host, dir, "computed.lua",
          "local p = 'GEN'\nreturn { id = p .. '-1', severity = 'error', description = 'd', spec = 's', types = { 't' },\n"
          "\n  record = function() end }\n");
  REQUIRE(host->rules().size() == 1);
  CHECK(host->rules()[0].line == 4);
}
