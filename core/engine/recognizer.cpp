#include "recognizer.hpp"

#include <algorithm>
#include <cstdio>
#include <set>

#include "flowguard/domain/checks.hpp"

namespace flowguard::engine {

namespace {

constexpr std::size_t kSampleRecords = 5;
constexpr double kMinimumSimilarity = 0.5;

bool shape_fits(const json::Value& root, const TypeEntry& type) {
  switch (type.shape) {
    case FG_SHAPE_RECORD_ARRAY: return root.is_array();
    case FG_SHAPE_ENVELOPE: return root.is_object();
    case FG_SHAPE_MESSAGE: return root.is_object() || root.is_array();
  }
  return false;
}

bool matches_hold(const json::Value& record, const TypeEntry& type) {
  for (const auto& m : type.matches) {
    const json::Value* v = json::resolve_pointer(record, m.pointer);
    if (!v || !v->is_string() || v->as_string() != m.equals) return false;
  }
  return true;
}

double similarity(const std::set<std::string_view>& keys, const TypeEntry& type) {
  if (type.key_hints.empty() || keys.empty()) return 0.0;
  std::size_t common = 0;
  for (const auto& hint : type.key_hints) common += keys.count(hint);
  const std::size_t union_size = keys.size() + type.key_hints.size() - common;
  return union_size ? static_cast<double>(common) / static_cast<double>(union_size) : 0.0;
}

std::string percent(double score) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.0f%%", score * 100.0);
  return buf;
}

}  // namespace

std::vector<RecordRef> locate_records(const json::Value& root, const TypeEntry& type) {
  std::vector<RecordRef> records;
  auto add_items = [&](const json::Value& array, const std::string& base) {
    std::size_t i = 0;
    for (const auto& item : array.items()) {
      std::string pointer = base;
      json::append_pointer(pointer, i++);
      records.push_back({std::move(pointer), &item});
    }
  };
  switch (type.shape) {
    case FG_SHAPE_RECORD_ARRAY:
      if (root.is_array()) add_items(root, "");
      break;
    case FG_SHAPE_ENVELOPE:
      if (const json::Value* data = json::resolve_pointer(root, type.records_pointer); data && data->is_array())
        add_items(*data, type.records_pointer);
      break;
    case FG_SHAPE_MESSAGE:
      if (root.is_array()) add_items(root, "");
      else records.push_back({"", &root});
      break;
  }
  return records;
}

Recognition recognize(const json::Value& root, const std::vector<const TypeEntry*>& candidates) {
  Recognition result;
  struct Scored {
    const TypeEntry* type;
    double score;
  };
  std::vector<Scored> scored;
  bool any_records = false;
  for (const TypeEntry* type : candidates) {
    // A lone record where an array of them is expected is still recognisably that type (the
    // schema then says an array was expected), so score the object itself as the record.
    const bool lone_record = type->shape == FG_SHAPE_RECORD_ARRAY && root.is_object();
    if (!shape_fits(root, *type) && !lone_record) continue;
    auto records = locate_records(root, *type);
    if (lone_record) records.push_back({"", &root});
    std::set<std::string_view> keys;
    std::size_t sampled = 0;
    bool discriminated = !type->matches.empty();
    for (const auto& rec : records) {
      if (!rec.value->is_object()) continue;
      any_records = true;
      if (discriminated && !matches_hold(*rec.value, *type)) discriminated = false;
      for (const auto& m : rec.value->members()) keys.insert(m.key);
      if (++sampled == kSampleRecords) break;
    }
    if (sampled == 0) continue;
    const double score = discriminated ? 1.0 + similarity(keys, *type) : (type->matches.empty() ? similarity(keys, *type) : 0.0);
    scored.push_back({type, score});
  }
  std::stable_sort(scored.begin(), scored.end(), [](const Scored& a, const Scored& b) { return a.score > b.score; });

  if (!scored.empty() && scored[0].score >= kMinimumSimilarity &&
      (scored.size() == 1 || scored[0].score > scored[1].score)) {
    result.type = scored[0].type;
    return result;
  }
  if (!any_records) {
    result.explanation = root.is_array() || root.is_object()
                             ? "the document has no records to recognise its type from; give the type with --type"
                             : std::string("the document is a JSON ") + json::to_string(root.kind()) +
                                   ", which no message type uses; expected an array of records or an object";
    return result;
  }
  result.explanation = "no message type recognised from the content; closest: ";
  std::size_t shown = 0;
  for (const auto& s : scored) {
    if (shown == 3 || s.score <= 0.0) break;
    result.explanation += (shown++ ? ", " : "") + s.type->name + " (" + percent(std::min(s.score, 1.0)) + " of keys in common)";
  }
  if (shown == 0) result.explanation += "none";
  result.explanation += "; give the type with --type to check against one";
  return result;
}

std::string closest_names(std::string_view name, const std::vector<TypeEntry>& types) {
  std::vector<std::pair<std::size_t, std::string>> ranked;
  for (const auto& t : types) ranked.emplace_back(domain::edit_distance(name, t.name), t.name);
  std::sort(ranked.begin(), ranked.end());
  std::string out;
  for (std::size_t i = 0; i < ranked.size() && i < 3; ++i) out += (i ? ", " : "") + ranked[i].second;
  if (out.empty()) return "; no message types are loaded";
  return "; closest known types: " + out + " (flowguard types lists them all)";
}

}  // namespace flowguard::engine
