// The parser scans strings and whitespace a block at a time over a NUL-padded copy of the input and
// hashes keys a word at a time for duplicate detection. These tests put every interesting byte at
// every position around those block and word boundaries, and at the very end of the input, and check
// that results and error positions are what a byte-at-a-time reading gives.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <set>
#include <cstdlib>
#include <string>
#include <vector>

#include "flowguard/json/document.hpp"

using namespace flowguard::json;

namespace {

bool parse(std::string_view input, Document& doc, ParseError& error) { return Document::parse(input, doc, error); }

Document must_parse(std::string_view input) {
  Document doc;
  ParseError error;
  const bool ok = parse(input, doc, error);
  INFO("input: " << input);
  INFO("error " << error.offset << ": " << error.message);
  REQUIRE(ok);
  return doc;
}

ParseError must_fail(std::string_view input) {
  Document doc;
  ParseError error;
  INFO("input: " << input);
  REQUIRE_FALSE(parse(input, doc, error));
  return error;
}

}  // namespace

TEST_CASE("escapes at every position across block boundaries", "[json][strings][scan]") {
  for (std::size_t before = 0; before < 40; ++before) {
    for (const auto& [escape, decoded] : std::vector<std::pair<std::string, std::string>>{
             {"\\\"", "\""}, {"\\\\", "\\"}, {"\\n", "\n"}, {"\\u00e9", "\xC3\xA9"}, {"\\uD83D\\uDE00", "\xF0\x9F\x98\x80"}}) {
      const std::string head(before, 'a');
      const std::string input = "[\"" + head + escape + "bc\"," + std::to_string(before) + "]";
      const Document doc = must_parse(input);
      CHECK(doc.root().items()[0].as_string() == head + decoded + "bc");
      CHECK(doc.root().items()[1].as_double() == static_cast<double>(before));
    }
  }
}

TEST_CASE("plain strings of every length point into the source", "[json][strings][scan]") {
  for (std::size_t n = 0; n < 70; ++n) {
    std::string text;
    for (std::size_t i = 0; i < n; ++i) text += static_cast<char>('A' + i % 26);
    for (const std::string& input : {"\"" + text + "\"", "{\"" + text + "\":\"" + text + "\"}"}) {
      const Document doc = must_parse(input);
      const Value& v = doc.root().is_object() ? doc.root().members()[0].value : doc.root();
      CHECK(v.as_string() == text);
      CHECK(v.as_string().data() == doc.source().data() + v.offset() + 1);
      if (doc.root().is_object()) CHECK(doc.root().members()[0].key == text);
    }
  }
}

TEST_CASE("special bytes at every position in a string are found where they are", "[json][strings][scan]") {
  for (std::size_t at = 0; at < 40; ++at) {
    const std::string head(at, 'x');
    {
      const ParseError e = must_fail("\"" + head + "\x01" + "yyyy\"");
      CHECK(e.offset == at + 1);
      CHECK(e.message == "unescaped control character U+0001 in string (write it as \\u0001)");
    }
    {
      const ParseError e = must_fail("\"" + head + std::string(1, '\0') + "yyyy\"");
      CHECK(e.offset == at + 1);
      CHECK(e.message == "unescaped control character U+0000 in string (write it as \\u0000)");
    }
    {
      const ParseError e = must_fail("\"" + head + "\xFF" + "yyyy\"");
      CHECK(e.offset == at + 1);
    }
    {
      const ParseError e = must_fail("\"" + head + "\n\"");
      CHECK(e.offset == at + 1);
    }
    // Valid UTF-8 and DEL are plain string content.
    CHECK(must_parse("\"" + head + "\xE2\x82\xAC\x7F" + "\"").root().as_string() == head + "\xE2\x82\xAC\x7F");
    // Unterminated at the very end of the input, with and without a trailing escape.
    CHECK(must_fail("\"" + head).message == "unterminated string: no closing '\"' before end of input");
    CHECK(must_fail("[\"" + head + "\\").offset == 1);
    CHECK(must_fail("\"" + head + "\\u00").message == "invalid \\u escape: expected 4 hex digits after \\u");
    CHECK(must_fail("\"" + head + "\xE2\x82").message ==
          "invalid UTF-8 in string: byte 0xE2 does not start a valid sequence");
  }
}

TEST_CASE("whitespace runs of every length", "[json][whitespace][scan]") {
  const std::string kinds = " \n\r\t";
  for (std::size_t n = 0; n < 40; ++n) {
    std::string ws;
    for (std::size_t i = 0; i < n; ++i) ws += kinds[(i * 7) % 4];
    const std::string input = ws + "{" + ws + "\"a\"" + ws + ":" + ws + "[" + ws + "1" + ws + "," + ws + "true" + ws + "]" + ws + "}" + ws;
    const Document doc = must_parse(input);
    CHECK(doc.root().offset() == n);
    CHECK(doc.root().find("a")->items()[1].as_bool());
    // A stray byte after whitespace is reported where it is; so is a NUL.
    for (const char stray : {'\x0B', '\0', 'x', '\x0C'}) {
      const ParseError e = must_fail("[1," + ws + std::string(1, stray) + "]");
      CHECK(e.offset == 3 + n);
      CHECK(e.message.find("expected a value, found ") == 0);
    }
    CHECK(must_fail("[1," + ws).message == "unexpected end of input: expected a value");
    CHECK(must_fail("{\"a\":1" + ws).message == "unexpected end of input: expected ',' or '}' after object member");
    CHECK(must_fail("1" + ws + "x").offset == 1 + n);
  }
}

TEST_CASE("numbers and literals at the end of the input", "[json][numbers][scan]") {
  for (const char* text : {"0", "-0", "7", "12345678901234567", "25.110", "1e3", "-1.5E-7", "123456789012345678901234567890"}) {
    const Document doc = must_parse(text);
    CHECK(doc.root().number_text() == text);
    CHECK(doc.root().as_double() == std::stod(text));
  }
  CHECK(must_fail("-").message == "unexpected end of input: expected a digit after '-'");
  CHECK(must_fail("1.").message == "unexpected end of input: expected a digit after '.'");
  CHECK(must_fail("1e+").message == "unexpected end of input: expected a digit in the exponent");
  CHECK(must_fail("[1,tru").message == "unexpected end of input: expected 'true'");
  CHECK(must_parse("null").root().is_null());
}

TEST_CASE("duplicate keys whatever their length and wherever they differ", "[json][duplicates][scan]") {
  // Keys of lengths 0..40 that differ from each other in a single byte (first, middle or last),
  // each repeated once at the end: exactly the repeats are reported, in source order.
  static constexpr char kDistinct[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijlmnopqrstuvwxyz-_+";  // no 'k'
  for (const std::size_t members : {std::size_t{2}, std::size_t{21}, std::size_t{32}, std::size_t{64}}) {
    for (std::size_t len = 0; len <= 40; len += (len < 17 ? 1 : 7)) {
      std::vector<std::string> keys;
      for (std::size_t i = 0; i < members; ++i) {
        std::string k(len, 'k');
        if (len) k[(i % 3 == 0) ? 0 : (i % 3 == 1) ? len / 2 : len - 1] = kDistinct[i];
        keys.push_back(k);
      }
      if (len == 0) keys.resize(1);  // only one distinct empty key
      std::string input = "{";
      for (std::size_t i = 0; i < keys.size(); ++i) input += "\"" + keys[i] + "\":" + std::to_string(i) + ",";
      std::string distinct_input = input;
      distinct_input.back() = '}';
      INFO("members " << members << ", key length " << len);
      // Single-byte differences at the same place can produce the same key; count real repeats.
      std::size_t expected = 0;
      for (std::size_t i = 0; i < keys.size(); ++i)
        for (std::size_t j = 0; j < i; ++j)
          if (keys[j] == keys[i]) {
            ++expected;
            break;
          }
      CHECK(must_parse(distinct_input).duplicate_keys().size() == expected);
      // Now repeat the last and the first key (an escaped spelling for the first, when it has a 'k').
      std::string first = keys.front();
      if (const auto k = first.find('k'); k != std::string::npos) first.replace(k, 1, "\\u006B");
      input += "\"" + keys.back() + "\":true,\"" + first + "\":false}";
      const Document doc = must_parse(input);
      const auto& dups = doc.duplicate_keys();
      REQUIRE(dups.size() == expected + 2);
      CHECK(dups[expected].key == keys.back());
      CHECK(dups[expected + 1].key == keys.front());
      CHECK(dups[expected + 1].key_offset == input.rfind("\"" + first + "\""));
      CHECK(dups[expected].object == &doc.root());
    }
  }
}

TEST_CASE("duplicate keys in many records, each reported once with its object", "[json][duplicates][scan]") {
  std::string input = "[";
  for (int r = 0; r < 500; ++r) {
    input += r ? ",\n  {" : "\n  {";
    for (int f = 0; f < 21; ++f) input += "\n    \"Field number " + std::to_string(f) + "\": \"v\",";
    input += (r % 50 == 7) ? "\n    \"Field number 13\": 1}" : "\n    \"Field number 21\": 1}";
  }
  input += "\n]";
  const Document doc = must_parse(input);
  const auto& dups = doc.duplicate_keys();
  REQUIRE(dups.size() == 10);
  for (std::size_t i = 0; i < dups.size(); ++i) {
    CHECK(dups[i].key == "Field number 13");
    CHECK(dups[i].object == &doc.root().items()[7 + 50 * i]);
    CHECK(doc.source().substr(dups[i].key_offset, 17) == "\"Field number 13\"");
  }
}

TEST_CASE("objects repeating an earlier object's keys are still checked for repeats", "[json][duplicates][scan]") {
  // The parser skips hashing an object whose keys are, in order, those of an earlier object free
  // of repeats. Same member count with a repeat, a reordering, an escaped spelling, nesting in
  // between: only real repeats are reported.
  const std::string input = R"([
    {"alpha": 1, "bravo": 2, "charlie": 3},
    {"alpha": 1, "bravo": 2, "charlie": 3},
    {"alpha": 1, "alpha": 2, "charlie": 3},
    {"charlie": 1, "bravo": 2, "alpha": 3},
    {"alpha": {"x": 1, "y": 2, "x": 3}, "bravo": 2, "charlie": 3},
    {"alpha": 1, "bravo": 2, "ch\u0061rlie": 3},
    {"alpha": 1, "bravo": 2, "charlie": 3, "delta": 4, "echo": 5, "foxtrot": 6, "golf": 7, "hotel": 8, "india": 9, "juliet": 10, "alpha": 11},
    {"alpha": 1, "bravo": 2, "charlie": 3, "bravo": 4}
  ])";
  const Document doc = must_parse(input);
  const auto& dups = doc.duplicate_keys();
  REQUIRE(dups.size() == 4);
  const auto items = doc.root().items();
  CHECK(dups[0].key == "alpha");
  CHECK(dups[0].object == &items[2]);
  CHECK(dups[1].key == "x");
  CHECK(dups[1].object == &items[4].members()[0].value);
  CHECK(dups[2].key == "alpha");
  CHECK(dups[2].object == &items[6]);
  CHECK(dups[3].key == "bravo");
  CHECK(dups[3].object == &items[7]);
}

TEST_CASE("plain ASCII strings are marked so their length needs no decoding", "[json][scan]") {
  const Document doc = must_parse(R"(["plain text", "caf\u00e9", "tab\there", "cafÃ©", "", 1, {"k": "v"}])");
  const auto items = doc.root().items();
  CHECK(items[0].is_plain_ascii());
  CHECK_FALSE(items[1].is_plain_ascii());  // an escape: decoded elsewhere
  CHECK_FALSE(items[2].is_plain_ascii());
  CHECK_FALSE(items[3].is_plain_ascii());  // UTF-8 beyond ASCII
  CHECK(items[4].is_plain_ascii());
  CHECK_FALSE(items[5].is_plain_ascii());
  CHECK(items[6].members()[0].value.is_plain_ascii());
}

TEST_CASE("numbers are correctly rounded on every path", "[json][numbers][scan]") {
  // Mantissas around 2^53 and 19-20 digits, exponents around +-22: the edges of the exact fast path.
  std::vector<std::string> texts = {"9007199254740992", "9007199254740993", "9007199254740995", "18014398509481985",
                                    "9999999999999999999", "10000000000000000001", "18446744073709551615",
                                    "18446744073709551617", "900719925474099.3", "9007199254740993e-3",
                                    "123456789e22", "123456789e23", "1e-22", "1e-23", "4.35e22", "0.1", "-0.0",
                                    "0e400", "1.000000000000000000001", "00.5e1"};
  std::uint64_t x = 0x9E3779B97F4A7C15ULL;
  for (int i = 0; i < 3000; ++i) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    std::string t = std::to_string(x % 100000000000000000ULL + 1);
    t = t.substr(0, 1 + x % t.size());
    if (x & 0x100) t.insert(1 + (x >> 9) % t.size(), ".");
    if (t.back() == '.') t += "5";
    if (x & 0x200) t += "e" + std::to_string(static_cast<int>((x >> 20) % 61) - 30);
    texts.push_back(t);
  }
  for (const std::string& t : texts) {
    if (t.size() > 1 && t[0] == '0' && t[1] == '0') {
      CHECK(must_fail(t).message == "leading zeros are not allowed in numbers");
      continue;
    }
    const Document doc = must_parse("[" + t + "]");
    INFO(t);
    const double expected = std::strtod(t.c_str(), nullptr);
    CHECK(std::signbit(doc.root().items()[0].as_double()) == std::signbit(expected));
    CHECK(doc.root().items()[0].as_double() == expected);
    CHECK(doc.root().items()[0].number_text() == t);
  }
}

namespace {

// One object member as written in the source and as the parser must decode it.
struct KeySpelling {
  std::string written;  // between the quotes
  std::string decoded;
};

// Keys that share prefixes, differ only in the middle of long keys, spell a plain key with an
// escape, hold a quote or non-ASCII text, and straddle 16-byte compare blocks.
std::vector<KeySpelling> predicted_key_pool() {
  const std::string long_key(40, 'k');
  std::string long_other = long_key;
  long_other[20] = 'K';
  return {{"alpha", "alpha"},       {"alph", "alph"},          {"alphabet", "alphabet"},
          {"al\\u0070ha", "alpha"}, {"a\\\"b", "a\"b"},         {"a", "a"},
          {"caf\xc3\xa9", "caf\xc3\xa9"}, {"Consent Effective To", "Consent Effective To"},
          {long_key, long_key},     {long_other, long_other},  {"fifteen chars!!", "fifteen chars!!"},
          {"sixteen chars!!!", "sixteen chars!!!"}, {"", ""}};
}

}  // namespace

TEST_CASE("objects read against an earlier object's keys get every key as written", "[json][scan][shapes]") {
  // The parser expects an object to repeat the keys of the last clean object with the same first
  // key and compares them in place. Objects here follow a few key sequences, diverge from them at
  // random places (a different, longer, shorter, escaped or missing key, an extra one, a repeat),
  // nest objects that start with the same key, and vary their whitespace. Every key must read as
  // written, repeats must be reported, and objects may share a key shape only when their keys are
  // the same, in order, and free of repeats.
  const auto pool = predicted_key_pool();
  std::uint64_t x = 0x2545F4914F6CDD1DULL;
  auto next = [&x](std::uint64_t n) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    return x % n;
  };
  std::vector<std::vector<std::size_t>> sequences;
  for (int s = 0; s < 4; ++s) {
    std::vector<std::size_t> seq;
    const std::size_t n = 2 + next(8);
    for (std::size_t i = 0; i < n; ++i) seq.push_back(next(pool.size()));
    sequences.push_back(seq);
  }
  for (int round = 0; round < 40; ++round) {
    std::string input = "[";
    std::vector<std::vector<std::string>> expected_keys;  // per object, in the order objects close
    std::vector<std::size_t> expected_repeats;
    auto write_object = [&](auto&& self, int depth) -> void {
      std::vector<std::size_t> seq = sequences[next(sequences.size())];
      switch (next(6)) {
        case 0: seq[next(seq.size())] = next(pool.size()); break;
        case 1: seq.push_back(next(pool.size())); break;
        case 2: seq.pop_back(); break;
        default: break;  // the sequence as it is
      }
      input += next(2) ? "{" : "{\n  ";
      std::vector<std::string> keys;
      for (std::size_t i = 0; i < seq.size(); ++i) {
        if (i) input += next(3) ? "," : " ,\n   ";
        input += "\"" + pool[seq[i]].written + "\"" + (next(2) ? ":" : " : ");
        keys.push_back(pool[seq[i]].decoded);
        if (depth < 2 && next(8) == 0) {
          self(self, depth + 1);
        } else {
          input += std::to_string(i);
        }
      }
      input += "}";
      std::vector<std::string> sorted = keys;
      std::sort(sorted.begin(), sorted.end());
      expected_repeats.push_back(
          static_cast<std::size_t>(std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()));
      expected_keys.push_back(keys);
    };
    const int objects = 30 + static_cast<int>(next(30));
    for (int i = 0; i < objects; ++i) {
      if (i) input += ",";
      write_object(write_object, 0);
    }
    input += "]";
    const Document doc = must_parse(input);
    INFO("input: " << input);

    // Collect objects in closing order (children before their parent), as written.
    std::vector<const Value*> closed;
    auto collect = [&](auto&& self, const Value& v) -> void {
      for (const Member& m : v.members())
        if (m.value.is_object()) self(self, m.value);
      closed.push_back(&v);
    };
    for (const Value& item : doc.root().items()) collect(collect, item);
    REQUIRE(closed.size() == expected_keys.size());
    std::set<const Value*> with_repeats;
    for (const auto& d : doc.duplicate_keys()) with_repeats.insert(d.object);
    for (std::size_t i = 0; i < closed.size(); ++i) {
      const auto members = closed[i]->members();
      REQUIRE(members.size() == expected_keys[i].size());
      for (std::size_t k = 0; k < members.size(); ++k) {
        CHECK(members[k].key == expected_keys[i][k]);
        CHECK(doc.source()[members[k].key_offset] == '"');
      }
      CHECK(with_repeats.count(closed[i]) == expected_repeats[i]);
      if (closed[i]->key_shape()) CHECK(expected_repeats[i] == 0);
      for (std::size_t j = 0; j < i; ++j) {
        if (closed[i]->key_shape() && closed[i]->key_shape() == closed[j]->key_shape()) {
          CHECK(expected_keys[i] == expected_keys[j]);
        }
      }
    }
  }
}

TEST_CASE("a decoded key is never expected in place", "[json][scan][shapes]") {
  // A key read through escapes is decoded elsewhere, and whatever follows it there is not its
  // closing quote: here a decoded value that starts with a quote. Compared in place, the source's
  // "a\b" (a, backspace) would read as the earlier key a\b (a, backslash, b).
  const Document doc = must_parse(R"([{"k": 1, "a\\b": "\"x"}, {"k": 1, "a\b": 2}])");
  const auto items = doc.root().items();
  CHECK(items[0].members()[1].key == "a\\b");
  CHECK(items[1].members()[1].key == "a\b");
  CHECK(items[0].key_shape() != items[1].key_shape());
}

TEST_CASE("a key expected from an earlier object, cut short at the end of the input", "[json][scan][shapes]") {
  // The in-place compare must not read past the input's padding and must leave the error to the
  // ordinary reading: the same message as for the cut object on its own.
  const std::string object = R"({"a": 1, "Consent Effective From": 2, "sixteen chars!!!": 3, "x": 4})";
  for (std::size_t cut = 1; cut < object.size(); ++cut) {
    const std::string alone = "[" + object.substr(0, cut);
    const std::string after = "[" + object + "," + object.substr(0, cut);
    const ParseError e1 = must_fail(alone);
    const ParseError e2 = must_fail(after);
    INFO("cut at " << cut);
    CHECK(e2.message == e1.message);
    CHECK(e2.offset == e1.offset + object.size() + 1);
  }
}
