// The record the stdout, file and spool sinks write for a message: one JSON object,
// {"id","reference","type","message":<body>} and, for a dead-lettered message,
// "dead_letter_reason" and "findings". Always one line: a body's line breaks are JSON whitespace
// (a JSON string cannot hold a raw one), so they become spaces.
#pragma once

#include <string>

#include "flowguard/sinks/sink.hpp"

namespace flowguard::sinks::detail {

void append_record(std::string& out, const Delivery& message);

}  // namespace flowguard::sinks::detail
