#include "pipeline.hpp"

#include <algorithm>
#include <tuple>

#include "document_check.hpp"
#include "findings.hpp"

namespace flowguard::engine {

Parsed Pipeline::parse(std::string_view bytes, const PaddedBytes* padded, unsigned threads) const {
  Parsed p;
  const auto t_start = Clock::now();
  json::ParseOptions parse_options;
  parse_options.max_depth = options_.max_depth;
  parse_options.threads = threads;  // a large root array is parsed in ranges, one per job
  p.ok = padded ? json::Document::parse(*padded, p.doc, p.error, parse_options)
                : json::Document::parse(bytes, p.doc, p.error, parse_options);
  p.parse_ms = ms_since(t_start);
  return p;
}

FileReport Pipeline::check_parsed(Parsed& parsed, std::string_view source_name, std::string_view type_hint,
                                  unsigned jobs, Clock::time_point t_start, const Call& call) {
  // The call's data on the main rule host (the workers get it when the record stage starts them).
  struct Unbind {
    RulePool& pool;
    ~Unbind() { pool.unbind_state(); }
  } unbind{pool_};
  pool_.bind_main(call);
  FileReport report;
  report.path = std::string(source_name);
  report.times.parse = parsed.parse_ms;
  if (!parsed.ok) {
    const json::ParseError& parse_error = parsed.error;
    report.input_error = make_error(
        parse_error.limit ? ErrorCode::kLimit : ErrorCode::kParse,
        report.path + ":" + std::to_string(parse_error.line) + ":" + std::to_string(parse_error.column) + ": " +
            (parse_error.limit ? "input exceeds a limit: " : "not valid JSON: ") + parse_error.message);
    return report;
  }
  DocumentCheck check(*this, parsed.doc, type_hint, jobs, call, report);
  check.duplicate_keys();
  if (!check.recognise()) return report;
  check.schemas();
  check.rules();
  check.finish();
  report.times.total = ms_since(t_start);
  return report;
}

void DocumentCheck::duplicate_keys() {
  for (const auto& dup : doc_.duplicate_keys()) {
    std::string pointer;
    if (dup.object && pointer_to(root_, dup.object, pointer)) json::append_pointer(pointer, dup.key);
    findings_.push_back(make_finding("json.duplicate-key", Severity::kWarning, std::move(pointer),
                                     "key \"" + std::string(dup.key) + "\" appears more than once in this object; receivers may keep either value",
                                     dup.key_offset));
  }
}

namespace {

Finding schema_unavailable(const TypeEntry& t, std::string pointer, std::uint64_t offset) {
  return make_finding("schema.unavailable", Severity::kError, std::move(pointer),
                      "the schema of " + t.name + " could not be loaded, so this was not validated against it", offset);
}

}  // namespace

// Schema: the fast accept path first; the diagnostic walk only for what fails it. A message is
// validated against its variant, and a batch whose schema splits into items has each record
// validated on its own, both in the record stage (on as many threads as --jobs gives).
void DocumentCheck::schemas() {
  const auto t_schema = Clock::now();
  if (type_) {
    document_schema();
  } else if (message_mode_) {
    for (std::size_t i = 0; i < records_.size(); ++i) {
      const TypeEntry* t = plans_[i].type;
      if (!t) continue;
      plans_[i].schema = p_.catalogue().schema_for(*t);
      if (!plans_[i].schema)
        findings_.push_back(schema_unavailable(*t, records_[i].pointer(), records_[i].value->offset()));
    }
  }
  report_.times.schema = ms_since(t_schema);
}

void DocumentCheck::document_schema() {
  const auto* schema = p_.catalogue().schema_for(*type_);
  if (!schema) {
    findings_.push_back(schema_unavailable(*type_, "", root_.offset()));
    return;
  }
  const bool fast_paths = p_.options().fast_paths;
  schema::ValidateOptions how{type_->case_insensitive_keys};
  how.skip_valid_subtrees = fast_paths;
  const schema::CompiledSchema* items = fast_paths ? p_.catalogue().item_schema_for(*type_) : nullptr;
  const bool records_are_root_items = root_.is_array() && records_.size() == root_.size() &&
                                      (records_.empty() || records_.front().value == root_.items().data());
  if (items && records_are_root_items) {
    how.skip_root_items = true;
    for (auto& plan : plans_) plan.schema = items;
  }
  if (!fast_paths || !schema->accepts(root_, how)) {
    std::vector<schema::Violation> violations;
    schema->validate(root_, "", violations, SIZE_MAX, how);
    FindingCap cap(findings_per_rule(call_.max_findings));
    add_schema_findings(violations, *type_, call_.strict_keys, findings_, schema_flagged_, &cap);
  }
}

void DocumentCheck::finish() {
  sort_findings(findings_);
  for (const auto& f : findings_) {
    auto& total = f.severity == Severity::kError     ? report_.errors
                  : f.severity == Severity::kWarning ? report_.warnings
                                                     : report_.infos;
    total += 1 + f.more;
    if (f.more) add_capped(report_.findings_capped, f.rule, f.more);
  }
  for (const auto& [rule, n] : report_.findings_capped) report_.findings_not_shown += n;
  if (findings_.size() > call_.max_findings) {
    report_.findings_not_shown += findings_.size() - call_.max_findings;
    findings_.resize(call_.max_findings);
  }
  if (!findings_.empty()) {  // the line index costs a pass over the input: only when something is reported
    const auto& lines = doc_.lines();
    for (auto& f : findings_) std::tie(f.line, f.column) = lines.locate(f.offset);
  }
  report_.findings = std::move(findings_);
}

}  // namespace flowguard::engine
