// The valijson side of CompiledSchema (private to core/schema). Kept behind this small interface so
// only valijson_bridge.cpp pays for valijson's heavy headers.
#pragma once

#include <filesystem>
#include <memory>
#include <string_view>
#include <vector>

#include "flowguard/json/document.hpp"
#include "flowguard/result.hpp"
#include "flowguard/schema/validator.hpp"

namespace flowguard::schema::detail {

class ValijsonSchema {
 public:
  // Builds valijson's schema for the subschema at `schema_pointer` ("" = whole document) of `doc`.
  // `doc` is borrowed and must outlive the result. Relative file "$ref"s resolve against the folder
  // of `origin`. Never throws: valijson's exceptions become an Error.
  static Result<std::shared_ptr<ValijsonSchema>> build(const json::Document& doc, const std::filesystem::path& origin,
                                                       std::string_view schema_pointer);
  ~ValijsonSchema();

  bool accepts(const json::Value& instance) const;
  // Appends violations (pointers = prefix + path); returns false when valijson itself failed.
  void validate(const json::Value& instance, std::string_view pointer_prefix, std::vector<Violation>& out,
                std::size_t max_violations) const;

  struct State;

 private:
  explicit ValijsonSchema(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace flowguard::schema::detail
