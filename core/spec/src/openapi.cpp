#include "openapi.hpp"

#include <algorithm>
#include <cctype>
#include <optional>
#include <charconv>
#include <deque>
#include <regex>
#include <system_error>

namespace flowguard::spec {
namespace fs = std::filesystem;

std::string where(const std::string& file, const YAML::Mark& mark) {
  if (mark.is_null()) return file;
  return file + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

std::string where(const std::string& file, const YAML::Node& node) {
  return node.IsDefined() ? where(file, node.Mark()) : file;
}

namespace {

Error schema_error(const std::string& at, const std::string& what) {
  return make_error(ErrorCode::kSchema, at + ": " + what);
}

const char* kind(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null: return "null";
    case YAML::NodeType::Scalar: return "a scalar";
    case YAML::NodeType::Sequence: return "a sequence";
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Undefined: return "nothing";
  }
  return "something else";
}

// YAML 1.2 core schema resolution of a plain scalar.
JValue resolve_plain(const std::string& s, bool& bad_float) {
  static const std::regex kInt("[-+]?[0-9]+");
  static const std::regex kOct("0o[0-7]+");
  static const std::regex kHex("0x[0-9a-fA-F]+");
  static const std::regex kFloat("[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?");
  static const std::regex kInf("[-+]?\\.(inf|Inf|INF)|\\.(nan|NaN|NAN)");
  bad_float = false;
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  auto as_int = [&](const std::string& digits, int base) -> JValue {
    std::int64_t v = 0;
    const char* b = digits.data();
    const char* e = b + digits.size();
    bool negative = false;
    if (b != e && (*b == '+' || *b == '-')) { negative = *b == '-'; ++b; }
    if (std::from_chars(b, e, v, base).ec != std::errc()) return s;  // out of range: keep text
    return negative ? -v : v;
  };
  if (std::regex_match(s, kInt)) return as_int(s, 10);
  if (std::regex_match(s, kOct)) return as_int(s.substr(2), 8);
  if (std::regex_match(s, kHex)) return as_int(s.substr(2), 16);
  if (std::regex_match(s, kFloat)) {
    double d = 0;
    const char* b = s.data() + (s[0] == '+' ? 1 : 0);
    if (std::from_chars(b, s.data() + s.size(), d).ec == std::errc()) return d;
    return s;
  }
  if (std::regex_match(s, kInf)) bad_float = true;
  return s;
}

}  // namespace

Result<JValue> scalar_to_json(const YAML::Node& node, const std::string& file) {
  if (node.IsNull()) return JValue(nullptr);
  if (!node.IsScalar()) return schema_error(where(file, node), std::string("expected a scalar, found ") + kind(node));
  const std::string& text = node.Scalar();
  const std::string& tag = node.Tag();
  if (tag == "!" || tag == "tag:yaml.org,2002:str") return JValue(text);  // quoted or !!str
  if (tag == "?" || tag.empty() || tag == "tag:yaml.org,2002:int" || tag == "tag:yaml.org,2002:float" ||
      tag == "tag:yaml.org,2002:bool" || tag == "tag:yaml.org,2002:null") {
    bool bad_float = false;
    JValue v = resolve_plain(text, bad_float);
    if (bad_float) return schema_error(where(file, node), "\"" + text + "\" (infinity / NaN) has no JSON representation");
    if (tag != "?" && !tag.empty() && v.is_string())
      return schema_error(where(file, node), "\"" + text + "\" does not match its tag " + tag);
    return v;
  }
  return schema_error(where(file, node), "unsupported YAML tag " + tag);
}

Result<JValue> yaml_to_json(const YAML::Node& node, const std::string& file, int depth) {
  if (depth > 200) return schema_error(where(file, node), "nesting too deep");
  if (node.IsSequence()) {
    JArray a;
    for (const auto& item : node) {
      auto v = yaml_to_json(item, file, depth + 1);
      if (!v) return v;
      a.push_back(std::move(v).value());
    }
    return JValue(std::move(a));
  }
  if (node.IsMap()) {
    JObject o;
    for (const auto& kv : node) {
      if (!kv.first.IsScalar()) return schema_error(where(file, kv.first), "mapping keys must be scalars");
      auto v = yaml_to_json(kv.second, file, depth + 1);
      if (!v) return v;
      if (!o.emplace(kv.first.Scalar(), std::move(v).value()).second)
        return schema_error(where(file, kv.first), "duplicate key \"" + kv.first.Scalar() + "\"");
    }
    return JValue(std::move(o));
  }
  return scalar_to_json(node, file);
}

// ---------------------------------------------------------------------------------------------
// Files and $refs

Result<YAML::Node> SpecFiles::load(const std::string& file) {
  if (auto it = docs_.find(file); it != docs_.end()) return it->second;
  const fs::path path = dir_ / fs::path(file);
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
    return make_error(ErrorCode::kIo, path.string() + ": spec file not found");
  try {
    YAML::Node root = YAML::LoadFile(path.string());
    docs_.emplace(file, root);
    return root;
  } catch (const YAML::Exception& e) {
    return make_error(ErrorCode::kParse, where(file, e.mark) + ": invalid YAML: " + e.msg);
  } catch (const std::exception& e) {
    return make_error(ErrorCode::kIo, path.string() + ": cannot read: " + e.what());
  }
}

namespace {

std::string percent_decode(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int v = 0;
      if (std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16).ec == std::errc()) {
        out += static_cast<char>(v);
        i += 2;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

std::vector<std::string> pointer_tokens(const std::string& pointer) {
  std::vector<std::string> tokens;
  if (pointer.empty()) return tokens;
  std::size_t start = 1;
  for (;;) {
    std::size_t slash = pointer.find('/', start);
    std::string token = pointer.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    std::string unescaped;
    for (std::size_t i = 0; i < token.size(); ++i) {
      if (token[i] == '~' && i + 1 < token.size() && (token[i + 1] == '0' || token[i + 1] == '1')) {
        unescaped += token[i + 1] == '0' ? '~' : '/';
        ++i;
      } else {
        unescaped += token[i];
      }
    }
    tokens.push_back(unescaped);
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return tokens;
}

}  // namespace

Result<YAML::Node> SpecFiles::resolve(const Target& target) {
  auto root = load(target.file);
  if (!root) return root;
  YAML::Node cur;
  cur.reset(*root);  // never assign through a yaml-cpp Node alias: that overwrites the node itself
  for (const auto& token : pointer_tokens(target.pointer)) {
    YAML::Node next;
    if (cur.IsMap()) {
      bool found = false;
      for (const auto& kv : cur)
        if (kv.first.IsScalar() && kv.first.Scalar() == token) { next.reset(kv.second); found = true; break; }
      if (!found)
        return schema_error(where(target.file, cur), "$ref target " + target.str() + " not found: no \"" + token + "\" here");
    } else if (cur.IsSequence()) {
      std::size_t index = 0;
      if (std::from_chars(token.data(), token.data() + token.size(), index).ec != std::errc() || index >= cur.size())
        return schema_error(where(target.file, cur), "$ref target " + target.str() + " not found: bad index " + token);
      const YAML::Node& const_cur = cur;
      next.reset(const_cur[index]);
    } else {
      return schema_error(where(target.file, cur), "$ref target " + target.str() + " not found: " + kind(cur) + " has no members");
    }
    cur.reset(next);  // rebinds; plain assignment would overwrite the parent's content
  }
  return cur;
}

Result<Target> SpecFiles::ref_target(const std::string& ref, const std::string& from_file, const YAML::Node& at) {
  const std::size_t hash = ref.find('#');
  std::string uri = ref.substr(0, hash);
  std::string fragment = hash == std::string::npos ? "" : percent_decode(ref.substr(hash + 1));
  if (!fragment.empty() && fragment[0] != '/')
    return schema_error(where(from_file, at), "$ref \"" + ref + "\": only JSON-pointer fragments are supported");
  std::string file;
  if (uri.empty()) {
    file = from_file;
  } else {
    static const std::regex kRaw("https?://raw\\.githubusercontent\\.com/[^/]+/[^/]+/[^/]+/([^?#]+)");
    std::smatch m;
    if (std::regex_match(uri, m, kRaw)) {
      file = percent_decode(m[1].str());
    } else if (uri.find("://") != std::string::npos) {
      return schema_error(where(from_file, at), "$ref \"" + ref +
                                                    "\" points outside the spec folder; only raw.githubusercontent.com "
                                                    "copies of the same repository and relative paths can be resolved offline");
    } else {
      file = (fs::path(from_file).parent_path() / percent_decode(uri)).lexically_normal().generic_string();
    }
  }
  if (file.empty() || file.starts_with("..") || fs::path(file).is_absolute())
    return schema_error(where(from_file, at), "$ref \"" + ref + "\" leaves the spec folder");
  std::error_code ec;
  if (!fs::is_regular_file(dir_ / file, ec))
    return schema_error(where(from_file, at), "$ref \"" + ref + "\" names " + file + ", which is not in " + dir_.string());
  return Target{file, fragment};
}

// ---------------------------------------------------------------------------------------------
// Translation

namespace {

// Keywords that carry no constraint: dropped. OpenAPI-only ones (example, xml, externalDocs,
// discriminator, deprecated) and draft-07 annotations alike; see docs/dip-import.md.
bool is_annotation(const std::string& k) {
  static const std::set<std::string> kDropped = {"description", "title",  "example",      "examples",     "default",
                                                 "deprecated",  "readOnly", "writeOnly", "xml", "externalDocs",
                                                 "discriminator", "$comment"};
  return kDropped.count(k) || k.starts_with("x-");
}

bool is_openapi_format(const std::string& f) {
  static const std::set<std::string> kFormats = {"int32", "int64", "float", "double", "byte", "binary", "password"};
  return kFormats.count(f) > 0;
}

std::string stem_of(const std::string& file) {
  std::string s = file;
  for (const char* ext : {".yaml", ".yml"})
    if (s.ends_with(ext)) { s.resize(s.size() - std::string_view(ext).size()); break; }
  if (s.ends_with("-unresolved")) s.resize(s.size() - std::string_view("-unresolved").size());
  std::replace(s.begin(), s.end(), '/', '.');
  return s;
}

std::string uri_fragment_escape(const std::string& s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace

std::string Translator::definition_name(const Target& target) {
  static const std::string kPrefix = "/components/schemas/";
  std::string name;
  if (target.pointer.starts_with(kPrefix) && target.pointer.find('/', kPrefix.size()) == std::string::npos) {
    name = pointer_tokens(target.pointer).back();
  } else {
    for (const auto& token : pointer_tokens(target.pointer)) name += (name.empty() ? "" : ".") + token;
  }
  return stem_of(target.file) + "." + name;
}

Result<JValue> Translator::translate(const Target& target) {
  if (auto it = cache_.find(target); it != cache_.end()) return it->second.schema;
  auto node = files_.resolve(target);
  if (!node) return std::move(node).error();
  std::vector<Target> deps;
  auto schema_value = schema(*node, target.file, deps, 0);
  if (!schema_value) return schema_value;
  cache_[target] = Entry{*schema_value, std::move(deps)};
  return schema_value;
}

Result<JValue> Translator::standalone(JValue root, const std::vector<Target>& root_deps) {
  JObject definitions;
  std::deque<Target> queue(root_deps.begin(), root_deps.end());
  std::set<Target> seen;
  while (!queue.empty()) {
    Target t = queue.front();
    queue.pop_front();
    if (!seen.insert(t).second) continue;
    auto translated = translate(t);
    if (!translated) return translated;
    definitions[definition_name(t)] = std::move(translated).value();
    for (const auto& d : cache_.at(t).deps) queue.push_back(d);
  }
  JObject& o = root.as_object();
  if (!definitions.empty()) o["definitions"] = JValue(std::move(definitions));
  o["$schema"] = "http://json-schema.org/draft-07/schema#";
  return root;
}

Result<JValue> Translator::schema(const YAML::Node& node, const std::string& file, std::vector<Target>& deps, int depth) {
  if (depth > 200) return schema_error(where(file, node), "schema nesting too deep");
  if (!node.IsMap()) return schema_error(where(file, node), std::string("expected a schema (a mapping), found ") + kind(node));

  // Keys in source order, with their nodes; duplicates are an error (YAML forbids them, yaml-cpp
  // would silently keep both).
  std::map<std::string, std::pair<YAML::Node, YAML::Node>> keys;
  for (const auto& kv : node) {
    if (!kv.first.IsScalar()) return schema_error(where(file, kv.first), "schema keywords must be scalars");
    if (!keys.emplace(kv.first.Scalar(), std::make_pair(kv.first, kv.second)).second)
      return schema_error(where(file, kv.first), "duplicate keyword \"" + kv.first.Scalar() + "\"");
  }

  auto sub = [&](const YAML::Node& n) { return schema(n, file, deps, depth + 1); };
  auto at = [&](const std::string& k) { return where(file, keys.at(k).first); };

  if (auto it = keys.find("$ref"); it != keys.end()) {
    for (const auto& [k, kv] : keys)
      if (k != "$ref" && !is_annotation(k))
        return schema_error(where(file, kv.first), "\"" + k + "\" next to $ref: OpenAPI 3.0 ignores siblings of $ref, "
                                                   "so this constraint would be silently lost; refusing");
    const YAML::Node& ref = it->second.second;
    if (!ref.IsScalar()) return schema_error(where(file, ref), "$ref must be a string");
    auto target = files_.ref_target(ref.Scalar(), file, ref);
    if (!target) return std::move(target).error();
    // Resolve now, so a dangling ref is reported where it is written.
    if (auto resolved = files_.resolve(*target); !resolved) {
      if (resolved.error().code != ErrorCode::kSchema) return std::move(resolved).error();  // unreadable file: as is
      return schema_error(where(file, ref), "$ref \"" + ref.Scalar() + "\" does not resolve (" + resolved.error().message + ")");
    }
    const std::string name = definition_name(*target);
    if (auto [pos, inserted] = names_.emplace(name, *target); !inserted && pos->second != *target)
      return schema_error(where(file, ref), "definition name \"" + name + "\" would stand for both " +
                                                pos->second.str() + " and " + target->str());
    deps.push_back(*target);
    return JValue(JObject{{"$ref", "#/definitions/" + uri_fragment_escape(escape_pointer_token(name))}});
  }

  JObject out;
  bool nullable = false;
  std::optional<std::pair<std::string, bool>> exclusive_min, exclusive_max;  // OpenAPI 3.0 booleans

  for (const auto& [k, kv] : keys) {
    const YAML::Node& v = kv.second;
    if (is_annotation(k)) continue;

    if (k == "type") {
      auto t = scalar_to_json(v, file);
      if (!t) return t;
      static const std::set<std::string> kTypes = {"string", "number", "integer", "boolean", "array", "object"};
      if (!t->is_string() || !kTypes.count(t->as_string()))
        return schema_error(where(file, v), "type must be one of string, number, integer, boolean, array, object");
      out["type"] = std::move(t).value();
    } else if (k == "nullable") {
      auto b = scalar_to_json(v, file);
      if (!b) return b;
      if (!b->is_bool()) return schema_error(where(file, v), "nullable must be true or false");
      nullable = b->as_bool();
    } else if (k == "format") {
      auto f = scalar_to_json(v, file);
      if (!f) return f;
      if (!f->is_string()) return schema_error(where(file, v), "format must be a string");
      if (is_openapi_format(f->as_string())) {
        dropped_formats_.emplace(f->as_string(), where(file, v));
        continue;
      }
      out["format"] = std::move(f).value();  // draft-07 formats and unknown ones (validators ignore those)
    } else if (k == "pattern") {
      auto p = scalar_to_json(v, file);
      if (!p) return p;
      if (!p->is_string()) return schema_error(where(file, v), "pattern must be a string");
      out["pattern"] = std::move(p).value();
    } else if (k == "enum") {
      if (!v.IsSequence() || v.size() == 0) return schema_error(where(file, v), "enum must be a non-empty sequence");
      JArray values;
      for (const auto& item : v) {
        auto j = yaml_to_json(item, file);
        if (!j) return j;
        // draft-07 wants unique items; a repeated value adds nothing, so keep the first.
        if (std::find(values.begin(), values.end(), *j) == values.end()) values.push_back(std::move(j).value());
      }
      out["enum"] = JValue(std::move(values));
    } else if (k == "const") {
      auto j = yaml_to_json(v, file);
      if (!j) return j;
      out["const"] = std::move(j).value();
    } else if (k == "minLength" || k == "maxLength" || k == "minItems" || k == "maxItems" || k == "minProperties" ||
               k == "maxProperties") {
      auto n = scalar_to_json(v, file);
      if (!n) return n;
      if (!n->is_int() || n->as_int() < 0) return schema_error(where(file, v), k + " must be a non-negative integer");
      out[k] = std::move(n).value();
    } else if (k == "minimum" || k == "maximum" || k == "multipleOf") {
      auto n = scalar_to_json(v, file);
      if (!n) return n;
      if (!n->is_number()) return schema_error(where(file, v), k + " must be a number");
      if (k == "multipleOf" && n->as_double() <= 0) return schema_error(where(file, v), "multipleOf must be positive");
      out[k] = std::move(n).value();
    } else if (k == "exclusiveMinimum" || k == "exclusiveMaximum") {
      auto b = scalar_to_json(v, file);
      if (!b) return b;
      if (!b->is_bool())
        return schema_error(where(file, v), k + " must be true or false in OpenAPI 3.0 (it modifies minimum/maximum)");
      (k == "exclusiveMinimum" ? exclusive_min : exclusive_max) = std::make_pair(where(file, v), b->as_bool());
    } else if (k == "uniqueItems") {
      auto b = scalar_to_json(v, file);
      if (!b) return b;
      if (!b->is_bool()) return schema_error(where(file, v), "uniqueItems must be true or false");
      out[k] = std::move(b).value();
    } else if (k == "required") {
      if (!v.IsSequence()) return schema_error(where(file, v), "required must be a sequence of property names");
      JArray names;
      for (const auto& item : v) {
        auto j = scalar_to_json(item, file);
        if (!j) return j;
        if (!j->is_string()) return schema_error(where(file, item), "required entries must be strings");
        if (std::find(names.begin(), names.end(), *j) == names.end()) names.push_back(std::move(j).value());
      }
      out["required"] = JValue(std::move(names));
    } else if (k == "properties") {
      if (!v.IsMap()) return schema_error(where(file, v), std::string("properties must be a mapping, found ") + kind(v));
      JObject props;
      for (const auto& p : v) {
        if (!p.first.IsScalar()) return schema_error(where(file, p.first), "property names must be scalars");
        auto s = sub(p.second);
        if (!s) return s;
        if (!props.emplace(p.first.Scalar(), std::move(s).value()).second)
          return schema_error(where(file, p.first), "duplicate property \"" + p.first.Scalar() + "\"");
      }
      out["properties"] = JValue(std::move(props));
    } else if (k == "additionalProperties") {
      if (v.IsMap()) {
        auto s = sub(v);
        if (!s) return s;
        out[k] = std::move(s).value();
      } else {
        auto b = scalar_to_json(v, file);
        if (!b) return b;
        if (!b->is_bool()) return schema_error(where(file, v), "additionalProperties must be true, false or a schema");
        out[k] = std::move(b).value();
      }
    } else if (k == "items" || k == "not") {
      auto s = sub(v);  // OpenAPI 3.0 items is a single schema, never an array of schemas
      if (!s) return s;
      out[k] = std::move(s).value();
    } else if (k == "allOf" || k == "anyOf" || k == "oneOf") {
      if (!v.IsSequence() || v.size() == 0) return schema_error(where(file, v), k + " must be a non-empty sequence of schemas");
      JArray list;
      for (const auto& item : v) {
        auto s = sub(item);
        if (!s) return s;
        list.push_back(std::move(s).value());
      }
      out[k] = JValue(std::move(list));
    } else {
      return schema_error(at(k), "unsupported schema keyword \"" + k +
                                     "\" (not OpenAPI 3.0; the importer refuses rather than guess what it means)");
    }
  }

  // OpenAPI 3.0 exclusiveMinimum: true turns minimum into draft-07's numeric exclusiveMinimum.
  auto fold = [&](std::optional<std::pair<std::string, bool>>& flag, const char* plain, const char* exclusive) -> Status {
    if (!flag || !flag->second) return Ok{};
    auto it = out.find(plain);
    if (it == out.end()) return schema_error(flag->first, std::string(exclusive) + ": true without " + plain);
    out[exclusive] = it->second;
    out.erase(it);
    return Ok{};
  };
  if (auto s = fold(exclusive_min, "minimum", "exclusiveMinimum"); !s) return s.error();
  if (auto s = fold(exclusive_max, "maximum", "exclusiveMaximum"); !s) return s.error();

  // nullable: true widens `type` to also accept null. As the OpenAPI 3.0.3 clarification says, it
  // does not add null to an enum (the DIP spec lists null explicitly where it wants it), and it
  // has no effect without a type.
  if (nullable) {
    if (auto it = out.find("type"); it != out.end())
      it->second = JValue(JArray{it->second, JValue("null")});
  }
  return JValue(std::move(out));
}

}  // namespace flowguard::spec
