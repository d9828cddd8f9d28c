// Sandboxed Lua 5.4 rule host. The rule API it implements is the contract in sdk/docs/rule-api.md.
//
// One RuleHost owns one lua_State; it is not thread-safe (use one per worker thread). Rules never
// crash or hang the engine: every call runs under an instruction budget and inside a memory cap,
// and any error becomes a value naming the rule.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "flowguard/finding.hpp"
#include "flowguard/json/document.hpp"
#include "flowguard/result.hpp"

namespace flowguard::lua {

struct Limits {
  std::uint64_t instructions_per_call = 10'000'000;  // VM instructions per rule invocation
  std::size_t memory_bytes = 64u << 20;              // cap on the whole state's heap
};

// A check the engine runs natively (declared by a rule's `fields` table; see rule-api.md).
struct FieldCheck {
  std::string check;                // "mpan", "date_dmy", "date_iso", "time_hhmm", "half_hour",
                                    // "datetime_dmy_hm", "max_decimals"
  std::vector<std::string> fields;  // record fields it applies to (absent/empty-string fields are skipped)
  int argument = 0;                 // e.g. the N of max_decimals
};

struct RuleInfo {
  std::string id;
  Severity severity = Severity::kError;
  std::string description;
  std::string spec;
  std::vector<std::string> types;  // type names; a trailing ".*" matches a family ("dfs.*")
  std::filesystem::path file;
  int line = 0;                    // line of the rule's table in its file
  bool has_record = false;         // defines record = function(rec, report)
  bool has_document = false;       // defines document = function(records, report, root)
  std::vector<FieldCheck> field_checks;

  bool applies_to(std::string_view type) const noexcept;
};

// One thing a rule reported. `record` is a 0-based index into the records (nullopt: the document);
// `field` is a key of that record (may be empty); `pointer`, when set, overrides both and is a
// pointer into the whole document.
struct RuleReport {
  std::optional<std::size_t> record;
  std::string field;
  std::optional<std::string> pointer;
  std::string message;
  std::optional<Severity> severity;  // overrides the rule's severity when given
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

  // Runs rule `rule_index`'s document check. `records` are the document's records in order,
  // `root` the whole document.
  Status run_document(std::size_t rule_index, std::span<const json::Value* const> records,
                      const json::Value& root, std::vector<RuleReport>& out);

 private:
  RuleHost();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace flowguard::lua
