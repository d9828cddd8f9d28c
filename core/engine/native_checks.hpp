// The native field checks a rule can declare in its `fields` table (sdk/docs/rule-api.md).
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "flowguard/json/document.hpp"
#include "flowguard/lua/rule_host.hpp"

namespace flowguard::engine {

// Called once per problem: the field it is about (for pair checks, the second field), its value,
// and the message (without the spec suffix).
using FieldProblem = std::function<void(const std::string& field, const json::Value& value, std::string message)>;

// Runs one declared check on one record (an object). Values that are absent, empty or of another
// JSON type are not the check's business: presence and types are the schema's job.
void run_field_check(const lua::FieldCheck& check, const json::Value& record, const FieldProblem& problem);

}  // namespace flowguard::engine
