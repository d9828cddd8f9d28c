// The rule catalogue behind `flowguard rules list` and `explain`: the loaded Lua rules and the ids
// the engine produces itself.
#include "flowguard/engine.hpp"
#include "engine_impl.hpp"

namespace flowguard {

namespace {

std::string describe_native(const lua::FieldCheck& check) {
  std::string out = check.check;
  if (check.check == "max_decimals") out += "=" + std::to_string(check.argument);
  else if (!check.text_argument.empty()) out += "=" + check.text_argument;
  out += '(';
  for (std::size_t i = 0; i < check.fields.size(); ++i) out += (i ? ", " : "") + check.fields[i];
  return out + ')';
}

RuleDescription builtin(std::string id, Severity severity, std::string description) {
  RuleDescription d;
  d.id = std::move(id);
  d.severity = severity;
  d.description = std::move(description);
  d.spec = "the type's JSON Schema and the plugin's type descriptors (schemas/<plugin>/)";
  d.types = {"*"};
  d.builtin = true;
  return d;
}

}  // namespace

std::vector<RuleDescription> builtin_rules() {
  // Kept beside the code that emits them: pipeline.cpp, findings.cpp, recognise.cpp.
  return {
      builtin("schema.<keyword>", Severity::kError,
              "A JSON Schema (draft-07) keyword failed: schema.required, schema.type, schema.pattern, "
              "schema.enum, schema.additionalProperties, schema.maxLength, schema.minimum, ... (one finding per field)"),
      builtin("schema.key-case", Severity::kWarning,
              "A key differs from the spec's only in letter case (accepted by the DIP on ingress; an error with --strict-keys)"),
      builtin("schema.unavailable", Severity::kError, "The type's schema could not be loaded, so nothing was validated against it"),
      builtin("json.duplicate-key", Severity::kWarning, "A key appears more than once in one object; receivers may keep either value"),
      builtin("type.unrecognised", Severity::kError, "The document matches no known type (the closest types are named)"),
      builtin("type.unknown-variant", Severity::kError,
              "A message carries its family's discriminators but matches no known variant (the closest are named)"),
      builtin("type.variant-mismatch", Severity::kError, "A message asked to be checked as one variant says it is another"),
  };
}

std::vector<RuleDescription> Engine::rules() {
  std::vector<RuleDescription> out;
  for (const auto& rule : impl_->pool->rules()) {
    RuleDescription d;
    d.id = rule.id;
    d.severity = rule.severity;
    d.description = rule.description;
    d.spec = rule.spec;
    d.code = rule.code;
    d.types = rule.types;
    d.file = rule.file.lexically_normal().string();
    d.line = rule.line;
    d.record = rule.has_record;
    d.document = rule.has_document;
    for (const auto& check : rule.field_checks) d.native_checks.push_back(describe_native(check));
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace flowguard
