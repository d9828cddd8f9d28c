// OpenAPI 3.0 Schema Object -> JSON Schema draft-07 translation over a folder of YAML files.
// Internal to flowguard_spec; dip_import.cpp drives it.
#pragma once

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "flowguard/result.hpp"
#include "json_value.hpp"

namespace flowguard::spec {

// "file:line:col" for a node (1-based, as editors show it).
std::string where(const std::string& file, const YAML::Node& node);
std::string where(const std::string& file, const YAML::Mark& mark);

// A YAML scalar as JSON: quoted scalars are strings; plain ones follow the YAML 1.2 core schema
// (null/~, true/false, integers, floats), everything else is a string. yaml-cpp leaves scalars
// untyped, and its own as<bool>() would accept YAML 1.1 "y"/"N", which the DIP spec uses as enum
// strings.
Result<JValue> scalar_to_json(const YAML::Node& node, const std::string& file);
// Any YAML node (mapping keys must be scalars) as JSON, e.g. enum values.
Result<JValue> yaml_to_json(const YAML::Node& node, const std::string& file, int depth = 0);

// A schema location: a spec file (relative to the spec dir, '/'-separated) and a JSON pointer.
struct Target {
  std::string file;
  std::string pointer;
  auto operator<=>(const Target&) const = default;
  std::string str() const { return file + "#" + pointer; }
};

class SpecFiles {
 public:
  explicit SpecFiles(std::filesystem::path dir) : dir_(std::move(dir)) {}
  const std::filesystem::path& dir() const { return dir_; }
  // The parsed file (cached). Errors carry file and YAML line:col.
  Result<YAML::Node> load(const std::string& file);
  // The node at target.pointer in target.file.
  Result<YAML::Node> resolve(const Target& target);
  // Maps a $ref written in `from_file` to a local target: "#/x" (same file), "Other.yaml#/x"
  // (relative), or "https://raw.githubusercontent.com/<owner>/<repo>/<branch>/<path>#/x" (the
  // published copy of this same folder: <path> is looked up in the spec dir, offline).
  Result<Target> ref_target(const std::string& ref, const std::string& from_file, const YAML::Node& at);

 private:
  std::filesystem::path dir_;
  std::map<std::string, YAML::Node> docs_;
};

// Translates schemas and collects the definitions they reference. Translations are cached per
// target, so importing 146 variants translates each shared block once.
class Translator {
 public:
  explicit Translator(SpecFiles& files) : files_(files) {}

  // The translated schema at `target` (its $refs point into "#/definitions/<name>").
  Result<JValue> translate(const Target& target);
  // A standalone draft-07 document: `root` plus every definition it (transitively) references.
  Result<JValue> standalone(JValue root, const std::vector<Target>& root_deps);
  // Targets the schema at `target` references directly.
  const std::vector<Target>& deps(const Target& target) const { return cache_.at(target).deps; }
  // The definitions key for a target: "<file stem>.<component name>", e.g. "RealCommonBlocks.S1".
  static std::string definition_name(const Target& target);
  // OpenAPI-only formats dropped so far, with one location each (for notes / docs).
  const std::map<std::string, std::string>& dropped_formats() const { return dropped_formats_; }

 private:
  struct Entry {
    JValue schema;
    std::vector<Target> deps;
  };
  Result<JValue> schema(const YAML::Node& node, const std::string& file, std::vector<Target>& deps, int depth);

  SpecFiles& files_;
  std::map<Target, Entry> cache_;
  std::map<std::string, Target> names_;  // definition name -> target, to catch collisions
  std::map<std::string, std::string> dropped_formats_;
};

}  // namespace flowguard::spec
