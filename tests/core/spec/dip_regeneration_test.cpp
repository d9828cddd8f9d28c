// The committed schemas/dip and plugins/dip/dip_types.inc must be exactly what the importer makes
// of the reference spec (when it is present), and must be well-formed either way.
#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <string>

#include "flowguard/spec/dip_import.hpp"
#include "json_value.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using flowguard::spec::JValue;
using fg_spec_test::read_file;
using fg_spec_test::TempDir;

namespace {

const fs::path kCommitted = fs::path(FLOWGUARD_SOURCE_DIR) / "schemas" / "dip";
const fs::path kPluginTable = fs::path(FLOWGUARD_SOURCE_DIR) / "plugins" / "dip" / "dip_types.inc";
const fs::path kSpecDir = fs::path(FLOWGUARD_SHARED_DIR) / "specs" / "dip-api-documentation";

// Elexon DIP API v2.1.0: 58 "*-Payload" interfaces; 126 variant components expand to 146
// distinct (interfaceID, eventCode) pairs.
constexpr std::size_t kExpectedInterfaces = 58;
constexpr std::size_t kExpectedVariants = 146;

std::map<std::string, std::string> files_under(const fs::path& dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) files[fs::relative(e.path(), dir).generic_string()] = read_file(e.path());
  return files;
}

void check_refs_resolve(const JValue& doc, const JValue& node, const std::string& file) {
  if (node.is_array()) {
    for (const auto& item : node.as_array()) check_refs_resolve(doc, item, file);
  } else if (node.is_object()) {
    if (const JValue* ref = node.find("$ref")) {
      const std::string prefix = "#/definitions/";
      INFO(file << ": " << flowguard::spec::write_json(*ref, false));
      REQUIRE(ref->is_string());
      REQUIRE(ref->as_string().rfind(prefix, 0) == 0);
      const JValue* defs = doc.find("definitions");
      REQUIRE(defs);
      CHECK(defs->find(ref->as_string().substr(prefix.size())));
    }
    for (const auto& [k, v] : node.as_object())
      if (k != "enum" && k != "const") check_refs_resolve(doc, v, file);
  }
}

}  // namespace

TEST_CASE("committed DIP schemas are well-formed, self-contained and indexed", "[spec][dip]") {
  REQUIRE(fs::is_directory(kCommitted));
  const auto files = files_under(kCommitted);
  REQUIRE(files.count("index.json"));

  std::size_t schemas = 0;
  for (const auto& [name, text] : files) {
    INFO(name);
    REQUIRE(!text.empty());
    CHECK(text.back() == '\n');
    auto doc = flowguard::spec::parse_json(text, name);
    REQUIRE(doc.ok());
    if (name == "index.json") continue;
    ++schemas;
    CHECK(doc->find("$schema")->as_string() == "http://json-schema.org/draft-07/schema#");
    check_refs_resolve(*doc, *doc, name);
    // Output is canonical: writing the parsed document again gives the same bytes.
    CHECK(flowguard::spec::write_json(*doc) == text);
  }

  auto index = flowguard::spec::parse_json(files.at("index.json"), "index.json");
  REQUIRE(index.ok());
  const auto& variants = index->find("variants")->as_array();
  std::set<std::string> interfaces, listed;
  for (const auto& v : variants) {
    interfaces.insert(v.find("interface")->as_string());
    listed.insert(v.find("schema")->as_string());
    CHECK(files.count(v.find("schema")->as_string()));
  }
  CHECK(variants.size() == kExpectedVariants);
  CHECK(interfaces.size() == kExpectedInterfaces);
  CHECK(index->find("variantCount")->as_int() == static_cast<std::int64_t>(kExpectedVariants));
  CHECK(index->find("interfaceCount")->as_int() == static_cast<std::int64_t>(kExpectedInterfaces));
  CHECK(schemas == listed.size() + 2);  // + standard-response and dip-message-array
}

TEST_CASE("schemas/dip and dip_types.inc match a fresh import of the reference spec", "[spec][dip]") {
  if (!fs::is_directory(kSpecDir)) {
    WARN("SKIPPED: the DIP reference spec is not at " << kSpecDir.string()
                                                      << " (it exists on developer/CI machines only), so the committed "
                                                         "schemas/dip cannot be compared with a regeneration");
    return;
  }
  TempDir out;
  auto summary = flowguard::spec::import_dip(kSpecDir, out.path());
  INFO((summary.ok() ? "" : summary.error().message));
  REQUIRE(summary.ok());
  CHECK(summary->interface_count == kExpectedInterfaces);
  CHECK(summary->variants.size() == kExpectedVariants);

  const auto fresh = files_under(out.path());
  const auto committed = files_under(kCommitted);
  std::set<std::string> names;
  for (const auto& [k, v] : fresh) names.insert(k);
  for (const auto& [k, v] : committed) names.insert(k);
  std::size_t differences = 0;
  for (const auto& name : names) {
    INFO("schemas/dip/" << name << " differs from a regeneration: run fg_import_dip (docs/dip-import.md)");
    const bool same = fresh.count(name) && committed.count(name) && fresh.at(name) == committed.at(name);
    CHECK(same);
    differences += same ? 0 : 1;
  }
  CHECK(differences == 0);

  INFO("plugins/dip/dip_types.inc differs from a regeneration: run fg_import_dip --plugin-table");
  CHECK(read_file(kPluginTable) == flowguard::spec::render_dip_types_inc(*summary));
}
