// The market registry: who is who on the DIP (participants, their DIP role codes, effective
// windows and nominated DIP Connection Providers), which roles may send and receive on each
// message channel, opt-out preferences and SDS-MDR pairings. Format and rationale: docs/registry.md.
//
// A registry is written in YAML, validated against schemas/registry.schema.json, checked for
// consistency, and then handed to Lua rules as one read-only JSON document (`fg.data.registry`)
// whose shape is documented in docs/registry.md ("The JSON rules see"). Every load error is a
// value that names FILE:LINE:COL in the YAML, says what is wrong and what was expected.
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

namespace flowguard::registry {

// One load problem, at a place in a YAML file (line and column 1-based; 0 when unknown).
struct Diagnostic {
  std::filesystem::path file;
  std::uint32_t line = 0;
  std::uint32_t column = 0;
  std::string message;  // "what is wrong, expected what"

  std::string to_string() const;  // "file:line:col: message"
};

struct LoadOptions {
  // The shipped default channel table, merged under the registry's own `channels` (an interface
  // the registry defines replaces the default entry; the others come from the default). When
  // unset: <folder of the schema file>/registry/default-channels.yaml. A registry without
  // `channels` needs it.
  std::optional<std::filesystem::path> default_channels;
  bool merge_default_channels = true;
};

struct LoadOutcome {
  std::shared_ptr<const json::Document> registry;  // set when `errors` is empty
  std::vector<Diagnostic> errors;                  // in file order
};

// All diagnostics, for callers (tests, editors) that want them one by one.
LoadOutcome load(const std::filesystem::path& yaml_file, const std::filesystem::path& schema_file,
                 const LoadOptions& options = {});

// The registry as the rules see it, or one Error listing every diagnostic, one per line.
Result<std::shared_ptr<const json::Document>> load_registry(const std::filesystem::path& yaml_file,
                                                            const std::filesystem::path& schema_file);
Result<std::shared_ptr<const json::Document>> load_registry(const std::filesystem::path& yaml_file,
                                                            const std::filesystem::path& schema_file,
                                                            const LoadOptions& options);

// `--registry default`: the shipped channel table alone (no participants, opt-outs or pairings).
// `data_dir` is the data root (share/flowguard): it holds schemas/registry.schema.json and
// schemas/registry/default-channels.yaml.
Result<std::shared_ptr<const json::Document>> load_default_registry(const std::filesystem::path& data_dir);

// The `--registry ARG` option: "default" selects load_default_registry(data_dir), anything else is
// a YAML file validated against data_dir/schemas/registry.schema.json and merged with the default
// channel table.
Result<std::shared_ptr<const json::Document>> load_registry_option(std::string_view argument,
                                                                   const std::filesystem::path& data_dir);

// Instants: seconds since 1970-01-01T00:00:00Z. Accepts "YYYY-MM-DD" (start of that day),
// "YYYY-MM-DD HH:MM[:SS]" (both in UK local time, Europe/London) and
// "YYYY-MM-DDTHH:MM:SS(Z|+hh:mm|-hh:mm)" (ISO 8601 with an offset, as in senderTimestamp).
// nullopt when the text is none of these or names a day or time that does not exist.
std::optional<std::int64_t> parse_instant(std::string_view text);
// The exclusive end of a window written as `text`: the start of the next day for a date, the
// instant itself otherwise.
std::optional<std::int64_t> parse_window_end(std::string_view text);

}  // namespace flowguard::registry
