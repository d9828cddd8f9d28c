// What the engine can say about its rules (`flowguard rules list`, `explain`) and, with
// EngineOptions::trace, about each record it checked (`check --trace`).
#pragma once

#include <string>
#include <vector>

#include "flowguard/finding.hpp"

namespace flowguard {

#ifndef FLOWGUARD_API
#define FLOWGUARD_API __attribute__((visibility("default")))
#endif

struct RuleDescription {
  std::string id;                  // "DFS-HALF-HOUR"; a builtin family is written "schema.<keyword>"
  Severity severity = Severity::kError;
  std::string description;         // one line: what it checks
  std::string spec;                // what it enforces (the spec reference)
  std::string code;                // the receiving system's error code, empty when none
  std::vector<std::string> types;  // the types it applies to ("dfs.*" a family, "*" every type)
  std::string file;                // the rule file; empty for builtin checks
  int line = 0;
  bool builtin = false;            // produced by the engine itself (schema, JSON, type recognition)
  bool record = false;             // has a Lua record check
  bool document = false;           // has a Lua document check
  std::vector<std::string> native_checks;  // its `fields` entries: "half_hour(From_Local, To_Local)"
};

// The ids the engine produces itself, with what they mean. Their severity is the usual one
// (schema.key-case is a warning unless --strict-keys; json.duplicate-key a warning).
FLOWGUARD_API std::vector<RuleDescription> builtin_rules();

// One record as the engine checked it (only with EngineOptions::trace): where it is and the type it
// was checked as ("" when it matched none), and whether it is an object (rules run on objects only).
struct TracedRecord {
  std::string pointer;
  std::string type;
  bool object = false;
};

}  // namespace flowguard
