// core/registry: the market registry loader (YAML -> JSON, the node bound, schema validation, the
// checks and the merge with the default channel table), and its instant parser. Contracts beyond
// "no crash": a load gives a registry or diagnostics, never both or neither, every diagnostic with a
// message; an instant that parses has a window end no earlier than itself.
#include <cstdint>
#include <string>

#include "flowguard/registry/registry.hpp"
#include "fuzz_support.hpp"

using namespace flowguard;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = fuzz::as_text(data, size);
  if (size < 40) {
    if (const auto start = registry::parse_instant(text)) {
      const auto end = registry::parse_window_end(text);
      FLOWGUARD_FUZZ_CHECK(end && *end >= *start);
    }
  }
  static const std::filesystem::path schemas = std::filesystem::path(FLOWGUARD_SOURCE_DIR) / "schemas";
  const auto file = fuzz::scratch_file("registry.yaml", text);
  registry::LoadOptions options;
  options.default_channels = schemas / "registry" / "default-channels.yaml";
  options.merge_default_channels = size % 2 == 0;  // both ways: with and without the shipped table
  const auto outcome = registry::load(file, schemas / "registry.schema.json", options);
  FLOWGUARD_FUZZ_CHECK((outcome.registry != nullptr) != !outcome.errors.empty());
  for (const auto& e : outcome.errors) FLOWGUARD_FUZZ_CHECK(!e.message.empty());
  return 0;
}
