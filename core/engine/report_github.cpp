// `check --format github`: GitHub Actions workflow commands, which the runner turns into
// annotations on the file and line of each finding.
#include <string>

#include "flowguard/report_formats.hpp"

namespace flowguard {

namespace {

// The runner's escaping (actions/toolkit, command.ts): a command's data escapes %, CR and LF; its
// property values escape ':' and ',' as well, which would otherwise end the value.
void append_escaped(std::string& out, std::string_view s, bool property) {
  for (const char c : s) {
    if (c == '%') out += "%25";
    else if (c == '\r') out += "%0D";
    else if (c == '\n') out += "%0A";
    else if (property && c == ':') out += "%3A";
    else if (property && c == ',') out += "%2C";
    else out += c;
  }
}

const char* command_of(Severity s) {
  switch (s) {
    case Severity::kError: return "error";
    case Severity::kWarning: return "warning";
    case Severity::kInfo: return "notice";
  }
  return "error";
}

void append_command(std::string& out, const char* command, const std::string& file, std::uint32_t line,
                    std::uint32_t column, std::string_view title, std::string_view message) {
  out += "::";
  out += command;
  out += " file=";
  append_escaped(out, file, true);
  if (line) {
    out += ",line=" + std::to_string(line);
    if (column) out += ",col=" + std::to_string(column);
  }
  out += ",title=";
  append_escaped(out, title, true);
  out += "::";
  append_escaped(out, message, false);
  out += '\n';
}

std::string plural(std::size_t n, const char* word) { return std::to_string(n) + " " + word + (n == 1 ? "" : "s"); }

}  // namespace

std::string format_github(const std::vector<FileReport>& reports, bool show_notes) {
  std::string out;
  for (const auto& r : reports) {
    if (r.input_error) {
      const InputErrorPlace p = input_error_place(r);
      append_command(out, "error", r.path, p.line, p.column, std::string("input.") + to_string(r.input_error->code),
                     p.text);
      continue;
    }
    for (const auto& f : r.findings) {
      std::string message = f.code.empty() ? f.message : "(" + f.code + ") " + f.message;
      message += " (" + (f.pointer.empty() ? std::string("document root") : f.pointer) + ")";
      append_command(out, command_of(f.severity), r.path, f.line, f.column, f.rule, message);
    }
    if (r.findings_not_shown)
      append_command(out, "warning", r.path, 0, 0, "flowguard",
                     plural(r.findings_not_shown, "more finding") + " not shown (--max-findings " +
                         std::to_string(r.findings.size()) + ")");
  }
  if (show_notes) {
    const Summary s = summarize(reports);
    out += plural(s.files, "file") + ", " + plural(s.records, "record") + ": " + plural(s.errors, "error") + ", " +
           plural(s.warnings, "warning") + "\n";
  }
  return out;
}

}  // namespace flowguard
