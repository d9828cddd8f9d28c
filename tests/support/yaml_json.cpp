#include "yaml_json.hpp"

#include <regex>

#include "flowguard/json/document.hpp"

namespace flowguard::testing {

void yaml_to_json(const YAML::Node& n, std::string& out) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined: out += "null"; return;
    case YAML::NodeType::Sequence: {
      out += '[';
      bool first = true;
      for (const auto& item : n) {
        if (!first) out += ',';
        first = false;
        yaml_to_json(item, out);
      }
      out += ']';
      return;
    }
    case YAML::NodeType::Map: {
      out += '{';
      bool first = true;
      for (const auto& kv : n) {
        if (!first) out += ',';
        first = false;
        flowguard::json::write_json_string(out, kv.first.Scalar());
        out += ':';
        yaml_to_json(kv.second, out);
      }
      out += '}';
      return;
    }
    case YAML::NodeType::Scalar: {
      const std::string& s = n.Scalar();
      if (n.Tag() != "!") {
        static const std::regex number(R"(^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$)");
        if (s.empty() || s == "null" || s == "~" || s == "Null" || s == "NULL") { out += "null"; return; }
        if (s == "true" || s == "True" || s == "TRUE") { out += "true"; return; }
        if (s == "false" || s == "False" || s == "FALSE") { out += "false"; return; }
        if (std::regex_match(s, number)) { out += s; return; }
      }
      flowguard::json::write_json_string(out, s);
      return;
    }
  }
}


}  // namespace flowguard::testing
