// DIP (MHHS Data Integration Platform) schema importer: turns Elexon's OpenAPI 3.0 YAML
// (github.com/elexon-data/dip-api-documentation) into self-contained JSON Schema draft-07 files,
// one per interface and event-code variant. See docs/dip-import.md for every translation choice.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "flowguard/result.hpp"

namespace flowguard::spec {

// One interface/event-code variant: one schema file and one plugin type.
struct DipVariant {
  std::string interface_id;  // S0.interfaceID, e.g. "IF-031", "REP-002A"
  std::string event_code;    // S0.eventCode exactly as sent, brackets included: "[MSApp]"
  std::string name;          // event code without brackets, used in file and type names: "MSApp"
  std::string schema;        // relative to the output dir: "IF-031/MSApp.schema.json"
  std::string title;         // one line for people
  std::string component;     // source: "Interfaces-EventCodes-unresolved.yaml#/components/schemas/IF-031-MSApp"
  std::vector<std::string> keys;  // the payload's top-level properties (recognition hints), sorted
};

struct ImportSummary {
  std::string spec_version;   // info.version of Interfaces-EventCodes-unresolved.yaml
  std::string source_repo;    // from the spec's SOURCE file, e.g. "elexon-data/dip-api-documentation"
  std::string source_commit;  // from SOURCE; empty when SOURCE is missing or has none
  std::string source_date;    // from SOURCE when it states one (YYYY-MM-DD); else empty
  std::size_t interface_count = 0;
  std::vector<DipVariant> variants;  // sorted by (interface_id, name)
  std::vector<std::string> files;    // every file written, relative to out_dir, sorted
  std::vector<std::string> notes;    // spec oddities the import resolved (overlapping variants...)
};

// Reads SPEC_DIR (the unresolved *.yaml files and SOURCE) and writes into OUT_DIR:
//   <IF>/<EventCode>.schema.json, index.json, standard-response.schema.json,
//   dip-message-array.schema.json. Stale *.schema.json files under OUT_DIR are removed so that
// a regeneration mirrors the spec exactly. Output is byte-for-byte deterministic.
Result<ImportSummary> import_dip(const std::filesystem::path& spec_dir, const std::filesystem::path& out_dir);

// Human-readable changes between two generated schema directories (e.g. the committed
// schemas/dip and a fresh import of a new spec version): added/removed variants, and per variant
// added/removed properties and added/removed/changed constraints by JSON pointer ($refs are
// followed, so a change in a shared block shows under every variant that uses it).
Result<std::string> diff_dip(const std::filesystem::path& old_dir, const std::filesystem::path& new_dir);

// The C++ descriptor table for plugins/dip (an array initialiser of fg_type plus its match and
// hint arrays), generated from an import so that the plugin and the schemas never disagree.
std::string render_dip_types_inc(const ImportSummary& summary);

}  // namespace flowguard::spec
