// YAML -> JSON text, remembering where every JSON value came from in the YAML.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "flowguard/registry/registry.hpp"

namespace flowguard::registry::detail {

struct Mark {
  std::uint32_t line = 0;    // 1-based
  std::uint32_t column = 0;  // 1-based
};

struct YamlJson {
  std::string text;                                 // the JSON
  std::map<std::uint32_t, Mark> by_offset;          // JSON byte offset of a value (or key) -> YAML mark
  std::unordered_map<std::string, Mark> by_pointer; // RFC 6901 pointer of a value -> YAML mark
  std::unordered_map<std::string, Mark> key_marks;  // pointer of a member -> mark of its key
  std::vector<Diagnostic> errors;                   // syntax errors, duplicate keys, non-scalar keys

  // The mark for a pointer: the value's, else its closest ancestor's.
  Mark at_pointer(std::string pointer) const;
  // The mark for a JSON offset: exact, else the closest value starting before it.
  Mark at_offset(std::uint32_t offset) const;
};

// Scalars: plain `true`/`false` are booleans, plain `null`, `~` and empty are null, everything
// else (quoted or not, numbers included) is a string: the registry has no numeric fields, so
// `dip_id: 1200000049` needs no quotes.
YamlJson yaml_to_json(const std::filesystem::path& file);

}  // namespace flowguard::registry::detail
