#include "flowguard/config/yaml_reader.hpp"

#include "flowguard/config/yaml_bounds.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>

namespace flowguard::config {
namespace fs = std::filesystem;

std::string Diagnostic::to_string() const {
  std::string out = file.string();
  if (line) out += ":" + std::to_string(line) + ":" + std::to_string(column);
  return out + ": " + message;
}

std::string closest(const std::string& key, const std::vector<std::string>& names) {
  // A plain edit distance: the key sets are small.
  auto distance = [](const std::string& a, const std::string& b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
      std::size_t diag = row[0];
      row[0] = i;
      for (std::size_t j = 1; j <= b.size(); ++j) {
        const std::size_t up = row[j];
        row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
        diag = up;
      }
    }
    return row[b.size()];
  };
  std::string best;
  std::size_t best_d = 4;  // beyond three edits a suggestion is noise
  for (const auto& n : names)
    if (auto d = distance(key, n); d < best_d) best_d = d, best = n;
  return best;
}

std::optional<std::string> read_text(const fs::path& file, const char* what, std::vector<Diagnostic>& errors,
                                     std::size_t max_bytes) {
  std::error_code ec;
  if (fs::is_directory(file, ec)) {
    errors.push_back({file, 0, 0, "is a folder; expected a YAML file"});
    return std::nullopt;
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    errors.push_back({file, 0, 0, std::string("cannot open ") + what + " (" + std::strerror(errno) + ")"});
    return std::nullopt;
  }
  std::string text(max_bytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > max_bytes) {
    errors.push_back({file, 0, 0, "is larger than " + std::to_string(max_bytes >> 10) + " KiB; expected " + what + ", a file of a few KB"});
    return std::nullopt;
  }
  return text;
}

std::optional<YAML::Node> parse_yaml(const std::string& text, const fs::path& file, const char* what,
                                     std::vector<Diagnostic>& errors, const char* what_is_expected) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    errors.push_back({file, static_cast<std::uint32_t>(e.mark.line + 1), static_cast<std::uint32_t>(e.mark.column + 1),
                      "not valid YAML: " + e.msg});
    return std::nullopt;
  }
  if (!root || root.IsNull()) {
    errors.push_back({file, 0, 0, std::string(what) + " is empty; expected " + what_is_expected});
    return std::nullopt;
  }
  // Aliases: a walk of the tree visits an alias's subtree each time it is used (billion laughs).
  const std::size_t limit = yaml_node_limit(text.size());
  if (const auto bounds = check_yaml_nodes(root, limit); !bounds.ok) {
    const auto& m = bounds.mark;
    errors.push_back({file, m.line >= 0 ? static_cast<std::uint32_t>(m.line + 1) : 0,
                      m.column >= 0 ? static_cast<std::uint32_t>(m.column + 1) : 0, yaml_nodes_message(limit)});
    return std::nullopt;
  }
  return root;
}

void Reader::error(const YAML::Node& at, std::string message) {
  const auto m = at.Mark();
  errors_.push_back({file_, m.line >= 0 ? static_cast<std::uint32_t>(m.line + 1) : 0,
                     m.column >= 0 ? static_cast<std::uint32_t>(m.column + 1) : 0, std::move(message)});
}

bool Reader::check_keys(const YAML::Node& map, const std::string& where, const std::vector<std::string>& known) {
  if (!map.IsMap()) {
    error(map, where + " must be a mapping of keys to values");
    return false;
  }
  for (const auto& kv : map) {
    const std::string key = kv.first.Scalar();
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    const std::string hint = closest(key, known);
    std::string list;
    for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
    error(kv.first, "unknown key \"" + key + "\" in " + where + (hint.empty() ? "" : "; did you mean \"" + hint + "\"?") +
                        " (expected one of: " + list + ")");
  }
  return true;
}

bool Reader::whole_number(const YAML::Node& n, const char* key, long long& value, long double min, long double max) {
  if (!n) return false;
  const std::string text = n.IsScalar() ? n.Scalar() : std::string();
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (!n.IsScalar() || text.empty() || ec != std::errc() || ptr != text.data() + text.size() || value < min || value > max) {
    error(n, std::string(key) + " is " + (n.IsScalar() ? "\"" + text + "\"" : std::string("not a scalar")) +
                 "; expected a whole number from " + std::to_string(static_cast<long long>(min)) + " to " +
                 std::to_string(static_cast<long long>(max)));
    return false;
  }
  return true;
}

void Reader::boolean(const YAML::Node& map, const char* key, bool& out) {
  const YAML::Node n = map[key];
  if (!n) return;
  const std::string text = n.IsScalar() ? n.Scalar() : std::string();
  if (text == "true") out = true;
  else if (text == "false") out = false;
  else error(n, std::string(key) + " is \"" + text + "\"; expected true or false");
}

void Reader::string(const YAML::Node& map, const char* key, std::string& out) {
  const YAML::Node n = map[key];
  if (!n) return;
  if (!n.IsScalar()) return error(n, std::string(key) + " must be a string");
  out = n.Scalar();
}

void Reader::each_string(const YAML::Node& n, const char* key,
                         const std::function<void(const YAML::Node&, const std::string&)>& use) {
  if (!n) return;
  auto one = [&](const YAML::Node& item) {
    if (!item.IsScalar() || item.Scalar().empty()) return error(item, std::string(key) + ": expected a non-empty string");
    use(item, item.Scalar());
  };
  if (n.IsSequence()) {
    for (const auto& item : n) one(item);
  } else {
    one(n);
  }
}

void Reader::strings(const YAML::Node& map, const char* key, std::vector<std::string>& out) {
  each_string(map[key], key, [&](const YAML::Node&, const std::string& text) { out.push_back(text); });
}

fs::path Reader::path_of(const std::string& text) const {
  const fs::path p(text);
  return p.is_absolute() ? p : file_.parent_path() / p;
}

void Reader::folders(const YAML::Node& map, const char* key, std::vector<fs::path>& out) {
  each_string(map[key], key, [&](const YAML::Node& item, const std::string& text) {
    const fs::path p = path_of(text);
    std::error_code ec;
    if (!fs::is_directory(p, ec)) error(item, std::string(key) + ": " + p.string() + " is not a folder");
    else out.push_back(p);
  });
}

void sort_by_position(std::vector<Diagnostic>& errors) {
  std::stable_sort(errors.begin(), errors.end(), [](const Diagnostic& a, const Diagnostic& b) { return a.line < b.line; });
}

}  // namespace flowguard::config
