#include "record_stage.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <set>
#include <thread>

#include "findings.hpp"

namespace flowguard::engine {

void StageHelper::post(std::function<void()> work) {
  std::lock_guard lock(m_);
  posted_ = std::move(work);
  cv_.notify_all();
}

std::function<void()> StageHelper::take_locked() {
  std::function<void()> work = std::move(posted_);
  posted_ = nullptr;
  running_ = static_cast<bool>(work);
  return work;
}

void StageHelper::finished() {
  std::lock_guard lock(m_);
  running_ = false;
  cv_.notify_all();
}

void StageHelper::recall() {
  std::unique_lock lock(m_);
  posted_ = nullptr;
  cv_.wait(lock, [&] { return !running_; });
}

namespace {

// One record's Lua record rules (those that have not failed), their reports and failures as findings.
void run_lua_record_rules(const RecordStage& stage, std::size_t i, const RulePool::TypeRules& plan,
                          lua::RuleHost& host, std::vector<Finding>& out, std::vector<std::size_t>& failed_rules,
                          std::vector<std::size_t>& record_rules, std::vector<lua::RuleReport>& reports,
                          std::vector<lua::RuleFailure>& failures, FindingCap& cap) {
  const auto& rules = host.rules();
  const json::Value& record = *stage.records[i].value;
  auto failed = [&](std::size_t r) {
    return !failed_rules.empty() && std::find(failed_rules.begin(), failed_rules.end(), r) != failed_rules.end();
  };
  record_rules.clear();
  for (std::size_t r : plan.record_rules)
    if (!failed(r)) record_rules.push_back(r);
  if (record_rules.empty()) return;
  failures.clear();
  host.run_record_rules(record_rules, record, i, reports, failures);
  for (auto& rep : reports) cap.add(out, rule_finding(rules[rep.rule], rep, stage.root, stage.records));
  reports.clear();
  for (auto& failure : failures) {
    // A broken rule fails once per document, not once per record.
    failed_rules.push_back(failure.rule_index);
    out.push_back(make_finding(rules[failure.rule_index].id, Severity::kError, stage.records[i].pointer(),
                               "rule failed: " + failure.error.message, record.offset()));
  }
}

}  // namespace

void run_record_stage(const RecordStage& stage, const RulePool& pool, std::size_t begin, std::size_t end,
                      lua::RuleHost& host, std::vector<Finding>& out, std::vector<std::size_t>& failed_rules) {
  const auto& records = stage.records;
  const auto& rules = host.rules();
  std::vector<lua::RuleReport> reports;
  std::vector<std::size_t> record_rules;
  std::vector<lua::RuleFailure> failures;
  FindingCap cap(findings_per_rule(stage.call.max_findings));  // a rule's findings in this chunk
  std::vector<schema::Violation> violations;
  std::unordered_set<std::string> record_flagged;  // this record's own schema findings
  schema::KeyShapeMemo key_shapes;  // records of one document share key shapes
  NativeChecks::ShapeCache native_shapes;
  const TypeEntry* last_type = nullptr;
  const RulePool::TypeRules* plan = nullptr;
  auto failed = [&](std::size_t r) {
    return !failed_rules.empty() && std::find(failed_rules.begin(), failed_rules.end(), r) != failed_rules.end();
  };
  std::size_t current = 0;  // the record the native checks are reporting on
  const FieldProblem add = [&](std::size_t r, const std::string& field, const json::Value& value, std::string message) {
    std::string pointer = records[current].pointer();
    json::append_pointer(pointer, field);
    if (stage.document_flagged.count(pointer) || record_flagged.count(pointer)) return;  // one finding per field: the schema's
    const auto& rule = rules[r];
    cap.add(out, make_finding(rule.id, rule.severity, std::move(pointer), with_spec(std::move(message), rule.spec),
                              value.offset(), rule.code));
  };
  for (std::size_t i = begin; i < end; ++i) {
    const TypeEntry* type = stage.plans[i].type;
    const json::Value& record = *records[i].value;
    if (!type) continue;
    current = i;
    record_flagged.clear();
    if (const schema::CompiledSchema* schema = stage.plans[i].schema) {
      schema::ValidateOptions how{type->case_insensitive_keys};
      how.skip_valid_subtrees = stage.fast_paths;
      how.key_shapes = &key_shapes;
      if (!stage.fast_paths || !schema->accepts(record, how)) {
        schema->validate(record, records[i].pointer(), violations, SIZE_MAX, how);
        add_schema_findings(violations, *type, stage.call.strict_keys, out, record_flagged, &cap);
      }
    }
    if (!stage.run_rules || !record.is_object()) continue;  // the schema says why a record is not an object
    if (type != last_type) {
      last_type = type;
      plan = &pool.built_rules_for(*type);  // built before any worker started
    }
    // Native field checks: no Lua on this path.
    if (!stage.fast_paths) native_shapes = {};  // every record looks its fields up (what the tests compare)
    if (!plan->native.empty()) plan->native.run(record, native_shapes, failed, add);
    if (plan->record_rules.empty()) continue;
    run_lua_record_rules(stage, i, *plan, host, out, failed_rules, record_rules, reports, failures, cap);
  }
}

namespace {

// The chunks' findings in record order, without what a rule reported after it failed in an
// earlier chunk; `failed_rules` becomes every rule that failed.
void merge_chunks(const RulePool& pool, std::vector<std::vector<Finding>>& outs,
                  const std::vector<std::vector<std::size_t>>& failures, std::vector<Finding>& out,
                  std::vector<std::size_t>& failed_rules) {
  std::set<std::string_view> failed_ids;
  std::set<std::size_t> failed;
  for (std::size_t c = 0; c < outs.size(); ++c) {
    for (auto& f : outs[c])
      if (failed_ids.empty() || !failed_ids.count(f.rule)) out.push_back(std::move(f));
    for (const std::size_t r : failures[c])
      if (failed.insert(r).second) failed_ids.insert(pool.rules()[r].id);
  }
  failed_rules.assign(failed.begin(), failed.end());
}

}  // namespace

void run_records_parallel(const RecordStage& stage, RulePool& pool, StageHelper* helper, unsigned max_jobs,
                          std::vector<Finding>& out, std::vector<std::size_t>& failed_rules,
                          const std::function<void()>& first_on_main) {
  const auto& records = stage.records;
  const std::size_t jobs = record_jobs(records.size(), max_jobs);
  if (jobs <= 1 || !pool.sync_workers(jobs - 1)) {
    if (first_on_main) first_on_main();
    run_record_stage(stage, pool, 0, records.size(), pool.main(), out, failed_rules);
    return;
  }
  for (std::size_t w = 0; w + 1 < jobs; ++w) pool.bind_worker(w, stage.call);
  constexpr std::size_t kChunksPerJob = 8;
  const std::size_t chunk = (records.size() + jobs * kChunksPerJob - 1) / (jobs * kChunksPerJob);
  const std::size_t chunks = (records.size() + chunk - 1) / chunk;
  std::vector<std::vector<Finding>> outs(chunks);
  std::vector<std::vector<std::size_t>> failures(chunks);
  std::vector<std::exception_ptr> errors(jobs);
  std::atomic<std::size_t> next{0};
  auto work = [&](std::size_t j, lua::RuleHost& host) {
    try {
      if (j == 0 && first_on_main) first_on_main();
      for (std::size_t c; (c = next.fetch_add(1, std::memory_order_relaxed)) < chunks;)
        run_record_stage(stage, pool, c * chunk, std::min(records.size(), (c + 1) * chunk), host, outs[c], failures[c]);
    } catch (...) {  // handed to the calling thread, as if the stage had run there
      errors[j] = std::current_exception();
      next.store(chunks);  // the others stop after their current chunk
    }
  };
  std::vector<std::thread> threads;
  for (std::size_t j = 1; j < jobs; ++j) {
    if (helper && j == 1) {
      helper->post([&work, &host = pool.worker(0)] { work(1, host); });
      continue;
    }
    try {
      threads.emplace_back(work, j, std::ref(pool.worker(j - 1)));
    } catch (...) {
      break;  // no thread to be had: the threads there are (at least this one) take every chunk
    }
  }
  work(0, pool.main());
  if (helper) helper->recall();
  for (auto& t : threads) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
  merge_chunks(pool, outs, failures, out, failed_rules);
}

}  // namespace flowguard::engine
