// The fast paths (the schema's accept path, several jobs) must never change what is reported:
// every payload of every corpus gives byte-identical JSON reports with and without them.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "flowguard/engine.hpp"

namespace fs = std::filesystem;

TEST_CASE("every corpus payload reports identically with and without the fast paths") {
  std::vector<fs::path> files;
  for (const char* family : {"dfs", "dip", "ssi"})
    for (const auto& entry : fs::recursive_directory_iterator(fs::path(FLOWGUARD_SOURCE_DIR) / "tests/corpus" / family)) {
      const auto name = entry.path().filename().string();
      if (entry.is_regular_file() && entry.path().extension() == ".json" && name.find(".expected.") == std::string::npos)
        files.push_back(entry.path());
    }
  REQUIRE(files.size() > 300);

  flowguard::EngineOptions fast, slow;
  fast.jobs = 2;
  slow.fast_paths = false;
  slow.jobs = 1;
  fast.now = slow.now = "2026-11-25T12:00:00Z";  // time rules must see the same clock
  auto with = flowguard::Engine::create(fast);
  auto without = flowguard::Engine::create(slow);
  REQUIRE(with.ok());
  REQUIRE(without.ok());
  for (const auto& file : files) {
    INFO(file.string());
    const auto a = (*with)->check_file(file);
    const auto b = (*without)->check_file(file);
    CHECK(flowguard::format_json({a}) == flowguard::format_json({b}));
  }
}
