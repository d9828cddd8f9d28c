// core/schema: the draft-07 compiler and both validation paths, on schemas generated from the input
// (every keyword, nested, with $ref, patterns and formats) and instances generated beside them.
// Contracts beyond "no crash": accepts() is true exactly when validate() finds nothing (with
// case-insensitive keys: validate() finds nothing when accepts() is true);
// validate() finds the same with and without skip_valid_subtrees; accepts() is the same with a
// key-shape memo; root_items_schema() item by item finds what validating the whole document finds.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <tuple>
#include <vector>

#include "flowguard/json/document.hpp"
#include "flowguard/schema/validator.hpp"
#include "fuzz_support.hpp"

using namespace flowguard;

namespace {

const char* const kKeys[] = {"a", "b", "A", "From", "From_Local", "x y", "", "~/"};
const char* const kTypes[] = {"null", "boolean", "integer", "number", "string", "array", "object"};
const char* const kFormats[] = {"date", "date-time", "time", "email", "uri", "ipv4", "ipv6", "hostname", "regex", "uuid"};
const char* const kPatterns[] = {"^[0-9]{2}-[0-9]{2}-[0-9]{4}$", "^\\d+(\\.\\d)?$", "^[A-Z]{3}$", "a|b", "^(a+)+$",
                                 "^([01]\\d|2[0-3]):[03]0$", "[", "\\p{L}", "^.{0,3}$", "(?i)x"};

std::string json_text(std::string_view text) {
  std::string out;
  json::write_json_string(out, text);
  return out;
}

std::string key(fuzz::ByteReader& in) { return json_text(in.pick(kKeys)); }

std::string number(fuzz::ByteReader& in) {
  switch (in.in_range(0, 5)) {
    case 0: return std::to_string(in.in_range(-3, 12));
    case 1: return "0.1";
    case 2: return "2.5";
    case 3: return "1e3";
    case 4: return "-0";
    default: return std::to_string(in.in_range(-2000000000, 2000000000));
  }
}

std::string gen_instance(fuzz::ByteReader& in, int depth);

std::string string_value(fuzz::ByteReader& in) {
  if (in.flag()) return json_text(in.text(12));
  static const char* const kStrings[] = {"18-03-2023", "2023-03-18", "2023-03-18T10:00:00Z", "12:30", "a@b.co",
                                         "http://x/y", "127.0.0.1", "ABC", "aaaaaaaaaaaaaaaaaaaaaaaaa!", "é"};
  return json_text(in.pick(kStrings));
}

std::string gen_instance(fuzz::ByteReader& in, int depth) {
  const int kind = in.in_range(0, depth > 4 ? 4 : 6);
  switch (kind) {
    case 0: return "null";
    case 1: return in.flag() ? "true" : "false";
    case 2: return number(in);
    case 3:
    case 4: return string_value(in);
    case 5: {
      std::string out = "[";
      const int n = in.in_range(0, 4);
      for (int i = 0; i < n; ++i) out += (i ? "," : "") + gen_instance(in, depth + 1);
      return out + "]";
    }
    default: {
      std::string out = "{";
      const int n = in.in_range(0, 4);
      for (int i = 0; i < n; ++i) out += (i ? "," : "") + key(in) + ":" + gen_instance(in, depth + 1);
      return out + "}";
    }
  }
}

std::string gen_schema(fuzz::ByteReader& in, int depth);

std::string schema_list(fuzz::ByteReader& in, int depth) {
  std::string out = "[";
  const int n = in.in_range(depth > 3 ? 0 : 1, 3);
  for (int i = 0; i < n; ++i) out += (i ? "," : "") + gen_schema(in, depth + 1);
  return out + "]";
}

std::string schema_map(fuzz::ByteReader& in, int depth) {
  std::string out = "{";
  const int n = in.in_range(0, 3);
  for (int i = 0; i < n; ++i) out += (i ? "," : "") + key(in) + ":" + gen_schema(in, depth + 1);
  return out + "}";
}

std::string keyword(fuzz::ByteReader& in, int depth) {
  const bool leaf = depth > 4;
  switch (in.in_range(0, leaf ? 19 : 39)) {
    case 0: return "\"type\":" + json_text(in.pick(kTypes));
    case 1: return "\"type\":[" + json_text(in.pick(kTypes)) + "," + json_text(in.pick(kTypes)) + "]";
    case 2: return "\"minLength\":" + number(in);
    case 3: return "\"maxLength\":" + number(in);
    case 4: return "\"pattern\":" + json_text(in.flag() ? std::string(in.pick(kPatterns))
                                                            : in.text(10));
    case 5: return "\"format\":" + json_text(in.pick(kFormats));
    case 6: return "\"minimum\":" + number(in);
    case 7: return "\"maximum\":" + number(in);
    case 8: return "\"exclusiveMinimum\":" + number(in);
    case 9: return "\"exclusiveMaximum\":" + number(in);
    case 10: return "\"multipleOf\":" + number(in);
    case 11: return "\"enum\":[" + gen_instance(in, 3) + "," + gen_instance(in, 3) + "]";
    case 12: return "\"const\":" + gen_instance(in, 3);
    case 13: return "\"required\":[" + key(in) + (in.flag() ? "," + key(in) : "") + "]";
    case 14: return "\"minItems\":" + number(in);
    case 15: return "\"maxItems\":" + number(in);
    case 16: return "\"uniqueItems\":" + std::string(in.flag() ? "true" : "false");
    case 17: return "\"minProperties\":" + number(in);
    case 18: return "\"maxProperties\":" + number(in);
    case 19: return "\"x-spec\":\"S\",\"x-expected\":\"a thing\"";
    case 20: return "\"properties\":" + schema_map(in, depth);
    case 21: return "\"patternProperties\":{" + json_text(in.pick(kPatterns)) + ":" + gen_schema(in, depth + 1) + "}";
    case 22: return "\"additionalProperties\":" + gen_schema(in, depth + 1);
    case 23: return "\"items\":" + gen_schema(in, depth + 1);
    case 24: return "\"items\":" + schema_list(in, depth);
    case 25: return "\"additionalItems\":" + gen_schema(in, depth + 1);
    case 26: return "\"contains\":" + gen_schema(in, depth + 1);
    case 27: return "\"allOf\":" + schema_list(in, depth);
    case 28: return "\"anyOf\":" + schema_list(in, depth);
    case 29: return "\"oneOf\":" + schema_list(in, depth);
    case 30: return "\"not\":" + gen_schema(in, depth + 1);
    case 31: return "\"if\":" + gen_schema(in, depth + 1) + ",\"then\":" + gen_schema(in, depth + 1) + ",\"else\":" + gen_schema(in, depth + 1);
    case 32: return "\"dependencies\":{" + key(in) + ":" + (in.flag() ? "[" + key(in) + "]" : gen_schema(in, depth + 1)) + "}";
    case 33: return "\"propertyNames\":" + gen_schema(in, depth + 1);
    case 34: return "\"$ref\":\"#/definitions/" + std::string(in.flag() ? "d" : "e") + "\"";
    case 35: return "\"$ref\":\"#\"";
    case 36: return "\"x-did-you-mean\":{\"From\":\"From_Local\"}";
    case 37: return "\"$ref\":" + json_text(in.text(8));
    case 38: return "\"definitions\":{\"i\":{\"$id\":\"#i\"}}";  // a nested $id: the valijson path
    default: return "\"definitions\":{\"d\":" + gen_schema(in, depth + 1) + "}";
  }
}

std::string gen_schema(fuzz::ByteReader& in, int depth) {
  switch (in.in_range(0, 9)) {
    case 0: return in.flag() ? "true" : "false";
    default: {
      std::string out = "{";
      const int n = in.in_range(0, depth > 4 ? 2 : 4);
      for (int i = 0; i < n; ++i) out += (i ? "," : "") + keyword(in, depth);
      return out + "}";
    }
  }
}

using Found = std::vector<std::tuple<std::string, std::string, std::uint32_t, std::string>>;

Found found(const std::vector<schema::Violation>& violations) {
  Found out;
  for (const auto& v : violations) out.emplace_back(v.pointer, v.keyword, v.offset, v.message);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::ByteReader in(data, size);
  const bool items_root = in.flag();
  std::string schema_text = items_root ? "{\"type\":\"array\",\"items\":" + gen_schema(in, 1) + ",\"definitions\":{\"d\":" +
                                             gen_schema(in, 2) + ",\"e\":{}}}"
                                       : "{\"definitions\":{\"d\":" + gen_schema(in, 2) + ",\"e\":{}}," +
                                             keyword(in, 0) + "}";
  const bool case_insensitive = in.flag();
  std::string instance_text = items_root ? "[" + gen_instance(in, 1) + "," + gen_instance(in, 1) + "]" : gen_instance(in, 0);

  if (std::getenv("FLOWGUARD_FUZZ_PRINT")) std::fprintf(stderr, "schema: %s\ninstance: %s\n", schema_text.c_str(), instance_text.c_str());
  auto schema_doc = json::Document::parse(schema_text);
  FLOWGUARD_FUZZ_CHECK(schema_doc.ok());  // the generator writes JSON
  auto compiled = schema::CompiledSchema::compile(*schema_doc, "fuzz.schema.json");
  if (!compiled.ok()) return 0;
  auto instance_doc = json::Document::parse(instance_text);
  FLOWGUARD_FUZZ_CHECK(instance_doc.ok());
  const json::Value& root = instance_doc->root();

  schema::ValidateOptions options;
  options.case_insensitive_keys = case_insensitive;
  std::vector<schema::Violation> violations;
  compiled->validate(root, "", violations, options);
  const bool accepted = compiled->accepts(root, options);
  if (case_insensitive) {
    // accepts() is false on any key-case deviation, which validate() reports only outside
    // anyOf/oneOf/not (docs/hardening.md, "What the fuzzers found"): there, only one direction holds.
    if (accepted) FLOWGUARD_FUZZ_CHECK(violations.empty());
  } else {
    FLOWGUARD_FUZZ_CHECK(accepted == violations.empty());
  }

  schema::KeyShapeMemo memo;
  schema::ValidateOptions with_memo = options;
  with_memo.key_shapes = &memo;
  FLOWGUARD_FUZZ_CHECK(compiled->accepts(root, with_memo) == accepted);

  schema::ValidateOptions walk_all = options;
  walk_all.skip_valid_subtrees = false;
  std::vector<schema::Violation> all;
  compiled->validate(root, "", all, walk_all);
  FLOWGUARD_FUZZ_CHECK(found(all) == found(violations));

  if (auto items = compiled->root_items_schema(); items && root.is_array()) {
    schema::ValidateOptions skip = options;
    skip.skip_root_items = true;
    std::vector<schema::Violation> split;
    compiled->validate(root, "", split, skip);
    for (std::size_t i = 0; i < root.items().size(); ++i)
      items->validate(root.items()[i], "/" + std::to_string(i), split, options);
    FLOWGUARD_FUZZ_CHECK(found(split) == found(violations));
  }
  (void)compiled->declared_properties();
  (void)compiled->subschema("/definitions/d");
  return 0;
}
