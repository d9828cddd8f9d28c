// Runs every payload of tests/corpus/dfs through the engine exactly as `flowguard check` does and
// compares its findings with the expected ones (rule, severity, JSON pointer), showing actual
// against expected on any difference.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "flowguard/engine.hpp"
#include "flowguard/json/document.hpp"

namespace fs = std::filesystem;

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

std::vector<fs::path> corpus_files() {
  std::vector<fs::path> files;
  const fs::path root = fs::path(FLOWGUARD_SOURCE_DIR) / "tests/corpus/dfs";
  if (!fs::is_directory(root)) return files;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    const auto name = entry.path().filename().string();
    if (entry.is_regular_file() && entry.path().extension() == ".json" && name.find(".expected.") == std::string::npos)
      files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::unique_ptr<flowguard::Engine> shipped_engine() {
  // Default directories: the build tree mirrors the installed layout.
  auto engine = flowguard::Engine::create(flowguard::EngineOptions{});
  REQUIRE(engine.ok());
  return std::move(engine).value();
}

}  // namespace

TEST_CASE("DFS corpus: every payload gives exactly its expected findings") {
  const auto files = corpus_files();
  REQUIRE(files.size() >= 20);
  auto engine = shipped_engine();
  std::size_t checked = 0;
  for (const auto& file : files) {
    fs::path expected_file = file;
    expected_file.replace_extension(".expected.json");
    INFO("payload: " << file.string());
    REQUIRE(fs::exists(expected_file));
    auto expected_doc = flowguard::json::Document::parse(slurp(expected_file));
    REQUIRE(expected_doc.ok());
    const auto& expected = expected_doc->root();
    const auto* type = expected.find("type");
    REQUIRE(type);
    const std::string type_name = type->is_string() ? std::string(type->as_string()) : "";

    const auto report = engine->check_file(file, type_name);
    CHECK(engine->load_issues().empty());
    if (const auto* parse_error = expected.find("parse_error")) {
      INFO(flowguard::format_text({report}));
      REQUIRE(report.input_error);
      CHECK(report.input_error->code == flowguard::ErrorCode::kParse);
      const auto line = static_cast<int>(parse_error->find("line")->as_double());
      CHECK_THAT(report.input_error->message, Catch::Contains(":" + std::to_string(line) + ":"));
      ++checked;
      continue;
    }
    REQUIRE_FALSE(report.input_error);

    std::vector<Key> want, got;
    for (const auto& f : expected.find("findings")->items())
      want.emplace_back(std::string(f.find("rule")->as_string()), std::string(f.find("severity")->as_string()),
                        std::string(f.find("path")->as_string()));
    for (const auto& f : report.findings) got.emplace_back(f.rule, flowguard::to_string(f.severity), f.pointer);
    std::sort(want.begin(), want.end());
    std::sort(got.begin(), got.end());
    INFO("expected:\n" << show(want) << "actual:\n" << show(got) << "report:\n" << flowguard::format_text({report}));
    CHECK(got == want);

    // Recognition from content must agree with the declared type whenever the payload has records.
    if (!type_name.empty() && report.records > 0) {
      const auto recognised = engine->check_file(file);
      CHECK(recognised.type == type_name);
    }
    ++checked;
  }
  CHECK(checked == files.size());
}
