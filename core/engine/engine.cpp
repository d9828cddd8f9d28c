#include "flowguard/engine.hpp"

#include <algorithm>
#include <boost/dll/runtime_symbol_info.hpp>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <unordered_set>

#include "flowguard/json/document.hpp"
#include "flowguard/lua/rule_host.hpp"
#include "flowguard/schema/validator.hpp"
#include "native_checks.hpp"
#include "plugin_host.hpp"
#include "recognizer.hpp"

namespace flowguard {
namespace fs = std::filesystem;
using engine::TypeEntry;

namespace {

// Where the installed (or build-tree) layout puts plugins and data, relative to this library.
struct DefaultDirs {
  std::vector<fs::path> plugins, schemas, rules;
};

DefaultDirs find_default_dirs() {
  DefaultDirs dirs;
  std::error_code fs_ec;
  auto add_prefix = [&](const fs::path& plugins, const fs::path& data) {
    if (fs::is_directory(plugins, fs_ec)) dirs.plugins.push_back(plugins);
    if (fs::is_directory(data / "schemas", fs_ec)) dirs.schemas.push_back(data / "schemas");
    if (fs::is_directory(data / "rules", fs_ec)) dirs.rules.push_back(data / "rules");
  };
  if (const char* home = std::getenv("FLOWGUARD_HOME"); home && *home)
    add_prefix(fs::path(home) / "lib/flowguard/plugins", fs::path(home) / "share/flowguard");
  // The library's own folder anchors the rest: <libdir>/flowguard/plugins beside it, and the data
  // folder at the install layout's relative path (or the build tree's, which mirrors it).
  boost::system::error_code ec;
  const auto self = boost::dll::this_line_location(ec);
  if (!ec) {
    const fs::path libdir = fs::path(self.string()).parent_path();
    add_prefix(libdir / "flowguard/plugins", libdir / FLOWGUARD_DATA_FROM_LIBDIR);
    if (dirs.schemas.empty()) {  // build tree: always <build>/lib and <build>/share/flowguard
      const fs::path data = libdir / "../share/flowguard";
      if (fs::is_directory(data / "schemas", fs_ec)) dirs.schemas.push_back(data / "schemas");
      if (fs::is_directory(data / "rules", fs_ec)) dirs.rules.push_back(data / "rules");
    }
  }
  return dirs;
}

fs::path canonical_or_self(const fs::path& p) {
  std::error_code ec;
  auto c = fs::weakly_canonical(p, ec);
  return ec ? p : c;
}

Result<std::string> read_file(const fs::path& file) {
  std::error_code ec;
  if (fs::is_directory(file, ec)) return make_error(ErrorCode::kIo, file.string() + ": is a directory, expected a JSON file");
  std::ifstream in(file, std::ios::binary);
  if (!in) return make_error(ErrorCode::kIo, file.string() + ": cannot open file (" + std::strerror(errno) + ")");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return make_error(ErrorCode::kIo, file.string() + ": read error");
  return bytes;
}

// The pointer of `target` inside `root` (found by address); used for the rare findings that
// start from a value rather than a path. Depth is bounded by the parser's nesting limit.
bool pointer_to(const json::Value& root, const json::Value* target, std::string& pointer) {
  if (&root == target) return true;
  const std::size_t keep = pointer.size();
  if (root.is_array()) {
    std::size_t i = 0;
    for (const auto& item : root.items()) {
      json::append_pointer(pointer, i++);
      if (pointer_to(item, target, pointer)) return true;
      pointer.resize(keep);
    }
  } else if (root.is_object()) {
    for (const auto& m : root.members()) {
      json::append_pointer(pointer, m.key);
      if (pointer_to(m.value, target, pointer)) return true;
      pointer.resize(keep);
    }
  }
  return false;
}

std::string with_spec(std::string message, const std::string& spec) {
  if (!spec.empty()) message += " [" + spec + "]";
  return message;
}

}  // namespace

struct Engine::Impl {
  EngineOptions options;
  std::vector<fs::path> schema_dirs, rule_roots;
  engine::PluginHost plugins;
  std::vector<TypeEntry> types;
  std::vector<LoadIssue> issues;

  std::unique_ptr<lua::RuleHost> rules;
  std::set<fs::path> loaded_rule_dirs;

  struct CompiledType {
    bool attempted = false;
    std::optional<schema::CompiledSchema> document_schema;
  };
  std::map<std::string, CompiledType> compiled;

  const TypeEntry* find_type(std::string_view name) const {
    for (const auto& t : types)
      if (t.name == name) return &t;
    return nullptr;
  }

  void load_rule_dir(const fs::path& dir, bool must_exist) {
    const auto key = canonical_or_self(dir);
    if (!loaded_rule_dirs.insert(key).second) return;
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
      if (must_exist) issues.push_back({dir.string(), "rule directory does not exist"});
      return;
    }
    for (auto& error : rules->load_directory(dir)) issues.push_back({dir.string(), std::move(error.message)});
  }

  void ensure_rule_set(const TypeEntry& type) {
    if (type.rule_set.empty()) return;
    for (const auto& root : rule_roots) load_rule_dir(root / type.rule_set, false);
  }

  // The schema of a type, compiled on first use. nullptr (with a load issue) when it cannot be.
  const schema::CompiledSchema* schema_for(const TypeEntry& type) {
    auto& slot = compiled[type.name];
    if (!slot.attempted) {
      slot.attempted = true;
      std::error_code ec;
      std::vector<std::string> tried;
      for (const auto& dir : schema_dirs) {
        auto file = dir / type.schema;
        if (!fs::is_regular_file(file, ec)) { tried.push_back(file.string()); continue; }
        auto loaded = schema::CompiledSchema::load_file(file);
        if (loaded) slot.document_schema = std::move(loaded).value();
        else issues.push_back({file.string(), loaded.error().message});
        break;
      }
      if (!slot.document_schema && tried.size() == schema_dirs.size()) {
        std::string where;
        for (const auto& t : tried) where += (where.empty() ? "" : ", ") + t;
        issues.push_back({type.schema, "schema for " + type.name + " not found (looked in: " + (where.empty() ? "no schema directories" : where) + ")"});
      }
    }
    return slot.document_schema ? &*slot.document_schema : nullptr;
  }
};

Engine::Engine() : impl_(std::make_unique<Impl>()) {}
Engine::~Engine() = default;

Result<std::unique_ptr<Engine>> Engine::create(const EngineOptions& options) {
  std::unique_ptr<Engine> engine(new Engine());
  Impl& impl = *engine->impl_;
  impl.options = options;

  DefaultDirs defaults;
  if (options.use_default_dirs) defaults = find_default_dirs();
  std::vector<fs::path> plugin_dirs = options.plugin_dirs;
  plugin_dirs.insert(plugin_dirs.end(), defaults.plugins.begin(), defaults.plugins.end());
  impl.schema_dirs = options.schema_dirs;
  impl.schema_dirs.insert(impl.schema_dirs.end(), defaults.schemas.begin(), defaults.schemas.end());
  impl.rule_roots = defaults.rules;

  std::set<fs::path> seen;
  for (const auto& dir : plugin_dirs)
    if (seen.insert(canonical_or_self(dir)).second) impl.plugins.load_directory(dir, impl.types, impl.issues);
  if (impl.types.empty())
    impl.issues.push_back({"plugins", "no message types are available: no plugin loaded (searched " +
                                          std::to_string(plugin_dirs.size()) + " plugin directories)"});

  lua::Limits limits;
  limits.instructions_per_call = options.lua_instructions_per_call;
  limits.memory_bytes = options.lua_memory_bytes;
  auto host = lua::RuleHost::create(limits);
  if (!host) return std::move(host).error();
  impl.rules = std::move(host).value();
  for (const auto& dir : options.rule_dirs) impl.load_rule_dir(dir, true);
  if (options.load_all_rules) engine->preload();
  return engine;
}

const std::vector<LoadIssue>& Engine::load_issues() const noexcept { return impl_->issues; }

std::vector<TypeInfo> Engine::types() const {
  std::vector<TypeInfo> out;
  for (const auto& t : impl_->types) out.push_back({t.name, t.title, t.plugin, t.spec});
  return out;
}

void Engine::preload() {
  for (const auto& t : impl_->types) {
    impl_->ensure_rule_set(t);
    impl_->schema_for(t);
  }
}

FileReport Engine::check_file(const fs::path& file, std::string_view type_hint) {
  auto bytes = read_file(file);
  if (!bytes) {
    FileReport report;
    report.path = file.string();
    report.input_error = bytes.error();
    return report;
  }
  return check(*bytes, file.string(), type_hint);
}

FileReport Engine::check(std::string_view bytes, std::string_view source_name, std::string_view type_hint) {
  Impl& impl = *impl_;
  FileReport report;
  report.path = std::string(source_name);

  json::Document doc;
  json::ParseError parse_error;
  json::ParseOptions parse_options;
  parse_options.max_depth = impl.options.max_depth;
  if (!json::Document::parse(bytes, doc, parse_error, parse_options)) {
    report.input_error = make_error(
        parse_error.limit ? ErrorCode::kLimit : ErrorCode::kParse,
        report.path + ":" + std::to_string(parse_error.line) + ":" + std::to_string(parse_error.column) + ": " +
            (parse_error.limit ? "input exceeds a limit: " : "not valid JSON: ") + parse_error.message);
    return report;
  }

  std::vector<Finding> findings;
  for (const auto& dup : doc.duplicate_keys()) {
    std::string pointer;
    if (dup.object && pointer_to(doc.root(), dup.object, pointer)) json::append_pointer(pointer, dup.key);
    findings.push_back({"json.duplicate-key", Severity::kWarning, std::move(pointer), 0, 0,
                        "key \"" + std::string(dup.key) + "\" appears more than once in this object; receivers may keep either value",
                        dup.key_offset});
  }

  // Which type?
  const TypeEntry* type = nullptr;
  std::vector<const TypeEntry*> candidates;
  for (const auto& t : impl.types)
    if (type_hint.empty() || t.name == type_hint ||
        (t.name.size() > type_hint.size() && t.name.compare(0, type_hint.size(), type_hint) == 0 &&
         t.name[type_hint.size()] == '.'))
      candidates.push_back(&t);
  if (!type_hint.empty() && candidates.empty()) {
    report.input_error = make_error(ErrorCode::kUnknownType,
                                    "unknown type \"" + std::string(type_hint) + "\"" +
                                        engine::closest_names(type_hint, impl.types));
    return report;
  }
  if (candidates.size() == 1 && !type_hint.empty() && candidates[0]->name == type_hint) {
    type = candidates[0];
  } else {
    auto recognition = engine::recognize(doc.root(), candidates);
    if (recognition.type) {
      type = recognition.type;
      report.type_from_content = type_hint.empty() || type_hint != type->name;
    } else {
      findings.push_back({"type.unrecognised", Severity::kError, "", 0, 0, recognition.explanation, doc.root().offset()});
    }
  }

  if (type) {
    report.type = type->name;
    impl.ensure_rule_set(*type);
    const auto records = engine::locate_records(doc.root(), *type);
    report.records = records.size();

    // Schema: the fast accept path first; the diagnostic walk only for documents that fail it.
    std::unordered_set<std::string> schema_flagged;
    if (const auto* schema = impl.schema_for(*type); schema && !schema->accepts(doc.root())) {
      std::vector<schema::Violation> violations;
      schema->validate(doc.root(), "", violations);
      for (auto& v : violations) {
        schema_flagged.insert(v.pointer);
        findings.push_back({"schema." + v.keyword, Severity::kError, std::move(v.pointer), 0, 0, std::move(v.message), v.offset});
      }
    } else if (!schema) {
      findings.push_back({"schema.unavailable", Severity::kError, "", 0, 0,
                          "the schema of " + type->name + " could not be loaded, so the document was not validated against it",
                          doc.root().offset()});
    }

    const auto& rules = impl.rules->rules();
    std::vector<lua::RuleReport> reports;
    for (std::size_t r = 0; r < rules.size(); ++r) {
      const auto& rule = rules[r];
      if (!rule.applies_to(type->name)) continue;
      report.rules_run.push_back(rule.id);

      auto add = [&](std::string pointer, std::uint64_t offset, std::string message, std::optional<Severity> severity) {
        findings.push_back({rule.id, severity.value_or(rule.severity), std::move(pointer), 0, 0,
                            with_spec(std::move(message), rule.spec), offset});
      };

      // Native field checks: no Lua on this path.
      for (const auto& check : rule.field_checks)
        for (std::size_t i = 0; i < records.size(); ++i) {
          const json::Value& record = *records[i].value;
          if (!record.is_object()) continue;
          for (const auto& field : check.fields) {
            const json::Value* value = record.find(field);
            if (!value) continue;
            std::string pointer = records[i].pointer;
            json::append_pointer(pointer, field);
            if (schema_flagged.count(pointer)) continue;  // one finding per field: the schema's
            if (auto problem = engine::run_field_check(check, field, *value))
              add(std::move(pointer), value->offset(), std::move(*problem), std::nullopt);
          }
        }

      auto drain = [&]() {
        for (auto& rep : reports) {
          std::string pointer;
          std::uint64_t offset = doc.root().offset();
          if (rep.pointer) {
            pointer = *rep.pointer;
            const json::Value* at = json::resolve_pointer(doc.root(), pointer);
            // Point at the nearest existing ancestor when the place itself does not exist.
            std::string probe = pointer;
            while (!at && !probe.empty()) {
              probe.erase(probe.rfind('/'));
              at = json::resolve_pointer(doc.root(), probe);
            }
            if (at) offset = at->offset();
          } else if (rep.record && *rep.record < records.size()) {
            const auto& rec = records[*rep.record];
            pointer = rec.pointer;
            offset = rec.value->offset();
            if (!rep.field.empty() && rec.value->is_object()) {
              if (const json::Member* m = rec.value->find_member(rep.field)) {
                json::append_pointer(pointer, rep.field);
                offset = m->value.offset();
              }
            }
          }
          add(std::move(pointer), offset, std::move(rep.message), rep.severity);
        }
        reports.clear();
      };

      auto failed = [&](const Error& error, std::string pointer, std::uint64_t offset) {
        findings.push_back({rule.id, Severity::kError, std::move(pointer), 0, 0, "rule failed: " + error.message, offset});
      };

      if (rule.has_record)
        for (std::size_t i = 0; i < records.size(); ++i) {
          auto status = impl.rules->run_record(r, *records[i].value, i, reports);
          drain();
          if (!status) {
            failed(status.error(), records[i].pointer, records[i].value->offset());
            break;  // a broken rule fails once, not once per record
          }
        }
      if (rule.has_document) {
        std::vector<const json::Value*> record_ptrs;
        record_ptrs.reserve(records.size());
        for (const auto& rec : records) record_ptrs.push_back(rec.value);
        auto status = impl.rules->run_document(r, record_ptrs, doc.root(), reports);
        drain();
        if (!status) failed(status.error(), "", doc.root().offset());
      }
    }
  }

  // Document order, then rule id, so output is stable and reads top to bottom.
  std::stable_sort(findings.begin(), findings.end(), [](const Finding& a, const Finding& b) {
    if (a.offset != b.offset) return a.offset < b.offset;
    return a.rule < b.rule;
  });
  for (const auto& f : findings)
    ++(f.severity == Severity::kError ? report.errors : f.severity == Severity::kWarning ? report.warnings : report.infos);
  if (findings.size() > impl.options.max_findings) {
    report.findings_not_shown = findings.size() - impl.options.max_findings;
    findings.resize(impl.options.max_findings);
  }
  const auto& lines = doc.lines();
  for (auto& f : findings) std::tie(f.line, f.column) = lines.locate(f.offset);
  report.findings = std::move(findings);
  return report;
}

}  // namespace flowguard
