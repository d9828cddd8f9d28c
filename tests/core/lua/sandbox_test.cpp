// The sandbox: forbidden routes, per-file globals, instruction budget, memory cap.
#include "support.hpp"

using namespace fgtest;

namespace {

// Loads a rule running `body`, runs it on a record and returns the error message ("" when ok).
std::string run_body(RuleHost& host, const TempDir& dir, const std::string& id, const std::string& body) {
  load_ok(host, dir, id + ".lua", record_rule(id, body));
  const auto doc = parse(R"({"a": 1})");
  std::vector<RuleReport> out;
  const auto status = host.run_record(index_of(host, id), doc.root(), 0, out);
  return status.ok() ? std::string() : status.error().message;
}

// A rule that must keep working after another rule failed.
void check_host_still_works(RuleHost& host, const TempDir& dir, const std::string& id) {
  const std::string msg = run_body(host, dir, id,
                                   "local t = {} for i = 1, 1000 do t[i] = ('x'):rep(100) end\n"
                                   "report('a', 'fine ' .. #t)");
  CHECK(msg.empty());
}

}  // namespace

TEST_CASE("forbidden routes raise an error naming what is forbidden", "[lua][sandbox]") {
  struct Case {
    const char* body;
    const char* expected;
  };
  const Case cases[] = {
      {"io.open('/etc/passwd')", "flowguard sandbox: 'io' is not available to rules"},
      {"io.write('x')", "'io' is not available"},
      {"os.execute('true')", "flowguard sandbox: 'os' is not available to rules"},
      {"os.exit(1)", "'os' is not available"},
      {"local x = os.getenv", "'os' is not available"},
      {"require('os')", "rules can load only the built-in flowguard.* modules"},
      {"require('flowguard.nope')", "no module 'flowguard.nope'"},
      {"local u = require('flowguard.util'); u.get = print", "read-only"},
      {"local u = require('flowguard.util'); rawset(u, 'get', print)", "table expected"},
      {"getmetatable(require('flowguard.dip')).__index.get = nil", "attempt to index a boolean value"},
      {"fg.require_api(3)", "needs flowguard rule API 3; this flowguard provides API 2"},
      {"package.loadlib('libc.so.6', 'system')", "'package' is not available"},
      {"debug.sethook()", "'debug' is not available"},
      {"debug.getregistry()", "'debug' is not available"},
      {"dofile('/etc/passwd')", "'dofile' is not available"},
      {"loadfile('/etc/passwd')", "'loadfile' is not available"},
      {"collectgarbage()", "'collectgarbage' is not available"},
      {"load(string.dump(function() end))", "'string.dump' is not available"},
      {"local f = ('').dump; f(function() end)", "'string.dump' is not available"},
      {"getmetatable('').__index.dump(function() end)", "'string.dump' is not available"},
      {"assert(load('\\27Lua\\x54\\0\\25\\x93\\r\\n\\x1a\\n'))", "binary chunk"},
      {"assert(load('\\27Lua', 'x', 'b'))", "binary chunk"},
      {"getmetatable('').__index.upper = nil", "read-only"},
      {"getmetatable('').__index = {}", "read-only"},
      {"setmetatable(_ENV, nil)", "protected metatable"},
      {"setmetatable({}, { __gc = function() end })", "'__gc' metamethods are not available"},
      {"print('x')", "attempt to call a nil value"},
      {"local co = coroutine.create(print)", "attempt to index a nil value"},
      {"load(function() return nil end)", "only a string chunk"},
  };
  TempDir dir;
  auto host = make_host();
  int n = 0;
  for (const Case& c : cases) {
    const std::string id = "SANDBOX-" + std::to_string(++n);
    INFO(c.body);
    const std::string msg = run_body(*host, dir, id, c.body);
    CHECK_THAT(msg, Catch::Contains(c.expected));
    CHECK_THAT(msg, Catch::Contains("rule " + id));
    CHECK_THAT(msg, Catch::Contains(id + ".lua"));
  }
  check_host_still_works(*host, dir, "AFTER-SANDBOX");
}

TEST_CASE("pcall does not hide forbidden calls and load runs text in the sandbox", "[lua][sandbox]") {
  TempDir dir;
  auto host = make_host();
  // A forbidden call inside pcall is an ordinary error: the rule sees it and can report it.
  const std::string body = R"(
    local ok, err = pcall(function() return os.execute('true') end)
    assert(not ok and err:find("'os' is not available", 1, true), tostring(err))
    assert(load('return 1 + 1')() == 2)
    assert(load('return os')() == os, 'load runs in the file environment')
    assert(load('return x', 'chunk', 't', { x = 7 })() == 7)
    local f, e = load('return +')
    assert(f == nil and type(e) == 'string')
    assert(string.dump == ('').dump)
    assert(getmetatable(rec) == false)
    assert(getmetatable('') ~= nil)
    assert(select('#', pcall(error)) == 2)
    assert(string.rep('', 1e15) == '' and string.rep('ab', 3, ',') == 'ab,ab,ab')
    local ok2, v = xpcall(function() error('boom') end, function(m) return 'handled: ' .. m end)
    assert(not ok2 and v:find('handled: .*boom'), v)
    report('a', 'ok')
  )";
  CHECK(run_body(*host, dir, "PCALL-OK", body) == "");
}

TEST_CASE("a file's globals and library changes are invisible to other files", "[lua][sandbox]") {
  TempDir dir;
  auto host = make_host();
  load_ok(*host, dir, "a.lua", R"(
    leaked = 42
    string.upper = nil
    table.insert = nil
    rawset(os, 'execute', function() return 'pwned' end)
    _G.also_leaked = 1
    fg.is_mpan = nil
    return { id = "A", severity = "info", description = "d", spec = "s", types = { "t" },
             record = function(rec, report) report(nil, tostring(leaked)) end }
  )");
  load_ok(*host, dir, "b.lua", R"(
    return { id = "B", severity = "info", description = "d", spec = "s", types = { "t" },
             record = function(rec, report)
               report(nil, table.concat({ tostring(leaked), tostring(also_leaked), type(string.upper),
                 type(table.insert), tostring(rawget(os, 'execute')), type(fg.is_mpan), ('x'):upper() }, ' '))
             end }
  )");
  const auto doc = parse("{}");
  std::vector<RuleReport> out;
  REQUIRE(host->run_record(index_of(*host, "A"), doc.root(), 0, out).ok());
  REQUIRE(host->run_record(index_of(*host, "B"), doc.root(), 0, out).ok());
  REQUIRE(out.size() == 2);
  CHECK(out[0].message == "42");  // the file's own global is visible to its own rule
  CHECK(out[1].message == "nil nil function function nil function X");
}

TEST_CASE("an endless loop stops at the instruction budget, also inside pcall", "[lua][sandbox][budget]") {
  TempDir dir;
  Limits limits;
  limits.instructions_per_call = 200'000;
  auto host = make_host(limits);
  const char* bodies[] = {
      "while true do end",
      "pcall(function() while true do end end) report('a', 'escaped') while true do end",
      "for i = 1, 10 do pcall(function() while true do end end) end report('a', 'escaped')",
      "local ok = xpcall(function() while true do end end, function(m) while true do end end) report('a', 'escaped')",
      "local ok = xpcall(function() while true do end end, function(m) return m end) report('a', 'escaped')",
      "local ok = pcall(string.rep, 'x', 10) while true do local s = ('x'):rep(10) end",
      "local t = setmetatable({}, { __index = function(t, k) while true do end end }) local x = pcall(function() return t.x end) report('a', 'escaped')",
  };
  int n = 0;
  for (const char* body : bodies) {
    const std::string id = "LOOP-" + std::to_string(++n);
    INFO(body);
    load_ok(*host, dir, id + ".lua", record_rule(id, body));
    const auto doc = parse("{}");
    std::vector<RuleReport> out;
    const auto status = host->run_record(index_of(*host, id), doc.root(), 0, out);
    REQUIRE_FALSE(status.ok());
    CHECK_THAT(status.error().message, Catch::Contains("rule " + id));
    CHECK_THAT(status.error().message, Catch::Contains("instruction budget exceeded (200000 instructions)"));
    CHECK(out.empty());
  }
  check_host_still_works(*host, dir, "AFTER-LOOPS");
}

TEST_CASE("the budget is per call: many short calls are fine", "[lua][sandbox][budget]") {
  TempDir dir;
  Limits limits;
  limits.instructions_per_call = 10'000;
  auto host = make_host(limits);
  load_ok(*host, dir, "s.lua", record_rule("SHORT", "local n = 0 for i = 1, 500 do n = n + i end"));
  const auto doc = parse("{}");
  std::vector<RuleReport> out;
  for (int i = 0; i < 1000; ++i) REQUIRE(host->run_record(0, doc.root(), 0, out).ok());
}

TEST_CASE("a memory bomb stops at the cap and the state stays usable", "[lua][sandbox][memory]") {
  TempDir dir;
  Limits limits;
  limits.memory_bytes = 16u << 20;
  limits.instructions_per_call = 50'000'000;
  auto host = make_host(limits);
  const char* bodies[] = {
      "local s = 'x' while true do s = s .. s end",
      "local t = {} local i = 0 while true do i = i + 1 t[i] = { i } end",
      "local s = string.rep('x', 64 * 1024 * 1024)",
      "local ok = pcall(function() local s = 'x' while true do s = s .. s end end) report('a', 'escaped')",
      "local ok = pcall(string.rep, 'x', 1 << 30) report('a', 'escaped')",
      "local parts = {} for i = 1, 1e7 do parts[#parts + 1] = tostring(i) .. ('y'):rep(50) end",
      "local ok = xpcall(function() local t = {} for i = 1, 1e8 do t[i] = i end end, function(m) return m end) report('a', 'escaped')",
  };
  int n = 0;
  for (const char* body : bodies) {
    const std::string id = "BOMB-" + std::to_string(++n);
    INFO(body);
    load_ok(*host, dir, id + ".lua", record_rule(id, body));
    const auto doc = parse("{}");
    std::vector<RuleReport> out;
    const auto status = host->run_record(index_of(*host, id), doc.root(), 0, out);
    REQUIRE_FALSE(status.ok());
    CHECK_THAT(status.error().message, Catch::Contains("rule " + id));
    CHECK_THAT(status.error().message, Catch::Contains("memory limit exceeded (16 MiB)"));
    CHECK(out.empty());
    // The next call of another rule allocates a few MiB without trouble.
    const std::string ok_id = "AFTER-" + id;
    load_ok(*host, dir, ok_id + ".lua",
            record_rule(ok_id, "local t = {} for i = 1, 2000 do t[i] = ('z'):rep(1000) .. i end report('a', #t)"));
    out.clear();
    const auto after = host->run_record(index_of(*host, ok_id), doc.root(), 0, out);
    if (!after.ok()) FAIL(after.error().message);
    REQUIRE(out.size() == 1);
    CHECK(out[0].message == "2000");
  }
}

TEST_CASE("loading runs under the same budget and cap", "[lua][sandbox][load]") {
  TempDir dir;
  Limits limits;
  limits.instructions_per_call = 100'000;
  limits.memory_bytes = 8u << 20;
  auto host = make_host(limits);
  auto status = host->load_file(dir.write("loop.lua", "while true do end\nreturn {}\n"));
  REQUIRE_FALSE(status.ok());
  CHECK_THAT(status.error().message, Catch::Contains("loop.lua"));
  CHECK_THAT(status.error().message, Catch::Contains("instruction budget exceeded"));
  status = host->load_file(dir.write("bomb.lua", "local s = 'x' for i = 1, 40 do s = s .. s end\nreturn {}\n"));
  REQUIRE_FALSE(status.ok());
  CHECK_THAT(status.error().message, Catch::Contains("bomb.lua"));
  CHECK_THAT(status.error().message, Catch::Contains("memory limit exceeded (8 MiB)"));
  load_ok(*host, dir, "good.lua", record_rule("GOOD", "report('a', 'x')"));
  CHECK(host->rules().size() == 1);
}
