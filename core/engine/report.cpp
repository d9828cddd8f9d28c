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

}  // namespace

std::string format_text(const std::vector<FileReport>& reports, bool show_notes) {
  std::string out;
  for (const auto& r : reports) {
    if (r.input_error) {
      // Parse errors already start with FILE:LINE:COL; other input errors get the file prefixed.
      const std::string& msg = r.input_error->message;
      if (msg.rfind(r.path + ":", 0) == 0) out += msg.substr(0, msg.find(": ", r.path.size() + 1)) + ": error: " +
                                                 msg.substr(msg.find(": ", r.path.size() + 1) + 2) + "\n";
      else out += r.path + ": error: " + msg + "\n";
      continue;
    }
    if (show_notes && !r.type.empty())
      out += r.path + ": note: checked as " + r.type + (r.type_from_content ? " (recognised from content)" : "") +
             ", " + plural(r.records, "record") + "\n";
    for (const auto& f : r.findings) {
      out += r.path;
      if (f.line) out += ":" + std::to_string(f.line) + (!f.column_name.empty() ? ":" + f.column_name  // CSV: ROW:NAME
                                                         : f.column         ? ":" + std::to_string(f.column)
                                                                            : std::string());
      out += ": ";
      out += to_string(f.severity);
      out += ": [" + f.rule + "] ";
      if (!f.code.empty()) out += "(" + f.code + ") ";
      out += f.message;
      out += " (" + (f.pointer.empty() ? std::string("document root") : f.pointer) + ")\n";
    }
    if (r.findings_not_shown)
      out += r.path + ": note: " + plural(r.findings_not_shown, "more finding") +
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
