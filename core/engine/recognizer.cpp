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

// resolve_pointer, but object keys compared ignoring ASCII case (exact match preferred).
const json::Value* resolve_loose(const json::Value& root, std::string_view pointer) {
  const json::Value* at = &root;
  std::size_t pos = 0;
  while (at && pos < pointer.size()) {
    if (pointer[pos] != '/') return nullptr;
    const std::size_t end = std::min(pointer.find('/', pos + 1), pointer.size());
    const std::string_view token = pointer.substr(pos + 1, end - pos - 1);  // discriminator pointers have no escapes
    pos = end;
    if (!at->is_object()) {
      std::string rest("/");
      rest.append(token);  // (not "/" + std::string: GCC 12 warns falsely on that, -Wrestrict)
      return json::resolve_pointer(*at, rest);
    }
    const json::Member* next = at->find_member_ignoring_case(token);
    at = next ? &next->value : nullptr;
  }
  return at;
}

std::string_view discriminator_value(const json::Value& record, const TypeEntry& type, const Discriminator& m) {
  const json::Value* v = type.case_insensitive_keys ? resolve_loose(record, m.pointer) : json::resolve_pointer(record, m.pointer);
  return v && v->is_string() ? v->as_string() : std::string_view();
}

bool matches_hold(const json::Value& record, const TypeEntry& type) {
  for (const auto& m : type.matches)
    if (discriminator_value(record, type, m) != m.equals) return false;
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

std::string RecordRef::pointer() const {
  std::string out(base);
  if (index != kNoIndex) json::append_pointer(out, index);
  out += suffix;
  return out;
}

std::vector<RecordRef> locate_records(const json::Value& root, const TypeEntry& type) {
  std::vector<RecordRef> records;
  auto add_items = [&](const json::Value& array, std::string_view base) {
    records.reserve(array.size());
    std::size_t i = 0;
    for (const auto& item : array.items()) records.push_back({&item, base, i++, {}});
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
      else records.push_back({&root, "", RecordRef::kNoIndex, {}});
      break;
  }
  return records;
}

std::vector<RecordRef> sample_records(const json::Value& root, const TypeEntry& type, std::size_t limit) {
  const json::Value* array = nullptr;
  std::vector<RecordRef> sample;
  if (type.shape == FG_SHAPE_ENVELOPE) array = json::resolve_pointer(root, type.records_pointer);
  else if (root.is_array()) array = &root;
  else if (type.shape == FG_SHAPE_MESSAGE) sample.push_back({&root, "", RecordRef::kNoIndex, {}});
  if (array && array->is_array())
    for (const auto& item : array->items()) {
      if (sample.size() == limit) break;
      sample.push_back({&item, "", RecordRef::kNoIndex, {}});
    }
  return sample;
}

bool match_variant_prefix(const json::Value& message, const TypeEntry& variant) {
  if (variant.matches.empty()) return false;
  const auto& first = variant.matches.front();
  const json::Value* v = variant.case_insensitive_keys ? resolve_loose(message, first.pointer) : json::resolve_pointer(message, first.pointer);
  return v != nullptr;
}

const TypeEntry* match_variant(const json::Value& message, const std::vector<const TypeEntry*>& variants) {
  if (!message.is_object()) return nullptr;
  // Variants of a family share their discriminator pointers (a hundred variants, two pointers):
  // each distinct pointer is resolved once per message, not once per variant.
  struct Seen {
    const std::string* pointer;
    bool loose;
    std::string_view value;
  };
  std::vector<Seen> seen;
  auto value_of = [&](const TypeEntry& type, const Discriminator& m) {
    for (const auto& s : seen)
      if (s.loose == type.case_insensitive_keys && *s.pointer == m.pointer) return s.value;
    const std::string_view value = discriminator_value(message, type, m);
    seen.push_back({&m.pointer, type.case_insensitive_keys, value});
    return value;
  };
  for (const TypeEntry* v : variants) {
    bool all = true;
    for (const auto& m : v->matches)
      if (value_of(*v, m) != m.equals) { all = false; break; }
    if (all) return v;
  }
  return nullptr;
}

namespace {

// Discriminator values as one key: each value's length (4 bytes), then its bytes.
void append_key_part(std::string& key, std::string_view value) {
  const auto size = static_cast<std::uint32_t>(value.size());
  key.append(reinterpret_cast<const char*>(&size), sizeof size);
  key.append(value);
}

bool same_pointers(const TypeEntry& a, const TypeEntry& b) {
  if (a.case_insensitive_keys != b.case_insensitive_keys || a.matches.size() != b.matches.size()) return false;
  for (std::size_t i = 0; i < a.matches.size(); ++i)
    if (a.matches[i].pointer != b.matches[i].pointer) return false;
  return true;
}

}  // namespace

VariantIndex::VariantIndex(std::vector<const TypeEntry*> variants) : variants_(std::move(variants)) {
  if (variants_.empty()) return;
  const TypeEntry& first = *variants_.front();
  for (const TypeEntry* v : variants_)
    if (!same_pointers(first, *v)) return;  // no shared shape: match() scans
  shape_ = &first;
  for (const TypeEntry* v : variants_) {
    std::string key;
    for (const auto& m : v->matches) append_key_part(key, m.equals);
    by_values_.emplace(std::move(key), v);  // an earlier variant with the same values stays
  }
}

const TypeEntry* VariantIndex::match(const json::Value& message) const {
  if (!shape_) return match_variant(message, variants_);
  if (!message.is_object()) return nullptr;
  thread_local std::string key;
  key.clear();
  for (const auto& m : shape_->matches) append_key_part(key, discriminator_value(message, *shape_, m));
  const auto it = by_values_.find(key);
  return it == by_values_.end() ? nullptr : it->second;
}

namespace {

// resolve_loose (or resolve_pointer), also spelling the pointer as the message spells its keys.
const json::Value* resolve_spelled(const json::Value& root, std::string_view pointer, bool loose, std::string& spelled) {
  spelled.clear();
  const json::Value* at = &root;
  std::size_t pos = 0;
  while (at && pos < pointer.size()) {
    if (pointer[pos] != '/') return nullptr;
    const std::size_t end = std::min(pointer.find('/', pos + 1), pointer.size());
    const std::string_view token = pointer.substr(pos + 1, end - pos - 1);  // discriminator pointers have no escapes
    pos = end;
    if (!at->is_object()) return nullptr;
    const json::Member* next = loose ? at->find_member_ignoring_case(token) : nullptr;
    if (!loose)
      for (const auto& m : at->members())
        if (m.key == token) { next = &m; break; }
    if (!next) return nullptr;
    json::append_pointer(spelled, next->key);
    at = &next->value;
  }
  return at;
}

}  // namespace

UnknownVariant describe_unknown_variant(const json::Value& message, const std::vector<const TypeEntry*>& variants) {
  UnknownVariant out;
  out.at = &message;
  if (variants.empty()) {
    out.message = "no message variants are loaded";
    return out;
  }
  const TypeEntry& any = *variants.front();
  // What the message says it is, in the discriminators' own terms.
  std::string said;
  for (const auto& m : any.matches) {
    const auto value = discriminator_value(message, any, m);
    said += (said.empty() ? "" : ", ") + m.pointer + " = " + (value.empty() ? std::string("(absent)") : "\"" + std::string(value) + "\"");
  }
  // How many leading discriminators some variant shares with the message: a known interfaceID with an
  // eventCode none of its variants has is that eventCode's fault, told with that interface's own codes.
  std::size_t held = 0;
  std::vector<const TypeEntry*> near;
  for (std::size_t k = 1; k < any.matches.size(); ++k) {
    std::vector<const TypeEntry*> sharing;
    for (const TypeEntry* v : variants) {
      bool all = v->matches.size() > k;
      for (std::size_t j = 0; all && j < k; ++j)
        all = discriminator_value(message, *v, v->matches[j]) == v->matches[j].equals;
      if (all) sharing.push_back(v);
    }
    if (sharing.empty()) break;
    held = k;
    near = std::move(sharing);
  }
  if (held > 0) {
    const Discriminator& wrong = any.matches[held];
    std::string spelled;
    if (const json::Value* v = resolve_spelled(message, wrong.pointer, any.case_insensitive_keys, spelled)) {
      out.pointer = std::move(spelled);
      out.at = v;
    }
    std::string owner;
    for (std::size_t j = 0; j < held; ++j) owner += (owner.empty() ? "" : "/") + near.front()->matches[j].equals;
    const std::string value(discriminator_value(message, any, wrong));
    std::vector<std::pair<std::size_t, std::string>> ranked;
    for (const TypeEntry* v : near) ranked.emplace_back(domain::edit_distance(value, v->matches[held].equals), v->matches[held].equals);
    std::sort(ranked.begin(), ranked.end());
    ranked.erase(std::unique(ranked.begin(), ranked.end()), ranked.end());
    constexpr std::size_t kShown = 5;
    std::string closest;
    for (std::size_t i = 0; i < ranked.size() && i < kShown; ++i) closest += (i ? ", " : "") + ranked[i].second;
    if (ranked.size() > kShown) closest += " and " + std::to_string(ranked.size() - kShown) + " more";
    out.message = "no " + any.plugin + " message variant has " + said + "; " + owner + "'s " +
                  wrong.pointer.substr(wrong.pointer.rfind('/') + 1) + " values, closest first: " + closest;
    return out;
  }
  auto label = [](const TypeEntry& t) {
    std::string l;
    for (const auto& m : t.matches) l += (l.empty() ? "" : "/") + m.equals;
    return l;
  };
  std::string wanted;
  for (const auto& m : any.matches) wanted += (wanted.empty() ? "" : "/") + std::string(discriminator_value(message, any, m));
  std::vector<std::pair<std::size_t, std::string>> ranked;
  for (const TypeEntry* v : variants) ranked.emplace_back(domain::edit_distance(wanted, label(*v)), label(*v));
  std::sort(ranked.begin(), ranked.end());
  ranked.erase(std::unique(ranked.begin(), ranked.end()), ranked.end());
  std::string closest;
  for (std::size_t i = 0; i < ranked.size() && i < 3; ++i) closest += (i ? ", " : "") + ranked[i].second;
  out.message = "no " + any.plugin + " message variant has " + said + "; closest known: " + closest;
  return out;
}

VariantMismatch describe_variant_mismatch(const json::Value& message, const TypeEntry& expected) {
  VariantMismatch out;
  // The discriminators' longest common parent, whole segments only ("/CommonBlock/S0").
  std::string parent;
  for (std::size_t i = 0; i < expected.matches.size(); ++i) {
    const std::string& p = expected.matches[i].pointer;
    const std::string own = p.substr(0, p.rfind('/') == std::string::npos ? 0 : p.rfind('/'));
    if (i == 0) {
      parent = own;
      continue;
    }
    // Shorten `parent` until it is `own` or a segment-prefix of it.
    while (!parent.empty() && !(own == parent || (own.size() > parent.size() && own.compare(0, parent.size(), parent) == 0 &&
                                                  own[parent.size()] == '/')))
      parent.erase(parent.rfind('/'));
  }
  out.pointer = parent;
  out.at = json::resolve_pointer(message, out.pointer);
  if (!out.at) {
    out.at = &message;
    out.pointer.clear();
  }
  std::string said, wanted;
  for (const auto& m : expected.matches) {
    const auto value = discriminator_value(message, expected, m);
    said += (said.empty() ? "" : "/") + (value.empty() ? std::string("(absent)") : std::string(value));
    wanted += (wanted.empty() ? "" : "/") + m.equals;
  }
  out.message = (out.pointer.empty() ? std::string("the message") : out.pointer) + " names " + said + "; expected " + wanted +
                ", the " + expected.plugin + " variant this check was asked for (" + expected.name + ")";
  return out;
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
    auto records = sample_records(root, *type, kSampleRecords);
    if (lone_record) records.push_back({&root, "", RecordRef::kNoIndex, {}});
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
