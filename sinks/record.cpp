#include "record.hpp"

#include <string_view>

#include "flowguard/json/writer.hpp"

namespace flowguard::sinks::detail {
namespace {

// JSON text from the router, kept as it is but on one line. Empty means no document.
std::string one_line(std::string_view json, std::string_view if_empty) {
  std::string out(json.empty() ? if_empty : json);
  for (char& c : out)
    if (c == '\n' || c == '\r') c = ' ';
  return out;
}

}  // namespace

void append_record(std::string& out, const Delivery& message) {
  json::Writer w(out);
  w.begin_object().member("id", message.id).member("reference", message.reference).member("type", message.type);
  w.key("message").raw(one_line(message.body, "null"));
  if (!message.dead_letter_reason.empty() || !message.findings_json.empty()) {
    w.member("dead_letter_reason", message.dead_letter_reason);
    w.key("findings").raw(one_line(message.findings_json, "[]"));
  }
  w.end_object();
}

}  // namespace flowguard::sinks::detail
