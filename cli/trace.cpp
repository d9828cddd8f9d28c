// `check --trace`: for each record, which rules ran and what each decided, on standard error (the
// report on standard output stays as it is, whatever its format). Built after the check from the
// report, the records the engine traced (EngineOptions::trace) and the rules' descriptions, so the
// check itself does no extra work beyond listing its records.
#include <algorithm>
#include <cstdio>
#include <map>
#include <numeric>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "commands.hpp"
#include "flowguard/json/document.hpp"
#include "rule_tools.hpp"

namespace flowguard::cli {
namespace {

constexpr std::size_t kDocument = static_cast<std::size_t>(-1);

bool builtin_id(const std::string& rule) {
  return rule.rfind("schema.", 0) == 0 || rule.rfind("json.", 0) == 0 || rule.rfind("type.", 0) == 0;
}
bool failure(const Finding& f) { return f.message.rfind("rule failed: ", 0) == 0; }

// A pointer token as the key it stands for.
std::string unescape(const std::string& token) {
  std::string out;
  for (std::size_t i = 0; i < token.size(); ++i) {
    if (token[i] == '~' && i + 1 < token.size()) out += token[++i] == '1' ? '/' : '~';
    else out += token[i];
  }
  return out;
}

// The fields of a native check as RuleDescription writes it: "half_hour(From_Local, To_Local)".
std::set<std::string> native_fields(const std::string& check) {
  std::set<std::string> out;
  const auto open = check.find('('), close = check.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close <= open) return out;
  const std::string list = check.substr(open + 1, close - open - 1);
  for (std::size_t start = 0; start <= list.size();) {
    const auto comma = list.find(", ", start);
    out.insert(list.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 2;
  }
  return out;
}

std::string plural(std::size_t n, const char* word) { return std::to_string(n) + " " + word + (n == 1 ? "" : "s"); }

std::string places(const std::vector<const Finding*>& fs) {
  std::string out;
  for (const auto* f : fs) {
    out += out.empty() ? "" : ", ";
    out += std::string(to_string(f->severity)) + " at " + (f->pointer.empty() ? "\"\"" : f->pointer);
    if (builtin_id(f->rule)) out += " [" + f->rule + "]";
  }
  return out;
}

void trace_file(const FileReport& r, const std::vector<RuleDescription>& rules, bool run_rules) {
  const char* path = r.path.c_str();
  if (r.input_error) return void(std::fprintf(stderr, "trace: %s: not checked: %s\n", path, r.input_error->message.c_str()));
  const auto& records = r.traced_records;
  if (records.empty() && r.records > 0)
    return void(std::fprintf(stderr, "trace: %s: not traced (a streamed input: .ndjson, .jsonl or 64 MiB and more)\n", path));
  std::set<std::string> types;
  for (const auto& rec : records)
    if (!rec.type.empty()) types.insert(rec.type);
  std::vector<const RuleDescription*> applicable;
  for (const auto& rule : rules)
    if (std::any_of(types.begin(), types.end(), [&](const std::string& t) { return rule_applies(rule.types, t); }))
      applicable.push_back(&rule);
  std::fprintf(stderr, "trace: %s: %s as %s; %zu of %zu loaded rules apply%s\n", path, plural(records.size(), "record").c_str(),
               types.empty() ? "no type" : std::accumulate(std::next(types.begin()), types.end(), *types.begin(),
                                                           [](std::string a, const std::string& b) { return a + ", " + b; }).c_str(),
               applicable.size(), rules.size(), run_rules ? "" : " (--no-rules: none run)");
  if (r.findings_not_shown)
    std::fprintf(stderr, "trace: %s: only the %zu findings shown are counted (--max-findings)\n", path, r.findings.size());

  // Each finding belongs to the record its pointer is in (the longest record pointer it extends).
  std::unordered_map<std::string, std::size_t> by_pointer;
  for (std::size_t i = 0; i < records.size(); ++i) by_pointer.emplace(records[i].pointer, i);
  std::vector<std::map<std::string, std::vector<const Finding*>>> at(records.size());
  std::map<std::string, std::vector<const Finding*>> at_document, all;
  std::map<std::string, std::size_t> failed_on;  // rule -> the record (or kDocument) it failed on
  for (const auto& f : r.findings) {
    std::size_t owner = kDocument;
    for (std::string p = f.pointer;; p.resize(p.rfind('/'))) {
      if (auto it = by_pointer.find(p); it != by_pointer.end()) {
        owner = it->second;
        break;
      }
      if (p.empty()) break;
    }
    (owner == kDocument ? at_document : at[owner])[builtin_id(f.rule) ? "schema" : f.rule].push_back(&f);
    all[f.rule].push_back(&f);
    if (failure(f)) failed_on.try_emplace(f.rule, owner);
  }
  auto line = [](const std::string& who, const std::string& what) {
    std::fprintf(stderr, "trace:   %-28s %s\n", who.c_str(), what.c_str());
  };
  auto schema_line = [&](const std::map<std::string, std::vector<const Finding*>>& bucket) {
    const auto it = bucket.find("schema");
    line("schema", it == bucket.end() ? "nothing" : "reported " + std::to_string(it->second.size()) + ": " + places(it->second));
  };

  for (std::size_t i = 0; i < records.size(); ++i) {
    const auto& rec = records[i];
    std::fprintf(stderr, "trace: %s: record %zu (%s)%s%s\n", path, i + 1, rec.pointer.empty() ? "\"\"" : rec.pointer.c_str(),
                 rec.type.empty() ? ": matched no type" : " as ", rec.type.c_str());
    schema_line(at[i]);
    std::string skipped;
    if (rec.type.empty()) skipped = "skipped: the record matched no type";
    else if (!run_rules) skipped = "skipped: --no-rules";
    else if (!rec.object) skipped = "skipped: the record is not an object (record checks run on objects only)";
    std::vector<std::string> other_types;
    for (const auto* rule : applicable) {
      const bool per_record = rule->record || !rule->native_checks.empty();
      const auto mine = at[i].find(rule->id);
      if (rec.type.empty() || !rule_applies(rule->types, rec.type)) {
        if (per_record) other_types.push_back(rule->id);
        continue;
      }
      if (!per_record) {
        if (mine != at[i].end()) line(rule->id, "reported " + std::to_string(mine->second.size()) + " (its document check): " + places(mine->second));
        continue;
      }
      if (!skipped.empty()) {
        line(rule->id, skipped);
        continue;
      }
      const auto failed = failed_on.find(rule->id);
      if (failed != failed_on.end() && failed->second != kDocument && failed->second < i) {
        line(rule->id, "skipped: it failed on record " + std::to_string(failed->second + 1));
        continue;
      }
      if (mine != at[i].end()) {
        const bool fail = std::any_of(mine->second.begin(), mine->second.end(), [](const Finding* f) { return failure(*f); });
        line(rule->id, fail ? "failed: " + mine->second.front()->message.substr(13)
                            : "reported " + std::to_string(mine->second.size()) + ": " + places(mine->second));
        continue;
      }
      // A native check is not reported on a field the schema already flagged (one finding per field).
      std::string note;
      if (const auto schema = at[i].find("schema"); schema != at[i].end())
        for (const auto* f : schema->second) {
          if (f->pointer.size() <= rec.pointer.size() + 1) continue;
          const std::string field = unescape(f->pointer.substr(rec.pointer.size() + 1));
          if (f->pointer.find('/', rec.pointer.size() + 1) != std::string::npos) continue;  // deeper than a field
          for (const auto& check : rule->native_checks)
            if (native_fields(check).count(field))
              note = "nothing (\"" + field + "\" has a schema finding, which stands: one finding per field)";
        }
      line(rule->id, note.empty() ? "nothing" : note);
    }
    if (!other_types.empty() && !rec.type.empty())
      line("(other types' rules)", "skipped, not for " + rec.type + ": " + std::accumulate(
          std::next(other_types.begin()), other_types.end(), other_types.front(),
          [](std::string a, const std::string& b) { return a + ", " + b; }));
  }

  std::fprintf(stderr, "trace: %s: document\n", path);
  schema_line(at_document);
  for (const auto* rule : applicable) {
    if (!rule->document) continue;
    if (!run_rules || records.empty()) {
      line(rule->id, run_rules ? "skipped: no records" : "skipped: --no-rules");
      continue;
    }
    const auto failed = failed_on.find(rule->id);
    if (failed != failed_on.end() && failed->second != kDocument) {
      line(rule->id, "skipped: its record check failed on record " + std::to_string(failed->second + 1));
      continue;
    }
    const auto mine = all.find(rule->id);
    if (mine == all.end()) {
      line(rule->id, "nothing");
      continue;
    }
    const auto here = at_document.find(rule->id);
    const std::size_t on_document = here == at_document.end() ? 0 : here->second.size();
    line(rule->id, "reported " + std::to_string(mine->second.size()) + " in all" +
                       (on_document ? ", " + std::to_string(on_document) + " on the document: " + places(here->second) : "") +
                       (on_document < mine->second.size() ? " (the rest are counted under their records)" : ""));
  }
}

}  // namespace

void print_trace(Engine& engine, const std::vector<FileReport>& reports, bool run_rules) {
  const auto rules = engine.rules();  // the rule sets the checks loaded
  for (const auto& r : reports) trace_file(r, rules, run_rules);
}

}  // namespace flowguard::cli
