#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <fstream>
#include <set>
#include <thread>

#include "flowguard/sinks/sinks.hpp"
#include "sink_test_util.hpp"

using namespace flowguard;
namespace fs = std::filesystem;

namespace {

std::vector<fs::path> visible_files(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (!e.path().filename().string().starts_with(".")) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("spool sink: one file a message, named safely for any id", "[sinks][spool]") {
  test::TempDir dir;
  sinks::SpoolOptions options;
  options.directory = dir.path() / "spool";
  auto sink = sinks::make_spool_sink("drop", options);
  REQUIRE(sink.ok());
  CHECK((*sink)->kind() == "spool");

  const std::vector<std::string> ids{"plain-1",
                                     "a/b",
                                     "a_b",
                                     "../escape",
                                     ".hidden",
                                     "",
                                     "spaces and \"quotes\"",
                                     std::string(300, 'L'),
                                     std::string(299, 'L') + "M",
                                     "ünïcode"};
  std::vector<sinks::Delivery> batch;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    batch.push_back(test::message(static_cast<int>(i)));
    batch.back().id = ids[i];
  }
  const auto results = (*sink)->deliver(batch);
  for (const auto& r : results) CHECK(r.outcome == sinks::Outcome::kDelivered);

  const auto files = visible_files(options.directory);
  REQUIRE(files.size() == ids.size());  // no two ids share a file; nothing landed outside
  std::set<std::string> seen;
  for (const auto& f : files) {
    CHECK(f.parent_path() == options.directory);
    CHECK(f.extension() == ".json");
    CHECK(f.filename().string().size() <= 255);
    auto doc = json::Document::parse(test::read_file(f));
    REQUIRE(doc.ok());
    seen.insert(std::string(doc->root().find("id")->as_string()));
  }
  CHECK(seen == std::set<std::string>(ids.begin(), ids.end()));
  CHECK(fs::exists(options.directory / "plain-1.json"));
  CHECK_FALSE(fs::exists(dir.path() / "escape.json"));
}

TEST_CASE("spool sink: a re-delivered message replaces its own file", "[sinks][spool]") {
  test::TempDir dir;
  sinks::SpoolOptions options;
  options.directory = dir.path();
  auto sink = sinks::make_spool_sink("drop", options);
  REQUIRE(sink.ok());
  std::vector<sinks::Delivery> batch{test::message(1)};
  REQUIRE((*sink)->deliver(batch)[0].outcome == sinks::Outcome::kDelivered);
  batch[0].dead_letter_reason = "second time";
  REQUIRE((*sink)->deliver(batch)[0].outcome == sinks::Outcome::kDelivered);
  REQUIRE(visible_files(dir.path()).size() == 1);
  CHECK_THAT(test::read_file(dir.path() / "id-1.json"), Catch::Contains("second time"));
}

TEST_CASE("spool sink: leftovers of a crash are removed at start, an unusable directory is an error",
          "[sinks][spool]") {
  test::TempDir dir;
  { std::ofstream(dir.path() / ".tmp-id-7") << "{\"half"; }
  { std::ofstream(dir.path() / "kept.json") << "{}"; }
  sinks::SpoolOptions options;
  options.directory = dir.path();
  REQUIRE(sinks::make_spool_sink("drop", options).ok());
  CHECK_FALSE(fs::exists(dir.path() / ".tmp-id-7"));
  CHECK(fs::exists(dir.path() / "kept.json"));

  options.directory = dir.path() / "kept.json" / "sub";
  auto bad = sinks::make_spool_sink("drop", options);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == ErrorCode::kIo);
  CHECK_THAT(bad.error().message, Catch::Contains("drop"));
}

// A reader polling the directory while the sink writes: every file it can see parses whole.
static void poll_while_writing(bool batch_per_file) {
  test::TempDir dir;
  sinks::SpoolOptions options;
  options.directory = dir.path();
  options.batch_per_file = batch_per_file;
  options.max_batch = 20;
  auto sink = sinks::make_spool_sink("drop", options);
  REQUIRE(sink.ok());

  std::atomic<bool> done{false};
  std::atomic<int> reads{0};
  std::atomic<int> broken{0};
  std::atomic<int> passes{0};
  // Each file is read as soon as it is listed (once: the ids do not repeat), so a file visible
  // while it is still being written would be caught part-way.
  std::thread reader([&] {
    std::set<std::string> seen;
    while (!done.load()) {
      std::error_code ec;
      for (fs::directory_iterator it(dir.path(), ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (name.starts_with(".") || !name.ends_with(".json") || seen.count(name)) continue;
        std::ifstream in(it->path(), std::ios::binary);
        if (!in) continue;
        const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        seen.insert(name);
        ++reads;
        if (!json::Document::parse(text).ok()) ++broken;
      }
      ++passes;
    }
  });
  constexpr int kMessages = 200;
  for (int from = 0; from < kMessages; from += 20) {
    std::vector<sinks::Delivery> batch;
    for (int i = from; i < from + 20; ++i)
      batch.push_back(test::message(i, 100000));  // 100 KB: a write that takes a while
    const int before = passes.load();
    for (const auto& r : (*sink)->deliver(batch)) REQUIRE(r.outcome == sinks::Outcome::kDelivered);
    // On a loaded machine the reader may not run at all while a batch is written: let it list the
    // directory at least once between batches, so `reads > 0` below does not depend on scheduling.
    for (int waited = 0; passes.load() < before + 2 && waited < 2000; ++waited)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  done = true;
  reader.join();
  CHECK(broken.load() == 0);
  CHECK(reads.load() > 0);

  std::vector<long> numbers;
  for (const auto& f : visible_files(dir.path())) {
    auto doc = json::Document::parse(test::read_file(f));
    REQUIRE(doc.ok());
    if (batch_per_file) {
      REQUIRE(doc->root().is_array());
      for (const auto& record : doc->root().items()) numbers.push_back(test::message_number(*record.find("message")));
    } else {
      numbers.push_back(test::message_number(*doc->root().find("message")));
    }
  }
  std::sort(numbers.begin(), numbers.end());
  std::vector<long> expected(kMessages);
  for (int i = 0; i < kMessages; ++i) expected[i] = i;
  CHECK(numbers == expected);
}

TEST_CASE("spool sink: a reader polling the directory never sees half a file (one message a file)", "[sinks][spool]") {
  poll_while_writing(false);
}

TEST_CASE("spool sink: a reader polling the directory never sees half a file (one batch a file)", "[sinks][spool]") {
  poll_while_writing(true);
}

TEST_CASE("spool sink: batch files never overwrite one another and sort in delivery order", "[sinks][spool]") {
  test::TempDir dir;
  sinks::SpoolOptions options;
  options.directory = dir.path();
  options.batch_per_file = true;
  auto sink = sinks::make_spool_sink("drop", options);
  REQUIRE(sink.ok());
  for (int b = 0; b < 12; ++b) {
    std::vector<sinks::Delivery> batch{test::message(b * 2), test::message(b * 2 + 1)};
    batch[0].id = "same-id";  // every batch starts with the same id: names must still differ
    for (const auto& r : (*sink)->deliver(batch)) REQUIRE(r.outcome == sinks::Outcome::kDelivered);
  }
  const auto files = visible_files(dir.path());
  REQUIRE(files.size() == 12);
  long last = -1;
  for (const auto& f : files) {  // sorted by name
    auto doc = json::Document::parse(test::read_file(f));
    REQUIRE(doc.ok());
    REQUIRE(doc->root().items().size() == 2);
    const long first = test::message_number(*doc->root().items()[0].find("message"));
    CHECK(first > last);
    last = first;
  }
}
