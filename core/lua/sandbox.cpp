// The sandbox: allocator with a cap, instruction budget, the shared globals rules see, and the
// wrappers that keep pcall/xpcall/load/setmetatable from opening a way out.
//
// Layout of what a rule file sees: its own environment table (so `x = 1` in one file is invisible
// to others) whose __index is one shared table of base functions (immutable C functions only).
// Library tables (string, table, math, utf8, fg) and the forbidden stubs are copied per file, so
// `string.upper = nil` or `rawset(os, ...)` changes only that file's copy. The real string library
// (the strings' metatable __index) is never handed out: getmetatable("") returns a read-only proxy.

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "internal.hpp"

namespace flowguard::lua::detail {
namespace {

// Registry keys.
constexpr const char* kShared = "flowguard.shared";
constexpr const char* kEnvMeta = "flowguard.envmeta";
constexpr const char* kLibKeys[][2] = {
    {"string", "flowguard.lib.string"}, {"table", "flowguard.lib.table"}, {"math", "flowguard.lib.math"},
    {"utf8", "flowguard.lib.utf8"},     {"fg", "flowguard.lib.fg"},
};
constexpr const char* kStubTables[][2] = {
    {"os", "flowguard.stub.os"},
    {"io", "flowguard.stub.io"},
    {"package", "flowguard.stub.package"},
    {"debug", "flowguard.stub.debug"},
};
constexpr const char* kBaseNames[] = {"assert", "error",   "ipairs",   "next",         "pairs",
                                      "rawequal", "rawget", "rawlen",  "rawset",       "select",
                                      "getmetatable", "tonumber", "tostring", "type", "_VERSION"};
constexpr const char* kForbiddenFunctions[] = {"dofile", "loadfile", "collectgarbage"};

// After a stop the hook fires again soon, so message handlers and __close handlers cannot run on.
constexpr int kAfterStopCount = 1000;

void* sandbox_alloc(void* ud, void* ptr, std::size_t osize, std::size_t nsize) {
  auto* h = static_cast<HostState*>(ud);
  const std::size_t old = ptr != nullptr ? osize : 0;  // for new blocks osize is a type tag
  if (nsize == 0) {
    std::free(ptr);
    h->used -= old;
    return nullptr;
  }
  if (nsize > old && h->enforce && h->used - old + nsize > h->limits.memory_bytes) {
    h->alloc_failed = true;  // Lua retries once after an emergency GC, then raises LUA_ERRMEM
    return nullptr;
  }
  void* block = std::realloc(ptr, nsize);
  if (block == nullptr) {
    if (nsize <= old) {  // Lua assumes shrinking never fails: keep the old block
      h->used = h->used - old + nsize;
      return ptr;
    }
    h->alloc_failed = true;
    return nullptr;
  }
  h->used = h->used - old + nsize;
  return block;
}

void arm_hook(lua_State* L, HostState* h, int count) noexcept;

void budget_hook(lua_State* L, lua_Debug* ar) {
  HostState* h = host(L);
  if (ar->event == LUA_HOOKRET) {
    // While loading: remember where the rule file's main chunk returns (a rule's line when it has
    // no functions to take the line from).
    if (h->loading && lua_getinfo(L, "Sl", ar) != 0 && ar->what != nullptr && std::strcmp(ar->what, "main") == 0 &&
        h->loading_source != nullptr && std::strcmp(ar->source, h->loading_source) == 0) {
      h->return_line = ar->currentline;
    }
    return;
  }
  if (ar->event != LUA_HOOKCOUNT) return;
  if (h->stop == Stop::kNone) {
    const auto spent = static_cast<std::uint64_t>(h->step);
    h->remaining = h->remaining > spent ? h->remaining - spent : 0;
    if (h->remaining > 0) {
      arm_hook(L, h, static_cast<int>(std::min<std::uint64_t>(h->remaining, INT_MAX)));
      return;
    }
    h->stop = Stop::kBudget;
    arm_hook(L, h, kAfterStopCount);
  }
  luaL_error(L, "instruction budget exceeded");
}

}  // namespace

void charge_budget(lua_State* L, std::uint64_t steps) {
  HostState* h = host(L);
  if (!h->in_call) return;
  if (h->stop == Stop::kNone) {
    h->remaining = h->remaining > steps ? h->remaining - steps : 0;
    if (h->remaining > 0) return;
    h->stop = Stop::kBudget;
    h->stop_in_pattern = true;
    arm_hook(L, h, kAfterStopCount);
  }
  luaL_error(L, "instruction budget exceeded");
}

namespace {

void arm_hook(lua_State* L, HostState* h, int count) noexcept {
  h->step = count;
  lua_sethook(L, budget_hook, LUA_MASKCOUNT | (h->loading ? LUA_MASKRET : 0), count);
}

// Marks a stop seen by a wrapper and tells the caller to re-raise it.
bool must_reraise(lua_State* L, HostState* h, int status) {
  if (status == LUA_OK) return false;
  if (h->stop == Stop::kNone) {
    if (status == LUA_ERRMEM || (status == LUA_ERRERR && h->alloc_failed)) {
      h->stop = Stop::kMemory;
      arm_hook(L, h, kAfterStopCount);
    }
  }
  return h->stop != Stop::kNone;
}

int sb_pcall(lua_State* L) {
  luaL_checkany(L, 1);
  const int status = lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0);
  if (must_reraise(L, host(L), status)) return lua_error(L);
  lua_pushboolean(L, status == LUA_OK);
  lua_insert(L, 1);
  return lua_gettop(L);
}

// The message handler of a sandboxed xpcall. An error raised by the budget hook reaches the handler
// while Lua still has hooks disabled (we are inside the hook), so a rule's handler would run with no
// budget at all: after a stop the rule's handler is skipped.
int xpcall_handler(lua_State* L) {
  if (host(L)->stop != Stop::kNone) return 1;
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, 1);
  return 1;
}

int sb_xpcall(lua_State* L) {
  const int n = lua_gettop(L);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  // Move the (wrapped) handler below the function: [msgh, f, args...].
  lua_pushvalue(L, 1);
  lua_pushvalue(L, 2);
  lua_pushcclosure(L, xpcall_handler, 1);
  lua_replace(L, 1);
  lua_replace(L, 2);
  const int status = lua_pcall(L, n - 2, LUA_MULTRET, 1);
  if (must_reraise(L, host(L), status)) return lua_error(L);
  lua_pushboolean(L, status == LUA_OK);
  lua_replace(L, 1);
  return lua_gettop(L);
}

// load(chunk [, chunkname [, mode [, env]]]): text only, default environment = the file's.
int sb_load(lua_State* L) {
  std::size_t len = 0;
  if (lua_type(L, 1) != LUA_TSTRING) {
    return luaL_error(L, "flowguard sandbox: load accepts only a string chunk");
  }
  const char* chunk = lua_tolstring(L, 1, &len);
  const char* name = luaL_optstring(L, 2, "=(load)");
  const int env = lua_isnoneornil(L, 4) ? lua_upvalueindex(1) : 4;
  const int status = luaL_loadbufferx(L, chunk, len, name, "t");  // mode argument ignored: never "b"
  if (status == LUA_OK) {
    lua_pushvalue(L, env);
    if (lua_setupvalue(L, -2, 1) == nullptr) lua_pop(L, 1);
    return 1;
  }
  if (status == LUA_ERRMEM) {
    must_reraise(L, host(L), status);
    return lua_error(L);
  }
  lua_pushnil(L);
  lua_insert(L, -2);
  return 2;
}

// setmetatable refusing __gc: finalizers would run at arbitrary times, inside other rules' calls
// and budgets.
int sb_setmetatable(lua_State* L) {
  if (lua_type(L, 2) == LUA_TTABLE) {
    lua_pushliteral(L, "__gc");
    const int t = lua_rawget(L, 2);
    lua_pop(L, 1);
    if (t != LUA_TNIL) return luaL_error(L, "flowguard sandbox: '__gc' metamethods are not available to rules");
  }
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, 1);
  return 1;
}

// string.rep("", huge) loops in C without running a VM instruction: answer it directly.
int sb_rep(lua_State* L) {
  std::size_t len = 0;
  std::size_t sep = 0;
  luaL_checklstring(L, 1, &len);
  const lua_Integer n = luaL_checkinteger(L, 2);
  luaL_optlstring(L, 3, "", &sep);
  if (n <= 0 || len + sep == 0) {
    lua_pushliteral(L, "");
    return 1;
  }
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, 1);
  return 1;
}

int forbidden(lua_State* L) {
  return luaL_error(L, "flowguard sandbox: '%s' is not available to rules", lua_tostring(L, lua_upvalueindex(1)));
}

void push_forbidden(lua_State* L, const char* name) {
  lua_pushstring(L, name);
  lua_pushcclosure(L, forbidden, 1);
}

int read_only(lua_State* L) { return luaL_error(L, "flowguard sandbox: this table is read-only"); }

// A userdata whose fields read from the table at -1 (popped) and which cannot be written.
void push_read_only_proxy(lua_State* L) {
  const int source = lua_gettop(L);
  lua_newuserdatauv(L, 0, 0);
  lua_createtable(L, 0, 3);
  lua_pushvalue(L, source);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, read_only);
  lua_setfield(L, -2, "__newindex");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_setmetatable(L, -2);
  lua_remove(L, source);
}

// Copies the template table registered under `key` into a fresh table left on the stack.
void push_copy(lua_State* L, const char* key) {
  lua_getfield(L, LUA_REGISTRYINDEX, key);
  const int source = lua_gettop(L);
  lua_createtable(L, 0, 32);
  lua_pushnil(L);
  while (lua_next(L, source) != 0) {
    lua_pushvalue(L, -2);
    lua_insert(L, -2);
    lua_rawset(L, -4);
  }
  lua_remove(L, source);
}

}  // namespace

lua_State* new_state(HostState* h) {
  lua_State* L = lua_newstate(sandbox_alloc, h);
  if (L == nullptr) return nullptr;
  *static_cast<HostState**>(lua_getextraspace(L)) = h;
  h->L = L;
  return L;
}

int setup_sandbox(lua_State* L) {
  luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
  const int globals = lua_gettop(L);

  // string: dump replaced, rep guarded. This table stays the strings' metatable __index and is the
  // template the per-file copies come from; rules only ever reach copies or a read-only proxy.
  luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 0);
  const int strlib = lua_gettop(L);
  push_forbidden(L, "string.dump");
  lua_setfield(L, strlib, "dump");
  lua_getfield(L, strlib, "rep");
  lua_pushcclosure(L, sb_rep, 1);
  lua_setfield(L, strlib, "rep");
  install_patterns(L, strlib);  // the patterns run under the instruction budget
  lua_pushvalue(L, strlib);
  lua_setfield(L, LUA_REGISTRYINDEX, "flowguard.lib.string");
  // getmetatable("") -> proxy whose __index is a read-only view of the string library.
  lua_pushliteral(L, "");
  lua_getmetatable(L, -1);
  const int strmeta = lua_gettop(L);
  lua_createtable(L, 0, 1);
  lua_pushvalue(L, strlib);
  push_read_only_proxy(L);
  lua_setfield(L, -2, "__index");
  push_read_only_proxy(L);
  lua_setfield(L, strmeta, "__metatable");
  lua_settop(L, globals);

  luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 0);
  lua_setfield(L, LUA_REGISTRYINDEX, "flowguard.lib.table");
  luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 0);
  lua_setfield(L, LUA_REGISTRYINDEX, "flowguard.lib.math");
  luaL_requiref(L, LUA_UTF8LIBNAME, luaopen_utf8, 0);
  lua_setfield(L, LUA_REGISTRYINDEX, "flowguard.lib.utf8");
  push_fg_table(L);
  lua_setfield(L, LUA_REGISTRYINDEX, "flowguard.lib.fg");

  // Shared base functions.
  lua_createtable(L, 0, 24);
  const int shared = lua_gettop(L);
  for (const char* name : kBaseNames) {
    lua_getfield(L, globals, name);
    lua_setfield(L, shared, name);
  }
  lua_pushcfunction(L, sb_pcall);
  lua_setfield(L, shared, "pcall");
  lua_pushcfunction(L, sb_xpcall);
  lua_setfield(L, shared, "xpcall");
  lua_getfield(L, globals, "setmetatable");
  lua_pushcclosure(L, sb_setmetatable, 1);
  lua_setfield(L, shared, "setmetatable");
  for (const char* name : kForbiddenFunctions) {
    push_forbidden(L, name);
    lua_setfield(L, shared, name);
  }
  // require: the built-in flowguard.* modules only (modules.cpp), one read-only instance per state.
  register_modules(L);
  lua_pushcfunction(L, sandbox_require);
  lua_setfield(L, shared, "require");
  lua_setfield(L, LUA_REGISTRYINDEX, kShared);

  lua_createtable(L, 0, 2);
  lua_getfield(L, LUA_REGISTRYINDEX, kShared);
  lua_setfield(L, -2, "__index");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_setfield(L, LUA_REGISTRYINDEX, kEnvMeta);

  // Forbidden libraries: any use of the table (index, assignment, call) names it.
  for (const auto& stub : kStubTables) {
    lua_createtable(L, 0, 4);
    for (const char* event : {"__index", "__newindex", "__call"}) {
      push_forbidden(L, stub[0]);
      lua_setfield(L, -2, event);
    }
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setfield(L, LUA_REGISTRYINDEX, stub[1]);
  }

  // The real global table is never any chunk's environment; empty it anyway (defence in depth).
  lua_pushnil(L);
  while (lua_next(L, globals) != 0) {
    lua_pop(L, 1);
    lua_pushvalue(L, -1);
    lua_pushnil(L);
    lua_rawset(L, globals);
  }
  lua_settop(L, 0);
  return 0;
}

void push_file_env(lua_State* L) {
  lua_createtable(L, 0, 16);
  const int env = lua_gettop(L);
  for (const auto& lib : kLibKeys) {
    push_copy(L, lib[1]);
    lua_setfield(L, env, lib[0]);
  }
  for (const auto& stub : kStubTables) {
    lua_createtable(L, 0, 0);
    lua_getfield(L, LUA_REGISTRYINDEX, stub[1]);
    lua_setmetatable(L, -2);
    lua_setfield(L, env, stub[0]);
  }
  lua_pushvalue(L, env);
  lua_pushcclosure(L, sb_load, 1);
  lua_setfield(L, env, "load");
  lua_pushvalue(L, env);
  lua_setfield(L, env, "_G");
  lua_getfield(L, LUA_REGISTRYINDEX, kEnvMeta);
  lua_setmetatable(L, env);
}

void arm(HostState* h, bool loading) {
  h->stop = Stop::kNone;
  h->stop_in_pattern = false;
  h->call_reports = 0;
  for (auto& t : h->tally) t = HostState::kNoTally;
  h->alloc_failed = false;
  h->loading = loading;
  h->return_line = 0;
  h->remaining = std::max<std::uint64_t>(h->limits.instructions_per_call, 1);
  arm_hook(h->L, h, static_cast<int>(std::min<std::uint64_t>(h->remaining, INT_MAX)));
  h->enforce = true;
  h->in_call = true;
}

void rule_done(HostState* h) { h->enforce = false; }

void disarm(HostState* h) {
  h->enforce = false;
  h->in_call = false;
  h->loading = false;
  ++h->generation;
}

Stop classify_stop(HostState* h, int status) {
  if (h->stop != Stop::kNone) return h->stop;
  if (status == LUA_ERRMEM || (status == LUA_ERRERR && h->alloc_failed)) return Stop::kMemory;
  return Stop::kNone;
}

}  // namespace flowguard::lua::detail
