// The `fg` helper table (backed by flowguard::domain) and the `report` function.
//
// Helpers never raise on a wrong or missing argument: rules call them on fields that may be absent
// (fg.parse_time(rec.From_Local)), so anything unusable answers nil (or false for is_mpan).

#include <cstring>
#include <string_view>

#include "flowguard/domain/checks.hpp"
#include "internal.hpp"

namespace flowguard::lua::detail {
namespace {

bool string_arg(lua_State* L, int i, std::string_view& out) {
  if (lua_type(L, i) != LUA_TSTRING) return false;
  std::size_t n = 0;
  const char* s = lua_tolstring(L, i, &n);
  out = std::string_view(s, n);
  return true;
}

int push_date(lua_State* L, const std::optional<domain::Date>& d) {
  if (!d) return 0;
  lua_pushinteger(L, d->year);
  lua_pushinteger(L, d->month);
  lua_pushinteger(L, d->day);
  return 3;
}

int fg_parse_date(lua_State* L) {
  std::string_view s;
  return string_arg(L, 1, s) ? push_date(L, domain::parse_date_dmy(s)) : 0;
}

int fg_parse_iso_date(lua_State* L) {
  std::string_view s;
  return string_arg(L, 1, s) ? push_date(L, domain::parse_date_iso(s)) : 0;
}

int fg_day_number(lua_State* L) {
  std::string_view s;
  if (!string_arg(L, 1, s)) return 0;
  const auto d = domain::parse_date_dmy(s);
  if (!d) return 0;
  lua_pushinteger(L, static_cast<lua_Integer>(domain::days_from_civil(*d)));
  return 1;
}

int fg_parse_time(lua_State* L) {
  std::string_view s;
  if (!string_arg(L, 1, s)) return 0;
  const auto minutes = domain::parse_time_hhmm(s);
  if (!minutes) return 0;
  lua_pushinteger(L, *minutes);
  return 1;
}

int fg_parse_datetime(lua_State* L) {
  std::string_view s;
  if (!string_arg(L, 1, s)) return 0;
  const auto minutes = domain::parse_datetime_dmy_hm(s);
  if (!minutes) return 0;
  lua_pushinteger(L, static_cast<lua_Integer>(*minutes));
  return 1;
}

int fg_settlement_period(lua_State* L) {
  std::string_view hhmm;
  if (!string_arg(L, 1, hhmm)) return 0;
  std::optional<int> period;
  if (lua_isnoneornil(L, 2)) {
    period = domain::settlement_period(hhmm);
  } else {
    std::string_view date_text;
    if (!string_arg(L, 2, date_text)) return 0;
    const auto date = domain::parse_date_dmy(date_text);
    if (!date) return 0;
    period = domain::settlement_period_on(*date, hhmm);
  }
  if (!period) return 0;
  lua_pushinteger(L, *period);
  return 1;
}

int fg_decimal_places(lua_State* L) {
  std::string_view text;
  if (lua_type(L, 1) == LUA_TNUMBER) {
    // A Lua number has lost its source text; %.14g is the best available (prefer rec:decimals).
    lua_pushvalue(L, 1);
    std::size_t n = 0;
    const char* s = lua_tolstring(L, -1, &n);
    text = std::string_view(s, n);
  } else if (!string_arg(L, 1, text)) {
    return 0;
  }
  lua_pushinteger(L, domain::decimal_places(text));
  return 1;
}

// Quoted, shortened string for messages; false on allocation failure.
bool preview_string(HostState* h, std::string_view s) noexcept {
  constexpr std::size_t kMax = 40;
  try {
    h->scratch.clear();
    if (s.size() <= kMax) {
      json::write_json_string(h->scratch, s);
      return true;
    }
    std::size_t cut = kMax - 3;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;  // UTF-8 boundary
    std::string shortened(s.substr(0, cut));
    shortened += "…";
    json::write_json_string(h->scratch, shortened);
    return true;
  } catch (...) {
    return false;
  }
}

// fg.state: the application's cross-document memory for this call (RuleHost::set_call_state).
// The C++ side runs in noexcept helpers (an exception must not cross Lua's longjmp frames); a
// description comes back through h->scratch so no std::string lives on this C stack.
bool state_seen_into(HostState* h, std::string_view reference) noexcept {
  try {
    auto seen = h->call_state->reference_seen(reference);
    if (!seen) return false;
    h->scratch = std::move(*seen);
    return true;
  } catch (...) {
    return false;
  }
}

void state_remember(HostState* h, std::string_view reference) noexcept {
  try {
    h->call_state->remember_reference(reference);
  } catch (...) {
  }
}

int state_enabled(lua_State* L) {
  const HostState* h = host(L);
  lua_pushboolean(L, h->in_call && h->call_state != nullptr);
  return 1;
}

int state_reference_seen(lua_State* L) {
  HostState* h = host(L);
  std::string_view s;
  if (!h->in_call || h->call_state == nullptr || !string_arg(L, 1, s) || !state_seen_into(h, s)) {
    lua_pushnil(L);
    return 1;
  }
  lua_pushlstring(L, h->scratch.data(), h->scratch.size());
  return 1;
}

int state_remember_reference(lua_State* L) {
  HostState* h = host(L);
  std::string_view s;
  if (h->in_call && h->call_state != nullptr && string_arg(L, 1, s) && !s.empty()) state_remember(h, s);
  return 0;
}

int state_read_only(lua_State* L) { return luaL_error(L, "fg.state is read-only"); }

// A read-only proxy (one per state, shared by every file's fg copy): a file cannot replace the
// functions another file calls.
void push_state_proxy(lua_State* L) {
  const luaL_Reg functions[] = {{"enabled", state_enabled},
                                {"reference_seen", state_reference_seen},
                                {"remember_reference", state_remember_reference},
                                {nullptr, nullptr}};
  luaL_newlib(L, functions);
  const int table = lua_gettop(L);
  lua_newuserdatauv(L, 0, 0);
  lua_createtable(L, 0, 4);
  lua_pushvalue(L, table);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, state_read_only);
  lua_setfield(L, -2, "__newindex");
  lua_pushliteral(L, "fg.state");
  lua_setfield(L, -2, "__name");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_setmetatable(L, -2);
  lua_remove(L, table);
}

// fg.require_api(n): a rule file states the rule API version it is written for; a newer one than
// this flowguard provides fails the file's load with a message saying so.
constexpr int kRuleApi = 2;  // 2: flowguard.dip filter, reference_memory, reference_repeats
int fg_require_api(lua_State* L) {
  const lua_Integer wanted = luaL_checkinteger(L, 1);
  if (wanted > kRuleApi || wanted < 1) {
    return luaL_error(L, "this rule file needs flowguard rule API %d; this flowguard provides API %d", static_cast<int>(wanted),
                      kRuleApi);
  }
  return 0;
}

int fg_preview(lua_State* L) {
  switch (lua_type(L, 1)) {
    case LUA_TNONE:
    case LUA_TNIL: lua_pushliteral(L, "nil"); return 1;
    case LUA_TBOOLEAN: lua_pushstring(L, lua_toboolean(L, 1) ? "true" : "false"); return 1;
    case LUA_TNUMBER:
      lua_pushvalue(L, 1);
      lua_tolstring(L, -1, nullptr);
      return 1;
    case LUA_TSTRING: {
      std::string_view s;
      string_arg(L, 1, s);
      HostState* h = host(L);
      if (!preview_string(h, s)) return luaL_error(L, "out of memory building a preview");
      lua_pushlstring(L, h->scratch.data(), h->scratch.size());
      return 1;
    }
    case LUA_TLIGHTUSERDATA:
      if (lua_touserdata(L, 1) == &null_sentinel) {
        lua_pushliteral(L, "null");
        return 1;
      }
      break;
    case LUA_TUSERDATA:
      if (push_view_preview(L, 1)) return 1;
      break;
    case LUA_TTABLE: lua_pushliteral(L, "{…}"); return 1;
    default: break;
  }
  lua_pushstring(L, luaL_typename(L, 1));
  return 1;
}

// ---- report

struct ReportArgs {
  bool has_record = false;
  std::size_t record = 0;  // 0-based
  std::string_view field;
  bool has_pointer = false;
  std::string_view pointer;
  std::string_view message;
  bool has_severity = false;
  Severity severity = Severity::kError;
  bool has_code = false;
  std::string_view code;
  bool has_path = false;  // the steps are in HostState::report_path
};

bool push_step(HostState* h, const HostState::PathStep& step) noexcept {
  try {
    h->report_path.push_back(step);
    return true;
  } catch (...) {
    return false;
  }
}

// report{record = i, path = {...}}: the record's pointer extended by each step, a key matched as
// view:dig matches it (exactly, else ignoring ASCII case) and written as the document spells it, or
// a 1-based item position; a step that is not there is written as given. False on a failure.
bool path_pointer(HostState* h, std::size_t record, std::string& pointer, std::vector<std::string>& spelled) {
  if (!record_pointer_of(h, record, pointer)) return false;
  const json::Value* at = h->records[record];
  for (const HostState::PathStep& step : h->report_path) {
    if (step.is_index) {
      const std::size_t k = static_cast<std::size_t>(step.index - 1);
      json::append_pointer(pointer, k);
      spelled.push_back(std::to_string(k));
      at = at != nullptr && at->is_array() && k < at->size() ? &at->items()[k] : nullptr;
      continue;
    }
    const json::Member* m = at != nullptr && at->is_object() ? at->find_member_ignoring_case(step.key) : nullptr;
    const std::string_view key = m != nullptr ? std::string_view(m->key) : step.key;
    json::append_pointer(pointer, key);
    spelled.emplace_back(key);
    at = m != nullptr ? &m->value : nullptr;
  }
  return true;
}

bool append_report(HostState* h, const ReportArgs& a) noexcept {
  try {
    if (h->call_reports >= h->limits.max_reports_per_call) {
      std::size_t& tally = h->tally[a.has_severity ? static_cast<std::size_t>(a.severity) : 3];
      if (tally < h->out->size() && (*h->out)[tally].rule == h->current_rule) {
        ++(*h->out)[tally].more;
        return true;
      }
      tally = h->out->size();  // this report is kept and carries the count of those after it
    } else {
      ++h->call_reports;
    }
    RuleReport r;
    if (a.has_record) r.record = a.record;
    r.field = std::string(a.field);
    if (a.has_pointer) r.pointer = std::string(a.pointer);
    if (a.message.size() > h->limits.max_message_bytes) {
      // Cut at a character boundary and say so: a message is one readable line, not a payload.
      std::size_t cut = h->limits.max_message_bytes;
      while (cut > 0 && (static_cast<unsigned char>(a.message[cut]) & 0xC0) == 0x80) --cut;
      r.message.reserve(cut + 48);
      r.message.append(a.message.substr(0, cut));
      r.message += "... (message cut at " + std::to_string(cut) + " of " + std::to_string(a.message.size()) + " bytes)";
    } else {
      r.message = std::string(a.message);
    }
    if (a.has_severity) r.severity = a.severity;
    if (a.has_code) r.code = std::string(a.code);
    if (a.has_path) {
      std::string pointer;
      if (!path_pointer(h, a.record, pointer, r.path)) return false;
      r.pointer = std::move(pointer);
    }
    r.rule = h->current_rule;
    h->out->push_back(std::move(r));
    return true;
  } catch (...) {
    return false;
  }
}

// Reads an optional severity at `idx` into `a`; raises on an unknown name.
void read_severity(lua_State* L, int idx, ReportArgs& a) {
  if (lua_isnoneornil(L, idx)) return;
  std::string_view s;
  if (!string_arg(L, idx, s)) luaL_error(L, "report: severity must be a string, got %s", luaL_typename(L, idx));
  const auto severity = severity_from_string(s);
  if (!severity) luaL_error(L, "report: unknown severity '%s' (expected 'error', 'warning' or 'info')", lua_tostring(L, idx));
  a.has_severity = true;
  a.severity = *severity;
}

// Message: a string, or a number (converted in place in its argument slot).
void read_message(lua_State* L, int idx, ReportArgs& a) {
  const int type = lua_type(L, idx);
  if (type != LUA_TSTRING && type != LUA_TNUMBER) {
    luaL_error(L, "report: message must be a string, got %s", luaL_typename(L, idx));
  }
  std::size_t n = 0;
  const char* s = lua_tolstring(L, idx, &n);
  a.message = std::string_view(s, n);
}

void read_table_form(lua_State* L, HostState* h, ReportArgs& a) {
  bool has_message = false;
  bool has_field = false;
  lua_pushnil(L);
  while (lua_next(L, 1) != 0) {
    if (lua_type(L, -2) != LUA_TSTRING) luaL_error(L, "report{...}: keys must be names");
    std::size_t n = 0;
    const char* k = lua_tolstring(L, -2, &n);
    const std::string_view key(k, n);
    const int value = lua_gettop(L);
    if (key == "record") {
      int is_int = 0;
      const lua_Integer r = lua_tointegerx(L, value, &is_int);
      if (is_int == 0) luaL_error(L, "report{record=...}: record must be an integer index (1-based)");
      if (h->record_mode) {
        if (r != static_cast<lua_Integer>(h->record_index + 1)) {
          luaL_error(L, "report{record=%d}: a record check can only report on its own record (%d)", static_cast<int>(r),
                     static_cast<int>(h->record_index + 1));
        }
      } else if (r < 1 || static_cast<std::size_t>(r) > h->record_count) {
        luaL_error(L, "report{record=%d}: no such record (the document has %d)", static_cast<int>(r),
                   static_cast<int>(h->record_count));
      }
      a.has_record = true;
      a.record = static_cast<std::size_t>(r - 1);
    } else if (key == "field") {
      if (!string_arg(L, value, a.field)) luaL_error(L, "report{field=...}: field must be a string");
      has_field = true;
    } else if (key == "pointer") {
      if (!string_arg(L, value, a.pointer) || (!a.pointer.empty() && a.pointer.front() != '/')) {
        luaL_error(L, "report{pointer=...}: pointer must be a JSON pointer string (\"\" or starting with '/')");
      }
      a.has_pointer = true;
    } else if (key == "message") {
      read_message(L, value, a);
      has_message = true;
    } else if (key == "severity") {
      read_severity(L, value, a);
    } else if (key == "path") {
      if (h->record_mode) luaL_error(L, "report{path=...} works in document checks (in a record check use field=)");
      if (lua_type(L, value) != LUA_TTABLE) luaL_error(L, "report{path=...}: path must be a list of keys and 1-based positions");
      h->report_path.clear();
      const lua_Unsigned n = lua_rawlen(L, value);
      for (lua_Unsigned i = 1; i <= n; ++i) {
        HostState::PathStep step;
        const int t = lua_rawgeti(L, value, static_cast<lua_Integer>(i));
        int is_int = 0;
        if (t == LUA_TSTRING) {
          std::size_t len = 0;
          const char* text = lua_tolstring(L, -1, &len);  // held by the path table
          step.key = std::string_view(text, len);
        } else if (t == LUA_TNUMBER && (step.index = lua_tointegerx(L, -1, &is_int), is_int != 0) && step.index >= 1) {
          step.is_index = true;
        } else {
          luaL_error(L, "report{path=...}: step %d must be a key (string) or a 1-based position (integer >= 1)",
                     static_cast<int>(i));
        }
        lua_pop(L, 1);
        if (!push_step(h, step)) luaL_error(L, "out of memory recording a report");
      }
      a.has_path = true;
    } else if (key == "code") {
      if (!string_arg(L, value, a.code) || a.code.empty() || a.code.size() > 64 ||
          a.code.find_first_of("\r\n") != std::string_view::npos) {
        luaL_error(L, "report{code=...}: code must be a non-empty one-line string of at most 64 bytes");
      }
      a.has_code = true;
    } else {
      luaL_error(L, "report{...}: unknown key '%s' (expected record, field, pointer, path, message, severity, code)", k);
    }
    lua_pop(L, 1);
  }
  if (!has_message) luaL_error(L, "report{...}: message is required");
  if (a.has_path && (!a.has_record || a.has_pointer || has_field)) {
    luaL_error(L, "report{path=...} needs record= and goes without pointer= and field=");
  }
  if (!a.has_pointer && !a.has_record) {
    if (h->record_mode) {
      a.has_record = true;
      a.record = h->record_index;
    } else if (has_field) {
      luaL_error(L, "report{field=...} in a document check needs record= (or use pointer=)");
    }
  }
}

}  // namespace

// Shared with flowguard.mpan (modules.cpp), which offers the same two as is_core/check_digit.
int fg_is_mpan(lua_State* L) {
  std::string_view s;
  lua_pushboolean(L, string_arg(L, 1, s) && domain::is_mpan_core(s));
  return 1;
}

int fg_mpan_check_digit(lua_State* L) {
  std::string_view s;
  if (!string_arg(L, 1, s)) return 0;
  const auto digit = domain::mpan_check_digit(s);
  if (!digit) return 0;
  lua_pushinteger(L, *digit);
  return 1;
}


int report_function(lua_State* L) {
  HostState* h = host(L);
  if (!h->in_call || h->out == nullptr) return luaL_error(L, "report used outside its rule call");
  ReportArgs a;
  if (lua_type(L, 1) == LUA_TTABLE) {
    lua_settop(L, 1);
    read_table_form(L, h, a);
  } else {
    if (!h->record_mode) {
      return luaL_error(L, "report(field, message) works in record checks; in a document check use "
                           "report{record = i, field = ..., message = ...} or report{pointer = ..., message = ...}");
    }
    if (!lua_isnil(L, 1) && !string_arg(L, 1, a.field)) {
      return luaL_error(L, "report: field must be a string, got %s", luaL_typename(L, 1));
    }
    read_message(L, 2, a);
    read_severity(L, 3, a);
    a.has_record = true;
    a.record = h->record_index;
  }
  if (!append_report(h, a)) return luaL_error(L, "out of memory recording a report");
  return 0;
}

namespace {
int data_read_only(lua_State* L) { return luaL_error(L, "fg.data is read-only"); }
}  // namespace

void push_data_proxy(lua_State* L) {
  lua_createtable(L, 0, 4);
  lua_pushvalue(L, -1);
  lua_setfield(L, LUA_REGISTRYINDEX, kDataTable);
  const int table = lua_gettop(L);
  lua_newuserdatauv(L, 0, 0);
  lua_createtable(L, 0, 4);
  lua_pushvalue(L, table);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, data_read_only);
  lua_setfield(L, -2, "__newindex");
  lua_pushliteral(L, "fg.data");
  lua_setfield(L, -2, "__name");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_setmetatable(L, -2);
  lua_remove(L, table);
}

void push_fg_table(lua_State* L) {
  const luaL_Reg functions[] = {{"is_mpan", fg_is_mpan},
                                {"mpan_check_digit", fg_mpan_check_digit},
                                {"parse_date", fg_parse_date},
                                {"parse_iso_date", fg_parse_iso_date},
                                {"day_number", fg_day_number},
                                {"parse_time", fg_parse_time},
                                {"parse_datetime", fg_parse_datetime},
                                {"settlement_period", fg_settlement_period},
                                {"decimal_places", fg_decimal_places},
                                {"preview", fg_preview},
                                {"require_api", fg_require_api},
                                {nullptr, nullptr}};
  luaL_newlib(L, functions);
  lua_pushlightuserdata(L, &null_sentinel);
  lua_setfield(L, -2, "null");
  lua_pushinteger(L, kRuleApi);
  lua_setfield(L, -2, "api");
  push_data_proxy(L);
  lua_setfield(L, -2, "data");
  push_state_proxy(L);
  lua_setfield(L, -2, "state");
}

}  // namespace flowguard::lua::detail
