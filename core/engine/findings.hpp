// Building findings: from schema violations, from rule reports, and their final order.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "flowguard/finding.hpp"
#include "flowguard/lua/rule_host.hpp"
#include "flowguard/schema/validator.hpp"
#include "plugin_host.hpp"
#include "recognizer.hpp"

namespace flowguard::engine {

Finding make_finding(std::string rule, Severity severity, std::string pointer, std::string message, std::uint64_t offset,
                     std::string code = {});

// `message` followed by " [spec]" when the rule names its source.
std::string with_spec(std::string message, const std::string& spec);

// Document order, then rule id and message, so output is stable and reads top to bottom.
void sort_findings(std::vector<Finding>& findings);

// The pointer of `target` inside `root` (found by address); used for the rare findings that
// start from a value rather than a path. Depth is bounded by the parser's nesting limit.
bool pointer_to(const json::Value& root, const json::Value* target, std::string& pointer);

// Schema violations as findings, emptying `violations`. `flagged` collects the pointers of the
// violations proper (a native check then stays quiet on the same field); a key-case deviation is
// accepted on ingress (the DIP ignores key case) and is a warning unless exact keys were asked for.
class FindingCap;
void add_schema_findings(std::vector<schema::Violation>& violations, const TypeEntry& type, bool strict_keys,
                         std::vector<Finding>& out, std::unordered_set<std::string>& flagged,
                         FindingCap* cap = nullptr);

// The pointer and offset a rule's report points at: the field when present, else the record, else
// the nearest existing ancestor of an explicit pointer.
std::pair<std::string, std::uint64_t> place_of(const lua::RuleReport& rep, const json::Value& root,
                                               const std::vector<RecordRef>& records);

// A rule's report as a finding (the rule's severity and code unless the report gives its own).
Finding rule_finding(const lua::RuleInfo& rule, lua::RuleReport& rep, const json::Value& root,
                     const std::vector<RecordRef>& records);

// Keeps at most `limit` findings of each rule (and severity) added through it to one vector; the
// rest are folded into one kept finding's `more` count, so a rule reporting on every record of a
// huge document holds bounded memory and the totals stay exact. One per vector being filled.
class FindingCap {
 public:
  explicit FindingCap(std::size_t limit) : limit_(limit) {}
  void add(std::vector<Finding>& out, Finding f);

 private:
  struct Entry {
    std::size_t kept = 0;
    std::size_t tally[3] = {kNone, kNone, kNone};  // index in `out` of the finding counting the rest
  };
  static constexpr std::size_t kNone = static_cast<std::size_t>(-1);
  std::size_t limit_;
  std::unordered_map<std::string, Entry> rules_;
};

// Adds `n` findings of `rule` counted past a cap to a report's list (FileReport::findings_capped).
inline void add_capped(std::vector<std::pair<std::string, std::size_t>>& capped, const std::string& rule,
                       std::size_t n) {
  for (auto& [id, count] : capped)
    if (id == rule) {
      count += n;
      return;
    }
  capped.emplace_back(rule, n);
}

// Findings of one rule kept per file: the findings shown (max_findings), at least 100.
inline std::size_t findings_per_rule(std::size_t max_findings) { return max_findings < 100 ? 100 : max_findings; }

}  // namespace flowguard::engine
