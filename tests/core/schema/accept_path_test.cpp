// The accept path's shortcuts for common leaves (a boolean; strings from an enum; strings with
// lengths and a pattern) must answer exactly as the full check does: accepts() is true exactly when
// validate() finds nothing, for every value kind, non-ASCII and escaped strings included.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "flowguard/json/document.hpp"
#include "flowguard/schema/validator.hpp"
#include "support.hpp"

using fgschema::compile;
using fgschema::parse;
using flowguard::schema::KeyShapeMemo;
using flowguard::schema::ValidateOptions;
using flowguard::schema::Violation;

TEST_CASE("leaf shortcuts on the accept path agree with validate()", "[schema][accept]") {
  const char* leaves[] = {
      R"({"type": "boolean"})",
      R"({"type": "string", "enum": ["True", "False", ""]})",
      R"({"enum": ["Add", "Remove"]})",
      R"({"type": "string", "minLength": 10, "maxLength": 10, "pattern": "^[0-9]{2}-[0-9]{2}-[0-9]{4}$"})",
      R"({"type": "string", "maxLength": 13, "pattern": "^([0-9]{13})?$"})",
      R"({"type": "string", "minLength": 2, "maxLength": 3})",
      R"({"type": "string", "pattern": "^[A-Za-z0-9 _/-]*$"})",
      R"({"type": "string"})",
      R"({"type": ["string", "null"], "maxLength": 3})",
      R"({"type": "string", "enum": ["a", "b"], "maxLength": 1})",
  };
  const std::string values = R"([
    true, false, null, 0, 1.5, "", "True", "False", "true", "Add", "Remove", "add",
    "18-03-2024", "18-03-202", "18-03-20245", "1x-03-2024", "1000000000003", "100000000000", "12",
    "abc", "abcd", "\u00e9\u00e9", "\u00e9\u00e9\u00e9\u00e9", "caf\u00e9", "\u0041dd", "a b/c_d-e", "a+b",
    "a", "b", "ab", [], {}, ["a"], {"a": 1}
  ])";
  const auto doc = parse(values);
  for (const char* leaf : leaves) {
    // The leaf as a property, where accept_value() takes the shortcut.
    const auto schema = compile(std::string(R"({"type": "object", "properties": {"v": )") + leaf + "}}");
    INFO("leaf " << leaf);
    KeyShapeMemo memo;
    // One record per value, as a batch, so records share a key shape too.
    std::string batch = "[";
    for (std::size_t i = 0; i < doc.root().items().size(); ++i) {
      const auto& v = doc.root().items()[i];
      const std::size_t end = i + 1 < doc.root().items().size() ? doc.root().items()[i + 1].offset() : doc.source().rfind(']');
      std::string text(doc.source().substr(v.offset(), end - v.offset()));
      while (!text.empty() && (text.back() == ',' || text.back() == ' ' || text.back() == '\n')) text.pop_back();
      batch += (i ? ", " : "") + std::string("{\"v\": ") + text + "}";
    }
    batch += "]";
    const auto records = parse(batch);
    for (const bool with_memo : {false, true}) {
      ValidateOptions how;
      if (with_memo) how.key_shapes = &memo;
      for (const auto& record : records.root().items()) {
        std::vector<Violation> found;
        schema.validate(record, "", found);
        INFO("record " << records.source().substr(record.offset(), 40) << (with_memo ? " (memo)" : ""));
        CHECK(schema.accepts(record, how) == found.empty());
      }
    }
  }
}
