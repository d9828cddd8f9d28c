// `flowguard rules list` and `flowguard explain RULE-ID`: what the loaded rules check, where they
// come from, and an example finding from a rule test that triggers one.
#include <algorithm>
#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "commands.hpp"
#include "flowguard/json/writer.hpp"
#include "rule_tools.hpp"

namespace flowguard::cli {
namespace {
namespace fs = std::filesystem;

constexpr const char* kRulesUsage = R"(usage: flowguard rules list [--type TYPE] [--format text|json] [--rules DIR]...

Lists every rule: the shipped Lua rule sets, any --rules DIR, and the ids the engine produces
itself (schema, JSON and type recognition), with id, severity, types, file and description.

  --type TYPE          only the rules that apply to TYPE (a name from `flowguard types`)
  --format text|json   text (default): one rule a line; json: {"rules": [...]}
  --rules DIR          also load the Lua rules in DIR (repeatable)
  --plugins DIR, --schemas DIR, --no-default-dirs      as for check

exit status: 0 listed, 2 usage error, 3 a rule file failed to load (the others are listed)
)";

constexpr const char* kExplainUsage = R"(usage: flowguard explain [--rules DIR]... [--examples DIR]... RULE-ID

Says what a rule checks, its spec reference, severity, types, the file it comes from and how it
runs, with an example finding: the first rule test that triggers it, searched in the tests/ folder
beside each rule file (rules/<set>/tests/, DIR/tests/ for --rules DIR) and in each --examples DIR
(e.g. tests/corpus in a source checkout).

exit status: 0 explained, 2 unknown rule id (the closest are suggested) or usage error
)";

int usage(const char* command, const std::string& message) {
  std::fprintf(stderr, "flowguard %s: error: %s\n(flowguard %s --help shows the usage)\n", command, message.c_str(),
               command);
  return 2;
}

// --rules/--plugins/--schemas/--no-default-dirs, shared by both commands; false: not one of them.
bool engine_option(const std::vector<std::string_view>& args, std::size_t& i, EngineOptions& options, std::string& error) {
  const std::string_view arg = args[i];
  if (arg == "--no-default-dirs") return options.use_default_dirs = false, true;
  if (arg != "--rules" && arg != "--plugins" && arg != "--schemas") return false;
  if (i + 1 >= args.size()) return error = std::string(arg) + " needs a directory", true;
  const fs::path dir(args[++i]);
  (arg == "--rules" ? options.rule_dirs : arg == "--plugins" ? options.plugin_dirs : options.schema_dirs).push_back(dir);
  return true;
}

std::string join(const std::vector<std::string>& items, const char* sep = ", ") {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : sep) + s;
  return out;
}

// "dfs/formats.lua:14": the file within its rule set, enough to find it.
std::string short_place(const RuleDescription& r) {
  if (r.builtin) return "(engine)";
  const fs::path file(r.file);
  return (file.parent_path().filename() / file.filename()).generic_string() + ":" + std::to_string(r.line);
}

std::string how_it_runs(const RuleDescription& r) {
  if (r.builtin) return "in the engine, before the rules";
  std::vector<std::string> parts;
  for (const auto& n : r.native_checks) parts.push_back("native " + n);
  if (r.record) parts.emplace_back("a Lua check on each record");
  if (r.document) parts.emplace_back("a Lua check on the whole document");
  return join(parts, "; ");
}

void write_rule_json(json::Writer& w, const RuleDescription& r) {
  w.begin_object().member("id", r.id).member("severity", to_string(r.severity)).member("description", r.description);
  w.member("spec", r.spec);
  if (!r.code.empty()) w.member("code", r.code);
  w.key("types").begin_array();
  for (const auto& t : r.types) w.string(t);
  w.end_array();
  w.member("builtin", r.builtin);
  if (!r.builtin) w.member("file", r.file).member("line", r.line);
  w.key("checks").begin_object().member("record", r.record).member("document", r.document);
  w.key("native").begin_array();
  for (const auto& n : r.native_checks) w.string(n);
  w.end_array().end_object().end_object();
}

struct Loaded {
  std::unique_ptr<Engine> engine;
  std::vector<RuleDescription> rules;  // the Lua rules, then the builtin ids
};

std::optional<Loaded> load_all(const EngineOptions& options, const char* command, int& status) {
  auto created = Engine::create(options);
  if (!created) {
    status = usage(command, created.error().message);
    return std::nullopt;
  }
  Loaded loaded{std::move(created).value(), {}};
  loaded.engine->preload();
  loaded.rules = loaded.engine->rules();
  for (auto& b : builtin_rules()) loaded.rules.push_back(std::move(b));
  for (const auto& issue : loaded.engine->load_issues())
    std::fprintf(stderr, "flowguard: warning: %s: %s\n", issue.source.c_str(), issue.message.c_str());
  return loaded;
}

}  // namespace

int run_rules(const std::vector<std::string_view>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::fputs(kRulesUsage, args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  if (args[0] != "list") return usage("rules", "unknown subcommand \"" + std::string(args[0]) + "\"; expected list");
  EngineOptions options;
  std::string type, format = "text", error;
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    if (arg == "--help" || arg == "-h") return std::fputs(kRulesUsage, stdout), 0;
    if (engine_option(args, i, options, error)) {
      if (!error.empty()) return usage("rules", error);
    } else if ((arg == "--type" || arg == "--format") && i + 1 < args.size()) {
      (arg == "--type" ? type : format) = std::string(args[++i]);
    } else {
      return usage("rules", "unexpected argument " + std::string(arg));
    }
  }
  if (format != "text" && format != "json") return usage("rules", "--format expects text or json, got \"" + format + "\"");
  int status = 0;
  auto loaded = load_all(options, "rules", status);
  if (!loaded) return status;
  if (!type.empty()) {
    std::vector<std::string> names;
    for (const auto& t : loaded->engine->types()) names.push_back(t.name);
    if (std::find(names.begin(), names.end(), type) == names.end()) {
      const std::string near = closest(type, names);
      return usage("rules", "unknown type \"" + type + "\"" + (near.empty() ? "" : "; did you mean \"" + near + "\"?") +
                                " (flowguard types lists them)");
    }
  }
  std::vector<const RuleDescription*> shown;
  for (const auto& r : loaded->rules)
    if (type.empty() || rule_applies(r.types, type)) shown.push_back(&r);
  if (format == "json") {
    std::string out;
    json::Writer w(out);
    w.begin_object().key("rules").begin_array();
    for (const auto* r : shown) write_rule_json(w, *r);
    w.end_array().end_object();
    std::printf("%s\n", out.c_str());
  } else {
    std::size_t id_width = 0, place_width = 0;
    for (const auto* r : shown) id_width = std::max(id_width, r->id.size()), place_width = std::max(place_width, short_place(*r).size());
    for (const auto* r : shown)
      std::printf("%-*s  %-7s  %-*s  %s  [%s]\n", static_cast<int>(id_width), r->id.c_str(), to_string(r->severity),
                  static_cast<int>(place_width), short_place(*r).c_str(), r->description.c_str(), join(r->types).c_str());
  }
  return loaded->engine->load_issues().empty() ? 0 : 3;
}

int run_explain(const std::vector<std::string_view>& args) {
  EngineOptions options;
  std::vector<fs::path> example_dirs;
  std::string id, error;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    if (arg == "--help" || arg == "-h") return std::fputs(kExplainUsage, stdout), 0;
    if (engine_option(args, i, options, error)) {
      if (!error.empty()) return usage("explain", error);
    } else if (arg == "--examples" && i + 1 < args.size()) {
      example_dirs.emplace_back(args[++i]);
    } else if (!arg.empty() && arg[0] != '-' && id.empty()) {
      id = std::string(arg);
    } else {
      return usage("explain", "unexpected argument " + std::string(arg));
    }
  }
  if (id.empty()) return usage("explain", "explain needs a RULE-ID (flowguard rules list shows them)");
  int status = 0;
  auto loaded = load_all(options, "explain", status);
  if (!loaded) return status;

  const RuleDescription* rule = nullptr;
  auto same = [](std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
             return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
  };
  for (const auto& r : loaded->rules)
    if (r.id == id) rule = &r;
  for (const auto& r : loaded->rules)
    if (!rule && same(r.id, id)) rule = &r;
  if (!rule && id.rfind("schema.", 0) == 0 && id.size() > 7)  // any keyword: the schema.<keyword> family
    for (const auto& r : loaded->rules)
      if (r.id == "schema.<keyword>") rule = &r;
  if (!rule) {
    std::vector<std::string> ids;
    for (const auto& r : loaded->rules) ids.push_back(r.id);
    const std::string near = closest(id, ids);
    return usage("explain", "no rule \"" + id + "\"" + (near.empty() ? "" : "; did you mean \"" + near + "\"?") +
                                " (flowguard rules list shows them all)");
  }
  const std::string shown_id = rule->id == "schema.<keyword>" ? id : rule->id;
  std::printf("%s (%s)\n", shown_id.c_str(), to_string(rule->severity));
  std::printf("  checks:   %s\n", rule->description.c_str());
  std::printf("  spec:     %s\n", rule->spec.c_str());
  std::printf("  types:    %s\n", join(rule->types).c_str());
  if (!rule->code.empty()) std::printf("  code:     %s\n", rule->code.c_str());
  std::printf("  file:     %s\n", rule->builtin ? "(the engine)" : (rule->file + ":" + std::to_string(rule->line)).c_str());
  std::printf("  runs as:  %s\n", how_it_runs(*rule).c_str());

  // Example: the rule tests beside the rule files, then --examples; the first case that triggers it.
  std::vector<fs::path> dirs = example_dirs;
  std::set<fs::path> seen;
  for (const auto& r : loaded->rules) {
    if (r.builtin || (!rule->builtin && r.id != rule->id)) continue;
    const fs::path tests = fs::path(r.file).parent_path() / "tests";
    std::error_code ec;
    if (seen.insert(tests).second && fs::is_directory(tests, ec)) dirs.insert(dirs.begin(), tests);
  }
  CaseEngines engines(options);
  std::vector<std::string> searched;
  for (const auto& dir : dirs) {
    searched.push_back(dir.string());
    for (const auto& c : find_cases(dir)) {
      std::string case_error;
      const auto spec = read_case_spec(c.expected, case_error);
      if (!spec || std::none_of(spec->findings.begin(), spec->findings.end(), [&](const auto& e) { return e.rule == shown_id; }))
        continue;
      Engine* engine = engines.engine_for(*spec, c.expected, case_error);
      if (!engine) continue;
      const FileReport report = run_case(*engine, c, *spec);
      for (const auto& f : report.findings) {
        if (f.rule != shown_id) continue;
        std::printf("  example:  %s\n            (rule test %s)\n", finding_line(c.input.string(), f).c_str(),
                    c.expected.string().c_str());
        return 0;
      }
    }
  }
  std::printf("  example:  not available: no rule test triggers it%s%s (sdk/docs/rule-testing.md says how to add one)\n",
              searched.empty() ? "" : " in ", join(searched).c_str());
  return 0;
}

}  // namespace flowguard::cli
