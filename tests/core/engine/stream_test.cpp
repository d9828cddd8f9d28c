// ItemReader splits an array (or NDJSON) into its items' texts with their start positions,
// whatever falls on the boundaries of its 1 MiB read buffer.
#include <catch2/catch.hpp>

#include <sstream>
#include <string>
#include <vector>

#include "stream.hpp"

using flowguard::engine::ItemReader;
using flowguard::engine::ItemStart;

namespace {

// Line and column (code points) at each of `offsets` (ascending), counted the plain way in one pass.
std::vector<ItemStart> reference_positions(const std::string& text, const std::vector<std::size_t>& offsets) {
  std::vector<ItemStart> out;
  ItemStart at;
  std::size_t i = 0;
  for (const std::size_t offset : offsets) {
    for (; i < offset; ++i) {
      const auto c = static_cast<unsigned char>(text[i]);
      if (c == '\n') {
        ++at.line;
        at.column = 1;
      } else if ((c & 0xC0) != 0x80) {
        ++at.column;
      }
    }
    at.offset = offset;
    out.push_back(at);
  }
  return out;
}

ItemStart reference_position(const std::string& text, std::size_t offset) {
  return reference_positions(text, {offset}).front();
}

std::string record(int i) {
  // Strings with commas, brackets, escaped quotes and backslashes, multibyte text, line breaks.
  return "{\"id\": " + std::to_string(i) + ",\n   \"note\": \"a, [b] {c} \\\"q\\\" \\\\ \xC3\xA9\xE2\x86\x92 " +
         std::string(static_cast<std::size_t>(i % 200), 'x') + "\", \"rows\": [1, [2, {\"k\": \"]\"}]]}";
}

// Reads `text` (an array, or NDJSON) and checks that it yields exactly `items`, each starting at
// its offset in `offsets` with the line and column a plain count gives (`bom`: the text opens with
// a byte order mark, which is no column).
void check_items(const std::string& text, const std::vector<std::string>& items,
                 const std::vector<std::size_t>& offsets, bool ndjson, bool bom) {
  const std::vector<ItemStart> expected = reference_positions(text, offsets);
  std::istringstream in(text);
  ItemReader reader(in, ndjson);
  std::string item;
  ItemStart start;
  std::size_t n = 0;
  while (reader.next(item, start)) {
    REQUIRE(n < items.size());
    INFO("item " << n);
    REQUIRE(item == items[n]);
    CHECK(start.offset == expected[n].offset);
    CHECK(start.line == expected[n].line);
    CHECK(start.column == expected[n].column - (bom && expected[n].line == 1 ? 1 : 0));
    ++n;
  }
  CHECK_FALSE(reader.error());
  CHECK(n == items.size());

  // The same items appended into one chunk, as the engine builds it.
  std::istringstream again(text);
  ItemReader appender(again, ndjson);
  flowguard::PaddedBytes chunk(std::string_view("prefix,"));
  std::string expected_chunk = "prefix,";
  for (std::size_t k = 0; k < items.size(); ++k) {
    REQUIRE(appender.append_next(chunk, start));
    expected_chunk += items[k];
    REQUIRE(chunk.view() == expected_chunk);
    CHECK(start.offset == expected[k].offset);
  }
  CHECK_FALSE(appender.append_next(chunk, start));
  CHECK(chunk.view() == expected_chunk);  // nothing left: unchanged
}

}  // namespace

TEST_CASE("ItemReader: items and positions across read-buffer boundaries") {
  std::vector<std::string> items;
  std::string array = "\xEF\xBB\xBF [\n";  // BOM, then the array
  std::vector<std::size_t> offsets;
  for (int i = 0; i < 12000; ++i) {  // ~2.5 MB: two buffer boundaries fall inside items
    items.push_back(record(i));
    if (i) array += i % 3 ? ",\n  " : " , ";
    offsets.push_back(array.size());
    array += items.back();
  }
  array += "\n]\n";
  REQUIRE(array.size() > (std::size_t{2} << 20));

  check_items(array, items, offsets, false, true);

  std::string ndjson;
  std::vector<std::string> lines;
  std::vector<std::size_t> line_offsets;
  for (std::size_t i = 0; i < items.size(); ++i) {
    std::string flat = items[i];
    for (char& c : flat)
      if (c == '\n') c = ' ';
    line_offsets.push_back(ndjson.size());
    ndjson += flat + (i % 5 ? "\n" : "\r\n\n");
    lines.push_back(std::move(flat));
  }
  check_items(ndjson, lines, line_offsets, true, false);
}

TEST_CASE("ItemReader: an item cut off by the end of input is an error at the end") {
  // Read item by item, and appended into a chunk (which is then left as it was).
  std::string text = "[" + record(1) + ", " + record(2);
  text.resize(text.size() - 5);
  const ItemStart end = reference_position(text, text.size());
  for (const bool append : {false, true}) {
    INFO((append ? "appended to a chunk" : "item by item"));
    std::istringstream in(text);
    ItemReader reader(in, false);
    std::string item;
    flowguard::PaddedBytes chunk;
    ItemStart start;
    REQUIRE((append ? reader.append_next(chunk, start) : reader.next(item, start)));
    CHECK((append ? std::string(chunk.view()) : item) == record(1));
    CHECK_FALSE((append ? reader.append_next(chunk, start) : reader.next(item, start)));
    REQUIRE(reader.error());
    CHECK(reader.error_at().offset == text.size());
    CHECK(reader.error_at().line == end.line);
    CHECK(reader.error_at().column == end.column);
    if (!append) continue;
    CHECK(chunk.view() == record(1));
    for (std::size_t k = 0; k < flowguard::PaddedBytes::kPadding; ++k) CHECK(chunk.data()[chunk.size() + k] == '\0');
  }
}

TEST_CASE("ItemReader: brackets, commas and quotes inside strings, with and without escapes, anywhere in a block") {
  // Items are split 16 bytes at a time where a block has no backslash: strings full of ',' ']' '}'
  // '{' '[' must not end or nest an item, whatever their alignment; blocks with escapes take the
  // byte steps. Random shapes and lengths put every case on every offset of a 16-byte block.
  std::uint64_t x = 0x9E3779B97F4A7C15ULL;
  auto next = [&x] { return x ^= x << 13, x ^= x >> 7, x ^= x << 17; };
  auto string_value = [&]() {
    static const char* kPieces[] = {",", "]", "}", "{", "[", ", ]", "x", "abc", " ", "\\\"", "\\\\", "\\/", "\xC3\xA9"};
    std::string s = "\"";
    const std::size_t n = next() % 12;
    const bool escapes = next() % 3 == 0;
    for (std::size_t k = 0; k < n; ++k) {
      const std::size_t piece = next() % (escapes ? 13 : 9);
      s += piece == 12 ? kPieces[12] : kPieces[piece];
    }
    return s + "\"";
  };
  std::vector<std::string> items;
  std::string array = "[";
  std::vector<std::size_t> offsets;
  for (int i = 0; i < 30000; ++i) {
    std::string item = "{\"k\": " + string_value() + ", \"l\": [" + string_value() + ", {\"m\": " + string_value() +
                       "}, [[]]], \"n\": " + std::to_string(i) + std::string(next() % 17, ' ') + "}";
    if (i % 7 == 0) item = "[" + string_value() + ", " + item + "]";
    if (i % 11 == 0) item = string_value();
    if (i) array += std::string(next() % 3, ' ') + "," + std::string(next() % 19, '\n');
    offsets.push_back(array.size());
    array += item;
    items.push_back(std::move(item));
  }
  array += "]";
  REQUIRE(array.size() > (std::size_t{1} << 20));
  check_items(array, items, offsets, false, false);
}

TEST_CASE("ItemReader: a backslash as the last byte of a read buffer escapes the next buffer's first") {
  // The first item is padded so that a string's backslash is byte 2^20 - 1 of the stream: the
  // quote it escapes opens the second buffer and must not end the string.
  const std::size_t kBuffer = std::size_t{1} << 20;
  for (const std::size_t shift : {std::size_t{0}, std::size_t{1}, std::size_t{2}}) {
    const std::string head = "[{\"pad\": \"";
    std::string first = head.substr(1);
    const std::size_t backslash_at = kBuffer - 1 - shift;  // shift 0: the buffer's last byte
    first += std::string(backslash_at - head.size(), 'p');
    first += "\\\", ] } still the string\", \"after\": [1, 2]}";
    const std::string second = "{\"b\": \"x\"}";
    const std::string array = "[" + first + ",\n" + second + "]";
    REQUIRE(array[backslash_at] == '\\');
    std::istringstream in(array);
    ItemReader reader(in, false);
    std::string item;
    ItemStart start;
    INFO("shift " << shift);
    REQUIRE(reader.next(item, start));
    CHECK(item == first);
    REQUIRE(reader.next(item, start));
    CHECK(item == second);
    CHECK_FALSE(reader.next(item, start));
    CHECK_FALSE(reader.error());
  }
}
