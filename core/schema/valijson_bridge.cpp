// valijson as the reference validator and as CompiledSchema's fallback. Everything valijson throws
// stays inside this file: callers get errors as values.
#include <fstream>
#include <map>
#include <sstream>
#include <string>

// GCC 12 raises a false -Wrestrict inside valijson's json_pointer.hpp (std::string::replace inlined
// there); it is third-party code we do not change.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wrestrict"
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>
#pragma GCC diagnostic pop

#include "valijson_adapter.hpp"
#include "valijson_fallback.hpp"

namespace flowguard::schema {
namespace detail {

namespace {

bool has_scheme(std::string_view uri) {
  auto colon = uri.find(':');
  auto slash = uri.find('/');
  return colon != std::string_view::npos && colon > 1 && (slash == std::string_view::npos || colon < slash);
}

// What valijson's description says, as a draft-07 keyword (valijson does not report keywords).
std::string infer_keyword(const std::string& d) {
  struct Rule {
    const char* needle;
    const char* keyword;
  };
  static const Rule rules[] = {
      {"Missing required property", "required"},
      {"'type' constraint", "type"},
      {"'const' constraint", "const"},
      {"enum values", "enum"},
      {"'pattern' constraint", "pattern"},
      {"String should be no more than", "maxLength"},
      {"String should be no fewer than", "minLength"},
      {"Array should contain no more than", "maxItems"},
      {"Array should contain no fewer than", "minItems"},
      {"Object should have no more than", "maxProperties"},
      {"Object should have no fewer than", "minProperties"},
      {"Expected number less than or equal", "maximum"},
      {"Expected number less than", "exclusiveMaximum"},
      {"Expected number greater than or equal", "minimum"},
      {"Expected number greater than", "exclusiveMinimum"},
      {"multiple of", "multipleOf"},
      {"'not' constraint", "not"},
      {"anyOf constraint", "anyOf"},
      {"exactly one child schema", "oneOf"},
      {"Object contains a property", "additionalProperties"},
      {"Missing dependency", "dependencies"},
      {"Elements at indexes", "uniqueItems"},
      {"'contains' constraint", "contains"},
      {"String should be a valid", "format"},
  };
  for (const auto& r : rules)
    if (d.find(r.needle) != std::string::npos) return r.keyword;
  return "valijson";
}

}  // namespace

struct ValijsonSchema::State {
  const json::Document* doc = nullptr;
  std::filesystem::path folder;
  std::string origin_name;
  std::map<std::string, std::unique_ptr<json::Document>> fetched;  // referenced files, kept alive
  std::unique_ptr<json::Document> synthetic;                      // {"$ref": "#<pointer>", <root members>}
  valijson::Schema schema;
};

ValijsonSchema::ValijsonSchema(std::unique_ptr<State> state) : state_(std::move(state)) {}
ValijsonSchema::~ValijsonSchema() = default;

Result<std::shared_ptr<ValijsonSchema>> ValijsonSchema::build(const json::Document& doc,
                                                              const std::filesystem::path& origin,
                                                              std::string_view schema_pointer) {
  auto state = std::make_unique<State>();
  State* st = state.get();
  st->doc = &doc;
  st->folder = origin.parent_path();
  st->origin_name = origin.filename().string();
  if (st->origin_name.empty()) st->origin_name = "flowguard-schema.json";

  // valijson takes ownership semantics from FetchDoc/FreeDoc; we keep every document ourselves
  // (frozen enum/const values point into them), so FreeDoc does nothing.
  auto fetch = [st](const std::string& uri) -> const json::Document* {
    if (uri == st->origin_name) return st->doc;
    if (auto it = st->fetched.find(uri); it != st->fetched.end()) return it->second.get();
    std::string_view path = uri;
    if (path.substr(0, 7) == "file://") path.remove_prefix(7);
    else if (has_scheme(path)) return nullptr;  // no network access, ever
    std::ifstream in(st->folder / std::filesystem::path(std::string(path)), std::ios::binary);
    if (!in) return nullptr;
    std::stringstream ss;
    ss << in.rdbuf();
    auto parsed = json::Document::parse(ss.str());
    if (!parsed) return nullptr;
    auto owned = std::make_unique<json::Document>(std::move(parsed).value());
    const json::Document* raw = owned.get();
    st->fetched.emplace(uri, std::move(owned));
    return raw;
  };
  auto free_doc = [](const json::Document*) {};

  try {
    valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
    if (schema_pointer.empty()) {
      vj::JsonAdapter root(doc.root());
      parser.populateSchema(root, st->schema, fetch, free_doc);
    } else {
      // valijson treats a relative document URI as the current document, so the subschema is reached
      // by a "$ref" placed in front of a copy of the root object (a root "$ref" hides its siblings).
      if (!doc.root().is_object() || doc.root().size() == 0)
        return make_error(ErrorCode::kSchema, origin.string() + ": no subschema at " + std::string(schema_pointer));
      std::string text = "{\"$ref\":";
      json::write_json_string(text, "#" + std::string(schema_pointer));
      text += ",";
      text += doc.source().substr(doc.root().offset() + 1);
      auto parsed = json::Document::parse(text);
      if (!parsed) return make_error(ErrorCode::kInternal, "cannot build the valijson reference for " + origin.string());
      st->synthetic = std::make_unique<json::Document>(std::move(parsed).value());
      vj::JsonAdapter root(st->synthetic->root());
      parser.populateSchema(root, st->schema, fetch, free_doc);
    }
  } catch (const std::exception& e) {
    return make_error(ErrorCode::kSchema, origin.string() + ": valijson cannot use this schema: " + e.what());
  } catch (...) {
    return make_error(ErrorCode::kSchema, origin.string() + ": valijson cannot use this schema");
  }
  return std::shared_ptr<ValijsonSchema>(new ValijsonSchema(std::move(state)));
}

bool ValijsonSchema::accepts(const json::Value& instance) const {
  try {
    valijson::Validator validator(valijson::Validator::kStrongTypes);
    return validator.validate(state_->schema, vj::JsonAdapter(instance), nullptr);
  } catch (...) {
    return false;
  }
}

void ValijsonSchema::validate(const json::Value& instance, std::string_view pointer_prefix,
                              std::vector<Violation>& out, std::size_t max_violations) const {
  valijson::ValidationResults results;
  bool ok = false;
  std::string failure;
  try {
    valijson::Validator validator(valijson::Validator::kStrongTypes);
    ok = validator.validate(state_->schema, vj::JsonAdapter(instance), &results);
  } catch (const std::exception& e) {
    failure = e.what();
  } catch (...) {
    failure = "unknown error";
  }
  std::size_t added = 0;
  if (!failure.empty()) {
    out.push_back({"valijson", std::string(pointer_prefix), instance.offset(), "valijson failed: " + failure});
    return;
  }
  if (ok) return;
  valijson::ValidationResults::Error error;
  while (added < max_violations && results.popError(error)) {
    // Context is "<root>", then "[name]" or "[index]" per level; the instance says which it is.
    std::string pointer(pointer_prefix);
    const json::Value* at = &instance;
    for (const auto& token : error.context) {
      if (token == "<root>" || token.size() < 2 || token.front() != '[' || token.back() != ']') continue;
      std::string_view name(token);
      name = name.substr(1, name.size() - 2);
      if (at && at->is_array()) {
        std::size_t index = 0;
        bool digits = !name.empty();
        for (char ch : name) digits = digits && ch >= '0' && ch <= '9';
        if (digits) {
          for (char ch : name) index = index * 10 + (ch - '0');
          json::append_pointer(pointer, index);
          at = index < at->items().size() ? &at->items()[index] : nullptr;
          continue;
        }
      }
      json::append_pointer(pointer, name);
      at = (at && at->is_object()) ? at->find(name) : nullptr;
    }
    out.push_back({infer_keyword(error.description), std::move(pointer), at ? at->offset() : instance.offset(),
                   error.description});
    ++added;
  }
  if (added == 0 && max_violations > 0)
    out.push_back({"valijson", std::string(pointer_prefix), instance.offset(), "the value does not match the schema"});
}

}  // namespace detail

Result<std::vector<Violation>> validate_with_valijson(const json::Document& schema, const std::filesystem::path& origin,
                                                      const json::Value& instance) {
  auto built = detail::ValijsonSchema::build(schema, origin, "");
  if (!built) return std::move(built).error();
  std::vector<Violation> out;
  built.value()->validate(instance, "", out, SIZE_MAX);
  return out;
}

}  // namespace flowguard::schema
