// Rule codes (rule tables and report{code=...}) and the native pair checks of `fields`.
#include "support.hpp"

using namespace fgtest;

namespace {

std::string rule_with(const std::string& extra) {
  return "return { id = \"R\", severity = \"error\", description = \"d\", spec = \"s\", types = { \"t.x\" },\n" + extra +
         "\n}\n";
}

std::string load_error(RuleHost& host, const TempDir& dir, const std::string& text) {
  const auto status = host.load_file(dir.write("bad.lua", text));
  REQUIRE_FALSE(status.ok());
  return status.error().message;
}

}  // namespace

TEST_CASE("pair checks load with exactly two fields", "[lua][load][pairs]") {
  TempDir dir;
  auto host = make_host();
  load_ok(*host, dir, "ok.lua", rule_with(R"(fields = {
    { check = "time_order", "From_Local", "To_Local" },
    { check = "date_order", "MPANs Effective From", "MPANs Effective To" },
    { check = "datetime_order", "ConflictStart_local", "ConflictEnd_local" },
  },)"));
  const auto& checks = host->rules().at(0).field_checks;
  REQUIRE(checks.size() == 3);
  CHECK(checks[0].check == "time_order");
  CHECK(checks[0].fields == std::vector<std::string>{"From_Local", "To_Local"});
  CHECK(checks[1].check == "date_order");
  CHECK(checks[2].check == "datetime_order");
  CHECK(checks[2].fields == std::vector<std::string>{"ConflictStart_local", "ConflictEnd_local"});
  CHECK(flowguard::lua::is_pair_check("time_order"));
  CHECK(flowguard::lua::is_pair_check("date_order"));
  CHECK(flowguard::lua::is_pair_check("datetime_order"));
  CHECK_FALSE(flowguard::lua::is_pair_check("time_hhmm"));

  CHECK_THAT(load_error(*host, dir, rule_with(R"(fields = { { check = "time_order", "From_Local" } },)")),
             Catch::Contains("fields[1]: time_order compares exactly two fields (START, END), got 1"));
  CHECK_THAT(load_error(*host, dir, rule_with(R"(fields = { { check = "date_order", "A", "B", "C" } },)")),
             Catch::Contains("fields[1]: date_order compares exactly two fields (FROM, TO), got 3"));
  CHECK_THAT(load_error(*host, dir, rule_with(R"(fields = { { check = "datetime_order" } },)")),
             Catch::Contains("fields[1] (datetime_order) names no fields"));
  CHECK_THAT(load_error(*host, dir, rule_with(R"(fields = { { check = "time_order", arg = 1, "A", "B" } },)")),
             Catch::Contains("check 'time_order' takes no arg"));
  CHECK_THAT(load_error(*host, dir, rule_with(R"(fields = { { check = "time_order", "A", "A" } },)")),
             Catch::Contains("time_order compares two different fields, got 'A' twice"));
  CHECK_THAT(load_error(*host, dir, rule_with(R"(fields = { { check = "time_orders", "A", "B" } },)")),
             Catch::Contains("unknown check 'time_orders'") && Catch::Contains("time_order, date_order, datetime_order"));
  CHECK(host->rules().size() == 1);
}

TEST_CASE("rules carry an optional code, report{code=} overrides it", "[lua][codes]") {
  TempDir dir;
  auto host = make_host();
  load_ok(*host, dir, "c.lua", rule_with(R"(code = "RCP1008",
    record = function(rec, report)
      report("Zone", "plain")
      report{ field = "Zone", message = "overridden", code = "MSG1006" }
    end,)"));
  load_ok(*host, dir, "n.lua", R"(return { id = "NOCODE", severity = "error", description = "d", spec = "s",
    types = { "t.x" }, record = function(rec, report) report("Zone", "x") end })");
  CHECK(host->rules().at(0).code == "RCP1008");
  CHECK(host->rules().at(1).code.empty());
  const auto doc = parse(R"({"Zone": "Z"})");
  std::vector<RuleReport> out;
  REQUIRE(host->run_record(0, doc.root(), 0, out).ok());
  REQUIRE(host->run_record(1, doc.root(), 0, out).ok());
  REQUIRE(out.size() == 3);
  CHECK_FALSE(out[0].code.has_value());  // the rule's code applies (the engine fills it in)
  CHECK(out[0].rule == 0);
  CHECK(out[1].code == std::optional<std::string>("MSG1006"));
  CHECK(out[2].rule == 1);

  CHECK_THAT(load_error(*host, dir, rule_with("code = 12, record = function() end,")),
             Catch::Contains("code must be a non-empty one-line string"));
  CHECK_THAT(load_error(*host, dir, rule_with("code = '', record = function() end,")),
             Catch::Contains("code must be a non-empty one-line string"));
  CHECK_THAT(load_error(*host, dir, rule_with("cod = 'X', record = function() end,")),
             Catch::Contains("unknown field 'cod'") && Catch::Contains("code"));

  load_ok(*host, dir, "bad.lua", R"(return { id = "BADCODE", severity = "error", description = "d", spec = "s",
    types = { "t.x" }, record = function(rec, report) report{ message = "m", code = 7 } end })");
  const auto status = host->run_record(index_of(*host, "BADCODE"), doc.root(), 0, out);
  REQUIRE_FALSE(status.ok());
  CHECK_THAT(status.error().message, Catch::Contains("report{code=...}: code must be a non-empty one-line string"));
}
