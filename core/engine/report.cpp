#include <optional>
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

namespace flowguard {

namespace {

// DIP data types the StandardResponse uses: a value that does not fit its type is sent as null.
void put_text(std::string& out, const char* key, const std::optional<std::string>& value, std::size_t min_len,
              std::size_t max_len, bool nullable = true) {
  out += "\"";
  out += key;
  out += "\":";
  if (value && value->size() >= min_len && value->size() <= max_len) json::write_json_string(out, *value);
  else if (nullable) out += "null";
  else json::write_json_string(out, std::string(min_len, '0'));
}

std::string clip(std::string text, std::size_t max) {
  if (text.size() <= max) return text;
  text.resize(max - 3);
  while (!text.empty() && (static_cast<unsigned char>(text.back()) & 0xC0) == 0x80) text.pop_back();  // whole code points
  if (!text.empty() && static_cast<unsigned char>(text.back()) >= 0xC0) text.pop_back();
  return text + "...";
}

bool under(const std::string& pointer, const std::string& base) {
  return base.empty() || pointer == base || (pointer.size() > base.size() && pointer.compare(0, base.size(), base) == 0 &&
                                             pointer[base.size()] == '/');
}

}  // namespace

namespace {

// One StandardResponse object for one file's report.
void append_dip_response(std::string& out, const FileReport& r, const std::string& now) {
  {
    // Level-1 validation is all or nothing: one message in error rejects the submission.
    const bool rejected = r.errors > 0 || r.input_error.has_value();
    std::vector<MessageInfo> messages = r.messages;
    if (messages.empty()) messages.push_back(MessageInfo{"", r.type, {}, {}, {}, {}, {}});
    out += "{\"messageArray\":[";
    for (std::size_t i = 0; i < messages.size(); ++i) {
      const MessageInfo& m = messages[i];
      if (i) out += ",";
      // The first error finding inside this message (or anywhere, for a file-level problem).
      const Finding* first_error = nullptr;
      for (const auto& f : r.findings)
        if (f.severity == Severity::kError && (under(f.pointer, m.pointer) || (messages.size() == 1))) {
          first_error = &f;
          break;
        }
      std::optional<std::string> message, help;
      if (r.input_error) {
        message = clip("MSG1001 - " + r.input_error->message, 200);
      } else if (first_error) {
        const std::string code = first_error->code.empty() ? first_error->rule : first_error->code;
        message = clip(code + " - " + first_error->message, 200);
        help = clip("flowguard " + first_error->rule + " at " + (first_error->pointer.empty() ? "the document root" : first_error->pointer) +
                        " (line " + std::to_string(first_error->line) + ", column " + std::to_string(first_error->column) + ")",
                    500);
      } else if (rejected) {
        message = "MSG0001 - Not accepted: another message in this submission failed validation";
      } else {
        message = "MSG0000 - Success";
      }
      out += "{";
      out += "\"transactionID\":null,";
      const auto& sur = m.sender_unique_reference;
      put_text(out, "senderUniqueReference", sur && sur->rfind("S-", 0) == 0 ? sur : std::nullopt, 1, 200);
      out += ",";
      put_text(out, "correlationID", m.sender_correlation_id, 1, 60);
      out += ",";
      put_text(out, "sentTimestamp", m.sender_timestamp && m.sender_timestamp->size() == 25 ? m.sender_timestamp : now, 25, 25,
               false);
      out += ",";
      put_text(out, "senderID", std::string("0000000000"), 10, 10, false);  // the DIP itself answers
      out += ",";
      put_text(out, "recipientID", m.sender_dip_id, 10, 10);  // the sender of the original message
      out += ",";
      put_text(out, "DIPConnectionProviderID", m.dcp_dip_id, 10, 10);
      out += ",";
      put_text(out, "message", message, 1, 200);
      out += ",";
      put_text(out, "help", help, 1, 500);
      out += ",\"serviceTicketURL\":null}";
    }
    out += "],\"timestamp\":";
    json::write_json_string(out, now);
    out += "}";
  }
}

}  // namespace

std::string format_dip(const std::vector<FileReport>& reports, const std::string& now) {
  std::string out = "[";
  for (std::size_t i = 0; i < reports.size(); ++i) {
    if (i) out += ",";
    append_dip_response(out, reports[i], now);
  }
  out += "]\n";
  return out;
}

std::string format_dip_response(const FileReport& report, const std::string& now) {
  std::string out;
  append_dip_response(out, report, now);
  return out;
}

}  // namespace flowguard
