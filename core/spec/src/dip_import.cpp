#include "flowguard/spec/dip_import.hpp"

#include <algorithm>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <system_error>

#include "json_value.hpp"
#include "openapi.hpp"

namespace flowguard::spec {
namespace fs = std::filesystem;

namespace {

constexpr const char* kInterfacesFile = "Interfaces-EventCodes-unresolved.yaml";
constexpr const char* kSubmitFile = "SubmitEvents-unresolved.yaml";
constexpr const char* kSchemaSuffix = ".schema.json";

Error spec_error(const std::string& at, const std::string& what) { return make_error(ErrorCode::kSchema, at + ": " + what); }

// A member of a mapping, following a $ref first when the mapping is one (a variant's blocks may
// be inline or referenced). `file` tracks which file the returned node lives in.
// Lookups through a const Node: yaml-cpp's non-const operator[] may convert or grow the node.
YAML::Node get(const YAML::Node& n, const std::string& key) { return n[key]; }

struct Located {
  YAML::Node node;
  std::string file;

  Located(YAML::Node n, std::string f) : node(n), file(std::move(f)) {}
  Located(const Located& other) : node(other.node), file(other.file) {}
  // yaml-cpp's Node::operator= writes through to the aliased document node; rebind instead.
  Located& operator=(const Located& other) {
    node.reset(other.node);
    file = other.file;
    return *this;
  }
};

Result<Located> deref(SpecFiles& files, Located at) {
  for (int hops = 0; at.node.IsMap() && get(at.node, "$ref"); ++hops) {
    if (hops > 32) return spec_error(where(at.file, at.node), "$ref chain too long");
    const YAML::Node ref = get(at.node, "$ref");
    if (!ref.IsScalar()) return spec_error(where(at.file, ref), "$ref must be a string");
    auto target = files.ref_target(ref.Scalar(), at.file, ref);
    if (!target) return std::move(target).error();
    auto node = files.resolve(*target);
    if (!node) return std::move(node).error();
    at = Located(*node, target->file);
  }
  return at;
}

Result<Located> member(SpecFiles& files, const Located& parent, const std::string& key, const std::string& context) {
  auto p = deref(files, parent);
  if (!p) return p;
  if (!p->node.IsMap()) return spec_error(where(p->file, p->node), context + ": expected a mapping");
  YAML::Node child = get(p->node, key);
  if (!child) return spec_error(where(p->file, p->node), context + ": no \"" + key + "\" here");
  return deref(files, Located(child, p->file));
}

Result<std::vector<std::string>> string_enum(const Located& at, const std::string& context) {
  YAML::Node e = get(at.node, "enum");
  if (!e || !e.IsSequence() || e.size() == 0)
    return spec_error(where(at.file, at.node), context + ": expected an enum naming the value(s)");
  std::vector<std::string> values;
  for (const auto& item : e) {
    auto v = scalar_to_json(item, at.file);
    if (!v) return std::move(v).error();
    if (!v->is_string()) return spec_error(where(at.file, item), context + ": enum values must be strings");
    values.push_back(v->as_string());
  }
  return values;
}

std::string description_of(const YAML::Node& n) {
  if (!n.IsMap()) return {};
  YAML::Node d = get(n, "description");
  if (!d || !d.IsScalar()) return {};
  std::string s = d.Scalar();
  std::replace(s.begin(), s.end(), '\n', ' ');
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

// "IF001 Message" / "IF-031 Supplier ..." -> "Message" / "Supplier ...": the title already names
// the interface.
std::string strip_interface_prefix(const std::string& s) {
  static const std::regex kPrefix("^\\s*(IF|REP)-?[0-9]+[A-Z]?\\s*(-\\s*)?");
  return std::regex_replace(s, kPrefix, "", std::regex_constants::format_first_only);
}

Status write_if_changed(const fs::path& path, const std::string& content) {
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream old;
    old << in.rdbuf();
    if (old.str() == content) return Ok{};
  }
  fs::create_directories(path.parent_path(), ec);
  if (ec) return make_error(ErrorCode::kIo, path.parent_path().string() + ": cannot create directory: " + ec.message());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  out.close();
  if (!out) return make_error(ErrorCode::kIo, path.string() + ": cannot write");
  return Ok{};
}

struct SourceInfo {
  std::string repo, commit, tag, date;
};

SourceInfo read_source(const fs::path& spec_dir) {
  SourceInfo info;
  std::ifstream in(spec_dir / "SOURCE");
  if (!in) return info;
  std::ostringstream text;
  text << in.rdbuf();
  const std::string s = text.str();
  std::smatch m;
  if (std::regex_search(s, m, std::regex("([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+) at commit ([0-9a-fA-F]{7,40})"))) {
    info.repo = m[1];
    info.commit = m[2];
  }
  if (std::regex_search(s, m, std::regex("\\((v[^)\\s]+)\\)"))) info.tag = m[1];
  if (std::regex_search(s, m, std::regex("([0-9]{4}-[0-9]{2}-[0-9]{2})"))) info.date = m[1];
  return info;
}

struct Candidate {
  Target target;
  std::size_t code_count = 0;
  std::string title_text;
  std::vector<std::string> keys;
};

// Restricts S0.eventCode of a translated variant to one code: a component that serves several
// event codes (IF-041 lists ten) becomes one precise schema per code.
Status narrow_event_code(JValue& root, const std::string& code, const std::string& component) {
  JValue* v = &root;
  for (const char* key : {"properties", "CommonBlock", "properties", "S0", "properties", "eventCode"}) {
    v = v->find(key);
    if (!v)
      return make_error(ErrorCode::kSchema, component + ": cannot narrow eventCode to " + code +
                                                ": CommonBlock.S0.eventCode is not inline in the variant");
  }
  if (!v->find("enum")) return make_error(ErrorCode::kSchema, component + ": S0.eventCode has no enum");
  v->as_object()["enum"] = JValue(JArray{JValue(code)});
  return Ok{};
}

Result<ImportSummary> import_impl(const fs::path& spec_dir, const fs::path& out_dir) {
  std::error_code ec;
  if (!fs::is_directory(spec_dir, ec))
    return make_error(ErrorCode::kIo, spec_dir.string() + ": not a directory (expected the dip-api-documentation folder)");

  SpecFiles files(spec_dir);
  Translator translator(files);
  ImportSummary summary;

  const SourceInfo source = read_source(spec_dir);
  summary.source_repo = source.repo;
  summary.source_commit = source.commit;
  summary.source_date = source.date;

  auto root = files.load(kInterfacesFile);
  if (!root) return std::move(root).error();
  const YAML::Node doc = *root;
  const YAML::Node version = doc["info"]["version"];
  if (!version || !version.IsScalar())
    return spec_error(where(kInterfacesFile, *root), "no info.version (the spec version) found");
  summary.spec_version = version.Scalar();  // raw text: "2.1" must not become a number
  if (!source.tag.empty() && source.tag != "v" + summary.spec_version)
    summary.notes.push_back("SOURCE names " + source.tag + " but info.version is " + summary.spec_version);

  const YAML::Node schemas = doc["components"]["schemas"];
  if (!schemas || !schemas.IsMap()) return spec_error(where(kInterfacesFile, *root), "no components.schemas mapping");

  // 1. Interfaces: every "<IF>-Payload" component is one interface; it is either a variant itself
  //    or a oneOf of $refs to its variants.
  std::map<std::pair<std::string, std::string>, std::vector<Candidate>> by_code;  // (IF, code)
  std::set<std::string> interfaces;
  static const std::regex kInterfaceId("[A-Z]+-[0-9]+[A-Z]?");
  static const std::regex kCodeName("[A-Za-z0-9][A-Za-z0-9_-]*");
  for (const auto& kv : schemas) {
    const std::string key = kv.first.Scalar();
    if (!key.ends_with("-Payload")) continue;
    const std::string payload_title = strip_interface_prefix(description_of(kv.second));
    std::vector<Target> variants;
    if (kv.second.IsMap() && kv.second["oneOf"] && !kv.second["properties"]) {
      for (const auto& item : kv.second["oneOf"]) {
        if (!item.IsMap() || !item["$ref"] || item.size() != 1)
          return spec_error(where(kInterfacesFile, item), key + ": oneOf items are expected to be a single $ref to a variant");
        auto t = files.ref_target(item["$ref"].Scalar(), kInterfacesFile, item["$ref"]);
        if (!t) return std::move(t).error();
        variants.push_back(*t);
      }
    } else {
      variants.push_back(Target{kInterfacesFile, "/components/schemas/" + escape_pointer_token(key)});
    }
    for (const auto& target : variants) {
      auto node = files.resolve(target);
      if (!node) return std::move(node).error();
      const Located variant(*node, target.file);
      const std::string context = target.str();
      auto s0 = member(files, variant, "properties", context);
      if (s0) s0 = member(files, *s0, "CommonBlock", context);
      if (s0) s0 = member(files, *s0, "properties", context);
      if (s0) s0 = member(files, *s0, "S0", context);
      if (s0) s0 = member(files, *s0, "properties", context);
      if (!s0) return std::move(s0).error();
      auto if_node = member(files, *s0, "interfaceID", context + " S0");
      if (!if_node) return std::move(if_node).error();
      auto code_node = member(files, *s0, "eventCode", context + " S0");
      if (!code_node) return std::move(code_node).error();
      auto ids = string_enum(*if_node, context + " S0.interfaceID");
      if (!ids) return std::move(ids).error();
      if (ids->size() != 1)
        return spec_error(where(if_node->file, if_node->node), context + ": S0.interfaceID must name exactly one interface");
      const std::string& id = ids->front();
      if (!std::regex_match(id, kInterfaceId))
        return spec_error(where(if_node->file, if_node->node), "unexpected interface id \"" + id + "\"");
      if (!key.starts_with(id + "-"))
        summary.notes.push_back(key + " contains a variant for interface " + id);
      auto codes = string_enum(*code_node, context + " S0.eventCode");
      if (!codes) return std::move(codes).error();

      Candidate c;
      c.target = target;
      c.code_count = codes->size();
      const std::string own = strip_interface_prefix(description_of(*node));
      c.title_text = !payload_title.empty() ? payload_title : own;
      if (YAML::Node props = get(*node, "properties"); props && props.IsMap())
        for (const auto& p : props) c.keys.push_back(p.first.Scalar());
      std::sort(c.keys.begin(), c.keys.end());
      interfaces.insert(id);
      for (const auto& code : *codes) {
        const std::string name = code.size() > 2 && code.front() == '[' && code.back() == ']' ? code.substr(1, code.size() - 2) : code;
        if (!std::regex_match(name, kCodeName))
          return spec_error(where(code_node->file, code_node->node), "event code \"" + code + "\" cannot be used in a file or type name");
        by_code[{id, code}].push_back(c);
      }
    }
  }
  if (by_code.empty()) return spec_error(kInterfacesFile, "no \"*-Payload\" interfaces found in components.schemas");
  summary.interface_count = interfaces.size();

  // 2. One schema per (interface, event code). A code served by several components (IF-020
  //    [RelatedAdd] is in both IF-020-RelatedCreate and IF-020-RelatedAdd) takes the component
  //    dedicated to it: the one whose eventCode enum is smallest.
  const std::string generated_by = "Generated by fg_import_dip from the Elexon DIP API spec v" + summary.spec_version;
  std::set<std::string> written;
  for (auto& [key, candidates] : by_code) {
    const auto& [id, code] = key;
    std::stable_sort(candidates.begin(), candidates.end(),
                     [](const Candidate& a, const Candidate& b) { return a.code_count < b.code_count; });
    if (candidates.size() > 1 && candidates[0].code_count == candidates[1].code_count)
      return spec_error(kInterfacesFile, id + " " + code + " is defined by both " + candidates[0].target.str() + " and " +
                                             candidates[1].target.str() + "; cannot tell which one applies");
    const Candidate& chosen = candidates.front();
    const std::string name = code.size() > 2 && code.front() == '[' ? code.substr(1, code.size() - 2) : code;

    auto build = [&](const Candidate& c) -> Result<JValue> {
      auto translated = translator.translate(c.target);
      if (!translated) return translated;
      JValue schema = std::move(translated).value();
      if (c.code_count > 1)
        if (auto s = narrow_event_code(schema, code, c.target.str()); !s) return s.error();
      schema.as_object()["$comment"] = generated_by + " (" + c.target.str() + ") for S0.interfaceID \"" + id +
                                       "\", S0.eventCode \"" + code + "\". Do not edit: rerun the importer (docs/dip-import.md).";
      return translator.standalone(std::move(schema), translator.deps(c.target));
    };
    auto document = build(chosen);
    if (!document) return std::move(document).error();
    for (std::size_t i = 1; i < candidates.size(); ++i) {
      auto other = build(candidates[i]);
      if (!other) return std::move(other).error();
      JValue a = *document, b = std::move(other).value();
      a.as_object().erase("$comment");
      b.as_object().erase("$comment");
      summary.notes.push_back(id + " " + code + " is also listed by " + candidates[i].target.pointer.substr(candidates[i].target.pointer.rfind('/') + 1) +
                              " (eventCode enum of " + std::to_string(candidates[i].code_count) + "); used " +
                              chosen.target.pointer.substr(chosen.target.pointer.rfind('/') + 1) + ", " +
                              (a == b ? "which is identical once narrowed to this code" : "which differs from it") +
                              ". The spec's " + id + "-Payload oneOf therefore matches such messages twice and rejects them.");
    }

    DipVariant v;
    v.interface_id = id;
    v.event_code = code;
    v.name = name;
    v.schema = id + "/" + name + kSchemaSuffix;
    v.title = id + " " + code + (chosen.title_text.empty() ? "" : " " + chosen.title_text);
    v.component = chosen.target.str();
    v.keys = chosen.keys;
    if (auto s = write_if_changed(out_dir / v.schema, write_json(*document)); !s) return s.error();
    written.insert(v.schema);
    summary.variants.push_back(std::move(v));
  }
  std::sort(summary.variants.begin(), summary.variants.end(), [](const DipVariant& a, const DipVariant& b) {
    return std::tie(a.interface_id, a.name) < std::tie(b.interface_id, b.name);
  });

  // 3. The HTTP envelope: DIPMessageArray (request body) and StandardResponse.
  for (const auto& [component, file_name] : std::vector<std::pair<std::string, std::string>>{
           {"DIPMessageArray", "dip-message-array.schema.json"}, {"StandardResponse", "standard-response.schema.json"}}) {
    const Target target{kSubmitFile, "/components/schemas/" + component};
    auto translated = translator.translate(target);
    if (!translated) return std::move(translated).error();
    JValue schema = std::move(translated).value();
    schema.as_object()["$comment"] = generated_by + " (" + target.str() + "). Do not edit: rerun the importer (docs/dip-import.md).";
    auto document = translator.standalone(std::move(schema), translator.deps(target));
    if (!document) return std::move(document).error();
    if (auto s = write_if_changed(out_dir / file_name, write_json(*document)); !s) return s.error();
    written.insert(file_name);
  }

  for (const auto& [format, at] : translator.dropped_formats())
    summary.notes.push_back("format \"" + format + "\" is OpenAPI-only and was dropped (first seen at " + at + ")");

  // 4. index.json
  JObject index;
  index["$comment"] = generated_by + ". Do not edit: rerun the importer (docs/dip-import.md).";
  JObject spec;
  spec["title"] = "MHHS DIP API (Elexon)";
  spec["version"] = summary.spec_version;
  if (!source.repo.empty()) spec["repository"] = source.repo;
  if (!source.commit.empty()) spec["commit"] = source.commit;
  if (!source.date.empty()) spec["date"] = source.date;
  index["spec"] = JValue(std::move(spec));
  index["interfaceCount"] = static_cast<std::int64_t>(summary.interface_count);
  index["variantCount"] = static_cast<std::int64_t>(summary.variants.size());
  JArray list;
  for (const auto& v : summary.variants) {
    list.push_back(JValue(JObject{{"interface", v.interface_id},
                                  {"eventCode", v.event_code},
                                  {"schema", v.schema},
                                  {"title", v.title},
                                  {"type", "dip." + v.interface_id + "." + v.name},
                                  {"component", v.component}}));
  }
  index["variants"] = JValue(std::move(list));
  index["dipMessageArray"] = "dip-message-array.schema.json";
  index["standardResponse"] = "standard-response.schema.json";
  std::vector<std::string> notes_sorted = summary.notes;
  std::sort(notes_sorted.begin(), notes_sorted.end());
  JArray notes;
  for (const auto& n : notes_sorted)
    if (n.find(" (first seen at ") == std::string::npos) notes.push_back(JValue(n));  // locations churn; keep them out
  index["notes"] = JValue(std::move(notes));
  if (auto s = write_if_changed(out_dir / "index.json", write_json(JValue(std::move(index)))); !s) return s.error();
  written.insert("index.json");

  // 5. Remove schema files of variants the spec no longer has, so the folder mirrors the spec.
  std::vector<fs::path> stale;
  for (auto it = fs::recursive_directory_iterator(out_dir, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    const std::string rel = fs::relative(it->path(), out_dir).generic_string();
    if (rel.ends_with(kSchemaSuffix) && !written.count(rel)) stale.push_back(it->path());
  }
  for (const auto& p : stale) {
    fs::remove(p, ec);
    if (fs::is_empty(p.parent_path(), ec) && p.parent_path() != out_dir) fs::remove(p.parent_path(), ec);
  }

  summary.files.assign(written.begin(), written.end());
  return summary;
}

// C string literal; non-ASCII bytes as octal escapes (hex escapes would swallow following digits).
std::string c_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') { out += '\\'; out += static_cast<char>(c); }
    else if (c >= 0x20 && c < 0x7F) out += static_cast<char>(c);
    else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\%03o", c);
      out += buf;
    }
  }
  return out + "\"";
}

}  // namespace

Result<ImportSummary> import_dip(const fs::path& spec_dir, const fs::path& out_dir) {
  // yaml-cpp reports misuse by exception; nothing escapes this boundary.
  try {
    return import_impl(spec_dir, out_dir);
  } catch (const YAML::Exception& e) {
    return make_error(ErrorCode::kParse, where("YAML", e.mark) + ": " + e.msg);
  } catch (const std::exception& e) {
    return make_error(ErrorCode::kInternal, std::string("DIP import failed: ") + e.what());
  }
}

std::string render_dip_types_inc(const ImportSummary& summary) {
  std::ostringstream o;
  o << "// Generated by fg_import_dip from the Elexon DIP API spec v" << summary.spec_version;
  if (!summary.source_commit.empty()) o << " (" << summary.source_repo << " at " << summary.source_commit << ")";
  o << ".\n// Do not edit: rerun the importer (docs/dip-import.md). Included by dip_plugin.cpp only.\n\n";
  o << "#define FG_DIP_SPEC_VERSION " << c_string(summary.spec_version) << "\n";
  o << "#define FG_DIP_TYPE_COUNT " << summary.variants.size() << "\n\n";

  // Every DIP type: keys match ignoring case (the DIP does not enforce field-name case on ingress:
  // SubmitEvents' note on upper/lower case), and schema findings carry the DIP's "Schema Failure"
  // response code (ResponseCodes DI-999). No key hints: the S0 discriminators decide.
  o << "#define FG_DIP_TYPE_FLAGS FG_TYPE_CASE_INSENSITIVE_KEYS\n";
  o << "#define FG_DIP_SCHEMA_ERROR_CODE \"MSG1001\"\n";
  o << "\nstatic const fg_match kDipMatches[][2] = {\n";
  for (const auto& v : summary.variants)
    o << "    {{\"/CommonBlock/S0/interfaceID\", " << c_string(v.interface_id) << "}, {\"/CommonBlock/S0/eventCode\", "
      << c_string(v.event_code) << "}},\n";
  o << "};\n\nstatic const fg_type kDipTypes[] = {\n";
  std::size_t i = 0;
  for (const auto& v : summary.variants) {
    o << "    {" << c_string("dip." + v.interface_id + "." + v.name) << ",\n"
      << "     " << c_string(v.title) << ",\n"
      << "     " << c_string("dip/" + v.schema) << ", \"dip\", FG_SHAPE_MESSAGE, NULL, \"\", kDipMatches[" << i++
      << "], 2, NULL,\n"
      << "     " << c_string("Elexon DIP API v" + summary.spec_version + ", " + v.component)
      << ",\n     FG_DIP_TYPE_FLAGS, FG_DIP_SCHEMA_ERROR_CODE},\n";
  }
  o << "};\n";
  return o.str();
}

}  // namespace flowguard::spec
