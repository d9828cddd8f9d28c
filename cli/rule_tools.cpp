#include "rule_tools.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include "flowguard/json/document.hpp"

namespace flowguard::cli {
namespace fs = std::filesystem;

bool rule_applies(const std::vector<std::string>& rule_types, std::string_view type) {
  for (const std::string& t : rule_types) {
    if (t == type || t == "*") return true;
    if (t.size() >= 2 && t.ends_with(".*")) {
      const std::string_view family(t.data(), t.size() - 1);
      if (type.size() > family.size() && type.starts_with(family)) return true;
    }
  }
  return false;
}

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

std::string slurp(const fs::path& p, bool& ok) {
  std::ifstream in(p, std::ios::binary);
  ok = static_cast<bool>(in);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool is_input(const fs::path& p) {
  const auto ext = p.extension().string();
  const auto name = p.filename().string();
  if (name.ends_with(".expected.json")) return false;
  return ext == ".json" || ext == ".ndjson" || ext == ".jsonl";
}

RuleCase make_case(const fs::path& input, const fs::path& root) {
  RuleCase c;
  c.input = input;
  c.expected = input;
  c.expected.replace_extension(".expected.json");
  std::error_code ec;
  fs::path rel = root == input ? input.filename() : fs::relative(input, root, ec);
  if (ec || rel.empty()) rel = input.filename();
  c.name = rel.replace_extension().generic_string();
  return c;
}

std::string string_of(const json::Value* v) { return v && v->is_string() ? std::string(v->as_string()) : std::string(); }

}  // namespace

std::string closest(std::string_view word, const std::vector<std::string>& candidates) {
  const std::string w = lower(word);
  std::string best;
  std::size_t best_distance = std::max<std::size_t>(3, w.size() / 3) + 1;
  for (const auto& c : candidates) {
    const std::string lc = lower(c);
    std::size_t d = edit_distance(w, lc);
    if (lc.find(w) != std::string::npos || w.find(lc) != std::string::npos) d = std::min<std::size_t>(d, 1);
    if (d < best_distance) best_distance = d, best = c;
  }
  return best;
}

bool pointer_less(std::string_view a, std::string_view b) {
  while (!a.empty() && !b.empty()) {
    const auto ta = a.substr(0, a.find('/', 1)), tb = b.substr(0, b.find('/', 1));
    const bool na = ta.size() > 1 && std::all_of(ta.begin() + 1, ta.end(), [](char c) { return c >= '0' && c <= '9'; });
    const bool nb = tb.size() > 1 && std::all_of(tb.begin() + 1, tb.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (na && nb && ta.size() != tb.size()) return ta.size() < tb.size();  // no leading zeros in pointers
    if (ta != tb) return ta < tb;
    a.remove_prefix(ta.size());
    b.remove_prefix(tb.size());
  }
  return a.size() < b.size();
}

std::vector<RuleCase> find_cases(const fs::path& root) {
  std::vector<RuleCase> cases;
  std::error_code ec;
  if (fs::is_regular_file(root, ec)) {
    if (is_input(root)) cases.push_back(make_case(root, root));
    return cases;
  }
  fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    const auto& path = it->path();
    const auto name = path.filename().string();
    std::error_code type_ec;
    if (it->is_directory(type_ec)) {
      if (name.starts_with(".")) it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file(type_ec) && is_input(path)) cases.push_back(make_case(path, root));
  }
  std::sort(cases.begin(), cases.end(), [](const RuleCase& a, const RuleCase& b) { return a.input < b.input; });
  return cases;
}

std::optional<CaseSpec> read_case_spec(const fs::path& expected, std::string& error) {
  bool ok = false;
  const std::string text = slurp(expected, ok);
  if (!ok) {
    error = expected.string() + ": cannot read the expected findings";
    return std::nullopt;
  }
  auto doc = json::Document::parse(text);
  if (!doc) {
    error = expected.string() + ": not valid JSON: " + doc.error().message;
    return std::nullopt;
  }
  const json::Value& root = doc->root();
  if (!root.is_object()) {
    error = expected.string() + ": expected a JSON object with \"findings\" (or \"parse_error\")";
    return std::nullopt;
  }
  static const std::vector<std::string> kTop = {"type", "why", "findings", "parse_error", "registry", "options",
                                                "recognisable"};
  static const std::vector<std::string> kOptions = {"flows", "strict_keys", "timestamp_skew", "now", "headers"};
  static const std::vector<std::string> kFinding = {"rule", "severity", "path", "code", "message", "line", "column"};
  auto unknown = [&](const json::Value& object, const std::vector<std::string>& known, const std::string& where) {
    for (const auto& m : object.members()) {
      if (std::find(known.begin(), known.end(), m.key) != known.end()) continue;
      const std::string near = closest(m.key, known);
      error = expected.string() + ": unknown key \"" + std::string(m.key) + "\" in " + where +
              (near.empty() ? "" : "; did you mean \"" + near + "\"?");
      return true;
    }
    return false;
  };
  if (unknown(root, kTop, "the expected file")) return std::nullopt;
  CaseSpec spec;
  spec.type = string_of(root.find("type"));
  spec.registry = string_of(root.find("registry"));
  if (const auto* options = root.find("options")) {
    if (!options->is_object() || unknown(*options, kOptions, "\"options\"")) {
      if (error.empty()) error = expected.string() + ": \"options\" must be an object";
      return std::nullopt;
    }
    if (const auto* v = options->find("flows"); v && v->is_bool()) spec.flows = v->as_bool();
    if (const auto* v = options->find("strict_keys"); v && v->is_bool()) spec.strict_keys = v->as_bool();
    if (const auto* v = options->find("timestamp_skew"); v && v->is_number())
      spec.timestamp_skew = static_cast<std::int64_t>(v->as_double());
    spec.now = string_of(options->find("now"));
    if (const auto* h = options->find("headers"); h && h->is_object())
      for (const auto& m : h->members()) spec.headers.emplace_back(std::string(m.key), string_of(&m.value));
  }
  if (const auto* pe = root.find("parse_error")) {
    const auto* line = pe->is_object() ? pe->find("line") : nullptr;
    spec.parse_error_line = line && line->is_number() ? static_cast<int>(line->as_double()) : 0;
  }
  if (const auto* findings = root.find("findings")) {
    if (!findings->is_array()) {
      error = expected.string() + ": \"findings\" must be an array of {rule, severity, path[, code, message]}";
      return std::nullopt;
    }
    spec.has_findings = true;
    for (const auto& f : findings->items()) {
      if (!f.is_object() || unknown(f, kFinding, "a finding")) {
        if (error.empty()) error = expected.string() + ": each finding must be an object";
        return std::nullopt;
      }
      CaseSpec::Expected e{string_of(f.find("rule")), string_of(f.find("severity")), string_of(f.find("path")),
                           string_of(f.find("code")), string_of(f.find("message"))};
      if (const auto* v = f.find("line"); v && v->is_number()) e.line = static_cast<int>(v->as_double()), spec.compare_line = true;
      if (const auto* v = f.find("column"); v && v->is_number())
        e.column = static_cast<int>(v->as_double()), spec.compare_column = true;
      spec.compare_code = spec.compare_code || f.find("code");
      spec.compare_message = spec.compare_message || f.find("message");
      spec.findings.push_back(std::move(e));
    }
  }
  if (!spec.has_findings && !spec.parse_error_line) {
    error = expected.string() + ": expected \"findings\" (a list, [] for none) or \"parse_error\"";
    return std::nullopt;
  }
  return spec;
}

Engine* CaseEngines::engine_for(const CaseSpec& spec, const fs::path& expected_file, std::string& error) {
  EngineOptions options = base_;
  options.max_findings = 1'000'000;  // a test compares every finding
  if (!spec.registry.empty()) options.registry = (expected_file.parent_path() / spec.registry).string();
  options.flows = spec.flows;
  if (spec.strict_keys) options.strict_keys = *spec.strict_keys;
  if (spec.timestamp_skew) options.timestamp_skew_seconds = *spec.timestamp_skew;
  if (!spec.now.empty()) options.now = spec.now;
  if (!spec.headers.empty()) options.headers = spec.headers;
  std::string key;
  if (spec.flows) {
    key = options.registry + '\n' + options.now + '\n' + std::to_string(options.strict_keys) + '\n' +
          std::to_string(options.timestamp_skew_seconds);
    for (const auto& [n, v] : options.headers) key += '\n' + n + '=' + v;
    if (auto it = flows_.find(key); it != flows_.end()) return it->second.get();
  }
  auto created = Engine::create(options);
  if (!created) {
    error = created.error().message;
    return nullptr;
  }
  auto& slot = spec.flows ? flows_[key] : single_;
  slot = std::move(created).value();
  return slot.get();
}

void CaseEngines::collect(Engine& engine) {
  for (auto& rule : engine.rules()) loaded_.try_emplace(rule.id, std::move(rule));
  for (const auto& issue : engine.load_issues()) {
    const bool seen = std::any_of(issues_.begin(), issues_.end(),
                                  [&](const LoadIssue& i) { return i.source == issue.source && i.message == issue.message; });
    if (!seen) issues_.push_back(issue);
  }
}

FileReport run_case(Engine& engine, const RuleCase& c, const CaseSpec& spec) {
  return engine.check_file(c.input, spec.type);
}

std::string finding_line(const std::string& file, const Finding& f) {
  FileReport r;
  r.path = file;
  r.findings.push_back(f);
  std::string line = format_text({r}, false);
  if (!line.empty() && line.back() == '\n') line.pop_back();
  return line;
}

}  // namespace flowguard::cli
