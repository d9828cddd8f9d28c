// fg.state: the application's cross-document memory for one call (RuleHost::set_call_state).
#include <set>
#include <stdexcept>

#include "support.hpp"

using namespace fgtest;

namespace {

// Seen: what was remembered before the current "document" (commit() moves the staged ones there).
class Memory final : public flowguard::lua::CallState {
 public:
  std::optional<std::string> reference_seen(std::string_view reference) override {
    if (reference == "boom") throw std::runtime_error("the store failed");
    if (!seen.count(std::string(reference))) return std::nullopt;
    return "seen before";
  }
  void remember_reference(std::string_view reference) override {
    if (reference == "boom") throw std::runtime_error("the store failed");
    staged.insert(std::string(reference));
  }
  void commit() {
    seen.insert(staged.begin(), staged.end());
    staged.clear();
  }
  std::set<std::string> seen, staged;
};

}  // namespace

TEST_CASE("fg.state answers from the call's memory, stages references, and is off without one", "[lua][state]") {
  TempDir dir;
  auto host = make_host();
  load_ok(*host, dir, "a.lua", R"(
    local at_load = fg.state.enabled()
    return { id = "STATE", severity = "error", description = "d", spec = "s", types = { "t.x" },
      record = function(rec, report)
        local s = fg.state
        local ref = rec.ref
        report("ref", ("%s %s %s %s"):format(tostring(at_load), tostring(s.enabled()),
            tostring(s.reference_seen(ref)), tostring(s.reference_seen(42))))
        s.remember_reference(ref)
        s.remember_reference({})
        assert(not pcall(function() fg.state.enabled = nil end))
      end })");
  const auto a = parse(R"({"ref": "A"})");
  const auto boom = parse(R"({"ref": "boom"})");
  std::vector<RuleReport> out;
  const auto rule = index_of(*host, "STATE");

  REQUIRE(host->run_record(rule, a.root(), 0, out).ok());  // no memory bound
  Memory memory;
  host->set_call_state(&memory);
  REQUIRE(host->run_record(rule, a.root(), 0, out).ok());
  CHECK(memory.staged == std::set<std::string>{"A"});
  memory.commit();
  REQUIRE(host->run_record(rule, a.root(), 0, out).ok());
  REQUIRE(host->run_record(rule, boom.root(), 0, out).ok());  // a throwing store: not seen, not staged
  host->set_call_state(nullptr);
  REQUIRE(host->run_record(rule, a.root(), 0, out).ok());

  REQUIRE(out.size() == 5);
  CHECK(out[0].message == "false false nil nil");
  CHECK(out[1].message == "false true nil nil");
  CHECK(out[2].message == "false true seen before nil");
  CHECK(out[3].message == "false true nil nil");
  CHECK(out[4].message == "false false nil nil");
  CHECK(memory.staged == std::set<std::string>{"A"});
}
