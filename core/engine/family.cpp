#include "family.hpp"

#include <algorithm>
#include <limits>
#include <mutex>

#include "files.hpp"
#include "recognizer.hpp"

namespace flowguard::engine {

namespace {

// The families of a type without one of its own.
class DefaultFamily final : public Family {
 public:
  std::string_view name() const noexcept override { return {}; }
};

struct Registry {
  std::mutex m;
  std::vector<const Family*> families;  // in name order
};

// Function-local: registrars run during static initialisation, in no set order.
Registry& registry() {
  static Registry r;
  return r;
}

}  // namespace

bool register_family(const Family& family) {
  Registry& r = registry();
  std::lock_guard lock(r.m);
  const auto at = std::lower_bound(r.families.begin(), r.families.end(), family.name(),
                                   [](const Family* f, std::string_view name) { return f->name() < name; });
  if (at == r.families.end() || (*at)->name() != family.name()) r.families.insert(at, &family);
  return true;
}

const Family* find_family(std::string_view name) {
  Registry& r = registry();
  std::lock_guard lock(r.m);
  for (const Family* f : r.families)
    if (f->name() == name) return f;
  return nullptr;
}

std::vector<const Family*> families() {
  Registry& r = registry();
  std::lock_guard lock(r.m);
  return r.families;
}

const Family& family_of(const TypeEntry& type) {
  static const DefaultFamily kDefault;
  const Family* f = find_family(type.plugin);
  return f ? *f : kDefault;
}

std::vector<RecordRef> locate_messages(const json::Value& root, const Family& family) {
  std::vector<RecordRef> messages;
  auto add = [&](const json::Value& item, std::size_t index) {
    const auto [message, suffix] = family.unwrap(item);
    messages.push_back({message, "", index, suffix});
  };
  if (root.is_array()) {
    messages.reserve(root.size());
    std::size_t i = 0;
    for (const auto& item : root.items()) add(item, i++);
  } else {
    add(root, RecordRef::kNoIndex);
  }
  return messages;
}

std::vector<std::string> order_by_family_key(const std::vector<std::string>& files, const Family& family) {
  std::vector<std::pair<std::int64_t, std::string>> keyed;
  const std::int64_t none = std::numeric_limits<std::int64_t>::max();
  for (const auto& file : files) {
    std::int64_t when = none;
    if (auto bytes = read_file(file))
      if (auto doc = json::Document::parse(bytes->view())) {
        const json::Value& root = doc->root();
        const json::Value* first = root.is_array() ? (root.size() ? &root.items()[0] : nullptr) : &root;
        if (first)
          if (auto key = family.ordering_key(*family.unwrap(*first).message)) when = *key;
      }
    keyed.emplace_back(when, file);
  }
  std::stable_sort(keyed.begin(), keyed.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> ordered;
  for (auto& [when, file] : keyed) ordered.push_back(std::move(file));
  return ordered;
}

std::string format_responses(const Family& family, const std::vector<FileReport>& reports, const std::string& now) {
  std::string out = "[";
  for (std::size_t i = 0; i < reports.size(); ++i) {
    if (i) out += ",";
    family.append_response(out, reports[i], now);
  }
  out += "]\n";
  return out;
}

}  // namespace flowguard::engine
