// The CSV reader: RFC 4180 and what spreadsheets write besides, every field at its row.
#include <catch2/catch.hpp>

#include "flowguard/csv/reader.hpp"

namespace csv = flowguard::csv;

namespace {

csv::Table read_ok(std::string_view bytes, const csv::ReadOptions& options = {}) {
  auto table = csv::read(bytes, options);
  REQUIRE(table.ok());
  return std::move(table).value();
}

std::vector<std::string> texts(const csv::Row& row) {
  std::vector<std::string> out;
  for (const auto& f : row.fields) out.push_back(f.text);
  return out;
}

using Strings = std::vector<std::string>;

}  // namespace

TEST_CASE("plain rows with LF, CRLF, lone CR and no final line end") {
  for (const std::string_view end : {"\n", "\r\n", "\r"}) {
    INFO("line end " << (end == "\n" ? "LF" : end == "\r\n" ? "CRLF" : "CR"));
    const std::string text = "a,b,c" + std::string(end) + "1,2,3" + std::string(end) + "4,5,6";
    const auto t = read_ok(text);
    REQUIRE(t.rows.size() == 3);
    CHECK(texts(t.rows[0]) == Strings{"a", "b", "c"});
    CHECK(texts(t.rows[2]) == Strings{"4", "5", "6"});
    CHECK(t.rows[2].number == 3);
    CHECK(t.rows[2].line == 3);
    CHECK(t.crlf == (end == "\r\n"));
    CHECK(t.problems.empty());
  }
}

TEST_CASE("a final line end adds no row") {
  const auto t = read_ok("a,b\n1,2\n");
  CHECK(t.rows.size() == 2);
}

TEST_CASE("a UTF-8 byte order mark is removed and noted") {
  const auto t = read_ok("\xEF\xBB\xBF" "Event ID,Zone\n1,2\n");
  CHECK(t.bom);
  CHECK(t.rows[0].fields[0].text == "Event ID");
  CHECK_FALSE(read_ok("Event ID\n").bom);
}

TEST_CASE("the delimiter is whichever of comma and semicolon the header has more of outside quotes") {
  CHECK(csv::detect_delimiter("a;b;c\n1,5;2;3") == ';');
  CHECK(csv::detect_delimiter("a,b;c,d") == ',');
  CHECK(csv::detect_delimiter("\"a;b;c\",d\n") == ',');  // the ';' are inside quotes
  CHECK(csv::detect_delimiter("\xEF\xBB\xBF" "a;b") == ';');
  CHECK(csv::detect_delimiter("single") == ',');
  const auto t = read_ok("a;b\n\"1,5\";2\n");
  CHECK(t.delimiter == ';');
  CHECK(texts(t.rows[1]) == Strings{"1,5", "2"});
  csv::ReadOptions forced;
  forced.delimiter = ',';
  CHECK(read_ok("a;b,c", forced).rows[0].fields.size() == 2);
}

TEST_CASE("quoted fields: delimiters, doubled quotes and line ends inside quotes") {
  const auto t = read_ok("name,serial,n\r\n\"Beta, \"\"Dev\"\" Ltd\",\"SDF\r\nGH\",\"\"\r\nnext,row,3\r\n");
  REQUIRE(t.rows.size() == 3);
  CHECK(t.rows[1].fields[0].text == "Beta, \"Dev\" Ltd");
  CHECK(t.rows[1].fields[0].quoted);
  CHECK(t.rows[1].fields[1].text == "SDF\r\nGH");
  CHECK(t.rows[1].fields[2].text.empty());
  CHECK(t.rows[1].fields[2].quoted);
  // Row numbers count records; lines count the file's lines.
  CHECK(t.rows[2].number == 3);
  CHECK(t.rows[2].line == 4);
  CHECK(t.problems.empty());
}

TEST_CASE("an unclosed quote is a problem at its row and field, and what was read is kept") {
  const auto t = read_ok("a,b\n1,\"never closed\n2,3\n");
  REQUIRE(t.rows.size() == 2);
  CHECK(t.rows[1].fields[1].text == "never closed\n2,3\n");
  REQUIRE(t.problems.size() == 1);
  CHECK(t.problems[0].rule == "csv.unterminated-quote");
  CHECK(t.problems[0].row == 2);
  CHECK(t.problems[0].field == 1);
  CHECK_THAT(t.problems[0].message, Catch::Contains("line 2") && Catch::Contains("expected a closing double quote"));
}

TEST_CASE("text after a closing quote and a quote in an unquoted field are problems") {
  const auto t = read_ok("a,b\n\"x\"y,5\" screen\n");
  REQUIRE(t.problems.size() == 2);
  CHECK(t.problems[0].rule == "csv.quote");
  CHECK(t.problems[0].field == 0);
  CHECK(t.problems[1].rule == "csv.quote");
  CHECK(t.problems[1].field == 1);
  CHECK(t.rows[1].fields[0].text == "xy");
  CHECK(t.rows[1].fields[1].text == "5\" screen");
}

TEST_CASE("bytes that are not UTF-8 are replaced and reported at their field") {
  const auto t = read_ok("a,b\nok,Beta \xA3 Dev\n\xC3\xA9t\xC3\xA9,\xED\xA0\x80\n");
  REQUIRE(t.problems.size() == 2);
  CHECK(t.problems[0].rule == "csv.encoding");
  CHECK(t.problems[0].row == 2);
  CHECK(t.problems[0].field == 1);
  CHECK_THAT(t.problems[0].message, Catch::Contains("0xA3") && Catch::Contains("expected UTF-8"));
  CHECK(t.rows[1].fields[1].text == "Beta \xEF\xBF\xBD Dev");
  CHECK(t.rows[2].fields[0].text == "\xC3\xA9t\xC3\xA9");  // valid UTF-8 stays
  CHECK(t.problems[1].row == 3);                          // an encoded surrogate is not UTF-8
  CHECK(t.problems[1].field == 1);
}

TEST_CASE("blank rows are kept for the caller and say so") {
  const auto t = read_ok("a,b\n1,2\n,\n\n");
  REQUIRE(t.rows.size() == 4);
  CHECK_FALSE(t.rows[1].blank());
  CHECK(t.rows[2].blank());
  CHECK(t.rows[3].blank());
}

TEST_CASE("limits are errors, not crashes") {
  csv::ReadOptions small;
  small.max_fields_per_row = 3;
  auto wide = csv::read("a,b,c,d\n", small);
  REQUIRE_FALSE(wide.ok());
  CHECK(wide.error().code == flowguard::ErrorCode::kLimit);
  small.max_rows = 2;
  small.max_fields_per_row = 10;
  CHECK_FALSE(csv::read("a\nb\nc\n", small).ok());
  CHECK(csv::read("", small).ok());
  CHECK(read_ok("").rows.empty());
}
