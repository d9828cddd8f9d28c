// `check --format sarif`: a SARIF 2.1.0 log (OASIS Static Analysis Results Interchange Format),
// the format code-scanning services ingest. docs/output-formats.md maps each field.
#include <algorithm>
#include <map>
#include <set>
#include <string>

#include "flowguard/json/writer.hpp"
#include "flowguard/report_formats.hpp"

namespace flowguard {

namespace {

constexpr const char* kSarifSchema = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/os/schemas/sarif-schema-2.1.0.json";
constexpr const char* kDraft07Uri = "https://json-schema.org/draft-07/json-schema-validation.html";
// Relative artifact paths are relative to this base (originalUriBaseIds gives its absolute URI).
constexpr const char* kSourceRoot = "%SRCROOT%";

const char* sarif_level(Severity s) {
  switch (s) {
    case Severity::kError: return "error";
    case Severity::kWarning: return "warning";
    case Severity::kInfo: return "note";
  }
  return "error";
}

// A path as a URI reference (RFC 3986): bytes outside the unreserved set and '/' percent-encoded,
// ':' included so that a relative path's first segment is never read as a scheme.
std::string percent_encode_path(std::string_view path) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : path) {
    const auto c = static_cast<unsigned char>(ch);
    const bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                       c == '.' || c == '_' || c == '~' || c == '/';
    if (plain) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

struct Artifact {
  std::string uri;
  bool relative = false;  // relative to %SRCROOT%
};

Artifact artifact_of(const std::string& path) {
  if (!path.empty() && path.front() == '/') return {"file://" + percent_encode_path(path), false};
  std::string_view p = path;
  while (p.substr(0, 2) == "./") p.remove_prefix(2);
  return {percent_encode_path(p), true};
}

// What a rule the engine reports itself is about (rules in Lua describe themselves).
struct BuiltIn {
  std::string description, help, help_uri;
};

BuiltIn built_in(const std::string& id) {
  if (id == "schema.key-case")
    return {"A key differs from the spec's spelling only in letter case.",
            "The DIP accepts such keys on ingress; flowguard warns, and --strict-keys makes it an error. The message "
            "names the published spelling.",
            ""};
  if (id == "schema.unavailable")
    return {"The message type's JSON Schema could not be loaded, so the document was not validated against it.",
            "A load problem of the installation, not of the document; it is also reported on standard error.", ""};
  if (id.rfind("schema.", 0) == 0) {
    const std::string keyword = id.substr(7);
    return {"The value satisfies the \"" + keyword + "\" keyword of the message type's JSON Schema.",
            "JSON Schema draft-07 validation keyword \"" + keyword +
                "\", applied by the schema of the message type (schemas/<plugin>/). Each finding's message ends with "
                "the spec section that defines the field, in brackets.",
            kDraft07Uri};
  }
  if (id == "json.duplicate-key")
    return {"An object has the same key more than once.",
            "RFC 8259 §4: the names within an object should be unique; receivers disagree on which value wins.",
            "https://www.rfc-editor.org/rfc/rfc8259#section-4"};
  if (id == "type.unrecognised")
    return {"The document matches no message type of the installed plugins.",
            "The message names the closest types; give --type to check it as one of them.", ""};
  if (id == "type.unknown-variant")
    return {"A message names an interface and event code that match no known DIP variant.",
            "Elexon DIP API v2.1.0: CommonBlock S0 interfaceID and eventCode select the message variant.", ""};
  if (id == "type.variant-mismatch")
    return {"A message is not of the variant it was submitted as.",
            "Elexon DIP API v2.1.0: the validation path names the interface and event code the message must carry.",
            ""};
  if (id.rfind("input.", 0) == 0)
    return {"The input could not be read as a document (unreadable file, not JSON, or past a size limit).",
            "Nothing in the file was checked; the message says where reading stopped and why.", ""};
  return {"Rule " + id + ".", "", ""};
}

struct RuleEntry {
  std::string id;
  Severity severity = Severity::kError;
  std::string description, help, help_uri, spec, code;
};

std::vector<RuleEntry> collect_rules(const std::vector<FileReport>& reports, const SarifOptions& options) {
  std::set<std::string> ids;
  for (const auto& r : reports) {
    ids.insert(r.rules_run.begin(), r.rules_run.end());
    for (const auto& f : r.findings) ids.insert(f.rule);
    if (r.input_error) ids.insert(std::string("input.") + to_string(r.input_error->code));
  }
  std::map<std::string, const RuleDescription*> described;
  for (const auto& d : options.rules) described.emplace(d.id, &d);
  std::vector<RuleEntry> out;
  for (const auto& id : ids) {
    RuleEntry e;
    e.id = id;
    if (auto it = described.find(id); it != described.end()) {
      const RuleDescription& d = *it->second;
      e.severity = d.severity;
      e.description = d.description.empty() ? "Rule " + id + "." : d.description;
      e.spec = d.spec;
      e.code = d.code;
      e.help = e.description;
      if (!e.help.empty() && e.help.back() != '.') e.help += '.';
      if (!d.spec.empty()) e.help += " Spec: " + d.spec + ".";
    } else {
      BuiltIn b = built_in(id);
      e.severity = id == "schema.key-case" ? Severity::kWarning : Severity::kError;
      e.description = std::move(b.description);
      e.help = b.help.empty() ? e.description : std::move(b.help);
      e.help_uri = std::move(b.help_uri);
    }
    out.push_back(std::move(e));
  }
  return out;
}

void write_rule(json::Writer& out, const RuleEntry& e) {
  out.begin_object().member("id", e.id);
  out.key("shortDescription").begin_object().member("text", e.description).end_object();
  out.key("help").begin_object().member("text", e.help).end_object();
  if (!e.help_uri.empty()) out.member("helpUri", e.help_uri);
  out.key("defaultConfiguration").begin_object().member("level", sarif_level(e.severity)).end_object();
  if (!e.spec.empty() || !e.code.empty()) {
    out.key("properties").begin_object();
    if (!e.spec.empty()) out.member("spec", e.spec);
    if (!e.code.empty()) out.member("code", e.code);
    out.end_object();
  }
  out.end_object();
}

void write_location(json::Writer& out, const Artifact& a, std::size_t artifact_index, std::uint32_t line,
                    std::uint32_t column, const std::string* pointer) {
  out.begin_object().key("physicalLocation").begin_object();
  out.key("artifactLocation").begin_object().member("uri", a.uri);
  if (a.relative) out.member("uriBaseId", kSourceRoot);
  out.member("index", artifact_index).end_object();
  if (line > 0) {
    out.key("region").begin_object().member("startLine", line);
    if (column > 0) out.member("startColumn", column);
    out.end_object();
  }
  out.end_object();
  if (pointer) {
    // The JSON pointer names the place in the document's own terms (RFC 6901).
    out.key("logicalLocations").begin_array().begin_object();
    out.member("fullyQualifiedName", pointer->empty() ? std::string("/") : *pointer).member("kind", "element");
    out.end_object().end_array();
  }
  out.end_object();
}

}  // namespace

std::string format_sarif(const std::vector<FileReport>& reports, const SarifOptions& options) {
  const std::vector<RuleEntry> rules = collect_rules(reports, options);
  std::map<std::string, std::size_t> rule_index;
  for (std::size_t i = 0; i < rules.size(); ++i) rule_index.emplace(rules[i].id, i);

  std::string text;
  json::Writer out(text);
  out.begin_object().member("$schema", kSarifSchema).member("version", "2.1.0").key("runs").begin_array();
  out.begin_object().key("tool").begin_object().key("driver").begin_object();
  out.member("name", "flowguard");
  if (!options.tool_version.empty()) out.member("version", options.tool_version);
  out.key("rules").begin_array();
  for (const auto& e : rules) write_rule(out, e);
  out.end_array().end_object().end_object();

  if (!options.source_root.empty()) {
    std::string root = "file://" + percent_encode_path(options.source_root);
    if (root.back() != '/') root += '/';
    out.key("originalUriBaseIds").begin_object().key(kSourceRoot).begin_object().member("uri", root).end_object();
    out.end_object();
  }

  // Artifacts: one per file, in the order given (a file given twice is one artifact).
  std::vector<Artifact> artifacts;
  std::map<std::string, std::size_t> artifact_index;
  for (const auto& r : reports)
    if (artifact_index.emplace(r.path, artifacts.size()).second) artifacts.push_back(artifact_of(r.path));
  out.key("artifacts").begin_array();
  for (const auto& a : artifacts) {
    out.begin_object().key("location").begin_object().member("uri", a.uri);
    if (a.relative) out.member("uriBaseId", kSourceRoot);
    out.end_object().end_object();
  }
  out.end_array();

  out.key("results").begin_array();
  for (const auto& r : reports) {
    const std::size_t ai = artifact_index.at(r.path);
    if (r.input_error) {
      const std::string id = std::string("input.") + to_string(r.input_error->code);
      const InputErrorPlace place = input_error_place(r);
      out.begin_object().member("ruleId", id).member("ruleIndex", rule_index.at(id)).member("level", "error");
      out.key("message").begin_object().member("text", place.text).end_object();
      out.key("locations").begin_array();
      write_location(out, artifacts[ai], ai, place.line, place.column, nullptr);
      out.end_array().end_object();
      continue;
    }
    for (const auto& f : r.findings) {
      out.begin_object().member("ruleId", f.rule).member("ruleIndex", rule_index.at(f.rule));
      out.member("level", sarif_level(f.severity));
      out.key("message").begin_object().member("text", f.message).end_object();
      out.key("locations").begin_array();
      write_location(out, artifacts[ai], ai, f.line, f.column, &f.pointer);
      out.end_array();
      out.key("properties").begin_object().member("jsonPointer", f.pointer);
      if (!r.type.empty()) out.member("messageType", r.type);
      if (!f.code.empty()) out.member("code", f.code);
      out.end_object().end_object();
    }
  }
  out.end_array();

  // How the run went: load problems, and findings counted but not kept, as notifications.
  out.key("invocations").begin_array().begin_object().member("executionSuccessful", options.load_issues.empty());
  out.key("toolExecutionNotifications").begin_array();
  for (const auto& issue : options.load_issues) {
    out.begin_object().member("level", "error");
    out.key("message").begin_object().member("text", issue.source + ": " + issue.message).end_object().end_object();
  }
  for (const auto& r : reports)
    if (r.findings_not_shown) {
      out.begin_object().member("level", "warning").key("message").begin_object();
      out.member("text", r.path + ": " + std::to_string(r.findings_not_shown) +
                             " more findings not shown (--max-findings " + std::to_string(r.findings.size()) + ")");
      out.end_object().end_object();
    }
  out.end_array().end_object().end_array();

  // Columns are counted in Unicode code points, not SARIF's default UTF-16 code units.
  out.member("columnKind", "unicodeCodePoints");
  out.end_object().end_array().end_object();
  text += "\n";
  return text;
}

}  // namespace flowguard
