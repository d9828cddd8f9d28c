// Sandboxed Lua 5.4 rule host. The rule API it implements is the contract in sdk/docs/rule-api.md.
//
// One RuleHost owns one lua_State; it is not thread-safe (use one per worker thread). Rules never
// crash or hang the engine: every call runs under an instruction budget and inside a memory cap,
// and any error becomes a value naming the rule.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "flowguard/finding.hpp"
#include "flowguard/json/document.hpp"
#include "flowguard/result.hpp"

namespace flowguard::lua {

struct Limits {
  std::uint64_t instructions_per_call = 10'000'000;  // VM instructions per rule invocation
  std::size_t memory_bytes = 64u << 20;              // cap on the whole state's heap
  // Reports one rule call keeps; past it, its further reports of one severity are counted on one kept
  // report (RuleReport::more), so a rule reporting in a loop cannot exhaust memory.
  std::size_t max_reports_per_call = 10'000;
  std::size_t max_message_bytes = 4096;  // a report's message is cut (at a character) past this

  unsigned threads = 1;  // threads native helpers may use on large inputs (records:duplicates() hashing)
};

// A check the engine runs natively (declared by a rule's `fields` table; see rule-api.md).
struct FieldCheck {
  std::string check;                // "mpan", "date_dmy", "date_iso", "time_hhmm", "half_hour",
                                    // "datetime_dmy_hm", "max_decimals", "not_before", "positive"; pair checks
                                    // (exactly two fields): "time_order", "date_order",
                                    // "datetime_order" (START/FROM then END/TO), "zone_suffix" (UNIT, ZONE)
  std::vector<std::string> fields;  // record fields it applies to (absent/empty-string fields are skipped)
  int argument = 0;                 // e.g. the N of max_decimals
  std::string text_argument;        // e.g. the date of not_before
};

struct RuleInfo {
  std::string id;
  Severity severity = Severity::kError;
  std::string description;
  std::string spec;
  std::string code;                // optional: the receiving system's error code ("RCP1008"); empty when none
  std::vector<std::string> types;  // type names; a trailing ".*" matches a family ("dfs.*")
  std::filesystem::path file;
  int line = 0;                    // line of the rule's table in its file
  bool has_record = false;         // defines record = function(rec, report)
  bool has_document = false;       // defines document = function(records, report, root)
  std::vector<FieldCheck> field_checks;

  bool applies_to(std::string_view type) const noexcept;
};

// True for the checks that compare two fields of a record ("time_order", "date_order",
// "datetime_order"); their FieldCheck::fields are exactly {START/FROM, END/TO}.
bool is_pair_check(std::string_view check) noexcept;

// One thing a rule reported. `record` is a 0-based index into the records (nullopt: the document);
// `field` is a key of that record (may be empty); `pointer`, when set, overrides both and is a
// pointer into the whole document.
struct RuleReport {
  std::optional<std::size_t> record;
  std::string field;
  std::optional<std::string> pointer;
  std::string message;
  std::optional<Severity> severity;  // overrides the rule's severity when given
  std::optional<std::string> code;   // overrides the rule's code when given (report{code = ...})
  // report{record = i, path = {...}}: the steps below the record as the document spells them; they
  // are already folded into `pointer` (the record's pointer extended by them).
  std::vector<std::string> path;
  std::size_t rule = 0;              // index into RuleHost::rules() of the rule that reported
  std::uint64_t more = 0;            // further reports of this rule and severity past the call's cap
};

// A rule whose check failed in a fused call (raised, exceeded its budget or the memory cap).
struct RuleFailure {
  std::size_t rule_index;
  Error error;  // message names the rule, its file and what happened (as run_record's Error)
};

// Cross-document memory for one call, supplied by the application (rules see it as fg.state; see
// rule-api.md): what earlier accepted documents used, and what this document uses, so a rule can
// tell a repeated message reference without keeping its own memory in Lua. The application decides
// what "earlier" means (a server: a time window shared by its workers) and whether the staged
// references are recorded (the engine: only when the document has no error findings).
// Called on the rule host's thread while rule code runs; an object bound to several hosts at once
// (workers) must be thread-safe. An exception it throws is treated as "not seen" / "not staged".
class CallState {
 public:
  virtual ~CallState() = default;
  // A description for a finding when `reference` was used before ("already used by a message
  // accepted 12 s ago (within the 86400 s window)"); nullopt when it was not.
  virtual std::optional<std::string> reference_seen(std::string_view reference) = 0;
  // Stages `reference` as used by the current document.
  virtual void remember_reference(std::string_view reference) = 0;
};

class RuleHost {
 public:
  ~RuleHost();
  RuleHost(const RuleHost&) = delete;
  RuleHost& operator=(const RuleHost&) = delete;

  static Result<std::unique_ptr<RuleHost>> create(const Limits& limits = {});

  // Loads every *.lua file of `dir` in name order. Returns one Error per file that failed (syntax
  // error with file:line, a rule table missing a field, a duplicate id, ...); the good files load.
  std::vector<Error> load_directory(const std::filesystem::path& dir);
  Status load_file(const std::filesystem::path& file);

  const std::vector<RuleInfo>& rules() const noexcept;

  // Runs rule `rule_index`'s record check on one record. Reports are appended to `out`.
  // A rule that raises, exceeds its instruction budget or the memory cap returns an Error whose
  // message names the rule, its file and what happened; the state stays usable for other rules.
  Status run_record(std::size_t rule_index, const json::Value& record, std::size_t record_index,
                    std::vector<RuleReport>& out);

  // Runs the record checks of all `rule_indexes` (in that order; rules without a record check are
  // skipped) on one record, with one entry into Lua and one record view shared by those rules.
  // Each rule has its own instruction budget; a rule that fails appends a RuleFailure and the
  // following rules still run. Reports are appended to `out` (RuleReport::rule says whose),
  // including those a failing rule made before it failed.
  void run_record_rules(std::span<const std::size_t> rule_indexes, const json::Value& record,
                        std::size_t record_index, std::vector<RuleReport>& out,
                        std::vector<RuleFailure>& failures);

  // Runs rule `rule_index`'s document check. `records` are the document's records in order,
  // `root` the whole document.
  Status run_document(std::size_t rule_index, std::span<const json::Value* const> records,
                      const json::Value& root, std::vector<RuleReport>& out);
  // The same, telling rules where each record is in the document (records:record_pointer(i)):
  // `record_pointer(i)` is the JSON pointer of records[i], built only when a rule asks.
  using RecordPointerFn = std::function<std::string(std::size_t)>;
  Status run_document(std::size_t rule_index, std::span<const json::Value* const> records,
                      const RecordPointerFn& record_pointer, const json::Value& root,
                      std::vector<RuleReport>& out);

  // Shared read-only data: rules see `fg.data.<name>` as a view of `doc`'s root (a scalar root as
  // its Lua value) that stays valid across calls. The host keeps `doc` alive; setting the same name
  // again replaces it (views of the old document then raise when used), a null `doc` removes it.
  void set_data(std::string name, std::shared_ptr<const json::Document> doc);

  // The cross-document memory rules see as fg.state from now on (nullptr: none, fg.state.enabled()
  // is false). The host does not own it; unbind it before it goes away. Also begins a document.
  void set_call_state(CallState* state) noexcept;

  // Says that the next run_document calls are about another document: what the host shares among
  // the document checks of one document (flowguard.dip's walk of its messages) is found again.
  // set_call_state and set_data do the same (the engine calls set_call_state at the start and end
  // of every check); an application that runs document checks on several documents without them
  // calls this between documents.
  void begin_document() noexcept;

  // Testing only: hashes used by records:duplicates() are ANDed with `mask` (0 makes every record
  // collide, to exercise the equality check). Default: all bits.
  void set_duplicate_hash_mask_for_testing(std::uint64_t mask) noexcept;

 private:
  RuleHost();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace flowguard::lua
