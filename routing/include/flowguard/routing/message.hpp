// One message on its way to the router: its bytes as sinks will deliver them, what routes match
// on, and its findings. split_messages() cuts a checked document into these.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "flowguard/engine.hpp"
#include "flowguard/journal/journal.hpp"

namespace flowguard::routing {

struct MessageFacts {
  std::string type;            // flowguard type ("dip.IF-001.…"; the document's type for other families)
  std::string interface_id, event_code;      // DIP CommonBlock S0
  std::string reference;       // S1 senderUniqueReference; empty for families without one
  std::string sender, sender_role;           // S1 senderDIPID, senderRoleID
  std::string recipient, recipient_role;     // given with the request (the DIP derives them from the channel)
  std::string mpan;            // M0 MPANCore when present
  bool valid = true;           // no error finding in this message
  std::optional<Severity> worst;             // the most severe finding in it, if any
};

struct Incoming {
  MessageFacts facts;
  std::string body;           // one DIPMessageArray element ({"payload": …}), or the whole document
  std::string findings_json;  // its findings, as the JSON report writes them
  journal::TimePoint received_at{}, validated_at{};
};

// A checked document → its messages. A DIP message array gives one Incoming per element (its bytes
// exactly as sent, its findings those under its pointer, document-level findings to every message);
// any other document is one message. `recipient`/`recipient_role` are copied into every message.
std::vector<Incoming> split_messages(const FileReport& report, std::string_view body, const std::string& recipient,
                                     const std::string& recipient_role);

}  // namespace flowguard::routing
