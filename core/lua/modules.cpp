// The built-in rule modules (require("flowguard.<name>"); sdk/docs/rule-api.md, "Modules"):
// flowguard.util, flowguard.dates, flowguard.mpan and flowguard.dip. Each is built once per rule
// host as a read-only proxy whose fields are C functions and constants, so no rule file can change
// what another sees, and none reaches io/os/debug/load through them.
//
// As everywhere in core/lua (internal.hpp), C functions called from Lua keep only trivially
// destructible locals; string building happens in noexcept helpers.

#include <array>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string_view>

#include "flowguard/ascii.hpp"
#include "flowguard/domain/checks.hpp"
#include "internal.hpp"

namespace flowguard::lua::detail {
namespace {

constexpr const char* kModules = "flowguard.modules";  // registry: name -> module proxy
constexpr int kApiVersion = 2;  // (helpers.cpp kRuleApi: the same)

constexpr bool ascii_is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

bool string_arg(lua_State* L, int i, std::string_view& out) {
  if (lua_type(L, i) != LUA_TSTRING) return false;
  std::size_t n = 0;
  const char* s = lua_tolstring(L, i, &n);
  out = std::string_view(s, n);
  return true;
}

int read_only(lua_State* L) { return luaL_error(L, "flowguard module tables are read-only"); }

// Leaves a userdata proxy of the table at -1 (popped): fields read through, writes raise, no
// metatable to reach (rawset needs a table, so the proxy cannot be changed behind __newindex).
void push_module_proxy(lua_State* L, const char* name) {
  const int table = lua_gettop(L);
  lua_newuserdatauv(L, 0, 0);
  lua_createtable(L, 0, 4);
  lua_pushvalue(L, table);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, read_only);
  lua_setfield(L, -2, "__newindex");
  lua_pushstring(L, name);
  lua_setfield(L, -2, "__name");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_setmetatable(L, -2);
  lua_remove(L, table);
}

bool digits(std::string_view s, std::size_t at, std::size_t n, int& out) {
  if (at + n > s.size()) return false;
  int v = 0;
  for (std::size_t i = at; i < at + n; ++i) {
    if (!ascii_is_digit(s[i])) return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}

// ---------------------------------------------------------------------------------------------
// flowguard.util

// util.get(v, key): v[key] when v is a view or a table (JSON null and scalars give nil).
int util_get(lua_State* L) {
  const int t = lua_type(L, 1);
  if (t != LUA_TUSERDATA && t != LUA_TTABLE) return 0;
  lua_settop(L, 2);
  lua_gettable(L, 1);
  return 1;
}

// util.str(v): v when it is a string, else nil. util.text(v): the same for non-empty strings.
int util_str(lua_State* L) {
  if (lua_type(L, 1) != LUA_TSTRING) return 0;
  lua_settop(L, 1);
  return 1;
}

int util_text(lua_State* L) {
  if (lua_type(L, 1) != LUA_TSTRING || lua_rawlen(L, 1) == 0) return 0;
  lua_settop(L, 1);
  return 1;
}

// util.num(v) / util.int(v): v when it is a number / an integer.
int util_num(lua_State* L) {
  if (lua_type(L, 1) != LUA_TNUMBER) return 0;
  lua_settop(L, 1);
  return 1;
}

int util_int(lua_State* L) {
  if (!lua_isinteger(L, 1)) return 0;
  lua_settop(L, 1);
  return 1;
}

// util.is_view(v): a view (of a record, object, array or fg.data), not JSON null.
int util_is_view(lua_State* L) {
  lua_pushboolean(L, lua_type(L, 1) == LUA_TUSERDATA && view_value(L, 1) != nullptr);
  return 1;
}

void add_escaped(luaL_Buffer* b, std::string_view key) {
  for (const char c : key) {
    if (c == '~') luaL_addstring(b, "~0");
    else if (c == '/') luaL_addstring(b, "~1");
    else luaL_addchar(b, c);
  }
}

// util.pointer(base, step, ...): base extended by each step, a key (escaped) or an integer (as is).
int util_pointer(lua_State* L) {
  const int n = lua_gettop(L);
  std::string_view base;
  if (!string_arg(L, 1, base)) return luaL_argerror(L, 1, "a JSON pointer string");
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  luaL_addlstring(&b, base.data(), base.size());
  for (int i = 2; i <= n; ++i) {
    luaL_addchar(&b, '/');
    if (lua_isinteger(L, i)) {
      char text[24];
      const auto r = std::to_chars(text, text + sizeof text, lua_tointeger(L, i));
      luaL_addlstring(&b, text, static_cast<std::size_t>(r.ptr - text));
    } else {
      std::string_view key;
      if (!string_arg(L, i, key)) return luaL_argerror(L, i, "a key (string) or an index (integer)");
      add_escaped(&b, key);
    }
  }
  luaL_pushresult(&b);
  return 1;
}

// util.escape(key): key as one JSON pointer token.
int util_escape(lua_State* L) {
  std::string_view key;
  if (!string_arg(L, 1, key)) return luaL_argerror(L, 1, "a string");
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  add_escaped(&b, key);
  luaL_pushresult(&b);
  return 1;
}

// util.join(list [, sep]): tostring of each item of a list or array view, joined (", ").
int util_join(lua_State* L) {
  const char* sep = luaL_optstring(L, 2, ", ");
  lua_settop(L, 2);
  if (lua_type(L, 1) != LUA_TTABLE && lua_type(L, 1) != LUA_TUSERDATA) return luaL_argerror(L, 1, "a list");
  const lua_Integer n = luaL_len(L, 1);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (lua_Integer i = 1; i <= n; ++i) {
    if (i > 1) luaL_addstring(&b, sep);
    lua_geti(L, 1, i);
    luaL_tolstring(L, -1, nullptr);
    lua_remove(L, -2);
    luaL_addvalue(&b);
  }
  luaL_pushresult(&b);
  return 1;
}

// util.contains(list, x): some item of a list or array view equals x.
int util_contains(lua_State* L) {
  lua_settop(L, 2);
  if (lua_type(L, 1) != LUA_TTABLE && lua_type(L, 1) != LUA_TUSERDATA) {
    lua_pushboolean(L, 0);
    return 1;
  }
  const lua_Integer n = luaL_len(L, 1);
  for (lua_Integer i = 1; i <= n; ++i) {
    lua_geti(L, 1, i);
    const bool same = lua_rawequal(L, -1, 2) != 0;
    lua_pop(L, 1);
    if (same) {
      lua_pushboolean(L, 1);
      return 1;
    }
  }
  lua_pushboolean(L, 0);
  return 1;
}

// util.lower_set(list): { [lower(s)] = true } for the strings of a list (for view:find_keys).
int util_lower_set(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  const lua_Integer n = luaL_len(L, 1);
  lua_createtable(L, 0, static_cast<int>(n));
  for (lua_Integer i = 1; i <= n; ++i) {
    if (lua_rawgeti(L, 1, i) == LUA_TSTRING) {
      std::size_t len = 0;
      const char* s = lua_tolstring(L, -1, &len);
      luaL_Buffer b;
      char* out = luaL_buffinitsize(L, &b, len);
      for (std::size_t k = 0; k < len; ++k) out[k] = ascii_lower(s[k]);
      luaL_pushresultsize(&b, len);
      lua_pushboolean(L, 1);
      lua_rawset(L, -4);
    }
    lua_pop(L, 1);
  }
  return 1;
}

// ---------------------------------------------------------------------------------------------
// flowguard.dates

enum class Profile { kDip, kDipClock, kIso };

// What a date-time text says: an instant, not that shape (nullopt), or that shape naming no real
// instant (`why` set, written into `reason`).
struct Instant {
  bool shape = false;
  bool real = false;
  std::int64_t seconds = 0;
  const char* why = nullptr;  // "offset", "date", "time"
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  std::string_view offset_text;
};

// One parser for the three ISO 8601 profiles rules meet (see rule-api.md, dates.utc_seconds).
Instant parse_instant(std::string_view s, Profile profile) noexcept {
  Instant r;
  // yyyy-mm-ddThh:mm
  if (s.size() < 16 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':') return r;
  if (!digits(s, 0, 4, r.y) || !digits(s, 5, 2, r.mo) || !digits(s, 8, 2, r.d) || !digits(s, 11, 2, r.h) ||
      !digits(s, 14, 2, r.mi))
    return r;
  std::size_t at = 16;
  bool has_seconds = false;
  if (at < s.size() && s[at] == ':' && digits(s, at + 1, 2, r.sec)) has_seconds = true, at += 3;
  if (!has_seconds && profile != Profile::kIso) return r;
  if (has_seconds && profile != Profile::kDip && at + 1 < s.size() && s[at] == '.' && ascii_is_digit(s[at + 1])) {
    ++at;
    while (at < s.size() && ascii_is_digit(s[at])) ++at;
  }
  const std::string_view rest = s.substr(at);
  int sign = 0, oh = 0, om = 0;
  if (rest.empty() && profile == Profile::kIso) {
  } else if (rest == "Z" && profile != Profile::kDip) {
  } else if (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':' && digits(rest, 1, 2, oh) &&
             digits(rest, 4, 2, om)) {
    sign = rest[0] == '-' ? -1 : 1;
  } else {
    return r;
  }
  r.shape = true;
  r.offset_text = rest;
  // The checks in the order SSI has always reported them: offset, date, time.
  const int max_offset_hours = profile == Profile::kIso ? 23 : 14;
  if (oh > max_offset_hours || om > 59) return r.why = "offset", r;
  const auto date = domain::parse_date_iso(s.substr(0, 10));
  if (!date) return r.why = "date", r;
  if (r.h > 23 || r.mi > 59 || r.sec > 59) return r.why = "time", r;
  r.real = true;
  r.seconds = domain::days_from_civil(*date) * 86400 + r.h * 3600 + r.mi * 60 + r.sec - sign * (oh * 60 + om) * 60;
  return r;
}

// dates.utc_seconds(s [, profile]): seconds since 1970-01-01T00:00:00Z; nil when s is not of the
// profile's shape; false and the reason when it is but names no real instant.
int dates_utc_seconds(lua_State* L) {
  std::string_view s;
  if (!string_arg(L, 1, s)) return 0;
  Profile profile = Profile::kDip;
  std::string_view name;
  if (string_arg(L, 2, name)) {
    if (name == "dip-clock") profile = Profile::kDipClock;
    else if (name == "iso") profile = Profile::kIso;
    else if (name != "dip") return luaL_argerror(L, 2, "profile \"dip\", \"dip-clock\" or \"iso\"");
  }
  const Instant r = parse_instant(s, profile);
  if (!r.shape) return 0;
  if (r.real) {
    lua_pushinteger(L, static_cast<lua_Integer>(r.seconds));
    return 1;
  }
  lua_pushboolean(L, 0);
  if (std::strcmp(r.why, "offset") == 0) {
    // offset_text is the tail of s, a Lua string, so it ends where s does (NUL-terminated).
    lua_pushfstring(L, "its UTC offset %s does not exist", r.offset_text.data());
  } else if (std::strcmp(r.why, "date") == 0) {
    lua_pushlstring(L, s.data(), 10);
    lua_pushliteral(L, " is not a date that exists");
    lua_concat(L, 2);
  } else {
    lua_pushfstring(L, "%s%d:%s%d:%s%d is not a time of day (00:00:00 to 23:59:59)", r.h < 10 ? "0" : "", r.h,
                    r.mi < 10 ? "0" : "", r.mi, r.sec < 10 ? "0" : "", r.sec);
  }
  return 2;
}

bool real_ymd(std::string_view s) noexcept {
  int y = 0, m = 0, d = 0;
  if (!(s.size() == 8 && digits(s, 0, 4, y) && digits(s, 4, 2, m) && digits(s, 6, 2, d) && y >= 1900 && m >= 1 &&
        m <= 12 && d >= 1))
    return false;
  constexpr int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return d <= kDays[m - 1] + (m == 2 && leap ? 1 : 0);
}

// dates.real_ymd(s): s is yyyymmdd, a date that exists (years 1900-9999).
int dates_real_ymd(lua_State* L) {
  std::string_view s;
  lua_pushboolean(L, string_arg(L, 1, s) && real_ymd(s));
  return 1;
}

// dates.days_from_civil(y, m, d) -> day number; dates.civil_from_days(n) -> y, m, d.
int dates_days_from_civil(lua_State* L) {
  const auto y = luaL_checkinteger(L, 1), m = luaL_checkinteger(L, 2), d = luaL_checkinteger(L, 3);
  lua_pushinteger(L, static_cast<lua_Integer>(
                         domain::days_from_civil({static_cast<int>(y), static_cast<int>(m), static_cast<int>(d)})));
  return 1;
}

int dates_civil_from_days(lua_State* L) {
  const domain::Date d = domain::civil_from_days(luaL_checkinteger(L, 1));
  lua_pushinteger(L, d.year);
  lua_pushinteger(L, d.month);
  lua_pushinteger(L, d.day);
  return 3;
}

std::optional<domain::Date> either_date(std::string_view s) {
  if (auto d = domain::parse_date_dmy(s)) return d;
  return domain::parse_date_iso(s);
}

// dates.day_of(s): day number of a dd-mm-yyyy or yyyy-mm-dd date that exists, else nil.
int dates_day_of(lua_State* L) {
  std::string_view s;
  if (!string_arg(L, 1, s)) return 0;
  const auto d = either_date(s);
  if (!d) return 0;
  lua_pushinteger(L, static_cast<lua_Integer>(domain::days_from_civil(*d)));
  return 1;
}

void push_dmy(lua_State* L, const domain::Date& d) {
  char text[16];
  const int n = std::snprintf(text, sizeof text, "%02d-%02d-%04d", d.day, d.month, d.year);
  lua_pushlstring(L, text, static_cast<std::size_t>(n > 0 ? n : 0));
}

// dates.dmy(s): a dd-mm-yyyy or yyyy-mm-dd date that exists, spelt dd-mm-yyyy; else nil.
int dates_dmy(lua_State* L) {
  std::string_view s;
  if (!string_arg(L, 1, s)) return 0;
  if (domain::parse_date_dmy(s)) {
    lua_settop(L, 1);
    return 1;
  }
  const auto d = domain::parse_date_iso(s);
  if (!d) return 0;
  push_dmy(L, *d);
  return 1;
}

// dates.format_dmy(days) -> "dd-mm-yyyy"; dates.hhmm(minutes) -> "HH:MM" of minutes mod 1440.
int dates_format_dmy(lua_State* L) {
  push_dmy(L, domain::civil_from_days(luaL_checkinteger(L, 1)));
  return 1;
}

int dates_hhmm(lua_State* L) {
  lua_Integer m = luaL_checkinteger(L, 1) % 1440;
  if (m < 0) m += 1440;
  char text[8];
  std::snprintf(text, sizeof text, "%02d:%02d", static_cast<int>(m / 60), static_cast<int>(m % 60));
  lua_pushlstring(L, text, 5);
  return 1;
}

// dates.gb_offset(days): minutes GB clocks are ahead of UTC that day (0 or 60); nil on the two
// clock-change days.
int dates_gb_offset(lua_State* L) {
  const auto offset = domain::gb_clock_offset(luaL_checkinteger(L, 1));
  if (!offset) return 0;
  lua_pushinteger(L, *offset);
  return 1;
}

// ---------------------------------------------------------------------------------------------
// flowguard.mpan

// mpan.number(v): an integer, or a float with an integral value, as an integer; else nil.
int mpan_number(lua_State* L) {
  if (lua_type(L, 1) != LUA_TNUMBER) return 0;
  lua_Integer n = 0;
  if (!lua_isinteger(L, 1)) {
    const lua_Number f = lua_tonumber(L, 1);
    if (!lua_numbertointeger(f, &n) || static_cast<lua_Number>(n) != f) return 0;
    lua_pushinteger(L, n);
    return 1;
  }
  lua_settop(L, 1);
  return 1;
}

// mpan.digits(v): a whole number of 13 digits as its text (an MPAN core as SSI writes it); else nil.
int mpan_digits(lua_State* L) {
  if (mpan_number(L) == 0) return 0;
  const lua_Integer n = lua_tointeger(L, -1);
  if (n < 1000000000000 || n > 9999999999999) return 0;
  lua_pushfstring(L, "%I", n);
  return 1;
}

// ---------------------------------------------------------------------------------------------
// flowguard.dip

// dip.get(v, key): the member of object view v named key exactly, else ignoring ASCII case (as the
// DIP matches keys), and the key as spelled; nothing when v is not an object view or lacks it.
int dip_get(lua_State* L) {
  const json::Value* v = view_value(L, 1);
  std::string_view key;
  if (v == nullptr || !v->is_object() || !string_arg(L, 2, key)) return 0;
  const json::Member* m = v->find_member_ignoring_case(key);
  if (m == nullptr) return 0;
  push_view_child(L, 1, &m->value);
  lua_pushlstring(L, m->key.data(), m->key.size());
  return 2;
}

// dip.dig(v, k1, k2, ...): view:dig when v is a view, else nothing.
int dip_dig(lua_State* L) {
  const json::Value* v = view_value(L, 1);
  if (v == nullptr) return 0;
  return view_dig(L);
}

// The fields of a message the shared walk finds (DipMessage::loose/exact), by block and key.
struct DipField {
  const char* name;   // as rules ask for it (m.reference)
  const char* block;  // CommonBlock.<block>
  const char* key;
};
constexpr std::array<DipField, DipMessage::kFields> kDipFields = {{
    {"interface", "S0", "interfaceID"},
    {"event_code", "S0", "eventCode"},
    {"reference", "S1", "senderUniqueReference"},
    {"correlation", "S1", "senderCorrelationID"},
    {"timestamp", "S1", "senderTimestamp"},
    {"sender", "S1", "senderDIPID"},
    {"sender_role", "S1", "senderRoleID"},
    {"dcp", "S1", "DIPConnectionProviderID"},
    {"transaction", "D0", "transactionID"},
    {"transaction_timestamp", "D0", "transactionTimestamp"},
    {"initial_correlation", "D0", "initialCorrelationID"},
    {"response_code", "R0", "responseCode"},
    {"primary", "A0", "primaryRecipients"},
    {"secondary", "A0", "secondaryRecipients"},
}};
constexpr std::size_t kTimestamp = 4, kTransactionTimestamp = 9, kPrimary = 12, kSecondary = 13;

// One pass over `object` for up to 8 keys: each key's member spelled exactly (`exact`) and as the
// DIP matches it (`loose`: exactly, else the first equal ignoring ASCII case), as find() and
// find_member_ignoring_case() would give them.
void scan_members(const json::Value* object, const std::string_view* keys, std::size_t n, const json::Value** exact,
                  const json::Value** loose) noexcept {
  const json::Value* folded[8] = {};
  for (std::size_t k = 0; k < n; ++k) exact[k] = loose[k] = nullptr;
  if (object == nullptr || !object->is_object()) return;
  for (const json::Member& m : object->members()) {
    if (m.key.empty()) continue;  // (no key looked for is empty)
    const char first = ascii_lower(m.key[0]);
    for (std::size_t k = 0; k < n; ++k) {
      // Length and first letter before the compare: keys of one block rarely share both.
      if (m.key.size() != keys[k].size() || first != ascii_lower(keys[k][0])) continue;
      if (exact[k] == nullptr && m.key == keys[k]) exact[k] = &m.value;
      else if (folded[k] == nullptr && ascii_iequal(m.key, keys[k])) folded[k] = &m.value;
    }
  }
  for (std::size_t k = 0; k < n; ++k) loose[k] = exact[k] != nullptr ? exact[k] : folded[k];
}

// kDipFields by block: the fields each of S0 S1 D0 R0 A0 holds, in kDipFields order.
struct BlockFields {
  std::string_view keys[8];
  std::size_t slots[8];
  std::size_t n = 0;
};
constexpr std::string_view kBlocks[5] = {"S0", "S1", "D0", "R0", "A0"};
constexpr std::array<BlockFields, 5> kBlockFields = [] {
  std::array<BlockFields, 5> out{};
  for (std::size_t b = 0; b < 5; ++b)
    for (std::size_t f = 0; f < kDipFields.size(); ++f)
      if (kBlocks[b] == std::string_view(kDipFields[f].block)) {
        out[b].slots[out[b].n] = f;
        out[b].keys[out[b].n++] = kDipFields[f].key;
      }
  return out;
}();

// scan_members, remembered by the object's key shape for call site `site` (< 8): objects of one
// shape have the same keys in the same order, so the same members answer (h->dip_scans).
void scan_cached(HostState* h, unsigned site, const json::Value* object, const std::string_view* keys, std::size_t n,
                 const json::Value** exact, const json::Value** loose) noexcept {
  const std::uint32_t shape = object != nullptr && object->is_object() ? object->key_shape() : 0;
  if (shape == 0 || shape >= (0xFFFFFFFFu >> 3) || object->members().size() >= 255) {
    scan_members(object, keys, n, exact, loose);
    return;
  }
  const std::uint32_t key = shape * 8 + site + 1;
  auto& table = h->dip_scans;
  try {
    if ((h->dip_scan_count + 1) * 2 > table.size()) {  // grow (and rehash) at half full
      std::vector<HostState::ScanSlot> bigger(std::max<std::size_t>(table.size() * 2, 1024));
      for (const auto& slot : table) {
        if (slot.key == 0) continue;
        std::size_t i = (slot.key * 0x9E3779B1u) & (bigger.size() - 1);
        while (bigger[i].key != 0) i = (i + 1) & (bigger.size() - 1);
        bigger[i] = slot;
      }
      table.swap(bigger);
    }
  } catch (...) {
    scan_members(object, keys, n, exact, loose);
    return;
  }
  std::size_t i = (key * 0x9E3779B1u) & (table.size() - 1);
  while (table[i].key != 0 && table[i].key != key) i = (i + 1) & (table.size() - 1);
  const json::Member* members = object->members().data();
  HostState::ScanSlot& slot = table[i];
  if (slot.key == 0) {
    scan_members(object, keys, n, exact, loose);
    slot.key = key;
    for (std::size_t k = 0; k < n; ++k) {
      // Positions from the values' addresses: members are contiguous.
      auto position = [&](const json::Value* v) -> std::uint8_t {
        if (v == nullptr) return 0;
        for (std::size_t j = 0; j < object->members().size(); ++j)
          if (&members[j].value == v) return static_cast<std::uint8_t>(j + 1);
        return 0;
      };
      slot.exact[k] = position(exact[k]);
      slot.loose[k] = position(loose[k]);
    }
    ++h->dip_scan_count;
    return;
  }
  for (std::size_t k = 0; k < n; ++k) {
    exact[k] = slot.exact[k] ? &members[slot.exact[k] - 1].value : nullptr;
    loose[k] = slot.loose[k] ? &members[slot.loose[k] - 1].value : nullptr;
  }
}

void read_message(HostState* h, const json::Value& record, DipMessage& m) {
  constexpr std::string_view kCommon[1] = {"CommonBlock"};
  const json::Value* cb[2];  // exact, loose
  scan_cached(h, 0, &record, kCommon, 1, &cb[0], &cb[1]);
  const json::Value* blocks[2][5];  // [exact, loose][block]
  const json::Value* spare[5];
  scan_cached(h, 1, cb[0], kBlocks, 5, blocks[0], blocks[1]);
  if (cb[1] != cb[0]) scan_cached(h, 1, cb[1], kBlocks, 5, spare, blocks[1]);
  for (std::size_t b = 0; b < 5; ++b) {
    const BlockFields& bf = kBlockFields[b];
    const json::Value* ex[8];
    const json::Value* lo[8];
    const json::Value* skip[8];
    const unsigned site = 2 + static_cast<unsigned>(b);
    scan_cached(h, site, blocks[0][b], bf.keys, bf.n, ex, lo);
    if (blocks[1][b] != blocks[0][b]) scan_cached(h, site, blocks[1][b], bf.keys, bf.n, skip, lo);
    for (std::size_t k = 0; k < bf.n; ++k) m.exact[bf.slots[k]] = ex[k], m.loose[bf.slots[k]] = lo[k];
  }
  m.exact_message = blocks[0][0] != nullptr && blocks[0][1] != nullptr;
  m.loose_message = blocks[1][0] != nullptr && blocks[1][1] != nullptr;
}

bool build_memo(HostState* h) noexcept {
  try {
    DipMemo& memo = h->dip;
    memo.messages.assign(h->records.size(), DipMessage{});
    memo.key_hits.assign(h->records.size(), 0);
    memo.times.assign(h->records.size(), DipMemo::Times{});
    if (h->dip_shape_count != 0) std::fill(h->dip_shapes.begin(), h->dip_shapes.end(), HostState::ShapeSlot{});
    if (h->dip_scan_count != 0) std::fill(h->dip_scans.begin(), h->dip_scans.end(), HostState::ScanSlot{});
    h->dip_scan_count = 0;
    h->dip_shape_count = 0;
    h->dip_shape_masks.clear();
    for (std::size_t i = 0; i < h->records.size(); ++i)
      if (h->records[i]->is_object()) read_message(h, *h->records[i], memo.messages[i]);
    memo.token = h->document_token;
    memo.list = h->records.data();
    memo.count = h->records.size();
    memo.root = h->root;
    return true;
  } catch (...) {
    h->dip = DipMemo{};
    return false;
  }
}

// The memo of this document, built on first use; raises outside a document check.
DipMemo& memo_of(lua_State* L, HostState* h) {
  if (!h->in_call || h->record_mode) luaL_error(L, "flowguard.dip: messages are walked in document checks");
  DipMemo& memo = h->dip;
  if (memo.token != h->document_token || memo.list != h->records.data() || memo.count != h->records.size() ||
      memo.root != h->root) {
    if (!build_memo(h)) luaL_error(L, "flowguard.dip: out of memory walking the messages");
  }
  return memo;
}

// A message object: which record, in which call (stale after it), read as the DIP does or exactly.
struct MessageRef {
  std::uint32_t index;  // 0-based record
  std::uint32_t generation;
  bool exact;
};

bool pointer_into(HostState* h, DipMessage& m, std::size_t i) noexcept {
  if (m.pointer_known) return true;
  if (!record_pointer_of(h, i, m.pointer)) return false;
  m.pointer_known = true;
  return true;
}

void push_string_field(lua_State* L, const json::Value* v) {
  if (v != nullptr && v->is_string()) {
    const std::string_view s = v->as_string();
    lua_pushlstring(L, s.data(), s.size());
  } else {
    lua_pushnil(L);
  }
}

void push_time(lua_State* L, const json::Value* v) {
  if (v != nullptr && v->is_string()) {
    const Instant r = parse_instant(v->as_string(), Profile::kDip);
    if (r.real) {
      lua_pushinteger(L, static_cast<lua_Integer>(r.seconds));
      return;
    }
  }
  lua_pushnil(L);
}

// A list of a recipients array's items: the string, or false for an item that is not one.
void push_list(lua_State* L, const json::Value* v) {
  if (v == nullptr || !v->is_array()) {
    lua_createtable(L, 0, 0);
    return;
  }
  const auto items = v->items();
  lua_createtable(L, static_cast<int>(items.size()), 0);
  lua_Integer k = 0;
  for (const json::Value& item : items) {
    if (item.is_string()) {
      const std::string_view s = item.as_string();
      lua_pushlstring(L, s.data(), s.size());
    } else {
      lua_pushboolean(L, 0);
    }
    lua_rawseti(L, -2, ++k);
  }
}

int message_index(lua_State* L) {
  auto* ref = static_cast<MessageRef*>(lua_touserdata(L, 1));
  HostState* h = host(L);
  if (ref->generation != h->generation || !h->in_call) return luaL_error(L, "flowguard.dip message used outside its rule call");
  DipMemo& memo = memo_of(L, h);
  if (ref->index >= memo.messages.size()) return 0;
  DipMessage& m = memo.messages[ref->index];
  std::string_view key;
  if (!string_arg(L, 2, key)) return 0;
  const json::Value* const* fields = ref->exact ? m.exact : m.loose;
  if (key == "index") {
    lua_pushinteger(L, static_cast<lua_Integer>(ref->index + 1));
  } else if (key == "pointer") {
    if (!pointer_into(h, m, ref->index)) return 0;
    lua_pushlstring(L, m.pointer.data(), m.pointer.size());
  } else if (key == "record") {
    push_record_view(L, h->records[ref->index], ref->index);
  } else if (key == "is_message") {
    lua_pushboolean(L, ref->exact ? m.exact_message : m.loose_message);
  } else if (key == "time") {
    push_time(L, fields[kTimestamp]);
  } else if (key == "transaction_time") {
    push_time(L, fields[kTransactionTimestamp]);
  } else if (key == "primary") {
    push_list(L, fields[kPrimary]);
  } else if (key == "secondary") {
    push_list(L, fields[kSecondary]);
  } else {
    for (std::size_t f = 0; f < kDipFields.size(); ++f) {
      if (key == kDipFields[f].name) {
        push_string_field(L, fields[f]);
        return 1;
      }
    }
    return luaL_error(L, "flowguard.dip message has no field '%s'", lua_tostring(L, 2));
  }
  return 1;
}

// dip.filter(kind [, keys]): the messages a rule needs to see, decided natively (rule-api.md). Each
// kind names the one condition under which its rule can report anything, and passes every message
// where it might: the rule still decides, so what it reports is unchanged, but the many messages
// where it cannot report cost no Lua. Superset, never subset: a filter that is unsure passes.
enum class FilterKind : std::uint8_t {
  kReferenceDate,   // senderUniqueReference's yyyymmdd (the segment before the last) is 8 digits, not a date
  kCorrelationId,   // a non-empty senderCorrelationID not of CI-[<w>-]yyyymmdd-<w> with a real date
  kTransactionId,   // a transactionID of at most 65 bytes not of the published form with the message's interface
  kTimestamp,       // senderTimestamp or transactionTimestamp of 25 bytes that is no real DT-003 instant
  kTimestampAfter,  // either time later than the bound dip.each is given
  kKeys,            // a member of the key set (any depth, as view:find_keys) whose value fails the set's test
  kPolicyDcp,       // a DIP message with DIPConnectionProviderID, senderDIPID and a real senderTimestamp
  kPolicyPairing,   // a DIP message of IF-061 onwards with senderDIPID and a real senderTimestamp
  kPolicyRouting,   // a DIP message with a real senderTimestamp and secondary recipients
  // With the registry (dip.each's fourth argument, fg.data.registry):
  kPolicySenderRole,      // senderRoleID not an ingress role of the channel, or not the sender's registered role
  kPolicyRecipientRole,   // a primary recipient whose registered role is not an egress role of the channel
  kPolicySenderDipid,     // a sender DIP ID not effective at the senderTimestamp (or unknown to a complete registry)
  kPolicyRecipientDipid,  // the same for a primary recipient
};
bool needs_registry(FilterKind k) noexcept { return k >= FilterKind::kPolicySenderRole; }
enum class KeyTest : std::uint8_t {
  kNotDigits,  // a string of 10 bytes that is not all digits (DT-006 DIP ID)
  kBadMpan,    // a string of 13 digits whose check digit is wrong (DT-002 MPAN core)
};
constexpr std::size_t kMaxFilters = 256;
constexpr const char* kFilterMeta = "flowguard.dip filter";

bool all_of(std::string_view s, bool (*pred)(char)) noexcept {
  if (s.empty()) return false;
  for (const char c : s)
    if (!pred(c)) return false;
  return true;
}
bool upper(char c) noexcept { return c >= 'A' && c <= 'Z'; }
bool digit(char c) noexcept { return c >= '0' && c <= '9'; }
bool alnum(char c) noexcept { return upper(c) || digit(c) || (c >= 'a' && c <= 'z'); }

// Splits s at every '-' into at most N parts; false when there are more.
template <std::size_t N>
bool split_dashes(std::string_view s, std::array<std::string_view, N>& parts, std::size_t& n) noexcept {
  n = 0;
  std::size_t at = 0;
  while (true) {
    if (n == N) return false;
    const std::size_t dash = s.find('-', at);
    parts[n++] = s.substr(at, dash == std::string_view::npos ? std::string_view::npos : dash - at);
    if (dash == std::string_view::npos) return true;
    at = dash + 1;
  }
}

const json::Value* string_field(const json::Value* v) noexcept { return v != nullptr && v->is_string() ? v : nullptr; }

bool reference_date_suspect(const json::Value* v) noexcept {
  if (!string_field(v)) return false;
  // The rule's pattern ends -(yyyymmdd)-%w+$: the date is the segment before the last, whatever
  // comes first; no date there, no match, no finding.
  const std::string_view s = v->as_string();
  const std::size_t last = s.rfind('-');
  if (last == std::string_view::npos || last == 0) return false;
  const std::size_t before = s.rfind('-', last - 1);
  if (before == std::string_view::npos) return false;
  const std::string_view ymd = s.substr(before + 1, last - before - 1);
  return ymd.size() == 8 && all_of(ymd, digit) && !real_ymd(ymd);
}

bool correlation_suspect(const json::Value* v) noexcept {
  if (!string_field(v) || v->as_string().empty()) return false;
  const std::string_view s = v->as_string();
  if (!s.starts_with("CI-")) return true;
  std::array<std::string_view, 3> p;
  std::size_t n = 0;
  if (!split_dashes(s.substr(3), p, n) || n < 2) return true;
  for (std::size_t i = 0; i < n; ++i)
    if (!all_of(p[i], alnum)) return true;
  const std::string_view ymd = n == 2 ? p[0] : p[1];  // CI-yyyymmdd-<w> or CI-<w>-yyyymmdd-<w>
  return !(ymd.size() == 8 && all_of(ymd, digit) && real_ymd(ymd));
}

bool transaction_suspect(const json::Value* v, const json::Value* interface) noexcept {
  if (!string_field(v) || v->as_string().size() > 65) return false;
  const std::string_view s = v->as_string();
  if (!s.starts_with("T-")) return true;
  std::array<std::string_view, 6> p;  // IF, 019, DIP ID, role, yyyymmdd, reference
  std::size_t n = 0;
  if (!split_dashes(s.substr(2), p, n) || n != 6) return true;
  std::string_view number = p[1];
  if (!number.empty() && upper(number.back())) number.remove_suffix(1);
  if (!(p[0] == "IF" || p[0] == "REP") || !all_of(number, digit) || p[2].size() != 10 || !all_of(p[2], digit) ||
      p[3].size() < 3 || p[3].size() > 5 || !all_of(p[3], upper) || p[4].size() != 8 || !all_of(p[4], digit) ||
      !real_ymd(p[4]) || !all_of(p[5], alnum))
    return true;
  if (!string_field(interface)) return false;
  // The interface as named: the message's, or the message's without its letter suffix (REP-002A).
  const std::string_view named = s.substr(2, p[0].size() + 1 + p[1].size());
  std::string_view own = interface->as_string();
  if (own == named) return false;
  if (!own.empty() && upper(own.back())) own.remove_suffix(1);
  return own != named;
}

// real_time of a message's senderTimestamp (which 0) or transactionTimestamp (1), read once per
// message and way of matching keys.
bool message_time(DipMemo& memo, std::size_t i, bool exact, int which, const json::Value* v, std::int64_t& seconds) noexcept;

bool real_time(const json::Value* v, std::int64_t& seconds) noexcept {
  if (!string_field(v)) return false;
  const Instant r = parse_instant(v->as_string(), Profile::kDip);
  seconds = r.seconds;
  return r.real;
}

bool message_time(DipMemo& memo, std::size_t i, bool, int which, const json::Value* v, std::int64_t& seconds) noexcept {
  if (v == nullptr) return false;
  DipMemo::Times& t = memo.times[i];
  if (t.value[which] != v) {
    t.value[which] = v;
    t.real[which] = real_time(v, t.seconds[which]);
  }
  seconds = t.seconds[which];
  return t.real[which];
}


bool key_value_fails(const json::Value& v, KeyTest test) noexcept {
  if (!v.is_string()) return false;
  const std::string_view s = v.as_string();
  if (test == KeyTest::kNotDigits) return s.size() == 10 && !all_of(s, digit);
  return s.size() == 13 && all_of(s, digit) && !domain::is_mpan_core(s);
}

// The sets whose keys equal `key` ignoring ASCII case (0: none).
std::uint32_t key_sets_of(const HostState* h, std::string_view key) noexcept {
  // No set holds a key this long (DipKeySet::always otherwise), nor one of a length none has.
  if (key.size() >= 64 || (h->dip_key_lengths >> key.size() & 1) == 0) return 0;
  char small[64];
  for (std::size_t k = 0; k < key.size(); ++k) small[k] = ascii_lower(key[k]);
  const std::uint32_t at = h->dip_all_index.find(std::string_view(small, key.size()));
  return at == KeyIndex::kNotFound ? 0 : h->dip_all_masks[at];
}

// Where the set masks of `object`'s members start in h->dip_shape_masks (looked up once per key
// shape of the document), or -1 when they are not kept (no shape, or out of memory).
std::ptrdiff_t shape_masks(HostState* h, const json::Value& object) noexcept {
  const std::uint32_t shape = object.key_shape();
  if (shape == 0) return -1;
  try {
    auto& table = h->dip_shapes;
    if ((h->dip_shape_count + 1) * 2 > table.size()) {  // grow (and rehash) at half full
      std::vector<HostState::ShapeSlot> bigger(std::max<std::size_t>(table.size() * 2, 1024));
      for (const auto& slot : table) {
        if (slot.shape == 0) continue;
        std::size_t i = (slot.shape * 0x9E3779B1u) & (bigger.size() - 1);
        while (bigger[i].shape != 0) i = (i + 1) & (bigger.size() - 1);
        bigger[i] = slot;
      }
      table.swap(bigger);
    }
    std::size_t i = (shape * 0x9E3779B1u) & (table.size() - 1);
    while (table[i].shape != 0 && table[i].shape != shape) i = (i + 1) & (table.size() - 1);
    if (table[i].shape == shape) return static_cast<std::ptrdiff_t>(table[i].start);
    const std::size_t base = h->dip_shape_masks.size();
    if (base + object.members().size() >= 0xFFFFFFFFu) return -1;
    for (const json::Member& m : object.members()) h->dip_shape_masks.push_back(key_sets_of(h, m.key));
    table[i] = {shape, static_cast<std::uint32_t>(base)};
    ++h->dip_shape_count;
    return static_cast<std::ptrdiff_t>(base);
  } catch (...) {
    return -1;
  }
}

// One walk of a message for every key set (view:find_keys' order and depth): bit k when set k has a
// hit that fails its test. A member's key is lowercased and looked up once for all sets, and once
// per key shape of the document.
void walk_key_sets(HostState* h, const json::Value& value, int depth, std::uint32_t& hits) noexcept {
  if (depth > 32) return;
  if (value.is_array()) {
    for (const json::Value& item : value.items()) walk_key_sets(h, item, depth + 1, hits);
    return;
  }
  if (!value.is_object()) return;
  const std::ptrdiff_t masks = shape_masks(h, value);  // an offset: walking below may grow the vector
  std::size_t position = 0;
  for (const json::Member& m : value.members()) {
    const std::uint32_t searched =  // the sets in which this member is a hit: not searched below it
        masks >= 0 ? h->dip_shape_masks[static_cast<std::size_t>(masks) + position] : key_sets_of(h, m.key);
    ++position;
    const bool container = m.value.is_object() || m.value.is_array();
    for (std::uint32_t rest = searched; rest != 0; rest &= rest - 1) {
      const int k = __builtin_ctz(rest);
      const auto test = static_cast<KeyTest>(h->dip_key_sets[static_cast<std::size_t>(k)]->test);
      bool fails = false;
      if (m.value.is_array() && m.value.size() > 0) {
        for (const json::Value& item : m.value.items()) fails = fails || key_value_fails(item, test);
      } else {
        fails = key_value_fails(m.value, test);
      }
      if (fails) hits |= 1u << k;
    }
    if (!container) continue;
    if (searched == 0) {
      walk_key_sets(h, m.value, depth + 1, hits);
    } else {
      // A hit of some sets only: the others search below it.
      const std::uint32_t all = static_cast<std::uint32_t>((std::uint64_t{1} << h->dip_key_sets.size()) - 1);
      if (searched == all) continue;
      std::uint32_t below = 0;
      walk_key_sets(h, m.value, depth + 1, below);
      hits |= below & ~searched;
    }
  }
}

using Registry = HostState::DipRegistry;

// Indexes the registry `root` (in data slot `slot`, at `epoch`) unless it is the one indexed already.
bool index_registry(HostState* h, std::uint32_t slot, std::uint32_t epoch, const json::Value* root) noexcept {
  Registry& r = h->dip_registry;
  if (r.slot == slot && r.epoch == epoch && r.root == root) return true;
  try {
    r = Registry{};
    if (root->is_object()) {
      const json::Value* p = root->find("participants");
      const json::Value* c = root->find("channels");
      const json::Value* complete = root->find("complete");
      r.participants = p != nullptr && p->is_object() ? p : nullptr;
      r.channels = c != nullptr && c->is_object() ? c : nullptr;
      r.complete = complete != nullptr && complete->is_bool() && complete->as_bool();
    }
    auto index_of = [](const json::Value& object) {
      std::vector<std::string_view> keys;
      keys.reserve(object.members().size());
      for (const json::Member& m : object.members()) keys.push_back(m.key);
      return KeyIndex(keys);
    };
    if (r.participants != nullptr) r.participant_keys = index_of(*r.participants);
    if (r.channels != nullptr) r.channel_keys = index_of(*r.channels);
    r.slot = slot, r.epoch = epoch, r.root = root;
    return true;
  } catch (...) {
    h->dip_registry = Registry{};
    return false;
  }
}

// A key the view would answer with a method (view:keys, :get, ...) rather than a member: the filter
// does not judge it.
bool method_like(std::string_view key) noexcept {
  for (const char c : key)
    if (!((c >= 'a' && c <= 'z') || c == '_')) return false;
  return true;
}

// get(get(reg, "participants"), id) of the rules, or nullptr.
const json::Value* participant(const Registry& r, std::string_view id) noexcept {
  if (r.participants == nullptr) return nullptr;
  const std::uint32_t at = r.participant_keys.find(id);
  return at == KeyIndex::kNotFound ? nullptr : &r.participants->members()[at].value;
}

// Effective at t for certain: numeric from/to with from <= t < to, a second clear of each end (the
// rule compares in Lua's arithmetic).
bool surely_active(const json::Value& p, std::int64_t t) noexcept {
  if (!p.is_object()) return false;
  const json::Value* from = p.find("from");
  const json::Value* to = p.find("to");
  if (from == nullptr || to == nullptr || !from->is_number() || !to->is_number()) return false;
  const double tt = static_cast<double>(t);
  return from->as_double() + 1 <= tt && tt + 1 < to->as_double();
}

// The rules' effective(reg, id, t) reports (an unknown id in a complete registry, or one not
// effective at t) or might.
bool may_not_be_effective(const Registry& r, std::string_view id, std::int64_t t) noexcept {
  if (method_like(id)) return true;
  const json::Value* p = participant(r, id);
  if (p == nullptr) return r.complete;
  return !surely_active(*p, t);
}

// An array of strings (as the rules' contains() reads it) holding `s`; nullopt when the value is no
// array, or is one with other items (the rule decides).
enum class Holds : std::uint8_t { kYes, kNo, kUnsure };
Holds list_holds(const json::Value& list, std::string_view s) noexcept {
  if (!list.is_array()) return Holds::kUnsure;
  for (const json::Value& item : list.items()) {
    if (!item.is_string()) return Holds::kUnsure;
    if (item.as_string() == s) return Holds::kYes;
  }
  return Holds::kNo;
}

// The registered role of participant `id` is not the string `role` (nor known to be it).
bool role_differs(const Registry& r, std::string_view id, std::string_view role) noexcept {
  if (method_like(id)) return true;
  const json::Value* p = participant(r, id);
  if (p == nullptr) return false;
  if (!p->is_object()) return true;
  const json::Value* registered = p->find("dip_role");
  if (registered == nullptr) return false;
  return !(registered->is_string() && registered->as_string() == role);
}

// The channel of `interface`: nullptr when the rules find none (no channel: nothing judged), `unsure`
// when it is no object.
const json::Value* channel_of(const Registry& r, std::string_view interface, bool& unsure) noexcept {
  unsure = false;
  if (r.channels == nullptr) return nullptr;
  if (method_like(interface)) return unsure = true, nullptr;
  const std::uint32_t at = r.channel_keys.find(interface);
  const json::Value* c = at == KeyIndex::kNotFound ? nullptr : &r.channels->members()[at].value;
  if (c != nullptr && !c->is_object()) unsure = true;
  return c != nullptr && c->is_object() ? c : nullptr;
}

// Whether the channel's roles are judged at all (roles_unknown is not true), and its role list `key`.
const json::Value* channel_roles(const json::Value& channel, const char* key) noexcept {
  const json::Value* unknown = channel.find("roles_unknown");
  if (unknown != nullptr && unknown->is_bool() && unknown->as_bool()) return nullptr;
  return channel.find(key);
}

bool sender_role_suspect(const Registry& r, const json::Value* const* fields) noexcept {
  if (!string_field(fields[6]) || !string_field(fields[0])) return false;
  const std::string_view role = fields[6]->as_string();
  bool unsure = false;
  const json::Value* channel = channel_of(r, fields[0]->as_string(), unsure);
  if (unsure) return true;
  if (channel != nullptr) {
    if (const json::Value* ingress = channel_roles(*channel, "ingress")) {
      if (!ingress->is_array()) return true;
      if (ingress->size() > 0 && list_holds(*ingress, role) != Holds::kYes) return true;
    }
  }
  return string_field(fields[5]) && role_differs(r, fields[5]->as_string(), role);
}

bool recipient_role_suspect(const Registry& r, const json::Value* const* fields) noexcept {
  if (!string_field(fields[0])) return false;
  bool unsure = false;
  const json::Value* channel = channel_of(r, fields[0]->as_string(), unsure);
  if (unsure) return true;
  if (channel == nullptr) return false;
  const json::Value* egress = channel_roles(*channel, "egress");
  if (egress == nullptr) return false;
  if (!egress->is_array()) return true;
  if (egress->size() == 0) return false;
  const json::Value* primary = fields[kPrimary];
  if (primary == nullptr || !primary->is_array()) return false;
  for (const json::Value& id : primary->items()) {
    // A non-string item is `false` in m.primary, and the rule's `role = p and ...` then reports it.
    if (!id.is_string() || method_like(id.as_string())) return true;
    const json::Value* p = participant(r, id.as_string());
    if (p == nullptr) continue;
    if (!p->is_object()) return true;
    const json::Value* role = p->find("dip_role");
    if (role == nullptr) continue;
    if (!role->is_string() || list_holds(*egress, role->as_string()) != Holds::kYes) return true;
  }
  return false;
}

// Whether message i may give filter f's rule a finding. `bound`: kTimestampAfter's bound.
bool filter_passes(HostState* h, DipMemo& memo, std::size_t i, bool exact, const DipFilter& f, double bound,
                   const Registry* reg) noexcept {
  const DipMessage& m = memo.messages[i];
  const json::Value* const* fields = exact ? m.exact : m.loose;
  std::int64_t t = 0;
  switch (static_cast<FilterKind>(f.kind)) {
    case FilterKind::kReferenceDate: return reference_date_suspect(fields[2]);
    case FilterKind::kCorrelationId: return correlation_suspect(fields[3]);
    case FilterKind::kTransactionId: return transaction_suspect(fields[8], fields[0]);
    case FilterKind::kTimestamp:
      // A 25-byte time that is no real instant.
      return (string_field(fields[kTimestamp]) && fields[kTimestamp]->as_string().size() == 25 &&
              !message_time(memo, i, exact, 0, fields[kTimestamp], t)) ||
             (string_field(fields[kTransactionTimestamp]) && fields[kTransactionTimestamp]->as_string().size() == 25 &&
              !message_time(memo, i, exact, 1, fields[kTransactionTimestamp], t));
    case FilterKind::kTimestampAfter:
      // (one second of slack: the rule compares in Lua's arithmetic, this in a double)
      return (message_time(memo, i, exact, 0, fields[kTimestamp], t) && static_cast<double>(t) + 1 > bound) ||
             (message_time(memo, i, exact, 1, fields[kTransactionTimestamp], t) && static_cast<double>(t) + 1 > bound);
    case FilterKind::kKeys: {
      if (h->dip_key_sets[f.key_set]->always) return true;
      std::uint32_t& hits = memo.key_hits[i];
      if ((hits & DipMemo::kKeysWalked) == 0) {
        std::uint32_t found = 0;
        walk_key_sets(h, *h->records[i], 0, found);
        hits = found | DipMemo::kKeysWalked;
      }
      return (hits & (1u << f.key_set)) != 0;
    }
    case FilterKind::kPolicyDcp:
      return (exact ? m.exact_message : m.loose_message) && string_field(fields[7]) && string_field(fields[5]) &&
             message_time(memo, i, exact, 0, fields[kTimestamp], t);
    case FilterKind::kPolicyPairing: {
      if (!(exact ? m.exact_message : m.loose_message) || !string_field(fields[0]) || !string_field(fields[5]) ||
          !message_time(memo, i, exact, 0, fields[kTimestamp], t))
        return false;
      const std::string_view s = fields[0]->as_string();
      if (s.size() != 6 || !s.starts_with("IF-") || !all_of(s.substr(3), digit)) return false;
      return (s[3] - '0') * 100 + (s[4] - '0') * 10 + (s[5] - '0') >= 61;
    }
    case FilterKind::kPolicyRouting:
      return (exact ? m.exact_message : m.loose_message) && message_time(memo, i, exact, 0, fields[kTimestamp], t) &&
             fields[kSecondary] != nullptr && fields[kSecondary]->is_array() && fields[kSecondary]->size() > 0;
    default: break;
  }
  // The registry's filters: every message when the registry was not given or could not be indexed.
  if (!(exact ? m.exact_message : m.loose_message)) return false;
  if (reg == nullptr) return true;
  switch (static_cast<FilterKind>(f.kind)) {
    case FilterKind::kPolicySenderRole: return sender_role_suspect(*reg, fields);
    case FilterKind::kPolicyRecipientRole: return recipient_role_suspect(*reg, fields);
    case FilterKind::kPolicySenderDipid:
      return string_field(fields[5]) && message_time(memo, i, exact, 0, fields[kTimestamp], t) &&
             may_not_be_effective(*reg, fields[5]->as_string(), t);
    case FilterKind::kPolicyRecipientDipid: {
      const json::Value* primary = fields[kPrimary];
      if (!message_time(memo, i, exact, 0, fields[kTimestamp], t) || primary == nullptr || !primary->is_array()) return false;
      for (const json::Value& id : primary->items())
        if (id.is_string() && may_not_be_effective(*reg, id.as_string(), t)) return true;
      return false;
    }
    default: break;
  }
  return true;
}

// The keys of the table at `idx` whose value is truthy, lowercased, into a new key set (noexcept
// part: the strings are read by the caller while no Lua error can strike).
bool add_key_set(HostState* h, std::vector<std::string> keys, KeyTest test, std::uint32_t& index) noexcept {
  try {
    if (h->dip_key_sets.size() >= 31) return false;  // a bit each in DipMemo::key_hits
    auto set = std::make_unique<DipKeySet>();
    set->keys = std::move(keys);
    for (auto& k : set->keys) {
      for (char& c : k) c = ascii_lower(c);
      // The walk lowercases keys of up to 63 bytes in place; a set with a longer one passes every message.
      if (k.size() >= 64) set->always = true;
    }
    set->test = static_cast<std::uint8_t>(test);
    index = static_cast<std::uint32_t>(h->dip_key_sets.size());
    // The combined index, rebuilt (sets are made at load, a few per host).
    std::vector<std::string> all = h->dip_all_keys;
    std::vector<std::uint32_t> masks = h->dip_all_masks;
    std::uint64_t lengths = h->dip_key_lengths;
    for (const std::string& k : set->keys) {
      std::size_t at = 0;
      while (at < all.size() && all[at] != k) ++at;
      if (at == all.size()) all.push_back(k), masks.push_back(0);
      masks[at] |= 1u << index;
      if (k.size() < 64) lengths |= std::uint64_t{1} << k.size();
    }
    // Built before anything is committed; it views the strings in `all`'s buffer, which moving the
    // vector keeps in place.
    const std::vector<std::string_view> all_views(all.begin(), all.end());
    KeyIndex all_index(all_views);
    h->dip_key_sets.reserve(h->dip_key_sets.size() + 1);
    h->dip_key_sets.push_back(std::move(set));
    h->dip_all_keys = std::move(all);
    h->dip_all_masks = std::move(masks);
    h->dip_all_index = std::move(all_index);
    h->dip_key_lengths = lengths;
    h->dip.token = 0;  // memos of key hits were made without this set
    return true;
  } catch (...) {
    return false;
  }
}

bool add_filter(HostState* h, DipFilter f, std::uint32_t& index) noexcept {
  try {
    if (h->dip_filters.size() >= kMaxFilters) return false;
    index = static_cast<std::uint32_t>(h->dip_filters.size());
    h->dip_filters.push_back(f);
    return true;
  } catch (...) {
    return false;
  }
}

// Collects a key table's truthy string keys.
bool collect_keys(lua_State* L, int idx, std::vector<std::string>& out) noexcept {
  try {
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
      if (lua_type(L, -2) == LUA_TSTRING && lua_toboolean(L, -1)) {
        std::size_t len = 0;
        const char* key = lua_tolstring(L, -2, &len);
        out.emplace_back(key, len);
      }
      lua_pop(L, 1);
    }
    return true;
  } catch (...) {
    return false;
  }
}

int dip_filter(lua_State* L) {
  std::string_view kind;
  if (!string_arg(L, 1, kind)) return luaL_argerror(L, 1, "a filter name (rule-api.md, dip.filter)");
  struct Named {
    std::string_view name;
    FilterKind kind;
  };
  static constexpr Named kNames[] = {
      {"reference_date", FilterKind::kReferenceDate}, {"correlation_id", FilterKind::kCorrelationId},
      {"transaction_id", FilterKind::kTransactionId}, {"timestamp", FilterKind::kTimestamp},
      {"timestamp_after", FilterKind::kTimestampAfter}, {"dip_id_keys", FilterKind::kKeys},
      {"mpan_keys", FilterKind::kKeys},               {"policy_dcp", FilterKind::kPolicyDcp},
      {"policy_pairing", FilterKind::kPolicyPairing}, {"policy_routing", FilterKind::kPolicyRouting},
      {"policy_sender_role", FilterKind::kPolicySenderRole}, {"policy_recipient_role", FilterKind::kPolicyRecipientRole},
      {"policy_sender_dipid", FilterKind::kPolicySenderDipid},
      {"policy_recipient_dipid", FilterKind::kPolicyRecipientDipid},
  };
  const Named* named = nullptr;
  for (const Named& n : kNames)
    if (n.name == kind) named = &n;
  if (named == nullptr) return luaL_argerror(L, 1, "an unknown filter name (rule-api.md, dip.filter)");
  HostState* h = host(L);
  DipFilter f;
  f.kind = static_cast<std::uint8_t>(named->kind);
  if (named->kind == FilterKind::kKeys) {
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 2);
    // The strings are copied out before any Lua error could unwind this frame.
    static thread_local std::vector<std::string> keys;
    keys.clear();
    if (!collect_keys(L, 2, keys) ||
        !add_key_set(h, std::move(keys), kind == "dip_id_keys" ? KeyTest::kNotDigits : KeyTest::kBadMpan, f.key_set))
      return luaL_error(L, "flowguard.dip.filter: too many key sets, or out of memory");
  }
  std::uint32_t index = 0;
  if (!add_filter(h, f, index)) return luaL_error(L, "flowguard.dip.filter: more than %d filters", static_cast<int>(kMaxFilters));
  auto* ud = static_cast<std::uint32_t*>(lua_newuserdatauv(L, sizeof(std::uint32_t), 0));
  *ud = index;
  luaL_setmetatable(L, kFilterMeta);
  return 1;
}

// The iterator of dip.each: upvalue 1 the next record (0-based), 2 the mode (true: exact), 3 the
// call's generation, 4 the filter's index (-1: none), 5 its bound, 6 whether h->dip_registry is the
// registry its filter judges against.
int each_next(lua_State* L) {
  HostState* h = host(L);
  DipMemo& memo = memo_of(L, h);
  const auto generation = static_cast<std::uint32_t>(lua_tointeger(L, lua_upvalueindex(3)));
  if (generation != h->generation) return luaL_error(L, "flowguard.dip.each used outside its rule call");
  lua_Integer i = lua_tointeger(L, lua_upvalueindex(1));
  const bool exact = lua_toboolean(L, lua_upvalueindex(2)) != 0;
  const lua_Integer filter = lua_tointeger(L, lua_upvalueindex(4));
  const double bound = lua_tonumber(L, lua_upvalueindex(5));
  const DipFilter* f = filter >= 0 && static_cast<std::size_t>(filter) < h->dip_filters.size()
                           ? &h->dip_filters[static_cast<std::size_t>(filter)]
                           : nullptr;
  const Registry* reg = lua_toboolean(L, lua_upvalueindex(6)) ? &h->dip_registry : nullptr;
  for (; static_cast<std::size_t>(i) < memo.messages.size(); ++i) {
    const auto at = static_cast<std::size_t>(i);
    if (!h->records[at]->is_object()) continue;
    if (f != nullptr && !filter_passes(h, memo, at, exact, *f, bound, reg)) continue;
    // A record whose place is unknown is not walked (it cannot be reported on). The engine's word
    // always gives one: the pointer is built only when a rule asks for it.
    if (h->record_pointer == nullptr && !pointer_into(h, memo.messages[at], at)) continue;
    lua_pushinteger(L, i + 1);
    lua_replace(L, lua_upvalueindex(1));
    auto* ref = static_cast<MessageRef*>(lua_newuserdatauv(L, sizeof(MessageRef), 0));
    ref->index = static_cast<std::uint32_t>(i);
    ref->generation = h->generation;
    ref->exact = exact;
    lua_rawgeti(L, LUA_REGISTRYINDEX, h->message_meta_ref);
    lua_setmetatable(L, -2);
    return 1;
  }
  lua_pushinteger(L, i);
  lua_replace(L, lua_upvalueindex(1));
  return 0;
}

// dip.each(records [, "exact" [, filter [, bound]]]): for m in dip.each(records) do ... end over the
// document's object records (messages) whose place is known, in order; with a dip.filter, only the
// messages it passes.
int dip_each(lua_State* L) {
  std::span<const json::Value* const> records;
  if (!records_of(L, 1, records)) return luaL_argerror(L, 1, "the records of a document check");
  std::string_view mode;
  bool exact = false;
  if (string_arg(L, 2, mode)) {
    if (mode != "exact" && mode != "dip") return luaL_argerror(L, 2, "\"dip\" (keys as the DIP matches them) or \"exact\"");
    exact = mode == "exact";
  }
  lua_Integer filter = -1;
  double bound = 0;
  bool with_registry = false;
  if (!lua_isnoneornil(L, 3)) {
    const auto* ud = static_cast<const std::uint32_t*>(luaL_testudata(L, 3, kFilterMeta));
    if (ud == nullptr) return luaL_argerror(L, 3, "a dip.filter");
    filter = static_cast<lua_Integer>(*ud);
    const auto kind = static_cast<FilterKind>(host(L)->dip_filters[*ud].kind);
    if (kind == FilterKind::kTimestampAfter) {
      if (lua_type(L, 4) != LUA_TNUMBER) return luaL_argerror(L, 4, "the bound of a timestamp_after filter (a number)");
      bound = lua_tonumber(L, 4);
    }
    // The registry's filters judge against the registry given (fg.data.registry), indexed once per
    // registry document; without one (or out of memory) they pass every message.
    std::uint32_t slot = 0, epoch = 0;
    const json::Value* root = nullptr;
    if (needs_registry(kind) && data_view_identity(L, 4, slot, epoch) && (root = view_value(L, 4)) != nullptr)
      with_registry = index_registry(host(L), slot, epoch, root);
  }
  HostState* h = host(L);
  memo_of(L, h);
  lua_pushinteger(L, 0);
  lua_pushboolean(L, exact);
  lua_pushinteger(L, static_cast<lua_Integer>(h->generation));
  lua_pushinteger(L, filter);
  lua_pushnumber(L, bound);
  lua_pushboolean(L, with_registry);
  lua_pushcclosure(L, each_next, 6);
  return 1;
}

// dip.reference_memory(): a memory of senderUniqueReferences for dip.reference_repeats, for the
// host's life (a rule file makes one at load: one `flowguard check` over many files remembers them all).
constexpr const char* kMemoryMeta = "flowguard.dip reference memory";

bool add_memory(HostState* h, std::uint32_t& index) noexcept {
  try {
    if (h->dip_memories.size() >= kMaxFilters) return false;
    index = static_cast<std::uint32_t>(h->dip_memories.size());
    h->dip_memories.push_back(std::make_unique<HostState::DipReferenceMemory>());
    return true;
  } catch (...) {
    return false;
  }
}

int dip_reference_memory(lua_State* L) {
  std::uint32_t index = 0;
  if (!add_memory(host(L), index)) return luaL_error(L, "flowguard.dip.reference_memory: too many, or out of memory");
  auto* ud = static_cast<std::uint32_t*>(lua_newuserdatauv(L, sizeof(std::uint32_t), 0));
  *ud = index;
  luaL_setmetatable(L, kMemoryMeta);
  return 1;
}

// The repeats of this document's senderUniqueReferences (read as the DIP matches keys), in message
// order, into h->dip_repeats; then the memory learns them. With the application's window
// (fg.state enabled) it is consulted and told instead, as DIP-SENDER-UNIQUE-REFERENCE-REPEATED
// did in Lua.
bool collect_repeats(HostState* h, DipMemo& memo, HostState::DipReferenceMemory& memory) noexcept {
  try {
    h->dip_repeats.clear();
    const bool window = h->in_call && h->call_state != nullptr;
    // This document's first use of each reference: open addressing over the records, reused.
    if (memo.messages.size() >= 0x7FFFFFFFu) return false;
    auto& slots = h->dip_reference_slots;
    std::size_t size = 16;
    while (size < memo.messages.size() * 2) size *= 2;
    slots.assign(size, 0);
    const HostState::TextHash hash;
    auto reference_of = [&](std::size_t r) { return memo.messages[r].loose[2]->as_string(); };
    std::vector<std::string_view> order;
    for (std::size_t i = 0; i < memo.messages.size(); ++i) {
      if (!h->records[i]->is_object()) continue;
      if (h->record_pointer == nullptr && !pointer_into(h, memo.messages[i], i)) continue;
      const json::Value* v = memo.messages[i].loose[2];
      if (v == nullptr || !v->is_string() || v->as_string().empty()) continue;
      const std::string_view reference = v->as_string();
      std::size_t slot = hash(reference) & (size - 1);
      while (slots[slot] != 0 && reference_of(slots[slot] - 1) != reference) slot = (slot + 1) & (size - 1);
      if (slots[slot] != 0) {
        HostState::DipRepeat& r = h->dip_repeats.emplace_back();
        r.index = i, r.first = slots[slot] - 1, r.in_document = true;
        continue;
      }
      slots[slot] = static_cast<std::uint32_t>(i + 1);
      if (window) {
        if (auto seen = h->call_state->reference_seen(reference)) {
          HostState::DipRepeat& r = h->dip_repeats.emplace_back();
          r.index = i, r.seen_in_window = true, r.seen = std::move(*seen);
        }
      } else if (const auto earlier = memory.earlier.find(reference); earlier != memory.earlier.end()) {
        HostState::DipRepeat& r = h->dip_repeats.emplace_back();
        r.index = i, r.document = earlier->second;
      }
      order.push_back(reference);
    }
    if (window) {
      for (const std::string_view reference : order) h->call_state->remember_reference(reference);
      return true;
    }
    ++memory.documents;
    for (const std::string_view reference : order) memory.earlier.try_emplace(std::string(reference), memory.documents);
    return true;
  } catch (...) {
    return false;
  }
}

// dip.reference_repeats(records, memory): { {index =, reference =, first_pointer = | seen = |
// document =}, ... } for the messages whose senderUniqueReference an earlier message of the
// document (first_pointer: its pointer), the window (seen: its description) or an earlier document
// of the run (document: its number, 1-based) used; rule-api.md.
int dip_reference_repeats(lua_State* L) {
  std::span<const json::Value* const> records;
  if (!records_of(L, 1, records)) return luaL_argerror(L, 1, "the records of a document check");
  const auto* ud = static_cast<const std::uint32_t*>(luaL_checkudata(L, 2, kMemoryMeta));
  HostState* h = host(L);
  DipMemo& memo = memo_of(L, h);
  if (*ud >= h->dip_memories.size() || !collect_repeats(h, memo, *h->dip_memories[*ud]))
    return luaL_error(L, "flowguard.dip.reference_repeats: out of memory");
  lua_createtable(L, static_cast<int>(h->dip_repeats.size()), 0);
  lua_Integer k = 0;
  for (const HostState::DipRepeat& r : h->dip_repeats) {
    lua_createtable(L, 0, 3);
    lua_pushinteger(L, static_cast<lua_Integer>(r.index + 1));
    lua_setfield(L, -2, "index");
    push_string_field(L, memo.messages[r.index].loose[2]);
    lua_setfield(L, -2, "reference");
    if (r.in_document) {
      if (!pointer_into(h, memo.messages[r.first], r.first)) return luaL_error(L, "flowguard.dip.reference_repeats: out of memory");
      const std::string& p = memo.messages[r.first].pointer;
      lua_pushlstring(L, p.data(), p.size());
      lua_setfield(L, -2, "first_pointer");
    } else if (r.seen_in_window) {
      lua_pushlstring(L, r.seen.data(), r.seen.size());
      lua_setfield(L, -2, "seen");
    } else {
      lua_pushinteger(L, static_cast<lua_Integer>(r.document));
      lua_setfield(L, -2, "document");
    }
    lua_rawseti(L, -2, ++k);
  }
  return 1;
}

// dip.message_count(records): how many messages dip.each walks (for rules that size a table).
int dip_message_count(lua_State* L) {
  std::span<const json::Value* const> records;
  if (!records_of(L, 1, records)) return luaL_argerror(L, 1, "the records of a document check");
  lua_Integer n = 0;
  for (const json::Value* r : records) n += r->is_object() ? 1 : 0;
  lua_pushinteger(L, n);
  return 1;
}

// ---------------------------------------------------------------------------------------------

struct Module {
  const char* name;
  const luaL_Reg* functions;
};

const luaL_Reg kUtil[] = {{"get", util_get},         {"str", util_str},       {"text", util_text},
                          {"num", util_num},         {"int", util_int},       {"is_view", util_is_view},
                          {"pointer", util_pointer}, {"escape", util_escape}, {"join", util_join},
                          {"contains", util_contains}, {"lower_set", util_lower_set}, {nullptr, nullptr}};
const luaL_Reg kDates[] = {{"utc_seconds", dates_utc_seconds},
                           {"real_ymd", dates_real_ymd},
                           {"days_from_civil", dates_days_from_civil},
                           {"civil_from_days", dates_civil_from_days},
                           {"day_of", dates_day_of},
                           {"dmy", dates_dmy},
                           {"format_dmy", dates_format_dmy},
                           {"hhmm", dates_hhmm},
                           {"gb_offset", dates_gb_offset},
                           {nullptr, nullptr}};
const luaL_Reg kMpan[] = {{"is_core", fg_is_mpan},
                          {"check_digit", fg_mpan_check_digit},
                          {"number", mpan_number},
                          {"digits", mpan_digits},
                          {nullptr, nullptr}};
const luaL_Reg kDip[] = {{"get", dip_get},   {"dig", dip_dig}, {"each", dip_each}, {"message_count", dip_message_count},
                         {"filter", dip_filter}, {"reference_memory", dip_reference_memory},
                         {"reference_repeats", dip_reference_repeats}, {nullptr, nullptr}};
constexpr Module kBuiltins[] = {
    {"flowguard.util", kUtil}, {"flowguard.dates", kDates}, {"flowguard.mpan", kMpan}, {"flowguard.dip", kDip}};

}  // namespace

void register_modules(lua_State* L) {
  lua_createtable(L, 0, 8);
  for (const Module& m : kBuiltins) {
    lua_newtable(L);
    luaL_setfuncs(L, m.functions, 0);
    lua_pushinteger(L, kApiVersion);
    lua_setfield(L, -2, "API");
    push_module_proxy(L, m.name);
    lua_setfield(L, -2, m.name);
  }
  lua_setfield(L, LUA_REGISTRYINDEX, kModules);

  lua_createtable(L, 0, 4);
  lua_pushcfunction(L, message_index);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, read_only);
  lua_setfield(L, -2, "__newindex");
  lua_pushliteral(L, "flowguard.dip message");
  lua_setfield(L, -2, "__name");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  host(L)->message_meta_ref = luaL_ref(L, LUA_REGISTRYINDEX);

  luaL_newmetatable(L, kMemoryMeta);
  lua_pushcfunction(L, read_only);
  lua_setfield(L, -2, "__newindex");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_pop(L, 1);
  luaL_newmetatable(L, kFilterMeta);
  lua_pushcfunction(L, read_only);
  lua_setfield(L, -2, "__newindex");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_pop(L, 1);
}

int sandbox_require(lua_State* L) {
  std::string_view name;
  if (!string_arg(L, 1, name)) return luaL_error(L, "flowguard sandbox: require takes a module name (\"flowguard.dip\")");
  lua_getfield(L, LUA_REGISTRYINDEX, kModules);
  lua_pushvalue(L, 1);
  if (lua_rawget(L, -2) != LUA_TNIL) return 1;
  if (!name.starts_with("flowguard.")) {
    return luaL_error(L, "flowguard sandbox: require('%s'): rules can load only the built-in flowguard.* modules",
                      lua_tostring(L, 1));
  }
  return luaL_error(L,
                    "flowguard sandbox: no module '%s' (built in: flowguard.util, flowguard.dates, flowguard.mpan, "
                    "flowguard.dip)",
                    lua_tostring(L, 1));
}

bool record_pointer_of(HostState* h, std::size_t i, std::string& out) noexcept {
  try {
    if (i >= h->records.size()) return false;
    if (h->record_pointer != nullptr) {
      out = (*h->record_pointer)(i);
      return true;
    }
    // Without the engine's word: the record is the root, an item of it, or a member of one of those.
    const json::Value* rec = h->records[i];
    const json::Value* root = h->root;
    if (root == nullptr) return false;
    if (rec == root) return out.clear(), true;
    auto member_of = [&](const json::Value& parent, std::string prefix) -> bool {
      if (!parent.is_object()) return false;
      for (const json::Member& m : parent.members()) {
        if (&m.value == rec) {
          json::append_pointer(prefix, m.key);
          out = std::move(prefix);
          return true;
        }
      }
      return false;
    };
    if (root->is_array()) {
      const auto items = root->items();
      for (std::size_t k = 0; k < items.size(); ++k) {
        std::string prefix;
        json::append_pointer(prefix, k);
        if (&items[k] == rec) return out = prefix, true;
        if (member_of(items[k], prefix)) return true;
      }
      return false;
    }
    return member_of(*root, std::string());
  } catch (...) {
    return false;
  }
}

}  // namespace flowguard::lua::detail
