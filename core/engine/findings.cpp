#include "findings.hpp"

#include <algorithm>

namespace flowguard::engine {

Finding make_finding(std::string rule, Severity severity, std::string pointer, std::string message, std::uint64_t offset,
                     std::string code) {
  Finding f;
  f.rule = std::move(rule);
  f.severity = severity;
  f.pointer = std::move(pointer);
  f.message = std::move(message);
  f.offset = offset;
  f.code = std::move(code);
  return f;
}

std::string with_spec(std::string message, const std::string& spec) {
  if (!spec.empty()) message += " [" + spec + "]";
  return message;
}

void sort_findings(std::vector<Finding>& findings) {
  std::stable_sort(findings.begin(), findings.end(), [](const Finding& a, const Finding& b) {
    if (a.offset != b.offset) return a.offset < b.offset;
    if (a.rule != b.rule) return a.rule < b.rule;
    return a.message < b.message;
  });
}

bool pointer_to(const json::Value& root, const json::Value* target, std::string& pointer) {
  if (&root == target) return true;
  const std::size_t keep = pointer.size();
  if (root.is_array()) {
    std::size_t i = 0;
    for (const auto& item : root.items()) {
      json::append_pointer(pointer, i++);
      if (pointer_to(item, target, pointer)) return true;
      pointer.resize(keep);
    }
  } else if (root.is_object()) {
    for (const auto& m : root.members()) {
      json::append_pointer(pointer, m.key);
      if (pointer_to(m.value, target, pointer)) return true;
      pointer.resize(keep);
    }
  }
  return false;
}

void add_schema_findings(std::vector<schema::Violation>& violations, const TypeEntry& type, bool strict_keys,
                         std::vector<Finding>& out, std::unordered_set<std::string>& flagged, FindingCap* cap) {
  auto add = [&](Finding f) {
    if (cap) cap->add(out, std::move(f));
    else out.push_back(std::move(f));
  };
  for (auto& v : violations) {
    if (v.keyword == "keyCase") {
      add(make_finding("schema.key-case", strict_keys ? Severity::kError : Severity::kWarning, std::move(v.pointer),
                       std::move(v.message), v.offset, strict_keys ? type.schema_error_code : std::string()));
      continue;
    }
    flagged.insert(v.pointer);
    add(make_finding("schema." + v.keyword, Severity::kError, std::move(v.pointer), std::move(v.message), v.offset,
                     type.schema_error_code));
  }
  violations.clear();
}

std::pair<std::string, std::uint64_t> place_of(const lua::RuleReport& rep, const json::Value& root,
                                               const std::vector<RecordRef>& records) {
  if (rep.pointer) {
    const json::Value* at = json::resolve_pointer(root, *rep.pointer);
    std::string probe = *rep.pointer;
    while (!at && !probe.empty()) {
      probe.erase(probe.rfind('/'));
      at = json::resolve_pointer(root, probe);
    }
    return {*rep.pointer, at ? at->offset() : root.offset()};
  }
  if (rep.record && *rep.record < records.size()) {
    const auto& rec = records[*rep.record];
    std::string pointer = rec.pointer();
    std::uint64_t offset = rec.value->offset();
    if (!rep.field.empty() && rec.value->is_object())
      if (const json::Member* m = rec.value->find_member(rep.field)) {
        json::append_pointer(pointer, rep.field);
        offset = m->value.offset();
      }
    return {std::move(pointer), offset};
  }
  return {"", root.offset()};
}

Finding rule_finding(const lua::RuleInfo& rule, lua::RuleReport& rep, const json::Value& root,
                     const std::vector<RecordRef>& records) {
  auto [pointer, offset] = place_of(rep, root, records);
  Finding f = make_finding(rule.id, rep.severity.value_or(rule.severity), std::move(pointer),
                           with_spec(std::move(rep.message), rule.spec), offset, rep.code.value_or(rule.code));
  f.more = rep.more;
  return f;
}

void FindingCap::add(std::vector<Finding>& out, Finding f) {
  Entry& e = rules_[f.rule];
  std::size_t& tally = e.tally[static_cast<std::size_t>(f.severity) % 3];
  if (e.kept >= limit_ && tally < out.size() && out[tally].rule == f.rule && out[tally].severity == f.severity) {
    out[tally].more += 1 + f.more;
    return;
  }
  if (e.kept >= limit_) tally = out.size();  // kept, and counts those after it
  ++e.kept;
  out.push_back(std::move(f));
}

}  // namespace flowguard::engine
