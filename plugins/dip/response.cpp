// The DIP's StandardResponse for a report: one messageArray entry per message, with the DIP's
// level-1 batch semantics (one message in error rejects the whole submission).
#include "dip_family.hpp"

namespace flowguard::dip {

namespace {

// DIP data types the StandardResponse uses: a value that does not fit its type is sent as null
// (or, where the type is not nullable, as `min_len` zeros).
void put_text(json::Writer& out, const char* key, const std::optional<std::string>& value, std::size_t min_len,
              std::size_t max_len, bool nullable = true) {
  out.key(key);
  if (value && value->size() >= min_len && value->size() <= max_len) out.string(*value);
  else if (nullable) out.null();
  else out.string(std::string(min_len, '0'));
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

// The response's message and help for one message: its first error finding (or the file's, for a
// file-level problem), else why it was not accepted, else success (the DIP's MSG codes).
void outcome(const FileReport& r, const MessageInfo& m, bool only_message, std::optional<std::string>& message,
             std::optional<std::string>& help) {
  const Finding* first_error = nullptr;
  for (const auto& f : r.findings)
    if (f.severity == Severity::kError && (under(f.pointer, m.pointer) || only_message)) {
      first_error = &f;
      break;
    }
  if (r.input_error) {
    message = clip("MSG1001 - " + r.input_error->message, 200);
  } else if (first_error) {
    const std::string code = first_error->code.empty() ? first_error->rule : first_error->code;
    message = clip(code + " - " + first_error->message, 200);
    help = clip("flowguard " + first_error->rule + " at " +
                    (first_error->pointer.empty() ? "the document root" : first_error->pointer) + " (line " +
                    std::to_string(first_error->line) + ", column " + std::to_string(first_error->column) + ")",
                500);
  } else if (r.errors > 0) {  // level-1 validation is all or nothing
    message = "MSG0001 - Not accepted: another message in this submission failed validation";
  } else {
    message = "MSG0000 - Success";
  }
}

void append_message(json::Writer& out, const FileReport& r, const MessageInfo& m, bool only_message,
                    const std::string& now) {
  std::optional<std::string> message, help;
  outcome(r, m, only_message, message, help);
  out.begin_object();
  out.key("transactionID").null();
  const auto& sur = m.sender_unique_reference;
  put_text(out, "senderUniqueReference", sur && sur->rfind("S-", 0) == 0 ? sur : std::nullopt, 1, 200);
  put_text(out, "correlationID", m.sender_correlation_id, 1, 60);
  put_text(out, "sentTimestamp", m.sender_timestamp && m.sender_timestamp->size() == 25 ? m.sender_timestamp : now, 25, 25,
           false);
  put_text(out, "senderID", std::string("0000000000"), 10, 10, false);  // the DIP itself answers
  put_text(out, "recipientID", m.sender_dip_id, 10, 10);                // the sender of the original message
  put_text(out, "DIPConnectionProviderID", m.dcp_dip_id, 10, 10);
  put_text(out, "message", message, 1, 200);
  put_text(out, "help", help, 1, 500);
  out.key("serviceTicketURL").null();
  out.end_object();
}

}  // namespace

bool DipFamily::append_response(std::string& text, const FileReport& r, const std::string& now) const {
  std::vector<MessageInfo> messages = r.messages;
  if (messages.empty()) messages.push_back(MessageInfo{"", r.type, {}, {}, {}, {}, {}});
  json::Writer out(text);
  out.begin_object().key("messageArray").begin_array();
  for (const MessageInfo& m : messages) append_message(out, r, m, messages.size() == 1, now);
  out.end_array().member("timestamp", now).end_object();
  return true;
}

}  // namespace flowguard::dip

// The DIP-named functions of the public API (engine.hpp), kept for their callers.
namespace flowguard {

std::string format_dip(const std::vector<FileReport>& reports, const std::string& now) {
  return engine::format_responses(dip::dip_family(), reports, now);
}

std::string format_dip_response(const FileReport& report, const std::string& now) {
  std::string out;
  dip::dip_family().append_response(out, report, now);
  return out;
}

}  // namespace flowguard
