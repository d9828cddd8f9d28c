// The sandbox's own pattern matcher (core/lua/patterns.cpp): the same answers as Lua's string library
// on the manual's constructs, and pathological patterns stop at the rule's instruction budget.
#include <lua.hpp>

#include "support.hpp"

using namespace fgtest;

namespace {

// Defines PROBE(): one line per case, "call -> results" (errors without their position). Run in the
// sandbox and in a plain Lua state with the standard library: the two must agree line by line.
const char* kProbe = R"LUA(
local function ser(...)
  local t = {}
  for i = 1, select('#', ...) do local v = select(i, ...) t[#t + 1] = type(v) .. ':' .. tostring(v) end
  return table.concat(t, ',')
end
local function try(f, ...)
  local r = table.pack(pcall(f, ...))
  if r[1] then return ser(table.unpack(r, 2, r.n)) end
  return 'error ' .. tostring(r[2]):gsub('^[^:]*:%d+: ', '')
end
local function all(s, p, init)
  local out = {}
  for a, b, c in string.gmatch(s, p, init) do
    out[#out + 1] = ser(a, b, c)
    if #out > 20 then break end
  end
  return table.concat(out, '|')
end
local finds = {
  {'hello world', 'o w'}, {'hello', 'l+'}, {'hello', '^h'}, {'hello', '^e'}, {'hello', 'o$'}, {'a.b', '.', 1, true},
  {'abc', 'b', -1}, {'abc', 'b', -2}, {'abc', '', 10}, {'abc', '', 4}, {'abc', 'c', -10}, {'abc', 'x', 0},
  {'key = value', '(%w+)%s*=%s*(%w+)'}, {'THE (quick) fox', '%((%a+)%)'}, {'f(a(b)c)d', '%b()'},
  {'f(a(b c)d', '%b()'}, {'THE (quick) fox', '%f[%a]%a+', 5}, {'hello', '()ll()'}, {'aaa', 'a-b'}, {'aaab', 'a-b'},
  {'x=1, y=2', '(%a)=(%d)', 3}, {'abc', '[a-'}, {'abc', '%'}, {'abc', '(()'}, {'abc', '%1'}, {'abcabc', '(abc)%1'},
  {'abcabd', '(ab)c%1d'}, {']', '[]]'}, {'a]', '[^]]'}, {'a-b', '[a-]'}, {'b', '[a-c]'}, {'-', '[%-]'},
  {'2024-01-02', '^%d%d%d%d%-%d%d%-%d%d$'}, {'a\0b', '\0b'}, {'a\0b', '%c'}, {'a\0b', '[\0]'},
  {'  trim me  ', '^%s*(.-)%s*$'}, {'_x1 y', '[%a_][%w_]*'}, {'x', '[%]'}, {'abc', '%f'}, {'abc', '%bx'},
  {'a+b', 'a+b', 1, true}, {'a+b', 'a%+b'}, {'caf\195\169', '[\128-\255]+'}, {'aBC', '%u+'}, {'ABc', '%U+'},
  {'a.b', '%.'}, {'hello', '(h)(e)(l)(l)(o)'}, {'', '.*'}, {'', '^$'}, {'abc', ')'}, {'abc', '(a'},
  {'x$y', '$y'}, {'x^y', 'x^y'}, {'aaa', 'a?a?a?a'}, {'abc', '.-$'}, {'abc', '[^%a]'}, {'a1!', '%p'},
  {'a1 !', '%S+', 3}, {'\t x', '%g'}, {'FF0a', '^%x+$'}, {'THE END', '%f[%w]%w+$'}, {'abc', '%f[%z]'},
  {'hello', 'l*'}, {'hello', 'x*'}, {'hello', 'l-o'}, {'one', '(o)(n)(e)()', 1},
  {string.rep('a', 8), string.rep('a?', 8) .. string.rep('a', 8)},
}
local gmatches = {
  {'one two  three', '%a+'}, {'k=v, a=b', '(%w+)=(%w+)'}, {'abc', ''}, {'abc', 'a*'}, {'^a^a', '^a'},
  {'hello', 'l', 4}, {'abc', '()'}, {'abc', '.', -2}, {'abc', '.', 9}, {'a,b,,c', '([^,]*)'},
}
local tbl = { hello = 'HI', l = 'L', x = false }
local gsubs = {
  {'hello world', 'o', '0'}, {'hello world', '(o)', '[%1]'}, {'hello', '', '-'}, {'abc', '%w', '%0%0'},
  {'abc', 'b*', 'X'}, {'hello world', '%w+', tbl}, {'hello world', '%w+', string.upper}, {'abc', 'b', '%2'},
  {'abc', 'b', '%'}, {'abc', 'b', '%%'}, {'abc', 'b', true}, {'abc', '%w', 'x', 2}, {'abc', '^a', 'x'},
  {'aaa', '^a', 'x'}, {'abc', '()', '%1'}, {'abc', 'b', 5}, {'hello', 'l', tbl}, {'hello', 'l+', function() end},
  {'hello', 'l', function() return {} end}, {'abc', '(b)(c)', '%2%1'}, {'x', 'x', '%x'}, {'abc', '', '%0'},
  {'abc', 'b', '%1'}, {'a b c', '%s', '', 0}, {'a b c', '%s', '_', -1}, {'hello', 'o', 'w', 1.0},
}
function PROBE()
  local lines = {}
  for i, c in ipairs(finds) do
    lines[#lines + 1] = 'find ' .. i .. ' ' .. try(string.find, table.unpack(c, 1, 4))
    lines[#lines + 1] = 'match ' .. i .. ' ' .. try(string.match, c[1], c[2], c[3])
  end
  for i, c in ipairs(gmatches) do lines[#lines + 1] = 'gmatch ' .. i .. ' ' .. try(all, c[1], c[2], c[3]) end
  for i, c in ipairs(gsubs) do lines[#lines + 1] = 'gsub ' .. i .. ' ' .. try(string.gsub, c[1], c[2], c[3], c[4]) end
  lines[#lines + 1] = 'method ' .. try(function() return ('x=1'):match('(%a)=(%d)') end)
  return lines
end
)LUA";

std::vector<std::string> reference_lines() {
  lua_State* L = luaL_newstate();
  REQUIRE(L != nullptr);
  luaL_openlibs(L);
  std::vector<std::string> lines;
  if (luaL_dostring(L, kProbe) != LUA_OK || luaL_dostring(L, "return PROBE()") != LUA_OK) {
    const std::string why = lua_tostring(L, -1);
    lua_close(L);
    FAIL("the probe does not run in plain Lua: " << why);
  }
  const auto n = static_cast<lua_Integer>(lua_rawlen(L, -1));
  for (lua_Integer i = 1; i <= n; ++i) {
    lua_rawgeti(L, -1, i);
    std::size_t len = 0;
    const char* s = lua_tolstring(L, -1, &len);
    lines.emplace_back(s, len);
    lua_pop(L, 1);
  }
  lua_close(L);
  return lines;
}

}  // namespace

TEST_CASE("the sandbox's patterns answer as Lua's string library does", "[lua][patterns]") {
  const auto expected = reference_lines();
  REQUIRE(expected.size() > 150);
  TempDir dir;
  auto host = make_host();
  load_ok(*host, dir, "probe.lua",
          std::string(kProbe) + record_rule("PROBE", "for _, line in ipairs(PROBE()) do report(nil, line) end"));
  const auto doc = parse("{}");
  std::vector<RuleReport> out;
  const auto status = host->run_record(index_of(*host, "PROBE"), doc.root(), 0, out);
  REQUIRE(status.ok());
  REQUIRE(out.size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) CHECK(out[i].message == expected[i]);
}

TEST_CASE("pathological patterns stop at the rule's instruction budget", "[lua][patterns][budget]") {
  TempDir dir;
  Limits limits;
  limits.instructions_per_call = 200'000;
  auto host = make_host(limits);
  const char* bodies[] = {
      "string.find(('a'):rep(150), ('.-'):rep(5) .. 'b')",
      "local s = ('a'):rep(60) string.gsub(s, ('a*'):rep(8) .. 'b', 'x')",
      "local s = ('a'):rep(60) string.match(s, ('a?'):rep(30) .. ('a'):rep(30) .. 'b')",
      "for w in string.gmatch(('a'):rep(3000), '.-.-.-b') do end",
      "pcall(string.find, ('a'):rep(150), ('.-'):rep(5) .. 'b') report(nil, 'escaped')",
      "local s = ('a'):rep(100000) for i = 1, 1000 do s:find(('a'):rep(500) .. 'b', 1, true) end",
      "local s = ('x'):rep(1000) for i = 1, 1e6 do s:gsub('x', 'y') end",
      "local set = '[' .. ('b'):rep(60000) .. 'a]' string.find(('a'):rep(3000), set .. '*x')",
  };
  int n = 0;
  for (const char* body : bodies) {
    const std::string id = "PATTERN-" + std::to_string(++n);
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
  // The host is still usable, and an ordinary pattern costs little.
  load_ok(*host, dir, "fine.lua", record_rule("FINE", "report(nil, (('2024-01-02'):match('^(%d%d%d%d)%-')))"));
  const auto doc = parse("{}");
  std::vector<RuleReport> out;
  REQUIRE(host->run_record(index_of(*host, "FINE"), doc.root(), 0, out).ok());
  REQUIRE(out.size() == 1);
  CHECK(out[0].message == "2024");
}
