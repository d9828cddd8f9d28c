// A CSV reader that keeps where everything is: RFC 4180 (quoted fields, doubled quotes, CRLF),
// with what spreadsheets write besides (a UTF-8 byte order mark, ';' as the delimiter, lone CR or
// LF line ends, a last line without one). It never fails on content: what is malformed (a quote
// not closed, text after a closing quote, bytes that are not UTF-8) is a Problem at its row and
// field, and the table holds what could be read. Only limits are errors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "flowguard/finding.hpp"
#include "flowguard/result.hpp"

namespace flowguard::csv {

struct Field {
  std::string text;     // unquoted, doubled quotes undone, invalid UTF-8 replaced by U+FFFD
  bool quoted = false;
};

struct Row {
  std::uint32_t number = 0;  // 1-based, as a spreadsheet numbers rows (the header is row 1)
  std::uint32_t line = 0;    // 1-based line of the file the row starts on (quoted fields may hold line ends)
  std::vector<Field> fields;
  // True when every field is empty: what a spreadsheet leaves after the last record.
  bool blank() const noexcept;
};

inline constexpr std::size_t kNoField = static_cast<std::size_t>(-1);

struct Problem {
  std::uint32_t row = 0;
  std::size_t field = kNoField;  // 0-based index in the row, kNoField for the row as a whole
  std::string rule;              // "csv.quote", "csv.unterminated-quote", "csv.encoding"
  Severity severity = Severity::kError;
  std::string message;           // a complete sentence: what, where, what was expected
};

struct Table {
  char delimiter = ',';
  bool bom = false;   // the input started with a UTF-8 byte order mark (removed)
  bool crlf = false;  // the first line ended in CR LF
  std::vector<Row> rows;  // the header row included (rows[0]), blank rows too: the caller decides
  std::vector<Problem> problems;
};

struct ReadOptions {
  char delimiter = 0;                        // 0: ',' or ';', whichever the first line has more of outside quotes
  std::size_t max_fields_per_row = 4096;
  std::size_t max_rows = 10'000'000;
};

// Reads the whole input. Errors (kLimit) only when a row has more fields or the input more rows than
// the options allow; malformed content is in Table::problems.
Result<Table> read(std::string_view bytes, const ReadOptions& options = {});

// The delimiter read() would choose for `bytes` (after a byte order mark).
char detect_delimiter(std::string_view bytes) noexcept;

}  // namespace flowguard::csv
