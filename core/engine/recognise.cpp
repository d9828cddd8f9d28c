// The recognise stage: which type a document is, or for a message family which variant each
// message is, and the records the later stages check.
#include "document_check.hpp"
#include "family.hpp"
#include "findings.hpp"

namespace flowguard::engine {

bool DocumentCheck::recognise() {
  if (!gather_candidates()) return false;
  match_messages();
  if (message_mode_) report_messages();
  else recognise_single();
  if (type_) {
    report_.type = type_->name;
    records_ = locate_records(root_, *type_);
    plans_.assign(records_.size(), RecordPlan{type_});
  }
  report_.records = records_.size();
  return true;
}

// Which types may this be? A hint names a type or a family prefix ("dfs").
bool DocumentCheck::gather_candidates() {
  for (const auto& t : p_.catalogue().types())
    if (hint_.empty() || t.name == hint_ ||
        (t.name.size() > hint_.size() && t.name.compare(0, hint_.size(), hint_) == 0 && t.name[hint_.size()] == '.'))
      candidates_.push_back(&t);
  if (!hint_.empty() && candidates_.empty()) {
    report_.input_error = make_error(ErrorCode::kUnknownType, "unknown type \"" + std::string(hint_) + "\"" +
                                                                  closest_names(hint_, p_.catalogue().types()));
    return false;
  }
  return true;
}

// Message families (the DIP): each message is matched to its own variant by discriminators.
void DocumentCheck::match_messages() {
  for (const TypeEntry* t : candidates_)
    if (t->shape == FG_SHAPE_MESSAGE && !t->matches.empty()) variants_.push_back(t);
  // Cheap pre-test: a message family is only worth matching when the first message carries the
  // family's first discriminator at all (a DFS batch never has /CommonBlock/S0/interfaceID).
  // A message carrying that field is the family's, even when its values match no variant (it then
  // gets type.unknown-variant naming the closest ones, not type.unrecognised).
  if (variants_.empty()) return;
  family_ = &family_of(*variants_.front());
  if (hint_.empty()) {
    const json::Value* first = root_.is_array() ? (root_.size() ? &root_.items()[0] : nullptr) : &root_;
    if (first) first = family_->unwrap(*first).message;
    family_signature_ = first && first->is_object() && match_variant_prefix(*first, *variants_.front());
    if (!family_signature_) variants_.clear();
  }
  if (variants_.empty()) return;
  auto messages = locate_messages(root_, *family_);
  std::vector<RecordPlan> message_plans(messages.size());
  bool any = false;
  const VariantIndex& index = p_.catalogue().variant_index(variants_);
  for (std::size_t i = 0; i < messages.size(); ++i) {
    message_plans[i].type = index.match(*messages[i].value);
    any = any || message_plans[i].type;
  }
  // A hint inside a message family commits to it; without a hint, one recognised message does.
  const bool hint_is_family = !hint_.empty() && candidates_.size() == variants_.size();
  if (any || hint_is_family || family_signature_) {
    message_mode_ = true;
    records_ = std::move(messages);
    plans_ = std::move(message_plans);
  }
}

// Each message described for the report; those matching no variant (or another than the one
// asked for) reported. The report's type is the variant when all messages share one, else the family.
void DocumentCheck::report_messages() {
  const TypeEntry* single = nullptr;  // the one variant of every recognised message (names are unique)
  bool several = false;
  report_.messages.reserve(records_.size());
  for (std::size_t i = 0; i < records_.size(); ++i) {
    MessageInfo& info = report_.messages.emplace_back();
    info.pointer = records_[i].pointer();
    if (plans_[i].type) info.type = plans_[i].type->name;
    family_->describe(*records_[i].value, info);
    if (plans_[i].type) {
      several = several || (single && single != plans_[i].type);
      single = plans_[i].type;
    } else if (variants_.size() == 1 && hint_ == variants_.front()->name) {
      // Asked for one variant (the DIP validation path names it): the message says it is another.
      auto mismatch = describe_variant_mismatch(*records_[i].value, *variants_.front());
      findings_.push_back(make_finding("type.variant-mismatch", Severity::kError, records_[i].pointer() + mismatch.pointer,
                                       std::move(mismatch.message), mismatch.at->offset(),
                                       variants_.front()->unknown_variant_code));
    } else {
      auto unknown = describe_unknown_variant(*records_[i].value, variants_);
      findings_.push_back(make_finding("type.unknown-variant", Severity::kError, records_[i].pointer() + unknown.pointer,
                                       std::move(unknown.message), unknown.at->offset(),
                                       variants_.front()->unknown_variant_code));
    }
  }
  if (single && !several) report_.type = single->name;
  else report_.type = variants_.front()->name.substr(0, variants_.front()->name.find('.'));  // the family
  report_.type_from_content = true;
}

// A document of one type: the hint's, or recognised from content.
void DocumentCheck::recognise_single() {
  if (candidates_.size() == 1 && !hint_.empty() && candidates_[0]->name == hint_) {
    type_ = candidates_[0];
    return;
  }
  auto recognition = recognize(root_, candidates_);
  if (recognition.type) {
    type_ = recognition.type;
    report_.type_from_content = hint_.empty() || hint_ != type_->name;
  } else {
    findings_.push_back(make_finding("type.unrecognised", Severity::kError, "", recognition.explanation, root_.offset()));
  }
}

}  // namespace flowguard::engine
