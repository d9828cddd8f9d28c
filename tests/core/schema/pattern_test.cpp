// The native pattern matcher agrees with std::regex (ECMAScript) on ASCII inputs.
#include <catch2/catch.hpp>

#include <regex>
#include <string>
#include <vector>

#include "pattern.hpp"

using flowguard::schema::detail::NativePattern;
using flowguard::schema::detail::Pattern;

TEST_CASE("native matcher agrees with std::regex", "[schema][pattern]") {
  const std::vector<std::string> patterns = {
      "^\\d{2}-\\d{2}-\\d{4}$",
      "^$|^\\d{2}-\\d{2}-\\d{4}$",
      "^[A-Z]{3}$",
      "^[0-9]{1,10}$",
      "^([01]\\d|2[0-3]):[0-5]\\d$",
      "^\\d{2}-\\d{2}-\\d{4} \\d{2}:\\d{2}$",
      "^(Auto|Manual)$",
      "^[A-Za-z0-9_]+$",
      "^\\w+\\s*=\\s*\\w+$",
      "abc",
      "a.c",
      "^a*b?a$",
      "^(ab)*$",
      "^(a|ab)(c|bcd)(d*)$",
      "^[^,]+(,[^,]+)*$",
      "^-?\\d+(\\.\\d{1,2})?$",
      "^\\S+@\\S+\\.\\S+$",
      "x{2,}",
      "^a{0}b$",
      "\\bfoo\\b",
      "\\Bo\\B",
      "^[\\d-]+$",
      "^[a-c\\-x]+$",
      "^(?:\\d{3}|[A-Z]{2})$",
      "^(a*)*$",
      "^(a|b|)+c$",
      "[\\]\\[]",
      "^\\.\\*\\+\\?$",
      "a{2,3}",
      "^\\x41\\u0042$",
      "^[\\s\\S]{3}$",
      "^\\p$",
      "(?<name>ab)c",
      "^[^\\d]{2}$",
      "^[\\W]$",
      "^(?:(?:a|b)c){2,3}$",
      "colou?r",
      "^\\d{13}$",
      "^.{0,5}$",
      "^S-((IF|REP)-)?\\d{3,4}-[0-9a-fA-F]{2}-[a-zA-Z0-9]+$",
      "^(x|y)?-(1|22)$",
      "^(ab)?(cd)?$",
  };
  const std::vector<std::string> inputs = {
      "",          "18-03-2024", "18-03-203", "ABC",         "ABCD",       "abc",       "a c",      "axc",
      "0",         "1234567890", "12345678901", "23:59",     "24:00",      "09:05",     "Auto",     "Manual",
      "manual",    "a_b9",       "key = value", "key=",      "aa",         "aba",       "a",        "abab",
      "abcd",      "abd",        "a,b,c",       "a,,b",      "-12.5",      "12.345",    "x@y.z",    "xx",
      "xxx",       "b",          "foo bar",     "foobar",    "1-2-3",      "a-c",       "123",      "AB",
      "A1",        "aaa",        "abc c",       "[",         "]",          ".*+?",      "a{,2}",    "AB",
      "a\tb",      "p",          "\\p",         "abc",       "xy",         "12",        "!",        "acbc",
      "acbcac",    "color",      "colour",      "1234567890123", "12345",  "123456",    "x\ny",     "a{,2}b",
      "S-IF-031-aF-x9",  "S-REP-0012-00-Z", "S-031-ff-q",  "S-IFREP-031-ff-q", "S-IF-31-ff-q", "S-REP-031-fg-q",
      "S-IF-031-ff-",    "x-1",  "y-22", "-1", "xy-1", "x-12", "ab", "cd", "abcd", "cdab", "abab",
  };
  int native = 0, simple = 0;
  for (const auto& p : patterns) {
    std::string error;
    auto compiled = NativePattern::compile(p, &error);
    INFO("pattern " << p << " " << error);
    REQUIRE(error.empty());
    if (!compiled) continue;  // std::regex fallback: nothing to compare
    ++native;
    simple += compiled->uses_simple_scanner();
    std::regex reference;
    try {
      reference = std::regex(p, std::regex::ECMAScript);
    } catch (const std::regex_error&) {
      continue;  // libstdc++ lacks this ECMAScript feature (e.g. named groups): nothing to compare
    }
    for (const auto& s : inputs) {
      INFO("input \"" << s << "\"");
      CHECK(compiled->search(s) == std::regex_search(s, reference));
    }
  }
  CHECK(native >= static_cast<int>(patterns.size()) - 2);
  CHECK(simple >= 8);
}

TEST_CASE("common schema shapes use the simple scanner", "[schema][pattern]") {
  for (const char* p : {"^\\d{2}-\\d{2}-\\d{4}$", "^$|^\\d{2}-\\d{2}-\\d{4}$", "^[A-Z]{3}$", "^[0-9]{1,10}$",
                        "^([0-9]{13})?$", "^([0-9]{2}-[0-9]{2}-[0-9]{4})?$"}) {
    auto compiled = NativePattern::compile(p, nullptr);
    REQUIRE(compiled);
    CHECK(compiled->uses_simple_scanner());
  }
  // Alternations and optional groups inside the anchors are multiplied out into alternatives.
  for (const char* p : {"^S-((IF|REP)-)?\\d{3,4}-[0-9a-fA-F]{10}-[A-Z]{3,5}-\\d{8}-[a-zA-Z0-9]+$", "^(x|y)?-(1|22)$"}) {
    auto compiled = NativePattern::compile(p, nullptr);
    REQUIRE(compiled);
    CHECK(compiled->uses_simple_scanner());
  }
  // Too many alternatives (2^5) or a repeated group stay on the NFA.
  for (const char* p : {"^(a|b)(c|d)(e|f)(g|h)(i|j)$", "^(ab)+$"}) {
    auto compiled = NativePattern::compile(p, nullptr);
    REQUIRE(compiled);
    CHECK_FALSE(compiled->uses_simple_scanner());
  }
  // Overlapping variable items need the NFA.
  auto overlap = NativePattern::compile("^a*a$", nullptr);
  REQUIRE(overlap);
  CHECK_FALSE(overlap->uses_simple_scanner());
  CHECK(overlap->search("aaa"));
  // The optional-body rewrite keeps the meaning: empty, or exactly the format.
  auto optional = NativePattern::compile("^([0-9]{2}-[0-9]{2})?$", nullptr);
  REQUIRE(optional);
  CHECK(optional->search(""));
  CHECK(optional->search("12-34"));
  CHECK_FALSE(optional->search("12-3"));
  CHECK_FALSE(optional->search("12-3412-34"));
}

TEST_CASE("code points, not bytes, and fallbacks", "[schema][pattern]") {
  auto dot = NativePattern::compile("^.{2}$", nullptr);
  REQUIRE(dot);
  CHECK(dot->search("\xC3\xA9\xE2\x82\xAC"));  // "é€": two code points
  auto range = NativePattern::compile("^[\\u00e0-\\u00ff]+$", nullptr);
  REQUIRE(range);
  CHECK(range->search("\xC3\xA9"));
  CHECK_FALSE(range->search("e"));

  auto look = Pattern::compile("^(?!x)\\w+$");  // lookahead: std::regex fallback
  REQUIRE(look.ok());
  CHECK_FALSE(look.value().is_native());
  CHECK(look.value().search("abc"));
  CHECK_FALSE(look.value().search("xbc"));
  auto backref = Pattern::compile("^(a)\\1$");
  REQUIRE(backref.ok());
  CHECK(backref.value().search("aa"));

  CHECK_FALSE(Pattern::compile("(ab").ok());
  CHECK_FALSE(Pattern::compile("[b-a]").ok());
  CHECK_FALSE(Pattern::compile("*a").ok());
}

TEST_CASE("fixed-length shapes match bytes exactly and never accept non-ASCII", "[schema][pattern]") {
  // Every element repeats a fixed count over ASCII-only classes: the byte-per-position path.
  auto date = NativePattern::compile("^([0-9]{2}-[0-9]{2}-[0-9]{4})?$", nullptr);
  REQUIRE(date);
  CHECK(date->search(""));
  CHECK(date->search("18-03-2024"));
  CHECK_FALSE(date->search("18-03-202"));
  CHECK_FALSE(date->search("18-03-20245"));
  CHECK_FALSE(date->search("18\xE2\x80\x93" "03-2024"));  // an en dash: 3 bytes, one code point
  CHECK_FALSE(date->search("1\xC3" "-03-2024"));       // a broken UTF-8 byte, same byte length
  auto code = NativePattern::compile("^[A-Z]{3}$", nullptr);
  REQUIRE(code);
  CHECK(code->search("ABC"));
  CHECK_FALSE(code->search("\xC3\x84" "B"));  // "ÄB": 3 bytes, 2 code points
  // Classes that accept non-ASCII code points keep counting code points.
  auto negated = NativePattern::compile("^[^\\d]{2}$", nullptr);
  REQUIRE(negated);
  CHECK(negated->search("\xC3\xA9\xC3\xA9"));  // "éé"
  CHECK_FALSE(negated->search("\xC3\xA9"));
}

TEST_CASE("range shapes of every length agree with std::regex at each position's edges", "[schema][pattern]") {
  // Lengths 1..20 cover the per-byte loop (under 4, over 16) and the 16-byte compare of the head
  // and tail loads (4..7 overlapping 4-byte halves, 8..16 overlapping 8-byte halves).
  for (std::size_t n = 1; n <= 20; ++n) {
    const std::size_t letters = n / 3, dash = n > 2 ? 1 : 0;
    const std::size_t digits = n - letters - dash;
    std::string source = "^";
    if (letters) source += "[A-Z]{" + std::to_string(letters) + "}";
    if (dash) source += "-";
    source += "[0-9]{" + std::to_string(digits) + "}$";
    auto native = NativePattern::compile(source, nullptr);
    REQUIRE(native);
    const std::regex reference(source);
    std::string valid = std::string(letters, 'M') + std::string(dash, '-') + std::string(digits, '5');
    REQUIRE(valid.size() == n);
    INFO("pattern " << source);
    CHECK(native->search(valid));
    CHECK_FALSE(native->search(valid + "5"));
    CHECK_FALSE(native->search(valid.substr(1)));
    for (std::size_t i = 0; i < n; ++i) {
      for (const int c : {int{'@'}, int{'A'}, int{'Z'}, int{'['}, int{'/'}, int{'0'}, int{'9'}, int{':'}, int{'-'}, int{','}, 0x80, 0xC3, 0xFF}) {
        std::string text = valid;
        text[i] = static_cast<char>(c);
        INFO("text " << text << " (byte " << int(c) << " at " << i << ")");
        CHECK(native->search(text) == std::regex_search(text, reference));
      }
    }
  }
}
