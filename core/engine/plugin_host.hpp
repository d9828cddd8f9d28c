// Loads plugin shared libraries with Boost.DLL and turns their C descriptors into owned C++ data.
// By default a plugin's code runs only in a child process (plugin_probe.cpp): a plugin that crashes,
// hangs or exits while loading is named and refused, and this process never runs it.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "flowguard/engine.hpp"
#include "flowguard/plugin_abi.h"

namespace flowguard::engine {

struct Discriminator {
  std::string pointer;
  std::string equals;
  bool operator==(const Discriminator&) const = default;
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
  // Defaulted so that a field added here and forgotten by the probe's wire format fails the test
  // comparing isolated and in-process loading.
  bool operator==(const TypeEntry&) const = default;
};

struct LoadedPlugin {
  std::string name, version, description;
  std::filesystem::path file;
  std::shared_ptr<void> library;  // keeps the shared object mapped while the engine lives (null when
                                  // the plugin was described in a probe process and never loaded here)
};

// What a plugin file declares, copied out of its descriptor (here or in a probe process).
struct PluginDescription {
  std::string name, version, description;
  std::vector<TypeEntry> types;
  std::shared_ptr<void> library;  // set only when described in this process
};

// Opens `file`, calls its entry point and copies the descriptor out. Runs the plugin's code in this
// process: the probe child calls it, and the host when isolation is off.
Result<PluginDescription> describe_plugin(const std::filesystem::path& file);

struct PluginHostOptions {
  bool isolate = true;                            // describe plugins in a child process first
  std::chrono::milliseconds timeout{10'000};      // per plugin, in the child
};

class PluginHost {
 public:
  explicit PluginHost(PluginHostOptions options = {}) : options_(options) {}
  void set_options(PluginHostOptions options) { options_ = options; }

  // Loads one plugin file in this process. Refusals (missing file, not a shared object, missing
  // entry symbol, incompatible ABI, malformed descriptor, duplicate names) come back as errors
  // naming the file.
  Result<LoadedPlugin> load(const std::filesystem::path& file, std::vector<TypeEntry>& types_out);
  // Loads every *.so of each directory (directories in order, files in name order): described all
  // together in one child process when isolating (another one only after a plugin kills it). Each
  // refusal or fault is appended to `issues`.
  void load_directories(const std::vector<std::filesystem::path>& dirs, std::vector<TypeEntry>& types,
                        std::vector<LoadIssue>& issues);
  void load_directory(const std::filesystem::path& dir, std::vector<TypeEntry>& types,
                      std::vector<LoadIssue>& issues) {
    load_directories({dir}, types, issues);
  }

  const std::vector<LoadedPlugin>& plugins() const noexcept { return plugins_; }
  // Plugins loaded from a file or folder anyone may write to (another user could replace the code
  // flowguard runs): loaded, and said here.
  const std::vector<LoadIssue>& warnings() const noexcept { return warnings_; }

 private:
  // Admits a described plugin (duplicate names refused), appending its types.
  Result<LoadedPlugin> admit(const std::filesystem::path& file, PluginDescription description,
                             std::vector<TypeEntry>& types_out);

  PluginHostOptions options_;
  std::vector<LoadedPlugin> plugins_;
  std::vector<LoadIssue> warnings_;
};

// Validates a descriptor against the ABI contract; returns the first problem, or empty. Reads only
// the fields of the plugin's own ABI minor, and each type at the plugin's stride (type_size).
std::string check_descriptor(const fg_plugin& plugin);

// One outcome per file, described in child processes (see plugin_probe.cpp). Err when no child
// could be started (the caller then describes in this process).
struct ProbeOutcome {
  std::optional<PluginDescription> description;  // set: the plugin described itself
  std::string refusal;                            // else why it was refused or what it did
};
Result<std::vector<ProbeOutcome>> probe_plugins(const std::vector<std::filesystem::path>& files,
                                                std::chrono::milliseconds timeout);

}  // namespace flowguard::engine
