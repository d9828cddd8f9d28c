#include "plugin_host.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <boost/dll/shared_library.hpp>
#include <set>
#include <system_error>

namespace flowguard::engine {
namespace fs = std::filesystem;

namespace {

bool is_blank(const char* s) { return s == nullptr || *s == '\0'; }

std::string problem_with_type(const fg_type& t, std::size_t index) {
  const std::string where = "type #" + std::to_string(index) + (is_blank(t.name) ? "" : std::string(" (") + t.name + ")");
  if (is_blank(t.name)) return where + " has no name";
  if (std::string_view(t.name).find('.') == std::string_view::npos)
    return where + ": name must be \"<family>.<name>\"";
  if (is_blank(t.title)) return where + " has no title";
  if (is_blank(t.schema)) return where + " has no schema";
  if (is_blank(t.spec)) return where + " has no spec reference";
  if (t.record_schema == nullptr) return where + " has no record_schema pointer";
  if (t.shape != FG_SHAPE_RECORD_ARRAY && t.shape != FG_SHAPE_ENVELOPE && t.shape != FG_SHAPE_MESSAGE)
    return where + " has an unknown shape " + std::to_string(static_cast<int>(t.shape));
  if (t.shape == FG_SHAPE_ENVELOPE && is_blank(t.records_pointer))
    return where + " is an envelope without records_pointer";
  if (t.match_count > 0 && t.matches == nullptr) return where + " declares matches but gives none";
  if ((t.flags & ~FG_TYPE_CASE_INSENSITIVE_KEYS) != 0) return where + " sets unknown flag bits";
  for (std::size_t i = 0; i < t.match_count; ++i)
    if (t.matches[i].pointer == nullptr || t.matches[i].equals == nullptr)
      return where + ": match #" + std::to_string(i) + " is incomplete";
  return {};
}

}  // namespace

std::string check_descriptor(const fg_plugin& plugin) {
  if (plugin.abi_major != FG_PLUGIN_ABI_MAJOR)
    return "incompatible plugin ABI " + std::to_string(plugin.abi_major) + "." + std::to_string(plugin.abi_minor) +
           ": this flowguard speaks ABI " + std::to_string(FG_PLUGIN_ABI_MAJOR) + "." +
           std::to_string(FG_PLUGIN_ABI_MINOR) + " (major versions must match)";
  if (plugin.abi_minor > FG_PLUGIN_ABI_MINOR)
    return "plugin needs ABI " + std::to_string(plugin.abi_major) + "." + std::to_string(plugin.abi_minor) +
           ", newer than this flowguard's " + std::to_string(FG_PLUGIN_ABI_MAJOR) + "." +
           std::to_string(FG_PLUGIN_ABI_MINOR) + "; upgrade flowguard";
  if (is_blank(plugin.name)) return "descriptor has no name";
  if (is_blank(plugin.version)) return "descriptor has no version";
  if (is_blank(plugin.description)) return "descriptor has no description";
  if (plugin.type_count == 0 || plugin.types == nullptr) return "descriptor declares no message types";
  std::set<std::string_view> names;
  for (std::size_t i = 0; i < plugin.type_count; ++i) {
    if (auto problem = problem_with_type(plugin.types[i], i); !problem.empty()) return problem;
    if (!names.insert(plugin.types[i].name).second)
      return std::string("type ") + plugin.types[i].name + " is declared twice";
  }
  return {};
}

namespace {

// Why the dynamic loader refused `file`. Boost.DLL keeps only an errno-style code ("Bad file
// descriptor"); dlerror() has the loader's own reason ("invalid ELF header", "undefined symbol: x"),
// so the load is tried once more directly to read it. A load that failed ran no constructors.
std::string load_failure(const fs::path& file, const boost::system::error_code& ec) {
  dlerror();  // clear any earlier message
  void* handle = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    if (const char* why = dlerror()) return why;
  } else {
    dlclose(handle);
  }
  return ec ? ec.message() : "unknown reason";
}

void warn_if_world_writable(const fs::path& file, std::vector<LoadIssue>& warnings) {
  std::error_code ec;
  const fs::path dir = fs::absolute(file, ec).parent_path();
  for (const fs::path& p : {file, dir}) {
    const auto status = fs::status(p, ec);
    if (ec) continue;
    const auto perms = status.permissions();
    // A folder with the sticky bit (/tmp) lets others add files but not replace this one.
    const bool sticky_dir = p == dir && (perms & fs::perms::sticky_bit) != fs::perms::none;
    if ((perms & fs::perms::others_write) != fs::perms::none && !sticky_dir)
      warnings.push_back({file.string(), "plugin " + file.string() + " is loaded from " +
                                             (p == file ? std::string("a file") : "a folder (" + dir.string() + ")") +
                                             " that any user may write to, so anyone could replace the code flowguard "
                                             "runs; expected it writable by its owner only (chmod o-w)"});
  }
}

}  // namespace

Result<LoadedPlugin> PluginHost::load(const fs::path& file, std::vector<TypeEntry>& types_out) {
  auto refuse = [&](const std::string& why) {
    return make_error(ErrorCode::kPlugin, "plugin " + file.string() + " refused: " + why);
  };
  std::error_code exists_ec;
  if (!fs::is_regular_file(file, exists_ec)) return refuse("no such file");

  // Boost.DLL reports failures through error_code here; nothing may throw past this function.
  boost::system::error_code ec;
  auto library = std::make_shared<boost::dll::shared_library>();
  try {
    library->load(boost::dll::fs::path(file.string()), boost::dll::load_mode::rtld_local | boost::dll::load_mode::rtld_now, ec);
  } catch (const std::exception& e) {
    return refuse(std::string("cannot be loaded: ") + e.what());
  }
  if (ec || !library->is_loaded()) return refuse("cannot be loaded as a shared library: " + load_failure(file, ec));
  if (!library->has(FG_PLUGIN_ENTRY))
    return refuse(std::string("it does not export the entry symbol ") + FG_PLUGIN_ENTRY + " (is it a flowguard plugin built against sdk/?)");

  auto entry = library->get<const fg_plugin*()>(FG_PLUGIN_ENTRY);
  const fg_plugin* descriptor = entry();
  if (descriptor == nullptr) return refuse(std::string(FG_PLUGIN_ENTRY) + " returned no descriptor");
  if (auto problem = check_descriptor(*descriptor); !problem.empty()) return refuse(problem);

  for (const auto& loaded : plugins_)
    if (loaded.name == descriptor->name)
      return refuse(std::string("a plugin named \"") + descriptor->name + "\" is already loaded from " + loaded.file.string());

  std::vector<TypeEntry> entries;
  for (std::size_t i = 0; i < descriptor->type_count; ++i) {
    const fg_type& t = descriptor->types[i];
    for (const auto& existing : types_out)
      if (existing.name == t.name)
        return refuse(std::string("type ") + t.name + " is already provided by plugin " + existing.plugin);
    TypeEntry entry;
    entry.name = t.name;
    entry.title = t.title;
    entry.plugin = descriptor->name;
    entry.schema = t.schema;
    entry.rule_set = t.rule_set ? t.rule_set : "";
    entry.shape = t.shape;
    entry.records_pointer = t.records_pointer ? t.records_pointer : "";
    entry.record_schema = t.record_schema;
    entry.spec = t.spec;
    entry.schema_error_code = t.schema_error_code ? t.schema_error_code : "";
    entry.unknown_variant_code = descriptor->unknown_variant_code ? descriptor->unknown_variant_code : "";
    entry.case_insensitive_keys = (t.flags & FG_TYPE_CASE_INSENSITIVE_KEYS) != 0;
    for (std::size_t m = 0; m < t.match_count; ++m) entry.matches.push_back({t.matches[m].pointer, t.matches[m].equals});
    if (t.key_hints)
      for (const char* const* hint = t.key_hints; *hint; ++hint) entry.key_hints.emplace_back(*hint);
    entries.push_back(std::move(entry));
  }
  types_out.insert(types_out.end(), std::make_move_iterator(entries.begin()), std::make_move_iterator(entries.end()));

  warn_if_world_writable(file, warnings_);
  LoadedPlugin loaded{descriptor->name, descriptor->version, descriptor->description, file, library};
  plugins_.push_back(loaded);
  return loaded;
}

void PluginHost::load_directory(const fs::path& dir, std::vector<TypeEntry>& types, std::vector<LoadIssue>& issues) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return;
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (entry.path().extension() == ".so") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  for (const auto& file : files) {
    auto loaded = load(file, types);
    if (!loaded) issues.push_back({file.string(), loaded.error().message});
  }
}

}  // namespace flowguard::engine
