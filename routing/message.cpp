#include "flowguard/routing/message.hpp"

#include "flowguard/json/document.hpp"

namespace flowguard::routing {
namespace {

// The end of the JSON value starting at `begin` (the document was parsed, so it is well-formed).
std::size_t value_end(std::string_view s, std::size_t begin) {
  if (begin >= s.size()) return s.size();
  const char c = s[begin];
  if (c == '"') {
    for (std::size_t i = begin + 1; i < s.size(); ++i) {
      if (s[i] == '\\') ++i;
      else if (s[i] == '"') return i + 1;
    }
    return s.size();
  }
  if (c == '{' || c == '[') {
    int depth = 0;
    for (std::size_t i = begin; i < s.size(); ++i) {
      const char d = s[i];
      if (d == '"') {
        i = value_end(s, i) - 1;
      } else if (d == '{' || d == '[') {
        ++depth;
      } else if (d == '}' || d == ']') {
        if (--depth == 0) return i + 1;
      }
    }
    return s.size();
  }
  std::size_t i = begin;
  while (i < s.size() && s[i] != ',' && s[i] != ']' && s[i] != '}' && s[i] != ' ' && s[i] != '\n' && s[i] != '\r' &&
         s[i] != '\t')
    ++i;
  return i;
}

std::string text_at(const json::Value* object, std::string_view key) {
  if (!object) return {};
  const json::Member* m = object->find_member_ignoring_case(key);
  return m && m->value.is_string() ? std::string(m->value.as_string()) : std::string();
}

const json::Value* object_at(const json::Value* object, std::string_view key) {
  if (!object) return nullptr;
  const json::Member* m = object->find_member_ignoring_case(key);
  return m && m->value.is_object() ? &m->value : nullptr;
}

bool under(const std::string& pointer, const std::string& base) {
  return pointer == base ||
         (pointer.size() > base.size() && pointer.compare(0, base.size(), base) == 0 && pointer[base.size()] == '/');
}

void add_finding(Incoming& in, const Finding& f, std::vector<const Finding*>& kept) {
  kept.push_back(&f);
  if (f.severity == Severity::kError) in.facts.valid = false;
  if (!in.facts.worst || f.severity < *in.facts.worst) in.facts.worst = f.severity;
}

}  // namespace

std::vector<Incoming> split_messages(const FileReport& report, std::string_view body, const std::string& recipient,
                                     const std::string& recipient_role) {
  std::vector<Incoming> out;
  json::Document doc;
  json::ParseError error;
  const bool parsed = !report.input_error && json::Document::parse(body, doc, error);
  const bool dip_array = parsed && !report.messages.empty() && doc.root().is_array() &&
                         doc.root().size() == report.messages.size();
  if (!dip_array) {
    Incoming whole;
    whole.facts.type = report.type;
    whole.facts.recipient = recipient;
    whole.facts.recipient_role = recipient_role;
    whole.facts.valid = !report.input_error;
    whole.body = std::string(body);
    std::vector<const Finding*> kept;
    for (const auto& f : report.findings) add_finding(whole, f, kept);
    if (report.errors > 0) whole.facts.valid = false;  // also those beyond the finding cap
    whole.findings_json = format_findings_json(kept);
    out.push_back(std::move(whole));
    return out;
  }
  const auto items = doc.root().items();
  for (std::size_t i = 0; i < items.size(); ++i) {
    const MessageInfo& info = report.messages[i];
    Incoming m;
    const auto begin = items[i].offset();
    m.body = std::string(body.substr(begin, value_end(body, begin) - begin));
    m.facts.type = info.type.empty() ? report.type : info.type;
    const json::Value* payload = object_at(&items[i], "payload");
    const json::Value* common = object_at(payload, "CommonBlock");
    const json::Value* s0 = object_at(common, "S0");
    const json::Value* s1 = object_at(common, "S1");
    m.facts.interface_id = text_at(s0, "interfaceID");
    m.facts.event_code = text_at(s0, "eventCode");
    m.facts.reference = text_at(s1, "senderUniqueReference");
    m.facts.sender = text_at(s1, "senderDIPID");
    m.facts.sender_role = text_at(s1, "senderRoleID");
    m.facts.mpan = text_at(object_at(common, "M0"), "MPANCore");
    m.facts.recipient = recipient;
    m.facts.recipient_role = recipient_role;
    const std::string base = info.pointer.empty() ? "/" + std::to_string(i) : info.pointer;
    std::vector<const Finding*> kept;
    for (const auto& f : report.findings)
      if (under(f.pointer, base) || f.pointer.empty()) add_finding(m, f, kept);
    m.findings_json = format_findings_json(kept);
    out.push_back(std::move(m));
  }
  // Findings beyond the cap are counted, not kept: they may belong to any message.
  if (report.findings_not_shown > 0 && report.errors > 0)
    for (auto& m : out) m.facts.valid = false;
  return out;
}

}  // namespace flowguard::routing
