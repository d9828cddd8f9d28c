#include <catch2/catch.hpp>

#include <string>

#include "flowguard/json/document.hpp"

using namespace flowguard::json;

namespace {

Document parse_ok(std::string_view input) {
  auto r = Document::parse(input);
  INFO((r.ok() ? std::string() : r.error().message));
  REQUIRE(r.ok());
  return std::move(r).value();
}

// Round trip through the parser: the output must be valid JSON that decodes to `expected`.
void check_round_trip(std::string_view text, std::string_view expected) {
  std::string out;
  write_json_string(out, text);
  auto r = Document::parse(out);
  INFO(out);
  REQUIRE(r.ok());
  REQUIRE(r->root().is_string());
  CHECK(r->root().as_string() == expected);
}

}  // namespace

TEST_CASE("escape_pointer_token and append_pointer", "[json][pointer]") {
  CHECK(escape_pointer_token("a/b~c") == "a~1b~0c");
  CHECK(escape_pointer_token("") == "");
  CHECK(escape_pointer_token("~1") == "~01");
  CHECK(escape_pointer_token("plain key") == "plain key");

  std::string p;
  append_pointer(p, "a/b");
  CHECK(p == "/a~1b");
  append_pointer(p, std::size_t{3});
  CHECK(p == "/a~1b/3");
  append_pointer(p, "");
  CHECK(p == "/a~1b/3/");
  append_pointer(p, "~");
  CHECK(p == "/a~1b/3//~0");
  std::string q;
  append_pointer(q, std::size_t{0});
  append_pointer(q, std::size_t{18446744073709551615ULL});
  CHECK(q == "/0/18446744073709551615");
}

TEST_CASE("resolve_pointer follows RFC 6901", "[json][pointer]") {
  // The example document of RFC 6901 section 5.
  const Document doc = parse_ok(R"({"foo": ["bar", "baz"], "": 0, "a/b": 1, "c%d": 2, "e^f": 3,
                                    "g|h": 4, "i\\j": 5, "k\"l": 6, " ": 7, "m~n": 8})");
  const Value& root = doc.root();
  CHECK(resolve_pointer(root, "") == &root);
  REQUIRE(resolve_pointer(root, "/foo") != nullptr);
  CHECK(resolve_pointer(root, "/foo")->is_array());
  CHECK(resolve_pointer(root, "/foo/0")->as_string() == "bar");
  CHECK(resolve_pointer(root, "/foo/1")->as_string() == "baz");
  CHECK(resolve_pointer(root, "/")->as_double() == 0);
  CHECK(resolve_pointer(root, "/a~1b")->as_double() == 1);
  CHECK(resolve_pointer(root, "/c%d")->as_double() == 2);
  CHECK(resolve_pointer(root, "/e^f")->as_double() == 3);
  CHECK(resolve_pointer(root, "/g|h")->as_double() == 4);
  CHECK(resolve_pointer(root, "/i\\j")->as_double() == 5);
  CHECK(resolve_pointer(root, "/k\"l")->as_double() == 6);
  CHECK(resolve_pointer(root, "/ ")->as_double() == 7);
  CHECK(resolve_pointer(root, "/m~0n")->as_double() == 8);

  CHECK(resolve_pointer(root, "foo") == nullptr);       // must start with '/'
  CHECK(resolve_pointer(root, "/foo/-") == nullptr);    // past the end never resolves
  CHECK(resolve_pointer(root, "/foo/2") == nullptr);
  CHECK(resolve_pointer(root, "/foo/01") == nullptr);   // no leading zeros
  CHECK(resolve_pointer(root, "/foo/-1") == nullptr);
  CHECK(resolve_pointer(root, "/foo/x") == nullptr);
  CHECK(resolve_pointer(root, "/foo/99999999999999999999999") == nullptr);
  CHECK(resolve_pointer(root, "/foo/0/x") == nullptr);  // into a string
  CHECK(resolve_pointer(root, "/m~2n") == nullptr);     // invalid escape
  CHECK(resolve_pointer(root, "/m~") == nullptr);
  CHECK(resolve_pointer(root, "/a/b") == nullptr);      // unescaped '/' splits tokens
  CHECK(resolve_pointer(root, "/missing") == nullptr);
  CHECK(resolve_pointer(root, "/foo/") == nullptr);     // "" is not an index
}

TEST_CASE("resolve_pointer in nested values and with duplicates", "[json][pointer]") {
  const Document doc = parse_ok(R"({"a": [{"b": [10, 20, {"~/": true}]}], "d": 1, "d": 2})");
  const Value& root = doc.root();
  CHECK(resolve_pointer(root, "/a/0/b/1")->as_double() == 20);
  CHECK(resolve_pointer(root, "/a/0/b/2/~0~1")->as_bool());
  CHECK(resolve_pointer(root, "/d")->as_double() == 1);  // the first of duplicates
  // Pointers built by append_pointer resolve back to the value.
  std::string p;
  append_pointer(p, "a");
  append_pointer(p, std::size_t{0});
  append_pointer(p, "b");
  append_pointer(p, std::size_t{2});
  append_pointer(p, "~/");
  CHECK(resolve_pointer(root, p) == resolve_pointer(root, "/a/0/b/2/~0~1"));
  const Document scalar = parse_ok("5");
  CHECK(resolve_pointer(scalar.root(), "") == &scalar.root());
  CHECK(resolve_pointer(scalar.root(), "/0") == nullptr);
}

TEST_CASE("write_json_string escapes what JSON requires and keeps UTF-8", "[json][strings]") {
  std::string out;
  write_json_string(out, "a\"b\\c/\n\t\r\b\f\x01\x1f\x7f \xC3\xA9\xE2\x82\xAC");
  CHECK(out == "\"a\\\"b\\\\c/\\n\\t\\r\\b\\f\\u0001\\u001f\x7f \xC3\xA9\xE2\x82\xAC\"");
  out = "prefix:";
  write_json_string(out, "");
  CHECK(out == "prefix:\"\"");

  std::string all_controls;
  for (int c = 0; c < 0x20; ++c) all_controls.push_back(static_cast<char>(c));
  check_round_trip(all_controls, all_controls);
  check_round_trip("\xF0\x9F\x98\x80 and \"quotes\" \\", "\xF0\x9F\x98\x80 and \"quotes\" \\");

  // Ill-formed UTF-8 is replaced so the output stays valid JSON.
  out.clear();
  write_json_string(out, "a\xFF" "b\xC3");
  CHECK(out == "\"a\\ufffdb\\ufffd\"");
  check_round_trip("x\xED\xA0\x80y", "x\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBDy");
}

TEST_CASE("preview renders short quoted values", "[json][preview]") {
  const Document doc = parse_ok(R"(["18-03-203", 25.110, true, false, null, {}, [], {"a": 1, "b": 2}, [1, 2, 3], [1],
      {"k": 0}, "line\nbreak", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
      "ééééééééééééééééééééééééééééééééééééééééééééééééééééé", 1.00000000000000000000000000000000000000000000000001])");
  const auto v = doc.root().items();
  CHECK(preview(v[0]) == "\"18-03-203\"");
  CHECK(preview(v[1]) == "25.110");
  CHECK(preview(v[2]) == "true");
  CHECK(preview(v[3]) == "false");
  CHECK(preview(v[4]) == "null");
  CHECK(preview(v[5]) == "{}");
  CHECK(preview(v[6]) == "[]");
  CHECK(preview(v[7]) == "{\xE2\x80\xA6} (2 members)");
  CHECK(preview(v[8]) == "[\xE2\x80\xA6] (3 items)");
  CHECK(preview(v[9]) == "[\xE2\x80\xA6] (1 item)");
  CHECK(preview(v[10]) == "{\xE2\x80\xA6} (1 member)");
  CHECK(preview(v[11]) == "\"line\\nbreak\"");

  // Long strings: at most max_chars code points including quotes and the ellipsis.
  const std::string a = preview(v[12], 10);
  CHECK(a == "\"aaaaaaa\xE2\x80\xA6\"");
  CHECK(preview(v[12]) == "\"" + std::string(37, 'a') + "\xE2\x80\xA6\"");
  // Multibyte text is cut on a code point boundary and stays valid UTF-8.
  const std::string e = preview(v[13], 10);
  CHECK(e == "\"" + [] { std::string s; for (int i = 0; i < 7; ++i) s += "\xC3\xA9"; return s; }() + "\xE2\x80\xA6\"");
  CHECK(parse_ok(e).root().is_string());
  // A string exactly at the budget is not shortened.
  const Document exact = parse_ok("\"12345678\"");
  CHECK(preview(exact.root(), 10) == "\"12345678\"");
  CHECK(preview(exact.root(), 9) == "\"123456\xE2\x80\xA6\"");
  // Long number text is shortened too.
  CHECK(preview(v[14], 10) == "1.0000000\xE2\x80\xA6");
  CHECK(preview(v[14]).size() == 39 + 3);
}
