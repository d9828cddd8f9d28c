// The market registry loader: YAML and schema errors with line:col, every consistency check,
// the shipped default channel table, and merging it under a registry's own channels.
#include <catch2/catch.hpp>

#include <set>
#include <string>

#include "flowguard/json/document.hpp"
#include "flowguard/registry/registry.hpp"
#include "flowguard/config/yaml_bounds.hpp"
#include "support.hpp"

using namespace registry_test;
namespace reg = flowguard::registry;
using flowguard::json::Value;

namespace {

const std::string kHeader = "format: flowguard-registry/1\n";

// Participants most tests need (lines 2-13 of every fixture built with it).
const std::string kParticipants =
    "participants:\n"                                                         // 2
    "  - {dip_id: 2300000018, dip_role: SUP, effective_from: 2024-01-01}\n"   // 3
    "  - {dip_id: 2200000000, dip_role: REGS, effective_from: 2024-01-01}\n"  // 4
    "  - {dip_id: 1400000012, dip_role: SDS, effective_from: 2024-01-01}\n"   // 5
    "  - {dip_id: 1500000023, dip_role: MDR, effective_from: 2024-01-01}\n"   // 6
    "  - {dip_id: 1200000049, dip_role: MSS, effective_from: 2024-01-01}\n"   // 7
    "  - {dip_id: 9000000002, dip_role: DCP, effective_from: 2024-01-01}\n";  // 8

reg::LoadOutcome load_text(const std::string& name, const std::string& text) {
  return reg::load(scratch(name, text), schema_file());
}

std::string all(const reg::LoadOutcome& outcome) {
  std::string out;
  for (const auto& d : outcome.errors) out += d.to_string() + "\n";
  return out;
}

// The one error of a load, checked for its place and wording.
void expect_one_error(const reg::LoadOutcome& outcome, std::uint32_t line, std::uint32_t column, const std::string& words) {
  INFO(all(outcome));
  REQUIRE(outcome.errors.size() == 1);
  CHECK(outcome.errors[0].line == line);
  if (column) CHECK(outcome.errors[0].column == column);
  CHECK_THAT(outcome.errors[0].message, Catch::Contains(words));
  CHECK_THAT(outcome.errors[0].message, Catch::Contains("expected"));
  CHECK_FALSE(outcome.registry);
}

const Value& at(const Value& root, const std::string& pointer) {
  const Value* v = flowguard::json::resolve_pointer(root, pointer);
  INFO(pointer);
  REQUIRE(v);
  return *v;
}

}  // namespace

TEST_CASE("registry: the example loads and has the documented shape") {
  const auto outcome = reg::load(source_dir() / "examples/registry/example.yaml", schema_file());
  INFO(all(outcome));
  REQUIRE(outcome.errors.empty());
  REQUIRE(outcome.registry);
  const Value& root = outcome.registry->root();
  CHECK(at(root, "/format").as_string() == "flowguard-registry/1");
  CHECK(at(root, "/complete").as_bool());
  CHECK(at(root, "/participants/2300000018/dip_role").as_string() == "SUP");
  CHECK(at(root, "/participants/2300000018/dcp/0/dip_id").as_string() == "9000000002");
  CHECK(at(root, "/participants/1200000049/dcp").size() == 2);
  // 2024-08-08 is BST: midnight UK time is 23:00 UTC the day before.
  CHECK(at(root, "/participants/2300000018/from").as_double() == 1723071600.0);
  CHECK(at(root, "/participants/2300000018/effective_from").as_string() == "2024-08-08");
  // Open-ended windows end at 10000-01-01T00:00Z.
  CHECK(at(root, "/participants/2200000000/to").as_double() == 253402300800.0);
  CHECK(at(root, "/channels/IF-006/origin").as_string() == "registry");
  CHECK(at(root, "/channels/IF-031/origin").as_string() == "default");
  CHECK(at(root, "/channels/IF-031/ingress/0").as_string() == "SUP");
  CHECK(at(root, "/channels/IF-001/roles_unknown").as_bool());
  CHECK(at(root, "/opt_outs/1500000024/0/event_code").as_string() == "[MeterInstall]");
  CHECK(at(root, "/opt_outs/1500000024/0/interface").as_string() == "IF-006");
  CHECK(at(root, "/pairings/1400000012/0/mdr").as_string() == "1500000023");
  CHECK(at(root, "/opt_out_catalogue/0/roles").size() == 2);
}

TEST_CASE("registry: load_registry joins every error as file:line:col lines") {
  const auto file = scratch("two-errors.yaml", kHeader + kParticipants +
                                                   "  - {dip_id: 2300000018, dip_role: SUP, effective_from: 2024-01-01}\n"
                                                   "  - {dip_id: 2200000001, dip_role: REGS, effective_from: 2024-02-30}\n");
  const auto result = reg::load_registry(file, schema_file());
  REQUIRE_FALSE(result.ok());
  CHECK_THAT(result.error().message, Catch::Contains(file.string() + ":9:"));
  CHECK_THAT(result.error().message, Catch::Contains(file.string() + ":10:"));
  CHECK_THAT(result.error().message, Catch::Contains("\n"));
}

TEST_CASE("registry: YAML syntax errors name line and column") {
  // yaml-cpp notices an unclosed flow list where the input ends.
  expect_one_error(load_text("syntax.yaml", kHeader + "participants:\n  - dip_id: [1, 2\n"), 4, 1, "YAML syntax error");
  expect_one_error(load_text("mapvalue.yaml", kHeader + "description: a: b\n"), 2, 15, "YAML syntax error");
}

TEST_CASE("registry: a stray comma is a syntax error, not a parser that never ends (fuzz/regressions/registry)") {
  // yaml-cpp 0.7's LoadAll returned empty documents forever on these, growing until bad_alloc.
  for (const std::string text : {std::string(",3"), std::string(","), kHeader + ",\n", std::string(",3\xd2" "3")}) {
    const auto outcome = load_text("comma.yaml", text);
    INFO(text << "\n" << all(outcome));
    REQUIRE(outcome.errors.size() == 1);
    CHECK_THAT(outcome.errors[0].message, Catch::Contains("YAML syntax error"));
    CHECK(outcome.errors[0].line >= 1);
    CHECK_FALSE(outcome.registry);
  }
  // A real second document is still named as one, at its '---'.
  expect_one_error(load_text("two.yaml", kHeader + "---\n" + kHeader), 2, 1, "a second YAML document");
}

TEST_CASE("registry: a key given twice in one mapping is an error at the second") {
  expect_one_error(load_text("dupkey.yaml", kHeader + "complete: true\ncomplete: false\n"), 3, 1, "appears twice");
}

TEST_CASE("registry: schema errors point at the offending YAML value") {
  SECTION("a role code in lower case") {
    expect_one_error(load_text("role.yaml", kHeader + "participants:\n  - dip_id: 2300000018\n    dip_role: sup\n    effective_from: 2024-01-01\n"),
                     4, 15, "DIP role code");
  }
  SECTION("a DIP ID of 9 digits") {
    expect_one_error(load_text("id.yaml", kHeader + "participants:\n  - {dip_id: 230000001, dip_role: SUP, effective_from: 2024-01-01}\n"),
                     3, 14, "10 digits");
  }
  SECTION("an unknown field") {
    const auto outcome = load_text("unknown.yaml", kHeader + "participants:\n  - dip_id: 2300000018\n    dip_role: SUP\n    efective_from: 2024-01-01\n");
    INFO(all(outcome));
    REQUIRE_FALSE(outcome.errors.empty());
    bool found = false;
    for (const auto& e : outcome.errors) found = found || (e.line == 5 && e.message.find("efective_from") != std::string::npos);
    CHECK(found);
  }
  SECTION("an unquoted event code is a YAML list") {
    expect_one_error(load_text("ec.yaml", kHeader + kParticipants +
                                              "opt_outs:\n  - {dip_id: 1500000023, interface: IF-006, event_code: [MeterInstall], effective_from: 2025-01-01}\n"),
                     10, 0, "event_code");
  }
  SECTION("a wrong format marker") {
    expect_one_error(load_text("format.yaml", "format: registry/2\n"), 1, 9, "flowguard-registry/1");
  }
}

TEST_CASE("registry: consistency checks") {
  SECTION("a DIP ID listed twice") {
    expect_one_error(load_text("dup-id.yaml", kHeader + kParticipants + "  - {dip_id: 2300000018, dip_role: SUP, effective_from: 2024-01-01}\n"),
                     9, 14, "listed twice (first at line 3)");
  }
  SECTION("a window that ends before it starts") {
    expect_one_error(load_text("window.yaml", kHeader + kParticipants +
                                                  "  - {dip_id: 2300000019, dip_role: SUP, effective_from: 2025-01-02, effective_to: 2025-01-01}\n"),
                     9, 0, "is before effective_from");
  }
  SECTION("a one-day window is fine") {
    const auto outcome = load_text("oneday.yaml", kHeader + kParticipants +
                                                      "  - {dip_id: 2300000019, dip_role: SUP, effective_from: 2025-01-02, effective_to: 2025-01-02}\n");
    INFO(all(outcome));
    CHECK(outcome.errors.empty());
  }
  SECTION("a date that does not exist") {
    expect_one_error(load_text("date.yaml", kHeader + kParticipants + "  - {dip_id: 2300000019, dip_role: SUP, effective_from: 2025-02-29}\n"),
                     9, 0, "not a real date");
  }
  SECTION("a DCP nomination of an unknown DIP ID") {
    expect_one_error(load_text("dcp-unknown.yaml", kHeader + kParticipants +
                                                       "  - {dip_id: 2300000019, dip_role: SUP, effective_from: 2024-01-01,\n"
                                                       "     dcp: {dip_id: 9000000099, effective_from: 2024-01-01}}\n"),
                     10, 0, "is not a participant");
  }
  SECTION("a DCP nomination of a DIP ID that is not a DCP") {
    expect_one_error(load_text("dcp-role.yaml", kHeader + kParticipants +
                                                    "  - {dip_id: 2300000019, dip_role: SUP, effective_from: 2024-01-01,\n"
                                                    "     dcp: {dip_id: 2200000000, effective_from: 2024-01-01}}\n"),
                     10, 0, "has DIP role code REGS");
  }
  SECTION("one DCP DIP ID nominated for two DIP IDs") {
    expect_one_error(load_text("dcp-twice.yaml", kHeader + kParticipants +
                                                     "  - {dip_id: 2300000019, dip_role: SUP, effective_from: 2024-01-01, dcp: {dip_id: 9000000002, effective_from: 2024-01-01}}\n"
                                                     "  - {dip_id: 2300000020, dip_role: SUP, effective_from: 2024-01-01, dcp: {dip_id: 9000000002, effective_from: 2024-01-01}}\n"),
                     10, 0, "one-to-one");
  }
  SECTION("overlapping DCP nominations") {
    expect_one_error(load_text("dcp-overlap.yaml", kHeader + kParticipants +
                                                       "  - dip_id: 9000000003\n    dip_role: DCP\n    effective_from: 2024-01-01\n"
                                                       "  - dip_id: 2300000019\n    dip_role: SUP\n    effective_from: 2024-01-01\n    dcp:\n"
                                                       "      - {dip_id: 9000000002, effective_from: 2024-01-01, effective_to: 2024-06-30}\n"
                                                       "      - {dip_id: 9000000003, effective_from: 2024-06-30}\n"),
                     17, 0, "overlap");
  }
  const std::string catalogue =
      "opt_out_catalogue:\n"                                                          // 9
      "  - {interface: IF-006, event_code: \"[MeterInstall]\", roles: [MDR]}\n"      // 10
      "opt_outs:\n";                                                                  // 11
  SECTION("an allowed opt-out (event code without brackets)") {
    const auto outcome = load_text("opt-ok.yaml", kHeader + kParticipants + catalogue +
                                                      "  - {dip_id: 1500000023, interface: IF-006, event_code: MeterInstall, effective_from: 2025-03-07 10:40}\n");
    INFO(all(outcome));
    REQUIRE(outcome.errors.empty());
    CHECK(at(outcome.registry->root(), "/opt_outs/1500000023/0/event_code").as_string() == "[MeterInstall]");
  }
  SECTION("a second opt-out for the same DIP ID, interface and event code") {
    expect_one_error(load_text("opt-dup.yaml", kHeader + kParticipants + catalogue +
                                                   "  - {dip_id: 1500000023, interface: IF-006, event_code: \"[MeterInstall]\", effective_from: 2025-01-01, effective_to: 2025-02-01}\n"
                                                   "  - {dip_id: 1500000023, interface: IF-006, event_code: \"[MeterInstall]\", effective_from: 2025-03-01}\n"),
                     13, 5, "at most one opt-out preference per DIP ID, interface and event code");
  }
  SECTION("an opt-out the catalogue forbids for the role") {
    expect_one_error(load_text("opt-role.yaml", kHeader + kParticipants + catalogue +
                                                    "  - {dip_id: 1200000049, interface: IF-006, event_code: \"[MeterInstall]\", effective_from: 2025-01-01}\n"),
                     12, 5, "forbidden by the opt-out catalogue: DIP role code MSS may not opt out");
  }
  SECTION("an opt-out the catalogue has no entry for") {
    expect_one_error(load_text("opt-none.yaml", kHeader + kParticipants + catalogue +
                                                    "  - {dip_id: 1500000023, interface: IF-006, event_code: \"[MeterRemoval]\", effective_from: 2025-01-01}\n"),
                     12, 5, "forbidden by the opt-out catalogue: it has no entry");
  }
  SECTION("an opt-out for an event code the interface does not have") {
    expect_one_error(load_text("opt-ec.yaml", kHeader + kParticipants + catalogue +
                                                  "  - {dip_id: 1500000023, interface: IF-006, event_code: \"[MSApp]\", effective_from: 2025-01-01}\n"),
                     12, 0, "has no event code [MSApp]");
  }
  SECTION("an opt-out of a DIP ID that is not a participant") {
    expect_one_error(load_text("opt-who.yaml", kHeader + kParticipants + catalogue +
                                                   "  - {dip_id: 1500000099, interface: IF-006, event_code: \"[MeterInstall]\", effective_from: 2025-01-01}\n"),
                     12, 0, "is not a participant");
  }
  SECTION("a catalogue entry given twice") {
    expect_one_error(load_text("cat-dup.yaml", kHeader + kParticipants + catalogue.substr(0, catalogue.rfind("opt_outs")) +
                                                   "  - {interface: IF-006, event_code: MeterInstall, roles: [SDS]}\n"),
                     11, 5, "twice");
  }
  SECTION("pairings need an SDS and an MDR") {
    const auto outcome = load_text("pair.yaml", kHeader + kParticipants +
                                                    "pairings:\n"
                                                    "  - {sds: 1400000012, mdr: 1500000023, effective_from: 2025-01-01}\n"
                                                    "  - {sds: 1500000023, mdr: 1400000012, effective_from: 2025-01-01}\n"
                                                    "  - {sds: 1400000099, mdr: 1500000023, effective_from: 2025-01-01}\n");
    INFO(all(outcome));
    REQUIRE(outcome.errors.size() == 3);
    CHECK(outcome.errors[0].line == 11);
    CHECK_THAT(outcome.errors[0].message, Catch::Contains("has DIP role code MDR, expected the DIP ID of a participant with DIP role code SDS"));
    CHECK(outcome.errors[1].line == 11);
    CHECK_THAT(outcome.errors[1].message, Catch::Contains("DIP role code MDR"));
    CHECK(outcome.errors[2].line == 12);
    CHECK_THAT(outcome.errors[2].message, Catch::Contains("is not a participant"));
  }
  SECTION("a pairing given twice") {
    expect_one_error(load_text("pair-dup.yaml", kHeader + kParticipants +
                                                    "pairings:\n"
                                                    "  - {sds: 1400000012, mdr: 1500000023, effective_from: 2025-01-01}\n"
                                                    "  - {sds: 1400000012, mdr: 1500000023, effective_from: 2025-06-01}\n"),
                     11, 5, "twice");
  }
}

TEST_CASE("registry: the default channel table covers every interface of schemas/dip/index.json") {
  auto result = reg::load_default_registry(source_dir());
  INFO((result.ok() ? std::string() : result.error().message));
  REQUIRE(result.ok());
  const Value& root = (*result)->root();
  CHECK(at(root, "/participants").size() == 0);
  const Value& channels = at(root, "/channels");

  auto index = flowguard::json::Document::parse(slurp(source_dir() / "schemas/dip/index.json"));
  REQUIRE(index.ok());
  std::set<std::string> interfaces;
  for (const auto& v : index->root().find("variants")->items()) {
    const std::string iface(v.find("interface")->as_string());
    const std::string code(v.find("eventCode")->as_string());
    interfaces.insert(iface);
    const Value* ch = channels.find(iface);
    INFO(iface << " " << code);
    REQUIRE(ch);
    bool listed = false;
    for (const auto& e : ch->find("event_codes")->items()) listed = listed || e.as_string() == code;
    CHECK(listed);
  }
  CHECK(channels.size() == interfaces.size());
  std::size_t known = 0;
  for (const auto& m : channels.members()) {
    INFO(m.key);
    CHECK(m.value.find("source"));
    CHECK(m.value.find("origin")->as_string() == "default");
    const bool unknown = m.value.find("roles_unknown")->as_bool();
    CHECK(unknown == (m.value.find("ingress")->size() == 0));
    if (!unknown) ++known;
  }
  CHECK(known == 7);  // the guide's Message Channels table
  CHECK(at(root, "/channels/IF-024/egress").size() == 4);
}

TEST_CASE("registry: a registry without channels gets the default table and its own channels win") {
  SECTION("no channels") {
    const auto outcome = load_text("no-channels.yaml", kHeader + kParticipants);
    INFO(all(outcome));
    REQUIRE(outcome.errors.empty());
    const Value& root = outcome.registry->root();
    CHECK(at(root, "/channels").size() == 58);
    CHECK(at(root, "/channels/IF-027/egress/0").as_string() == "SDS");
    CHECK(root.find("default_channels"));
  }
  SECTION("one channel overridden") {
    const auto outcome = load_text("override.yaml", kHeader + kParticipants +
                                                        "channels:\n  IF-031:\n    ingress: [SUP, ISD]\n    egress: [REGS]\n");
    INFO(all(outcome));
    REQUIRE(outcome.errors.empty());
    const Value& root = outcome.registry->root();
    CHECK(at(root, "/channels").size() == 58);
    CHECK(at(root, "/channels/IF-031/ingress").size() == 2);
    CHECK(at(root, "/channels/IF-031/origin").as_string() == "registry");
    CHECK(at(root, "/channels/IF-032/origin").as_string() == "default");
  }
  SECTION("no merge asked: the registry's channels alone") {
    reg::LoadOptions options;
    options.merge_default_channels = false;
    const auto outcome = reg::load(scratch("only.yaml", kHeader + "channels:\n  IF-031: {ingress: [SUP], egress: [REGS]}\n"),
                                   schema_file(), options);
    INFO(all(outcome));
    REQUIRE(outcome.errors.empty());
    CHECK(at(outcome.registry->root(), "/channels").size() == 1);
  }
  SECTION("no channels and no default table") {
    reg::LoadOptions options;
    options.default_channels = source_dir() / "does-not-exist.yaml";
    const auto outcome = reg::load(scratch("nothing.yaml", kHeader), schema_file(), options);
    REQUIRE(outcome.errors.size() == 1);
    CHECK_THAT(outcome.errors[0].message, Catch::Contains("no `channels`"));
  }
  SECTION("--registry default and --registry FILE") {
    auto d = reg::load_registry_option("default", source_dir());
    REQUIRE(d.ok());
    auto f = reg::load_registry_option((source_dir() / "examples/registry/example.yaml").string(), source_dir());
    REQUIRE(f.ok());
    auto missing = reg::load_registry_option("/nonexistent/registry.yaml", source_dir());
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().code == flowguard::ErrorCode::kIo);
  }
}

TEST_CASE("registry: instants are UK local unless an offset is given") {
  CHECK(reg::parse_instant("2025-01-15") == 1736899200);                   // GMT
  CHECK(reg::parse_instant("2025-07-15") == 1752534000);                   // BST: 23:00Z the day before
  CHECK(reg::parse_instant("2025-07-15 10:40") == 1752572400);             // 09:40Z
  CHECK(reg::parse_instant("2025-07-15T10:40:00+00:00") == 1752576000);
  CHECK(reg::parse_instant("2025-07-15T10:40:00+01:00") == 1752572400);
  CHECK(reg::parse_instant("2025-07-15T10:40:00Z") == 1752576000);
  CHECK(reg::parse_window_end("2025-01-15") == 1736985600);                // start of the 16th
  CHECK_FALSE(reg::parse_instant("2025-02-29"));
  CHECK_FALSE(reg::parse_instant("2025-01-15T10:40"));
  CHECK_FALSE(reg::parse_instant("2025-01-15 24:00"));
  CHECK_FALSE(reg::parse_instant("15-01-2025"));
}

TEST_CASE("registry: aliases that multiply the document (billion laughs) are an error, not gigabytes") {
  // Nine aliases of nine aliases ...: 9^9 nodes when walked, from a few hundred bytes.
  std::string yaml = kHeader + "a0: &a0 [x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i <= 9; ++i) {
    const std::string prev = "*a" + std::to_string(i - 1);
    yaml += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [" + prev;
    for (int k = 1; k < 9; ++k) yaml += ", " + prev;
    yaml += "]\n";
  }
  const auto outcome = load_text("laughs.yaml", yaml);
  INFO(all(outcome));
  REQUIRE(outcome.errors.size() == 1);
  CHECK(outcome.errors[0].line >= 2);
  CHECK(outcome.errors[0].column >= 1);
  CHECK_THAT(outcome.errors[0].message, Catch::Contains("expands to more than"));
  CHECK_THAT(outcome.errors[0].message, Catch::Contains("expected"));
  CHECK_FALSE(outcome.registry);
}

TEST_CASE("registry: the YAML node bound counts aliases each time and stops just past the limit") {
  const YAML::Node plain = YAML::Load("[a, [b, c], {d: e}]");
  CHECK(flowguard::config::check_yaml_nodes(plain, 100).ok);
  CHECK(flowguard::config::check_yaml_nodes(plain, 100).nodes == 8);  // list, a, list, b, c, map, d, e
  const YAML::Node shared = YAML::Load("x: &x [1, 2, 3]\ny: [*x, *x, *x]\n");
  CHECK(flowguard::config::check_yaml_nodes(shared, 100).nodes == 2 + 4 + 2 + 3 * 4);
  const auto over = flowguard::config::check_yaml_nodes(shared, 10);
  CHECK_FALSE(over.ok);
  CHECK(over.nodes == 11);
}
