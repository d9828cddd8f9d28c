// Loads plugin shared libraries with Boost.DLL and turns their C descriptors into owned C++ data.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "flowguard/engine.hpp"
#include "flowguard/plugin_abi.h"

namespace flowguard::engine {

struct Discriminator {
  std::string pointer;
  std::string equals;
};

// A message type as the engine keeps it: strings copied out of the plugin, so nothing dangles.
struct TypeEntry {
  std::string name, title, plugin, schema, rule_set, records_pointer, record_schema, spec;
  std::string schema_error_code;    // carried by schema findings ("MSG1001"), may be empty
  std::string unknown_variant_code; // the plugin's code for a message matching none of its types
  bool case_insensitive_keys = false;
  fg_shape shape = FG_SHAPE_RECORD_ARRAY;
  std::vector<Discriminator> matches;
  std::vector<std::string> key_hints;
};

struct LoadedPlugin {
  std::string name, version, description;
  std::filesystem::path file;
  std::shared_ptr<void> library;  // keeps the shared object mapped while the engine lives
};

class PluginHost {
 public:
  // Loads one plugin file. Refusals (missing file, not a shared object, missing entry symbol,
  // incompatible ABI, malformed descriptor, duplicate names) come back as errors naming the file.
  Result<LoadedPlugin> load(const std::filesystem::path& file, std::vector<TypeEntry>& types_out);
  // Loads every *.so in `dir` (name order). Each failure is appended to `issues`.
  void load_directory(const std::filesystem::path& dir, std::vector<TypeEntry>& types,
                      std::vector<LoadIssue>& issues);

  const std::vector<LoadedPlugin>& plugins() const noexcept { return plugins_; }
  // Plugins loaded from a file or folder anyone may write to (another user could replace the code
  // flowguard runs): loaded, and said here.
  const std::vector<LoadIssue>& warnings() const noexcept { return warnings_; }

 private:
  std::vector<LoadedPlugin> plugins_;
  std::vector<LoadIssue> warnings_;
};

// Validates a descriptor against the ABI contract; returns the first problem, or empty.
std::string check_descriptor(const fg_plugin& plugin);

}  // namespace flowguard::engine
