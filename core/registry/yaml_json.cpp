#include "yaml_json.hpp"

#include <fstream>
#include <set>
#include <sstream>
#include <vector>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include "flowguard/json/document.hpp"
#include "flowguard/config/yaml_bounds.hpp"

namespace flowguard::registry::detail {
namespace {

Mark mark_of(const YAML::Mark& m) {
  if (m.is_null()) return {};
  return {static_cast<std::uint32_t>(m.line + 1), static_cast<std::uint32_t>(m.column + 1)};
}

struct Writer {
  const std::filesystem::path& file;
  YamlJson& out;

  void value(const YAML::Node& node, const std::string& pointer, int depth) {
    const Mark mark = mark_of(node.Mark());
    out.by_offset.emplace(static_cast<std::uint32_t>(out.text.size()), mark);
    out.by_pointer.emplace(pointer, mark);
    if (depth > 64) {
      out.errors.push_back({file, mark.line, mark.column, "nesting is deeper than 64 levels, expected a flat registry"});
      out.text += "null";
      return;
    }
    switch (node.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null:
        out.text += "null";
        return;
      case YAML::NodeType::Scalar: {
        const std::string& s = node.Scalar();
        if (node.Tag() != "!") {  // plain scalar
          if (s == "true" || s == "True" || s == "TRUE") { out.text += "true"; return; }
          if (s == "false" || s == "False" || s == "FALSE") { out.text += "false"; return; }
          if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") { out.text += "null"; return; }
        }
        json::write_json_string(out.text, s);
        return;
      }
      case YAML::NodeType::Sequence: {
        out.text += '[';
        std::size_t i = 0;
        for (const auto& item : node) {
          if (i) out.text += ',';
          std::string p = pointer;
          json::append_pointer(p, i++);
          value(item, p, depth + 1);
        }
        out.text += ']';
        return;
      }
      case YAML::NodeType::Map: {
        out.text += '{';
        std::set<std::string> seen;
        bool first = true;
        for (const auto& kv : node) {
          const Mark key_mark = mark_of(kv.first.Mark());
          if (!kv.first.IsScalar()) {
            out.errors.push_back({file, key_mark.line, key_mark.column, "a key is a list or mapping, expected a plain name"});
            continue;
          }
          const std::string key = kv.first.Scalar();
          if (!seen.insert(key).second) {
            out.errors.push_back({file, key_mark.line, key_mark.column,
                                  "key \"" + key + "\" appears twice in the same mapping, expected each key once"});
            continue;
          }
          if (!first) out.text += ',';
          first = false;
          out.by_offset.emplace(static_cast<std::uint32_t>(out.text.size()), key_mark);
          json::write_json_string(out.text, key);
          out.text += ':';
          std::string p = pointer;
          json::append_pointer(p, key);
          out.key_marks.emplace(p, key_mark);
          // A key with no value (`dcp:`) has no mark of its own in yaml-cpp: use the key's.
          if (kv.second.IsNull() && kv.second.Mark().is_null()) {
            out.by_offset.emplace(static_cast<std::uint32_t>(out.text.size()), key_mark);
            out.by_pointer.emplace(p, key_mark);
            out.text += "null";
            continue;
          }
          value(kv.second, p, depth + 1);
        }
        out.text += '}';
        return;
      }
    }
  }
};

}  // namespace

Mark YamlJson::at_pointer(std::string pointer) const {
  for (;;) {
    if (auto it = by_pointer.find(pointer); it != by_pointer.end() && it->second.line) return it->second;
    if (pointer.empty()) return {};
    pointer.erase(pointer.rfind('/'));
  }
}

Mark YamlJson::at_offset(std::uint32_t offset) const {
  auto it = by_offset.upper_bound(offset);
  if (it == by_offset.begin()) return {};
  return std::prev(it)->second;
}

namespace {

// Where each document of a YAML stream starts; nothing else is kept.
struct DocumentStarts : YAML::EventHandler {
  std::vector<YAML::Mark> marks;
  void OnDocumentStart(const YAML::Mark& mark) override { marks.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

}  // namespace

YamlJson yaml_to_json(const std::filesystem::path& file) {
  YamlJson out;
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    out.errors.push_back({file, 0, 0, "cannot read the registry file, expected a readable YAML file"});
    return out;
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = std::move(buffer).str();
  std::vector<YAML::Node> docs;
  try {
    // Not YAML::LoadAll: on a stray ',' at the top level yaml-cpp 0.7 returns the same empty document
    // forever, growing until memory runs out (fuzz/regressions/registry). The documents are counted
    // with the event parser, at most two; one that starts where the previous one did is the parser
    // making no progress there.
    std::istringstream stream(text);
    YAML::Parser parser(stream);
    DocumentStarts starts;
    while (starts.marks.size() < 2 && parser.HandleNextDocument(starts)) {
    }
    if (starts.marks.size() == 2) {
      const Mark m = mark_of(starts.marks[1]);
      out.errors.push_back({file, m.line, m.column,
                            starts.marks[1].pos == starts.marks[0].pos
                                ? std::string("YAML syntax error: unexpected text, expected well-formed YAML")
                                : std::string("a second YAML document ('---'), expected one registry per file")});
      return out;
    }
    if (!starts.marks.empty()) docs.push_back(YAML::Load(text));
  } catch (const YAML::Exception& e) {
    const Mark m = mark_of(e.mark);
    out.errors.push_back({file, m.line, m.column, "YAML syntax error: " + e.msg + ", expected well-formed YAML"});
    return out;
  }
  if (docs.empty()) {
    out.errors.push_back({file, 1, 1, "the file is empty, expected a registry mapping"});
    return out;
  }
  const std::size_t limit = config::yaml_node_limit(text.size());
  if (const auto bounds = config::check_yaml_nodes(docs[0], limit); !bounds.ok) {
    const Mark m = mark_of(bounds.mark);
    out.errors.push_back({file, m.line, m.column, config::yaml_nodes_message(limit)});
    return out;
  }
  Writer{file, out}.value(docs[0], "", 0);
  return out;
}

}  // namespace flowguard::registry::detail
