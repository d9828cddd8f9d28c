#include <catch2/catch.hpp>

#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "flowguard/json/document.hpp"

using namespace flowguard::json;
using Catch::Matchers::StartsWith;

namespace {

// Parses input that must be rejected and returns the structured error.
ParseError error_of(std::string_view input, const ParseOptions& options = {}) {
  Document doc;
  ParseError error;
  const bool ok = Document::parse(input, doc, error, options);
  REQUIRE_FALSE(ok);
  return error;
}

Document parse_ok(std::string_view input) {
  Document doc;
  ParseError error;
  const bool ok = Document::parse(input, doc, error);
  INFO("unexpected error " << error.line << ":" << error.column << ": " << error.message);
  REQUIRE(ok);
  return doc;
}

struct Expect {
  const char* input;
  std::uint64_t offset;
  std::uint32_t line;
  std::uint32_t column;
  const char* message;
};

void check(const Expect& e) {
  INFO("input: " << e.input);
  const ParseError error = error_of(e.input);
  CHECK(error.message == e.message);
  CHECK(error.offset == e.offset);
  CHECK(error.line == e.line);
  CHECK(error.column == e.column);
  CHECK_FALSE(error.limit);
}

}  // namespace

TEST_CASE("parses every value kind", "[json]") {
  const Document doc = parse_ok(R"( {"n": null, "t": true, "f": false, "i": 42, "s": "hi", "a": [1, [], {}], "o": {"k": "v"}} )");
  const Value& root = doc.root();
  REQUIRE(root.is_object());
  REQUIRE(root.size() == 7);
  CHECK(root.find("n")->is_null());
  CHECK(root.find("t")->as_bool());
  CHECK(root.find("t")->is_bool());
  CHECK_FALSE(root.find("f")->as_bool());
  CHECK(root.find("f")->kind() == Kind::kFalse);
  CHECK(root.find("i")->as_double() == 42.0);
  CHECK(root.find("s")->as_string() == "hi");
  const Value* a = root.find("a");
  REQUIRE(a->is_array());
  REQUIRE(a->size() == 3);
  CHECK(a->items()[0].as_double() == 1.0);
  CHECK(a->items()[1].is_array());
  CHECK(a->items()[1].size() == 0);
  CHECK(a->items()[2].is_object());
  CHECK(a->items()[2].members().empty());
  CHECK(root.find("o")->find("k")->as_string() == "v");
  CHECK(root.find("missing") == nullptr);
  CHECK(root.find_member("s")->key == "s");
  // Members in source order.
  std::string keys;
  for (const Member& m : root.members()) keys += m.key;
  CHECK(keys == "ntfisao");
  // Kind-mismatched accessors are empty, not undefined.
  CHECK(root.items().empty());
  CHECK(a->members().empty());
  CHECK(a->find("x") == nullptr);
  CHECK(root.find("i")->size() == 0);
}

TEST_CASE("scalar roots and whitespace", "[json]") {
  CHECK(parse_ok("7").root().as_double() == 7.0);
  CHECK(parse_ok(" \t\r\n\"x\" \n").root().as_string() == "x");
  CHECK(parse_ok("null").root().is_null());
  CHECK(parse_ok("true").root().as_bool());
  CHECK(parse_ok("false").root().kind() == Kind::kFalse);
  CHECK(parse_ok("[]").root().is_array());
}

TEST_CASE("to_string(Kind)", "[json]") {
  CHECK(std::string(to_string(Kind::kNull)) == "null");
  CHECK(std::string(to_string(Kind::kTrue)) == "boolean");
  CHECK(std::string(to_string(Kind::kFalse)) == "boolean");
  CHECK(std::string(to_string(Kind::kNumber)) == "number");
  CHECK(std::string(to_string(Kind::kString)) == "string");
  CHECK(std::string(to_string(Kind::kArray)) == "array");
  CHECK(std::string(to_string(Kind::kObject)) == "object");
}

TEST_CASE("structural errors report line, column and what was expected", "[json][errors]") {
  check({"", 0, 1, 1, "unexpected end of input: expected a value"});
  check({"  \n  ", 5, 2, 3, "unexpected end of input: expected a value"});
  check({"[1,2}", 4, 1, 5, "expected ',' or ']' after array item, found '}'"});
  check({"[1,2", 4, 1, 5, "unexpected end of input: expected ',' or ']' after array item"});
  check({"[1,}", 3, 1, 4, "expected a value, found '}'"});
  check({"[1,]", 3, 1, 4, "expected a value after ',', found ']' (trailing commas are not allowed)"});
  check({"[", 1, 1, 2, "unexpected end of input: expected a value"});
  check({"{\"a\":1 \"b\":2}", 7, 1, 8, "expected ',' or '}' after object member, found '\"'"});
  check({"{\"a\":1", 6, 1, 7, "unexpected end of input: expected ',' or '}' after object member"});
  check({"{\"a\":1,}", 7, 1, 8, "expected a string key after ',', found '}' (trailing commas are not allowed)"});
  check({"{\"a\":1,2}", 7, 1, 8, "expected a string key after ',', found '2'"});
  check({"{a:1}", 1, 1, 2, "expected a string key or '}', found 'a'"});
  check({"{\"a\" 1}", 5, 1, 6, "expected ':' after object key, found '1'"});
  check({"{\"a\"", 4, 1, 5, "unexpected end of input: expected ':' after object key"});
  check({"{\"a\":}", 5, 1, 6, "expected a value, found '}'"});
  check({"{'a':1}", 1, 1, 2, "expected a string key or '}', found ''' (JSON strings use double quotes)"});
  check({"[1] x", 4, 1, 5, "expected end of input after the root value, found 'x'"});
  check({"1 2", 2, 1, 3, "expected end of input after the root value, found '2'"});
  check({"{}}", 2, 1, 3, "expected end of input after the root value, found '}'"});
  check({"[1] // note", 4, 1, 5,
         "expected end of input after the root value, found '/' (comments are not allowed in JSON)"});
  check({"/* c */ 1", 0, 1, 1, "expected a value, found '/' (comments are not allowed in JSON)"});
  check({"[\x01]", 1, 1, 2, "expected a value, found control character U+0001"});
  check({"\xC3\xA9", 0, 1, 1, "expected a value, found '\xC3\xA9'"});
  check({"\xFF", 0, 1, 1, "expected a value, found invalid UTF-8 byte 0xFF"});
}

TEST_CASE("literal errors", "[json][errors]") {
  check({"tru", 3, 1, 4, "unexpected end of input: expected 'true'"});
  check({"[trux]", 1, 1, 2, "expected 'true', found 'trux'"});
  check({"[nul]", 1, 1, 2, "expected 'null', found 'nul'"});
  check({"[fals ]", 1, 1, 2, "expected 'false', found 'fals'"});
  check({"True", 0, 1, 1, "expected a value, found 'T'"});
  check({"[truex]", 5, 1, 6, "expected ',' or ']' after array item, found 'x'"});
  check({"NaN", 0, 1, 1, "expected a value, found 'N' (NaN and Infinity are not valid JSON)"});
  check({"[Infinity]", 1, 1, 2, "expected a value, found 'I' (NaN and Infinity are not valid JSON)"});
  check({"-Infinity", 1, 1, 2, "expected a digit after '-', found 'I' (NaN and Infinity are not valid JSON)"});
}

TEST_CASE("number grammar errors", "[json][errors]") {
  check({"[01]", 1, 1, 2, "leading zeros are not allowed in numbers"});
  check({"-01", 0, 1, 1, "leading zeros are not allowed in numbers"});
  check({"[00.5]", 1, 1, 2, "leading zeros are not allowed in numbers"});
  check({"[1.]", 3, 1, 4, "expected a digit after '.', found ']'"});
  check({"[.5]", 1, 1, 2, "expected a value, found '.'"});
  check({"[1e]", 3, 1, 4, "expected a digit in the exponent, found ']'"});
  check({"1e+", 3, 1, 4, "unexpected end of input: expected a digit in the exponent"});
  check({"[-]", 2, 1, 3, "expected a digit after '-', found ']'"});
  check({"[+1]", 1, 1, 2, "expected a value, found '+'"});
  check({"[0x10]", 2, 1, 3, "expected ',' or ']' after array item, found 'x'"});
  check({"[1.5.2]", 4, 1, 5, "expected ',' or ']' after array item, found '.'"});
}

TEST_CASE("string errors", "[json][errors]") {
  check({"\"abc", 0, 1, 1, "unterminated string: no closing '\"' before end of input"});
  check({"[\"ab\\", 1, 1, 2, "unterminated string: no closing '\"' before end of input"});
  check({"[\"a\\n", 1, 1, 2, "unterminated string: no closing '\"' before end of input"});
  check({"[\"ab\ncd\"]", 4, 1, 5, "unterminated string: line break before the closing '\"' (write it as \\n)"});
  check({"\"a\tb\"", 2, 1, 3, "unescaped control character U+0009 in string (write it as \\t)"});
  check({"\"a\x01\"", 2, 1, 3, "unescaped control character U+0001 in string (write it as \\u0001)"});
  check({"\"\\n\x1F\"", 3, 1, 4, "unescaped control character U+001F in string (write it as \\u001F)"});
  {
    const ParseError e = error_of("\"a\\xb\"");
    CHECK_THAT(e.message, StartsWith("invalid escape '\\x'"));
    CHECK(e.offset == 2);
    CHECK(e.column == 3);
  }
  {
    const ParseError e = error_of("\"\\'\"");
    CHECK_THAT(e.message, StartsWith("invalid escape '\\''"));
  }
  check({"\"\\u12G4\"", 1, 1, 2, "invalid \\u escape: expected 4 hex digits after \\u"});
  check({"\"\\u12\"", 1, 1, 2, "invalid \\u escape: expected 4 hex digits after \\u"});
  check({"\"\\uD83D\"", 1, 1, 2,
         "lone high surrogate \\uD83D in string: expected a low surrogate \\uDC00-\\uDFFF to follow"});
  check({"\"x\\uD83D\\u0041\"", 2, 1, 3,
         "lone high surrogate \\uD83D in string: expected a low surrogate \\uDC00-\\uDFFF to follow"});
  check({"\"\\ud83d\\ud83d\"", 1, 1, 2,
         "lone high surrogate \\ud83d in string: expected a low surrogate \\uDC00-\\uDFFF to follow"});
  check({"\"\\uDE00\"", 1, 1, 2, "lone low surrogate \\uDE00 in string: not preceded by a high surrogate"});
}

TEST_CASE("invalid UTF-8 in strings is rejected at the offending byte", "[json][utf8]") {
  const char* bad[] = {
      "\"a\xFF\"",              // never valid
      "\"a\xC3\"",              // lead without continuation
      "\"a\xC0\xAF\"",          // overlong '/'
      "\"a\xE0\x80\xAF\"",      // overlong 3-byte
      "\"a\xED\xA0\x80\"",      // UTF-16 surrogate encoded in UTF-8
      "\"a\xF4\x90\x80\x80\"",  // above U+10FFFF
      "\"a\xF8\x88\x80\x80\x80\"",
      "\"a\x80\"",              // stray continuation
      "\"a\\n\xFE\"",           // on the escaped-string path too
  };
  for (const char* input : bad) {
    INFO(input);
    const ParseError e = error_of(input);
    CHECK_THAT(e.message, StartsWith("invalid UTF-8 in string: byte 0x"));
    CHECK(e.offset == (std::string_view(input).find('\\') == std::string_view::npos ? 2u : 4u));
  }
  const ParseError truncated = error_of("\"a\xE2\x82");
  CHECK_THAT(truncated.message, StartsWith("invalid UTF-8 in string"));
  CHECK(truncated.offset == 2);
  // Valid edges: U+0080, U+07FF, U+0800, U+FFFF, U+10000, U+10FFFF.
  const Document doc = parse_ok("\"\xC2\x80\xDF\xBF\xE0\xA0\x80\xEF\xBF\xBF\xF0\x90\x80\x80\xF4\x8F\xBF\xBF\"");
  CHECK(doc.root().as_string().size() == 18);
}

TEST_CASE("escapes decode to UTF-8", "[json][strings]") {
  const Document doc = parse_ok(R"(["\"\\\/\b\f\n\r\t", "\u0041\u00e9\u20AC", "\uD83D\uDE00", "a\u0000b", "x\ud834\udd1ey"])");
  const auto items = doc.root().items();
  CHECK(items[0].as_string() == "\"\\/\b\f\n\r\t");
  CHECK(items[1].as_string() == "A\xC3\xA9\xE2\x82\xAC");
  CHECK(items[2].as_string() == "\xF0\x9F\x98\x80");
  CHECK(items[3].as_string() == std::string_view("a\0b", 3));
  CHECK(items[4].as_string() == "x\xF0\x9D\x84\x9Ey");
  // Offsets are of the opening quote even for decoded strings.
  CHECK(items[1].offset() == doc.source().find("\"\\u0041"));
}

TEST_CASE("strings without escapes point into the document's own source", "[json][strings]") {
  std::string input = R"({"plain": "abc", "escaped": "a\nb"})";
  const Document doc = parse_ok(input);
  const std::string_view src = doc.source();
  CHECK(src == input);
  CHECK(src.data() != input.data());  // a copy
  auto inside = [&](std::string_view s) { return s.data() >= src.data() && s.data() + s.size() <= src.data() + src.size(); };
  CHECK(inside(doc.root().find("plain")->as_string()));
  CHECK(inside(doc.root().members()[0].key));
  CHECK_FALSE(inside(doc.root().find("escaped")->as_string()));
  input.assign(input.size(), 'X');  // the caller's buffer may go away
  CHECK(doc.root().find("plain")->as_string() == "abc");
}

TEST_CASE("huge strings", "[json][strings]") {
  std::string big(8 << 20, 'a');
  for (std::size_t i = 1000; i < big.size(); i += 7919) big[i] = 'Z';
  std::string input = "[\"" + big + "\", \"" + big + "\\n\xC3\xA9\\u00e9\"]";
  const Document doc = parse_ok(input);
  REQUIRE(doc.root().size() == 2);
  CHECK(doc.root().items()[0].as_string() == big);
  CHECK(doc.root().items()[1].as_string() == big + "\n\xC3\xA9\xC3\xA9");
  CHECK(doc.root().items()[1].offset() == big.size() + 5);
  // A huge string that is never closed.
  const ParseError e = error_of("[\"" + big);
  CHECK(e.message == "unterminated string: no closing '\"' before end of input");
  CHECK(e.offset == 1);
}

TEST_CASE("numbers keep their source text", "[json][numbers]") {
  const Document doc = parse_ok("[25.11, 25.110, 7, -0, 1e3, 1.5e2, 0.1, -12.5E-1, 123456789012345, 12345678901234567890, 0]");
  const auto n = doc.root().items();
  CHECK(n[0].number_text() == "25.11");
  CHECK(n[0].decimal_places() == 2);
  CHECK(n[0].as_double() == 25.11);
  CHECK_FALSE(n[0].is_integer_text());
  CHECK(n[1].number_text() == "25.110");
  CHECK(n[1].decimal_places() == 3);
  CHECK(n[2].is_integer_text());
  CHECK(n[2].decimal_places() == 0);
  CHECK(n[2].as_double() == 7.0);
  CHECK(n[3].number_text() == "-0");
  CHECK(n[3].is_integer_text());
  CHECK(n[3].as_double() == 0.0);
  CHECK(std::signbit(n[3].as_double()));
  CHECK(n[4].number_text() == "1e3");
  CHECK_FALSE(n[4].is_integer_text());
  CHECK(n[4].as_double() == 1000.0);
  CHECK(n[4].decimal_places() == 0);
  CHECK(n[5].decimal_places() == 1);
  CHECK(n[5].as_double() == 150.0);
  CHECK(n[6].as_double() == 0.1);
  CHECK(n[7].as_double() == -1.25);
  CHECK(n[7].decimal_places() == 1);
  CHECK(n[8].as_double() == 123456789012345.0);
  CHECK(n[9].as_double() == 12345678901234567890.0);
  CHECK(n[9].is_integer_text());
  CHECK(n[10].as_double() == 0.0);
  CHECK(n[10].offset() == doc.source().rfind('0'));
  // Non-numbers answer neutrally.
  const Document s = parse_ok("\"1.5\"");
  CHECK_FALSE(s.root().is_integer_text());
  CHECK(s.root().decimal_places() == 0);
}

TEST_CASE("numbers beyond double range are limit errors, zeros and the extremes of the range are not", "[json][numbers]") {
  // Inside the range: the largest double, the smallest subnormal, and zeros however written.
  const Document doc = parse_ok("[1.7976931348623157e308, 5e-324, -5e-324, 0.0000e999, 0e-400, -0.0e-999, 1e-310]");
  const auto n = doc.root().items();
  CHECK(n[0].as_double() == std::numeric_limits<double>::max());
  CHECK(n[1].as_double() > 0);
  CHECK(n[2].as_double() < 0);
  CHECK(n[3].as_double() == 0.0);
  CHECK(n[4].as_double() == 0.0);
  CHECK(n[5].as_double() == 0.0);
  CHECK(n[6].as_double() > 0);
  // Beyond it: an error at the number (a limit, not a syntax error), never infinity or a false zero.
  struct Case {
    const char* text;
    const char* words;
  };
  const Case cases[] = {
      {"[1, 1e400]", "beyond the range of a double"},       {"[1, -1e400]", "beyond the range of a double"},
      {"[1, 1.8e308]", "beyond the range of a double"},     {"[1, 1e-400]", "too small to tell from zero"},
      {"[1, -1e-400]", "too small to tell from zero"},      {"[1, 100000000000000000000e-500]", "too small to tell"},
      {"[1, 2e-324]", "too small to tell from zero"},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    Document d;
    ParseError error;
    REQUIRE_FALSE(Document::parse(c.text, d, error));
    CHECK(error.limit);
    CHECK(error.offset == 4);
    CHECK(error.line == 1);
    CHECK(error.column == 5);
    CHECK_THAT(error.message, Catch::Contains(c.words));
    CHECK_THAT(error.message, Catch::Contains("expected"));
  }
}

TEST_CASE("offsets of values and keys", "[json][offsets]") {
  //                    0         1         2         3
  //                    0123456789012345678901234567890123456
  const Document doc = parse_ok(R"({"a": [true, null], "b": {"c": "x"}})");
  const Value& root = doc.root();
  CHECK(root.offset() == 0);
  const auto m = root.members();
  CHECK(m[0].key_offset == 1);
  CHECK(m[0].value.offset() == 6);
  CHECK(m[0].value.items()[0].offset() == 7);
  CHECK(m[0].value.items()[1].offset() == 13);
  CHECK(m[1].key_offset == 20);
  CHECK(m[1].value.offset() == 25);
  CHECK(m[1].value.members()[0].key_offset == 26);
  CHECK(m[1].value.members()[0].value.offset() == 31);
  CHECK(doc.lines().locate(m[1].value.members()[0].value.offset()) == std::pair<std::uint32_t, std::uint32_t>{1, 32});
}

TEST_CASE("children of a container are contiguous", "[json][layout]") {
  const Document doc = parse_ok(R"([[1,2],{"k":[3]},4,"s"])");
  const auto items = doc.root().items();
  REQUIRE(items.size() == 4);
  CHECK(&items[1] == &items[0] + 1);
  CHECK(items[0].items()[0].as_double() == 1.0);
  CHECK(items[0].items()[1].as_double() == 2.0);
  CHECK(items[1].find("k")->items()[0].as_double() == 3.0);
  CHECK(items[3].as_string() == "s");
}

TEST_CASE("duplicate keys are recorded", "[json][duplicates]") {
  const Document doc = parse_ok(R"({"a":1,"b":2,"a":3,"c":{"x":1,"x":2},"a":4})");
  const auto& dups = doc.duplicate_keys();
  REQUIRE(dups.size() == 3);
  CHECK(dups[0].key == "a");
  CHECK(dups[0].key_offset == 13);
  CHECK(dups[0].object == &doc.root());
  CHECK(dups[1].key == "x");
  CHECK(dups[1].key_offset == doc.source().rfind("\"x\""));
  CHECK(dups[1].object == doc.root().find("c"));
  CHECK(dups[2].key == "a");
  CHECK(dups[2].key_offset == doc.source().rfind("\"a\""));
  // Kept in source order; find() returns the first.
  CHECK(doc.root().size() == 5);
  CHECK(doc.root().find("a")->as_double() == 1.0);

  CHECK(parse_ok(R"({"a":1,"A":2,"b":{"a":3}})").duplicate_keys().empty());
  // Keys compare decoded: "\u0061" is "a".
  CHECK(parse_ok(R"({"a":1,"\u0061":2})").duplicate_keys().size() == 1);
}

TEST_CASE("duplicate keys in large objects and nested arrays", "[json][duplicates]") {
  std::string input = "[0,[{";
  for (int i = 0; i < 200; ++i) input += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + ",";
  input += "\"k150\":1,\"k7\":2,\"k150\":3}]]";
  const Document doc = parse_ok(input);
  const auto& dups = doc.duplicate_keys();
  REQUIRE(dups.size() == 3);
  const Value* object = &doc.root().items()[1].items()[0];
  CHECK(dups[0].key == "k150");
  CHECK(dups[1].key == "k7");
  CHECK(dups[2].key == "k150");
  CHECK(dups[0].key_offset < dups[1].key_offset);
  CHECK(dups[1].key_offset < dups[2].key_offset);
  for (const auto& d : dups) {
    CHECK(d.object == object);
    CHECK(doc.source().substr(d.key_offset, d.key.size() + 2) == "\"" + std::string(d.key) + "\"");
  }
}

TEST_CASE("duplicate keys in mid-sized objects with similar keys", "[json][duplicates]") {
  std::string input = "{";
  for (int i = 0; i < 60; ++i) input += "\"key_" + std::to_string(i % 10) + std::to_string(i / 10) + "\":" + std::to_string(i) + ",";
  input += "\"key_30\":true}";
  const Document doc = parse_ok(input);
  REQUIRE(doc.duplicate_keys().size() == 1);
  CHECK(doc.duplicate_keys()[0].key == "key_30");
  CHECK(doc.duplicate_keys()[0].key_offset == doc.source().rfind("\"key_30\""));
  CHECK(doc.root().find("key_30")->as_double() == 3.0);  // "key_30" first appears as i = 3
  CHECK(parse_ok(R"({"":1,"a":2,"":3})").duplicate_keys().size() == 1);
}

TEST_CASE("depth limit", "[json][limits]") {
  const std::string ok = std::string(256, '[') + std::string(256, ']');
  CHECK(parse_ok(ok).root().is_array());

  const std::string deep = std::string(257, '[') + std::string(257, ']');
  ParseError e = error_of(deep);
  CHECK(e.message == "nesting deeper than 256 levels");
  CHECK(e.limit);
  CHECK(e.offset == 256);
  CHECK(e.column == 257);

  ParseOptions options;
  options.max_depth = 3;
  CHECK(Document::parse(R"({"a":[{}]})", options).ok());
  e = error_of(R"({"a":[{"b":[]}]})", options);
  CHECK(e.message == "nesting deeper than 3 levels");
  CHECK(e.offset == 11);
  CHECK(e.limit);
}

TEST_CASE("100k nested brackets fail cleanly and fast", "[json][limits]") {
  const auto start = std::chrono::steady_clock::now();
  for (const std::string& input : {std::string(100000, '['), [] {
         std::string s;
         for (int i = 0; i < 100000; ++i) s += "{\"a\":";
         return s;
       }()}) {
    const ParseError e = error_of(input);
    CHECK(e.limit);
    CHECK(e.message == "nesting deeper than 256 levels");
  }
  // Unlimited depth must not recurse either: 1e5 levels parse with an explicit stack.
  ParseOptions unlimited;
  unlimited.max_depth = 1000000;
  const std::string deep = std::string(100000, '[') + "1" + std::string(100000, ']');
  Document doc;
  ParseError error;
  REQUIRE(Document::parse(deep, doc, error, unlimited));
  const Value* v = &doc.root();
  int depth = 0;
  while (v->is_array()) {
    v = &v->items()[0];
    ++depth;
  }
  CHECK(depth == 100000);
  CHECK(v->as_double() == 1.0);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  CHECK(elapsed < std::chrono::seconds(2));
}

TEST_CASE("size limit", "[json][limits]") {
  ParseOptions options;
  options.max_bytes = 10;
  CHECK(Document::parse("[1,2,3,45]", options).ok());  // exactly 10 bytes
  const ParseError e = error_of("[1,2,3,456]", options);
  CHECK(e.limit);
  CHECK(e.message == "input is 11 bytes, over the limit of 10 bytes");

  const auto r = Document::parse("[1,2,3,456]", options);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == flowguard::ErrorCode::kLimit);
}

TEST_CASE("Result API reports line:column: message", "[json]") {
  const auto r = Document::parse("{\n  \"a\": [1,\n}");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == flowguard::ErrorCode::kParse);
  CHECK(r.error().message == "3:1: expected a value, found '}'");

  auto good = Document::parse(R"({"a": 1})");
  REQUIRE(good.ok());
  CHECK(good->root().find("a")->as_double() == 1.0);
  Document moved = std::move(good).value();
  CHECK(moved.root().find("a")->as_double() == 1.0);
}

TEST_CASE("errors on later lines count code points, CRLF and lone CR", "[json][errors][lines]") {
  check({"[1,\r\n2,\r\n}", 9, 3, 1, "expected a value, found '}'"});
  check({"{\n  \"a\": [1,\n   2,,\n]}", 18, 3, 6, "expected a value, found ','"});
  check({"[\"\xC3\xA9\", x]", 7, 1, 7, "expected a value, found 'x'"});
  check({"[\"\xE2\x82\xAC\xF0\x9F\x98\x80\",\r\n \"\xC3\xA9\" x]", 19, 2, 6,
         "expected ',' or ']' after array item, found 'x'"});
  check({"[1,\r2,\r\r}", 8, 4, 1, "expected a value, found '}'"});
}

TEST_CASE("UTF-8 BOM is skipped", "[json][bom]") {
  const Document doc = parse_ok("\xEF\xBB\xBF{\"a\":1}");
  CHECK(doc.root().is_object());
  CHECK(doc.root().offset() == 3);  // offsets are into the original bytes
  CHECK(doc.source().size() == 10);
  CHECK(doc.lines().locate(3) == std::pair<std::uint32_t, std::uint32_t>{1, 1});
  CHECK(doc.lines().locate(4) == std::pair<std::uint32_t, std::uint32_t>{1, 2});
  check({"\xEF\xBB\xBF[1,]", 6, 1, 4, "expected a value after ',', found ']' (trailing commas are not allowed)"});
  check({"\xEF\xBB\xBF", 3, 1, 1, "unexpected end of input: expected a value"});
  // Only one BOM, and only at the start.
  check({"\xEF\xBB\xBF\xEF\xBB\xBF{}", 3, 1, 1, "expected a value, found '\xEF\xBB\xBF'"});
  check({" \xEF\xBB\xBF{}", 1, 1, 2, "expected a value, found '\xEF\xBB\xBF'"});
}

TEST_CASE("LineIndex", "[json][lines]") {
  using Pos = std::pair<std::uint32_t, std::uint32_t>;
  const LineIndex idx("ab\r\ncd\ne\rf");
  CHECK(idx.locate(0) == Pos{1, 1});
  CHECK(idx.locate(1) == Pos{1, 2});
  CHECK(idx.locate(2) == Pos{1, 3});  // the CR of CRLF ends line 1
  CHECK(idx.locate(3) == Pos{1, 4});
  CHECK(idx.locate(4) == Pos{2, 1});
  CHECK(idx.locate(5) == Pos{2, 2});
  CHECK(idx.locate(7) == Pos{3, 1});
  CHECK(idx.locate(9) == Pos{4, 1});  // lone CR
  CHECK(idx.locate(10) == Pos{4, 2});  // end of input
  CHECK(idx.locate(1000) == Pos{4, 2});  // clamped

  const LineIndex utf("h\xC3\xA9llo\n\xE2\x86\x92x\n\xF0\x9F\x98\x80y");
  CHECK(utf.locate(3) == Pos{1, 3});   // 'l' after 'é'
  CHECK(utf.locate(7) == Pos{2, 1});
  CHECK(utf.locate(10) == Pos{2, 2});  // 'x' after '→'
  CHECK(utf.locate(16) == Pos{3, 2});  // 'y' after an emoji

  // Long (minified) lines with multibyte text across block boundaries.
  std::string longline = "\n";
  for (int i = 0; i < 5000; ++i) longline += "\xC3\xA9";
  longline += "x";
  const LineIndex big(longline);
  CHECK(big.locate(10001) == Pos{2, 5001});
  CHECK(big.locate(4097) == Pos{2, 2049});
  CHECK(big.locate(longline.size()) == Pos{2, 5002});
  const std::string exact(8192, 'a');
  CHECK(LineIndex(exact).locate(8192) == Pos{1, 8193});
  CHECK(LineIndex(exact).locate(4096) == Pos{1, 4097});

  CHECK(LineIndex().locate(5) == Pos{1, 1});
  CHECK(LineIndex("").locate(0) == Pos{1, 1});
}

TEST_CASE("LineIndex agrees with a plain count on every offset, line ends anywhere in a 16-byte block",
          "[json][lines]") {
  using Pos = std::pair<std::uint32_t, std::uint32_t>;
  // Reference: walk from the start; "\r\n", "\n" and a lone "\r" end a line; columns count code points.
  auto reference = [](const std::string& s, std::size_t offset) {
    Pos pos{1, 1};
    for (std::size_t i = 0; i < offset && i < s.size(); ++i) {
      const char c = s[i];
      if (c == '\n' || (c == '\r' && (i + 1 == s.size() || s[i + 1] != '\n'))) pos = {pos.first + 1, 1};
      else if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++pos.second;
    }
    return pos;
  };
  const char* pieces[] = {"a", "\n", "\r", "\r\n", "\xC3\xA9", "bc", "\n\n", "    ", "\xE2\x86\x92"};
  std::uint32_t state = 12345;
  for (int round = 0; round < 40; ++round) {
    std::string text;
    const int count = 5 + round * 3;
    for (int i = 0; i < count; ++i) {
      state = state * 1103515245u + 12345u;
      text += pieces[(state >> 16) % 9];
    }
    const LineIndex idx(text);
    // Ascending offsets (the index grows as it goes), then a few going back.
    for (std::size_t offset = 0; offset <= text.size(); ++offset) {
      INFO("round " << round << " offset " << offset);
      CHECK(idx.locate(offset) == reference(text, offset));
    }
    CHECK(idx.locate(0) == Pos{1, 1});
    CHECK(idx.locate(text.size() / 2) == reference(text, text.size() / 2));
    // The whole text indexed in one step (16 bytes at a time), then every offset.
    const LineIndex whole(text);
    CHECK(whole.locate(text.size()) == reference(text, text.size()));
    for (std::size_t offset = 0; offset <= text.size(); ++offset) {
      INFO("round " << round << " offset " << offset << " after indexing the whole text");
      CHECK(whole.locate(offset) == reference(text, offset));
    }
  }
}

namespace {
// Every offset's position in `text` by a plain count, against LineIndex forwards, backwards, out
// of order and after one whole scan.
void check_large_text(const std::string& text, std::uint32_t state) {
  using Pos = std::pair<std::uint32_t, std::uint32_t>;
  std::vector<Pos> expected(text.size() + 1);
  Pos pos{1, 1};
  for (std::size_t i = 0; i <= text.size(); ++i) {
    expected[i] = pos;
    if (i == text.size()) break;
    const char c = text[i];
    if (c == '\n' || (c == '\r' && (i + 1 == text.size() || text[i + 1] != '\n'))) pos = {pos.first + 1, 1};
    else if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++pos.second;
  }
  const LineIndex idx(text);
  for (std::size_t offset = 0; offset <= text.size(); offset += 97) {
    INFO("forwards " << offset);
    REQUIRE(idx.locate(offset) == expected[offset]);
  }
  for (std::size_t offset = text.size(); offset > 0; offset = offset > 1013 ? offset - 1013 : 0) {
    INFO("backwards " << offset);
    REQUIRE(idx.locate(offset) == expected[offset]);
  }
  for (int i = 0; i < 2000; ++i) {
    state = state * 1103515245u + 12345u;
    const std::size_t offset = (state >> 8) % (text.size() + 1);
    INFO("out of order " << offset);
    REQUIRE(idx.locate(offset) == expected[offset]);
  }
  // The whole text in one scan (64 bytes a step, marks on the way), then anywhere.
  const LineIndex whole(text);
  REQUIRE(whole.locate(text.size()) == expected[text.size()]);
  for (int i = 0; i < 2000; ++i) {
    state = state * 1103515245u + 12345u;
    const std::size_t offset = (state >> 8) % (text.size() + 1);
    INFO("after one scan " << offset);
    REQUIRE(whole.locate(offset) == expected[offset]);
  }
}
}  // namespace

TEST_CASE("LineIndex on a large text: forwards, backwards and out of order", "[json][lines]") {
  const char* pieces[] = {"ab", "\n", "\r\n", "\r", "    ", "\xC3\xA9", "{\"k\": 1},", "\n\n"};
  std::string text;
  std::uint32_t state = 7;
  while (text.size() < 300000) {
    state = state * 1103515245u + 12345u;
    text += pieces[(state >> 16) % 8];
  }
  check_large_text(text, state);
}

TEST_CASE("LineIndex on a large text where CRs are rare (the 64-byte blocks without one)", "[json][lines]") {
  // Long CR-free stretches take the wide path (AVX2 where the CPU has it); the odd CR, lone or in
  // a CRLF, anywhere in a block, sends that block through the lanes that handle it.
  std::string text;
  std::uint32_t state = 11;
  while (text.size() < 300000) {
    state = state * 1103515245u + 12345u;
    const std::uint32_t pick = (state >> 16) % 1000;
    text += pick < 3 ? "\r" : pick < 6 ? "\r\n" : pick < 200 ? "\n" : pick < 220 ? "\xC3\xA9" : "    \"k\": 1,";
  }
  check_large_text(text, state);
}

TEST_CASE("LineIndex on lines longer than many marks (minified JSON, huge strings)", "[json][lines]") {
  // Lines of hundreds of KiB: each 64 KiB mark finds its line start by looking back only to the
  // previous mark (looking back to the scan's start made one lookup at the end of a 60 MB line
  // take 33 s); the answers must stay those of a plain count, whatever the order of lookups.
  std::string text(300000, 'a');
  text += "\n";
  for (int i = 0; i < 100000; ++i) text += "\xC3\xA9";
  text += "\r\n\nshort\r";
  text += std::string(200000, 'b');
  text += "\n";
  check_large_text(text, 3);
}

TEST_CASE("Document lines() is lazy and stable, default and moved documents", "[json]") {
  const Document doc = parse_ok("{\n\"a\": 1}");
  const LineIndex& a = doc.lines();
  const LineIndex& b = doc.lines();
  CHECK(&a == &b);
  CHECK(a.locate(doc.root().find("a")->offset()) == std::pair<std::uint32_t, std::uint32_t>{2, 6});

  const Document empty;
  CHECK(empty.root().is_null());
  CHECK(empty.source().empty());
  CHECK(empty.duplicate_keys().empty());
  CHECK(empty.lines().locate(0) == std::pair<std::uint32_t, std::uint32_t>{1, 1});

  Document first = parse_ok(R"({"k": ["v"]})");
  const Value* v = &first.root().find("k")->items()[0];
  Document second = std::move(first);
  CHECK(v->as_string() == "v");  // values do not move with the handle
  CHECK(&second.root().find("k")->items()[0] == v);
  Document third;
  third = std::move(second);
  CHECK(third.root().find("k")->items()[0].as_string() == "v");
}

TEST_CASE("a failed parse leaves the output document untouched", "[json]") {
  Document doc = parse_ok("[1]");
  ParseError error;
  CHECK_FALSE(Document::parse("[1,", doc, error));
  CHECK(doc.root().items()[0].as_double() == 1.0);
  CHECK(error.line == 1);
  CHECK(error.column == 4);
  // And the error is reset on success.
  CHECK(Document::parse("2", doc, error));
  CHECK(error.message.empty());
  CHECK(doc.root().as_double() == 2.0);
}

TEST_CASE("find_member_ignoring_case: the exact key first, else the first equal ignoring ASCII case", "[json]") {
  auto doc = Document::parse(R"({"S1": 1, "s1": 2, "Abc": 3, "ABC": 4, "Straße": 5})");
  REQUIRE(doc.ok());
  const Value& root = doc->root();
  CHECK(root.find_member_ignoring_case("s1")->value.as_double() == 2);    // exact wins over an earlier fold
  CHECK(root.find_member_ignoring_case("aBC")->value.as_double() == 3);   // first of the folds
  CHECK(root.find_member_ignoring_case("STRAßE")->value.as_double() == 5);  // ASCII letters fold, the rest compare as bytes
  CHECK(root.find_member_ignoring_case("STRASSE") == nullptr);
  CHECK(root.find_member_ignoring_case("S") == nullptr);
  CHECK(root.find("S1")->find_member_ignoring_case("x") == nullptr);     // not an object: no members
}

TEST_CASE("large documents reuse the memory of freed ones, on any thread, and the cache can be turned off",
          "[json][memory]") {
  // ~6 MB: its blocks are large enough to be cached when the document is freed.
  std::string big = "[";
  for (int i = 0; i < 60000; ++i) big += (i ? "," : "") + std::string(R"({"id":)") + std::to_string(i) + R"(,"name":"record number )" + std::to_string(i) + R"("})";
  big += "]";
  auto check_doc = [&big](const Document& doc) {
    REQUIRE(doc.root().size() == 60000);
    CHECK(doc.root().items()[59999].find("id")->number_text() == "59999");
    CHECK(doc.root().items()[123].find("name")->as_string() == "record number 123");
    CHECK(doc.source() == big);
  };
  std::string other = big;
  other[7] = '7';  // record 0's id: 0 -> 7
  for (int round = 0; round < 3; ++round) {
    { check_doc(parse_ok(big)); }  // freed here: its blocks go to the cache
    Document second = parse_ok(other);  // built in the reused blocks: nothing of the first remains
    CHECK(second.root().items()[0].find("id")->number_text() == "7");
    CHECK(second.source() == other);
  }
  // Two threads at once (Catch assertions stay on this thread: it is not thread-safe).
  auto parse_on_thread = [&big](bool& same) {
    Document doc;
    ParseError error;
    same = Document::parse(big, doc, error) && doc.root().size() == 60000 && doc.source() == big &&
           doc.root().items()[59999].find("id")->number_text() == "59999";
  };
  bool same1 = false, same2 = false;
  std::thread t1(parse_on_thread, std::ref(same1));
  std::thread t2(parse_on_thread, std::ref(same2));
  t1.join();
  t2.join();
  CHECK(same1);
  CHECK(same2);
  set_parse_memory_cache(0);
  check_doc(parse_ok(big));
  set_parse_memory_cache(kDefaultParseMemoryCache);
  check_doc(parse_ok(big));
}

namespace {
// Every value's kind, offset, text, keys and key offsets, in document order.
std::string dump(const Value& v) {
  std::string out = std::to_string(static_cast<int>(v.kind())) + "@" + std::to_string(v.offset());
  if (v.is_string()) out += "s:" + std::string(v.as_string());
  if (v.is_number()) out += "n:" + std::string(v.number_text());
  if (v.is_array())
    for (const Value& item : v.items()) out += "[" + dump(item) + "]";
  if (v.is_object())
    for (const Member& m : v.members())
      out += "{" + std::string(m.key) + "@" + std::to_string(m.key_offset) + "=" + dump(m.value) + "}";
  return out;
}
}  // namespace

TEST_CASE("a document parsed in place from padded bytes is the one parsed from a copy", "[json][padded]") {
  const std::vector<std::string> inputs = {
      R"([{"a": 1, "b": "x"}, {"a": 2, "b": "y\u00e9"}])",
      "\xEF\xBB\xBF{\"bom\": true}",
      "",
      "   ",
      "[1, 2,",
      "{\"a\": \"unterminated",
      "{\"k\": 1, \"k\": 2}",
      "\"\\u12",
  };
  for (const std::string& input : inputs) {
    INFO("input: " << input);
    const flowguard::PaddedBytes padded(input);
    CHECK(padded.view() == input);
    Document copied, in_place;
    ParseError e1, e2;
    const bool ok1 = Document::parse(input, copied, e1);
    const bool ok2 = Document::parse(padded, in_place, e2);
    REQUIRE(ok1 == ok2);
    if (!ok1) {
      CHECK(e2.message == e1.message);
      CHECK(e2.offset == e1.offset);
      CHECK(e2.line == e1.line);
      CHECK(e2.column == e1.column);
      continue;
    }
    CHECK(in_place.source().data() == padded.data());  // read where it is, not copied
    CHECK(in_place.source() == copied.source());
    CHECK(dump(in_place.root()) == dump(copied.root()));
    CHECK(in_place.duplicate_keys().size() == copied.duplicate_keys().size());
  }
}

TEST_CASE("padded bytes keep zeros after the last byte when resized or cut short", "[json][padded]") {
  flowguard::PaddedBytes bytes;
  CHECK(bytes.size() == 0);
  CHECK(bytes.view().empty());
  CHECK(bytes.data()[0] == '\0');
  bytes.resize(100);
  std::memset(bytes.data(), 'x', 100);
  bytes.truncate(10);
  CHECK(bytes.view() == std::string(10, 'x'));
  for (std::size_t i = 10; i < 10 + flowguard::PaddedBytes::kPadding; ++i) CHECK(bytes.data()[i] == '\0');
  bytes.truncate(50);  // no growing back
  CHECK(bytes.size() == 10);
}

TEST_CASE("moved-from padded bytes read as empty", "[json][padded]") {
  flowguard::PaddedBytes a(std::string_view("[1]"));
  flowguard::PaddedBytes b(std::move(a));
  CHECK(b.view() == "[1]");
  CHECK(a.size() == 0);  // NOLINT(bugprone-use-after-move): what this test is about
  Document doc;
  ParseError error;
  CHECK_FALSE(Document::parse(a, doc, error));
  CHECK(error.message.find("end of input") != std::string::npos);
}

TEST_CASE("padded bytes built by appending stay padded as they grow", "[json][padded]") {
  flowguard::PaddedBytes bytes;
  std::string expected;
  for (int i = 0; i < 2000; ++i) {
    const std::string piece = (i ? "," : "[") + std::to_string(i * 7919);
    bytes.append(piece);
    expected += piece;
    REQUIRE(bytes.view() == expected);
    for (std::size_t k = 0; k < flowguard::PaddedBytes::kPadding; ++k) REQUIRE(bytes.data()[bytes.size() + k] == '\0');
  }
  bytes.append("]");
  Document doc;
  ParseError error;
  REQUIRE(Document::parse(bytes, doc, error));
  CHECK(doc.root().size() == 2000);
  bytes.clear();
  CHECK(bytes.empty());
  bytes.append("{}");
  CHECK(bytes.view() == "{}");
}
