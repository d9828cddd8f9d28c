// CompiledSchema::root_items_schema + ValidateOptions::skip_root_items: validating a batch's root
// array without its items, then each item on its own, gives exactly the whole-document violations
// (the engine relies on it to spread records over threads); schemas where that would not hold do
// not split.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

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

std::vector<std::string> lines(const std::vector<Violation>& violations) {
  std::vector<std::string> out;
  for (const auto& v : violations) out.push_back(v.keyword + " " + v.pointer + " @" + std::to_string(v.offset) + ": " + v.message);
  std::sort(out.begin(), out.end());
  return out;
}

const char* kBatch = R"({
  "type": "array", "minItems": 1, "maxItems": 3, "x-spec": "Batch spec §6",
  "items": { "$ref": "#/definitions/record" },
  "definitions": {
    "record": {
      "type": "object", "additionalProperties": false, "required": ["Zone", "Unit"],
      "properties": { "Zone": { "type": "integer", "minimum": 1 }, "Unit": { "type": "string", "maxLength": 4 } }
    }
  }
})";

}  // namespace

TEST_CASE("items split: root shell plus each item gives the whole-document violations") {
  const CompiledSchema whole = compile(kBatch);
  const auto items = whole.root_items_schema();
  REQUIRE(items.has_value());
  const Document doc = parse(R"([{"Zone": 1, "Unit": "U1"}, {"Zone": 0, "Unit": "TOO-LONG"}, {"Unit": 7, "Extra": 1},
                                 {"Zone": 2, "Unit": "U4"}])");
  std::vector<Violation> expected;
  whole.validate(doc.root(), "", expected);
  REQUIRE(expected.size() >= 5);  // maxItems, minimum, maxLength, required, type, additionalProperties

  ValidateOptions shell_only;
  shell_only.skip_root_items = true;
  std::vector<Violation> split;
  whole.validate(doc.root(), "", split, shell_only);
  CHECK(split.size() == 1);  // maxItems: the shell still judges the array itself
  CHECK_FALSE(whole.accepts(doc.root(), shell_only));
  const auto records = doc.root().items();
  for (std::size_t i = 0; i < records.size(); ++i) {
    std::vector<Violation> one;
    items->validate(records[i], "/" + std::to_string(i), one);
    CHECK(items->accepts(records[i]) == one.empty());
    split.insert(split.end(), one.begin(), one.end());
  }
  CHECK(lines(split) == lines(expected));
  // The item schema inherits the root's x-spec, as the whole walk passes it down.
  for (const auto& v : split) CHECK_THAT(v.message, Catch::Contains("Batch spec §6"));
}

TEST_CASE("items split: a shell without items accepts an array of invalid items") {
  const CompiledSchema whole = compile(kBatch);
  const Document doc = parse(R"([{"Zone": "x"}])");
  ValidateOptions shell_only;
  shell_only.skip_root_items = true;
  CHECK(whole.accepts(doc.root(), shell_only));
  CHECK_FALSE(whole.accepts(doc.root()));
}

TEST_CASE("items split: only where items can be judged one at a time") {
  CHECK_FALSE(compile(R"({"type": "array", "items": [{"type": "string"}]})").root_items_schema());  // tuple form
  CHECK_FALSE(compile(R"({"type": "array", "items": {}, "uniqueItems": true})").root_items_schema());
  CHECK_FALSE(compile(R"({"type": "array", "items": {}, "contains": {"type": "string"}})").root_items_schema());
  CHECK_FALSE(compile(R"({"type": "array", "items": {}, "anyOf": [{"minItems": 1}]})").root_items_schema());
  CHECK_FALSE(compile(R"({"type": "object", "properties": {"data": {"type": "array", "items": {}}}})").root_items_schema());
  CHECK(compile(R"({"type": "array", "items": {"type": "object"}})").root_items_schema());
}
