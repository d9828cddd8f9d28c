// Private to core/lua: state shared by the rule host and the C functions it registers in Lua.
//
// Error discipline: Lua raises errors with longjmp (Debian builds Lua as C), so every C function
// called from Lua keeps only trivially destructible locals (pointers, string_views, integers).
// Anything that needs a std::string or a vector is done in a separate noexcept helper that returns
// before any Lua error can be raised.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <lua.hpp>

#include "flowguard/key_index.hpp"
#include "flowguard/lua/rule_host.hpp"

namespace flowguard::lua::detail {

enum class Stop : std::uint8_t { kNone, kBudget, kMemory };

// Shared read-only data (RuleHost::set_data). Views of it carry the slot and its epoch: replacing
// the document bumps the epoch, so views of the old one refuse to be used.
struct DataSlot {
  std::string name;
  std::shared_ptr<const json::Document> doc;
  std::uint32_t epoch = 0;
};

// flowguard.dip's shared walk of a document's messages (modules.cpp): what the DIP rules read from
// each message, found once per document for every rule that asks (rules run one after another on
// one document, each in its own call).
struct DipMessage {
  // The fields read, as the DIP matches keys (exactly, else ignoring ASCII case) and exactly as
  // spelled; nullptr when absent. Index: modules.cpp's kDipFields.
  static constexpr std::size_t kFields = 14;
  const json::Value* loose[kFields] = {};
  const json::Value* exact[kFields] = {};
  bool loose_message = false;  // CommonBlock with S0 and S1 (matched as the DIP does)
  bool exact_message = false;  // the same, spelled exactly
  bool pointer_known = false;
  std::string pointer;         // the record's JSON pointer, built when first asked for
};
struct DipMemo {
  std::uint64_t token = 0;                 // HostState::document_token when built
  const json::Value* const* list = nullptr;  // the records it was built for
  std::size_t count = 0;
  const json::Value* root = nullptr;
  std::vector<DipMessage> messages;        // one per record (unused for records that are not objects)
  // Per message, the key-set filters (HostState::dip_key_sets) with a hit that fails its test: bit k
  // for set k, kKeysWalked once the message's one walk for all sets is done.
  static constexpr std::uint32_t kKeysWalked = 0x80000000u;
  std::vector<std::uint32_t> key_hits;
  // Per message, its senderTimestamp and transactionTimestamp read once for every filter, for each
  // way of matching keys (loose, exact): 0 not read yet, 1 a real instant (times[]), 2 not one.
  struct Times {  // per time (sender, transaction): the value read last (both ways of matching keys
                  // mostly find the same one) and what it says
    const json::Value* value[2] = {};
    bool real[2] = {};
    std::int64_t seconds[2] = {};
  };
  std::vector<Times> times;
};

// A dip.filter: which messages dip.each hands to a rule (modules.cpp, rule-api.md). Made at load
// and kept for the host's life; a key-set filter's keys are read once, when it is made.
struct DipFilter {
  std::uint8_t kind = 0;         // modules.cpp's FilterKind
  std::uint32_t key_set = 0;     // key-set filters: the index into HostState::dip_key_sets
};
struct DipKeySet {
  std::vector<std::string> keys;  // lowercased (HostState::dip_all_index looks them up)
  std::uint8_t test = 0;          // modules.cpp's KeyTest
  bool always = false;            // a key too long for the walk's buffer: every message passes
};

// Why a call ended; the pcall/xpcall wrappers re-raise while this is set.
struct HostState {
  lua_State* L = nullptr;
  Limits limits;

  // Allocator accounting (sandbox.cpp). The cap is enforced only while rule code runs, so the
  // host's own bookkeeping never fails outside a protected call (that would abort via lua_atpanic).
  std::size_t used = 0;
  bool enforce = false;
  bool alloc_failed = false;

  // Instruction budget (sandbox.cpp).
  std::uint64_t remaining = 0;  // instructions left in this call
  int step = 0;                  // count the hook was armed with (the budget may exceed INT_MAX)
  Stop stop = Stop::kNone;
  bool stop_in_pattern = false;  // the budget ran out inside string pattern matching (patterns.cpp)
  bool loading = false;         // the return hook records the line of the chunk's return
  const char* loading_source = nullptr;
  int return_line = 0;

  // Current call (views.cpp / helpers.cpp).
  std::uint32_t generation = 1;  // bumped when a call ends: views from earlier calls are stale
  bool in_call = false;
  bool record_mode = false;
  std::size_t record_index = 0;   // 0-based, record mode
  std::size_t record_count = 0;   // document mode
  // Document mode, when the caller gave it: the JSON pointer of record i (0-based).
  const std::function<std::string(std::size_t)>* record_pointer = nullptr;
  std::vector<RuleReport>* out = nullptr;
  std::size_t current_rule = 0;   // rule whose code is running (RuleReport::rule)
  // Reports kept in this rule call (Limits::max_reports_per_call), and past it the kept report each
  // further one is counted on: by the severity given (0-2), 3 for the rule's own.
  std::size_t call_reports = 0;
  static constexpr std::size_t kNoTally = static_cast<std::size_t>(-1);
  std::size_t tally[4] = {kNoTally, kNoTally, kNoTally, kNoTally};
  std::span<const json::Value* const> records;  // document mode: the document's records
  const json::Value* root = nullptr;             // document mode: the whole document

  // Bumped whenever the document being checked may have changed (set_call_state, set_data,
  // begin_document): per-document memos (dip) built under another token are rebuilt.
  std::uint64_t document_token = 1;
  DipMemo dip;
  int message_meta_ref = LUA_NOREF;  // metatable of flowguard.dip message objects
  std::vector<DipFilter> dip_filters;                    // dip.filter(), by the userdata's index
  // dip.reference_memory(): the senderUniqueReferences of the run's earlier documents (with the
  // document that first used each) and how many documents it has seen; kept for the host's life.
  struct TextHash {  // lets a string_view look up a std::string key without copying it; 8 bytes a step
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      std::uint64_t h = 0x9E3779B97F4A7C15ull ^ s.size();
      std::size_t i = 0;
      for (; i + 8 <= s.size(); i += 8) {
        std::uint64_t w;
        __builtin_memcpy(&w, s.data() + i, 8);
        h = (h ^ w) * 0xFF51AFD7ED558CCDull;
        h ^= h >> 29;
      }
      for (; i < s.size(); ++i) h = (h ^ static_cast<unsigned char>(s[i])) * 0x100000001B3ull;
      return static_cast<std::size_t>(h ^ (h >> 32));
    }
  };
  struct DipReferenceMemory {
    std::unordered_map<std::string, std::int64_t, TextHash, std::equal_to<>> earlier;
    std::int64_t documents = 0;
  };
  std::vector<std::unique_ptr<DipReferenceMemory>> dip_memories;
  // dip.reference_repeats(): the repeats found, before they are handed to Lua.
  struct DipRepeat {
    std::size_t index = 0;          // 0-based record
    std::size_t first = 0;          // repeated within the document: the record that used it first
    bool in_document = false;
    bool seen_in_window = false;    // else: an earlier document of the run (`document`)
    std::int64_t document = 0;
    std::string seen;               // the window's description
  };
  std::vector<DipRepeat> dip_repeats;
  // dip.reference_repeats' table of this document's references: (record + 1, or 0 when empty).
  std::vector<std::uint32_t> dip_reference_slots;
  // The registry the policy filters read (fg.data.registry), indexed once per registry document.
  struct DipRegistry {
    std::uint32_t slot = 0xFFFFFFFFu, epoch = 0;
    const json::Value* root = nullptr;
    const json::Value* participants = nullptr;  // an object, else nullptr
    const json::Value* channels = nullptr;      // an object, else nullptr
    bool complete = false;                      // "complete": true
    KeyIndex participant_keys;                  // participants' keys, by member position
    KeyIndex channel_keys;                      // channels' keys, by member position
  };
  DipRegistry dip_registry;
  std::vector<std::unique_ptr<DipKeySet>> dip_key_sets;  // their key sets (stable addresses)
  // Every key of every set, once: a member's key is looked up once for all sets (walk_key_sets).
  std::vector<std::string> dip_all_keys;
  std::vector<std::uint32_t> dip_all_masks;  // per key of dip_all_keys: the sets holding it
  KeyIndex dip_all_index;
  std::uint64_t dip_key_lengths = 0;         // bit n: some set has a key of n bytes (n < 64)
  // The key shapes (json::Value::key_shape()) of this document met by walk_key_sets: objects of one
  // shape have the same keys in order, so their keys are looked up once per document. An open-
  // addressing table of (shape, where its members' set masks start in dip_shape_masks); cleared with
  // the dip memo.
  struct ShapeSlot {
    std::uint32_t shape = 0;  // 0: empty
    std::uint32_t start = 0;
  };
  std::vector<ShapeSlot> dip_shapes;
  // read_message's member positions by key shape and call site (flowguard.dip's scan_members): an
  // object of a known shape has its fields where the first of that shape had them. Cleared with
  // the dip memo.
  struct ScanSlot {
    std::uint32_t key = 0;          // shape * 8 + site + 1; 0: empty
    std::uint8_t exact[8] = {};     // member position + 1 of each key found exactly (0: none)
    std::uint8_t loose[8] = {};     // and as the DIP matches keys
  };
  std::vector<ScanSlot> dip_scans;
  std::size_t dip_scan_count = 0;
  std::size_t dip_shape_count = 0;
  std::vector<std::uint32_t> dip_shape_masks;
  // report{path = {...}}: the steps of the report being read (views of strings the table holds).
  struct PathStep {
    std::string_view key;
    lua_Integer index = 0;  // 1-based item position when the step is a number
    bool is_index = false;
  };
  std::vector<PathStep> report_path;

  int view_meta_ref = LUA_NOREF;  // metatable of views (registry ref: no name lookup per view)
  int report_ref = LUA_NOREF;     // the `report` function handed to every call

  const void* view_meta = nullptr;  // the same metatable, by address (cheap identity check)

  std::vector<DataSlot> data;         // fg.data.<name>
  CallState* call_state = nullptr;    // fg.state (RuleHost::set_call_state)
  std::uint32_t data_epochs = 0;      // last epoch handed out

  std::uint64_t duplicate_hash_mask = ~std::uint64_t{0};          // testing hook
  // records:duplicates() scratch: the hash table and the chains of colliding records.
  struct DuplicateSlot {
    std::uint64_t hash = 0;
    std::size_t first = static_cast<std::size_t>(-1);  // earliest record with this hash, or kNoRecord
  };
  static constexpr std::size_t kNoRecord = static_cast<std::size_t>(-1);
  std::vector<DuplicateSlot> duplicate_slots;
  std::vector<std::size_t> duplicate_next;  // per record: the next record of its chain, or kNoRecord
  std::vector<std::uint64_t> duplicate_hashes;  // per record: its content hash (computed on Limits::threads)
  // view:find_keys(): the pointer being built and a key lowercased. Kept here, not on the C stack,
  // because a Lua error (the memory cap) unwinds C functions with longjmp.
  std::vector<std::string> find_keys_wanted;  // view:find_keys: the keys of the call's table
  std::vector<std::pair<std::size_t, std::size_t>> duplicate_pairs;  // (first, duplicate), 0-based

  std::string scratch;  // reusable buffer for fingerprints and previews
};

inline HostState* host(lua_State* L) { return *static_cast<HostState**>(lua_getextraspace(L)); }

// --- sandbox.cpp
lua_State* new_state(HostState* h);
// Protected (lua_pcall'd) setup of the shared sandbox globals and library templates.
int setup_sandbox(lua_State* L);
// Pushes a fresh environment table for one rule file (runs inside a protected call).
void push_file_env(lua_State* L);
// Arms the budget and the memory cap for one call into rule code; disarm after (disarm ends the
// call: views made in it go stale). In a fused call, arm() again before each rule restarts the
// budget; rule_done() lifts the cap between rules without ending the call.
void arm(HostState* h, bool loading);
void disarm(HostState* h);
void rule_done(HostState* h);
// True when the error that ended a protected call with `status` was a budget or memory stop.
Stop classify_stop(HostState* h, int status);
// Charges `steps` of work done in C (pattern matching) to the call's instruction budget; raises the
// budget stop when it runs out. Outside a call into rule code nothing is charged.
void charge_budget(lua_State* L, std::uint64_t steps);

// --- patterns.cpp
// Replaces find, match, gmatch and gsub in the string library table at `strlib` by budgeted versions.
void install_patterns(lua_State* L, int strlib);

// --- views.cpp
void register_views(lua_State* L);
void push_record_view(lua_State* L, const json::Value* record, std::size_t index0);
void push_value(lua_State* L, const json::Value* value);  // scalar as a Lua value, else a view
void push_records_view(lua_State* L, std::span<const json::Value* const> records);
// A view of data slot `slot`'s root that stays valid until the slot is replaced (scalar: its value).
void push_data_view(lua_State* L, std::size_t slot);
// fg.preview of a view at `idx`: pushes the rendering and returns true, or returns false.
bool push_view_preview(lua_State* L, int idx);
extern char null_sentinel;  // address is fg.null (light userdata)
// Canonical serialisation with sorted keys; numbers by source text. Appends to `out`.
void fingerprint(const json::Value& value, std::string& out);
// 64-bit hash of the same canonical content (key order ignored, numbers by source text), and the
// equality it stands for.
std::uint64_t content_hash(const json::Value& value) noexcept;
// content_hash of the records of one document, in any order: the key hashes of the last key shape
// met (json::Value::key_shape()) are kept, as a batch's records share one. One per thread.
class RecordHasher {
 public:
  std::uint64_t operator()(const json::Value& record);

 private:
  std::uint32_t shape_ = 0;
  std::vector<std::uint64_t> key_hashes_;
};
bool same_content(const json::Value& a, const json::Value& b);

// The JSON value of the live view at `idx` (raises on a stale view), or nullptr when it is not a view.
const json::Value* view_value(lua_State* L, int idx);
// The data slot and its epoch of the live fg.data view at `idx` (a view into fg.data.<name>), or
// false when it is not one: what a memo of that document is keyed on.
bool data_view_identity(lua_State* L, int idx, std::uint32_t& slot, std::uint32_t& epoch);
// The records of the live records view at `idx`, or false when it is not one.
bool records_of(lua_State* L, int idx, std::span<const json::Value* const>& out);
// Pushes `value`, a value inside the live view at `parent_idx`: scalars as Lua values, containers as
// views as long-lived as that view.
void push_view_child(lua_State* L, int parent_idx, const json::Value* value);
// view:dig(...) on the view at argument 1 (see rule-api.md).
int view_dig(lua_State* L);

// --- modules.cpp
// Registers the built-in modules (each a read-only proxy, built once) and the message metatable.
void register_modules(lua_State* L);
// require(name): only "flowguard.<module>".
int sandbox_require(lua_State* L);
// The JSON pointer of document record `i` (0-based) in this call: the engine's when it said, else
// found by matching the record against the root. False when unknown or out of memory.
bool record_pointer_of(HostState* h, std::size_t i, std::string& out) noexcept;

// --- helpers.cpp
// Pushes the `fg` template table (functions + null).
void push_fg_table(lua_State* L);
// Pushes the read-only `fg.data` proxy (shared by every file's fg); its contents live in the
// registry table kDataTable, filled by RuleHost::set_data.
void push_data_proxy(lua_State* L);
inline constexpr const char* kDataTable = "flowguard.data";
int report_function(lua_State* L);
int fg_is_mpan(lua_State* L);           // fg.is_mpan, also flowguard.mpan.is_core
int fg_mpan_check_digit(lua_State* L);  // fg.mpan_check_digit, also flowguard.mpan.check_digit

}  // namespace flowguard::lua::detail
