// One document going through the pipeline: the state its stages hand on (internal to pipeline*.cpp).
#pragma once

#include <string>
#include <unordered_set>
#include <vector>

#include "pipeline.hpp"

namespace flowguard::engine {

class Family;

class DocumentCheck {
 public:
  DocumentCheck(Pipeline& pipeline, const json::Document& doc, std::string_view type_hint, unsigned jobs,
                const Call& call, FileReport& report)
      : p_(pipeline), doc_(doc), root_(doc.root()), hint_(type_hint), jobs_(jobs), call_(call), report_(report) {}

  void duplicate_keys();
  // false: the hint names no type (the report's input_error says so), nothing more to do.
  bool recognise();
  void schemas();
  void rules();
  void finish();

 private:
  // recognise(), in steps.
  bool gather_candidates();
  void match_messages();
  void report_messages();
  void recognise_single();
  // schemas(): the document schema of a single type.
  void document_schema();
  // rules(): the document rules of the types present, and the record stage.
  void select_rules(std::vector<std::size_t>& document_rules);
  void run_document_rules(const std::vector<std::size_t>& document_rules, const std::vector<std::size_t>& skip);

  Pipeline& p_;
  const json::Document& doc_;
  const json::Value& root_;
  std::string_view hint_;
  unsigned jobs_;
  const Call& call_;
  FileReport& report_;

  std::vector<Finding> findings_;
  std::vector<const TypeEntry*> candidates_, variants_;
  std::vector<RecordRef> records_;
  std::vector<RecordPlan> plans_;
  const TypeEntry* type_ = nullptr;  // the single type of a non-message document
  bool message_mode_ = false;
  bool family_signature_ = false;
  const Family* family_ = nullptr;  // the variants' family (message documents)
  std::unordered_set<std::string> schema_flagged_;
  std::vector<std::pair<std::size_t, Finding>> document_findings_;  // (rule, finding)
};

}  // namespace flowguard::engine
