// Unit tests of the DIP importer on a small synthetic spec written to a temp dir.
#include <catch2/catch.hpp>

#include <set>
#include <string>

#include "flowguard/spec/dip_import.hpp"
#include "json_value.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using flowguard::spec::JValue;
using fg_spec_test::read_file;
using fg_spec_test::TempDir;
using fg_spec_test::write_file;

namespace {

struct SpecOptions {
  int code_max_length = 10;
  bool with_beta = true;        // IF-901 [Beta] exists
  bool with_extra = false;      // B001 gains property "extra"
  bool with_gamma = false;      // IF-901 [Gamma] exists
};

std::string variant(const std::string& name, const std::string& codes) {
  return "    IF-901-" + name + R"(:
      type: object
      additionalProperties: false
      required: [CommonBlock, CustomBlock]
      properties:
        CommonBlock:
          type: object
          required: [S0]
          properties:
            S0:
              type: object
              required: [interfaceID, eventCode]
              properties:
                interfaceID: {type: string, enum: ['IF-901']}
                eventCode: {type: string, enum: [)" + codes + R"(]}
        CustomBlock:
          type: object
          properties:
            B001:
              $ref: 'https://raw.githubusercontent.com/elexon-data/dip-api-documentation/main/Blocks-unresolved.yaml#/components/schemas/B001'
            B002:
              $ref: 'Blocks-unresolved.yaml#/components/schemas/B002'
)";
}

void write_spec(const fs::path& dir, const SpecOptions& o = {}) {
  std::string interfaces = R"(openapi: 3.0.0
info:
  title: Interface with Event Codes
  version: 1.0.0
components:
  schemas:
    IF-901-Payload:
      description: IF901 Test Interface
      oneOf:
        - $ref: '#/components/schemas/IF-901-Alpha'
)";
  if (o.with_beta) interfaces += "        - $ref: '#/components/schemas/IF-901-Beta'\n";
  if (o.with_gamma) interfaces += "        - $ref: '#/components/schemas/IF-901-Gamma'\n";
  interfaces += variant("Alpha", "'[Alpha]'");
  if (o.with_beta) interfaces += variant("Beta", "'[Beta]'");
  if (o.with_gamma) interfaces += variant("Gamma", "'[Gamma]'");
  interfaces += R"(    IF-902-Payload:
      description: IF-902 - Two codes, one schema
      type: object
      properties:
        CommonBlock:
          type: object
          properties:
            S0:
              type: object
              properties:
                interfaceID: {type: string, enum: ['IF-902']}
                eventCode:
                  type: string
                  enum:
                    - '[One]'
                    - '[Two]'
)";
  write_file(dir / "Interfaces-EventCodes-unresolved.yaml", interfaces);

  std::string blocks = R"(components:
  schemas:
    B001:
      description: a block
      type: object
      additionalProperties: false
      required: [code]
      properties:
        code:
          type: string
          nullable: true
          maxLength: )" + std::to_string(o.code_max_length) + R"(
          example: abc
        flag:
          type: string
          nullable: true
          enum: [Y, N, null]
        plain:
          type: string
          nullable: false
        count:
          type: integer
          minimum: 0
          exclusiveMinimum: true
        version:
          type: string
          enum: ['011', '011', "012"]
)";
  if (o.with_extra) blocks += "        extra:\n          type: boolean\n";
  blocks += R"(    B002:
      $ref: '#/components/schemas/DT-001-Code'
    DT-001-Code:
      type: string
      format: byte
      pattern: '^[A-Z]+$'
)";
  write_file(dir / "Blocks-unresolved.yaml", blocks);

  write_file(dir / "SubmitEvents-unresolved.yaml", R"(openapi: 3.0.0
info:
  version: 1.0.0
components:
  schemas:
    DIPMessageArray:
      type: array
      minItems: 1
      items:
        $ref: '#/components/schemas/DIPMessage'
    DIPMessage:
      type: object
      required: [payload]
      properties:
        payload:
          oneOf:
            - $ref: 'https://raw.githubusercontent.com/elexon-data/dip-api-documentation/main/Interfaces-EventCodes-unresolved.yaml#/components/schemas/IF-901-Payload'
            - $ref: './Interfaces-EventCodes-unresolved.yaml#/components/schemas/IF-902-Payload'
    StandardResponse:
      type: object
      properties:
        message:
          type: string
          nullable: true
)");
  write_file(dir / "SOURCE", "acme/dip-docs at commit 0123456789abcdef0123 (v1.0.0), 2024-05-01. Test data.\n");
}

JValue load(const fs::path& p) {
  auto v = flowguard::spec::parse_json(read_file(p), p.string());
  REQUIRE(v.ok());
  return std::move(v).value();
}

const JValue& at(const JValue& v, std::initializer_list<const char*> path) {
  const JValue* cur = &v;
  for (const char* k : path) {
    INFO("missing member " << k);
    cur = cur->find(k);
    REQUIRE(cur != nullptr);
  }
  return *cur;
}

// Every "$ref" in a document must be local and name an entry of its "definitions".
void check_refs_resolve(const JValue& doc, const JValue& node) {
  if (node.is_array()) {
    for (const auto& item : node.as_array()) check_refs_resolve(doc, item);
  } else if (node.is_object()) {
    if (const JValue* ref = node.find("$ref")) {
      REQUIRE(ref->is_string());
      const std::string prefix = "#/definitions/";
      REQUIRE(ref->as_string().rfind(prefix, 0) == 0);
      INFO(ref->as_string());
      REQUIRE(doc.find("definitions"));
      CHECK(doc.find("definitions")->find(ref->as_string().substr(prefix.size())));
    }
    for (const auto& [k, v] : node.as_object()) check_refs_resolve(doc, v);
  }
}

}  // namespace

TEST_CASE("import_dip writes one schema per interface and event code", "[spec][dip]") {
  TempDir spec, out;
  write_spec(spec.path());
  auto summary = flowguard::spec::import_dip(spec.path(), out.path());
  INFO((summary.ok() ? "" : summary.error().message));
  REQUIRE(summary.ok());
  CHECK(summary->spec_version == "1.0.0");
  CHECK(summary->source_repo == "acme/dip-docs");
  CHECK(summary->source_commit == "0123456789abcdef0123");
  CHECK(summary->source_date == "2024-05-01");
  CHECK(summary->interface_count == 2);
  REQUIRE(summary->variants.size() == 4);
  CHECK(summary->variants[0].schema == "IF-901/Alpha.schema.json");
  CHECK(summary->variants[1].name == "Beta");
  CHECK(summary->variants[2].event_code == "[One]");
  CHECK(summary->variants[3].event_code == "[Two]");
  CHECK(summary->variants[0].title == "IF-901 [Alpha] Test Interface");
  CHECK(summary->variants[2].title == "IF-902 [One] Two codes, one schema");
  for (const char* f : {"IF-901/Alpha.schema.json", "IF-901/Beta.schema.json", "IF-902/One.schema.json",
                        "IF-902/Two.schema.json", "index.json", "standard-response.schema.json",
                        "dip-message-array.schema.json"})
    CHECK(fs::is_regular_file(out.path() / f));

  SECTION("a component serving several codes is narrowed to one per file") {
    const JValue one = load(out.path() / "IF-902/One.schema.json");
    const JValue& codes = at(one, {"properties", "CommonBlock", "properties", "S0", "properties", "eventCode", "enum"});
    REQUIRE(codes.as_array().size() == 1);
    CHECK(codes.as_array()[0].as_string() == "[One]");
  }

  SECTION("index lists every variant with the spec stamp") {
    const JValue index = load(out.path() / "index.json");
    CHECK(at(index, {"spec", "version"}).as_string() == "1.0.0");
    CHECK(at(index, {"spec", "commit"}).as_string() == "0123456789abcdef0123");
    CHECK(at(index, {"spec", "date"}).as_string() == "2024-05-01");
    CHECK(at(index, {"variantCount"}).as_int() == 4);
    const JValue& first = at(index, {"variants"}).as_array().at(0);
    CHECK(at(first, {"interface"}).as_string() == "IF-901");
    CHECK(at(first, {"eventCode"}).as_string() == "[Alpha]");
    CHECK(at(first, {"schema"}).as_string() == "IF-901/Alpha.schema.json");
    CHECK(at(first, {"type"}).as_string() == "dip.IF-901.Alpha");
  }

  SECTION("output is deterministic, sorted and ends with a newline") {
    TempDir again;
    REQUIRE(flowguard::spec::import_dip(spec.path(), again.path()).ok());
    for (const auto& f : summary->files) CHECK(read_file(out.path() / f) == read_file(again.path() / f));
    const std::string text = read_file(out.path() / "IF-901/Alpha.schema.json");
    CHECK(text.back() == '\n');
    CHECK(text.find("\"$comment\"") < text.find("\"$schema\""));
    CHECK(text.find("\"$schema\"") < text.find("\"additionalProperties\""));
  }

  SECTION("plugin table declares each variant") {
    const std::string inc = flowguard::spec::render_dip_types_inc(*summary);
    CHECK(inc.find("#define FG_DIP_TYPE_COUNT 4") != std::string::npos);
    CHECK(inc.find("{\"dip.IF-901.Alpha\",") != std::string::npos);
    CHECK(inc.find("\"dip/IF-902/Two.schema.json\", \"dip\", FG_SHAPE_MESSAGE, NULL, \"\"") != std::string::npos);
    CHECK(inc.find("{{\"/CommonBlock/S0/interfaceID\", \"IF-902\"}, {\"/CommonBlock/S0/eventCode\", \"[Two]\"}}") !=
          std::string::npos);
    // Keys match ignoring case, schema findings carry MSG1001, no key hints (discriminators decide).
    CHECK(inc.find("#define FG_DIP_TYPE_FLAGS FG_TYPE_CASE_INSENSITIVE_KEYS") != std::string::npos);
    CHECK(inc.find("#define FG_DIP_SCHEMA_ERROR_CODE \"MSG1001\"") != std::string::npos);
    CHECK(inc.find("kDipMatches[0], 2, NULL,") != std::string::npos);
    std::size_t typed = 0;
    for (std::size_t at = 0; (at = inc.find("FG_DIP_TYPE_FLAGS, FG_DIP_SCHEMA_ERROR_CODE},", at)) != std::string::npos; ++at) ++typed;
    CHECK(typed == 4);
    CHECK(inc.find("kDipHints") == std::string::npos);
  }
}

TEST_CASE("nullable, exclusiveMinimum, formats and YAML scalar typing translate to draft-07", "[spec][dip]") {
  TempDir spec, out;
  write_spec(spec.path());
  REQUIRE(flowguard::spec::import_dip(spec.path(), out.path()).ok());
  const JValue doc = load(out.path() / "IF-901/Alpha.schema.json");
  const JValue& b001 = at(doc, {"definitions", "Blocks.B001", "properties"});

  // nullable: true widens the type; annotations (example, description) are gone.
  const JValue& code = at(b001, {"code"});
  CHECK(flowguard::spec::write_json(code, false) == R"({"maxLength": 10, "type": ["string", "null"]})");
  // nullable does not touch an enum; plain Y/N stay strings (YAML 1.2), plain null is null.
  CHECK(flowguard::spec::write_json(at(b001, {"flag"}), false) == R"({"enum": ["Y", "N", null], "type": ["string", "null"]})");
  CHECK(flowguard::spec::write_json(at(b001, {"plain"}), false) == R"({"type": "string"})");
  // OpenAPI 3.0 boolean exclusiveMinimum becomes draft-07's numeric one.
  CHECK(flowguard::spec::write_json(at(b001, {"count"}), false) == R"({"exclusiveMinimum": 0, "type": "integer"})");
  // Quoted '011' stays a string; the repeated enum value is dropped.
  CHECK(flowguard::spec::write_json(at(b001, {"version"}), false) == R"({"enum": ["011", "012"], "type": "string"})");
  // format: byte is OpenAPI-only: dropped, pattern kept.
  CHECK(flowguard::spec::write_json(at(doc, {"definitions", "Blocks.DT-001-Code"}), false) ==
        R"({"pattern": "^[A-Z]+$", "type": "string"})");
  CHECK(at(doc, {"definitions", "Blocks.B001"}).find("description") == nullptr);
}

TEST_CASE("$refs resolve offline into local definitions", "[spec][dip]") {
  TempDir spec, out;
  write_spec(spec.path());
  REQUIRE(flowguard::spec::import_dip(spec.path(), out.path()).ok());

  const JValue alpha = load(out.path() / "IF-901/Alpha.schema.json");
  // Raw GitHub URL and relative path both land in the local file.
  CHECK(at(alpha, {"properties", "CustomBlock", "properties", "B001", "$ref"}).as_string() == "#/definitions/Blocks.B001");
  CHECK(at(alpha, {"properties", "CustomBlock", "properties", "B002", "$ref"}).as_string() == "#/definitions/Blocks.B002");
  // A ref to a ref is carried along, so the file stands alone.
  CHECK(at(alpha, {"definitions", "Blocks.B002", "$ref"}).as_string() == "#/definitions/Blocks.DT-001-Code");
  check_refs_resolve(alpha, alpha);

  const JValue array = load(out.path() / "dip-message-array.schema.json");
  check_refs_resolve(array, array);
  CHECK(at(array, {"definitions", "Interfaces-EventCodes.IF-901-Payload", "oneOf"}).as_array().size() == 2);
  const JValue response = load(out.path() / "standard-response.schema.json");
  CHECK(flowguard::spec::write_json(at(response, {"properties", "message", "type"}), false) == R"(["string", "null"])");
}

TEST_CASE("diff_dip reports variant, property and constraint changes", "[spec][dip]") {
  TempDir spec_old, spec_new, out_old, out_new;
  write_spec(spec_old.path());
  SpecOptions changed;
  changed.code_max_length = 12;
  changed.with_beta = false;
  changed.with_gamma = true;
  changed.with_extra = true;
  write_spec(spec_new.path(), changed);
  REQUIRE(flowguard::spec::import_dip(spec_old.path(), out_old.path()).ok());
  REQUIRE(flowguard::spec::import_dip(spec_new.path(), out_new.path()).ok());

  auto same = flowguard::spec::diff_dip(out_old.path(), out_old.path());
  REQUIRE(same.ok());
  CHECK(same->find("No changes.") != std::string::npos);

  auto diff = flowguard::spec::diff_dip(out_old.path(), out_new.path());
  INFO((diff.ok() ? *diff : diff.error().message));
  REQUIRE(diff.ok());
  const std::string& d = *diff;
  CHECK(d.find("Variants: 4 -> 4 (1 added, 1 removed,") != std::string::npos);
  CHECK(d.find("- variant IF-901 [Beta] (IF-901/Beta.schema.json)") != std::string::npos);
  CHECK(d.find("+ variant IF-901 [Gamma] (IF-901/Gamma.schema.json)") != std::string::npos);
  CHECK(d.find("~ IF-901 [Alpha]") != std::string::npos);
  CHECK(d.find("~ /properties/CustomBlock/properties/B001/properties/code/maxLength: 10 -> 12") != std::string::npos);
  CHECK(d.find("+ property /properties/CustomBlock/properties/B001/properties/extra") != std::string::npos);
  // Shared blocks are followed, so IF-902 variants (which do not use B001) are unchanged.
  CHECK(d.find("~ IF-902") == std::string::npos);
}

TEST_CASE("import errors name the file and YAML line:col", "[spec][dip]") {
  TempDir spec, out;
  write_spec(spec.path());

  SECTION("malformed YAML") {
    write_file(spec.path() / "Blocks-unresolved.yaml", "components:\n  schemas:\n    B001: [unclosed\n");
    auto r = flowguard::spec::import_dip(spec.path(), out.path());
    REQUIRE_FALSE(r.ok());
    INFO(r.error().message);
    CHECK(r.error().code == flowguard::ErrorCode::kParse);
    CHECK(r.error().message.rfind("Blocks-unresolved.yaml:", 0) == 0);
  }
  SECTION("unsupported keyword") {
    write_file(spec.path() / "Blocks-unresolved.yaml",
               "components:\n  schemas:\n    B001:\n      type: object\n      patternProperties: {}\n"
               "    B002:\n      type: string\n");
    auto r = flowguard::spec::import_dip(spec.path(), out.path());
    REQUIRE_FALSE(r.ok());
    INFO(r.error().message);
    CHECK(r.error().code == flowguard::ErrorCode::kSchema);
    CHECK(r.error().message.rfind("Blocks-unresolved.yaml:5:7: unsupported schema keyword \"patternProperties\"", 0) == 0);
  }
  SECTION("dangling $ref") {
    write_file(spec.path() / "Blocks-unresolved.yaml",
               "components:\n  schemas:\n    B001:\n      $ref: '#/components/schemas/Nope'\n    B002:\n      type: string\n");
    auto r = flowguard::spec::import_dip(spec.path(), out.path());
    REQUIRE_FALSE(r.ok());
    INFO(r.error().message);
    CHECK(r.error().message.rfind("Blocks-unresolved.yaml:4:13: $ref \"#/components/schemas/Nope\" does not resolve", 0) == 0);
  }
  SECTION("constraint next to $ref") {
    write_file(spec.path() / "Blocks-unresolved.yaml",
               "components:\n  schemas:\n    B001:\n      $ref: '#/components/schemas/B002'\n      maxLength: 3\n"
               "    B002:\n      type: string\n");
    auto r = flowguard::spec::import_dip(spec.path(), out.path());
    REQUIRE_FALSE(r.ok());
    INFO(r.error().message);
    CHECK(r.error().message.rfind("Blocks-unresolved.yaml:5:7: \"maxLength\" next to $ref", 0) == 0);
  }
  SECTION("external URL") {
    write_file(spec.path() / "Blocks-unresolved.yaml",
               "components:\n  schemas:\n    B001:\n      $ref: 'https://example.com/x.yaml#/a'\n    B002:\n      type: string\n");
    auto r = flowguard::spec::import_dip(spec.path(), out.path());
    REQUIRE_FALSE(r.ok());
    INFO(r.error().message);
    CHECK(r.error().message.rfind("Blocks-unresolved.yaml:4:13: $ref \"https://example.com/x.yaml#/a\" points outside", 0) == 0);
  }
  SECTION("missing spec folder") {
    auto r = flowguard::spec::import_dip(spec.path() / "absent", out.path());
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == flowguard::ErrorCode::kIo);
  }
}

TEST_CASE("a regeneration removes schema files of variants the spec dropped", "[spec][dip]") {
  TempDir spec, out;
  write_spec(spec.path());
  REQUIRE(flowguard::spec::import_dip(spec.path(), out.path()).ok());
  REQUIRE(fs::exists(out.path() / "IF-901/Beta.schema.json"));
  write_file(out.path() / "README.md", "kept\n");
  SpecOptions o;
  o.with_beta = false;
  write_spec(spec.path(), o);
  REQUIRE(flowguard::spec::import_dip(spec.path(), out.path()).ok());
  CHECK_FALSE(fs::exists(out.path() / "IF-901/Beta.schema.json"));
  CHECK(fs::exists(out.path() / "IF-901/Alpha.schema.json"));
  CHECK(fs::exists(out.path() / "README.md"));
}
