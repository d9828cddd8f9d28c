// Case-insensitive keys (ValidateOptions::case_insensitive_keys), as the DIP applies on ingress:
// a key equal to a declared property ignoring ASCII case counts as that property and is reported
// once, with keyword "keyCase", at the key.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include "flowguard/json/document.hpp"
#include "flowguard/schema/validator.hpp"
#include "support.hpp"

using flowguard::json::Document;
using fgschema::compile;
using fgschema::parse;
using flowguard::schema::CompiledSchema;
using flowguard::schema::ValidateOptions;
using flowguard::schema::Violation;

namespace {

const ValidateOptions kCi{true};

std::vector<Violation> check(const CompiledSchema& schema, const Document& instance, const ValidateOptions& options,
                             std::string_view prefix = "") {
  std::vector<Violation> out;
  schema.validate(instance.root(), prefix, out, options);
  CHECK(schema.accepts(instance.root(), options) == out.empty());
  return out;
}

std::string dump(const std::vector<Violation>& v) {
  std::string out;
  for (const auto& x : v) out += x.keyword + " " + x.pointer + " @" + std::to_string(x.offset) + ": " + x.message + "\n";
  return out;
}

const char* kSchema = R"({
  "type": "object",
  "additionalProperties": false,
  "required": ["CommonBlock"],
  "properties": {
    "CommonBlock": {
      "type": "object",
      "additionalProperties": false,
      "required": ["S0"],
      "properties": {
        "S0": {
          "type": "object",
          "additionalProperties": false,
          "required": ["interfaceID", "eventCode"],
          "properties": {
            "interfaceID": {"enum": ["IF-031"]},
            "eventCode": {"type": "string", "maxLength": 8}
          }
        }
      }
    }
  }
})";

}  // namespace

TEST_CASE("key case: exact keys are valid with and without the option") {
  auto schema = compile(kSchema);
  auto doc = parse(R"({"CommonBlock": {"S0": {"interfaceID": "IF-031", "eventCode": "[MSApp]"}}})");
  CHECK(check(schema, doc, {}).empty());
  CHECK(check(schema, doc, kCi).empty());
}

TEST_CASE("key case: a key differing in case is that property, reported once at the key") {
  auto schema = compile(kSchema);
  const std::string text = R"({"commonBlock": {"S0": {"InterfaceID": "IF-031", "eventcode": "[MSApp]"}}})";
  auto doc = parse(text);

  SECTION("without the option it is an unknown property and the published key is missing") {
    auto v = check(schema, doc, {});
    INFO(dump(v));
    CHECK(v.size() == 2);  // "commonBlock" unknown, "CommonBlock" missing
  }
  SECTION("with the option: keyCase only, values still validated under the instance's keys") {
    auto v = check(schema, doc, kCi);
    INFO(dump(v));
    REQUIRE(v.size() == 3);
    for (const auto& x : v) CHECK(x.keyword == "keyCase");
    CHECK(v[0].pointer == "/commonBlock");
    CHECK(v[0].offset == text.find("\"commonBlock\""));
    CHECK(v[1].pointer == "/commonBlock/S0/InterfaceID");
    CHECK(v[1].offset == text.find("\"InterfaceID\""));
    CHECK(v[1].message.find("key \"InterfaceID\" differs in case from the published \"interfaceID\"") == 0);
    CHECK(v[2].pointer == "/commonBlock/S0/eventcode");
  }
  SECTION("accepts() is false (so the diagnostic path runs)") {
    CHECK_FALSE(schema.accepts(doc.root(), kCi));
  }
}

TEST_CASE("key case: values under a case-deviant key are validated against the property's schema") {
  auto schema = compile(kSchema);
  auto doc = parse(R"({"CommonBlock": {"S0": {"INTERFACEID": "IF-999", "eventCode": "[MSApp]"}}})");
  auto v = check(schema, doc, kCi, "/payload");
  INFO(dump(v));
  REQUIRE(v.size() == 2);
  CHECK(v[0].keyword == "keyCase");
  CHECK(v[0].pointer == "/payload/CommonBlock/S0/INTERFACEID");
  CHECK(v[1].keyword == "enum");
  CHECK(v[1].pointer == "/payload/CommonBlock/S0/INTERFACEID");
}

TEST_CASE("key case: only ASCII case folds, other differences stay unknown properties") {
  auto schema = compile(kSchema);
  auto doc = parse(R"({"CommonBlock": {"S0": {"interface_ID": "IF-031", "eventCode": "[MSApp]"}}})");
  auto v = check(schema, doc, kCi);
  INFO(dump(v));
  REQUIRE(v.size() == 2);
  CHECK(v[0].keyword == "additionalProperties");
  CHECK(v[0].message.find("did you mean \"interfaceID\"") != std::string::npos);
  CHECK(v[1].keyword == "required");
}

TEST_CASE("key case: a deviation under an open object still makes accepts() false") {
  auto schema = compile(R"({"type": "object", "properties": {"senderTimestamp": {"type": "string"}}})");
  auto doc = parse(R"({"SenderTimestamp": 5})");
  CHECK(schema.accepts(doc.root()));  // exact: an extra key, allowed
  auto v = check(schema, doc, kCi);
  INFO(dump(v));
  REQUIRE(v.size() == 2);
  CHECK(v[0].keyword == "keyCase");
  CHECK(v[1].keyword == "type");
  CHECK(v[1].pointer == "/SenderTimestamp");
}

TEST_CASE("key case: dependencies and combinators see case-insensitive keys") {
  auto schema = compile(R"({
    "type": "object",
    "dependencies": {"meterID": ["meterType"]},
    "properties": {"meterID": {"type": "string"}, "meterType": {"type": "string"}},
    "oneOf": [{"required": ["meterID"]}, {"required": ["mpan"]}]
  })");
  auto doc = parse(R"({"MeterID": "X", "METERTYPE": "H"})");
  auto v = check(schema, doc, kCi);
  INFO(dump(v));
  REQUIRE(v.size() == 2);
  CHECK(v[0].keyword == "keyCase");
  CHECK(v[1].keyword == "keyCase");
}

TEST_CASE("key case: the DIP schemas are fully compiled, so the option applies") {
  const auto file = std::filesystem::path(FLOWGUARD_SOURCE_DIR) / "schemas/dip/IF-031/MSApp.schema.json";
  auto schema = CompiledSchema::load_file(file);
  REQUIRE(schema.ok());
  CHECK(schema.value().fully_compiled());
}
