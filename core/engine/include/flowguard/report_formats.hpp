// The CI report formats of `flowguard check --format`: SARIF 2.1.0, JUnit XML and GitHub Actions
// workflow commands (docs/output-formats.md). Text, JSON and the DIP response are in engine.hpp.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "flowguard/engine.hpp"

namespace flowguard {

struct SarifOptions {
  std::string tool_version;       // tool.driver.version
  // Absolute directory that relative paths are relative to (the working directory of the run):
  // written as the %SRCROOT% base of the artifact URIs. Empty: relative URIs without a base.
  std::string source_root;
  // What the loaded rules say about themselves (Engine::rule_descriptions()); rules that reported
  // and are not here (schema.*, json.*, type.*) get flowguard's built-in descriptions.
  std::vector<RuleDescription> rules;
  std::vector<LoadIssue> load_issues;  // become tool execution notifications
};

// One SARIF 2.1.0 log with one run: tool.driver.rules (every rule that ran or reported), one result
// per finding (and per unreadable input), physical locations with line/column in Unicode code
// points (run.columnKind), and the finding's JSON pointer as a logical location and a property.
FLOWGUARD_API std::string format_sarif(const std::vector<FileReport>& reports, const SarifOptions& options);

// JUnit XML as CI systems read it: <testsuites>, one <testsuite> per file, one <testcase> per rule
// (with a <failure> listing every error finding of it, warnings in <system-out>).
FLOWGUARD_API std::string format_junit(const std::vector<FileReport>& reports);

// GitHub Actions workflow commands, one per finding: ::error file=F,line=L,col=C,title=RULE::message
// (::warning, ::notice for the other severities), escaped as the runner requires; then, unless
// `show_notes` is false, the summary line.
FLOWGUARD_API std::string format_github(const std::vector<FileReport>& reports, bool show_notes = true);

// Where an input error points: the line and column its message starts with ("FILE:LINE:COL: what"),
// 0 when it has none, and the message without the location prefix.
struct InputErrorPlace {
  std::uint32_t line = 0, column = 0;
  std::string text;
};
FLOWGUARD_API InputErrorPlace input_error_place(const FileReport& report);

}  // namespace flowguard
