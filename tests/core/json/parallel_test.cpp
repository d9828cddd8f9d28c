// ParseOptions::threads: the parallel parse of a root array must be indistinguishable from the
// serial parse — the same DOM (kinds, offsets, number text and values, strings, keys, duplicate
// keys in order and pointing at the corresponding objects) and, for any malformed input, the same
// ParseError.
#include <catch2/catch.hpp>

#include <cstring>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "flowguard/json/document.hpp"

using namespace flowguard::json;

namespace {

struct Outcome {
  bool ok = false;
  Document doc;
  ParseError error;
};

void require_same(const Document& a, const Document& b);
void require_same_error(const ParseError& a, const ParseError& b);

// Parses `input` from a copy (Document::parse of a string_view), and again in place from padded
// bytes, which reads the caller's bytes where they are (the parallel ranges too, with no NUL at
// their ends): both must give the same document or error, by the same path (parallel or not).
Outcome run(std::string_view input, unsigned threads, std::size_t min_bytes = 0, std::size_t max_depth = 256,
            std::size_t max_bytes = 0xFFFFFFF0u) {
  ParseOptions options;
  options.threads = threads;
  options.parallel_min_bytes = min_bytes;
  options.max_depth = max_depth;
  options.max_bytes = max_bytes;
  Outcome out;
  const std::uint64_t before = detail::parallel_parses();
  out.ok = Document::parse(input, out.doc, out.error, options);
  const bool copy_parallel = detail::parallel_parses() != before;

  const flowguard::PaddedBytes padded(input);
  Document in_place;
  ParseError in_place_error;
  const std::uint64_t between = detail::parallel_parses();
  const bool in_place_ok = Document::parse(padded, in_place, in_place_error, options);
  INFO("read in place from padded bytes");
  REQUIRE(in_place_ok == out.ok);
  CHECK((detail::parallel_parses() != between) == copy_parallel);
  if (out.ok) {
    CHECK(in_place.source().data() == padded.data());
    require_same(out.doc, in_place);
  } else {
    require_same_error(out.error, in_place_error);
  }
  return out;
}

std::uint64_t bits(double d) {
  std::uint64_t b;
  std::memcpy(&b, &d, sizeof b);
  return b;
}

// Pre-order index of every container, so duplicate_keys() objects can be compared by position.
void index_containers(const Value& v, std::unordered_map<const Value*, std::size_t>& index) {
  if (!v.is_array() && !v.is_object()) return;
  index.emplace(&v, index.size());
  if (v.is_array()) {
    for (const Value& item : v.items()) index_containers(item, index);
  } else {
    for (const Member& m : v.members()) index_containers(m.value, index);
  }
}

// Counts mismatches (CHECKs on every node would swamp the test log); the first few are reported.
struct Comparer {
  std::size_t mismatches = 0;
  std::size_t nodes = 0;

  void fail(const std::string& what, std::uint32_t offset) {
    if (++mismatches <= 5) UNSCOPED_INFO("mismatch: " << what << " at offset " << offset);
  }

  void value(const Value& a, const Value& b) {
    ++nodes;
    if (a.kind() != b.kind()) return fail("kind", a.offset());
    if (a.offset() != b.offset()) return fail("offset", a.offset());
    switch (a.kind()) {
      case Kind::kNumber:
        if (a.number_text() != b.number_text()) fail("number text", a.offset());
        if (bits(a.as_double()) != bits(b.as_double())) fail("number value", a.offset());
        break;
      case Kind::kString:
        if (a.as_string() != b.as_string()) fail("string", a.offset());
        break;
      case Kind::kArray:
        if (a.size() != b.size()) return fail("item count", a.offset());
        // Items are contiguous in both.
        for (std::size_t i = 0; i < a.size(); ++i) {
          if (&a.items()[i] != a.items().data() + i || &b.items()[i] != b.items().data() + i) fail("layout", a.offset());
          value(a.items()[i], b.items()[i]);
        }
        break;
      case Kind::kObject:
        if (a.size() != b.size()) return fail("member count", a.offset());
        for (std::size_t i = 0; i < a.size(); ++i) {
          const Member& ma = a.members()[i];
          const Member& mb = b.members()[i];
          if (ma.key != mb.key) fail("key", ma.key_offset);
          if (ma.key_offset != mb.key_offset) fail("key offset", ma.key_offset);
          value(ma.value, mb.value);
        }
        break;
      default:
        if (a.as_bool() != b.as_bool()) fail("literal", a.offset());
        break;
    }
  }
};

// The parallel document `b` must equal the serial document `a`.
void require_same(const Document& a, const Document& b) {
  REQUIRE(a.source() == b.source());
  Comparer cmp;
  cmp.value(a.root(), b.root());
  CHECK(cmp.mismatches == 0);

  std::unordered_map<const Value*, std::size_t> ia, ib;
  index_containers(a.root(), ia);
  index_containers(b.root(), ib);
  const auto& da = a.duplicate_keys();
  const auto& db = b.duplicate_keys();
  REQUIRE(da.size() == db.size());
  for (std::size_t i = 0; i < da.size(); ++i) {
    INFO("duplicate #" << i);
    CHECK(da[i].key_offset == db[i].key_offset);
    CHECK(da[i].key == db[i].key);
    REQUIRE(ia.count(da[i].object) == 1);
    REQUIRE(ib.count(db[i].object) == 1);
    CHECK(ia.at(da[i].object) == ib.at(db[i].object));
  }
  // Line/column lookups use global offsets in both.
  const std::size_t n = a.source().size();
  for (std::size_t off : {std::size_t{0}, n / 3, n / 2, n - n / 5, n}) {
    CHECK(a.lines().locate(off) == b.lines().locate(off));
  }
}

void require_same_error(const ParseError& a, const ParseError& b) {
  CHECK(a.message == b.message);
  CHECK(a.offset == b.offset);
  CHECK(a.line == b.line);
  CHECK(a.column == b.column);
  CHECK(a.limit == b.limit);
}

// Serial vs parallel on one input: the same outcome, documents or errors. Returns whether the
// parallel parse succeeded through the parallel path.
bool compare(std::string_view input, unsigned threads, std::size_t max_depth = 256, std::size_t min_bytes = 0) {
  const Outcome serial = run(input, 1, 0, max_depth);
  const std::uint64_t before = detail::parallel_parses();
  const Outcome parallel = run(input, threads, min_bytes, max_depth);
  const bool took_parallel = detail::parallel_parses() != before;
  REQUIRE(serial.ok == parallel.ok);
  if (serial.ok) {
    require_same(serial.doc, parallel.doc);
  } else {
    CHECK_FALSE(took_parallel);
    require_same_error(serial.error, parallel.error);
  }
  return took_parallel;
}

// Generated arrays of records: objects with escapes, nested arrays, duplicate keys, numbers of all
// shapes, unicode; mixed with scalars and bare arrays as items.
class Generator {
 public:
  explicit Generator(std::uint32_t seed) : rng_(seed) {}

  std::string document(std::size_t min_bytes, bool pretty) {
    pretty_ = pretty;
    std::string out = pretty ? "[\n" : "[";
    bool first = true;
    while (out.size() < min_bytes || first) {
      if (!first) out += pretty ? ",\n" : ",";
      first = false;
      if (pretty) out += "  ";
      item(out, 1);
    }
    out += pretty ? "\n]\n" : "]";
    return out;
  }

 private:
  std::size_t pick(std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_); }

  void ws(std::string& out) {
    static const char* const kWs[] = {"", "", "", " ", "\t", "\r\n", "\n    ", "  "};
    out += kWs[pick(std::size(kWs))];
  }

  void string(std::string& out) {
    static const char* const kPieces[] = {
        "plain", "with,comma", "[bracket]", "{brace}", "\\\"quoted\\\"", "back\\\\slash", "\\\\",
        "\\\\\\\"", "line\\nbreak", "tab\\t", "\\u00e9t\\u00E9", "\\ud83d\\ude00", "caf\xc3\xa9",
        "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\\/", "\\b\\f\\r", "\\u0000", "], {\\\"x\\\": [1,2]}, [",
        "", " "};
    out += '"';
    const std::size_t n = pick(4);
    for (std::size_t i = 0; i < n; ++i) out += kPieces[pick(std::size(kPieces))];
    out += '"';
  }

  void number(std::string& out) {
    static const char* const kNumbers[] = {
        "0", "-0", "7", "-12", "25.110", "0.1", "1e3", "1E+3", "-2.5e-3", "123456789012345678901234567890",
        "9007199254740993", "1e300", "-1e300", "1e-300", "0.30000000000000004", "18446744073709551616",
        "3.14159265358979323846", "5e-324", "1.7976931348623157e308"};
    out += kNumbers[pick(std::size(kNumbers))];
  }

  void item(std::string& out, int depth) {
    const std::size_t r = pick(20);
    if (depth > 4 || r < 3 + 3 * static_cast<std::size_t>(depth)) {
      scalar(out);
    } else if (r < 5) {
      array(out, depth);
    } else {
      object(out, depth);
    }
  }

  void scalar(std::string& out) {
    switch (pick(6)) {
      case 0: out += "null"; break;
      case 1: out += pick(2) ? "true" : "false"; break;
      case 2: case 3: number(out); break;
      default: string(out); break;
    }
  }

  void array(std::string& out, int depth) {
    out += '[';
    const std::size_t n = pick(5);
    for (std::size_t i = 0; i < n; ++i) {
      if (i) out += ',';
      ws(out);
      item(out, depth + 1);
      ws(out);
    }
    out += ']';
  }

  void object(std::string& out, int depth) {
    static const char* const kKeys[] = {"\"MPAN\"", "\"Date\"", "\"From\"", "\"To\"", "\"Value\"",
                                        "\"k\\u0065y\"", "\"key\"", "\"a,b\"", "\"\"", "\"\\\"q\\\"\""};
    out += '{';
    // Usually distinct keys; sometimes repeated ones (duplicates), sometimes a big object (> 64
    // members: the sorted duplicate detection).
    const std::size_t n = pick(30) == 0 ? 70 + pick(10) : pick(depth == 1 ? 8 : 4);
    const bool repeats = pick(4) == 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (i) out += ',';
      if (pretty_) out += "\n    ";
      ws(out);
      if (repeats || n > 10) {
        if (n > 10 && !repeats) {
          out += "\"m" + std::to_string(i) + "\"";
        } else {
          out += kKeys[pick(std::size(kKeys))];
        }
      } else {
        out += "\"f" + std::to_string(i) + "\"";
      }
      ws(out);
      out += ':';
      ws(out);
      if (n > 10) {
        scalar(out);
      } else {
        item(out, depth + 1);
      }
    }
    out += '}';
  }

  std::mt19937 rng_;
  bool pretty_ = false;
};

}  // namespace

TEST_CASE("parallel parse equals the serial parse on generated arrays", "[json][parallel]") {
  std::size_t parallel = 0, total = 0;
  for (std::uint32_t seed = 1; seed <= 40; ++seed) {
    Generator gen(seed);
    const std::size_t size = seed % 4 == 0 ? 60000 : 200 * seed;
    const std::string input = gen.document(size, seed % 2 == 0);
    for (unsigned threads : {2u, 3u, 4u, 7u, 64u}) {
      INFO("seed " << seed << ", threads " << threads << ", " << input.size() << " bytes");
      parallel += compare(input, threads);
      ++total;
    }
  }
  // Most inputs split (the others have no item boundary after the first ideal cut, e.g. one big
  // last item): the parallel path is the one exercised.
  CHECK(parallel * 4 >= total * 3);
}

TEST_CASE("parallel parse above the default threshold", "[json][parallel]") {
  Generator gen(99);
  const std::string input = gen.document((std::size_t{1} << 20) + 1000, true);
  ParseOptions options;
  options.threads = 2;
  CHECK(options.parallel_min_bytes == (std::size_t{1} << 20));
  const std::uint64_t before = detail::parallel_parses();
  Document serial, parallel;
  ParseError error;
  REQUIRE(Document::parse(input, serial, error));
  REQUIRE(Document::parse(input, parallel, error, options));
  CHECK(detail::parallel_parses() == before + 1);
  require_same(serial, parallel);

  // Below the threshold: serial.
  const std::string small = gen.document(1000, false);
  REQUIRE(Document::parse(small, parallel, error, options));
  CHECK(detail::parallel_parses() == before + 1);
}

TEST_CASE("parallel parse: shapes that fall back or barely split", "[json][parallel]") {
  for (const char* input : {
           "[]", "[ ]", "[1]", "[1,2]", " [1 , 2] ", "[[],{}]", "[\"a,b\",\"c\"]", "\xEF\xBB\xBF[1,2,3]",
           "{\"a\":[1,2,3]}", "1", "\"[1,2]\"", "[1,2] ", "[1,2]\n\n", "[1,2,]", "[,1,2]", "[1,,2]",
           "[1,2]]", "[1,2],[3]", "[1,2] x", "[1,2] [", "[1,2", "[1,2,", "[\"a,b]", "[1],2]",
           "[[1,2],3]", "[{\"a\":1,\"a\":2},{\"a\":3,\"a\":4}]", "[1, 2, 3, 4, 5, 6, 7, 8, 9]", "[\"\\\\\",\"\\\"\"]",
           "[\"a\\\"], [\\\"b\", 1, 2]", "[1,\n2,\r\n3\t]", "[\"\\u00\", 1, 2]", "[tru, 1, 2]", "[1, 2, nul]",
           "[1, 2, 3}", "[1, {\"a\":1, 2]", "[1, 2\x00, 3]", "[1]\x00", "",
       }) {
    const std::string text(input);
    for (unsigned threads : {2u, 3u, 5u}) {
      INFO("input <" << text << ">, threads " << threads);
      compare(text, threads);
    }
  }
  // Embedded NUL bytes (the parse's own sentinel) in several places.
  for (std::string text : {std::string("[1,2,3]"), std::string("[\"ab\",\"cd\",\"ef\"]")}) {
    for (std::size_t i = 0; i <= text.size(); ++i) {
      std::string mutated = text;
      mutated.insert(i, 1, '\0');
      INFO("NUL at " << i);
      compare(mutated, 3);
    }
  }
}

TEST_CASE("parallel parse: the same errors for truncated inputs", "[json][parallel]") {
  Generator gen(7);
  const std::string input = gen.document(6000, true);
  for (std::size_t cut = 0; cut <= input.size(); cut += (cut < 200 || input.size() - cut < 200) ? 1 : 7) {
    INFO("truncated at " << cut);
    compare(std::string_view(input).substr(0, cut), 2 + cut % 3);
  }
}

TEST_CASE("parallel parse: the same errors for mutated inputs", "[json][parallel]") {
  // Single-byte substitutions, insertions and deletions anywhere (an unterminated or reopened
  // string moves every later split point into or out of a string; brackets change the depth).
  static const char kBytes[] = {'"', '\\', ',', '[', ']', '{', '}', ':', 'x', '\n', ' ', '0', '-', 'e', '\0', '\x80', '\xff'};
  std::mt19937 rng(12345);
  for (std::uint32_t seed = 1; seed <= 8; ++seed) {
    Generator gen(seed * 31);
    const std::string input = gen.document(3000, seed % 2 == 0);
    for (int i = 0; i < 300; ++i) {
      std::string mutated = input;
      const std::size_t at = std::uniform_int_distribution<std::size_t>(0, input.size() - 1)(rng);
      const char b = kBytes[std::uniform_int_distribution<std::size_t>(0, sizeof kBytes - 1)(rng)];
      switch (i % 3) {
        case 0: mutated[at] = b; break;
        case 1: mutated.insert(at, 1, b); break;
        default: mutated.erase(at, 1); break;
      }
      INFO("seed " << seed << ", mutation " << i << " at " << at);
      compare(mutated, 2 + static_cast<unsigned>(i % 4));
    }
  }
}

TEST_CASE("parallel parse: bad tokens in the last item and strings across split points", "[json][parallel]") {
  std::string items;
  for (int i = 0; i < 200; ++i) items += (i ? "," : "") + std::string("{\"id\":") + std::to_string(i) + ",\"s\":\"a,b],[c\"}";
  const std::string good = "[" + items + "]";
  REQUIRE(compare(good, 4));
  // Bad tokens in the last item.
  for (const char* last : {"{\"id\":tru}", "{\"id\":01}", "{\"id\":1,}", "{\"id\" 1}", "{\"id\":\"\\x\"}", "{\"id\":1]", "[1,2}"}) {
    INFO("last item " << last);
    compare("[" + items + "," + last + "]", 3);
  }
  // Unterminated strings that span the split points: drop one closing quote early, in the middle,
  // or late; the rest of the document shifts in and out of strings.
  for (const std::size_t item : {std::size_t{3}, std::size_t{50}, std::size_t{100}, std::size_t{101}, std::size_t{150}, std::size_t{199}}) {
    std::string bad = good;
    std::size_t pos = 0;
    for (std::size_t k = 0; k <= item; ++k) pos = bad.find("c\"}", pos + 1);
    bad.erase(pos + 1, 1);
    for (unsigned threads : {2u, 3u, 4u, 8u}) {
      INFO("quote dropped in item " << item << ", threads " << threads);
      compare(bad, threads);
    }
  }
  // A string that swallows the rest of the document: the same "unterminated string" error.
  compare("[" + items + ",\"open" + items + "]", 4);
}

TEST_CASE("parallel parse: depth limit inside one item", "[json][parallel]") {
  auto nested = [](int levels) { return std::string(levels, '[') + "1" + std::string(levels, ']'); };
  std::string items;
  for (int i = 0; i < 100; ++i) items += (i ? "," : "") + std::string("{\"a\":[1,{\"b\":2}]}");
  for (const std::size_t max_depth : {std::size_t{0}, std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{4}, std::size_t{5}, std::size_t{6}, std::size_t{10}}) {
    for (int levels : {0, 1, 3, 4, 5, 8, 9, 10, 20}) {
      for (int where : {0, 50, 99}) {
        // The deep item replaces item `where`.
        std::string input = "[";
        for (int i = 0; i < 100; ++i) {
          if (i) input += ",";
          input += i == where ? nested(levels) : std::string("{\"a\":[1,{\"b\":2}]}");
        }
        input += "]";
        INFO("max_depth " << max_depth << ", levels " << levels << ", item " << where);
        compare(input, 3, max_depth);
      }
    }
  }
  // The limit counts from the root: root array, record, array, object is 4 levels.
  CHECK(compare("[" + items + "]", 2, 4));
  CHECK_FALSE(compare("[" + items + "]", 2, 3));
}

TEST_CASE("parallel parse: the size limit and the threshold", "[json][parallel]") {
  Generator gen(5);
  const std::string input = gen.document(5000, false);
  const Outcome serial = run(input, 1, 0, 256, 4000);
  const Outcome parallel = run(input, 4, 0, 256, 4000);
  REQUIRE_FALSE(serial.ok);
  REQUIRE_FALSE(parallel.ok);
  require_same_error(serial.error, parallel.error);
  CHECK(parallel.error.limit);
  // Below parallel_min_bytes the parse is serial (and the same).
  CHECK_FALSE(compare(input, 4, 256, input.size() + 1));
  CHECK(compare(input, 4, 256, input.size()));
}

TEST_CASE("parallel parse: the source is left as it was", "[json][parallel]") {
  Generator gen(11);
  const std::string input = gen.document(20000, true);
  const Outcome parallel = run(input, 4);
  REQUIRE(parallel.ok);
  CHECK(parallel.doc.source() == input);
  // Failing and falling back: the serial parse sees the original bytes.
  const std::string bad = input.substr(0, input.size() - 3);
  const Outcome failed = run(bad, 4);
  const Outcome serial = run(bad, 1);
  REQUIRE_FALSE(failed.ok);
  require_same_error(serial.error, failed.error);
}

TEST_CASE("parallel parse: the pre-scan tracks strings and escapes across block boundaries", "[json][parallel]") {
  // Backslash runs, escaped quotes, commas and brackets inside strings at every alignment against
  // the scan's 16- and 64-byte blocks: a split inside a string would fail the range parses and
  // fall back, so every one of these valid documents must take the parallel path.
  static const char* const kTricky[] = {"\\\\", "\\\"", "\\\\\\\"", "\\\\\\\\", ",", "],[", "},{", "\\\\\\\",\\\"", "\\u005c"};
  std::size_t parallel = 0, total = 0;
  for (std::size_t shift = 0; shift < 130; ++shift) {
    for (const char* tricky : kTricky) {
      std::string input = "[";
      for (int i = 0; i < 24; ++i) {
        if (i) input += ',';
        input += "{\"k\":\"" + std::string(shift + static_cast<std::size_t>(i), 'a') + tricky + "\",\"n\":[" + std::to_string(i) + "]}";
      }
      input += "]";
      INFO("shift " << shift << ", tricky " << tricky);
      for (unsigned threads : {2u, 3u, 5u}) {
        parallel += compare(input, threads);
        ++total;
      }
    }
  }
  CHECK(parallel == total);
}

TEST_CASE("parallel parse: guessed splits that are no item boundary are caught and retried", "[json][parallel]") {
  // Records whose strings hold "},{" (a guess may land inside a string), and records holding
  // arrays of objects (a guess may land at depth 3): the parse is still the serial one, and still
  // parallel where a real boundary exists.
  auto records = [](int count, const std::string& filler) {
    std::string text = "[";
    for (int i = 0; i < count; ++i) {
      text += std::string(i ? ",\n" : "") + "{\"id\": " + std::to_string(i) + ", \"note\": \"" + filler +
              "\", \"rows\": [{\"a\": 1}, {\"b\": 2}, {\"c\": [ {\"d\": \"},{\"} ]}]}";
    }
    return text + "]";
  };
  for (const std::string& filler : {std::string("x"), std::string("a},{b"), std::string("},{") + std::string(40, 'y')}) {
    const std::string text = records(400, filler);
    for (unsigned threads : {2u, 3u, 4u}) {
      INFO("filler <" << filler << ">, threads " << threads);
      CHECK(compare(text, threads));
    }
  }
  // One huge item: every "},{" is nested, no split exists; the serial parse decides.
  std::string one = "[{\"rows\": [";
  for (int i = 0; i < 3000; ++i) one += std::string(i ? "," : "") + "{\"n\": " + std::to_string(i) + "}";
  one += "]}]";
  CHECK_FALSE(compare(one, 2));
  // Malformed after a real boundary, and inside a string at a guess: the serial errors.
  std::string broken = records(300, "z");
  broken[broken.size() * 3 / 4] = '\x01';
  compare(broken, 2);
  std::string open_string = records(300, "z");
  open_string.insert(open_string.size() / 2, "\"");
  compare(open_string, 2);
}
