#include "corpus_runner.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "flowguard/engine.hpp"
#include "flowguard/json/document.hpp"

namespace fs = std::filesystem;

namespace flowguard::testing {

namespace {

using Key = std::tuple<std::string, std::string, std::string>;  // rule, severity, path

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string show(const std::vector<Key>& keys) {
  std::string out;
  for (const auto& [rule, severity, path] : keys) out += "    " + severity + " " + rule + " " + (path.empty() ? "\"\"" : path) + "\n";
  return out.empty() ? "    (none)\n" : out;
}

std::vector<fs::path> corpus_files(const fs::path& root) {
  std::vector<fs::path> files;
  if (!fs::is_directory(root)) return files;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    const auto name = entry.path().filename().string();
    if (entry.is_regular_file() && entry.path().extension() == ".json" && name.find(".expected.") == std::string::npos)
      files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// Default directories (the build tree mirrors the installed layout), plus what a case asks for.
std::unique_ptr<Engine> shipped_engine(const std::string& registry = {}, bool flows = false) {
  EngineOptions options;
  options.registry = registry;
  options.flows = flows;
  auto engine = Engine::create(options);
  INFO((engine.ok() ? std::string() : engine.error().message));
  REQUIRE(engine.ok());
  return std::move(engine).value();
}

std::string string_member(const json::Value& object, std::string_view key) {
  const auto* v = object.find(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

}  // namespace

void run_corpus(std::string_view family, std::size_t min_cases) {
  const auto files = corpus_files(fs::path(FLOWGUARD_SOURCE_DIR) / "tests/corpus" / family);
  INFO("corpus: tests/corpus/" << family);
  REQUIRE(files.size() >= min_cases);
  // Flow engines, per registry: they keep their rules' state from case to case, so flow cases run
  // in name order through the same engine, as `flowguard check --flows` would.
  std::map<std::string, std::unique_ptr<Engine>> engines;
  std::size_t checked = 0;
  for (const auto& file : files) {
    fs::path expected_file = file;
    expected_file.replace_extension(".expected.json");
    INFO("payload: " << file.string());
    REQUIRE(fs::exists(expected_file));
    auto expected_doc = json::Document::parse(slurp(expected_file));
    REQUIRE(expected_doc.ok());
    const auto& expected = expected_doc->root();
    REQUIRE(expected.find("type"));
    const std::string type_name = string_member(expected, "type");
    const std::string registry_name = string_member(expected, "registry");
    const std::string registry = registry_name.empty() ? "" : (expected_file.parent_path() / registry_name).string();
    const auto* options = expected.find("options");
    const auto* flows_option = options ? options->find("flows") : nullptr;
    const bool flows = flows_option && flows_option->is_bool() && flows_option->as_bool();
    // Each case is its own run (rules may remember a run's earlier documents), except flow cases,
    // which are one run in name order.
    std::unique_ptr<Engine> single_run;
    auto& engine = flows ? engines[registry] : single_run;
    if (!engine) engine = shipped_engine(registry, flows);

    const auto report = engine->check_file(file, type_name);
    CHECK(engine->load_issues().empty());
    if (const auto* parse_error = expected.find("parse_error")) {
      INFO(format_text({report}));
      REQUIRE(report.input_error);
      CHECK(report.input_error->code == ErrorCode::kParse);
      const auto line = static_cast<int>(parse_error->find("line")->as_double());
      CHECK_THAT(report.input_error->message, Catch::Contains(":" + std::to_string(line) + ":"));
      ++checked;
      continue;
    }
    REQUIRE_FALSE(report.input_error);

    std::vector<Key> want, got;
    const auto* findings = expected.find("findings");
    REQUIRE(findings);
    for (const auto& f : findings->items())
      want.emplace_back(string_member(f, "rule"), string_member(f, "severity"), string_member(f, "path"));
    for (const auto& f : report.findings) got.emplace_back(f.rule, to_string(f.severity), f.pointer);
    std::sort(want.begin(), want.end());
    std::sort(got.begin(), got.end());
    INFO("expected:\n" << show(want) << "actual:\n" << show(got) << "report:\n" << format_text({report}));
    CHECK(got == want);

    // Recognition from content must agree with the declared type whenever the payload has records.
    const auto* recognisable = expected.find("recognisable");
    const bool recognise = !(recognisable && recognisable->is_bool() && !recognisable->as_bool());
    if (recognise && !flows && !type_name.empty() && report.records > 0) {
      const auto recognised = engine->check_file(file);
      INFO("recognition: " << format_text({recognised}));
      CHECK(recognised.type == type_name);
    }
    ++checked;
  }
  CHECK(checked == files.size());
}

}  // namespace flowguard::testing
