// The rule stage: the record stage (each record's own schema, native checks, Lua record rules) and
// the document rules, on as many threads as --jobs gives.
#include <algorithm>
#include <exception>
#include <functional>
#include <set>

#include "document_check.hpp"
#include "findings.hpp"

namespace flowguard::engine {

void DocumentCheck::rules() {
  if (p_.options().trace)  // check --trace: where each record is and what it was checked as; off: nothing built
    for (std::size_t i = 0; i < records_.size(); ++i)
      report_.traced_records.push_back(
          {records_[i].pointer(), plans_[i].type ? plans_[i].type->name : std::string(), records_[i].value->is_object()});
  const auto t_rules = Clock::now();
  const bool run_rules = p_.options().run_rules;
  const bool record_schemas = std::any_of(plans_.begin(), plans_.end(), [](const RecordPlan& p) { return p.schema; });
  const RecordStage stage{records_, plans_, schema_flagged_, root_, run_rules, p_.options().fast_paths, call_};
  if (!run_rules && record_schemas) {
    std::vector<std::size_t> no_rules_failed;
    run_records_parallel(stage, p_.pool(), p_.helper(), jobs_, findings_, no_rules_failed);
    report_.times.records = ms_since(t_rules);
  }
  if (run_rules && !records_.empty()) {
    std::vector<std::size_t> document_rules;
    select_rules(document_rules);
    std::vector<std::size_t> failed_rules;
    const auto t_records = Clock::now();
    // With several jobs the document rules run first on the main rule host while the other jobs
    // start on the records (the main thread joins them when it is done): document rules are one
    // Lua state's walk over all records, the part that otherwise stays serial. Their results are
    // the same as run afterwards: the rules whose record check failed are dropped from them below.
    if (!document_rules.empty() && record_jobs(records_.size(), jobs_) >= 2) {
      std::exception_ptr document_error;
      const std::function<void()> document_work = [&] {
        try {
          run_document_rules(document_rules, {});
        } catch (...) {
          document_error = std::current_exception();
        }
      };
      run_records_parallel(stage, p_.pool(), p_.helper(), jobs_, findings_, failed_rules, document_work);
      if (document_error) std::rethrow_exception(document_error);
      report_.times.records = ms_since(t_records);
      std::erase_if(document_findings_, [&](const auto& f) {
        return std::find(failed_rules.begin(), failed_rules.end(), f.first) != failed_rules.end();
      });
    } else {
      run_records_parallel(stage, p_.pool(), p_.helper(), jobs_, findings_, failed_rules);
      report_.times.records = ms_since(t_records);
      run_document_rules(document_rules, failed_rules);
    }
    for (auto& [rule, finding] : document_findings_) findings_.push_back(std::move(finding));
  }
  report_.times.rules = ms_since(t_rules) - report_.times.records;
}

// The rules that apply to any type present run; of those, the ones with a document check run it
// once per document. The types' rule sets load and their record plans are built here, before the
// record stage's workers start.
void DocumentCheck::select_rules(std::vector<std::size_t>& document_rules) {
  std::set<const TypeEntry*> present;
  for (const auto& p : plans_)
    if (p.type) present.insert(p.type);
  for (const TypeEntry* t : present) p_.pool().ensure_rule_set(*t);
  for (const TypeEntry* t : present) p_.pool().rules_for(*t);
  const auto& rules = p_.pool().rules();
  for (std::size_t r = 0; r < rules.size(); ++r) {
    if (std::none_of(present.begin(), present.end(), [&](const TypeEntry* t) { return rules[r].applies_to(t->name); }))
      continue;
    report_.rules_run.push_back(rules[r].id);
    if (rules[r].has_document) document_rules.push_back(r);
  }
}

// A rule whose record check failed skips its document check (`skip`). The record list is built
// once, and only when some document rule runs.
void DocumentCheck::run_document_rules(const std::vector<std::size_t>& document_rules,
                                       const std::vector<std::size_t>& skip) {
  const auto& rules = p_.pool().rules();
  std::vector<const json::Value*> record_values;
  const lua::RuleHost::RecordPointerFn record_pointer = [this](std::size_t i) { return records_[i].pointer(); };
  std::vector<lua::RuleReport> reports;
  for (const std::size_t r : document_rules) {
    if (std::find(skip.begin(), skip.end(), r) != skip.end()) continue;
    const auto& rule = rules[r];
    if (record_values.size() != records_.size()) {
      record_values.reserve(records_.size());
      for (const auto& rec : records_) record_values.push_back(rec.value);
    }
    auto status = p_.pool().main().run_document(r, record_values, record_pointer, root_, reports);
    for (auto& rep : reports) document_findings_.emplace_back(r, rule_finding(rule, rep, root_, records_));
    reports.clear();
    if (!status)
      document_findings_.emplace_back(
          r, make_finding(rule.id, Severity::kError, "", "rule failed: " + status.error().message, root_.offset()));
  }
}

}  // namespace flowguard::engine
