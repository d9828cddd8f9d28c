// RuleHost: loads rule files into the sandbox, validates them strictly, and runs their checks.
//
// Host-side code reads rule tables with raw access only (lua_next/lua_rawget: no metamethods, so no
// rule code runs and nothing can raise) while the memory cap is off; every call into rule code goes
// through lua_pcall with the budget and the cap armed.

#include <algorithm>
#include <cctype>
#include <array>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <system_error>

#include "flowguard/domain/checks.hpp"
#include "internal.hpp"

namespace flowguard::lua {

bool RuleInfo::applies_to(std::string_view type) const noexcept {
  for (const std::string& t : types) {
    if (t == type || t == "*") return true;
    if (t.size() >= 2 && t.ends_with(".*")) {
      const std::string_view family(t.data(), t.size() - 1);  // "dfs."
      if (type.size() > family.size() && type.starts_with(family)) return true;
    }
  }
  return false;
}

bool is_pair_check(std::string_view check) noexcept {
  return check == "time_order" || check == "date_order" || check == "datetime_order" || check == "zone_suffix";
}

namespace {

constexpr std::array<std::string_view, 13> kChecks = {
    "mpan",       "date_dmy",   "date_iso",   "time_hhmm",      "half_hour",  "datetime_dmy_hm", "max_decimals",
    "not_before", "positive",   "time_order", "date_order",     "datetime_order", "zone_suffix"};

bool valid_id(std::string_view id) {
  if (id.empty()) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
           c == '-';
  });
}

std::string in_quotes(std::string_view s) { return "'" + std::string(s) + "'"; }

// Value at `idx` as a string_view when it is a string (no number-to-string conversion).
bool get_string(lua_State* L, int idx, std::string_view& out) {
  if (lua_type(L, idx) != LUA_TSTRING) return false;
  std::size_t n = 0;
  const char* s = lua_tolstring(L, idx, &n);
  out = std::string_view(s, n);
  return true;
}

// Protected entry for loading one file: compiles (text only), gives the chunk its own environment
// and runs it; returns the chunk's first result. A syntax error is returned as a value.
struct LoadRequest {
  const char* source;
  std::size_t size;
  const char* chunkname;
  bool syntax_error;
};

int load_entry(lua_State* L) {
  auto* req = static_cast<LoadRequest*>(lua_touserdata(L, 1));
  const int status = luaL_loadbufferx(L, req->source, req->size, req->chunkname, "t");
  if (status == LUA_ERRSYNTAX) {
    req->syntax_error = true;
    return 1;
  }
  if (status != LUA_OK) return lua_error(L);
  detail::push_file_env(L);
  lua_setupvalue(L, -2, 1);
  lua_call(L, 0, 1);
  return 1;
}

int setup_entry(lua_State* L) {
  detail::setup_sandbox(L);
  detail::register_views(L);
  lua_pushcfunction(L, detail::report_function);
  detail::host(L)->report_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return 0;
}

// 1-based line of the first `id = "ID"` (or 'ID') in the source, or 0.
int id_line(std::string_view source, std::string_view id) {
  for (std::size_t at = source.find(id); at != std::string_view::npos; at = source.find(id, at + 1)) {
    const std::size_t end = at + id.size();
    if (at == 0 || end >= source.size()) continue;
    const char quote = source[at - 1];
    if ((quote != '"' && quote != '\'') || source[end] != quote) continue;
    std::size_t p = at - 1;
    while (p > 0 && (source[p - 1] == ' ' || source[p - 1] == '\t')) --p;
    if (p == 0 || source[p - 1] != '=') continue;
    --p;
    while (p > 0 && (source[p - 1] == ' ' || source[p - 1] == '\t')) --p;
    if (p < 2 || source.compare(p - 2, 2, "id") != 0) continue;
    if (p > 2) {
      const char before = source[p - 3];
      if (std::isalnum(static_cast<unsigned char>(before)) || before == '_') continue;  // e.g. `uuid =`
    }
    return 1 + static_cast<int>(std::count(source.begin(), source.begin() + static_cast<std::ptrdiff_t>(at), '\n'));
  }
  return 0;
}

std::string describe_bytes(std::size_t bytes) {
  if (bytes % (1u << 20) == 0) return std::to_string(bytes >> 20) + " MiB";
  if (bytes % (1u << 10) == 0) return std::to_string(bytes >> 10) + " KiB";
  return std::to_string(bytes) + " bytes";
}

}  // namespace

struct RuleHost::Impl : detail::HostState {
  struct Functions {
    int record = LUA_NOREF;
    int document = LUA_NOREF;
  };
  std::vector<RuleInfo> rules;
  std::vector<Functions> functions;
  std::set<std::string, std::less<>> ids;

  ~Impl() {
    if (L != nullptr) lua_close(L);
  }

  // Lua names a chunk "@x.lua" as "x.lua"; errors read better with the full path, so the short
  // name at the start of a message is replaced by the path.
  static std::string with_path(std::string message, const std::filesystem::path& file) {
    const std::string name = file.filename().string();
    if (message.size() > name.size() && message.compare(0, name.size(), name) == 0 && message[name.size()] == ':') {
      message.replace(0, name.size(), file.string());
    }
    return message;
  }

  // The error at the top of the stack, as text.
  std::string error_text() const {
    const int type = lua_type(L, -1);
    if (type == LUA_TSTRING || type == LUA_TNUMBER) {
      std::size_t n = 0;
      const char* s = lua_tolstring(L, -1, &n);
      return std::string(s, n);
    }
    return std::string("(error object is a ") + lua_typename(L, type) + " value)";
  }

  // Explains why a protected call with `status` failed; leaves the stack at `base` and the state
  // usable (a full collection after a memory stop returns what the rule had allocated).
  std::string failure(int status, int base, const std::filesystem::path& file) {
    std::string why;
    const detail::Stop stop = detail::classify_stop(this, status);
    if (stop == detail::Stop::kBudget) {
      why = "instruction budget exceeded (" + std::to_string(limits.instructions_per_call) + " instructions)";
      if (stop_in_pattern) why += " while matching a string pattern (pattern steps count as instructions)";
    } else if (stop == detail::Stop::kMemory) {
      why = "memory limit exceeded (" + describe_bytes(limits.memory_bytes) + ")";
    } else {
      why = with_path(error_text(), file);
    }
    lua_settop(L, base);
    if (stop != detail::Stop::kNone) lua_gc(L, LUA_GCCOLLECT);
    this->stop = detail::Stop::kNone;
    return why;
  }

  Error rule_failure(std::size_t index, int status, int base) {
    const RuleInfo& rule = rules[index];
    std::string why = failure(status, base, rule.file);
    return make_error(ErrorCode::kRule, "rule " + rule.id + " (" + rule.file.string() + ") failed: " + why);
  }

  // A fused call (run_record_rules): the dispatcher runs inside one protected call and calls each
  // rule's record function under its own protected call, budget and cap.
  struct FusedCall {
    Impl* impl;
    const std::size_t* rules;
    std::size_t count;
    std::size_t position;  // rule being (or next to be) run
    const json::Value* record;
    std::size_t record_index;
    std::vector<RuleFailure>* failures;
  };

  // Records why rule `rule` failed; leaves the stack at `base`. Never throws (called from Lua).
  void record_failure(std::vector<RuleFailure>& failures, std::size_t rule, int status, int base) noexcept {
    try {
      Error error = rule_failure(rule, status, base);
      failures.push_back(RuleFailure{rule, std::move(error)});
    } catch (...) {
      lua_settop(L, base);
      this->stop = detail::Stop::kNone;
    }
  }

  static int fused_entry(lua_State* L) {
    auto* call = static_cast<FusedCall*>(lua_touserdata(L, 1));
    Impl* h = call->impl;
    detail::push_record_view(L, call->record, call->record_index);  // 2: shared by every rule
    lua_rawgeti(L, LUA_REGISTRYINDEX, h->report_ref);                // 3
    for (; call->position < call->count; ++call->position) {
      const std::size_t rule = call->rules[call->position];
      if (rule >= h->functions.size()) continue;  // reported by run_record_rules
      const int fn = h->functions[rule].record;
      if (fn == LUA_NOREF) continue;
      lua_rawgeti(L, LUA_REGISTRYINDEX, fn);
      lua_pushvalue(L, 2);
      lua_pushvalue(L, 3);
      h->current_rule = rule;
      detail::arm(h, false);  // a fresh budget per rule
      const int status = lua_pcall(L, 2, 0, 0);
      detail::rule_done(h);
      if (status != LUA_OK) h->record_failure(*call->failures, rule, status, 3);
    }
    return 0;
  }

  struct DataRequest {
    std::size_t slot;
    const char* name;
    std::size_t size;
    bool present;
  };

  static int set_data_entry(lua_State* L) {
    const auto* req = static_cast<const DataRequest*>(lua_touserdata(L, 1));
    lua_getfield(L, LUA_REGISTRYINDEX, detail::kDataTable);
    lua_pushlstring(L, req->name, req->size);
    if (req->present) {
      detail::push_data_view(L, req->slot);
    } else {
      lua_pushnil(L);
    }
    lua_rawset(L, -3);
    return 0;
  }

  Status load(const std::filesystem::path& file);
  bool validate_rule(int table, int ordinal, const std::filesystem::path& file, std::string_view source,
                     RuleInfo& info, std::string& error);
};

bool RuleHost::Impl::validate_rule(int table, int ordinal, const std::filesystem::path& file,
                                   std::string_view source, RuleInfo& info, std::string& error) {
  info.file = file;
  // Line of the rule table: where its `id = "..."` is written (the table itself carries no line),
  // else where its first function is defined, else where the chunk returned.
  int line = 0;
  {
    lua_pushliteral(L, "id");
    lua_rawget(L, table);
    std::string_view id;
    if (get_string(L, -1, id) && !id.empty()) line = id_line(source, id);
    lua_pop(L, 1);
  }
  for (const char* key : {"record", "document"}) {
    lua_pushstring(L, key);
    if (lua_rawget(L, table) == LUA_TFUNCTION) {
      lua_Debug ar;
      if (lua_getinfo(L, ">S", &ar) != 0 && line == 0 && ar.linedefined > 0) {
        line = ar.linedefined;
      }
    } else {
      lua_pop(L, 1);
    }
  }
  if (line == 0) line = return_line;
  info.line = line;

  std::string who = "rule #" + std::to_string(ordinal);
  {
    lua_pushliteral(L, "id");
    lua_rawget(L, table);
    std::string_view id;
    if (get_string(L, -1, id) && valid_id(id)) who = "rule " + std::string(id);  // name it in every error
    lua_pop(L, 1);
  }
  auto fail = [&](const std::string& what) {
    error = file.string() + (info.line > 0 ? ":" + std::to_string(info.line) : std::string()) + ": " + who + ": " + what;
    return false;
  };

  bool seen_id = false, seen_severity = false, seen_description = false, seen_spec = false, seen_types = false;
  const int top = lua_gettop(L);
  lua_pushnil(L);
  while (lua_next(L, table) != 0) {
    const int value = lua_gettop(L);
    std::string_view key;
    if (!get_string(L, value - 1, key)) {
      lua_settop(L, top);
      return fail(std::string("rule tables have named fields only, found a ") + luaL_typename(L, value - 1) + " key");
    }
    std::string_view s;
    std::string problem;
    if (key == "id") {
      if (!get_string(L, value, s) || !valid_id(s)) {
        problem = "id must be a string of letters, digits, '_', '.' or '-'";
      } else {
        info.id = std::string(s);
        seen_id = true;
      }
    } else if (key == "severity") {
      const auto sev = get_string(L, value, s) ? severity_from_string(s) : std::nullopt;
      if (!sev) {
        problem = "severity must be \"error\", \"warning\" or \"info\"" +
                  (lua_type(L, value) == LUA_TSTRING ? ", got " + in_quotes(s) : std::string());
      } else {
        info.severity = *sev;
        seen_severity = true;
      }
    } else if (key == "description") {
      if (!get_string(L, value, s) || s.empty() || s.find('\n') != std::string_view::npos) {
        problem = "description must be a non-empty one-line string";
      } else {
        info.description = std::string(s);
        seen_description = true;
      }
    } else if (key == "spec") {
      if (!get_string(L, value, s) || s.empty()) {
        problem = "spec must be a non-empty string naming what the rule enforces";
      } else {
        info.spec = std::string(s);
        seen_spec = true;
      }
    } else if (key == "types") {
      const lua_Unsigned n = lua_type(L, value) == LUA_TTABLE ? lua_rawlen(L, value) : 0;
      std::size_t entries = 0;
      if (n > 0) {
        lua_pushnil(L);
        while (lua_next(L, value) != 0) ++entries, lua_pop(L, 1);
      }
      if (n == 0 || entries != n) {
        problem = "types must be a non-empty list of message type names";
      } else {
        for (lua_Unsigned i = 1; i <= n && problem.empty(); ++i) {
          lua_rawgeti(L, value, static_cast<lua_Integer>(i));
          if (!get_string(L, -1, s) || s.empty()) {
            problem = "types[" + std::to_string(i) + "] must be a non-empty string";
          } else {
            info.types.emplace_back(s);
          }
          lua_pop(L, 1);
        }
        seen_types = problem.empty();
      }
    } else if (key == "fields") {
      if (lua_type(L, value) != LUA_TTABLE) {
        problem = "fields must be a list of { check = NAME, FIELD, ... } entries";
      } else {
        const lua_Unsigned n = lua_rawlen(L, value);
        for (lua_Unsigned i = 1; i <= n && problem.empty(); ++i) {
          const std::string where = "fields[" + std::to_string(i) + "]";
          if (lua_rawgeti(L, value, static_cast<lua_Integer>(i)) != LUA_TTABLE) {
            problem = where + " must be a table { check = NAME, FIELD, ... }";
            lua_pop(L, 1);
            break;
          }
          const int entry = lua_gettop(L);
          FieldCheck check;
          bool has_arg = false;
          const lua_Unsigned count = lua_rawlen(L, entry);
          lua_pushnil(L);
          while (problem.empty() && lua_next(L, entry) != 0) {
            std::string_view k;
            if (lua_type(L, -2) == LUA_TNUMBER) {
              int is_int = 0;
              const lua_Integer pos = lua_tointegerx(L, -2, &is_int);
              if (is_int == 0 || pos < 1 || static_cast<lua_Unsigned>(pos) > count) {
                problem = where + " has a non-list numeric key";
              }
            } else if (!get_string(L, -2, k)) {
              problem = where + " has a key that is neither a name nor a list position";
            } else if (k == "check") {
              if (!get_string(L, -1, s)) {
                problem = where + ".check must be a string";
              } else if (std::find(kChecks.begin(), kChecks.end(), s) == kChecks.end()) {
                std::string known;
                for (const auto name : kChecks) known += (known.empty() ? "" : ", ") + std::string(name);
                problem = where + ": unknown check " + in_quotes(s) + " (known: " + known + ")";
              } else {
                check.check = std::string(s);
              }
            } else if (k == "arg" && lua_type(L, -1) == LUA_TSTRING) {
              // A date (not_before); whether it parses is judged once the check's name is known.
              get_string(L, -1, s);
              check.text_argument = std::string(s);
              has_arg = true;
            } else if (k == "arg") {
              int is_int = 0;
              const lua_Integer arg = lua_tointegerx(L, -1, &is_int);
              if (is_int == 0 || arg < 0 || arg > 1000) {
                problem = where + ".arg must be a non-negative integer";
              } else {
                check.argument = static_cast<int>(arg);
                has_arg = true;
              }
            } else {
              problem = where + ": unknown key " + in_quotes(k) + " (expected check, arg and field names)";
            }
            lua_pop(L, 1);
          }
          for (lua_Unsigned j = 1; problem.empty() && j <= count; ++j) {
            lua_rawgeti(L, entry, static_cast<lua_Integer>(j));
            if (!get_string(L, -1, s) || s.empty()) {
              problem = where + "[" + std::to_string(j) + "] must be a field name (a non-empty string)";
            } else {
              check.fields.emplace_back(s);
            }
            lua_pop(L, 1);
          }
          if (problem.empty()) {
            if (check.check.empty()) {
              problem = where + " needs check = NAME";
            } else if (check.fields.empty()) {
              problem = where + " (" + check.check + ") names no fields";
            } else if (check.check == "max_decimals" && !check.text_argument.empty()) {
              problem = where + ".arg must be a non-negative integer";
            } else if (check.check == "max_decimals" && !has_arg) {
              problem = where + ": max_decimals needs arg = N (the most digits allowed after the decimal point)";
            } else if (check.check == "not_before" &&
                       (!has_arg || (!domain::parse_date_dmy(check.text_argument) &&
                                     !domain::parse_date_iso(check.text_argument)))) {
              problem = where + ": not_before needs arg = DATE (the earliest date allowed, dd-mm-yyyy or yyyy-mm-dd)";
            } else if (check.check != "max_decimals" && check.check != "not_before" && has_arg) {
              problem = where + ": check " + in_quotes(check.check) + " takes no arg";
            } else if (is_pair_check(check.check) && check.fields.size() != 2) {
              problem = where + ": " + check.check + " compares exactly two fields (" +
                        (check.check == "time_order"    ? "START, END"
                         : check.check == "zone_suffix" ? "UNIT, ZONE"
                                                        : "FROM, TO") +
                        "), got " +
                        std::to_string(check.fields.size());
            } else if (is_pair_check(check.check) && check.fields[0] == check.fields[1]) {
              problem = where + ": " + check.check + " compares two different fields, got " + in_quotes(check.fields[0]) +
                        " twice";
            }
          }
          lua_settop(L, entry - 1);
          if (problem.empty()) info.field_checks.push_back(std::move(check));
        }
        if (problem.empty()) {
          // Only list entries are allowed.
          std::size_t entries = 0;
          lua_pushnil(L);
          while (lua_next(L, value) != 0) ++entries, lua_pop(L, 1);
          if (entries != n) problem = "fields must be a list (found non-list keys)";
        }
      }
    } else if (key == "code") {
      if (!get_string(L, value, s) || s.empty() || s.size() > 64 || s.find_first_of("\r\n") != std::string_view::npos) {
        problem = "code must be a non-empty one-line string of at most 64 bytes (the receiving system's error code)";
      } else {
        info.code = std::string(s);
      }
    } else if (key == "record" || key == "document") {
      if (lua_type(L, value) != LUA_TFUNCTION) {
        problem = std::string(key) + " must be a function";
      } else if (key == "record") {
        info.has_record = true;
      } else {
        info.has_document = true;
      }
    } else {
      problem = "unknown field " + in_quotes(key) +
                " (expected id, severity, description, spec, types, code, fields, record, document)";
    }
    if (!problem.empty()) {
      lua_settop(L, top);
      return fail(problem);
    }
    lua_settop(L, value - 1);  // keep the key for lua_next
  }
  if (!seen_id) return fail("missing field 'id'");
  if (!seen_severity) return fail("missing field 'severity' (\"error\", \"warning\" or \"info\")");
  if (!seen_description) return fail("missing field 'description'");
  if (!seen_spec) return fail("missing field 'spec'");
  if (!seen_types) return fail("missing field 'types'");
  if (info.field_checks.empty() && !info.has_record && !info.has_document) {
    return fail("defines none of fields, record, document (at least one is required)");
  }
  return true;
}

Status RuleHost::Impl::load(const std::filesystem::path& file) {
  std::string source;
  {
    std::ifstream in(file, std::ios::binary);
    if (!in) return make_error(ErrorCode::kIo, file.string() + ": cannot open rule file");
    std::ostringstream buffer;
    buffer << in.rdbuf();
    if (in.bad()) return make_error(ErrorCode::kIo, file.string() + ": cannot read rule file");
    source = std::move(buffer).str();
  }
  const std::string chunkname = "@" + file.filename().string();
  LoadRequest request{source.data(), source.size(), chunkname.c_str(), false};

  const int base = lua_gettop(L);
  lua_pushcfunction(L, load_entry);
  lua_pushlightuserdata(L, &request);
  detail::arm(this, true);
  loading_source = chunkname.c_str();
  const int status = lua_pcall(L, 1, 1, 0);
  const int line_at_return = return_line;
  detail::disarm(this);
  loading_source = nullptr;
  if (status != LUA_OK) {
    return make_error(ErrorCode::kRule, "rule file " + file.string() + " failed to load: " + failure(status, base, file));
  }
  if (request.syntax_error) {
    std::string message = with_path(error_text(), file);
    if (message.compare(0, file.string().size(), file.string()) != 0) message = file.string() + ": " + message;
    lua_settop(L, base);
    return make_error(ErrorCode::kRule, message);
  }
  return_line = line_at_return;

  // The result: one rule table (it has an `id`) or a list of them.
  const int result = lua_gettop(L);
  auto file_error = [&](const std::string& what) {
    lua_settop(L, base);
    return make_error(ErrorCode::kRule, file.string() + (line_at_return > 0 ? ":" + std::to_string(line_at_return) : "") +
                                            ": " + what);
  };
  if (lua_type(L, result) != LUA_TTABLE) {
    return file_error(std::string("a rule file must return a rule table or a list of them, got ") +
                      luaL_typename(L, result));
  }
  lua_pushliteral(L, "id");
  const bool single = lua_rawget(L, result) != LUA_TNIL;
  lua_pop(L, 1);
  if (single) {
    lua_createtable(L, 1, 0);
    lua_pushvalue(L, result);
    lua_rawseti(L, -2, 1);
    lua_replace(L, result);
  }
  const lua_Unsigned count = lua_rawlen(L, result);
  if (count == 0) return file_error("a rule file must return a rule table or a non-empty list of them");

  std::vector<RuleInfo> loaded;
  std::set<std::string, std::less<>> file_ids;
  for (lua_Unsigned i = 1; i <= count; ++i) {
    if (lua_rawgeti(L, result, static_cast<lua_Integer>(i)) != LUA_TTABLE) {
      return file_error("item " + std::to_string(i) + " of the returned list is not a rule table");
    }
    RuleInfo info;
    std::string error;
    if (!validate_rule(lua_gettop(L), static_cast<int>(i), file, source, info, error)) {
      lua_settop(L, base);
      return make_error(ErrorCode::kRule, error);
    }
    if (ids.count(info.id) != 0 || file_ids.count(info.id) != 0) {
      std::string where = file.string() + (info.line > 0 ? ":" + std::to_string(info.line) : "");
      std::string previous;
      for (const RuleInfo& r : rules) {
        if (r.id == info.id) previous = " (first defined in " + r.file.string() + ")";
      }
      lua_settop(L, base);
      return make_error(ErrorCode::kRule, where + ": duplicate rule id " + in_quotes(info.id) + previous);
    }
    file_ids.insert(info.id);
    loaded.push_back(std::move(info));
    lua_pop(L, 1);
  }

  // Everything checked: keep the functions (registry refs, so a call needs no name lookup).
  for (lua_Unsigned i = 1; i <= count; ++i) {
    lua_rawgeti(L, result, static_cast<lua_Integer>(i));
    Functions fns;
    lua_pushliteral(L, "record");
    if (lua_rawget(L, -2) == LUA_TFUNCTION) fns.record = luaL_ref(L, LUA_REGISTRYINDEX); else lua_pop(L, 1);
    lua_pushliteral(L, "document");
    if (lua_rawget(L, -2) == LUA_TFUNCTION) fns.document = luaL_ref(L, LUA_REGISTRYINDEX); else lua_pop(L, 1);
    lua_pop(L, 1);
    functions.push_back(fns);
  }
  lua_settop(L, base);
  for (RuleInfo& info : loaded) {
    ids.insert(info.id);
    rules.push_back(std::move(info));
  }
  return Ok{};
}

RuleHost::RuleHost() : impl_(std::make_unique<Impl>()) {}
RuleHost::~RuleHost() = default;

Result<std::unique_ptr<RuleHost>> RuleHost::create(const Limits& limits) {
  std::unique_ptr<RuleHost> host(new RuleHost());
  Impl& h = *host->impl_;
  h.limits = limits;
  if (detail::new_state(&h) == nullptr) return make_error(ErrorCode::kInternal, "cannot create a Lua state");
  lua_pushcfunction(h.L, setup_entry);
  if (lua_pcall(h.L, 0, 0, 0) != LUA_OK) {
    std::string why = h.error_text();
    return make_error(ErrorCode::kInternal, "cannot set up the Lua sandbox: " + why);
  }
  lua_gc(h.L, LUA_GCCOLLECT);
  return host;
}

std::vector<Error> RuleHost::load_directory(const std::filesystem::path& dir) {
  std::vector<Error> errors;
  std::error_code ec;
  std::vector<std::filesystem::path> files;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec) {
    errors.push_back(make_error(ErrorCode::kIo, dir.string() + ": cannot read rule directory: " + ec.message()));
    return errors;
  }
  for (const auto& entry : it) {
    std::error_code type_ec;
    if (entry.path().extension() == ".lua" && entry.is_regular_file(type_ec)) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end(),
            [](const auto& a, const auto& b) { return a.filename().string() < b.filename().string(); });
  for (const auto& file : files) {
    Status status = load_file(file);
    if (!status) errors.push_back(std::move(status).error());
  }
  return errors;
}

Status RuleHost::load_file(const std::filesystem::path& file) {
  try {
    return impl_->load(file);
  } catch (const std::exception& e) {  // allocation failure on the C++ side
    return make_error(ErrorCode::kInternal, file.string() + ": " + e.what());
  }
}

const std::vector<RuleInfo>& RuleHost::rules() const noexcept { return impl_->rules; }

Status RuleHost::run_record(std::size_t rule_index, const json::Value& record, std::size_t record_index,
                            std::vector<RuleReport>& out) {
  Impl& h = *impl_;
  if (rule_index >= h.rules.size()) return make_error(ErrorCode::kUsage, "run_record: no rule #" + std::to_string(rule_index));
  const int fn = h.functions[rule_index].record;
  if (fn == LUA_NOREF) return Ok{};
  lua_State* L = h.L;
  const int base = lua_gettop(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, fn);
  detail::push_record_view(L, &record, record_index);
  lua_rawgeti(L, LUA_REGISTRYINDEX, h.report_ref);
  h.out = &out;
  h.current_rule = rule_index;
  h.record_mode = true;
  h.record_index = record_index;
  h.record_count = 0;
  detail::arm(&h, false);
  const int status = lua_pcall(L, 2, 0, 0);
  detail::disarm(&h);
  h.out = nullptr;
  if (status == LUA_OK) return Ok{};
  return h.rule_failure(rule_index, status, base);
}

Status RuleHost::run_document(std::size_t rule_index, std::span<const json::Value* const> records,
                              const json::Value& root, std::vector<RuleReport>& out) {
  return run_document(rule_index, records, RecordPointerFn{}, root, out);
}

Status RuleHost::run_document(std::size_t rule_index, std::span<const json::Value* const> records,
                              const RecordPointerFn& record_pointer, const json::Value& root,
                              std::vector<RuleReport>& out) {
  Impl& h = *impl_;
  if (rule_index >= h.rules.size()) {
    return make_error(ErrorCode::kUsage, "run_document: no rule #" + std::to_string(rule_index));
  }
  const int fn = h.functions[rule_index].document;
  if (fn == LUA_NOREF) return Ok{};
  lua_State* L = h.L;
  const int base = lua_gettop(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, fn);
  detail::push_records_view(L, records);
  lua_rawgeti(L, LUA_REGISTRYINDEX, h.report_ref);
  detail::push_value(L, &root);
  h.out = &out;
  h.current_rule = rule_index;
  h.record_mode = false;
  h.record_index = 0;
  h.record_count = records.size();
  h.record_pointer = record_pointer ? &record_pointer : nullptr;
  h.records = records;
  h.root = &root;
  detail::arm(&h, false);
  const int status = lua_pcall(L, 3, 0, 0);
  detail::disarm(&h);
  h.record_pointer = nullptr;
  h.records = {};
  h.root = nullptr;
  h.out = nullptr;
  if (status == LUA_OK) return Ok{};
  return h.rule_failure(rule_index, status, base);
}

void RuleHost::run_record_rules(std::span<const std::size_t> rule_indexes, const json::Value& record,
                                std::size_t record_index, std::vector<RuleReport>& out,
                                std::vector<RuleFailure>& failures) {
  Impl& h = *impl_;
  for (const std::size_t rule : rule_indexes) {
    if (rule >= h.rules.size()) {
      failures.push_back({rule, make_error(ErrorCode::kUsage, "run_record_rules: no rule #" + std::to_string(rule))});
    }
  }
  Impl::FusedCall call{&h, rule_indexes.data(), rule_indexes.size(), 0, &record, record_index, &failures};
  lua_State* L = h.L;
  const int base = lua_gettop(L);
  h.out = &out;
  h.record_mode = true;
  h.record_index = record_index;
  h.record_count = 0;
  while (call.position < call.count) {
    lua_pushcfunction(L, Impl::fused_entry);
    lua_pushlightuserdata(L, &call);
    const int status = lua_pcall(L, 1, 0, 0);
    if (status == LUA_OK) break;
    // The dispatcher itself failed (the heap is exhausted outside any rule's code): blame the rule
    // it was at and go on with the next.
    const std::size_t rule = call.rules[call.position];
    if (rule < h.rules.size()) {
      h.record_failure(failures, rule, status, base);
    } else {
      lua_settop(L, base);
      h.stop = detail::Stop::kNone;
    }
    ++call.position;
  }
  detail::disarm(&h);
  h.out = nullptr;
  lua_settop(L, base);
}

void RuleHost::set_data(std::string name, std::shared_ptr<const json::Document> doc) {
  Impl& h = *impl_;
  std::size_t slot = 0;
  while (slot < h.data.size() && h.data[slot].name != name) ++slot;
  if (slot == h.data.size()) {
    if (doc == nullptr) return;
    h.data.push_back(detail::DataSlot{name, nullptr, 0});
  }
  const bool present = doc != nullptr;
  h.data[slot].doc = std::move(doc);
  h.data[slot].epoch = ++h.data_epochs;  // views of the previous document go stale
  ++h.document_token;
  Impl::DataRequest request{slot, h.data[slot].name.data(), h.data[slot].name.size(), present};
  lua_State* L = h.L;
  const int base = lua_gettop(L);
  lua_pushcfunction(L, Impl::set_data_entry);
  lua_pushlightuserdata(L, &request);
  lua_pcall(L, 1, 0, 0);  // cannot fail but for exhaustion of the process's own memory
  lua_settop(L, base);
}

void RuleHost::set_call_state(CallState* state) noexcept {
  impl_->call_state = state;
  ++impl_->document_token;
}

void RuleHost::begin_document() noexcept { ++impl_->document_token; }

void RuleHost::set_duplicate_hash_mask_for_testing(std::uint64_t mask) noexcept { impl_->duplicate_hash_mask = mask; }

}  // namespace flowguard::lua
