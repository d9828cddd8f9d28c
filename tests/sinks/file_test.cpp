#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <thread>

#include "flowguard/sinks/sinks.hpp"
#include "sink_test_util.hpp"

using namespace flowguard;
namespace fs = std::filesystem;

namespace {

std::vector<sinks::Delivery> messages(int from, int count, std::size_t size = 0) {
  std::vector<sinks::Delivery> out;
  for (int i = from; i < from + count; ++i) out.push_back(test::message(i, size));
  return out;
}

// Every file of the sink: the rotated ones (`<name>.<stamp>[.n]`) and the current one.
std::vector<fs::path> files_of(const fs::path& path) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(path.parent_path()))
    if (e.path().filename().string().starts_with(path.filename().string())) out.push_back(e.path());
  return out;
}

// The message numbers of a file's lines, each checked to be a complete record.
std::vector<long> numbers_in(const fs::path& file) {
  std::vector<long> out;
  for (const auto& line : test::lines_of(test::read_file(file))) {
    auto doc = json::Document::parse(line);
    REQUIRE(doc.ok());
    out.push_back(test::message_number(*doc->root().find("message")));
  }
  return out;
}

bool all_delivered(const std::vector<sinks::DeliveryResult>& results) {
  return std::all_of(results.begin(), results.end(),
                     [](const auto& r) { return r.outcome == sinks::Outcome::kDelivered; });
}

}  // namespace

TEST_CASE("file sink: JSON lines appended across batches and sink instances", "[sinks][file]") {
  test::TempDir dir;
  const fs::path path = dir.path() / "out" / "messages.jsonl";  // the missing folder is created
  sinks::FileOptions options;
  options.path = path;
  {
    auto sink = sinks::make_file_sink("archive", options);
    REQUIRE(sink.ok());
    CHECK((*sink)->kind() == "file");
    CHECK((*sink)->max_batch() == options.max_batch);
    CHECK(all_delivered((*sink)->deliver(messages(0, 3))));
    CHECK(all_delivered((*sink)->deliver(messages(3, 2))));
  }
  auto again = sinks::make_file_sink("archive", options);
  REQUIRE(again.ok());
  CHECK(all_delivered((*again)->deliver(messages(5, 1))));
  CHECK(numbers_in(path) == std::vector<long>{0, 1, 2, 3, 4, 5});
  CHECK(files_of(path).size() == 1);
}

TEST_CASE("file sink: what deliver() reported is in the file even if the process dies at once", "[sinks][file]") {
  test::TempDir dir;
  const fs::path path = dir.path() / "messages.jsonl";
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    sinks::FileOptions options;
    options.path = path;
    auto sink = sinks::make_file_sink("archive", options);
    if (!sink.ok()) ::_exit(3);
    if (!all_delivered((*sink)->deliver(messages(0, 50)))) ::_exit(4);
    ::kill(::getpid(), SIGKILL);  // no destructor, no flush: only what deliver() wrote survives
    ::_exit(5);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  REQUIRE(WIFSIGNALED(status));
  std::vector<long> expected(50);
  for (int i = 0; i < 50; ++i) expected[i] = i;
  CHECK(numbers_in(path) == expected);
}

TEST_CASE("file sink: a write cut short leaves no half line, and the retry completes the file", "[sinks][file]") {
  // RLIMIT_FSIZE makes the kernel cut a write at the limit (then EFBIG), as a full disk would:
  // in a child process, so the limit stays there.
  test::TempDir dir;
  const fs::path path = dir.path() / "messages.jsonl";
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::signal(SIGXFSZ, SIG_IGN);
    sinks::FileOptions options;
    options.path = path;
    auto sink = sinks::make_file_sink("archive", options);
    if (!sink.ok()) ::_exit(3);
    const auto first = messages(0, 3, 200);
    if (!all_delivered((*sink)->deliver(first))) ::_exit(4);
    struct stat st {};
    ::stat(path.c_str(), &st);
    const auto good = static_cast<rlim_t>(st.st_size);
    rlimit limit{};
    ::getrlimit(RLIMIT_FSIZE, &limit);
    const rlimit saved = limit;
    limit.rlim_cur = good + 300;  // the next batch fits in part only
    ::setrlimit(RLIMIT_FSIZE, &limit);
    const auto second = messages(3, 3, 200);
    for (const auto& r : (*sink)->deliver(second)) {
      if (r.outcome != sinks::Outcome::kRetry) ::_exit(5);
      if (r.detail.find("File too large") == std::string::npos) ::_exit(6);
    }
    ::stat(path.c_str(), &st);
    if (static_cast<rlim_t>(st.st_size) != good) ::_exit(7);  // the partial write was truncated back
    ::setrlimit(RLIMIT_FSIZE, &saved);
    if (!all_delivered((*sink)->deliver(second))) ::_exit(8);
    ::_exit(0);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(numbers_in(path) == std::vector<long>{0, 1, 2, 3, 4, 5});
}

TEST_CASE("file sink: rotation by size keeps every file within the limit and every line once, in order",
          "[sinks][file]") {
  test::TempDir dir;
  const fs::path path = dir.path() / "messages.jsonl";
  sinks::FileOptions options;
  options.path = path;
  options.rotate_bytes = 1000;
  auto sink = sinks::make_file_sink("archive", options);
  REQUIRE(sink.ok());
  for (int batch = 0; batch < 6; ++batch) REQUIRE(all_delivered((*sink)->deliver(messages(batch * 5, 5, 150))));

  const auto files = files_of(path);
  CHECK(files.size() >= 5);  // 30 lines of ~240 bytes, at most 4 a file
  std::vector<long> all;
  for (const auto& f : files) {
    CHECK(fs::file_size(f) <= options.rotate_bytes);
    const auto numbers = numbers_in(f);
    CHECK(std::is_sorted(numbers.begin(), numbers.end()));
    all.insert(all.end(), numbers.begin(), numbers.end());
    if (f != path) {
      // <name>.<yyyymmddThhmmssZ>[.n]
      const std::string suffix = f.filename().string().substr(path.filename().string().size());
      CHECK(suffix.size() >= 17);
      CHECK(suffix[0] == '.');
      CHECK(suffix[9] == 'T');
      CHECK(suffix[16] == 'Z');
    }
  }
  std::sort(all.begin(), all.end());
  std::vector<long> expected(30);
  for (int i = 0; i < 30; ++i) expected[i] = i;
  CHECK(all == expected);
}

TEST_CASE("file sink: rotation by age", "[sinks][file]") {
  test::TempDir dir;
  const fs::path path = dir.path() / "messages.jsonl";
  sinks::FileOptions options;
  options.path = path;
  options.rotate_every = std::chrono::seconds(1);
  auto sink = sinks::make_file_sink("archive", options);
  REQUIRE(sink.ok());
  REQUIRE(all_delivered((*sink)->deliver(messages(0, 2))));
  CHECK(files_of(path).size() == 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  REQUIRE(all_delivered((*sink)->deliver(messages(2, 1))));
  const auto files = files_of(path);
  REQUIRE(files.size() == 2);
  for (const auto& f : files) CHECK(numbers_in(f) == (f == path ? std::vector<long>{2} : std::vector<long>{0, 1}));
}

TEST_CASE("file sink: a half line left by a crash is cut off when the file is opened", "[sinks][file]") {
  test::TempDir dir;
  const fs::path path = dir.path() / "messages.jsonl";
  sinks::FileOptions options;
  options.path = path;
  {
    auto sink = sinks::make_file_sink("archive", options);
    REQUIRE(sink.ok());
    REQUIRE(all_delivered((*sink)->deliver(messages(0, 2))));
  }
  { std::ofstream(path, std::ios::app) << R"({"id":"id-9","reference":"ref-9","type":"x","mess)"; }
  auto sink = sinks::make_file_sink("archive", options);
  REQUIRE(sink.ok());
  REQUIRE(all_delivered((*sink)->deliver(messages(2, 1))));
  CHECK(numbers_in(path) == std::vector<long>{0, 1, 2});
}

TEST_CASE("file sink: a path that cannot be a file is the factory's error", "[sinks][file]") {
  test::TempDir dir;
  { std::ofstream(dir.path() / "plain-file") << "x"; }
  sinks::FileOptions options;
  options.path = dir.path() / "plain-file" / "messages.jsonl";
  auto sink = sinks::make_file_sink("archive", options);
  REQUIRE_FALSE(sink.ok());
  CHECK(sink.error().code == ErrorCode::kIo);
  CHECK_THAT(sink.error().message, Catch::Contains("archive") && Catch::Contains("plain-file"));

  options.path = dir.path();  // a directory
  CHECK_FALSE(sinks::make_file_sink("archive", options).ok());
  options.path.clear();
  CHECK_FALSE(sinks::make_file_sink("archive", options).ok());

  if (::geteuid() != 0) {  // root writes anywhere: the permission case needs an ordinary user
    fs::create_directory(dir.path() / "locked");
    fs::permissions(dir.path() / "locked", fs::perms::owner_read | fs::perms::owner_exec);
    options.path = dir.path() / "locked" / "messages.jsonl";
    auto locked = sinks::make_file_sink("archive", options);
    CHECK_FALSE(locked.ok());
    if (!locked.ok()) CHECK_THAT(locked.error().message, Catch::Contains("Permission denied"));
    fs::permissions(dir.path() / "locked", fs::perms::owner_all);
  }
}

TEST_CASE("file sink: a full device is kRetry with errno's words", "[sinks][file]") {
  if (!fs::exists("/dev/full")) {
    WARN("SKIPPED: no /dev/full on this machine");
    return;
  }
  sinks::FileOptions options;
  options.path = "/dev/full";
  auto sink = sinks::make_file_sink("full", options);
  REQUIRE(sink.ok());
  const auto results = (*sink)->deliver(messages(0, 3));
  REQUIRE(results.size() == 3);
  for (const auto& r : results) {
    CHECK(r.outcome == sinks::Outcome::kRetry);
    CHECK_THAT(r.detail, Catch::Contains("No space left on device") && Catch::Contains("/dev/full"));
  }
}
