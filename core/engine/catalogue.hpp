// The catalogue: the message types the plugins declare, and their schemas compiled on first use.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "flowguard/engine.hpp"
#include "flowguard/schema/validator.hpp"
#include "plugin_host.hpp"
#include "recognizer.hpp"

namespace flowguard::engine {

class Catalogue {
 public:
  // Load problems go to `issues` (the engine's, which outlives the catalogue).
  explicit Catalogue(std::vector<LoadIssue>& issues) : issues_(issues) {}

  // Loads the plugins of each directory once (directories compared canonically).
  void load_plugins(const std::vector<std::filesystem::path>& plugin_dirs, PluginHostOptions options = {});
  void set_schema_dirs(std::vector<std::filesystem::path> dirs) { schema_dirs_ = std::move(dirs); }

  const std::vector<TypeEntry>& types() const noexcept { return types_; }
  const std::vector<LoadIssue>& plugin_warnings() const noexcept { return plugins_.warnings(); }
  const std::vector<std::filesystem::path>& schema_dirs() const noexcept { return schema_dirs_; }
  const TypeEntry* find(std::string_view name) const;

  // The schema of a type, compiled on first use. nullptr (with a load issue) when it cannot be.
  const schema::CompiledSchema* schema_for(const TypeEntry& type);
  // The schema of one item of the type's root array, when validating items one by one is exact.
  const schema::CompiledSchema* item_schema_for(const TypeEntry& type);

  // One index per message family met so far (its variants in candidate order); types never
  // change after loading, so the TypeEntry pointers stay valid.
  const VariantIndex& variant_index(const std::vector<const TypeEntry*>& variants);

 private:
  struct CompiledType {
    bool attempted = false;
    std::optional<schema::CompiledSchema> document_schema;
    std::optional<schema::CompiledSchema> item_schema;  // when the document schema splits into items
  };
  CompiledType& compiled_slot(const TypeEntry& type);
  void compile(const TypeEntry& type, CompiledType& slot);

  std::vector<LoadIssue>& issues_;
  std::vector<std::filesystem::path> schema_dirs_;
  PluginHost plugins_;
  std::vector<TypeEntry> types_;
  std::map<std::string, CompiledType> compiled_;
  // compiled_[type.name] found by the entry's address: a DIP batch asks once per message.
  std::unordered_map<const TypeEntry*, CompiledType*> compiled_by_entry_;
  std::vector<std::unique_ptr<VariantIndex>> variant_indexes_;
};

// `p` made canonical where it exists (directories are loaded once however they are named).
std::filesystem::path canonical_or_self(const std::filesystem::path& p);

}  // namespace flowguard::engine
