// `flowguard test [DIR|FILE]...`: rule tests. Each case is a payload and its expected findings
// (<case>.json + <case>.expected.json, the layout of tests/corpus), checked by the engine exactly as
// `check` does; a failure prints expected against actual as a unified diff. sdk/docs/rule-testing.md.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "commands.hpp"
#include "flowguard/json/document.hpp"
#include "rule_tools.hpp"

namespace flowguard::cli {
namespace {
namespace fs = std::filesystem;

constexpr const char* kTestUsage = R"(usage: flowguard test [options] [DIR|FILE]...

Runs rule tests: every <case>.json (or .ndjson/.jsonl) under DIR (default: the current directory,
searched recursively, hidden folders skipped) is checked as `flowguard check` checks it, and its
findings are compared with <case>.expected.json beside it (the layout of tests/corpus):

  {"type": "dfs.bid-submission",                 the type to check as; "" or absent: recognise it
   "why": "what the case is about",
   "registry": "registry.yaml",                  optional, relative to this file (--registry)
   "options": {"now": "2026-01-01T00:00:00Z", "headers": {"X-API-KEY": "k"},
               "strict_keys": true, "timestamp_skew": 300, "flows": true},
   "findings": [{"rule": "DFS-HALF-HOUR", "severity": "error", "path": "/0/To_Local",
                 "code": "...", "message": "..."}]}       or "parse_error": {"line": N}

Findings are compared as a multiset of rule, severity and path, plus code, message, line and
column when any expected finding of the case gives them.

  --rules DIR        load the rules under test from DIR (repeatable; as check --rules); the
                     coverage line then counts these rules only
  --update           rewrite the expectations of failing cases (and create missing ones) from
                     what the engine reports now, messages included
  --quiet            print failures, the coverage and the summary only
  --plugins DIR, --schemas DIR, --no-default-dirs      as for check

exit status: 0 every case passed (or was updated), 1 a case failed, 2 usage error or no cases found
)";

int usage(const std::string& message) {
  std::fprintf(stderr, "flowguard test: error: %s\n(flowguard test --help shows the usage)\n", message.c_str());
  return 2;
}

// One finding as the comparison sees it: its path (the sort key) and its text.
struct Line {
  std::string path, text;
  bool operator==(const Line& o) const { return path == o.path && text == o.text; }
};
bool line_less(const Line& a, const Line& b) {
  if (a.path != b.path) return pointer_less(a.path, b.path);
  return a.text < b.text;
}

Line render(const CaseSpec& spec, const std::string& rule, const std::string& severity, const std::string& path,
            const std::string& code, const std::string& message, int line, int column) {
  std::string text = (path.empty() ? std::string("\"\"") : path) + ": " + severity + " [" + rule + "]";
  if (spec.compare_code && !code.empty()) text += " (" + code + ")";
  if (spec.compare_line || spec.compare_column) {
    text += " at " + (spec.compare_line ? std::to_string(line) : std::string("?"));
    if (spec.compare_column) text += ":" + std::to_string(column);
  }
  if (spec.compare_message) text += " " + message;
  return {path, std::move(text)};
}

// The parse error's line from "FILE:LINE:COL: not valid JSON: ...".
int parse_error_line(const FileReport& r) {
  const std::string& m = r.input_error->message;
  if (m.rfind(r.path + ":", 0) != 0) return 0;
  return std::atoi(m.c_str() + r.path.size() + 1);
}

std::vector<Line> expected_lines(const CaseSpec& spec) {
  std::vector<Line> out;
  if (spec.parse_error_line) out.push_back({"", "not JSON: a parse error at line " + std::to_string(*spec.parse_error_line)});
  for (const auto& e : spec.findings)
    out.push_back(render(spec, e.rule, e.severity, e.path, e.code, e.message, e.line, e.column));
  std::sort(out.begin(), out.end(), line_less);
  return out;
}

std::vector<Line> actual_lines(const CaseSpec& spec, const FileReport& r) {
  std::vector<Line> out;
  if (r.input_error) {
    if (r.input_error->code == ErrorCode::kParse)
      out.push_back({"", "not JSON: a parse error at line " + std::to_string(parse_error_line(r))});
    else
      out.push_back({"", "input error: " + r.input_error->message});
  }
  for (const auto& f : r.findings)
    out.push_back(render(spec, f.rule, to_string(f.severity), f.pointer, f.code, f.message, static_cast<int>(f.line),
                         static_cast<int>(f.column)));
  std::sort(out.begin(), out.end(), line_less);
  return out;
}

// A unified diff (3 lines of context) of two sorted lists: for sorted lists the merge is a
// longest common subsequence, so the diff is minimal.
std::string unified_diff(const std::vector<Line>& a, const std::vector<Line>& b, const std::string& a_name,
                         const std::string& b_name) {
  std::vector<std::pair<char, const Line*>> ops;
  std::size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    if (i < a.size() && j < b.size() && a[i] == b[j]) ops.emplace_back(' ', &a[i++]), ++j;
    else if (j == b.size() || (i < a.size() && line_less(a[i], b[j]))) ops.emplace_back('-', &a[i++]);
    else ops.emplace_back('+', &b[j++]);
  }
  constexpr std::size_t kContext = 3;
  std::string out = "--- " + a_name + "\n+++ " + b_name + "\n";
  std::size_t k = 0;
  while (k < ops.size()) {
    while (k < ops.size() && ops[k].first == ' ') ++k;
    if (k == ops.size()) break;
    std::size_t start = k >= kContext ? k - kContext : 0, end = k;
    // Extend over changes separated by at most 2 * context unchanged lines.
    for (std::size_t m = k; m < ops.size(); ++m) {
      if (ops[m].first != ' ') end = m + 1;
      else if (m - end >= 2 * kContext) break;
    }
    const std::size_t stop = std::min(ops.size(), end + kContext);
    std::size_t a_start = 0, b_start = 0, a_count = 0, b_count = 0;
    for (std::size_t m = 0; m < start; ++m) a_start += ops[m].first != '+', b_start += ops[m].first != '-';
    for (std::size_t m = start; m < stop; ++m) a_count += ops[m].first != '+', b_count += ops[m].first != '-';
    out += "@@ -" + std::to_string(a_start + (a_count ? 1 : 0)) + "," + std::to_string(a_count) + " +" +
           std::to_string(b_start + (b_count ? 1 : 0)) + "," + std::to_string(b_count) + " @@\n";
    for (std::size_t m = start; m < stop; ++m) out += ops[m].first + ops[m].second->text + "\n";
    k = stop;
  }
  return out;
}

// JSON text of a value, indented as the corpus files are (2 spaces).
void pretty(std::string& out, const json::Value& v, int depth) {
  const std::string pad(static_cast<std::size_t>(depth + 1) * 2, ' '), close(static_cast<std::size_t>(depth) * 2, ' ');
  if (v.is_object()) {
    if (v.members().empty()) return void(out += "{}");
    out += "{\n";
    bool first = true;
    for (const auto& m : v.members()) {
      out += (first ? "" : ",\n") + pad;
      first = false;
      json::write_json_string(out, m.key);
      out += ": ";
      pretty(out, m.value, depth + 1);
    }
    out += "\n" + close + "}";
  } else if (v.is_array()) {
    if (v.items().empty()) return void(out += "[]");
    out += "[\n";
    bool first = true;
    for (const auto& item : v.items()) {
      out += (first ? "" : ",\n") + pad;
      first = false;
      pretty(out, item, depth + 1);
    }
    out += "\n" + close + "]";
  } else if (v.is_string()) {
    json::write_json_string(out, v.as_string());
  } else if (v.is_number()) {
    out += v.number_text();
  } else if (v.is_bool()) {
    out += v.as_bool() ? "true" : "false";
  } else {
    out += "null";
  }
}

// The "findings" (or "parse_error") member's value for what the engine reported.
std::string expectation_json(const FileReport& r, const CaseSpec* old) {
  if (r.input_error && r.input_error->code == ErrorCode::kParse)
    return "{\n    \"line\": " + std::to_string(parse_error_line(r)) + "\n  }";
  if (r.findings.empty()) return "[]";
  std::string out = "[";
  bool first = true;
  for (const auto& f : r.findings) {
    out += first ? "\n    {\n" : ",\n    {\n";
    first = false;
    auto member = [&](const char* key, const std::string& value, bool last = false) {
      out += "      \"" + std::string(key) + "\": ";
      json::write_json_string(out, value);
      out += last ? "\n" : ",\n";
    };
    member("rule", f.rule);
    member("severity", to_string(f.severity));
    member("path", f.pointer);
    if (!f.code.empty()) member("code", f.code);
    if (old && old->compare_line) out += "      \"line\": " + std::to_string(f.line) + ",\n";
    if (old && old->compare_column) out += "      \"column\": " + std::to_string(f.column) + ",\n";
    member("message", f.message, true);
    out += "    }";
  }
  return out + "\n  ]";
}

// Rewrites (or creates) the expected file: its other members as they were, in their order, the
// expectation in place of the old one.
bool write_expected(const RuleCase& c, const FileReport& r, const CaseSpec* old, std::string& error) {
  const bool parse = r.input_error && r.input_error->code == ErrorCode::kParse;
  const std::string key = parse ? "parse_error" : "findings";
  std::vector<std::pair<std::string, std::string>> members;
  if (old) {
    std::ifstream in(c.expected, std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto doc = json::Document::parse(text);
    if (!doc) return error = "cannot read " + c.expected.string(), false;
    for (const auto& m : doc->root().members()) {
      std::string value;
      pretty(value, m.value, 1);
      members.emplace_back(std::string(m.key), std::move(value));
    }
  } else {
    std::string type;
    json::write_json_string(type, r.type);
    members.emplace_back("type", type);
  }
  std::erase_if(members, [&](const auto& m) { return (m.first == "findings" || m.first == "parse_error") && m.first != key; });
  auto it = std::find_if(members.begin(), members.end(), [&](const auto& m) { return m.first == key; });
  if (it == members.end()) members.emplace_back(key, "");
  for (auto& m : members)
    if (m.first == key) m.second = expectation_json(r, old);
  std::string out = "{\n";
  for (std::size_t i = 0; i < members.size(); ++i) {
    out += "  ";
    json::write_json_string(out, members[i].first);
    out += ": " + members[i].second + (i + 1 < members.size() ? ",\n" : "\n");
  }
  out += "}\n";
  std::ofstream file(c.expected, std::ios::binary | std::ios::trunc);
  file << out;
  if (!file) return error = "cannot write " + c.expected.string(), false;
  return true;
}

bool under(const fs::path& file, const std::vector<fs::path>& dirs) {
  std::error_code ec;
  const fs::path f = fs::weakly_canonical(file, ec);
  for (const auto& d : dirs) {
    const fs::path dir = fs::weakly_canonical(d, ec);
    auto [de, fe] = std::mismatch(dir.begin(), dir.end(), f.begin(), f.end());
    if (de == dir.end()) return true;
  }
  return false;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

int run_test(const std::vector<std::string_view>& args) {
  EngineOptions options;
  std::vector<fs::path> roots;
  bool update = false, quiet = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    if (arg == "--help" || arg == "-h") return std::fputs(kTestUsage, stdout), 0;
    if (arg == "--rules" || arg == "--plugins" || arg == "--schemas") {
      if (i + 1 >= args.size()) return usage(std::string(arg) + " needs a directory");
      const fs::path dir(args[++i]);
      (arg == "--rules" ? options.rule_dirs : arg == "--plugins" ? options.plugin_dirs : options.schema_dirs).push_back(dir);
    } else if (arg == "--update") {
      update = true;
    } else if (arg == "--quiet") {
      quiet = true;
    } else if (arg == "--no-default-dirs") {
      options.use_default_dirs = false;
    } else if (!arg.empty() && arg[0] == '-') {
      return usage("unknown option " + std::string(arg));
    } else {
      roots.emplace_back(arg);
    }
  }
  if (roots.empty()) roots.emplace_back(".");
  for (const auto& dir : options.rule_dirs) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return usage("--rules " + dir.string() + ": not a directory");
  }
  std::vector<RuleCase> cases;
  for (const auto& root : roots) {
    std::error_code ec;
    if (!fs::exists(root, ec)) return usage(root.string() + ": no such file or directory");
    auto found = find_cases(root);
    cases.insert(cases.end(), found.begin(), found.end());
  }
  if (cases.empty()) return usage("no rule tests (<case>.json beside <case>.expected.json) under " + roots.front().string());

  CaseEngines engines(options);
  std::set<std::string> fired;
  std::size_t passed = 0, failed = 0, updated = 0;
  for (const auto& c : cases) {
    std::string error;
    std::error_code ec;
    const bool has_expected = fs::exists(c.expected, ec);
    std::optional<CaseSpec> spec;
    if (has_expected) spec = read_case_spec(c.expected, error);
    else if (update) spec.emplace().has_findings = true;
    else error = c.expected.string() + " does not exist (flowguard test --update writes it from what the engine reports)";
    Engine* engine = spec ? engines.engine_for(*spec, c.expected, error) : nullptr;
    if (!engine) {
      std::printf("FAIL %s: %s\n", c.name.c_str(), error.c_str());
      ++failed;
      continue;
    }
    const FileReport report = run_case(*engine, c, *spec);
    engines.collect(*engine);
    for (const auto& f : report.findings)
      if (f.message.rfind("rule failed: ", 0) != 0) fired.insert(f.rule);
    const auto want = expected_lines(*spec), got = actual_lines(*spec, report);
    if (has_expected && want == got) {
      ++passed;
      if (!quiet) std::printf("ok   %s\n", c.name.c_str());
      continue;
    }
    if (update) {
      if (write_expected(c, report, has_expected ? &*spec : nullptr, error)) {
        ++updated;
        std::printf("updated %s (%s)\n", c.name.c_str(), c.expected.string().c_str());
      } else {
        ++failed;
        std::printf("FAIL %s: %s\n", c.name.c_str(), error.c_str());
      }
      continue;
    }
    ++failed;
    std::printf("FAIL %s (%s)\n%s", c.name.c_str(), c.input.string().c_str(),
                unified_diff(want, got, "expected " + c.expected.string(), "actual").c_str());
  }

  // A rule that does not load fails the run, whatever the cases say.
  for (const auto& issue : engines.load_issues()) std::printf("error: %s: %s\n", issue.source.c_str(), issue.message.c_str());
  // Coverage: the rules under test (--rules), else every Lua rule the run loaded.
  std::vector<std::string> covered, never, others;
  for (const auto& [id, rule] : engines.loaded_rules()) {
    if (!options.rule_dirs.empty() && !under(rule.file, options.rule_dirs)) continue;
    (fired.count(id) ? covered : never).push_back(id);
  }
  for (const auto& id : fired)
    if (std::find(covered.begin(), covered.end(), id) == covered.end()) others.push_back(id);
  std::printf("coverage: %zu of %zu rules fired%s%s\n", covered.size(), covered.size() + never.size(),
              covered.empty() ? "" : ": ", join(covered).c_str());
  if (!never.empty()) std::printf("coverage: never fired: %s\n", join(never).c_str());
  if (!others.empty()) std::printf("coverage: also fired: %s\n", join(others).c_str());
  std::printf("%zu case%s: %zu passed, %zu failed", cases.size(), cases.size() == 1 ? "" : "s", passed, failed);
  if (update) std::printf(", %zu updated", updated);
  if (!engines.load_issues().empty()) std::printf("; %zu rule load error%s", engines.load_issues().size(),
                                                  engines.load_issues().size() == 1 ? "" : "s");
  std::printf("\n");
  return failed || !engines.load_issues().empty() ? 1 : 0;
}

}  // namespace flowguard::cli
