#include "flowguard/csv/reader.hpp"

#include <cstdio>

namespace flowguard::csv {

bool Row::blank() const noexcept {
  for (const auto& f : fields)
    if (!f.text.empty()) return false;
  return true;
}

namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

std::string_view strip_bom(std::string_view bytes) {
  return bytes.substr(0, kBom.size()) == kBom ? bytes.substr(kBom.size()) : bytes;
}

// Length of the valid UTF-8 sequence at s[i], or 0 when it is not one (overlongs, surrogates and
// code points past U+10FFFF included).
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  if (c < 0x80) return 1;
  std::size_t n;
  std::uint32_t cp;
  if (c >= 0xC2 && c <= 0xDF) n = 2, cp = c & 0x1F;
  else if (c >= 0xE0 && c <= 0xEF) n = 3, cp = c & 0x0F;
  else if (c >= 0xF0 && c <= 0xF4) n = 4, cp = c & 0x07;
  else return 0;
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((b(k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(k) & 0x3F);
  }
  if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
    return 0;
  return n;
}

// Replaces what is not UTF-8 with U+FFFD; returns the first bad byte's index, or npos.
std::size_t repair_utf8(std::string& text) {
  std::size_t first_bad = std::string::npos;
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = utf8_sequence(text, i);
    if (n == 0) {
      if (first_bad == std::string::npos) {
        first_bad = i;
        out.assign(text, 0, i);
      }
      out += "\xEF\xBF\xBD";
      ++i;
      continue;
    }
    if (first_bad != std::string::npos) out.append(text, i, n);
    i += n;
  }
  if (first_bad != std::string::npos) text = std::move(out);
  return first_bad;
}

class Reader {
 public:
  Reader(std::string_view bytes, char delimiter, const ReadOptions& options, Table& table)
      : s_(bytes), d_(delimiter), options_(options), table_(table) {}

  Status run() {
    while (pos_ < s_.size()) {
      if (auto status = read_row(); !status) return status;
    }
    return Ok{};
  }

 private:
  void problem(std::size_t field, const char* rule, std::string message) {
    table_.problems.push_back({row_.number, field, rule, Severity::kError, std::move(message)});
  }

  // One row from pos_ to just past its line end.
  Status read_row() {
    row_ = Row{};
    row_.number = static_cast<std::uint32_t>(table_.rows.size() + 1);
    row_.line = line_;
    if (table_.rows.size() >= options_.max_rows)
      return make_error(ErrorCode::kLimit, "the CSV has more than " + std::to_string(options_.max_rows) +
                                               " rows; expected at most that many");
    for (;;) {
      if (row_.fields.size() >= options_.max_fields_per_row)
        return make_error(ErrorCode::kLimit, "row " + std::to_string(row_.number) + " has more than " +
                                                 std::to_string(options_.max_fields_per_row) +
                                                 " fields; expected at most that many");
      Field field;
      const bool more = read_field(field);
      const std::size_t index = row_.fields.size();
      if (const std::size_t bad = repair_utf8(field.text); bad != std::string::npos) {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned>(static_cast<unsigned char>(pending_bad_byte_)));
        problem(index, "csv.encoding",
                std::string("the field holds bytes that are not UTF-8 (") + hex +
                    "); expected UTF-8 text (a spreadsheet saving \"CSV\" rather than \"CSV UTF-8\" writes "
                    "Windows-1252, "
                    "where \xC2\xA3 is 0xA3)");
      }
      row_.fields.push_back(std::move(field));
      if (!more) break;
    }
    table_.rows.push_back(std::move(row_));
    return Ok{};
  }

  // Consumes a line end at pos_ if there is one.
  bool line_end() {
    if (pos_ >= s_.size()) return false;
    if (s_[pos_] == '\n') {
      ++pos_, ++line_;
      return true;
    }
    if (s_[pos_] == '\r') {
      if (line_ == 1 && table_.rows.empty()) table_.crlf = pos_ + 1 < s_.size() && s_[pos_ + 1] == '\n';
      ++pos_, ++line_;
      if (pos_ < s_.size() && s_[pos_] == '\n') ++pos_;
      return true;
    }
    return false;
  }

  // Reads one field; true when another field of the same row follows (a delimiter was consumed).
  bool read_field(Field& field) {
    pending_bad_byte_ = 0;
    if (pos_ < s_.size() && s_[pos_] == '"') {
      field.quoted = true;
      const std::uint32_t start_line = line_;
      ++pos_;
      for (;;) {
        if (pos_ >= s_.size()) {
          problem(row_.fields.size(), "csv.unterminated-quote",
                  "the quoted field that starts on line " + std::to_string(start_line) +
                      " is not closed before the end of the file; expected a closing double quote");
          note_bad(field.text);
          return false;
        }
        const char c = s_[pos_];
        if (c == '"') {
          if (pos_ + 1 < s_.size() && s_[pos_ + 1] == '"') {
            field.text += '"';
            pos_ += 2;
            continue;
          }
          ++pos_;
          break;
        }
        if (c == '\n' || c == '\r') {  // a line end inside quotes is part of the field
          if (c == '\r' && pos_ + 1 < s_.size() && s_[pos_ + 1] == '\n') field.text += '\r', ++pos_;
          field.text += s_[pos_++];
          ++line_;
          continue;
        }
        field.text += c;
        ++pos_;
      }
      // After the closing quote: a delimiter, a line end or the end of the file.
      bool reported = false;
      while (pos_ < s_.size() && s_[pos_] != d_ && s_[pos_] != '\n' && s_[pos_] != '\r') {
        if (!reported) {
          problem(row_.fields.size(), "csv.quote",
                  "the field has text after its closing double quote; expected the delimiter or the end of the "
                  "line (a double quote inside a quoted field is written twice: \"\")");
          reported = true;
        }
        field.text += s_[pos_++];
      }
    } else {
      bool reported = false;
      while (pos_ < s_.size() && s_[pos_] != d_ && s_[pos_] != '\n' && s_[pos_] != '\r') {
        if (s_[pos_] == '"' && !reported) {
          problem(row_.fields.size(), "csv.quote",
                  "the field holds a double quote but is not enclosed in double quotes; expected it enclosed, "
                  "with the quote written twice (RFC 4180)");
          reported = true;
        }
        field.text += s_[pos_++];
      }
    }
    note_bad(field.text);
    if (pos_ < s_.size() && s_[pos_] == d_) {
      ++pos_;
      return true;
    }
    line_end();
    return false;
  }

  // Remembers the first byte that is not UTF-8, for the message.
  void note_bad(const std::string& text) {
    for (std::size_t i = 0; i < text.size();) {
      const std::size_t n = utf8_sequence(text, i);
      if (n == 0) {
        pending_bad_byte_ = text[i];
        return;
      }
      i += n;
    }
  }

  std::string_view s_;
  char d_;
  const ReadOptions& options_;
  Table& table_;
  std::size_t pos_ = 0;
  std::uint32_t line_ = 1;
  Row row_;
  char pending_bad_byte_ = 0;
};

}  // namespace

char detect_delimiter(std::string_view bytes) noexcept {
  bytes = strip_bom(bytes);
  std::size_t commas = 0, semicolons = 0;
  bool quoted = false;
  for (const char c : bytes) {
    if (c == '"') quoted = !quoted;  // a doubled quote toggles twice
    else if (!quoted && (c == '\n' || c == '\r')) break;
    else if (!quoted && c == ',') ++commas;
    else if (!quoted && c == ';') ++semicolons;
  }
  return semicolons > commas ? ';' : ',';
}

Result<Table> read(std::string_view bytes, const ReadOptions& options) {
  Table table;
  table.bom = bytes.substr(0, kBom.size()) == kBom;
  bytes = strip_bom(bytes);
  table.delimiter = options.delimiter ? options.delimiter : detect_delimiter(bytes);
  Reader reader(bytes, table.delimiter, options, table);
  if (auto status = reader.run(); !status) return std::move(status).error();
  return table;
}

}  // namespace flowguard::csv
