// Messages, pointers, offsets, near-miss suggestions, one-violation-per-location, $ref across files,
// malformed schemas.
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>

#include "flowguard/json/document.hpp"
#include "flowguard/schema/validator.hpp"
#include "support.hpp"

using flowguard::json::Document;
using fgschema::compile;
using fgschema::parse;
using flowguard::schema::CompiledSchema;
using flowguard::schema::Violation;

namespace {

const std::string kData = FLOWGUARD_SOURCE_DIR "/tests/core/schema/data/";

std::vector<Violation> check(const CompiledSchema& schema, const Document& instance, std::string_view prefix = "") {
  std::vector<Violation> out;
  schema.validate(instance.root(), prefix, out);
  CHECK(schema.accepts(instance.root()) == out.empty());
  return out;
}

const Violation* find(const std::vector<Violation>& v, std::string_view keyword, std::string_view pointer) {
  for (const auto& x : v)
    if (x.keyword == keyword && x.pointer == pointer) return &x;
  return nullptr;
}

std::string dump(const std::vector<Violation>& v) {
  std::string out;
  for (const auto& x : v) out += x.keyword + " " + x.pointer + " @" + std::to_string(x.offset) + ": " + x.message + "\n";
  return out;
}

const char* kDfsSchema = R"({
  "x-spec": "DFS API Schema V1.6 §6",
  "type": "object",
  "properties": {
    "Delivery Date": {"type": "string", "minLength": 10, "maxLength": 10,
                      "pattern": "^\\d{2}-\\d{2}-\\d{4}$", "x-expected": "a date in dd-mm-yyyy"},
    "Event Type": {"type": "string"},
    "Zone": {"type": "integer"},
    "Opt In": {"enum": ["Auto", "Manual"]},
    "Event ID": {"type": "number", "exclusiveMinimum": 0},
    "From_Local": {"type": "string", "x-spec": "DFS §7"}
  },
  "required": ["Event Type", "Delivery Date"],
  "additionalProperties": false,
  "x-did-you-mean": {"From": "From_Local"}
})";

}  // namespace

TEST_CASE("messages name the field, show the value, say what was expected and cite the spec", "[schema][messages]") {
  CompiledSchema schema = compile(kDfsSchema);
  const std::string text =
      R"({"Delivery Date": "18-03-203", "Event t Tpe": "x", "Zone": "2", "Opt In": "manual", "Event ID": 0, "From": "12:00"})";
  Document instance = parse(text);
  auto v = check(schema, instance);
  INFO(dump(v));
  REQUIRE(v.size() == 7);

  const Violation* date = find(v, "minLength", "/Delivery Date");
  REQUIRE(date);
  CHECK(date->message ==
        "\"Delivery Date\" is \"18-03-203\" (9 characters); expected exactly 10 characters: a date in dd-mm-yyyy "
        "[DFS API Schema V1.6 §6]");
  CHECK(date->offset == text.find("\"18-03-203\""));

  const Violation* missing = find(v, "required", "");
  REQUIRE(missing);
  CHECK(missing->message ==
        "missing required property \"Event Type\" (found \"Event t Tpe\" \xE2\x80\x94 did you mean \"Event Type\"?) "
        "[DFS API Schema V1.6 §6]");
  CHECK(missing->offset == 0);

  const Violation* unknown = find(v, "additionalProperties", "/From");
  REQUIRE(unknown);
  CHECK(unknown->message == "unknown property \"From\"; did you mean \"From_Local\"? [DFS API Schema V1.6 §6]");
  CHECK(unknown->offset == text.find("\"From\""));
  const Violation* unknown2 = find(v, "additionalProperties", "/Event t Tpe");
  REQUIRE(unknown2);
  CHECK(unknown2->message == "unknown property \"Event t Tpe\"; did you mean \"Event Type\"? [DFS API Schema V1.6 §6]");

  const Violation* zone = find(v, "type", "/Zone");
  REQUIRE(zone);
  CHECK(zone->message == "\"Zone\" is a string (\"2\"); expected an integer [DFS API Schema V1.6 §6]");

  const Violation* opt = find(v, "enum", "/Opt In");
  REQUIRE(opt);
  CHECK(opt->message == "\"Opt In\" is \"manual\"; expected one of \"Auto\", \"Manual\" [DFS API Schema V1.6 §6]");

  const Violation* id = find(v, "exclusiveMinimum", "/Event ID");
  REQUIRE(id);
  CHECK(id->message == "\"Event ID\" is 0; expected a number greater than 0 [DFS API Schema V1.6 §6]");
}

TEST_CASE("the nearest x-spec wins and pointer prefixes and array items are named", "[schema][messages]") {
  CompiledSchema schema = compile(R"({
    "type": "array", "x-spec": "outer",
    "items": {"type": "object", "properties": {"From_Local": {"type": "string", "x-spec": "inner"}}}
  })");
  Document instance = parse(R"([{"From_Local": "ok"}, {"From_Local": 5}, 7])");
  auto v = check(schema, instance, "/data");
  INFO(dump(v));
  REQUIRE(v.size() == 2);
  CHECK(v[0].pointer == "/data/1/From_Local");
  CHECK(v[0].message == "\"From_Local\" is a number (5); expected a string [inner]");
  CHECK(v[1].pointer == "/data/2");
  CHECK(v[1].message == "item 2 is a number (7); expected an object [outer]");

  CompiledSchema plain = compile(R"({"type": "string"})");
  Document n = parse("null");
  auto w = check(plain, n);
  REQUIRE(w.size() == 1);
  CHECK(w[0].message == "the value is null; expected a string");  // no x-spec: no brackets
}

TEST_CASE("one value-level violation per location", "[schema][messages]") {
  CompiledSchema schema = compile(R"({
    "properties": {
      "a": {"type": "string", "minLength": 5, "pattern": "^x", "format": "date"},
      "b": {"allOf": [{"maxLength": 1}, {"pattern": "^\\d+$"}, {"enum": ["q"]}]},
      "c": {"type": "integer", "minimum": 3, "multipleOf": 2}
    }
  })");
  Document instance = parse(R"({"a": "bb", "b": "xyz", "c": 1})");
  auto v = check(schema, instance);
  INFO(dump(v));
  REQUIRE(v.size() == 3);
  CHECK(find(v, "minLength", "/a"));
  CHECK(find(v, "maxLength", "/b"));
  CHECK(find(v, "minimum", "/c"));
}

TEST_CASE("object-level keywords report each missing and unknown property", "[schema][messages]") {
  CompiledSchema schema = compile(R"({
    "properties": {"alpha": {}, "beta": {}},
    "required": ["alpha", "beta", "gamma"],
    "additionalProperties": false
  })");
  Document instance = parse(R"({"x": 1, "y": 2})");
  auto v = check(schema, instance);
  INFO(dump(v));
  CHECK(v.size() == 5);
  CHECK(find(v, "required", "")->message == "missing required property \"alpha\"");
  CHECK(find(v, "additionalProperties", "/x")->message == "unknown property \"x\"");
}

TEST_CASE("anyOf/oneOf: one violation, or the meant branch's violations", "[schema][messages]") {
  CompiledSchema schema = compile(R"({
    "properties": {
      "msg": {"oneOf": [
        {"properties": {"kind": {"const": "a"}, "x": {"type": "integer"}}, "required": ["kind"]},
        {"properties": {"kind": {"const": "b"}, "y": {"type": "string"}}, "required": ["kind"]}
      ]},
      "date": {"anyOf": [{"type": "string", "pattern": "^\\d{4}$", "x-expected": "four digits"}, {"type": "null"}]},
      "any": {"anyOf": [{"type": "string", "maxLength": 1}, {"type": "string", "pattern": "^z"}]},
      "two": {"oneOf": [{"minimum": 0}, {"maximum": 10}]}
    }
  })");
  Document instance = parse(R"({"msg": {"kind": "a", "x": "s"}, "date": "20x4", "any": "abc", "two": 5})");
  auto v = check(schema, instance);
  INFO(dump(v));
  REQUIRE(v.size() == 4);
  CHECK(find(v, "type", "/msg/x"));
  CHECK(find(v, "pattern", "/date")->message == "\"date\" is \"20x4\"; expected four digits");
  CHECK(find(v, "anyOf", "/any")->message == "\"any\" is \"abc\"; matches none of the 2 alternatives");
  CHECK(find(v, "oneOf", "/two")->message == "\"two\" is 5; matches 2 alternatives, expected exactly one");
}

TEST_CASE("formats date, date-time and time are checked, others are annotations", "[schema][format]") {
  CompiledSchema schema = compile(R"({"properties": {
    "d": {"format": "date"}, "dt": {"format": "date-time"}, "t": {"format": "time"}, "e": {"format": "email"}}})");
  CHECK(schema.accepts(parse(R"({"d": "2024-02-29", "dt": "2024-03-31T01:30:00Z", "t": "23:59:60Z", "e": "x"})").root()));
  CHECK_FALSE(schema.accepts(parse(R"({"d": "2023-02-29"})").root()));
  CHECK_FALSE(schema.accepts(parse(R"({"dt": "2024-03-31 01:30:00"})").root()));
  CHECK_FALSE(schema.accepts(parse(R"({"t": "24:00:00Z"})").root()));
  auto v = check(schema, parse(R"({"d": "2023-13-01"})"));
  REQUIRE(v.size() == 1);
  CHECK(v[0].message == "\"d\" is \"2023-13-01\"; expected a valid date (yyyy-mm-dd)");
}

TEST_CASE("integers follow draft-07 and multipleOf is exact on decimals", "[schema]") {
  CompiledSchema schema = compile(R"({"type": "integer", "multipleOf": 0.01})");
  CHECK(schema.accepts(parse("1.0").root()));
  CHECK_FALSE(schema.accepts(parse("1.5").root()));
  CompiledSchema money = compile(R"({"multipleOf": 0.01})");
  CHECK(money.accepts(parse("19.99").root()));
  CHECK(money.accepts(parse("4.35").root()));
  CHECK_FALSE(money.accepts(parse("4.355").root()));
}

TEST_CASE("$ref to a sibling file resolves against the schema's folder", "[schema][ref]") {
  auto schema = CompiledSchema::load_file(kData + "main.schema.json");
  REQUIRE(schema.ok());
  CHECK(schema.value().fully_compiled());
  CHECK(schema.value().accepts(parse(R"({"Delivery Date": "18-03-2024", "Zone": 3, "Items": [{"id": 1}]})").root()));
  auto v = check(schema.value(), parse(R"({"Delivery Date": "2024-03-18", "Zone": 30, "Items": [{}]})"));
  INFO(dump(v));
  REQUIRE(v.size() == 3);
  CHECK(find(v, "pattern", "/Delivery Date")->message ==
        "\"Delivery Date\" is \"2024-03-18\"; expected a date in dd-mm-yyyy [common §2]");
  CHECK(find(v, "maximum", "/Zone")->message == "\"Zone\" is 30; expected a number less than or equal to 14 [main §1]");
  CHECK(find(v, "required", "/Items/0"));

  auto declared = schema.value().declared_properties();
  CHECK(declared.size() == 3);
  auto item = schema.value().subschema("/definitions/item");
  REQUIRE(item);
  CHECK(item->accepts(parse(R"({"id": 2})").root()));
  CHECK_FALSE(item->accepts(parse(R"({"id": "2"})").root()));
  CHECK_FALSE(schema.value().subschema("/nope"));
}

TEST_CASE("malformed schemas are errors that name the file", "[schema][errors]") {
  auto bad = CompiledSchema::load_file(kData + "malformed.schema.json");
  REQUIRE_FALSE(bad.ok());
  INFO(bad.error().message);
  CHECK(bad.error().message.find("malformed.schema.json:5:") != std::string::npos);

  auto missing = CompiledSchema::load_file(kData + "no-such.schema.json");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == flowguard::ErrorCode::kIo);

  auto ref = CompiledSchema::load_file(kData + "missing_ref.schema.json");
  REQUIRE_FALSE(ref.ok());
  INFO(ref.error().message);
  CHECK(ref.error().message.find("does-not-exist.schema.json") != std::string::npos);

  auto pointer = CompiledSchema::load_file(kData + "bad_pointer.schema.json");
  REQUIRE_FALSE(pointer.ok());
  CHECK(pointer.error().code == flowguard::ErrorCode::kSchema);
  CHECK(pointer.error().message.find("#/definitions/nope") != std::string::npos);

  Document cyc = parse(R"({"allOf": [{"$ref": "#"}]})");
  auto cycle = CompiledSchema::compile(cyc, "cycle.json");
  REQUIRE_FALSE(cycle.ok());
  CHECK(cycle.error().message.find("cycle") != std::string::npos);

  Document badpat = parse(R"({"pattern": "(ab"})");
  CHECK_FALSE(CompiledSchema::compile(badpat, "p.json").ok());
  Document badtype = parse(R"({"type": "strin"})");
  CHECK_FALSE(CompiledSchema::compile(badtype, "t.json").ok());
}

TEST_CASE("a $ref cycle beside a nested $id is refused, not a stack overflow in valijson (fuzz/regressions/schema)",
          "[schema][valijson]") {
  // A nested "$id" sends the schema to valijson, whose parser recursed on this cycle until the stack overflowed.
  for (const char* text : {R"({"definitions": {"a": {"$id": "#foo"}}, "not": {"$ref": "#"}})",
                           R"({"definitions": {"a": {"$id": "#foo"}, "b": {"allOf": [{"$ref": "#/definitions/b"}]}}})"}) {
    Document cyc = parse(text);
    auto cycle = CompiledSchema::compile(cyc, "cycle.json");
    INFO(text);
    REQUIRE_FALSE(cycle.ok());
    CHECK(cycle.error().message.find("cycle that never reaches instance data") != std::string::npos);
  }
  // A relative file that does not exist, beside a nested "$id": valijson took it for the document itself.
  Document missing = parse(R"({"definitions": {"a": {"$id": "#foo"}}, "$ref": "\r\r<"})");
  auto unreadable = CompiledSchema::compile(missing, "missing.json");
  REQUIRE_FALSE(unreadable.ok());
  INFO(unreadable.error().message);
  CHECK(unreadable.error().message.find("$ref \"\r\r<\" at missing.json#") != std::string::npos);
  // Recursion through instance data beside a nested "$id" still compiles (by the compiler itself
  // now that it resolves "$id"s; before, valijson validated it).
  Document tree = parse(R"({"definitions": {"a": {"$id": "#foo"}}, "properties": {"child": {"$ref": "#"}}, "type": "object"})");
  auto recursive = CompiledSchema::compile(tree, "tree.json");
  REQUIRE(recursive.ok());
  CHECK(recursive->fully_compiled());
  Document good = parse(R"({"child": {"child": {}}})");
  Document bad = parse(R"({"child": {"child": 3}})");
  CHECK(recursive->accepts(good.root()));
  CHECK_FALSE(recursive->accepts(bad.root()));
}

TEST_CASE("valijson bridge maps contexts to pointers and never throws", "[schema][valijson]") {
  Document schema = parse(kDfsSchema);
  Document instance = parse(R"({"Delivery Date": "18-03-2024", "Event Type": "x", "Zone": "2"})");
  auto v = flowguard::schema::validate_with_valijson(schema, "inline.json", instance.root());
  REQUIRE(v.ok());
  INFO(dump(v.value()));
  CHECK(find(v.value(), "type", "/Zone"));

  Document remote = parse(R"({"$ref": "http://example.com/x.json"})");
  auto r = flowguard::schema::validate_with_valijson(remote, "inline.json", instance.root());
  CHECK_FALSE(r.ok());
}

TEST_CASE("a nested $id's base URI is resolved by the compiler itself", "[schema]") {
  // Before, a nested "$id" made the compiler hand the whole schema to valijson.
  Document doc = parse(R"({"definitions": {"a": {"$id": "http://example.com/a.json", "type": "integer"}},
                           "properties": {"x": {"$ref": "#/definitions/a"}, "y": {"$ref": "http://example.com/a.json"}}})");
  auto schema = CompiledSchema::compile(doc, "inline.json");
  REQUIRE(schema.ok());
  CHECK(schema.value().fully_compiled());
  CHECK_FALSE(schema.value().accepts(parse(R"({"y": "one"})").root()));
  CHECK(schema.value().accepts(parse(R"({"x": 1})").root()));
  auto v = check(schema.value(), parse(R"({"x": "one"})"));
  INFO(dump(v));
  CHECK(find(v, "type", "/x"));
  auto sub = schema.value().subschema("/properties/x");
  REQUIRE(sub);
  CHECK_FALSE(sub->accepts(parse(R"("one")").root()));
  std::vector<Violation> sv;
  sub->validate(parse("2").root(), "", sv);
  INFO(dump(sv));
  CHECK(sub->accepts(parse("2").root()));
}

TEST_CASE("a $ref to a URI that is nowhere to be found is refused naming it", "[schema][valijson]") {
  // No network access, ever: the compiler knows no such document, valijson (the fallback) neither.
  Document doc = parse(R"({"properties": {"x": {"$ref": "http://example.com/elsewhere.json#/definitions/a"}}})");
  auto schema = CompiledSchema::compile(doc, "inline.json");
  REQUIRE_FALSE(schema.ok());
  CHECK_THAT(schema.error().message, Catch::Contains("http://example.com/elsewhere.json"));

  // The same URI served from a folder (SchemaSources) resolves.
  flowguard::schema::SchemaSources sources;
  sources.uri_dirs.emplace_back("http://example.com/", kData);
  Document local = parse(R"({"properties": {"x": {"$ref": "http://example.com/main.schema.json"}}})");
  auto served = CompiledSchema::compile(local, "inline.json", sources);
  REQUIRE(served.ok());
  CHECK(served.value().fully_compiled());
  // Never above the folder: "sub/../" is resolved away first (RFC 3986), leaving a URI outside the prefix.
  flowguard::schema::SchemaSources sub;
  sub.uri_dirs.emplace_back("http://example.com/sub/", kData);
  Document above = parse(R"({"properties": {"x": {"$ref": "http://example.com/sub/../main.schema.json"}}})");
  CHECK_FALSE(CompiledSchema::compile(above, "inline.json", sub).ok());
}

TEST_CASE("valijson follows relative file refs through the bridge", "[schema][valijson]") {
  auto text = [] {
    std::ifstream in(kData + "main.schema.json");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }();
  Document schema = parse(text);
  auto ok = flowguard::schema::validate_with_valijson(schema, kData + "main.schema.json",
                                                     parse(R"({"Delivery Date": "18-03-2024"})").root());
  if (!ok.ok()) {
    WARN("valijson 1.0 cannot follow relative file refs: " << ok.error().message);
    return;
  }
  CHECK(ok.value().empty());
  auto bad = flowguard::schema::validate_with_valijson(schema, kData + "main.schema.json",
                                                      parse(R"({"Delivery Date": "2024-03-18"})").root());
  REQUIRE(bad.ok());
  CHECK(find(bad.value(), "pattern", "/Delivery Date"));
}
