// JSON Schema (draft-07) validation.
//
// Two validators, one contract:
//  * CompiledSchema: the schema compiled once into a flat program of native checks (typed
//    constraints, patterns recognised as fixed formats, property lookups by precomputed key).
//    `accepts()` answers valid/invalid without building any diagnostics (the fast path);
//    `validate()` collects every violation with a precise message (the diagnostic path).
//  * valijson (through our DOM adapter, valijson_adapter.hpp) is the reference: any schema using
//    a keyword the compiler does not implement is validated by valijson instead, and the test
//    suite checks that both agree on the official draft-07 suite and on our corpora.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "flowguard/json/document.hpp"
#include "flowguard/result.hpp"

namespace flowguard::schema {

// One schema violation at one place in the instance.
struct Violation {
  std::string keyword;       // draft-07 keyword that failed: "required", "type", "maxLength", ...
  std::string pointer;       // RFC 6901 pointer into the instance (prefix + path below the validated value).
                             // Missing property -> the object lacking it; unknown property -> that property.
  std::uint32_t offset = 0;  // byte offset in the source (value start, or the key for unknown properties)
  std::string message;       // for a person: names the field, shows the offending value (shortened),
                             // says what was expected, ends with the spec reference when known:
                             // "\"Delivery Date\" is \"18-03-203\" (9 characters); expected exactly 10
                             //  characters, a date in dd-mm-yyyy [DFS API Schema V1.6 §6, Bid Submission]"
};

// Annotations the compiler reads from schemas (ignored by other validators):
//   "x-spec":     spec reference for findings under this (sub)schema; inherited by subschemas.
//   "x-expected": human wording of what a value must look like ("a date in dd-mm-yyyy"),
//                 used in messages instead of the raw pattern.
//   "x-did-you-mean": object mapping known wrong keys to the intended key ({"From": "From_Local"}),
//                 used for unknown-property and missing-property messages in addition to the
//                 automatic near-miss detection (case/space/underscore-insensitive and edit distance).

// Memory that accepts() keeps across the objects of one document: for a schema node and a key
// shape (json::Value::key_shape()), which declared property each member is. Objects sharing a
// shape (a batch's records) then skip the key lookups. Only for values of one document (shapes
// are per document): use a fresh memo, or clear(), for the next. Not thread-safe: one per thread.
class KeyShapeMemo {
 public:
  KeyShapeMemo();
  ~KeyShapeMemo();
  KeyShapeMemo(const KeyShapeMemo&) = delete;
  KeyShapeMemo& operator=(const KeyShapeMemo&) = delete;
  void clear() noexcept;

  struct Impl;  // defined by the schema library
  Impl& impl() noexcept { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

// How an instance is matched against the schema.
struct ValidateOptions {
  // Keys that differ from a declared property only in ASCII letter case count as that property
  // (for "properties", "required", "additionalProperties" and "dependencies"), and each such key
  // is reported as a Violation with keyword "keyCase" pointing at the key (offset = the key's),
  // naming the published spelling. accepts() is false whenever such a key exists, so that callers
  // run validate() to get the keyCase warnings. Exact-case keys take the same path as without the
  // option. The valijson fallback (schemas that are not fully compiled) ignores this option.
  bool case_insensitive_keys = false;
  // The items of the instance's root array are not validated here: the caller validates them one
  // at a time with root_items_schema() (to spread records over threads). Only for the root.
  bool skip_root_items = false;
  // validate() asks the accept path about each property value and array item first and walks
  // only those it refuses (a failing record is mostly valid fields). The violations are the same
  // either way; false walks everything (the engine's fast_paths = false, which tests compare).
  bool skip_valid_subtrees = true;
  // accepts() only: remembers property matches per key shape (see KeyShapeMemo). The result is
  // the same with or without it.
  KeyShapeMemo* key_shapes = nullptr;
};

// Where documents named by absolute URIs come from when compiling: nothing is fetched from the
// network. A "$ref" whose URI starts with a prefix ("http://localhost:1234/") loads the file at the
// rest of the URI under the folder (never above it).
struct SchemaSources {
  std::vector<std::pair<std::string, std::filesystem::path>> uri_dirs;
};

class CompiledSchema {
 public:
  // Cheap to copy: copies share the compiled program.
  CompiledSchema(const CompiledSchema&);
  CompiledSchema& operator=(const CompiledSchema&);
  CompiledSchema(CompiledSchema&&) noexcept;
  CompiledSchema& operator=(CompiledSchema&&) noexcept;
  ~CompiledSchema();

  // Loads and compiles a schema file; relative "$ref"s resolve against its folder. Errors name the
  // file and, for malformed JSON, line and column.
  static Result<CompiledSchema> load_file(const std::filesystem::path& file);
  // Compiles from an already-parsed document (`origin` is used in error messages and for $ref).
  static Result<CompiledSchema> compile(const json::Document& schema, const std::filesystem::path& origin);
  static Result<CompiledSchema> compile(const json::Document& schema, const std::filesystem::path& origin,
                                        const SchemaSources& sources);

  // True when the schema uses only what the compiler implements; otherwise validate/accepts
  // delegate to valijson (still correct, slower, messages from valijson's descriptions).
  bool fully_compiled() const noexcept;

  // The subschema at a JSON pointer inside the schema document (e.g. "/items",
  // "/properties/data/items"), to validate records one at a time. nullopt if absent.
  std::optional<CompiledSchema> subschema(std::string_view schema_pointer) const;

  // For a document whose records are the items of its root array: the schema of one item, when
  // validating the root with ValidateOptions::skip_root_items and then each item on its own (with
  // pointer prefix "/<index>") gives exactly the violations of validating the whole document. That
  // holds when the root is an array schema whose only per-item keyword is one "items" schema (no
  // tuple form, contains, uniqueItems or combinators). nullopt otherwise. The item schema carries
  // the x-spec it inherits from the root.
  std::optional<CompiledSchema> root_items_schema() const;

  // Fast path: no allocation on valid input, stops at the first violation.
  bool accepts(const json::Value& instance, const ValidateOptions& options = {}) const;

  // Diagnostic path: appends every violation (pointers are `pointer_prefix` + path below instance).
  // Stops after `max_violations` have been appended in this call.
  void validate(const json::Value& instance, std::string_view pointer_prefix,
                std::vector<Violation>& out, std::size_t max_violations = SIZE_MAX,
                const ValidateOptions& options = {}) const;
  void validate(const json::Value& instance, std::string_view pointer_prefix, std::vector<Violation>& out,
                const ValidateOptions& options, std::size_t max_violations = SIZE_MAX) const {
    validate(instance, pointer_prefix, out, max_violations, options);
  }

  // The property names declared under "properties" of the (sub)schema (for type recognition).
  std::vector<std::string> declared_properties() const;

 private:
  struct Impl;
  explicit CompiledSchema(std::shared_ptr<Impl> impl, std::uint32_t root, std::string_view inherited_spec = {});
  std::shared_ptr<Impl> impl_;
  std::uint32_t root_ = 0;
  std::string_view inherited_spec_;  // x-spec from enclosing schemas (root_items_schema); into impl_'s documents
};

// Reference validation with valijson only (used by tests and by CompiledSchema's fallback).
// Returns violations with pointers built from valijson's context and valijson's own descriptions.
Result<std::vector<Violation>> validate_with_valijson(const json::Document& schema,
                                                      const std::filesystem::path& origin,
                                                      const json::Value& instance);

}  // namespace flowguard::schema
