// Helpers shared by the schema tests: parse a JSON text, compile a schema text (fully compiled,
// not delegated to valijson).
#pragma once

#include <catch2/catch.hpp>

#include <string>

#include "flowguard/json/document.hpp"
#include "flowguard/schema/validator.hpp"

namespace fgschema {

inline flowguard::json::Document parse(const std::string& text) {
  auto doc = flowguard::json::Document::parse(text);
  REQUIRE(doc.ok());
  return std::move(doc).value();
}

inline flowguard::schema::CompiledSchema compile(const std::string& text) {
  flowguard::json::Document doc = parse(text);
  auto schema = flowguard::schema::CompiledSchema::compile(doc, "inline.schema.json");
  if (!schema.ok()) FAIL(schema.error().message);
  REQUIRE(schema.value().fully_compiled());
  return std::move(schema).value();
}

}  // namespace fgschema
