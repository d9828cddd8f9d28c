// Runs a plugin's test corpus (tests/corpus/<family>/<type>/<case>.json) through the engine exactly
// as `flowguard check` does, and compares its findings with <case>.expected.json.
//
// <case>.expected.json:
//   "type":         the type to check against (the CLI's --type); "" to recognise from content
//   "why":          what the case is about (for people)
//   "findings":     the expected findings as a multiset of {rule, severity, path}; order is free
//   "parse_error":  instead of findings: {"line": N}, the input is not JSON and the error names line N
//   "registry":     optional: a market registry YAML, relative to the expected file (--registry)
//   "options":      optional: {"flows": true} runs the case with --flows, through one engine shared
//                   with the other flow cases, in name order
//   "recognisable": optional, default true: when the payload has records, recognition from content
//                   must give "type" as well (false for payloads whose shape no type uses)
// Differences are shown as actual against expected, with the full text report.
#pragma once

#include <cstddef>
#include <string_view>

namespace flowguard::testing {

// Checks every case under tests/corpus/<family> (recursively, in name order); requires at least
// `min_cases` cases so that a moved or emptied corpus cannot pass silently.
void run_corpus(std::string_view family, std::size_t min_cases);

}  // namespace flowguard::testing
