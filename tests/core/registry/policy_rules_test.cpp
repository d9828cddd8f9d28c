// The DIP policy and flow rules (rules/dip/policy*.lua, rules/dip/flow*.lua) against the
// tests/corpus/dip-policy corpus, through the rule host with the registry as fg.data.registry, the
// way the engine will run them with `--registry` (and `--flows`). Also: every corpus message is
// valid against its schema, so the expected findings are the rules' alone; and without a registry
// (or without --flows) the rules say nothing.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "flowguard/json/document.hpp"
#include "flowguard/lua/rule_host.hpp"
#include "flowguard/registry/registry.hpp"
#include "flowguard/schema/validator.hpp"
#include "support.hpp"

using namespace registry_test;
namespace json = flowguard::json;

namespace {

using Key = std::tuple<std::string, std::string, std::string>;  // rule, severity, path

const fs::path kCorpus = source_dir() / "tests/corpus/dip-policy";

struct Message {
  fs::path file;
  json::Document doc;
  json::Document expected;
  std::string type;
  std::string timestamp;
};

Message read_message(const fs::path& file) {
  Message m;
  m.file = file;
  auto doc = json::Document::parse(slurp(file));
  INFO(file.string());
  REQUIRE(doc.ok());
  m.doc = std::move(doc).value();
  fs::path expected_file = file;
  expected_file.replace_extension(".expected.json");
  auto expected = json::Document::parse(slurp(expected_file));
  REQUIRE(expected.ok());
  m.expected = std::move(expected).value();
  m.type = std::string(m.expected.root().find("type")->as_string());
  m.timestamp = std::string(json::resolve_pointer(m.doc.root(), "/CommonBlock/S1/senderTimestamp")->as_string());
  return m;
}

std::vector<Message> read_folder(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const auto name = entry.path().filename().string();
    if (entry.path().extension() == ".json" && name.find(".expected.") == std::string::npos) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  std::vector<Message> out;
  for (const auto& f : files) out.push_back(read_message(f));
  return out;
}

std::shared_ptr<const json::Document> registry_for(const Message& m) {
  const auto relative = std::string(m.expected.root().find("registry")->as_string());
  auto reg = flowguard::registry::load_registry(m.file.parent_path() / relative, schema_file());
  INFO((reg.ok() ? std::string() : reg.error().message));
  REQUIRE(reg.ok());
  return *reg;
}

std::unique_ptr<flowguard::lua::RuleHost> dip_rules() {
  auto host = flowguard::lua::RuleHost::create();
  REQUIRE(host.ok());
  auto errors = (*host)->load_directory(source_dir() / "rules/dip");
  std::string all;
  for (const auto& e : errors) all += e.message + "\n";
  INFO(all);
  REQUIRE(errors.empty());
  return std::move(host).value();
}

std::vector<Key> run(flowguard::lua::RuleHost& host, const Message& m, std::string* messages = nullptr) {
  std::vector<Key> got;
  const json::Value* records[] = {&m.doc.root()};
  for (std::size_t i = 0; i < host.rules().size(); ++i) {
    const auto& rule = host.rules()[i];
    if (!rule.applies_to(m.type) || !rule.has_document) continue;
    // Policy and flow rules only: message-level rules (some remember a run's earlier documents)
    // are the DIP corpus's business.
    if (rule.id.rfind("DIP-POLICY", 0) != 0 && rule.id.rfind("DIP-FLOW", 0) != 0) continue;
    std::vector<flowguard::lua::RuleReport> out;
    auto status = host.run_document(i, records, m.doc.root(), out);
    INFO(m.file.string());
    REQUIRE(status.ok());
    for (const auto& r : out) {
      const auto severity = r.severity.value_or(rule.severity);
      got.emplace_back(rule.id, flowguard::to_string(severity), r.pointer.value_or(""));
      if (messages) *messages += "    " + rule.id + ": " + r.message + "\n";
    }
  }
  std::sort(got.begin(), got.end());
  return got;
}

std::vector<Key> expected_of(const Message& m) {
  std::vector<Key> want;
  for (const auto& f : m.expected.root().find("findings")->items())
    want.emplace_back(std::string(f.find("rule")->as_string()), std::string(f.find("severity")->as_string()),
                      std::string(f.find("path")->as_string()));
  std::sort(want.begin(), want.end());
  return want;
}

std::string show(const std::vector<Key>& keys) {
  std::string out;
  for (const auto& [rule, severity, path] : keys) out += "    " + severity + " " + rule + " " + path + "\n";
  return out.empty() ? "    (none)\n" : out;
}

std::shared_ptr<const json::Document> options_flows() {
  auto doc = json::Document::parse(R"({"flows": true})");
  REQUIRE(doc.ok());
  return std::make_shared<const json::Document>(std::move(doc).value());
}

void expect_schema_valid(const Message& m) {
  const std::string type = m.type.substr(4);  // "IF-031.MSApp"
  const fs::path schema_path = source_dir() / "schemas/dip" / type.substr(0, type.find('.')) /
                               (type.substr(type.find('.') + 1) + ".schema.json");
  auto schema = flowguard::schema::CompiledSchema::load_file(schema_path);
  REQUIRE(schema.ok());
  std::vector<flowguard::schema::Violation> violations;
  schema->validate(m.doc.root(), "", violations);
  std::string all;
  for (const auto& v : violations) all += v.pointer + ": " + v.message + "\n";
  INFO(m.file.string() << "\n" << all);
  CHECK(violations.empty());
}

}  // namespace

TEST_CASE("dip policy rules: each corpus message gives exactly its expected findings") {
  const auto messages = read_folder(kCorpus);
  REQUIRE(messages.size() >= 17);
  auto host = dip_rules();
  std::set<std::string> rules_refusing, rules_silent;
  for (const auto& m : messages) {
    expect_schema_valid(m);
    host->set_data("registry", registry_for(m));
    std::string text;
    const auto got = run(*host, m, &text);
    const auto want = expected_of(m);
    INFO(m.file.string() << "\nexpected:\n" << show(want) << "actual:\n" << show(got) << "messages:\n" << text);
    CHECK(got == want);
    for (const auto& k : want) rules_refusing.insert(std::get<0>(k));
    if (want.empty()) rules_silent.insert(m.file.stem().string());
  }
  // Every policy rule is exercised refusing (or, for routing, dropping) at least once.
  for (const char* id : {"DIP-POLICY-SENDER-ROLE", "DIP-POLICY-RECIPIENT-ROLE", "DIP-POLICY-SENDER-DIPID",
                         "DIP-POLICY-RECIPIENT-DIPID", "DIP-POLICY-DCP", "DIP-POLICY-PAIRING", "DIP-POLICY-ROUTING"})
    CHECK(rules_refusing.count(id) == 1);
  CHECK(rules_silent.size() >= 5);
}

TEST_CASE("dip policy rules: the routing finding lists the resolved recipients and why any was dropped") {
  auto host = dip_rules();
  const auto m = read_message(kCorpus / "routing-opt-out.json");
  host->set_data("registry", registry_for(m));
  std::string text;
  run(*host, m, &text);
  CHECK_THAT(text, Catch::Contains("primary 2200000000; secondary 1500000023; dropped 1500000024 (opted out of IF-006 [MeterInstall] 2025-03-07 10:40 to 2026-03-07 10:40); 1500000025 (DIP ID is effective 2024-01-01 to 2025-01-31"));
}

TEST_CASE("dip policy rules: without a registry only message-level checks run") {
  auto host = dip_rules();
  for (const auto& m : read_folder(kCorpus)) {
    INFO(m.file.string());
    CHECK(run(*host, m).empty());
  }
  // The default channel table alone: channel eligibility still applies (IF-031 from an MSS).
  auto reg = flowguard::registry::load_default_registry(source_dir());
  REQUIRE(reg.ok());
  host->set_data("registry", *reg);
  const auto refused = read_message(kCorpus / "sender-role-refused.json");
  CHECK(run(*host, refused) == std::vector<Key>{{"DIP-POLICY-SENDER-ROLE", "error", "/CommonBlock/S1/senderRoleID"}});
  // ... but DIP IDs, DCPs, pairings and opt-outs need participants.
  for (const char* name : {"sender-dipid-unknown.json", "dcp-refused.json", "pairing-refused.json", "routing-opt-out.json"}) {
    INFO(name);
    CHECK(run(*host, read_message(kCorpus / name)).empty());
  }
}

TEST_CASE("dip flow rule: the appointment flow in senderTimestamp order with --flows") {
  auto messages = read_folder(kCorpus / "flows");
  REQUIRE(messages.size() >= 10);
  std::stable_sort(messages.begin(), messages.end(), [](const Message& a, const Message& b) { return a.timestamp < b.timestamp; });

  SECTION("without --flows the flow rule is silent") {
    auto host = dip_rules();
    host->set_data("registry", registry_for(messages.front()));
    for (const auto& m : messages) {
      std::string text;
      INFO(m.file.string());
      CHECK(run(*host, m, &text).empty());
      INFO(text);
      CHECK(text.empty());
    }
  }
  SECTION("with --flows every step and every misstep is reported") {
    auto host = dip_rules();
    host->set_data("registry", registry_for(messages.front()));
    host->set_data("options", options_flows());
    for (const auto& m : messages) {
      expect_schema_valid(m);
      std::string text;
      const auto got = run(*host, m, &text);
      const auto want = expected_of(m);
      INFO(m.file.string() << "\nexpected:\n" << show(want) << "actual:\n" << show(got) << "messages:\n" << text);
      CHECK(got == want);
    }
  }
}
