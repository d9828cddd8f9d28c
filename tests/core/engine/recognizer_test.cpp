// VariantIndex gives match_variant's answer (the first variant whose discriminators hold) by one
// hash lookup, and scans as match_variant does when the variants read different pointers.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "recognizer.hpp"

using flowguard::engine::TypeEntry;

namespace {

TypeEntry variant(std::string name, std::vector<std::pair<std::string, std::string>> matches, bool loose = false) {
  TypeEntry t;
  t.name = std::move(name);
  t.case_insensitive_keys = loose;
  t.shape = FG_SHAPE_MESSAGE;
  for (auto& [pointer, equals] : matches) t.matches.push_back({pointer, equals});
  return t;
}

flowguard::json::Document parse(const std::string& text) {
  auto doc = flowguard::json::Document::parse(text);
  REQUIRE(doc.ok());
  return std::move(doc).value();
}

}  // namespace

TEST_CASE("VariantIndex matches as match_variant does") {
  const std::string id = "/CommonBlock/S0/interfaceID", event = "/CommonBlock/S0/eventCode";
  for (const bool loose : {false, true}) {
    const std::vector<TypeEntry> entries = {
        variant("a", {{id, "IF-001"}, {event, "X"}}, loose),
        variant("b", {{id, "IF-001"}, {event, "Y"}}, loose),
        variant("b-again", {{id, "IF-001"}, {event, "Y"}}, loose),  // the same values: "b" wins
        variant("empty-event", {{id, "IF-002"}, {event, ""}}, loose),  // "" also matches an absent field
        variant("joined", {{id, "IF-00"}, {event, "1X"}}, loose),  // values are not just concatenated
    };
    std::vector<const TypeEntry*> variants;
    for (const auto& e : entries) variants.push_back(&e);
    const flowguard::engine::VariantIndex index(variants);
    for (const char* message : {
             R"({"CommonBlock": {"S0": {"interfaceID": "IF-001", "eventCode": "X"}}})",
             R"({"CommonBlock": {"S0": {"interfaceID": "IF-001", "eventCode": "Y"}}})",
             R"({"CommonBlock": {"S0": {"interfaceID": "IF-002"}}})",
             R"({"CommonBlock": {"S0": {"interfaceID": "IF-002", "eventCode": 7}}})",
             R"({"CommonBlock": {"S0": {"interfaceID": "IF-00", "eventCode": "1X"}}})",
             R"({"commonblock": {"s0": {"INTERFACEID": "IF-001", "eventcode": "X"}}})",
             R"({"CommonBlock": {"S0": {"interfaceID": "IF-003", "eventCode": "X"}}})",
             R"({"CommonBlock": []})", R"([1, 2])", R"("text")"}) {
      INFO(message << (loose ? " (keys ignoring case)" : ""));
      const auto doc = parse(message);
      const TypeEntry* expected = flowguard::engine::match_variant(doc.root(), variants);
      CHECK(index.match(doc.root()) == expected);
    }
    const auto b = parse(R"({"CommonBlock": {"S0": {"interfaceID": "IF-001", "eventCode": "Y"}}})");
    REQUIRE(index.match(b.root()));
    CHECK(index.match(b.root())->name == "b");
  }
}

TEST_CASE("VariantIndex scans when variants read different discriminators") {
  const std::vector<TypeEntry> entries = {
      variant("by-id", {{"/id", "1"}}),
      variant("by-kind", {{"/kind", "k"}}),
  };
  std::vector<const TypeEntry*> variants{&entries[0], &entries[1]};
  const flowguard::engine::VariantIndex index(variants);
  const auto kind = parse(R"({"kind": "k"})");
  REQUIRE(index.match(kind.root()));
  CHECK(index.match(kind.root())->name == "by-kind");
  const auto both = parse(R"({"id": "1", "kind": "k"})");
  CHECK(index.match(both.root())->name == "by-id");
}
