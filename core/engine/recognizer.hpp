// Finding a document's records, and recognising its type from content.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "flowguard/json/document.hpp"
#include "plugin_host.hpp"

namespace flowguard::engine {

// A record and where it is in the document. The JSON pointer is built only when asked for (a
// finding, a rule's record_pointer()): a batch of records that pass needs none.
struct RecordRef {
  static constexpr std::size_t kNoIndex = static_cast<std::size_t>(-1);
  const json::Value* value = nullptr;  // the record (an object, unless the document is malformed)
  std::string_view base;               // the pointer of the array holding it, or the whole pointer
  std::size_t index = kNoIndex;        // its position in that array
  std::string_view suffix;             // then this ("/payload" for an enveloped message)

  // `base` + "/" + index (when there is one) + `suffix`. `base` and `suffix` must outlive the ref
  // (they are string literals or a type's records pointer).
  std::string pointer() const;
};

// The records of `root` for a type's shape. A document of the wrong shape has no records (the
// schema reports why).
std::vector<RecordRef> locate_records(const json::Value& root, const TypeEntry& type);

// Up to `limit` records, without their pointers: enough to recognise a type cheaply.
std::vector<RecordRef> sample_records(const json::Value& root, const TypeEntry& type, std::size_t limit);

// The first of `variants` whose discriminators hold on `message` (keys looked up ignoring ASCII
// case when the variant accepts case-insensitive keys), or nullptr.
const TypeEntry* match_variant(const json::Value& message, const std::vector<const TypeEntry*>& variants);

// match_variant for the many messages of one family: the variants keyed by their discriminator
// values, so a message costs one lookup per discriminator and one hash lookup instead of a scan of
// every variant (a hundred and more for the DIP). The answer is match_variant's: where variants
// share values the first wins. Variants that do not all read the same discriminator pointers are
// scanned as match_variant does.
class VariantIndex {
 public:
  explicit VariantIndex(std::vector<const TypeEntry*> variants);
  const TypeEntry* match(const json::Value& message) const;
  const std::vector<const TypeEntry*>& variants() const noexcept { return variants_; }

 private:
  std::vector<const TypeEntry*> variants_;
  const TypeEntry* shape_ = nullptr;  // the variant whose pointers all share; nullptr: scan
  std::unordered_map<std::string, const TypeEntry*> by_values_;
};

// True when `message` has the variant's first discriminator field at all (any value).
bool match_variant_prefix(const json::Value& message, const TypeEntry& variant);

// A message matching no variant. When its leading discriminators are some variants' (a known
// interfaceID), the first that is not (the eventCode) is at fault: it is reported there, naming the
// values those variants have; otherwise at the message, naming the closest variants
// ("closest known: IF-031/MSApp, ...").
struct UnknownVariant {
  std::string pointer;              // relative to the message ("/CommonBlock/S0/eventCode"), spelled as it spells its keys
  const json::Value* at = nullptr;  // the value there (the message itself when the pointer is empty)
  std::string message;
};
UnknownVariant describe_unknown_variant(const json::Value& message, const std::vector<const TypeEntry*>& variants);

// A message checked against one named variant (a type hint such as the DIP validation path's
// IF-001/InitialRegistration) whose discriminators name another. Reported where the
// discriminators live (their common parent: the DIP's /CommonBlock/S0), not at the message root.
struct VariantMismatch {
  std::string pointer;                  // relative to the message ("/CommonBlock/S0")
  const json::Value* at = nullptr;      // the value there, or the message when it is absent
  std::string message;
};
VariantMismatch describe_variant_mismatch(const json::Value& message, const TypeEntry& expected);

struct Recognition {
  const TypeEntry* type = nullptr;  // set when exactly one candidate fits clearly
  std::string explanation;          // otherwise: why not, naming the closest types
};

// Discriminators (`matches`) decide outright; otherwise the record keys are compared with each
// type's key hints (Jaccard similarity over the first records).
Recognition recognize(const json::Value& root, const std::vector<const TypeEntry*>& candidates);

// "; did you mean dfs.bid-submission?" style suffix for an unknown type name.
std::string closest_names(std::string_view name, const std::vector<TypeEntry>& types);

}  // namespace flowguard::engine
