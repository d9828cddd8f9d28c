// CSV input (docs/csv.md): a CSV file read as a record-array type's records, and its check with
// every finding placed at its CSV row and column name.
//
// The reading is core/csv's; what belongs here is what needs the type: which columns the schema
// declares and their JSON types (to coerce each cell), which of them are dates, times or MPANs (to
// recognise what a spreadsheet rewrote), and mapping the engine's findings back onto the CSV.
#include <algorithm>
#include <charconv>
#include <limits>
#include <cstdio>
#include <map>
#include <set>

#include "engine_impl.hpp"
#include "flowguard/csv/reader.hpp"
#include "flowguard/json/document.hpp"
#include "flowguard/json/writer.hpp"

namespace flowguard {
namespace fs = std::filesystem;

namespace {

enum class Kind { kString, kInteger, kNumber, kBoolean };
enum class Shape { kPlain, kDate, kDateTime, kTime, kMpan };  // what a string column holds (its x-expected)

struct Column {
  Kind kind = Kind::kString;
  Shape shape = Shape::kPlain;
};

struct Layout {
  std::map<std::string, Column, std::less<>> properties;
  std::vector<std::string> required;
};

Result<Layout> layout_for(const engine::TypeEntry& type, const std::vector<fs::path>& schema_dirs) {
  std::error_code ec;
  for (const auto& dir : schema_dirs) {
    const fs::path file = dir / type.schema;
    if (!fs::is_regular_file(file, ec)) continue;
    auto bytes = engine::read_file(file);
    if (!bytes) return std::move(bytes).error();
    auto doc = json::Document::parse(bytes->view());
    if (!doc) return make_error(ErrorCode::kSchema, file.string() + ": " + doc.error().message);
    const json::Value* items = json::resolve_pointer(doc->root(), type.record_schema);
    const json::Value* props = items ? items->find("properties") : nullptr;
    if (!props || !props->is_object())
      return make_error(ErrorCode::kSchema, file.string() + ": the record schema (" + type.record_schema +
                                                ") declares no properties; expected them for reading CSV columns");
    Layout layout;
    for (const auto& m : props->members()) {
      Column c;
      if (const json::Value* t = m.value.find("type")) {
        std::string_view name = t->is_string() ? t->as_string() : std::string_view();
        if (t->is_array())
          for (const auto& alt : t->items())
            if (alt.is_string() && alt.as_string() != "null") {
              name = alt.as_string();
              break;
            }
        c.kind = name == "integer" ? Kind::kInteger : name == "number" ? Kind::kNumber
                 : name == "boolean" ? Kind::kBoolean : Kind::kString;
      }
      if (const json::Value* x = m.value.find("x-expected"); x && x->is_string()) {
        const std::string_view e = x->as_string();
        if (e.find("MPAN") != std::string_view::npos) c.shape = Shape::kMpan;
        else if (e.find("date-time") != std::string_view::npos) c.shape = Shape::kDateTime;
        else if (e.find("dd-mm-yyyy") != std::string_view::npos) c.shape = Shape::kDate;
        else if (e.find("HH:MM") != std::string_view::npos) c.shape = Shape::kTime;
      }
      layout.properties.emplace(std::string(m.key), c);
    }
    if (const json::Value* req = items->find("required"))
      for (const auto& r : req->items())
        if (r.is_string()) layout.required.emplace_back(r.as_string());
    return layout;
  }
  return make_error(ErrorCode::kSchema, "schema for " + type.name + " (" + type.schema + ") not found");
}

// The record-array type whose fields the header names best: the most header names among its
// key hints, then the fewest of its fields the header lacks.
const engine::TypeEntry* recognise(const std::vector<engine::TypeEntry>& types, std::string_view family,
                                   const std::vector<std::string>& header) {
  const engine::TypeEntry* best = nullptr;
  std::size_t best_hits = 0, best_missing = 0;
  for (const auto& t : types) {
    if (t.shape != FG_SHAPE_RECORD_ARRAY || !t.records_pointer.empty()) continue;
    if (!family.empty() && t.plugin != family) continue;
    std::size_t hits = 0;
    for (const auto& h : std::set<std::string_view>(header.begin(), header.end()))
      if (std::find(t.key_hints.begin(), t.key_hints.end(), h) != t.key_hints.end()) ++hits;
    const std::size_t missing = t.key_hints.size() - hits;
    if (hits > best_hits || (hits == best_hits && hits > 0 && missing < best_missing)) {
      best = &t;
      best_hits = hits;
      best_missing = missing;
    }
  }
  return best;
}

bool digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

int to_int(std::string_view s) {
  int v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

// RFC 8259's number grammar: what can go into the JSON as it is.
bool json_number(std::string_view s) {
  std::size_t i = 0;
  if (i < s.size() && s[i] == '-') ++i;
  if (i >= s.size() || s[i] < '0' || s[i] > '9') return false;
  if (s[i] == '0') ++i;
  else
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  if (i < s.size() && s[i] == '.') {
    const std::size_t start = ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == start) return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    const std::size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == start) return false;
  }
  return i == s.size();
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (;;) {
    const auto p = s.find(sep);
    out.push_back(s.substr(0, p));
    if (p == std::string_view::npos) return out;
    s.remove_prefix(p + 1);
  }
}

std::string two(int v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%02d", v);
  return buf;
}

bool real_date(int d, int m, int y) {
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12 || d < 1) return false;
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return d <= (m == 2 && !leap ? 28 : kDays[m - 1]);
}

bool dmy(std::string_view s) {  // already dd-mm-yyyy
  return s.size() == 10 && digits(s.substr(0, 2)) && s[2] == '-' && digits(s.substr(3, 2)) && s[5] == '-' &&
         digits(s.substr(6, 4));
}

// A date a spreadsheet rewrote: what it is now ("yyyy-mm-dd") and the dd-mm-yyyy it stands for.
struct Rewrite {
  std::string habit;     // "yyyy-mm-dd"
  std::string expected;  // "18-03-2026"
};

std::optional<Rewrite> rewritten_date(std::string_view s) {
  if (dmy(s)) return std::nullopt;
  for (const char sep : {'-', '/', '.'}) {
    const auto parts = split(s, sep);
    if (parts.size() != 3 || !digits(parts[0]) || !digits(parts[1]) || !digits(parts[2])) continue;
    if (parts[0].size() == 4 && parts[1].size() <= 2 && parts[2].size() <= 2) {  // ISO order
      const int y = to_int(parts[0]), m = to_int(parts[1]), d = to_int(parts[2]);
      if (!real_date(d, m, y)) return std::nullopt;
      return Rewrite{std::string("yyyy") + sep + "mm" + sep + "dd",
                     two(d) + "-" + two(m) + "-" + std::string(parts[0])};
    }
    if (parts[0].size() <= 2 && parts[1].size() <= 2 && (parts[2].size() == 4 || parts[2].size() == 2)) {
      int d = to_int(parts[0]), m = to_int(parts[1]);
      const int y = parts[2].size() == 2 ? 2000 + to_int(parts[2]) : to_int(parts[2]);
      std::string habit = std::string("d") + sep + "m" + sep + (parts[2].size() == 2 ? "yy" : "yyyy");
      if (!real_date(d, m, y) && real_date(m, d, y)) {  // day and month swapped: US settings
        std::swap(d, m);
        habit = std::string("m") + sep + "d" + sep + (parts[2].size() == 2 ? "yy" : "yyyy");
      }
      if (!real_date(d, m, y)) return std::nullopt;
      return Rewrite{habit, two(d) + "-" + two(m) + "-" + std::to_string(y)};
    }
  }
  return std::nullopt;
}

// "1:00", "01:00:00", "1:30 PM" → "01:00", "13:30".
std::optional<Rewrite> rewritten_time(std::string_view s) {
  std::string_view t = s;
  int add = -1;  // -1: no AM/PM
  for (const auto& [suffix, hours] : {std::pair{" AM", 0}, {" PM", 12}, {" am", 0}, {" pm", 12}})
    if (t.size() > 3 && t.substr(t.size() - 3) == suffix) {
      add = hours;
      t.remove_suffix(3);
    }
  const auto parts = split(t, ':');
  if (parts.size() < 2 || parts.size() > 3) return std::nullopt;
  for (const auto& p : parts)
    if (!digits(p) || p.size() > 2) return std::nullopt;
  if (parts[1].size() != 2 || (parts.size() == 3 && (parts[2].size() != 2 || to_int(parts[2]) != 0)))
    return std::nullopt;
  int h = to_int(parts[0]);
  if (add >= 0) {
    if (h < 1 || h > 12) return std::nullopt;
    h = h % 12 + add;
  }
  if (h > 24 || to_int(parts[1]) > 59) return std::nullopt;
  if (parts.size() == 2 && parts[0].size() == 2 && add < 0) return std::nullopt;  // already HH:MM
  std::string habit = parts[0].size() == 1 ? "h:mm" : "hh:mm";
  if (parts.size() == 3) habit += ":ss";
  if (add >= 0) habit += " AM/PM";
  return Rewrite{habit, two(h) + ":" + std::string(parts[1])};
}

std::optional<Rewrite> rewritten_datetime(std::string_view s) {
  const auto space = s.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  const std::string_view date = s.substr(0, space), time = s.substr(space + 1);
  auto d = rewritten_date(date);
  auto t = rewritten_time(time);
  if (!d && !t) return std::nullopt;
  if (!d && !dmy(date)) return std::nullopt;
  const bool time_ok = time.size() == 5 && time[2] == ':' && digits(time.substr(0, 2)) && digits(time.substr(3));
  if (!t && !time_ok) return std::nullopt;
  return Rewrite{(d ? d->habit : "dd-mm-yyyy") + " " + (t ? t->habit : "hh:mm"),
                 (d ? d->expected : std::string(date)) + " " + (t ? t->expected : std::string(time))};
}

// A number with thousands separators or a decimal comma, as a spreadsheet formats it; the plain
// number it stands for. `delimiter` tells the locale: a ';' file writes a decimal comma.
struct NumberHabit {
  bool grouped = false, decimal_comma = false;
  std::string plain;
};

std::optional<NumberHabit> formatted_number(std::string_view s, char delimiter) {
  const char decimal = delimiter == ';' ? ',' : '.';
  std::string_view groups_of = delimiter == ';' ? ". \xC2\xA0" : ", \xC2\xA0";  // group marks (NBSP in UTF-8)
  NumberHabit h;
  std::string_view t = s;
  if (!t.empty() && t[0] == '-') h.plain += '-', t.remove_prefix(1);
  std::string_view fraction;
  if (const auto p = t.find(decimal); p != std::string_view::npos) {
    fraction = t.substr(p + 1);
    t = t.substr(0, p);
    if (!digits(fraction)) return std::nullopt;
    h.decimal_comma = decimal == ',';
  }
  // The integer part: digits, or groups of three after a first group of 1-3 digits.
  std::size_t i = 0, run = 0, groups = 0;
  std::string integer;
  while (i < t.size()) {
    const char c = t[i];
    if (c >= '0' && c <= '9') {
      integer += c, ++run, ++i;
      continue;
    }
    std::size_t mark = 0;
    if (c == ' ' || c == ',' || c == '.') mark = 1;
    else if (t.substr(i, 2) == "\xC2\xA0") mark = 2;
    if (!mark || groups_of.find(t.substr(i, mark)) == std::string_view::npos) return std::nullopt;
    if (run == 0 || run > 3 || (groups > 0 && run != 3)) return std::nullopt;
    ++groups, run = 0, i += mark;
  }
  if (integer.empty() || (groups > 0 && run != 3)) return std::nullopt;
  h.grouped = groups > 0;
  if (!h.grouped && !h.decimal_comma) return std::nullopt;
  h.plain += integer;
  if (!fraction.empty() || h.decimal_comma) h.plain += "." + std::string(fraction);
  if (!json_number(h.plain)) return std::nullopt;
  return h;
}

bool scientific_mpan(std::string_view s) {
  const auto e = s.find_first_of("eE");
  if (e == std::string_view::npos || e == 0) return false;
  std::string_view mantissa = s.substr(0, e), exponent = s.substr(e + 1);
  if (!exponent.empty() && exponent[0] == '+') exponent.remove_prefix(1);
  const auto dot = mantissa.find_first_of(".,");
  if (dot != std::string_view::npos && !digits(mantissa.substr(dot + 1))) return false;
  return digits(mantissa.substr(0, dot)) && digits(exponent);
}

std::string json_text(std::string_view s) {
  std::string out;
  json::Writer(out).string(s);
  return out;
}

std::string row_pointer(std::size_t record) {
  std::string p;
  json::append_pointer(p, record);
  return p;
}

std::string cell_pointer(std::size_t record, std::string_view key) {
  std::string p = row_pointer(record);
  json::append_pointer(p, key);
  return p;
}

// Builds the records from the table.
class Converter {
 public:
  Converter(const csv::Table& table, const Layout& layout, CsvConversion& out)
      : t_(table), layout_(layout), out_(out) {}

  void run() {
    read_header();
    out_.json += "[";
    std::uint32_t blank_from = 0, blank_to = 0;
    auto flush_blank = [&] {
      if (!blank_from) return;
      add(Severity::kWarning, "csv.empty-row", blank_from, {}, {}, "",
          (blank_from == blank_to ? "row " + std::to_string(blank_from) + " is empty; it is not a record and is"
                                  : "rows " + std::to_string(blank_from) + " to " + std::to_string(blank_to) +
                                        " are empty; they are not records and are") +
              " left out (a spreadsheet keeps rows that once held data); expected no empty rows");
      blank_from = 0;
    };
    for (std::size_t r = 1; r < t_.rows.size(); ++r) {
      const csv::Row& row = t_.rows[r];
      if (row.blank()) {
        if (!blank_from) blank_from = row.number;
        blank_to = row.number;
        continue;
      }
      flush_blank();
      const std::size_t record = out_.records++;
      out_.rows.push_back(row.number);
      if (row.fields.size() != out_.columns.size())
        add(Severity::kError, "csv.field-count", row.number, {}, {}, row_pointer(record),
            "row " + std::to_string(row.number) + " has " + std::to_string(row.fields.size()) +
                " fields but the header has " + std::to_string(out_.columns.size()) + " columns; expected " +
                std::to_string(out_.columns.size()) + " (a delimiter missing, extra, or inside an unquoted field?)");
      out_.json += record ? ",\n  " : "\n  ";
      json::Writer w(out_.json);  // one per record: the array's separators and layout are written here
      w.begin_object();
      for (std::size_t c = 0; c < row.fields.size() && c < out_.columns.size(); ++c)
        if (!ignored_[c]) cell(w, record, row.number, c, row.fields[c].text);
      w.end_object();
    }
    flush_blank();
    out_.json += out_.records ? "\n]\n" : "]\n";
  }

 private:
  void add(Severity severity, const char* rule, std::uint32_t row, std::optional<std::size_t> column,
           std::string_view name, std::string pointer, std::string message) {
    Finding f;
    f.rule = rule;
    f.severity = severity;
    f.line = row;
    f.column = column ? static_cast<std::uint32_t>(*column + 1) : 0;
    f.column_name = std::string(name);
    f.pointer = std::move(pointer);
    f.message = std::move(message);
    out_.findings.push_back(std::move(f));
  }

  void read_header() {
    const csv::Row& header = t_.rows[0];
    std::set<std::string, std::less<>> seen;
    for (std::size_t c = 0; c < header.fields.size(); ++c) {
      std::string name = header.fields[c].text;
      const auto first = name.find_first_not_of(" \t"), last = name.find_last_not_of(" \t");
      const std::string trimmed = first == std::string::npos ? "" : name.substr(first, last - first + 1);
      if (trimmed != name && !trimmed.empty()) {
        add(Severity::kWarning, "csv.header-space", header.number, c, trimmed, "",
            "the column name " + json_text(name) + " has spaces around it; read as " + json_text(trimmed) +
                " (expected the field name alone)");
        name = trimmed;
      }
      bool ignore = false;
      if (name.empty() && c + 1 == header.fields.size() && c > 0) {
        ignore = true;  // a trailing delimiter on the header line: "a,b,"
      } else if (name.empty()) {
        add(Severity::kError, "csv.empty-column-name", header.number, c, {}, "",
            "column " + std::to_string(c + 1) + " of the header row has no name; expected a field name of the type");
        ignore = true;
      } else if (!seen.insert(name).second) {
        add(Severity::kError, "csv.duplicate-column", header.number, c, name, "",
            "the header row names " + json_text(name) + " twice; expected each field once (this column is ignored)");
        ignore = true;
      }
      out_.columns.push_back(name);
      ignored_.push_back(ignore);
    }
  }

  void cell(json::Writer& w, std::size_t record, std::uint32_t row, std::size_t c, const std::string& text) {
    const std::string& name = out_.columns[c];
    const auto it = layout_.properties.find(name);
    const Column col = it == layout_.properties.end() ? Column{} : it->second;
    auto habit = [&](const char* rule, std::string message) {
      add(Severity::kError, rule, row, c, name, cell_pointer(record, name), std::move(message));
    };
    const std::string shown = json_text(name) + " is " + json_text(text);
    switch (col.kind) {
      case Kind::kString:
        if (!text.empty()) {
          if (col.shape == Shape::kDate) {
            if (auto r = rewritten_date(text))
              habit("csv.excel-date", shown + ", a date a spreadsheet rewrote as " + r->habit +
                                          "; expected dd-mm-yyyy: " + json_text(r->expected) +
                                          " (format the column as Text so that the dates stay as typed)");
          } else if (col.shape == Shape::kDateTime) {
            if (auto r = rewritten_datetime(text))
              habit("csv.excel-date", shown + ", a date-time a spreadsheet rewrote as " + r->habit +
                                          "; expected dd-mm-yyyy HH:MM: " + json_text(r->expected) +
                                          " (format the column as Text so that the values stay as typed)");
          } else if (col.shape == Shape::kTime) {
            if (auto r = rewritten_time(text))
              habit("csv.excel-time", shown + ", a time a spreadsheet rewrote as " + r->habit + "; expected HH:MM: " +
                                          json_text(r->expected) + " (format the column as Text)");
          } else if (col.shape == Shape::kMpan && scientific_mpan(text)) {
            habit("csv.excel-scientific",
                  shown + ", an MPAN a spreadsheet turned into a number in scientific notation (its last digits are "
                          "lost); expected the MPAN's 13 digits as text (format the column as Text and enter "
                          "them again)");
          }
        }
        w.key(name).string(text);
        return;
      case Kind::kInteger:
      case Kind::kNumber:
        if (text.empty()) return;  // absent: a required field's finding is schema.required
        if (json_number(text)) {
          w.key(name).raw(text);
          return;
        }
        if (auto h = formatted_number(text, t_.delimiter)) {
          const char* what = h->grouped && h->decimal_comma ? "thousands separators and a decimal comma"
                             : h->grouped                    ? "thousands separators"
                                                             : "a decimal comma";
          habit(h->grouped ? "csv.thousands-separator" : "csv.decimal-comma",
                shown + ", a number written with " + what + "; expected a plain number with a decimal point: " +
                    h->plain + " (a spreadsheet's number format wrote it so)");
        }
        w.key(name).string(text);  // not a number: the schema says so, unless the habit above did
        return;
      case Kind::kBoolean: {
        if (text.empty()) return;
        std::string lower;
        for (char ch : text) lower += static_cast<char>(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
        if (lower == "true" || lower == "false") w.key(name).boolean(lower == "true");  // spreadsheets write TRUE
        else w.key(name).string(text);
        return;
      }
    }
  }

  const csv::Table& t_;
  const Layout& layout_;
  CsvConversion& out_;
  std::vector<bool> ignored_;
};

// The field a pointer "/i/key" names, and its record; nullopt for the root or deeper pointers.
struct Cell {
  std::size_t record = 0;
  std::string key;  // empty: the record itself
};

std::optional<Cell> parse_pointer(std::string_view p) {
  if (p.size() < 2 || p[0] != '/') return std::nullopt;
  p.remove_prefix(1);
  const auto slash = p.find('/');
  const std::string_view index = p.substr(0, slash);
  Cell cell;
  auto [end, ec] = std::from_chars(index.data(), index.data() + index.size(), cell.record);
  if (ec != std::errc() || end != index.data() + index.size()) return std::nullopt;
  if (slash == std::string_view::npos) return cell;
  const std::string_view token = p.substr(slash + 1);
  if (token.find('/') != std::string_view::npos) return std::nullopt;
  for (std::size_t i = 0; i < token.size(); ++i) {
    if (token[i] == '~' && i + 1 < token.size()) cell.key += token[++i] == '1' ? '/' : '~';
    else cell.key += token[i];
  }
  return cell;
}

// The property a `missing required property "X"` message names.
std::string required_name(std::string_view message) {
  constexpr std::string_view kLead = "missing required property \"";
  if (message.substr(0, kLead.size()) != kLead) return {};
  const auto end = message.find('"', kLead.size());
  return end == std::string_view::npos ? std::string() : std::string(message.substr(kLead.size(), end - kLead.size()));
}

// The engine's hint at the end of a message, for the header's finding: "did you mean "X"?" of an
// unknown property, or the near-miss key a missing property's message names ("found "X"").
std::string hint_of(std::string_view message) {
  if (const auto p = message.find("did you mean"); p != std::string_view::npos && message.find("(found \"") ==
                                                                                     std::string_view::npos) {
    const auto q = message.find('?', p);
    return std::string(message.substr(p, q == std::string_view::npos ? std::string_view::npos : q - p + 1));
  }
  if (const auto p = message.find("(found \""); p != std::string_view::npos) {
    const auto q = message.find('"', p + 8);
    if (q != std::string_view::npos) return "the header has " + std::string(message.substr(p + 7, q - p - 6));
  }
  return {};
}

}  // namespace

Result<CsvConversion> Engine::convert_csv(std::string_view bytes, std::string_view source_name,
                                          std::string_view type_hint) {
  auto table = csv::read(bytes);
  if (!table) return make_error(table.error().code, std::string(source_name) + ": " + table.error().message);
  if (table->rows.empty() || table->rows[0].blank())
    return make_error(ErrorCode::kParse, std::string(source_name) +
                                             ":1: the CSV has no header row; expected the type's field names in row 1");
  std::vector<std::string> header;
  for (const auto& f : table->rows[0].fields) header.push_back(f.text);

  CsvConversion out;
  const engine::TypeEntry* type = nullptr;
  const bool family = !type_hint.empty() && type_hint.find('.') == std::string_view::npos;
  if (!type_hint.empty() && !family) {
    type = impl_->catalogue.find(type_hint);
    if (!type) return make_error(ErrorCode::kUnknownType, "unknown type \"" + std::string(type_hint) +
                                                              "\" (flowguard types lists them)");
    if (type->shape != FG_SHAPE_RECORD_ARRAY || !type->records_pointer.empty())
      return make_error(ErrorCode::kUsage, std::string(source_name) + ": " + type->name +
                                               " is not a JSON array of records; expected a submission type "
                                               "for CSV input");
  } else {
    type = recognise(impl_->catalogue.types(), type_hint, header);
    if (!type) {
      std::string names;
      for (const auto& t : impl_->catalogue.types())
        if (t.shape == FG_SHAPE_RECORD_ARRAY && t.records_pointer.empty() && (!family || t.plugin == type_hint))
          names += (names.empty() ? "" : ", ") + t.name;
      return make_error(ErrorCode::kUnknownType,
                        std::string(source_name) + ":1: the header row names none of the fields of a type read from "
                                                   "CSV; expected the spec's JSON field names of one of: " + names);
    }
    out.type_from_header = true;
  }
  out.type = type->name;
  auto layout = layout_for(*type, impl_->catalogue.schema_dirs());
  if (!layout) return std::move(layout).error();

  Converter(*table, *layout, out).run();
  // The reader's problems, at their cells (by the header's names as read) now that records are numbered.
  for (const auto& p : table->problems) {
    Finding f;
    f.rule = p.rule;
    f.severity = p.severity;
    f.line = p.row;
    f.message = p.message;
    if (p.field != csv::kNoField) {
      f.column = static_cast<std::uint32_t>(p.field + 1);
      if (p.row > 1 && p.field < out.columns.size()) f.column_name = out.columns[p.field];
    }
    const auto it = std::lower_bound(out.rows.begin(), out.rows.end(), p.row);  // rows ascend
    if (p.row > 1 && it != out.rows.end() && *it == p.row) {
      const auto record = static_cast<std::size_t>(it - out.rows.begin());
      f.pointer = f.column_name.empty() ? row_pointer(record) : cell_pointer(record, f.column_name);
    }
    out.findings.push_back(std::move(f));
  }
  return out;
}

FileReport Engine::check_csv(std::string_view bytes, std::string_view source_name, std::string_view type_hint) {
  auto conversion = convert_csv(bytes, source_name, type_hint);
  if (!conversion) {
    FileReport report;
    report.path = std::string(source_name);
    report.input_error = conversion.error();
    return report;
  }
  CsvConversion& conv = *conversion;
  // Uncapped: findings dropped below (on cells the CSV reports on, folded into the header's) must
  // not take the places of those kept; the cap is applied to what is left.
  CheckRequest uncapped;
  uncapped.now = impl_->options.now;
  uncapped.max_findings = std::numeric_limits<std::size_t>::max();
  FileReport report = check(conv.json, source_name, conv.type, uncapped);
  if (report.input_error) return report;
  report.type_from_content = conv.type_from_header;

  std::map<std::string, std::size_t, std::less<>> column_of;
  for (std::size_t c = 0; c < conv.columns.size(); ++c) column_of.try_emplace(conv.columns[c], c);
  std::set<std::string, std::less<>> cells_reported;  // pointers of the cells the CSV reading reports on
  for (const auto& f : conv.findings)
    if (!f.pointer.empty()) cells_reported.insert(f.pointer);

  auto layout = layout_for(*impl_->catalogue.find(conv.type), impl_->catalogue.schema_dirs());
  std::set<std::string, std::less<>> unknown, missing;
  if (layout) {
    for (const auto& name : conv.columns)
      if (!name.empty() && !layout->properties.count(name)) unknown.insert(name);
    for (const auto& r : layout->required)
      if (!column_of.count(r)) missing.insert(r);
  }
  std::map<std::string, std::string, std::less<>> header_hints;  // column -> the engine's first hint

  // The engine counted its findings, those beyond --max-findings included; the count is redone
  // from what is kept here plus those it did not keep.
  auto count = [](const std::vector<Finding>& list, Severity severity) {
    std::size_t n = 0;
    for (const auto& f : list)
      if (f.severity == severity) n += 1 + static_cast<std::size_t>(f.more);  // `more`: folded by a rule's cap
    return n;
  };
  report.errors -= count(report.findings, Severity::kError);
  report.warnings -= count(report.findings, Severity::kWarning);
  report.infos -= count(report.findings, Severity::kInfo);

  std::vector<Finding> findings = std::move(conv.findings);
  for (auto& f : report.findings) {
    const auto cell = parse_pointer(f.pointer);
    bool drop = false;
    if (cell) {
      const std::string required = cell->key.empty() ? required_name(f.message) : std::string();
      if (f.rule == "schema.additionalProperties" && unknown.count(cell->key)) {
        header_hints.try_emplace(cell->key, hint_of(f.message));
        drop = true;
      } else if (f.rule == "schema.required" && missing.count(required)) {
        header_hints.try_emplace(required, hint_of(f.message));
        drop = true;
      } else if (cells_reported.count(f.pointer)) {
        drop = true;
      } else {
        const std::string& key = cell->key.empty() ? required : cell->key;
        f.line = cell->record < conv.rows.size() ? conv.rows[cell->record] : 0;
        const auto col = column_of.find(key);
        f.column = col == column_of.end() ? 0 : static_cast<std::uint32_t>(col->second + 1);
        f.column_name = key;
      }
    } else {
      f.line = 0;  // the payload as a whole (its record count), or deeper than a field: no cell to name
      f.column = 0;
    }
    if (!drop) findings.push_back(std::move(f));
  }
  for (const auto& name : unknown) {
    const std::string hint = header_hints.count(name) ? header_hints[name] : std::string();
    Finding f;
    f.rule = "csv.unknown-column";
    f.line = 1;
    f.column = static_cast<std::uint32_t>(column_of[name] + 1);
    f.column_name = name;
    f.message = "the header row names " + json_text(name) + ", which is not a field of " + conv.type +
                (hint.empty() ? "" : " (" + hint + ")") + "; expected only the spec's field names";
    findings.push_back(std::move(f));
  }
  for (const auto& name : missing) {
    const std::string hint = header_hints.count(name) ? header_hints[name] : std::string();
    Finding f;
    f.rule = "csv.missing-column";
    f.line = 1;
    f.column_name = name;
    f.message = "the header row has no column " + json_text(name) + ", which every " + conv.type + " record requires" +
                (hint.empty() ? "" : " (" + hint + ")") + "; expected a column of that name";
    findings.push_back(std::move(f));
  }
  // Row order, then column order; the payload as a whole last.
  std::stable_sort(findings.begin(), findings.end(), [](const Finding& a, const Finding& b) {
    const auto ka = std::pair(a.line ? a.line : UINT32_MAX, a.column);
    const auto kb = std::pair(b.line ? b.line : UINT32_MAX, b.column);
    return ka < kb;
  });

  report.errors += count(findings, Severity::kError);
  report.warnings += count(findings, Severity::kWarning);
  report.infos += count(findings, Severity::kInfo);
  if (findings.size() > impl_->options.max_findings) {
    report.findings_not_shown += findings.size() - impl_->options.max_findings;
    findings.resize(impl_->options.max_findings);
  }
  report.findings = std::move(findings);
  report.records = conv.records;
  return report;
}

}  // namespace flowguard

namespace flowguard {

bool is_csv_file(const std::filesystem::path& file) {
  std::string ext = file.extension().string();
  for (char& c : ext) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return ext == ".csv";
}

FileReport check_csv_file(Engine& engine, const std::filesystem::path& file, std::string_view type_hint) {
  auto bytes = engine::read_file(file);
  if (!bytes) {
    FileReport report;
    report.path = file.string();
    report.input_error = bytes.error();
    return report;
  }
  return engine.check_csv(bytes->view(), file.string(), type_hint);
}

}  // namespace flowguard
