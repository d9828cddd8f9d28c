// The native field checks a rule can declare in its `fields` table (sdk/docs/rule-api.md).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "flowguard/json/document.hpp"
#include "flowguard/lua/rule_host.hpp"

namespace flowguard::engine {

// Runs one check on one field value. Returns the problem (a message without the spec suffix), or
// nullopt when the value passes or is not the check's business (absent, empty, wrong JSON type:
// presence and types are the schema's job).
std::optional<std::string> run_field_check(const lua::FieldCheck& check, std::string_view field,
                                           const json::Value& value);

}  // namespace flowguard::engine
