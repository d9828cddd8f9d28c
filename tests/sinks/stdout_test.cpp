#include <catch2/catch.hpp>
#include <sstream>
#include <streambuf>

#include "flowguard/sinks/sinks.hpp"
#include "sink_test_util.hpp"

using namespace flowguard;

TEST_CASE("stdout sink: one JSON line a message, dead-letter fields only when set", "[sinks][stdout]") {
  std::ostringstream out;
  auto sink = sinks::make_stdout_sink("console", out);
  REQUIRE(sink.ok());
  CHECK((*sink)->kind() == "stdout");
  CHECK((*sink)->name() == "console");

  std::vector<sinks::Delivery> batch{test::message(1), test::message(2)};
  batch[0].body = "{\"payload\":\n  {\"n\": 1}\r\n}";  // pretty-printed: still one line
  batch[1].dead_letter_reason = "rule DIP-123 failed";
  batch[1].findings_json = R"([{"rule":"DIP-123","severity":"error"}])";
  const auto results = (*sink)->deliver(batch);
  REQUIRE(results.size() == 2);
  for (const auto& r : results) CHECK(r.outcome == sinks::Outcome::kDelivered);

  const auto lines = test::lines_of(out.str());
  REQUIRE(lines.size() == 2);
  auto first = json::Document::parse(lines[0]);
  REQUIRE(first.ok());
  CHECK(first->root().find("id")->as_string() == "id-1");
  CHECK(first->root().find("reference")->as_string() == "ref-1");
  CHECK(first->root().find("type")->as_string() == "dip.IF-001.InitialRegistration");
  CHECK(test::message_number(*first->root().find("message")) == 1);
  CHECK(first->root().find("dead_letter_reason") == nullptr);

  auto second = json::Document::parse(lines[1]);
  REQUIRE(second.ok());
  CHECK(second->root().find("dead_letter_reason")->as_string() == "rule DIP-123 failed");
  REQUIRE(second->root().find("findings")->is_array());
  CHECK(second->root().find("findings")->items()[0].find("rule")->as_string() == "DIP-123");
}

namespace {
struct FailingBuf : std::streambuf {
  int overflow(int) override { return traits_type::eof(); }
  std::streamsize xsputn(const char*, std::streamsize) override { return 0; }
};
}  // namespace

TEST_CASE("stdout sink: a stream that cannot be written is kRetry, and a later good write delivers",
          "[sinks][stdout]") {
  FailingBuf failing;
  std::ostream out(&failing);
  auto sink = sinks::make_stdout_sink("console", out);
  REQUIRE(sink.ok());
  const std::vector<sinks::Delivery> batch{test::message(1)};
  auto results = (*sink)->deliver(batch);
  REQUIRE(results.size() == 1);
  CHECK(results[0].outcome == sinks::Outcome::kRetry);
  CHECK_FALSE(results[0].detail.empty());

  std::stringbuf good;
  out.rdbuf(&good);
  results = (*sink)->deliver(batch);
  CHECK(results[0].outcome == sinks::Outcome::kDelivered);
  CHECK(test::lines_of(good.str()).size() == 1);
}
