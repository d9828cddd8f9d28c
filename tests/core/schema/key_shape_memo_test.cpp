// ValidateOptions::key_shapes: accepts() remembers, per schema node and key shape, which declared
// property each member is. The answer must be the one accepts() gives without the memo, record by
// record, whatever came before: records sharing a shape that pass and fail, schemas of different
// programs sharing one memo, keys matched only ignoring case, nested objects.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "flowguard/json/document.hpp"
#include "flowguard/schema/validator.hpp"
#include "support.hpp"

using flowguard::json::Document;
using fgschema::compile;
using fgschema::parse;
using flowguard::schema::CompiledSchema;
using flowguard::schema::KeyShapeMemo;
using flowguard::schema::ValidateOptions;

namespace {

const char* kRecord = R"({
  "type": "object", "additionalProperties": false, "required": ["Zone", "Unit", "Site"],
  "properties": {
    "Zone": { "type": "integer", "minimum": 1 },
    "Unit": { "type": "string", "pattern": "^[A-Z]{2}[0-9]$" },
    "Site": { "type": "object", "required": ["Name"], "additionalProperties": false,
              "properties": { "Name": { "type": "string", "minLength": 2 }, "Code": { "type": "integer" } } },
    "Note": { "type": "string" }
  }
})";

// Another program whose node numbers overlap the first's: a plan of one must never serve the other.
const char* kOther = R"({
  "type": "object", "required": ["Zone"],
  "properties": { "Zone": { "type": "string" }, "Unit": { "type": "integer" }, "Site": { "type": "string" } }
})";

}  // namespace

TEST_CASE("accepts() with a key-shape memo answers as without it, record by record", "[schema][memo]") {
  const CompiledSchema record = compile(kRecord);
  const CompiledSchema other = compile(kOther);
  const Document doc = parse(R"([
    {"Zone": 1, "Unit": "AB1", "Site": {"Name": "North", "Code": 4}},
    {"Zone": 2, "Unit": "CD2", "Site": {"Name": "South", "Code": 5}},
    {"Zone": 0, "Unit": "CD2", "Site": {"Name": "South", "Code": 5}},
    {"Zone": 3, "Unit": "cd2", "Site": {"Name": "South", "Code": 5}},
    {"Zone": 3, "Unit": "EF3", "Site": {"Name": "S", "Code": 5}},
    {"Zone": 3, "Unit": "EF3", "Site": {"Name": "West", "Code": "5"}},
    {"Zone": 4, "Unit": "GH4", "Site": {"Name": "East", "Code": 6}},
    {"Zone": 4, "Unit": "GH4", "Sitе": {"Name": "East", "Code": 6}},
    {"Zone": 5, "Unit": "IJ5", "Note": {"Name": "East", "Code": 6}},
    {"zone": 5, "Unit": "IJ5", "Site": {"Name": "East", "Code": 6}},
    {"Zone": 5, "Unit": "IJ5", "Site": {"Name": "East", "Code": 6}, "Extra": 1},
    {"Unit": "IJ5", "Site": {"Name": "East", "Code": 6}, "Zone": 6},
    {"Unit": "IJ5", "Site": {"Name": "East", "Code": 6}, "Zone": 6.5},
    {"Zone": "7", "Unit": 7, "Site": "seven"},
    {"Zone": "8", "Unit": 8, "Site": "eight"},
    {"Zone": 9, "Unit": "KL9", "Site": {"Name": "Mid", "Code": 9}}
  ])");
  const auto records = doc.root().items();
  REQUIRE(records.size() == 16);
  CHECK(records[1].key_shape() != 0);
  CHECK(records[1].key_shape() == records[0].key_shape());

  for (const bool case_insensitive : {false, true}) {
    INFO("case-insensitive keys: " << case_insensitive);
    ValidateOptions plain{case_insensitive};
    KeyShapeMemo memo;
    ValidateOptions memoised{case_insensitive};
    memoised.key_shapes = &memo;
    // Twice over, so the second pass meets every shape already planned.
    for (int pass = 0; pass < 2; ++pass) {
      for (std::size_t i = 0; i < records.size(); ++i) {
        INFO("pass " << pass << ", record " << i);
        CHECK(record.accepts(records[i], memoised) == record.accepts(records[i], plain));
        CHECK(other.accepts(records[i], memoised) == other.accepts(records[i], plain));
      }
    }
    // Spot checks that the comparison means something: both outcomes occur.
    CHECK(record.accepts(records[1], memoised));
    CHECK_FALSE(record.accepts(records[2], memoised));
    CHECK_FALSE(record.accepts(records[9], memoised));  // "zone": unknown, or a case deviation
    CHECK(other.accepts(records[13], memoised));
    memo.clear();
    CHECK_FALSE(record.accepts(records[5], memoised));
  }
}

TEST_CASE("a memo plan stays usable while checking its members adds plans for nested objects", "[schema][memo]") {
  // Records of one outer shape whose nested object has a new key order every time: each record's
  // check runs the outer plan while adding the inner object's plan, which grows the memo's storage
  // under it (a sanitizer build sees any read of the moved storage).
  const CompiledSchema schema = compile(R"({
    "type": "object", "additionalProperties": false,
    "properties": { "a": { "type": "integer" }, "in": { "$ref": "#/definitions/in" }, "z": { "type": "string" } },
    "definitions": { "in": { "type": "object", "additionalProperties": false, "properties": {
      "p0": {"type": "integer"}, "p1": {"type": "integer"}, "p2": {"type": "integer"}, "p3": {"type": "integer"},
      "p4": {"type": "integer"}, "p5": {"type": "integer"}, "p6": {"type": "integer"}, "p7": {"type": "integer"} } } }
  })");
  std::string text = "[";
  std::uint64_t x = 88172645463325252ULL;
  for (int i = 0; i < 400; ++i) {
    int order[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    for (int k = 7; k > 0; --k) {  // a random order and length: a new inner shape nearly every time
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      std::swap(order[k], order[x % static_cast<std::uint64_t>(k + 1)]);
    }
    std::string in = "{";
    const int count = 2 + static_cast<int>(x % 7);
    for (int k = 0; k < count; ++k)
      in += std::string(k ? ", " : "") + "\"p" + std::to_string(order[k]) + "\": " + (i % 13 == 5 && k == 1 ? "\"no\"" : "1");
    in += "}";
    text += std::string(i ? ", " : "") + "{\"a\": 1, \"in\": " + in + ", \"z\": \"s\"}";
  }
  text += "]";
  const Document doc = parse(text);
  KeyShapeMemo memo;
  ValidateOptions memoised;
  memoised.key_shapes = &memo;
  std::size_t accepted = 0;
  for (const auto& r : doc.root().items()) {
    const bool with = schema.accepts(r, memoised);
    CHECK(with == schema.accepts(r, ValidateOptions{}));
    accepted += with;
  }
  CHECK(accepted > 300);
  CHECK(accepted < doc.root().items().size());
}
