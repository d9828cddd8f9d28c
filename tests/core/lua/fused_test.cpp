// Fused record dispatch (run_record_rules): one entry into Lua per record, one shared view, a budget
// and a failure per rule.
#include "support.hpp"

using namespace fgtest;
using flowguard::lua::RuleFailure;

namespace {

std::vector<std::size_t> all_rules(const RuleHost& host) {
  std::vector<std::size_t> v;
  for (std::size_t i = 0; i < host.rules().size(); ++i) v.push_back(i);
  return v;
}

}  // namespace

TEST_CASE("fused dispatch runs every rule on the record, a failing rule in the middle fails alone",
          "[lua][fused]") {
  TempDir dir;
  auto host = make_host();
  load_ok(*host, dir, "a.lua", record_rule("A", "report('Zone', 'A saw ' .. rec.Zone)"));
  load_ok(*host, dir, "b.lua", record_rule("B", "report('Zone', 'B before') local x = nil; return x.y"));
  load_ok(*host, dir, "c.lua", record_rule("C", "report{ field = 'n', message = 'C saw ' .. rec.n, code = 'X1' }"));
  load_ok(*host, dir, "d.lua", R"(return { id = "D", severity = "info", description = "d", spec = "s", types = { "t.x" },
    document = function() end })");
  const auto doc = parse(R"([{"Zone": "Z1", "n": 1}, {"Zone": "Z2", "n": 2}])");
  const auto rules = all_rules(*host);
  std::vector<RuleReport> out;
  std::vector<RuleFailure> failures;
  for (std::size_t i = 0; i < 2; ++i) host->run_record_rules(rules, doc.root().items()[i], i, out, failures);

  REQUIRE(out.size() == 6);
  const std::size_t a = index_of(*host, "A"), b = index_of(*host, "B"), c = index_of(*host, "C");
  CHECK(out[0].rule == a);
  CHECK(out[0].message == "A saw Z1");
  CHECK(out[1].rule == b);  // reports made before the failure are kept
  CHECK(out[1].message == "B before");
  CHECK(out[2].rule == c);
  CHECK(out[2].message == "C saw 1");
  CHECK(out[2].code == std::optional<std::string>("X1"));
  CHECK(out[2].record == std::optional<std::size_t>(0));
  CHECK(out[3].message == "A saw Z2");
  CHECK(out[3].record == std::optional<std::size_t>(1));
  CHECK(out[5].message == "C saw 2");
  REQUIRE(failures.size() == 2);
  for (const auto& f : failures) {
    CHECK(f.rule_index == b);
    CHECK(f.error.code == flowguard::ErrorCode::kRule);
    CHECK_THAT(f.error.message, Catch::StartsWith("rule B ("));
    CHECK_THAT(f.error.message, Catch::Contains("b.lua:4: attempt to index a nil value"));
  }

  // A subset, in the order given; an unknown index is a usage failure, the rest still run.
  out.clear();
  failures.clear();
  const std::vector<std::size_t> some = {c, 99, a};
  host->run_record_rules(some, doc.root().items()[0], 0, out, failures);
  REQUIRE(out.size() == 2);
  CHECK(out[0].rule == c);
  CHECK(out[1].rule == a);
  REQUIRE(failures.size() == 1);
  CHECK(failures[0].rule_index == 99);
  CHECK(failures[0].error.code == flowguard::ErrorCode::kUsage);
}

TEST_CASE("fused dispatch shares one view per record, views die with the call", "[lua][fused]") {
  TempDir dir;
  auto host = make_host();
  load_ok(*host, dir, "a.lua", R"(
    kept = nil
    return { id = "KEEP", severity = "error", description = "d", spec = "s", types = { "t.x" },
      record = function(rec, report)
        if kept ~= nil then
          local ok, err = pcall(function() return kept.Zone end)
          report('Zone', tostring(ok) .. ' ' .. tostring(err))
        end
        kept = rec
      end })");
  load_ok(*host, dir, "b.lua", R"(
    return { id = "SAME", severity = "error", description = "d", spec = "s", types = { "t.x" },
      record = function(rec, report) report('Zone', tostring(rec:index()) .. ' ' .. rec.Zone) end })");
  const auto doc = parse(R"([{"Zone": "Z1"}, {"Zone": "Z2"}])");
  const auto rules = all_rules(*host);
  std::vector<RuleReport> out;
  std::vector<RuleFailure> failures;
  host->run_record_rules(rules, doc.root().items()[0], 0, out, failures);
  host->run_record_rules(rules, doc.root().items()[1], 1, out, failures);
  REQUIRE(failures.empty());
  REQUIRE(out.size() == 3);
  CHECK(out[0].message == "1 Z1");
  CHECK_THAT(out[1].message, Catch::StartsWith("false ") && Catch::Contains("record view used outside its rule call"));
  CHECK(out[2].message == "2 Z2");
}

TEST_CASE("fused dispatch: the budget is per rule, and stops cannot be swallowed", "[lua][fused][budget]") {
  TempDir dir;
  Limits limits;
  limits.instructions_per_call = 200'000;
  auto host = make_host(limits);
  // Each of these spends ~60% of the budget: fine alone, over budget if the budget were shared.
  const std::string spend = "local n = 0 for i = 1, 40000 do n = n + i end report('x', tostring(n))";
  load_ok(*host, dir, "1.lua", record_rule("SPEND-1", spend));
  load_ok(*host, dir, "2.lua", record_rule("LOOP", "pcall(function() while true do end end) report('x', 'escaped')"));
  load_ok(*host, dir, "3.lua", record_rule("SPEND-2", spend));
  load_ok(*host, dir, "4.lua", record_rule("BOMB", "local ok = pcall(function() local s = 'x' while true do s = s .. s end end) report('x', 'escaped')"));
  load_ok(*host, dir, "5.lua", record_rule("SPEND-3", spend));
  const auto doc = parse(R"({"x": 1})");
  const auto rules = all_rules(*host);
  std::vector<RuleReport> out;
  std::vector<RuleFailure> failures;
  for (int round = 0; round < 3; ++round) host->run_record_rules(rules, doc.root(), 0, out, failures);
  REQUIRE(out.size() == 9);
  for (const auto& r : out) CHECK(r.message == "800020000");
  REQUIRE(failures.size() == 6);
  for (std::size_t i = 0; i < failures.size(); i += 2) {
    CHECK(failures[i].rule_index == index_of(*host, "LOOP"));
    CHECK_THAT(failures[i].error.message, Catch::Contains("instruction budget exceeded (200000 instructions)"));
    CHECK(failures[i + 1].rule_index == index_of(*host, "BOMB"));
    CHECK_THAT(failures[i + 1].error.message, Catch::Contains("memory limit exceeded"));
  }
}

TEST_CASE("fused dispatch costs less than one call per rule", "[lua][fused][perf]") {
  TempDir dir;
  auto host = make_host();
  for (int i = 0; i < 6; ++i) {
    load_ok(*host, dir, "p" + std::to_string(i) + ".lua", record_rule("P" + std::to_string(i), R"(
      local from = fg.parse_time(rec.From)
      if rec.Zone ~= "Z" or not from then report("Zone", "bad") end)"));
  }
  const auto doc = parse(R"({"Zone": "Z", "From": "10:30", "Price": 1.25})");
  const auto rules = all_rules(*host);
  std::vector<RuleReport> out;
  std::vector<RuleFailure> failures;
  constexpr int kRecords = 50'000;
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < kRecords; ++i) host->run_record_rules(rules, doc.root(), static_cast<std::size_t>(i), out, failures);
  auto t1 = std::chrono::steady_clock::now();
  for (int i = 0; i < kRecords; ++i)
    for (const std::size_t r : rules)
      if (!host->run_record(r, doc.root(), static_cast<std::size_t>(i), out).ok()) FAIL("call failed");
  auto t2 = std::chrono::steady_clock::now();
  REQUIRE(out.empty());
  REQUIRE(failures.empty());
  const double fused = std::chrono::duration<double>(t1 - t0).count() / kRecords * 1e9;
  const double separate = std::chrono::duration<double>(t2 - t1).count() / kRecords * 1e9;
  WARN("6 rules per record: fused " << fused << " ns, separate calls " << separate << " ns");
}
