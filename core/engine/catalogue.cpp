#include "catalogue.hpp"

#include <set>

namespace flowguard::engine {
namespace fs = std::filesystem;

fs::path canonical_or_self(const fs::path& p) {
  std::error_code ec;
  auto c = fs::weakly_canonical(p, ec);
  return ec ? p : c;
}

void Catalogue::load_plugins(const std::vector<fs::path>& plugin_dirs, PluginHostOptions options) {
  plugins_.set_options(options);
  std::set<fs::path> seen;
  std::vector<fs::path> dirs;
  for (const auto& dir : plugin_dirs)
    if (seen.insert(canonical_or_self(dir)).second) dirs.push_back(dir);
  plugins_.load_directories(dirs, types_, issues_);  // together: one probe process for all of them
  if (types_.empty())
    issues_.push_back({"plugins", "no message types are available: no plugin loaded (searched " +
                                      std::to_string(plugin_dirs.size()) + " plugin directories)"});
}

const TypeEntry* Catalogue::find(std::string_view name) const {
  for (const auto& t : types_)
    if (t.name == name) return &t;
  return nullptr;
}

Catalogue::CompiledType& Catalogue::compiled_slot(const TypeEntry& type) {
  auto [it, inserted] = compiled_by_entry_.try_emplace(&type, nullptr);
  if (inserted) it->second = &compiled_[type.name];  // map nodes never move
  return *it->second;
}

void Catalogue::compile(const TypeEntry& type, CompiledType& slot) {
  std::error_code ec;
  std::vector<std::string> tried;
  for (const auto& dir : schema_dirs_) {
    auto file = dir / type.schema;
    if (!fs::is_regular_file(file, ec)) {
      tried.push_back(file.string());
      continue;
    }
    auto loaded = schema::CompiledSchema::load_file(file);
    if (loaded) {
      slot.document_schema = std::move(loaded).value();
      slot.item_schema = slot.document_schema->root_items_schema();
    } else {
      issues_.push_back({file.string(), loaded.error().message});
    }
    break;
  }
  if (!slot.document_schema && tried.size() == schema_dirs_.size()) {
    std::string where;
    for (const auto& t : tried) where += (where.empty() ? "" : ", ") + t;
    issues_.push_back({type.schema, "schema for " + type.name + " not found (looked in: " +
                                        (where.empty() ? "no schema directories" : where) + ")"});
  }
}

const schema::CompiledSchema* Catalogue::schema_for(const TypeEntry& type) {
  auto& slot = compiled_slot(type);
  if (!slot.attempted) {
    slot.attempted = true;
    compile(type, slot);
  }
  return slot.document_schema ? &*slot.document_schema : nullptr;
}

const schema::CompiledSchema* Catalogue::item_schema_for(const TypeEntry& type) {
  if (!schema_for(type)) return nullptr;
  const auto& slot = compiled_slot(type);
  return slot.item_schema ? &*slot.item_schema : nullptr;
}

const VariantIndex& Catalogue::variant_index(const std::vector<const TypeEntry*>& variants) {
  for (const auto& index : variant_indexes_)
    if (index->variants() == variants) return *index;
  variant_indexes_.push_back(std::make_unique<VariantIndex>(variants));
  return *variant_indexes_.back();
}

}  // namespace flowguard::engine
