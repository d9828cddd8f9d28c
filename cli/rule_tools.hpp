// What `flowguard test`, `rules`, `explain` and `check --trace` share: rule-type matching, near-miss
// suggestions, and the rule-test cases (a payload beside its expected findings; sdk/docs/rule-testing.md).
#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "flowguard/engine.hpp"

namespace flowguard::cli {

// A rule's `types` entry matches a type as the engine matches it: exactly, "fam.*" the family, "*" all.
bool rule_applies(const std::vector<std::string>& rule_types, std::string_view type);

// The closest of `candidates` to `word` (ignoring ASCII case), or "" when none is close.
std::string closest(std::string_view word, const std::vector<std::string>& candidates);

// "/0/To_Local: error [DFS-HALF-HOUR] ..." style sort order: pointers compared token by token,
// numbers as numbers, so /10 comes after /9.
bool pointer_less(std::string_view a, std::string_view b);

// One rule test: <name>.json (or .ndjson/.jsonl) and <name>.expected.json beside it.
struct RuleCase {
  std::filesystem::path input;
  std::filesystem::path expected;  // may not exist yet
  std::string name;                // input path relative to the directory searched, without extension
};

// Every case under `root` (recursively, hidden folders skipped, in name order); `root` may also
// be one input file.
std::vector<RuleCase> find_cases(const std::filesystem::path& root);

// What an expected file asks for. Unknown keys are an error (a typo must not pass silently).
struct CaseSpec {
  std::string type;  // "" recognise from content
  std::string registry;
  bool flows = false;
  std::optional<bool> strict_keys;
  std::optional<std::int64_t> timestamp_skew;
  std::string now;
  std::vector<std::pair<std::string, std::string>> headers;
  bool has_findings = false;
  std::optional<int> parse_error_line;
  struct Expected {
    std::string rule, severity, path, code, message;
    int line = 0, column = 0;
  };
  std::vector<Expected> findings;
  // Which optional fields the expectation compares (any expected finding giving one compares it for all).
  bool compare_code = false, compare_message = false, compare_line = false, compare_column = false;
};
// nullopt and `error` set: the expected file is unreadable, not JSON or has an unknown key.
std::optional<CaseSpec> read_case_spec(const std::filesystem::path& expected, std::string& error);

// Engines for cases: a fresh one per case (rules may remember a run's earlier documents), except
// flow cases, which share one per set of settings and run in name order, as `check --flows` does.
class CaseEngines {
 public:
  explicit CaseEngines(EngineOptions base) : base_(std::move(base)) {}
  // nullptr and `error` set when the engine cannot be created (a bad registry).
  Engine* engine_for(const CaseSpec& spec, const std::filesystem::path& expected_file, std::string& error);
  // Every rule the engines loaded, by id (the first engine's description of it).
  const std::map<std::string, RuleDescription>& loaded_rules() const { return loaded_; }
  // Load problems of every engine, each once.
  const std::vector<LoadIssue>& load_issues() const { return issues_; }
  // Records an engine's rules and load issues: call it after each case (rule sets load on first use).
  void collect(Engine& engine);

 private:
  EngineOptions base_;
  std::unique_ptr<Engine> single_;
  std::map<std::string, std::unique_ptr<Engine>> flows_;
  std::map<std::string, RuleDescription> loaded_;
  std::vector<LoadIssue> issues_;
};

// The case's input checked as `check` would, with the spec's settings.
FileReport run_case(Engine& engine, const RuleCase& c, const CaseSpec& spec);

// A finding as `check` prints it in text: FILE:LINE:COL: SEVERITY: [RULE] message (POINTER).
std::string finding_line(const std::string& file, const Finding& f);

}  // namespace flowguard::cli
