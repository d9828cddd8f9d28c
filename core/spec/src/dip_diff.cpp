#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <system_error>

#include "flowguard/spec/dip_import.hpp"
#include "json_value.hpp"

namespace flowguard::spec {
namespace fs = std::filesystem;

namespace {

Result<JValue> read_json(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCode::kIo, path.string() + ": cannot read");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_json(text.str(), path.string());
}

// A schema flattened to its effective constraints, keyed by the JSON pointer of the schema they
// apply to. $refs are followed so a changed shared block shows up where it is used.
struct Flat {
  std::map<std::string, std::string> constraints;         // "<schema pointer>/<keyword>" -> compact JSON
  std::set<std::string> properties;                        // schema pointers of declared properties
  std::map<std::string, std::set<std::string>> required;  // schema pointer -> names
  std::map<std::string, std::set<std::string>> enums;     // schema pointer -> compact values
};

std::string unescape_fragment(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  std::string token;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (out[i] == '~' && i + 1 < out.size()) { token += out[i + 1] == '1' ? '/' : '~'; ++i; }
    else token += out[i];
  }
  return token;
}

void flatten(const JValue& schema, const JValue& doc, const std::string& path, Flat& out, std::vector<std::string>& stack) {
  if (!schema.is_object()) {
    out.constraints[path] = write_json(schema, false);  // boolean schemas
    return;
  }
  if (const JValue* ref = schema.find("$ref"); ref && ref->is_string()) {
    const std::string& r = ref->as_string();
    const std::string prefix = "#/definitions/";
    const JValue* defs = doc.find("definitions");
    const std::string name = r.starts_with(prefix) ? unescape_fragment(r.substr(prefix.size())) : r;
    const JValue* target = defs ? defs->find(name) : nullptr;
    if (!target || std::find(stack.begin(), stack.end(), name) != stack.end()) {
      out.constraints[path + "/$ref"] = write_json(*ref, false);  // unresolvable or recursive: compare the ref itself
      return;
    }
    stack.push_back(name);
    flatten(*target, doc, path, out, stack);
    stack.pop_back();
    return;
  }
  for (const auto& [k, v] : schema.as_object()) {
    if (k == "definitions" || k == "$schema" || k == "$comment") continue;
    if (k == "properties" && v.is_object()) {
      for (const auto& [name, sub] : v.as_object()) {
        const std::string p = path + "/properties/" + escape_pointer_token(name);
        out.properties.insert(p);
        flatten(sub, doc, p, out, stack);
      }
    } else if ((k == "items" || k == "not") || (k == "additionalProperties" && v.is_object())) {
      flatten(v, doc, path + "/" + k, out, stack);
    } else if ((k == "allOf" || k == "anyOf" || k == "oneOf") && v.is_array()) {
      for (std::size_t i = 0; i < v.as_array().size(); ++i)
        flatten(v.as_array()[i], doc, path + "/" + k + "/" + std::to_string(i), out, stack);
    } else if (k == "required" && v.is_array()) {
      auto& names = out.required[path];
      for (const auto& n : v.as_array()) names.insert(n.is_string() ? n.as_string() : write_json(n, false));
    } else if (k == "enum" && v.is_array()) {
      auto& values = out.enums[path];
      for (const auto& e : v.as_array()) values.insert(write_json(e, false));
    } else {
      out.constraints[path + "/" + k] = write_json(v, false);
    }
  }
}

Flat flatten_document(const JValue& doc) {
  Flat f;
  std::vector<std::string> stack;
  flatten(doc, doc, "", f, stack);
  return f;
}

bool under(const std::string& path, const std::set<std::string>& roots) {
  for (const auto& r : roots)
    if (path == r || path.starts_with(r + "/")) return true;
  return false;
}

// Only the outermost of nested added/removed properties is worth a line.
std::set<std::string> outermost(const std::set<std::string>& paths) {
  std::set<std::string> out;
  for (const auto& p : paths)
    if (!under(p, out)) out.insert(p);  // std::set order puts a parent before its children
  return out;
}

std::string show(const std::string& path) { return path.empty() ? "(root)" : path; }

std::vector<std::string> diff_flat(const Flat& a, const Flat& b) {
  std::vector<std::string> lines;
  std::set<std::string> added, removed;
  std::set_difference(b.properties.begin(), b.properties.end(), a.properties.begin(), a.properties.end(), std::inserter(added, added.end()));
  std::set_difference(a.properties.begin(), a.properties.end(), b.properties.begin(), b.properties.end(), std::inserter(removed, removed.end()));
  added = outermost(added);
  removed = outermost(removed);
  for (const auto& p : removed) lines.push_back("- property " + p);
  for (const auto& p : added) lines.push_back("+ property " + p);
  auto skip = [&](const std::string& p) { return under(p, added) || under(p, removed); };

  std::set<std::string> keys;
  for (const auto& [k, v] : a.constraints) keys.insert(k);
  for (const auto& [k, v] : b.constraints) keys.insert(k);
  for (const auto& k : keys) {
    if (skip(k)) continue;
    auto ia = a.constraints.find(k);
    auto ib = b.constraints.find(k);
    if (ia == a.constraints.end()) lines.push_back("+ " + k + " = " + ib->second);
    else if (ib == b.constraints.end()) lines.push_back("- " + k + " (was " + ia->second + ")");
    else if (ia->second != ib->second) lines.push_back("~ " + k + ": " + ia->second + " -> " + ib->second);
  }

  auto set_diff = [&](const auto& ma, const auto& mb, const std::string& what, bool quote) {
    std::set<std::string> paths;
    for (const auto& [k, v] : ma) paths.insert(k);
    for (const auto& [k, v] : mb) paths.insert(k);
    static const std::set<std::string> kEmpty;
    for (const auto& p : paths) {
      if (skip(p)) continue;
      const auto& sa = ma.count(p) ? ma.at(p) : kEmpty;
      const auto& sb = mb.count(p) ? mb.at(p) : kEmpty;
      for (const auto& x : sa)
        if (!sb.count(x)) lines.push_back("- " + what + " " + show(p) + ": " + (quote ? "\"" + x + "\"" : x));
      for (const auto& x : sb)
        if (!sa.count(x)) lines.push_back("+ " + what + " " + show(p) + ": " + (quote ? "\"" + x + "\"" : x));
    }
  };
  set_diff(a.required, b.required, "required", false);
  set_diff(a.enums, b.enums, "enum value", false);
  return lines;
}

struct IndexEntry {
  std::string label;   // "IF-031 [MSApp]"
  std::string schema;  // relative to the directory
};

Result<std::pair<JValue, std::map<std::string, IndexEntry>>> read_index(const fs::path& dir) {
  auto index = read_json(dir / "index.json");
  if (!index) return std::move(index).error();
  std::map<std::string, IndexEntry> entries;
  const JValue* variants = index->find("variants");
  if (!variants || !variants->is_array())
    return make_error(ErrorCode::kSchema, (dir / "index.json").string() + ": no \"variants\" array (not a DIP schema folder?)");
  for (const auto& v : variants->as_array()) {
    const JValue* i = v.find("interface");
    const JValue* e = v.find("eventCode");
    const JValue* s = v.find("schema");
    if (!i || !e || !s || !i->is_string() || !e->is_string() || !s->is_string())
      return make_error(ErrorCode::kSchema, (dir / "index.json").string() + ": a variant lacks interface/eventCode/schema");
    const std::string label = i->as_string() + " " + e->as_string();
    entries[label] = IndexEntry{label, s->as_string()};
  }
  return std::make_pair(std::move(index).value(), std::move(entries));
}

std::string describe_spec(const JValue& index) {
  const JValue* spec = index.find("spec");
  auto field = [&](const char* k) -> std::string {
    const JValue* v = spec ? spec->find(k) : nullptr;
    return v && v->is_string() ? v->as_string() : "";
  };
  std::string s = "spec v" + (field("version").empty() ? std::string("?") : field("version"));
  if (!field("commit").empty()) s += " @ " + field("commit").substr(0, 12);
  return s;
}

}  // namespace

Result<std::string> diff_dip(const fs::path& old_dir, const fs::path& new_dir) {
  try {
    auto old_index = read_index(old_dir);
    if (!old_index) return std::move(old_index).error();
    auto new_index = read_index(new_dir);
    if (!new_index) return std::move(new_index).error();
    const auto& [old_json, old_entries] = *old_index;
    const auto& [new_json, new_entries] = *new_index;

    std::ostringstream out;
    out << "DIP schemas: " << old_dir.string() << " (" << describe_spec(old_json) << ") -> " << new_dir.string() << " ("
        << describe_spec(new_json) << ")\n";

    std::vector<std::string> added, removed;
    std::vector<std::pair<std::string, std::vector<std::string>>> changed;
    std::set<std::string> labels;
    for (const auto& [k, v] : old_entries) labels.insert(k);
    for (const auto& [k, v] : new_entries) labels.insert(k);
    for (const auto& label : labels) {
      auto io = old_entries.find(label);
      auto in = new_entries.find(label);
      if (io == old_entries.end()) { added.push_back(label + " (" + in->second.schema + ")"); continue; }
      if (in == new_entries.end()) { removed.push_back(label + " (" + io->second.schema + ")"); continue; }
      auto a = read_json(old_dir / io->second.schema);
      if (!a) return std::move(a).error();
      auto b = read_json(new_dir / in->second.schema);
      if (!b) return std::move(b).error();
      auto lines = diff_flat(flatten_document(*a), flatten_document(*b));
      if (!lines.empty()) changed.emplace_back(label, std::move(lines));
    }
    // The envelope schemas; the message array repeats every variant, so only say whether it moved.
    for (const char* file : {"standard-response.schema.json", "dip-message-array.schema.json"}) {
      std::error_code ec;
      const bool in_old = fs::is_regular_file(old_dir / file, ec), in_new = fs::is_regular_file(new_dir / file, ec);
      if (!in_old && !in_new) continue;
      if (in_old != in_new) { (in_new ? added : removed).push_back(file); continue; }
      auto a = read_json(old_dir / file);
      if (!a) return std::move(a).error();
      auto b = read_json(new_dir / file);
      if (!b) return std::move(b).error();
      if (std::string(file) == "dip-message-array.schema.json") {
        JValue x = std::move(a).value(), y = std::move(b).value();
        x.as_object().erase("$comment");
        y.as_object().erase("$comment");
        if (!(x == y)) changed.emplace_back(file, std::vector<std::string>{"~ changed (it combines every variant; see the variants above)"});
        continue;
      }
      auto lines = diff_flat(flatten_document(*a), flatten_document(*b));
      if (!lines.empty()) changed.emplace_back(file, std::move(lines));
    }

    out << "Variants: " << old_entries.size() << " -> " << new_entries.size() << " (" << added.size() << " added, "
        << removed.size() << " removed, " << changed.size() << " changed)\n";
    if (added.empty() && removed.empty() && changed.empty()) {
      out << "No changes.\n";
      return out.str();
    }
    for (const auto& r : removed) out << "- variant " << r << "\n";
    for (const auto& a : added) out << "+ variant " << a << "\n";
    for (const auto& [label, lines] : changed) {
      out << "~ " << label << "\n";
      for (const auto& l : lines) out << "    " << l << "\n";
    }
    return out.str();
  } catch (const std::exception& e) {
    return make_error(ErrorCode::kInternal, std::string("DIP diff failed: ") + e.what());
  }
}

}  // namespace flowguard::spec
