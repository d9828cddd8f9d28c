// The plugin host's ABI reading (an older plugin's layout, longer type entries) and its probe
// process (plugins that crash, hang or exit while loading are refused by name; the rest load).
#include <catch2/catch.hpp>

#include <string>

#include "plugin_host.hpp"

namespace fe = flowguard::engine;

namespace {

struct Loaded {
  std::vector<fe::TypeEntry> types;
  std::vector<flowguard::LoadIssue> issues;
};

Loaded load(std::vector<std::filesystem::path> dirs, bool isolate, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  fe::PluginHost host({isolate, timeout});
  Loaded out;
  host.load_directories(dirs, out.types, out.issues);
  return out;
}

const fe::TypeEntry* type_named(const Loaded& loaded, const std::string& name) {
  for (const auto& t : loaded.types)
    if (t.name == name) return &t;
  return nullptr;
}

const flowguard::LoadIssue* issue_about(const Loaded& loaded, const std::string& file_part) {
  for (const auto& issue : loaded.issues)
    if (issue.source.find(file_part) != std::string::npos) return &issue;
  return nullptr;
}

}  // namespace

TEST_CASE("a plugin built against the 1.0 header and one with longer type entries are both read right") {
  for (const bool isolate : {true, false}) {
    CAPTURE(isolate);
    const Loaded loaded = load({TEST_PLUGIN_DIR "/compat"}, isolate);
    CHECK(loaded.issues.empty());
    REQUIRE(loaded.types.size() == 5);

    // ABI 1.0: no type_size field; the 1.0 stride.
    const auto* first = type_named(loaded, "old.first");
    const auto* second = type_named(loaded, "old.second");
    const auto* third = type_named(loaded, "old.third");
    REQUIRE((first && second && third));
    CHECK(first->title == "Old first");
    CHECK(first->schema == "old/first.schema.json");
    CHECK(first->rule_set == "old");
    CHECK(first->spec == "old spec §1");
    CHECK(first->schema_error_code == "OLD1");
    CHECK(first->unknown_variant_code == "OLDX");
    CHECK(first->key_hints == std::vector<std::string>{"a"});
    CHECK(second->shape == FG_SHAPE_ENVELOPE);
    CHECK(second->records_pointer == "/data");
    CHECK(second->record_schema == "/properties/data/items");
    CHECK(second->case_insensitive_keys);
    CHECK(second->schema_error_code.empty());
    CHECK(third->shape == FG_SHAPE_MESSAGE);
    REQUIRE(third->matches.size() == 1);
    CHECK(third->matches[0].pointer == "/kind");
    CHECK(third->matches[0].equals == "third");
    CHECK(third->schema_error_code == "OLD3");

    // Entries longer than this engine's fg_type: read at type_size, the extra fields ignored.
    const auto* wide1 = type_named(loaded, "wide.first");
    const auto* wide2 = type_named(loaded, "wide.second");
    REQUIRE((wide1 && wide2));
    CHECK(wide1->schema_error_code == "WIDE1");
    CHECK(wide1->key_hints == std::vector<std::string>{"w"});
    CHECK(wide2->title == "Wide second");
    CHECK(wide2->shape == FG_SHAPE_ENVELOPE);
    CHECK(wide2->rule_set == "wide");
    CHECK(wide2->case_insensitive_keys);
  }
}

TEST_CASE("a type_size smaller than the plugin's ABI's fg_type is refused") {
  const Loaded loaded = load({TEST_PLUGIN_DIR "/broken"}, true);
  const auto* issue = issue_about(loaded, "short_type_size_plugin.so");
  REQUIRE(issue);
  CHECK_THAT(issue->message, Catch::Contains("refused: type_size") && Catch::Contains("is not a size of fg_type for ABI 1.1"));
}

TEST_CASE("plugins that crash, hang or exit while loading are refused by name and the others load") {
  const Loaded loaded = load({TEST_PLUGIN_DIR "/faulty", TEST_PLUGIN_DIR "/good"}, true, std::chrono::seconds(2));
  // fine_plugin sorts between the faulty ones; good/ comes after them all.
  CHECK(type_named(loaded, "fine.thing"));
  CHECK(type_named(loaded, "test.order"));
  CHECK(type_named(loaded, "test.report"));
  CHECK(loaded.types.size() == 3);
  REQUIRE(loaded.issues.size() == 4);

  const auto* abort_ctor = issue_about(loaded, "abort_ctor_plugin.so");
  REQUIRE(abort_ctor);
  CHECK_THAT(abort_ctor->message, Catch::Contains("abort_ctor_plugin.so refused: it crashed the process loading it with signal SIGABRT"));

  const auto* exit_entry = issue_about(loaded, "exit_entry_plugin.so");
  REQUIRE(exit_entry);
  CHECK_THAT(exit_entry->message, Catch::Contains("exit_entry_plugin.so refused: it ended the process loading it with exit status 0") &&
                                      Catch::Contains("must not call exit"));

  const auto* hang = issue_about(loaded, "hang_entry_plugin.so");
  REQUIRE(hang);
  CHECK_THAT(hang->message, Catch::Contains("hang_entry_plugin.so refused: it did not finish loading within 2 s"));

  const auto* segv = issue_about(loaded, "segv_entry_plugin.so");
  REQUIRE(segv);
  CHECK_THAT(segv->message, Catch::Contains("segv_entry_plugin.so refused: it crashed the process loading it with signal SIGSEGV"));
}

TEST_CASE("a plugin that closes the probe's pipe and hangs is still stopped and named") {
  const Loaded loaded = load({TEST_PLUGIN_DIR "/evasive", TEST_PLUGIN_DIR "/good"}, true, std::chrono::seconds(1));
  CHECK(loaded.types.size() == 2);  // good/ still loads, in a second probe process
  REQUIRE(loaded.issues.size() == 1);
  CHECK_THAT(loaded.issues[0].message,
             Catch::Contains("closes_pipe_plugin.so refused: it did not finish loading within 1 s"));
}

TEST_CASE("the probe's copy of the real plugins' descriptors equals loading them here") {
  const Loaded isolated = load({REAL_PLUGIN_DIR}, true);
  const Loaded direct = load({REAL_PLUGIN_DIR}, false);
  CHECK(isolated.issues.empty());
  CHECK(direct.issues.empty());
  REQUIRE(direct.types.size() >= 3);
  // TypeEntry's == is defaulted: a field the wire format forgets makes this fail.
  CHECK(isolated.types == direct.types);
}

TEST_CASE("the refusals a plugin earns are the same with and without the probe") {
  const Loaded isolated = load({TEST_PLUGIN_DIR "/broken"}, true);
  const Loaded direct = load({TEST_PLUGIN_DIR "/broken"}, false);
  REQUIRE(isolated.issues.size() == direct.issues.size());
  for (std::size_t i = 0; i < direct.issues.size(); ++i) {
    CHECK(isolated.issues[i].source == direct.issues[i].source);
    CHECK(isolated.issues[i].message == direct.issues[i].message);
  }
}
