#include <string>

#include "flowguard/engine.hpp"
#include "flowguard/json/document.hpp"
#include "flowguard/json/writer.hpp"

namespace flowguard {

Summary summarize(const std::vector<FileReport>& reports) {
  Summary s;
  for (const auto& r : reports) {
    ++s.files;
    s.records += r.records;
    s.errors += r.errors + (r.input_error ? 1 : 0);
    s.warnings += r.warnings;
    s.infos += r.infos;
  }
  return s;
}

namespace {

std::string plural(std::size_t n, const char* word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

constexpr char kHex[] = "0123456789abcdef";

}  // namespace

void append_printable(std::string& out, std::string_view text) {
  std::size_t plain = 0;  // start of the run not yet copied
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    const bool c1 = c == 0xC2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
                    static_cast<unsigned char>(text[i + 1]) <= 0x9F;
    if (c >= 0x20 && c != 0x7F && !c1) continue;
    out.append(text, plain, i - plain);
    if (c1) {
      const auto code = static_cast<unsigned char>(text[++i]);
      out += "\\u00";
      out += kHex[code >> 4];
      out += kHex[code & 15];
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
    plain = i + 1;
  }
  out.append(text, plain, text.size() - plain);
}

std::string printable(std::string_view text) {
  std::string out;
  append_printable(out, text);
  return out;
}

std::string format_text(const std::vector<FileReport>& reports, bool show_notes) {
  std::string out;
  for (const auto& r : reports) {
    if (r.input_error) {
      // Parse errors already start with FILE:LINE:COL; other input errors get the file prefixed.
      // Every field is printed through append_printable: one finding, one line.
      const std::string& msg = r.input_error->message;
      append_printable(out, r.path);
      const bool has_path = msg.rfind(r.path + ":", 0) == 0;
      const std::size_t colon = has_path ? msg.find(": ", r.path.size()) : std::string::npos;
      if (colon != std::string::npos) {  // "FILE: what" or "FILE:LINE:COL: what"
        append_printable(out, std::string_view(msg).substr(r.path.size(), colon - r.path.size()));
        out += ": error: ";
        append_printable(out, std::string_view(msg).substr(colon + 2));
      } else {
        out += ": error: ";
        append_printable(out, msg);
      }
      out += '\n';
      continue;
    }
    const std::string path = printable(r.path);
    if (show_notes && !r.type.empty())
      out += path + ": note: checked as " + printable(r.type) +
             (r.type_from_content ? " (recognised from content)" : "") + ", " + plural(r.records, "record") + "\n";
    for (const auto& f : r.findings) {
      out += path;
      if (f.line) {
        out += ":" + std::to_string(f.line);
        if (!f.column_name.empty()) out += ":" + printable(f.column_name);  // CSV: ROW:COLUMN-NAME (docs/csv.md)
        else if (f.column) out += ":" + std::to_string(f.column);
      }
      out += ": ";
      out += to_string(f.severity);
      out += ": [";
      append_printable(out, f.rule);
      out += "] ";
      if (!f.code.empty()) {
        out += '(';
        append_printable(out, f.code);
        out += ") ";
      }
      append_printable(out, f.message);
      out += " (";
      append_printable(out, f.pointer.empty() ? std::string_view("document root") : std::string_view(f.pointer));
      out += ")\n";
    }
    std::size_t capped = 0;
    for (const auto& [rule, n] : r.findings_capped) {
      out += path + ": note: [" + printable(rule) + "] " + plural(n, "more finding") +
             " counted but not kept (a rule keeps a bounded number of findings per call and per file)\n";
      capped += n;
    }
    if (r.findings_not_shown > capped)
      out += path + ": note: " + plural(r.findings_not_shown - capped, "more finding") +
             " not shown (--max-findings " + std::to_string(r.findings.size()) + ")\n";
  }
  if (show_notes) {
    const Summary s = summarize(reports);
    out += plural(s.files, "file") + ", " + plural(s.records, "record") + ": " + plural(s.errors, "error") + ", " +
           plural(s.warnings, "warning") + "\n";
  }
  return out;
}

namespace {

// One finding of the JSON report (schemas/report.schema.json).
void write_finding(json::Writer& out, const Finding& f) {
  out.begin_object().member("rule", f.rule).member("severity", to_string(f.severity)).member("path", f.pointer);
  out.member("line", f.line).member("column", f.column).member("message", f.message);
  if (!f.code.empty()) out.member("code", f.code);
  if (!f.column_name.empty()) out.member("column_name", f.column_name);
  out.end_object();
}

void write_file(json::Writer& out, const FileReport& r) {
  out.begin_object().member("path", r.path).key("type");
  if (r.type.empty()) out.null();
  else out.string(r.type);
  out.member("recognised", r.type_from_content).member("records", r.records);
  if (r.input_error)
    out.key("error").begin_object().member("code", to_string(r.input_error->code)).member("message", r.input_error->message).end_object();
  out.key("findings").begin_array();
  for (const auto& f : r.findings) write_finding(out, f);
  out.end_array().member("findings_not_shown", r.findings_not_shown).end_object();
}

}  // namespace

std::string format_findings_json(std::span<const Finding* const> findings) {
  std::string text;
  json::Writer out(text);
  out.begin_array();
  for (const Finding* f : findings) write_finding(out, *f);
  out.end_array();
  return text;
}

std::string format_json(const std::vector<FileReport>& reports) {
  std::string text;
  json::Writer out(text);
  out.begin_object().member("version", 1).key("files").begin_array();
  for (const auto& r : reports) write_file(out, r);
  const Summary s = summarize(reports);
  out.end_array().key("summary").begin_object().member("files", s.files).member("records", s.records);
  out.member("errors", s.errors).member("warnings", s.warnings).member("infos", s.infos).end_object().end_object();
  text += "\n";
  return text;
}

}  // namespace flowguard
