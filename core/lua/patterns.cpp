// string.find, string.match, string.gmatch and string.gsub for the sandbox: Lua 5.4 patterns (reference
// manual §6.4.1) matched by our own backtracking matcher, which counts its steps against the rule's
// instruction budget. The standard library's matcher runs in C without ever reaching the count hook, so
// `string.find(("a"):rep(150), (".-"):rep(5) .. "b")` ran for minutes inside a 10 M-instruction budget.
//
// Error discipline (internal.hpp): every function here may raise a Lua error (longjmp), so locals are
// trivially destructible only; results are built with luaL_Buffer, which lives on the Lua stack.

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "internal.hpp"

namespace flowguard::lua::detail {
namespace {

constexpr int kMaxCaptures = 32;  // LUA_MAXCAPTURES
constexpr int kMaxDepth = 200;    // nested matcher calls before "pattern too complex" (as Lua's MAXCCALLS)
constexpr std::ptrdiff_t kUnfinished = -1;
constexpr std::ptrdiff_t kPosition = -2;
constexpr std::uint64_t kChargeEvery = 1024;  // steps counted locally between charges to the budget
constexpr const char kSpecials[] = "^$*+?.([%-";
constexpr std::ptrdiff_t kSetBytesPerStep = 32;  // reading a set: one step per this many bytes of it

struct Capture {
  const char* start;
  std::ptrdiff_t len;  // kUnfinished, kPosition or the length
};

struct Matcher {
  lua_State* L;
  const char* src;      // the subject
  const char* src_end;
  const char* pat_end;
  int depth;
  int level;            // captures opened so far
  std::uint64_t steps;  // not yet charged
  Capture cap[kMaxCaptures];
};

unsigned char uc(char c) { return static_cast<unsigned char>(c); }

void flush(Matcher& m) {
  const std::uint64_t n = m.steps;
  m.steps = 0;
  charge_budget(m.L, n);
}

inline void step(Matcher& m, std::uint64_t n = 1) {
  m.steps += n;
  if (m.steps >= kChargeEvery) flush(m);
}

void init(Matcher& m, lua_State* L, const char* s, std::size_t ls, const char* p, std::size_t lp) {
  m.L = L;
  m.src = s;
  m.src_end = s + ls;
  m.pat_end = p + lp;
  m.depth = kMaxDepth;
  m.level = 0;
  m.steps = 0;
}

void restart(Matcher& m) {
  m.depth = kMaxDepth;
  m.level = 0;
}

// %a, %d, ... (upper case: the complement); any other letter after '%' stands for itself.
bool class_match(int c, int cl) {
  bool yes = false;
  switch (std::tolower(cl)) {
    case 'a': yes = std::isalpha(c) != 0; break;
    case 'c': yes = std::iscntrl(c) != 0; break;
    case 'd': yes = std::isdigit(c) != 0; break;
    case 'g': yes = std::isgraph(c) != 0; break;
    case 'l': yes = std::islower(c) != 0; break;
    case 'p': yes = std::ispunct(c) != 0; break;
    case 's': yes = std::isspace(c) != 0; break;
    case 'u': yes = std::isupper(c) != 0; break;
    case 'w': yes = std::isalnum(c) != 0; break;
    case 'x': yes = std::isxdigit(c) != 0; break;
    case 'z': yes = c == 0; break;  // deprecated in the manual, still accepted by Lua 5.4
    default: return cl == c;
  }
  return std::isupper(cl) != 0 ? !yes : yes;
}

// End of the single character class starting at p.
const char* class_end(Matcher& m, const char* p) {
  const char* const e = m.pat_end;
  const char c = *p++;
  if (c == '%') {
    if (p >= e) luaL_error(m.L, "malformed pattern (ends with '%%')");
    return p + 1;
  }
  if (c != '[') return p;
  const char* const set = p;
  if (p < e && *p == '^') ++p;
  // The first character of a set never closes it: "[]]" and "[^]]" hold ']'.
  do {
    if (p >= e) luaL_error(m.L, "malformed pattern (missing ']')");
    if (*p++ == '%') {
      if (p >= e) luaL_error(m.L, "malformed pattern (missing ']')");
      ++p;
    }
  } while (p >= e || *p != ']');
  step(m, static_cast<std::uint64_t>(p - set) / kSetBytesPerStep);  // a long set costs its length
  return p + 1;
}

// [set] from p ('[') to last (its ']').
bool set_match(int c, const char* p, const char* last) {
  bool in = true;
  ++p;
  if (*p == '^') {
    in = false;
    ++p;
  }
  while (p < last) {
    if (*p == '%' && p + 1 < last) {
      if (class_match(c, uc(p[1]))) return in;
      p += 2;
    } else if (p + 2 < last && p[1] == '-') {
      if (uc(p[0]) <= c && c <= uc(p[2])) return in;
      p += 3;
    } else {
      if (uc(*p) == c) return in;
      ++p;
    }
  }
  return !in;
}

bool single_match(Matcher& m, const char* s, const char* p, const char* ep) {
  if (s >= m.src_end) return false;
  const int c = uc(*s);
  switch (*p) {
    case '.': return true;
    case '%': return class_match(c, uc(p[1]));
    case '[':
      step(m, static_cast<std::uint64_t>(ep - p) / kSetBytesPerStep);
      return set_match(c, p, ep - 1);
    default: return uc(*p) == c;
  }
}

const char* match(Matcher& m, const char* s, const char* p);

const char* max_expand(Matcher& m, const char* s, const char* p, const char* ep) {
  std::ptrdiff_t n = 0;
  while (single_match(m, s + n, p, ep)) {
    ++n;
    step(m);
  }
  for (; n >= 0; --n) {  // longest first
    if (const char* r = match(m, s + n, ep + 1)) return r;
    step(m);
  }
  return nullptr;
}

const char* min_expand(Matcher& m, const char* s, const char* p, const char* ep) {
  for (;;) {
    if (const char* r = match(m, s, ep + 1)) return r;
    if (!single_match(m, s, p, ep)) return nullptr;
    ++s;
    step(m);
  }
}

const char* open_capture(Matcher& m, const char* s, const char* p, std::ptrdiff_t what) {
  if (m.level >= kMaxCaptures) luaL_error(m.L, "too many captures");
  m.cap[m.level] = Capture{s, what};
  ++m.level;
  const char* r = match(m, s, p);
  if (r == nullptr) --m.level;
  return r;
}

const char* close_capture(Matcher& m, const char* s, const char* p) {
  int l = m.level - 1;
  while (l >= 0 && m.cap[l].len != kUnfinished) --l;
  if (l < 0) luaL_error(m.L, "invalid pattern capture");
  m.cap[l].len = s - m.cap[l].start;
  const char* r = match(m, s, p);
  if (r == nullptr) m.cap[l].len = kUnfinished;
  return r;
}

// %bxy: p points at x.
const char* match_balance(Matcher& m, const char* s, const char* p) {
  if (p + 1 >= m.pat_end) luaL_error(m.L, "malformed pattern (missing arguments to '%%b')");
  if (s >= m.src_end || *s != *p) return nullptr;
  const char open = p[0];
  const char close = p[1];
  int depth = 1;
  while (++s < m.src_end) {
    step(m);
    if (*s == close) {
      if (--depth == 0) return s + 1;
    } else if (*s == open) {
      ++depth;
    }
  }
  return nullptr;
}

// %1-%9: the text of an earlier, closed capture again.
const char* match_back_reference(Matcher& m, const char* s, int digit) {
  const int l = digit - '1';
  if (l < 0 || l >= m.level || m.cap[l].len == kUnfinished) luaL_error(m.L, "invalid capture index %%%d", l + 1);
  const std::ptrdiff_t len = m.cap[l].len;
  if (len < 0) return nullptr;  // a position capture has no text
  step(m, static_cast<std::uint64_t>(len));
  if (m.src_end - s >= len && std::memcmp(m.cap[l].start, s, static_cast<std::size_t>(len)) == 0) return s + len;
  return nullptr;
}

const char* match_body(Matcher& m, const char* s, const char* p) {
  for (;;) {
    step(m);
    if (p == m.pat_end) return s;
    switch (*p) {
      case '(':
        if (p + 1 < m.pat_end && p[1] == ')') return open_capture(m, s, p + 2, kPosition);
        return open_capture(m, s, p + 1, kUnfinished);
      case ')':
        return close_capture(m, s, p + 1);
      case '$':
        if (p + 1 == m.pat_end) return s == m.src_end ? s : nullptr;
        break;  // a '$' elsewhere is itself
      case '%':
        if (p + 1 >= m.pat_end) break;  // class_end reports it
        if (p[1] == 'b') {
          s = match_balance(m, s, p + 2);
          if (s == nullptr) return nullptr;
          p += 4;
          continue;
        }
        if (p[1] == 'f') {
          p += 2;
          if (p >= m.pat_end || *p != '[') luaL_error(m.L, "missing '[' after '%%f' in pattern");
          const char* ep = class_end(m, p);
          const int before = s == m.src ? 0 : uc(s[-1]);
          const int here = s < m.src_end ? uc(*s) : 0;
          if (set_match(before, p, ep - 1) || !set_match(here, p, ep - 1)) return nullptr;
          p = ep;
          continue;
        }
        if (std::isdigit(uc(p[1])) != 0) {
          s = match_back_reference(m, s, uc(p[1]));
          if (s == nullptr) return nullptr;
          p += 2;
          continue;
        }
        break;
      default:
        break;
    }
    // A single character class, perhaps followed by '?', '*', '+' or '-'.
    const char* ep = class_end(m, p);
    const char suffix = ep < m.pat_end ? *ep : '\0';
    if (!single_match(m, s, p, ep)) {
      if (suffix == '*' || suffix == '?' || suffix == '-') {  // zero repetitions
        p = ep + 1;
        continue;
      }
      return nullptr;
    }
    switch (suffix) {
      case '?':
        if (const char* r = match(m, s + 1, ep + 1)) return r;
        p = ep + 1;
        continue;
      case '+': return max_expand(m, s + 1, p, ep);
      case '*': return max_expand(m, s, p, ep);
      case '-': return min_expand(m, s, p, ep);
      default:
        ++s;
        p = ep;
        continue;
    }
  }
}

const char* match(Matcher& m, const char* s, const char* p) {
  if (m.depth-- == 0) luaL_error(m.L, "pattern too complex");
  const char* r = match_body(m, s, p);
  ++m.depth;
  return r;
}

// Capture i, or the whole match [s, e) when there are none and i is 0.
void push_capture(Matcher& m, int i, const char* s, const char* e) {
  if (i >= m.level) {
    if (i != 0) luaL_error(m.L, "invalid capture index %%%d", i + 1);
    lua_pushlstring(m.L, s, static_cast<std::size_t>(e - s));
    return;
  }
  const Capture& c = m.cap[i];
  if (c.len == kUnfinished) luaL_error(m.L, "unfinished capture");
  if (c.len == kPosition) {
    lua_pushinteger(m.L, static_cast<lua_Integer>(c.start - m.src) + 1);
  } else {
    lua_pushlstring(m.L, c.start, static_cast<std::size_t>(c.len));
  }
}

// The captures (or the whole match when there are none and s is given); returns how many.
int push_captures(Matcher& m, const char* s, const char* e) {
  const int n = (m.level == 0 && s != nullptr) ? 1 : m.level;
  luaL_checkstack(m.L, n, "too many captures");
  for (int i = 0; i < n; ++i) push_capture(m, i, s, e);
  return n;
}

// A 1-based (negative: from the end) start position as a 0-based offset; may exceed len.
std::size_t start_offset(lua_Integer pos, std::size_t len) {
  if (pos > 0) return static_cast<std::size_t>(pos) - 1;
  if (pos == 0 || pos < -static_cast<lua_Integer>(len)) return 0;
  return len - static_cast<std::size_t>(-pos);
}

bool has_specials(const char* p, std::size_t lp) {
  for (std::size_t i = 0; i < lp; ++i)
    if (std::memchr(kSpecials, p[i], sizeof kSpecials - 1) != nullptr) return true;
  return false;
}

// Plain substring search; each candidate position is charged the needle's length (its worst case).
const char* plain_find(Matcher& m, const char* s, std::size_t ls, const char* p, std::size_t lp) {
  if (lp == 0) return s;
  if (lp > ls) return nullptr;
  const char* const last = s + (ls - lp);
  while (s <= last) {
    const void* hit = std::memchr(s, *p, static_cast<std::size_t>(last - s) + 1);
    if (hit == nullptr) {
      step(m, static_cast<std::uint64_t>(last - s) / 64 + 1);
      return nullptr;
    }
    const char* at = static_cast<const char*>(hit);
    step(m, static_cast<std::uint64_t>(at - s) / 64 + lp);
    if (std::memcmp(at + 1, p + 1, lp - 1) == 0) return at;
    s = at + 1;
  }
  return nullptr;
}

int find_or_match(lua_State* L, bool find) {
  std::size_t ls = 0;
  std::size_t lp = 0;
  const char* s = luaL_checklstring(L, 1, &ls);
  const char* p = luaL_checklstring(L, 2, &lp);
  const std::size_t at = start_offset(luaL_optinteger(L, 3, 1), ls);
  if (at > ls) {
    luaL_pushfail(L);
    return 1;
  }
  Matcher m;
  init(m, L, s, ls, p, lp);
  if (find && (lua_toboolean(L, 4) || !has_specials(p, lp))) {
    const char* hit = plain_find(m, s + at, ls - at, p, lp);
    flush(m);
    if (hit != nullptr) {
      lua_pushinteger(L, static_cast<lua_Integer>(hit - s) + 1);
      lua_pushinteger(L, static_cast<lua_Integer>(hit - s + lp));
      return 2;
    }
    luaL_pushfail(L);
    return 1;
  }
  const bool anchor = lp > 0 && *p == '^';
  if (anchor) ++p;
  const char* from = s + at;
  do {
    restart(m);
    if (const char* e = match(m, from, p)) {
      flush(m);
      if (!find) return push_captures(m, from, e);
      lua_pushinteger(L, static_cast<lua_Integer>(from - s) + 1);
      lua_pushinteger(L, static_cast<lua_Integer>(e - s));
      return push_captures(m, nullptr, nullptr) + 2;
    }
  } while (from++ < m.src_end && !anchor);
  flush(m);
  luaL_pushfail(L);
  return 1;
}

int sb_find(lua_State* L) { return find_or_match(L, true); }
int sb_match(lua_State* L) { return find_or_match(L, false); }

struct GmatchState {
  std::size_t next;  // offset to try from
  std::size_t last;  // end of the previous match, or kNone
};
constexpr std::size_t kNone = static_cast<std::size_t>(-1);

int gmatch_step(lua_State* L) {
  std::size_t ls = 0;
  std::size_t lp = 0;
  const char* s = lua_tolstring(L, lua_upvalueindex(1), &ls);
  const char* p = lua_tolstring(L, lua_upvalueindex(2), &lp);
  auto* state = static_cast<GmatchState*>(lua_touserdata(L, lua_upvalueindex(3)));
  Matcher m;
  init(m, L, s, ls, p, lp);
  // No anchor here: a leading '^' would stop the iteration, so (as in Lua 5.4) it is matched as itself.
  for (std::size_t at = state->next; at <= ls; ++at) {
    restart(m);
    const char* e = match(m, s + at, p);
    if (e != nullptr && (state->last == kNone || e != s + state->last)) {
      state->next = state->last = static_cast<std::size_t>(e - s);
      flush(m);
      return push_captures(m, s + at, e);
    }
  }
  state->next = ls + 1;
  flush(m);
  return 0;
}

int sb_gmatch(lua_State* L) {
  std::size_t ls = 0;
  luaL_checklstring(L, 1, &ls);
  luaL_checkstring(L, 2);
  std::size_t at = start_offset(luaL_optinteger(L, 3, 1), ls);
  if (at > ls) at = ls + 1;
  lua_settop(L, 2);
  auto* state = static_cast<GmatchState*>(lua_newuserdatauv(L, sizeof(GmatchState), 0));
  state->next = at;
  state->last = kNone;
  lua_pushcclosure(L, gmatch_step, 3);
  return 1;
}

// A replacement string: %0-%9 are captures, %% is '%'.
void add_replacement_string(Matcher& m, luaL_Buffer* b, const char* s, const char* e) {
  lua_State* L = m.L;
  std::size_t len = 0;
  const char* r = lua_tolstring(L, 3, &len);
  const char* const end = r + len;
  step(m, len);
  while (r < end) {
    const char* pct = static_cast<const char*>(std::memchr(r, '%', static_cast<std::size_t>(end - r)));
    if (pct == nullptr) {
      luaL_addlstring(b, r, static_cast<std::size_t>(end - r));
      return;
    }
    luaL_addlstring(b, r, static_cast<std::size_t>(pct - r));
    r = pct + 1;
    if (r < end && *r == '%') {
      luaL_addchar(b, '%');
    } else if (r < end && std::isdigit(uc(*r)) != 0) {
      if (*r == '0') {
        luaL_addlstring(b, s, static_cast<std::size_t>(e - s));
      } else {
        push_capture(m, *r - '1', s, e);
        luaL_tolstring(L, -1, nullptr);  // a position capture is a number
        lua_remove(L, -2);
        luaL_addvalue(b);
      }
    } else {
      luaL_error(L, "invalid use of '%%' in replacement string");
    }
    ++r;
  }
}

void add_replacement(Matcher& m, luaL_Buffer* b, const char* s, const char* e, int kind) {
  lua_State* L = m.L;
  if (kind == LUA_TFUNCTION) {
    lua_pushvalue(L, 3);
    const int n = push_captures(m, s, e);
    flush(m);
    lua_call(L, n, 1);
  } else if (kind == LUA_TTABLE) {
    push_capture(m, 0, s, e);
    lua_gettable(L, 3);
  } else {
    add_replacement_string(m, b, s, e);
    return;
  }
  if (!lua_toboolean(L, -1)) {  // nil or false: keep the match
    lua_pop(L, 1);
    luaL_addlstring(b, s, static_cast<std::size_t>(e - s));
  } else if (!lua_isstring(L, -1)) {
    luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
  } else {
    luaL_addvalue(b);
  }
}

int sb_gsub(lua_State* L) {
  std::size_t ls = 0;
  std::size_t lp = 0;
  const char* s = luaL_checklstring(L, 1, &ls);
  const char* p = luaL_checklstring(L, 2, &lp);
  const int kind = lua_type(L, 3);
  const lua_Integer max = luaL_optinteger(L, 4, static_cast<lua_Integer>(ls) + 1);
  luaL_argexpected(L, kind == LUA_TNUMBER || kind == LUA_TSTRING || kind == LUA_TFUNCTION || kind == LUA_TTABLE, 3,
                   "string/function/table");
  lua_settop(L, 3);  // the buffer's box, when it needs one, goes above the arguments
  const bool anchor = lp > 0 && *p == '^';
  if (anchor) {
    ++p;
    --lp;
  }
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  Matcher m;
  init(m, L, s, ls, p, lp);
  const char* from = s;
  const char* last = nullptr;
  lua_Integer n = 0;
  while (n < max) {
    restart(m);
    const char* e = match(m, from, p);
    if (e != nullptr && e != last) {
      ++n;
      add_replacement(m, &b, from, e, kind);
      from = last = e;
    } else if (from < m.src_end) {
      luaL_addchar(&b, *from++);
    } else {
      break;
    }
    if (anchor) break;
  }
  luaL_addlstring(&b, from, static_cast<std::size_t>(m.src_end - from));
  flush(m);
  luaL_pushresult(&b);
  lua_pushinteger(L, n);
  return 2;
}

}  // namespace

void install_patterns(lua_State* L, int strlib) {
  lua_pushcfunction(L, sb_find);
  lua_setfield(L, strlib, "find");
  lua_pushcfunction(L, sb_match);
  lua_setfield(L, strlib, "match");
  lua_pushcfunction(L, sb_gmatch);
  lua_setfield(L, strlib, "gmatch");
  lua_pushcfunction(L, sb_gsub);
  lua_setfield(L, strlib, "gsub");
}

}  // namespace flowguard::lua::detail
