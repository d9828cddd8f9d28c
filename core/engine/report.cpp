#include <string>

#include "flowguard/engine.hpp"
#include "flowguard/json/document.hpp"

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
      if (f.line) out += ":" + std::to_string(f.line) + ":" + std::to_string(f.column);
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

std::string format_json(const std::vector<FileReport>& reports) {
  std::string out = "{\"version\":1,\"files\":[";
  bool first_file = true;
  for (const auto& r : reports) {
    if (!first_file) out += ",";
    first_file = false;
    out += "{\"path\":";
    json::write_json_string(out, r.path);
    out += ",\"type\":";
    if (r.type.empty()) out += "null";
    else json::write_json_string(out, r.type);
    out += ",\"recognised\":";
    out += r.type_from_content ? "true" : "false";
    out += ",\"records\":" + std::to_string(r.records);
    if (r.input_error) {
      out += ",\"error\":{\"code\":";
      json::write_json_string(out, to_string(r.input_error->code));
      out += ",\"message\":";
      json::write_json_string(out, r.input_error->message);
      out += "}";
    }
    out += ",\"findings\":[";
    bool first = true;
    for (const auto& f : r.findings) {
      if (!first) out += ",";
      first = false;
      out += "{\"rule\":";
      json::write_json_string(out, f.rule);
      out += ",\"severity\":";
      json::write_json_string(out, to_string(f.severity));
      out += ",\"path\":";
      json::write_json_string(out, f.pointer);
      out += ",\"line\":" + std::to_string(f.line) + ",\"column\":" + std::to_string(f.column) + ",\"message\":";
      json::write_json_string(out, f.message);
      if (!f.code.empty()) {
        out += ",\"code\":";
        json::write_json_string(out, f.code);
      }
      out += "}";
    }
    out += "],\"findings_not_shown\":" + std::to_string(r.findings_not_shown) + "}";
  }
  const Summary s = summarize(reports);
  out += "],\"summary\":{\"files\":" + std::to_string(s.files) + ",\"records\":" + std::to_string(s.records) +
         ",\"errors\":" + std::to_string(s.errors) + ",\"warnings\":" + std::to_string(s.warnings) +
         ",\"infos\":" + std::to_string(s.infos) + "}}\n";
  return out;
}

}  // namespace flowguard
