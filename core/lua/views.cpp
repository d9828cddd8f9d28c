// Read-only views of JSON values for rules: one small userdata per record/object/array, nothing
// copied up front. Scalars are converted when read. A view carries the generation of the call it
// was made in; once that call ends the generation moves on and the view refuses to be used (the
// Value it points to may be gone). Views of shared data (fg.data) carry their data slot and its
// epoch instead: they stay valid until RuleHost::set_data replaces that slot's document.

#include <algorithm>
#include <charconv>
#include <cstring>
#include <new>
#include <thread>

#include "flowguard/ascii.hpp"
#include "flowguard/key_index.hpp"
#include "internal.hpp"

namespace flowguard::lua::detail {

char null_sentinel = 0;

namespace {

enum class ViewKind : std::uint8_t { kRecord, kObject, kArray, kRecords };

constexpr std::uint32_t kNoSlot = 0xFFFFFFFFu;

struct View {
  const json::Value* value;          // record/object/array
  const json::Value* const* list;    // kRecords: the document's records
  std::size_t extra;                 // kRecord: 0-based record index; kRecords: record count
  std::uint32_t generation;          // call generation; for data views (slot set) the slot's epoch
  std::uint32_t slot;                // data slot of a fg.data view, else kNoSlot
  ViewKind kind;
};

// A new view of the current call, or (with `parent`) one as long-lived as `parent`.
View* new_view(lua_State* L, ViewKind kind, const View* parent = nullptr) {
  HostState* h = host(L);
  auto* v = static_cast<View*>(lua_newuserdatauv(L, sizeof(View), 0));
  v->value = nullptr;
  v->list = nullptr;
  v->extra = 0;
  v->generation = parent != nullptr ? parent->generation : h->generation;
  v->slot = parent != nullptr ? parent->slot : kNoSlot;
  v->kind = kind;
  lua_rawgeti(L, LUA_REGISTRYINDEX, h->view_meta_ref);
  lua_setmetatable(L, -2);
  return v;
}

void check_live(lua_State* L, const View* v) {
  const HostState* h = host(L);
  if (v->slot == kNoSlot) {
    if (v->generation != h->generation || !h->in_call) luaL_error(L, "record view used outside its rule call");
  } else if (v->slot >= h->data.size() || h->data[v->slot].epoch != v->generation) {
    luaL_error(L, "fg.data view used after its data was replaced or removed");
  }
}

void push_child(lua_State* L, const json::Value* value, const View* parent);

// For metamethods: argument 1 is known to be a view.
View* self_view(lua_State* L) {
  auto* v = static_cast<View*>(lua_touserdata(L, 1));
  check_live(L, v);
  return v;
}

View* to_view(lua_State* L, int idx) {
  if (lua_type(L, idx) != LUA_TUSERDATA || !lua_getmetatable(L, idx)) return nullptr;
  const bool same = lua_topointer(L, -1) == host(L)->view_meta;
  lua_pop(L, 1);
  return same ? static_cast<View*>(lua_touserdata(L, idx)) : nullptr;
}

// For methods called as view:method(...): argument 1 must be a live view.
View* check_view(lua_State* L) {
  View* v = to_view(L, 1);
  if (v == nullptr) luaL_typeerror(L, 1, "flowguard view");
  check_live(L, v);
  return v;
}

bool is_object_like(const View* v) { return v->kind == ViewKind::kRecord || v->kind == ViewKind::kObject; }

std::size_t item_count(const View* v) {
  switch (v->kind) {
    case ViewKind::kArray: return v->value->size();
    case ViewKind::kRecords: return v->extra;
    default: return 0;
  }
}

// The i-th (1-based) item of an array or records view, or nullptr.
const json::Value* item(const View* v, lua_Integer i) {
  if (i < 1 || static_cast<std::size_t>(i) > item_count(v)) return nullptr;
  const auto k = static_cast<std::size_t>(i - 1);
  return v->kind == ViewKind::kArray ? &v->value->items()[k] : v->list[k];
}

void push_number(lua_State* L, const json::Value* value) {
  const std::string_view text = value->number_text();
  if (value->is_integer_text()) {
    std::int64_t n = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec == std::errc() && end == text.data() + text.size()) {
      lua_pushinteger(L, static_cast<lua_Integer>(n));
      return;
    }
  }
  lua_pushnumber(L, static_cast<lua_Number>(value->as_double()));
}

// Pushes the child of `v` at position `i`: a records view yields record views.
void push_item(lua_State* L, const View* v, lua_Integer i) {
  const json::Value* child = item(v, i);
  if (child == nullptr) {
    lua_pushnil(L);
  } else if (v->kind == ViewKind::kRecords) {
    push_record_view(L, child, static_cast<std::size_t>(i - 1));
  } else {
    push_child(L, child, v);
  }
}

// Direct member scan (first member with the key; objects here are small).
inline const json::Value* find_key(const json::Value* object, const char* key, std::size_t n) {
  for (const json::Member& m : object->members()) {
    // Length, then the first and last bytes, before memcmp: keys of one length rarely share both.
    if (m.key.size() == n &&
        (n == 0 || (m.key[0] == key[0] && m.key[n - 1] == key[n - 1] && std::memcmp(m.key.data(), key, n) == 0))) {
      return &m.value;
    }
  }
  return nullptr;
}

// Child addressed by argument `arg`: a key for objects, a 1-based index for arrays.
const json::Value* child_arg(lua_State* L, const View* v, int arg) {
  if (is_object_like(v)) {
    std::size_t n = 0;
    const char* key = luaL_checklstring(L, arg, &n);
    return find_key(v->value, key, n);
  }
  return item(v, luaL_checkinteger(L, arg));
}

const char* kind_name(json::Kind kind) {
  switch (kind) {
    case json::Kind::kNull: return "null";
    case json::Kind::kFalse:
    case json::Kind::kTrue: return "boolean";
    case json::Kind::kNumber: return "number";
    case json::Kind::kString: return "string";
    case json::Kind::kArray: return "array";
    case json::Kind::kObject: return "object";
  }
  return "null";
}

// --- methods

int m_has(lua_State* L) {
  const View* v = check_view(L);
  lua_pushboolean(L, child_arg(L, v, 2) != nullptr);
  return 1;
}

int m_get(lua_State* L) {
  const View* v = check_view(L);
  if (v->kind == ViewKind::kRecords) {
    push_item(L, v, luaL_checkinteger(L, 2));
    return 1;
  }
  const json::Value* c = child_arg(L, v, 2);
  if (c == nullptr) return 0;
  push_child(L, c, v);
  return 1;
}

int m_raw(lua_State* L) {
  const View* v = check_view(L);
  const json::Value* c = child_arg(L, v, 2);
  if (c == nullptr || !c->is_number()) return 0;
  const std::string_view text = c->number_text();
  lua_pushlstring(L, text.data(), text.size());
  return 1;
}

int m_decimals(lua_State* L) {
  const View* v = check_view(L);
  const json::Value* c = child_arg(L, v, 2);
  if (c == nullptr || !c->is_number()) return 0;
  lua_pushinteger(L, static_cast<lua_Integer>(c->decimal_places()));
  return 1;
}

int m_kind(lua_State* L) {
  const View* v = check_view(L);
  const json::Value* c = child_arg(L, v, 2);
  if (c == nullptr) return 0;
  lua_pushstring(L, kind_name(c->kind()));
  return 1;
}

int m_keys(lua_State* L) {
  const View* v = check_view(L);
  if (!is_object_like(v)) {
    lua_createtable(L, 0, 0);
    return 1;
  }
  const auto members = v->value->members();
  lua_createtable(L, static_cast<int>(members.size()), 0);
  lua_Integer i = 0;
  for (const json::Member& m : members) {
    lua_pushlstring(L, m.key.data(), m.key.size());
    lua_rawseti(L, -2, ++i);
  }
  return 1;
}

int m_index(lua_State* L) {
  const View* v = check_view(L);
  if (v->kind != ViewKind::kRecord) return 0;
  lua_pushinteger(L, static_cast<lua_Integer>(v->extra + 1));
  return 1;
}

// Builds the fingerprint into the host's scratch buffer; false on allocation failure.
bool fingerprint_view(HostState* h, const View* v) noexcept {
  try {
    h->scratch.clear();
    if (v->kind == ViewKind::kRecords) {
      h->scratch += '[';
      for (std::size_t i = 0; i < v->extra; ++i) {
        if (i != 0) h->scratch += ',';
        fingerprint(*v->list[i], h->scratch);
      }
      h->scratch += ']';
    } else {
      fingerprint(*v->value, h->scratch);
    }
    return true;
  } catch (...) {
    return false;
  }
}

int m_fingerprint(lua_State* L) {
  const View* v = check_view(L);
  HostState* h = host(L);
  if (!fingerprint_view(h, v)) return luaL_error(L, "out of memory building a fingerprint");
  lua_pushlstring(L, h->scratch.data(), h->scratch.size());
  return 1;
}

// records:duplicates(): computed into h->duplicate_pairs; false on allocation failure.
//
// One pass in record order over an open-addressing table of content hashes. A slot holds the
// earliest record with its hash; records of that hash with other contents (a collision) are
// chained after it in record order. A record equal to a chained one pairs with the earliest such
// (equality is an equivalence: at most one chained record matches), so the pairs come out with
// `duplicate` ascending and `first` the earliest record of the same content, no sort needed.
// Below this many records hashing stays on the calling thread (starting threads costs more).
constexpr std::size_t kParallelHashRecords = 20000;

bool compute_duplicates(HostState* h, const View* v) noexcept {
  try {
    const std::size_t n = v->extra;
    const json::Value* const* list = v->list;
    auto& pairs = h->duplicate_pairs;
    pairs.clear();
    if (n < 2) return true;
    std::size_t capacity = 16;
    while (capacity < n + n / 2) capacity <<= 1;  // load factor at most 2/3
    auto& slots = h->duplicate_slots;
    slots.assign(capacity, HostState::DuplicateSlot{});
    auto& next = h->duplicate_next;
    next.assign(n, HostState::kNoRecord);
    const std::size_t mask = capacity - 1;
    // Hashing reads every byte of every record: on large documents it is spread over threads
    // (a thread that cannot be started leaves its range to this one).
    auto& hashes = h->duplicate_hashes;
    hashes.resize(n);
    const std::uint64_t hash_mask = h->duplicate_hash_mask;
    auto hash_range = [&](std::size_t begin, std::size_t end) {
      RecordHasher hasher;
      for (std::size_t j = begin; j < end; ++j) hashes[j] = hasher(*list[j]) & hash_mask;
    };
    // At least kParallelHashRecords / 2 records per thread, and never more threads than asked for.
    const std::size_t threads =
        std::clamp<std::size_t>(n / (kParallelHashRecords / 2), 1, std::max(1u, h->limits.threads));
    const std::size_t chunk = (n + threads - 1) / threads;
    std::vector<std::thread> helpers;
    for (std::size_t t = 1; t < threads; ++t) {
      const std::size_t begin = std::min(n, t * chunk), end = std::min(n, begin + chunk);
      try {
        helpers.emplace_back(hash_range, begin, end);
      } catch (...) {
        hash_range(begin, end);
      }
    }
    hash_range(0, std::min(n, chunk));
    for (auto& t : helpers) t.join();
    for (std::size_t j = 0; j < n; ++j) {
      const std::uint64_t hash = hashes[j];
      for (std::size_t s = static_cast<std::size_t>(hash) & mask;; s = (s + 1) & mask) {
        HostState::DuplicateSlot& slot = slots[s];
        if (slot.first == HostState::kNoRecord) {
          slot = {hash, j};
          break;
        }
        if (slot.hash != hash) continue;
        for (std::size_t f = slot.first;; f = next[f]) {
          if (same_content(*list[f], *list[j])) {
            pairs.emplace_back(f, j);
            break;
          }
          if (next[f] == HostState::kNoRecord) {
            next[f] = j;
            break;
          }
        }
        break;
      }
    }
    return true;
  } catch (...) {
    return false;
  }
}

int m_duplicates(lua_State* L) {
  const View* v = check_view(L);
  if (v->kind != ViewKind::kRecords) return luaL_error(L, "duplicates() works on the records of a document check");
  HostState* h = host(L);
  if (!compute_duplicates(h, v)) return luaL_error(L, "out of memory finding duplicate records");
  const auto& pairs = h->duplicate_pairs;
  lua_createtable(L, static_cast<int>(pairs.size()), 0);
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    lua_createtable(L, 0, 2);
    lua_pushinteger(L, static_cast<lua_Integer>(pairs[i].first + 1));
    lua_setfield(L, -2, "first");
    lua_pushinteger(L, static_cast<lua_Integer>(pairs[i].second + 1));
    lua_setfield(L, -2, "duplicate");
    lua_rawseti(L, -2, static_cast<lua_Integer>(i + 1));
  }
  return 1;
}

// records:column(key): t[i] = records[i][key] for every record (nil where a record lacks the key or
// is not an object). One call instead of a view lookup per record, for document checks that walk
// a few fields of every record.
int m_column(lua_State* L) {
  const View* v = check_view(L);
  if (v->kind != ViewKind::kRecords) return luaL_error(L, "column() works on the records of a document check");
  std::size_t n = 0;
  const char* key = luaL_checklstring(L, 2, &n);
  const std::size_t count = item_count(v);
  lua_createtable(L, static_cast<int>(std::min<std::size_t>(count, 1u << 30)), 0);
  for (std::size_t i = 0; i < count; ++i) {
    const json::Value* record = v->list[i];
    if (!record->is_object()) continue;
    const json::Value* c = find_key(record, key, n);
    if (c == nullptr) continue;
    push_child(L, c, v);
    lua_rawseti(L, -2, static_cast<lua_Integer>(i + 1));
  }
  return 1;
}

// view:dig(k1, k2, ...): the value at that path of object keys, each key matched exactly or else
// ignoring ASCII case (the first such member), followed by the keys as the document spells them;
// nothing when a step is missing or not an object. One call for what took a lookup (and a view)
// per step.
int m_dig(lua_State* L) {
  const View* v = check_view(L);
  constexpr int kMaxSteps = 16;
  const int steps = lua_gettop(L) - 1;
  if (steps > kMaxSteps) return luaL_error(L, "dig() takes at most %d keys", kMaxSteps);
  if (!is_object_like(v) || steps < 1) return 0;
  luaL_checkstack(L, steps + 2, "dig: too many keys");
  const json::Value* at = v->value;
  // The members found, on the C stack: a Lua error unwinds this function with longjmp.
  const json::Member* spelled[kMaxSteps];
  for (int i = 2; i <= steps + 1; ++i) {
    std::size_t n = 0;
    const char* key = luaL_checklstring(L, i, &n);
    if (!at->is_object()) return 0;
    const json::Member* found = at->find_member_ignoring_case(std::string_view(key, n));
    if (found == nullptr) return 0;
    spelled[i - 2] = found;
    at = &found->value;
  }
  lua_settop(L, 1);
  push_child(L, at, v);
  for (int i = 0; i < steps; ++i) lua_pushlstring(L, spelled[i]->key.data(), spelled[i]->key.size());
  return 1 + steps;
}

// One step from the searched view down to the current value: a member's key or an item's index.
struct PathStep {
  std::string_view key;
  std::size_t index = 0;
  bool is_index = false;
};

struct KeySearch {
  const View* parent;
  const KeyIndex& wanted;  // the keys looked for, lowercased
  std::string_view base;   // the view's own pointer
  std::vector<PathStep> path;
  int out;
  lua_Integer n = 0;
};

// Pointers are built only for the members found, from the path (most members are not).
void push_found(lua_State* L, KeySearch& s, const json::Value& found, std::string_view key) {
  std::string pointer(s.base);
  for (const PathStep& step : s.path) {
    if (step.is_index) json::append_pointer(pointer, step.index);
    else json::append_pointer(pointer, step.key);
  }
  lua_createtable(L, 0, 3);
  push_child(L, &found, s.parent);
  lua_setfield(L, -2, "value");
  lua_pushlstring(L, pointer.data(), pointer.size());
  lua_setfield(L, -2, "pointer");
  lua_pushlstring(L, key.data(), key.size());
  lua_setfield(L, -2, "key");
  lua_rawseti(L, s.out, ++s.n);
}

void find_keys_in(lua_State* L, KeySearch& s, const json::Value& value, int depth) {
  if (depth > 32) return;
  if (value.is_array()) {
    const auto items = value.items();
    for (std::size_t i = 0; i < items.size(); ++i) {
      s.path.push_back({{}, i, true});
      find_keys_in(L, s, items[i], depth + 1);
      s.path.pop_back();
    }
    return;
  }
  if (!value.is_object()) return;
  std::string long_key;
  for (const json::Member& m : value.members()) {
    // The key lowercased (ASCII), in a stack buffer unless it is long.
    char small[64];
    std::string_view lower;
    if (m.key.size() <= sizeof small) {
      for (std::size_t k = 0; k < m.key.size(); ++k) small[k] = ascii_lower(m.key[k]);
      lower = std::string_view(small, m.key.size());
    } else {
      long_key.assign(m.key);
      for (char& c : long_key) c = ascii_lower(c);
      lower = long_key;
    }
    const bool hit = s.wanted.find(lower) != KeyIndex::kNotFound;
    s.path.push_back({m.key, 0, false});
    if (hit) {
      if (m.value.is_array() && m.value.size() > 0) {
        const auto items = m.value.items();
        for (std::size_t i = 0; i < items.size(); ++i) {
          s.path.push_back({{}, i, true});
          push_found(L, s, items[i], m.key);
          s.path.pop_back();
        }
      } else {
        push_found(L, s, m.value, m.key);
      }
    } else if (m.value.is_object() || m.value.is_array()) {
      find_keys_in(L, s, m.value, depth + 1);
    }
    s.path.pop_back();
  }
}

// view:find_keys(base, keys): every member at any depth (at most 32 levels) whose key, lowercased
// (ASCII), is a key of the table `keys`, as a list of { value =, pointer =, key = } in document order.
// A matching member's value is not searched further; an array value gives one entry per item.
// `base` is the view's own pointer, which the entries' pointers extend. The Lua walk it replaces
// built a string per key and a view per value; this builds them only for what it returns.
int m_find_keys(lua_State* L) {
  const View* v = check_view(L);
  std::size_t base_size = 0;
  const char* base = luaL_checklstring(L, 2, &base_size);
  luaL_checktype(L, 3, LUA_TTABLE);
  lua_settop(L, 3);
  lua_createtable(L, 0, 0);
  const int out = lua_gettop(L);
  if (v->kind == ViewKind::kRecords) return 1;  // a list of records, not a JSON value
  // The table's string keys whose value is truthy, read once per call (the rule may change the
  // table between calls), into a native index: no Lua string per member searched.
  HostState* h = host(L);
  auto& wanted = h->find_keys_wanted;
  wanted.clear();
  lua_pushnil(L);
  while (lua_next(L, 3) != 0) {
    if (lua_type(L, -2) == LUA_TSTRING && lua_toboolean(L, -1)) {
      std::size_t len = 0;
      const char* key = lua_tolstring(L, -2, &len);  // a string key: no conversion that would upset lua_next
      wanted.emplace_back(key, len);
    }
    lua_pop(L, 1);
  }
  std::vector<std::string_view> keys(wanted.begin(), wanted.end());
  const KeyIndex index(keys);
  KeySearch search{v, index, std::string_view(base, base_size), {}, out};
  find_keys_in(L, search, *v->value, 0);
  return 1;
}

// records:record_pointer(i): where record i (1-based) is in the document, when the engine said.
int m_record_pointer(lua_State* L) {
  const View* v = check_view(L);
  if (v->kind != ViewKind::kRecords) return luaL_error(L, "record_pointer() works on the records of a document check");
  const lua_Integer i = luaL_checkinteger(L, 2);
  HostState* h = host(L);
  if (h->record_pointer == nullptr || i < 1 || static_cast<std::size_t>(i) > h->record_count) {
    lua_pushnil(L);
    return 1;
  }
  std::string p;
  try {
    p = (*h->record_pointer)(static_cast<std::size_t>(i - 1));
  } catch (...) {  // out of memory: no C++ exception may unwind through Lua
    return luaL_error(L, "record_pointer(): out of memory");
  }
  lua_pushlstring(L, p.data(), p.size());
  return 1;
}

// Method names win over record fields of the same name; rec:get(key) reaches such a field.
lua_CFunction find_method(const char* k, std::size_t n) {
  switch (n) {
    case 3:
      if (std::memcmp(k, "dig", 3) == 0) return m_dig;
      if (std::memcmp(k, "has", 3) == 0) return m_has;
      if (std::memcmp(k, "raw", 3) == 0) return m_raw;
      if (std::memcmp(k, "get", 3) == 0) return m_get;
      return nullptr;
    case 4:
      if (std::memcmp(k, "kind", 4) == 0) return m_kind;
      if (std::memcmp(k, "keys", 4) == 0) return m_keys;
      return nullptr;
    case 6: return std::memcmp(k, "column", 6) == 0 ? m_column : nullptr;
    case 9: return std::memcmp(k, "find_keys", 9) == 0 ? m_find_keys : nullptr;
    case 5: return std::memcmp(k, "index", 5) == 0 ? m_index : nullptr;
    case 8: return std::memcmp(k, "decimals", 8) == 0 ? m_decimals : nullptr;
    case 10: return std::memcmp(k, "duplicates", 10) == 0 ? m_duplicates : nullptr;
    case 11: return std::memcmp(k, "fingerprint", 11) == 0 ? m_fingerprint : nullptr;
    case 14: return std::memcmp(k, "record_pointer", 14) == 0 ? m_record_pointer : nullptr;
    default: return nullptr;
  }
}

// --- metamethods

int mm_index(lua_State* L) {
  const View* v = self_view(L);
  const int type = lua_type(L, 2);
  if (type == LUA_TSTRING) {
    std::size_t n = 0;
    const char* key = lua_tolstring(L, 2, &n);
    if (lua_CFunction m = find_method(key, n)) {
      lua_pushcfunction(L, m);
      return 1;
    }
    if (!is_object_like(v)) return 0;
    const json::Value* c = find_key(v->value, key, n);
    if (c == nullptr) return 0;
    push_child(L, c, v);
    return 1;
  }
  if (type == LUA_TNUMBER) {
    int is_int = 0;
    const lua_Integer i = lua_tointegerx(L, 2, &is_int);
    if (is_int == 0) return 0;
    push_item(L, v, i);
    return 1;
  }
  return 0;
}

int mm_newindex(lua_State* L) { return luaL_error(L, "record views are read-only"); }

int mm_len(lua_State* L) {
  const View* v = self_view(L);
  lua_pushinteger(L, static_cast<lua_Integer>(item_count(v)));
  return 1;
}

int mm_eq(lua_State* L) {
  const View* a = to_view(L, 1);
  const View* b = to_view(L, 2);
  lua_pushboolean(L, a != nullptr && b != nullptr && a->kind == b->kind && a->value == b->value &&
                         a->list == b->list && a->extra == b->extra);
  return 1;
}

int mm_tostring(lua_State* L) {
  const auto* v = static_cast<const View*>(lua_touserdata(L, 1));
  switch (v->kind) {
    case ViewKind::kRecord: lua_pushfstring(L, "record view #%d", static_cast<int>(v->extra + 1)); break;
    case ViewKind::kObject: lua_pushstring(L, v->slot == kNoSlot ? "object view" : "data object view"); break;
    case ViewKind::kArray: lua_pushstring(L, v->slot == kNoSlot ? "array view" : "data array view"); break;
    case ViewKind::kRecords: lua_pushliteral(L, "records view"); break;
  }
  return 1;
}

// pairs(view): position kept in an upvalue, so duplicate keys cannot confuse the iteration.
int pairs_next(lua_State* L) {
  const View* v = check_view(L);  // a plain closure: rules can call it with anything
  const lua_Integer pos = lua_tointeger(L, lua_upvalueindex(1));
  if (is_object_like(v)) {
    const auto members = v->value->members();
    if (pos < 0 || static_cast<std::size_t>(pos) >= members.size()) return 0;
    const json::Member& m = members[static_cast<std::size_t>(pos)];
    lua_pushinteger(L, pos + 1);
    lua_replace(L, lua_upvalueindex(1));
    lua_pushlstring(L, m.key.data(), m.key.size());
    push_child(L, &m.value, v);
    return 2;
  }
  if (static_cast<std::size_t>(pos) >= item_count(v)) return 0;
  lua_pushinteger(L, pos + 1);
  lua_replace(L, lua_upvalueindex(1));
  lua_pushinteger(L, pos + 1);
  push_item(L, v, pos + 1);
  return 2;
}

int mm_pairs(lua_State* L) {
  self_view(L);
  lua_pushinteger(L, 0);
  lua_pushcclosure(L, pairs_next, 1);
  lua_pushvalue(L, 1);
  lua_pushnil(L);
  return 3;
}

bool less_member(const json::Member* a, const json::Member* b) { return a->key < b->key; }

}  // namespace

void register_views(lua_State* L) {
  lua_createtable(L, 0, 8);
  const luaL_Reg meta[] = {{"__index", mm_index}, {"__newindex", mm_newindex}, {"__len", mm_len},
                           {"__eq", mm_eq},       {"__tostring", mm_tostring}, {"__pairs", mm_pairs},
                           {nullptr, nullptr}};
  luaL_setfuncs(L, meta, 0);
  lua_pushliteral(L, "flowguard view");
  lua_setfield(L, -2, "__name");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  host(L)->view_meta = lua_topointer(L, -1);
  host(L)->view_meta_ref = luaL_ref(L, LUA_REGISTRYINDEX);
}

void push_record_view(lua_State* L, const json::Value* record, std::size_t index0) {
  View* v = new_view(L, ViewKind::kRecord);
  v->value = record;
  v->extra = index0;
}

namespace {
// A child value of `parent` (nullptr: of the current call): scalars as Lua values, containers as
// views as long-lived as the parent.
inline void push_child(lua_State* L, const json::Value* value, const View* parent) {
  switch (value->kind()) {
    case json::Kind::kNull: lua_pushlightuserdata(L, &null_sentinel); return;
    case json::Kind::kFalse: lua_pushboolean(L, 0); return;
    case json::Kind::kTrue: lua_pushboolean(L, 1); return;
    case json::Kind::kNumber: push_number(L, value); return;
    case json::Kind::kString: {
      const std::string_view s = value->as_string();
      lua_pushlstring(L, s.data(), s.size());
      return;
    }
    case json::Kind::kArray: new_view(L, ViewKind::kArray, parent)->value = value; return;
    case json::Kind::kObject: new_view(L, ViewKind::kObject, parent)->value = value; return;
  }
  lua_pushnil(L);
}
}  // namespace

void push_data_view(lua_State* L, std::size_t slot) {
  HostState* h = host(L);
  const json::Value& root = h->data[slot].doc->root();
  View parent{};
  parent.generation = h->data[slot].epoch;
  parent.slot = static_cast<std::uint32_t>(slot);
  push_child(L, &root, &parent);
}

void push_value(lua_State* L, const json::Value* value) { push_child(L, value, nullptr); }

const json::Value* view_value(lua_State* L, int idx) {
  const View* v = to_view(L, idx);
  if (v == nullptr || v->kind == ViewKind::kRecords) return nullptr;
  check_live(L, v);
  return v->value;
}

bool data_view_identity(lua_State* L, int idx, std::uint32_t& slot, std::uint32_t& epoch) {
  const View* v = to_view(L, idx);
  if (v == nullptr || v->slot == kNoSlot) return false;
  check_live(L, v);
  slot = v->slot;
  epoch = v->generation;
  return true;
}

bool records_of(lua_State* L, int idx, std::span<const json::Value* const>& out) {
  const View* v = to_view(L, idx);
  if (v == nullptr || v->kind != ViewKind::kRecords) return false;
  check_live(L, v);
  out = std::span<const json::Value* const>(v->list, v->extra);
  return true;
}

void push_view_child(lua_State* L, int parent_idx, const json::Value* value) {
  const View* parent = to_view(L, parent_idx);
  push_child(L, value, parent);
}

int view_dig(lua_State* L) { return m_dig(L); }

void push_records_view(lua_State* L, std::span<const json::Value* const> records) {
  View* v = new_view(L, ViewKind::kRecords);
  v->list = records.data();
  v->extra = records.size();
}

namespace {
bool preview_into(HostState* h, const View* v) noexcept {
  try {
    if (v->kind == ViewKind::kRecords) {
      h->scratch = "[…] (" + std::to_string(v->extra) + " items)";
    } else {
      h->scratch = json::preview(*v->value);
    }
    return true;
  } catch (...) {
    return false;
  }
}
}  // namespace

bool push_view_preview(lua_State* L, int idx) {
  const View* v = to_view(L, idx);
  if (v == nullptr) return false;
  check_live(L, v);
  HostState* h = host(L);
  if (!preview_into(h, v)) luaL_error(L, "out of memory building a preview");
  lua_pushlstring(L, h->scratch.data(), h->scratch.size());
  return true;
}

void fingerprint(const json::Value& value, std::string& out) {
  switch (value.kind()) {
    case json::Kind::kNull: out += "null"; return;
    case json::Kind::kFalse: out += "false"; return;
    case json::Kind::kTrue: out += "true"; return;
    case json::Kind::kNumber: out += value.number_text(); return;
    case json::Kind::kString: json::write_json_string(out, value.as_string()); return;
    case json::Kind::kArray: {
      out += '[';
      bool first = true;
      for (const json::Value& item : value.items()) {
        if (!first) out += ',';
        first = false;
        fingerprint(item, out);
      }
      out += ']';
      return;
    }
    case json::Kind::kObject: {
      std::vector<const json::Member*> sorted;
      sorted.reserve(value.size());
      for (const json::Member& m : value.members()) sorted.push_back(&m);
      std::stable_sort(sorted.begin(), sorted.end(), less_member);
      out += '{';
      bool first = true;
      for (const json::Member* m : sorted) {
        if (!first) out += ',';
        first = false;
        json::write_json_string(out, m->key);
        out += ':';
        fingerprint(m->value, out);
      }
      out += '}';
      return;
    }
  }
}

namespace {

// The content hash only pre-groups records for records:duplicates(): records whose hashes match are
// compared in full (same_content), so a collision costs a comparison, never a wrong answer. Hashes
// are never stored or shown, so native-endian loads are fine.
constexpr std::uint64_t kMul = 0x9E3779B97F4A7C15ull;  // 2^64 / golden ratio
// Odd constants with no structure (fractional parts of the square roots of 2, 3, 5 and 7).
constexpr std::uint64_t kK0 = 0x6A09E667F3BCC909ull;
constexpr std::uint64_t kK1 = 0xBB67AE8584CAA73Bull;
constexpr std::uint64_t kK2 = 0x3C6EF372FE94F82Bull;
constexpr std::uint64_t kK3 = 0xA54FF53A5F1D36F1ull;

// Seeds per kind keep "1" the string apart from 1 the number, and keys apart from values.
constexpr std::uint64_t kSeedNumber = kK0 * 4;
constexpr std::uint64_t kSeedString = kK1 * 5;
constexpr std::uint64_t kSeedArray = kK2 * 6;
constexpr std::uint64_t kSeedObject = kK3 * 7;
constexpr std::uint64_t kSeedKey = kMul * 8;

// Multiplies to 128 bits and folds the halves together: every bit of either operand reaches the
// result through one widening multiply.
inline std::uint64_t fold_mul(std::uint64_t a, std::uint64_t b) noexcept {
#if defined(__SIZEOF_INT128__)
  __extension__ using U128 = unsigned __int128;  // __extension__: no -Wpedantic warning
  const U128 p = static_cast<U128>(a) * b;
  return static_cast<std::uint64_t>(p) ^ static_cast<std::uint64_t>(p >> 64);
#else
  const std::uint64_t a_lo = a & 0xFFFFFFFFu, a_hi = a >> 32, b_lo = b & 0xFFFFFFFFu, b_hi = b >> 32;
  const std::uint64_t ll = a_lo * b_lo, lh = a_lo * b_hi, hl = a_hi * b_lo, hh = a_hi * b_hi;
  const std::uint64_t mid = (ll >> 32) + (lh & 0xFFFFFFFFu) + (hl & 0xFFFFFFFFu);
  const std::uint64_t lo = (ll & 0xFFFFFFFFu) | (mid << 32);
  const std::uint64_t hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
  return lo ^ hi;
#endif
}

inline std::uint64_t load64(const unsigned char* p) noexcept {
  std::uint64_t w;
  std::memcpy(&w, p, 8);
  return w;
}

inline std::uint64_t load32(const unsigned char* p) noexcept {
  std::uint32_t w;
  std::memcpy(&w, p, 4);
  return w;
}

// Final avalanche of a record's hash (its low bits pick the slot in records:duplicates()).
constexpr std::uint64_t fmix(std::uint64_t x) noexcept {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return x;
}

// 64-bit hash of `s` under `seed`, 16 bytes per step. The length enters the state first, and for a
// given length the two words (a, b) hold every byte of the tail (the last 16 bytes, or the whole
// string when shorter; overlapping loads, never a byte loop), so strings differing anywhere give
// different inputs to the last multiply.
[[gnu::always_inline]] inline std::uint64_t hash_bytes(std::string_view s, std::uint64_t seed) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  std::size_t n = s.size();
  std::uint64_t h = seed ^ (n * kMul);
  std::uint64_t a = 0;
  std::uint64_t b = 0;
  if (n <= 16) {
    if (n >= 8) {
      a = load64(p);
      b = load64(p + n - 8);
    } else if (n >= 4) {
      a = load32(p);
      b = load32(p + n - 4);
    } else if (n > 0) {
      a = (std::uint64_t{p[0]} << 16) | (std::uint64_t{p[n >> 1]} << 8) | p[n - 1];
    }
  } else {
    const unsigned char* end = p + n;
    do {
      h = fold_mul(load64(p) ^ kK0, load64(p + 8) ^ h);
      p += 16;
      n -= 16;
    } while (n > 16);
    a = load64(end - 16);
    b = load64(end - 8);
  }
  return fold_mul(a ^ kK1, b ^ kK2 ^ h);
}

bool less_member_ptr(const json::Member* a, const json::Member* b) { return a->key < b->key; }

std::uint64_t hash_value(const json::Value& value) noexcept;

// Scalars hashed in place (the members of a record are mostly strings and numbers), containers by
// the recursive call.
[[gnu::always_inline]] inline std::uint64_t hash_any(const json::Value& value) noexcept {
  switch (value.kind()) {
    case json::Kind::kString: return hash_bytes(value.as_string(), kSeedString);
    case json::Kind::kNumber: return hash_bytes(value.number_text(), kSeedNumber);
    case json::Kind::kNull: return kK3;
    case json::Kind::kFalse: return kK3 + kMul;
    case json::Kind::kTrue: return kK3 + 2 * kMul;
    default: return hash_value(value);
  }
}

// A member is its key's hash and its value's hash, multiplied together: the key's part depends on
// the key alone, so records sharing a key shape can reuse it (RecordHasher).
inline std::uint64_t key_hash(std::string_view key) noexcept { return hash_bytes(key, kSeedKey); }
inline std::uint64_t member_hash(std::uint64_t key, const json::Value& value) noexcept {
  return fold_mul(key ^ kK1, hash_any(value) ^ kK2);
}
inline std::uint64_t object_hash(std::uint64_t member_sum, std::size_t size) noexcept {
  return fold_mul(member_sum ^ kK2, kSeedObject ^ (size * kMul));
}

std::uint64_t hash_value(const json::Value& value) noexcept {
  switch (value.kind()) {
    case json::Kind::kArray: {
      std::uint64_t h = kSeedArray ^ (value.size() * kMul);
      for (const json::Value& item : value.items()) h = fold_mul(h ^ kK0, hash_any(item) ^ kK1);
      return h;
    }
    case json::Kind::kObject: {
      // A sum of the members' hashes: key order does not matter, and a repeated key counts each
      // time (as in the fingerprint).
      std::uint64_t sum = 0;
      for (const json::Member& m : value.members()) sum += member_hash(key_hash(m.key), m.value);
      return object_hash(sum, value.size());
    }
    default: return hash_any(value);
  }
}

}  // namespace

// Tags keep kinds apart ("1" the string vs 1 the number); objects sum their members' hashes, so
// key order does not matter (and a repeated key counts each time, as in the fingerprint).
std::uint64_t content_hash(const json::Value& value) noexcept { return fmix(hash_any(value)); }

std::uint64_t RecordHasher::operator()(const json::Value& record) {
  const std::uint32_t shape = record.key_shape();
  if (!shape) return content_hash(record);
  const auto members = record.members();
  if (shape != shape_) {
    shape_ = shape;
    key_hashes_.clear();
    for (const json::Member& m : members) key_hashes_.push_back(key_hash(m.key));
  }
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < members.size(); ++i) sum += member_hash(key_hashes_[i], members[i].value);
  return fmix(object_hash(sum, members.size()));
}

// Equal exactly when fingerprint() would give the same string.
bool same_content(const json::Value& a, const json::Value& b) {
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case json::Kind::kNull:
    case json::Kind::kFalse:
    case json::Kind::kTrue: return true;
    case json::Kind::kNumber: return a.number_text() == b.number_text();
    case json::Kind::kString: return a.as_string() == b.as_string();
    case json::Kind::kArray: {
      const auto x = a.items();
      const auto y = b.items();
      if (x.size() != y.size()) return false;
      for (std::size_t i = 0; i < x.size(); ++i) {
        if (!same_content(x[i], y[i])) return false;
      }
      return true;
    }
    case json::Kind::kObject: {
      const auto x = a.members();
      const auto y = b.members();
      if (x.size() != y.size()) return false;
      // Same keys in the same order (the usual repeat): compare in place; sorting would pair the
      // members the same way.
      bool same_order = true;
      for (std::size_t i = 0; i < x.size() && same_order; ++i) same_order = x[i].key == y[i].key;
      if (same_order) {
        for (std::size_t i = 0; i < x.size(); ++i) {
          if (!same_content(x[i].value, y[i].value)) return false;
        }
        return true;
      }
      std::vector<const json::Member*> sx, sy;
      sx.reserve(x.size());
      sy.reserve(y.size());
      for (const json::Member& m : x) sx.push_back(&m);
      for (const json::Member& m : y) sy.push_back(&m);
      std::stable_sort(sx.begin(), sx.end(), less_member_ptr);
      std::stable_sort(sy.begin(), sy.end(), less_member_ptr);
      for (std::size_t i = 0; i < sx.size(); ++i) {
        if (sx[i]->key != sy[i]->key || !same_content(sx[i]->value, sy[i]->value)) return false;
      }
      return true;
    }
  }
  return false;
}

}  // namespace flowguard::lua::detail
