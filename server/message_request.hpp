// The DIP's MessageRequest body of /v1/replay and /v1/requeue, parsed into a journal query. Its own
// header so the fuzz target (fuzz/messages.cpp) and tests reach it without the routes around it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "flowguard/journal/journal.hpp"

namespace flowguard::server {

// The query a MessageRequest asks for, or nullopt with `problem` saying what is wrong, where and
// what was expected (the 400 answer's message).
std::optional<journal::MessageQuery> parse_message_request(std::string_view body, std::string& problem);

}  // namespace flowguard::server
