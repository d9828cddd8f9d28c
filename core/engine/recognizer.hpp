// Finding a document's records, and recognising its type from content.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "flowguard/json/document.hpp"
#include "plugin_host.hpp"

namespace flowguard::engine {

struct RecordRef {
  std::string pointer;       // where the record is in the document
  const json::Value* value;  // the record (an object, unless the document is malformed)
};

// The records of `root` for a type's shape. A document of the wrong shape has no records (the
// schema reports why).
std::vector<RecordRef> locate_records(const json::Value& root, const TypeEntry& type);

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
