// The plugin host: a good plugin loads; every kind of bad plugin is refused with a message naming
// the file and the reason, and the engine carries on with the rest.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <string>

#include "flowguard/engine.hpp"

namespace {

std::unique_ptr<flowguard::Engine> make_engine(std::vector<std::string> plugin_dirs, unsigned timeout_ms = 10'000) {
  flowguard::EngineOptions options;
  options.use_default_dirs = false;
  options.plugin_load_timeout_ms = timeout_ms;
  for (auto& d : plugin_dirs) options.plugin_dirs.emplace_back(d);
  auto engine = flowguard::Engine::create(options);
  REQUIRE(engine.ok());
  return std::move(engine).value();
}

const flowguard::LoadIssue* issue_about(const flowguard::Engine& engine, const std::string& file_part) {
  for (const auto& issue : engine.load_issues())
    if (issue.source.find(file_part) != std::string::npos) return &issue;
  return nullptr;
}

}  // namespace

TEST_CASE("a well-formed plugin loads and declares its types") {
  auto engine = make_engine({TEST_PLUGIN_DIR "/good"});
  CHECK(engine->load_issues().empty());
  const auto types = engine->types();
  REQUIRE(types.size() == 2);
  CHECK(types[0].name == "test.order");
  CHECK(types[0].plugin == "test");
  CHECK(types[1].name == "test.report");
}

TEST_CASE("broken plugins are refused one by one, naming file and reason, and the good one still loads") {
  auto engine = make_engine({TEST_PLUGIN_DIR "/broken", TEST_PLUGIN_DIR "/good"});
  const auto types = engine->types();
  REQUIRE(types.size() == 2);  // only the good plugin's types
  CHECK(engine->load_issues().size() == 7);

  const auto* wrong_abi = issue_about(*engine, "wrong_abi_plugin.so");
  REQUIRE(wrong_abi);
  CHECK_THAT(wrong_abi->message, Catch::Contains("wrong_abi_plugin.so refused") && Catch::Contains("incompatible plugin ABI 2.0"));

  const auto* newer = issue_about(*engine, "newer_minor_plugin.so");
  REQUIRE(newer);
  CHECK_THAT(newer->message, Catch::Contains("newer than this flowguard") && Catch::Contains("upgrade flowguard"));

  const auto* no_symbol = issue_about(*engine, "no_symbol_plugin.so");
  REQUIRE(no_symbol);
  CHECK_THAT(no_symbol->message, Catch::Contains("does not export the entry symbol flowguard_plugin_v1"));

  const auto* bad = issue_about(*engine, "bad_descriptor_plugin.so");
  REQUIRE(bad);
  CHECK_THAT(bad->message, Catch::Contains("bad.thing") && Catch::Contains("has no schema"));

  const auto* not_elf = issue_about(*engine, "not_a_library.so");
  REQUIRE(not_elf);
  CHECK_THAT(not_elf->message, Catch::Contains("cannot be loaded as a shared library"));
  // The loader's own reason, not an errno text such as "Bad file descriptor".
  CHECK_THAT(not_elf->message, Catch::Contains("invalid ELF header") || Catch::Contains("file too short"));

  const auto* undefined = issue_about(*engine, "undefined_symbol_plugin.so");
  REQUIRE(undefined);
  CHECK_THAT(undefined->message, Catch::Contains("undefined symbol: flowguard_test_symbol_nobody_defines"));
}

TEST_CASE("the same plugin found twice is loaded once and the duplicate refused") {
  // The same directory given twice is only scanned once; a copy under another name is refused.
  auto engine = make_engine({TEST_PLUGIN_DIR "/good", TEST_PLUGIN_DIR "/good"});
  CHECK(engine->load_issues().empty());
  CHECK(engine->types().size() == 2);
}

TEST_CASE("no plugins at all is reported, not fatal") {
  auto engine = make_engine({TEST_PLUGIN_DIR "/does-not-exist"});
  CHECK(engine->types().empty());
  REQUIRE(engine->load_issues().size() == 1);
  CHECK_THAT(engine->load_issues()[0].message, Catch::Contains("no message types are available"));
}

TEST_CASE("a plugin anyone may write to is loaded with a warning naming it, the exit status is unaffected") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / "flowguard-world-writable-plugins";
  fs::remove_all(dir);
  fs::create_directories(dir);
  fs::copy_file(TEST_PLUGIN_DIR "/good/good_plugin.so", dir / "good_plugin.so");
  fs::permissions(dir, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                           fs::perms::others_read | fs::perms::others_exec);
  fs::permissions(dir / "good_plugin.so", fs::perms::others_write, fs::perm_options::add);
  {
    auto engine = make_engine({dir.string()});
    CHECK(engine->types().size() == 2);
    CHECK(engine->load_issues().empty());
    REQUIRE(engine->load_warnings().size() == 1);
    CHECK_THAT(engine->load_warnings()[0].message,
               Catch::Contains("good_plugin.so is loaded from a file that any user may write to"));
  }
  fs::permissions(dir / "good_plugin.so", fs::perms::others_write, fs::perm_options::remove);
  fs::permissions(dir, fs::perms::others_write, fs::perm_options::add);
  {
    auto engine = make_engine({dir.string()});
    REQUIRE(engine->load_warnings().size() == 1);
    CHECK_THAT(engine->load_warnings()[0].message, Catch::Contains("from a folder (" + dir.string() + ")"));
  }
  fs::permissions(dir, fs::perms::others_write, fs::perm_options::remove);
  CHECK(make_engine({dir.string()})->load_warnings().empty());
  fs::remove_all(dir);
}

TEST_CASE("the engine survives plugins that crash, hang or exit while loading, and names each") {
  // Without the probe process this test would die with the first of them (or exit 0).
  auto engine = make_engine({TEST_PLUGIN_DIR "/faulty", TEST_PLUGIN_DIR "/good"}, 2000);
  CHECK(engine->types().size() == 3);
  REQUIRE(engine->load_issues().size() == 4);
  for (const char* name : {"abort_ctor_plugin.so", "exit_entry_plugin.so", "hang_entry_plugin.so", "segv_entry_plugin.so"}) {
    const auto* issue = issue_about(*engine, name);
    REQUIRE(issue);
    CHECK_THAT(issue->message, Catch::Contains(std::string(name) + " refused: it "));
  }
}
