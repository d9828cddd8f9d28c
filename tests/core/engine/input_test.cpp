// Input that is not a regular file: the prefix read that decides how it is checked (refusing bytes
// that cannot begin JSON at once), the stream that replays it, and the per-record bound of a
// streamed input.
#include <catch2/catch.hpp>

#include <sstream>
#include <string>

#include "input.hpp"
#include "stream.hpp"

using flowguard::engine::ItemReader;
using flowguard::engine::ItemStart;
using flowguard::engine::PrefixedStreambuf;
using flowguard::engine::read_prefix;

TEST_CASE("a prefix read refuses at once bytes that cannot begin a JSON document, naming line and column") {
  bool complete = true;
  std::istringstream zeros(std::string(4096, '\0'));
  auto r = read_prefix(zeros, "/dev/zero", 1 << 20, complete);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == flowguard::ErrorCode::kParse);
  CHECK(r.error().message ==
        "/dev/zero:1:1: not valid JSON: byte 0x00 cannot begin a JSON document; expected '{', '[', a string, a "
        "number, true, false or null");

  std::istringstream late("\xEF\xBB\xBF \n\n   <html>");
  r = read_prefix(late, "-", 1 << 20, complete);
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message, Catch::StartsWith("-:3:4: not valid JSON: '<' (0x3C) cannot begin"));

  for (const char* ok : {"[1]", "{}", "\"s\"", "-1", "7", "true", "false", "null", "  \n [ ]"}) {
    std::istringstream in(ok);
    r = read_prefix(in, "-", 1 << 20, complete);
    CHECK(r.ok());
    CHECK(complete);
    CHECK(r.value().view() == ok);
  }
}

TEST_CASE("a prefix read stops at its limit, and only whitespace up to it is refused") {
  bool complete = true;
  std::string big = "[" + std::string(3000, ' ') + "1]";
  std::istringstream in(big);
  auto r = read_prefix(in, "-", 1000, complete);
  REQUIRE(r.ok());
  CHECK_FALSE(complete);
  CHECK(r.value().size() == 1000);

  std::istringstream blank(std::string(3000, '\n'));
  r = read_prefix(blank, "-", 1000, complete);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == flowguard::ErrorCode::kLimit);
  CHECK_THAT(r.error().message, Catch::Contains("the first 1000 bytes are all whitespace"));
}

TEST_CASE("the prefixed stream gives the prefix and then the rest, byte for byte") {
  std::string text;
  for (int i = 0; i < 300000; ++i) text += std::to_string(i) + ",";
  std::istringstream in(text);
  bool complete = true;
  auto prefix = read_prefix(in, "-", 12345, complete);
  REQUIRE(prefix.ok());
  PrefixedStreambuf buf(prefix.value(), in.rdbuf());
  std::istream replay(&buf);
  std::ostringstream out;
  out << replay.rdbuf();
  CHECK(out.str() == text);
}

TEST_CASE("a streamed record longer than the bound is a limit error where the record starts") {
  // `["` and then no end: without the bound the record would grow with the input.
  std::string text = "[\n  \"" + std::string(ItemReader::kMaxItemBytes + 10, 'a');
  std::istringstream in(text);
  ItemReader reader(in, false);
  std::string item;
  ItemStart start;
  CHECK_FALSE(reader.next(item, start));
  REQUIRE(reader.error());
  CHECK(reader.error_is_limit());
  CHECK_THAT(*reader.error(), Catch::Contains("a record longer than 64 MiB"));
  CHECK(reader.error_at().line == 2);
  CHECK(reader.error_at().column == 3);

  // A record just under it is read.
  std::string ok = "[\"" + std::string(ItemReader::kMaxItemBytes - 10, 'a') + "\"]";
  std::istringstream in2(ok);
  ItemReader reader2(in2, false);
  CHECK(reader2.next(item, start));
  CHECK(item.size() == ItemReader::kMaxItemBytes - 8);
  CHECK_FALSE(reader2.error());
}
