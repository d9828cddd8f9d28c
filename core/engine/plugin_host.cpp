#include "plugin_host.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <boost/dll/shared_library.hpp>
#include <set>
#include <system_error>

namespace flowguard::engine {
namespace fs = std::filesystem;

namespace {

bool is_blank(const char* s) { return s == nullptr || *s == '\0'; }

// fg_type's size as each minor version of ABI 1 defines it: the stride of a plugin's `types` when
// it gives no type_size. 1.0 ended at schema_error_code; 1.1 added no fg_type field (only
// fg_plugin.type_size). A minor that adds a field to fg_type adds its size here.
constexpr std::size_t kTypeSize_1_0 = offsetof(fg_type, schema_error_code) + sizeof(const char*);
constexpr std::size_t kTypeSize_1_1 = sizeof(fg_type);
static_assert(kTypeSize_1_0 <= kTypeSize_1_1 && FG_PLUGIN_ABI_MINOR == 1, "add the new minor's fg_type size");

std::size_t type_size_of_minor(std::uint32_t minor) { return minor == 0 ? kTypeSize_1_0 : kTypeSize_1_1; }

// The fields of `raw` that the plugin's minor version has; later ones zero (their meaning when
// absent). A 1.0 descriptor ends before type_size, so it must not be read past that.
fg_plugin plugin_fields(const fg_plugin& raw) {
  fg_plugin p{};
  std::memcpy(&p, &raw, raw.abi_minor == 0 ? offsetof(fg_plugin, type_size) : sizeof(fg_plugin));
  return p;
}

std::size_t stride_of(const fg_plugin& p) { return p.type_size != 0 ? p.type_size : type_size_of_minor(p.abi_minor); }

// Type `i` of the plugin's array, `stride` bytes apart: the fields this engine knows, the rest
// zero when the plugin's entries are shorter (an older plugin), ignored when longer.
fg_type type_at(const fg_plugin& p, std::size_t stride, std::size_t i) {
  fg_type t{};
  std::memcpy(&t, reinterpret_cast<const unsigned char*>(p.types) + i * stride, std::min(stride, sizeof(fg_type)));
  return t;
}

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

std::string check_descriptor(const fg_plugin& raw) {
  if (raw.abi_major != FG_PLUGIN_ABI_MAJOR)
    return "incompatible plugin ABI " + std::to_string(raw.abi_major) + "." + std::to_string(raw.abi_minor) +
           ": this flowguard speaks ABI " + std::to_string(FG_PLUGIN_ABI_MAJOR) + "." +
           std::to_string(FG_PLUGIN_ABI_MINOR) + " (major versions must match)";
  if (raw.abi_minor > FG_PLUGIN_ABI_MINOR)
    return "plugin needs ABI " + std::to_string(raw.abi_major) + "." + std::to_string(raw.abi_minor) +
           ", newer than this flowguard's " + std::to_string(FG_PLUGIN_ABI_MAJOR) + "." +
           std::to_string(FG_PLUGIN_ABI_MINOR) + "; upgrade flowguard";
  const fg_plugin plugin = plugin_fields(raw);
  if (is_blank(plugin.name)) return "descriptor has no name";
  if (is_blank(plugin.version)) return "descriptor has no version";
  if (is_blank(plugin.description)) return "descriptor has no description";
  if (plugin.type_count == 0 || plugin.types == nullptr) return "descriptor declares no message types";
  const std::size_t minimum = type_size_of_minor(plugin.abi_minor);
  if (plugin.type_size != 0 && (plugin.type_size < minimum || plugin.type_size % alignof(fg_type) != 0))
    return "type_size " + std::to_string(plugin.type_size) + " is not a size of fg_type for ABI 1." +
           std::to_string(plugin.abi_minor) + " (expected FG_TYPE_SIZE: at least " + std::to_string(minimum) +
           " and a multiple of " + std::to_string(alignof(fg_type)) + ")";
  const std::size_t stride = stride_of(plugin);
  std::set<std::string_view> names;
  for (std::size_t i = 0; i < plugin.type_count; ++i) {
    const fg_type t = type_at(plugin, stride, i);
    if (auto problem = problem_with_type(t, i); !problem.empty()) return problem;
    if (!names.insert(t.name).second) return std::string("type ") + t.name + " is declared twice";
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

Result<PluginDescription> describe_plugin(const fs::path& file) {
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

  const fg_plugin plugin = plugin_fields(*descriptor);
  const std::size_t stride = stride_of(plugin);
  PluginDescription out;
  out.name = plugin.name;
  out.version = plugin.version;
  out.description = plugin.description;
  out.library = library;
  for (std::size_t i = 0; i < plugin.type_count; ++i) {
    const fg_type t = type_at(plugin, stride, i);
    TypeEntry entry;
    entry.name = t.name;
    entry.title = t.title;
    entry.plugin = plugin.name;
    entry.schema = t.schema;
    entry.rule_set = t.rule_set ? t.rule_set : "";
    entry.shape = t.shape;
    entry.records_pointer = t.records_pointer ? t.records_pointer : "";
    entry.record_schema = t.record_schema;
    entry.spec = t.spec;
    entry.schema_error_code = t.schema_error_code ? t.schema_error_code : "";
    entry.unknown_variant_code = plugin.unknown_variant_code ? plugin.unknown_variant_code : "";
    entry.case_insensitive_keys = (t.flags & FG_TYPE_CASE_INSENSITIVE_KEYS) != 0;
    for (std::size_t m = 0; m < t.match_count; ++m) entry.matches.push_back({t.matches[m].pointer, t.matches[m].equals});
    if (t.key_hints)
      for (const char* const* hint = t.key_hints; *hint; ++hint) entry.key_hints.emplace_back(*hint);
    out.types.push_back(std::move(entry));
  }
  return out;
}

Result<LoadedPlugin> PluginHost::admit(const fs::path& file, PluginDescription description,
                                       std::vector<TypeEntry>& types_out) {
  auto refuse = [&](const std::string& why) {
    return make_error(ErrorCode::kPlugin, "plugin " + file.string() + " refused: " + why);
  };
  for (const auto& loaded : plugins_)
    if (loaded.name == description.name)
      return refuse("a plugin named \"" + description.name + "\" is already loaded from " + loaded.file.string());
  for (const auto& t : description.types)
    for (const auto& existing : types_out)
      if (existing.name == t.name) return refuse("type " + t.name + " is already provided by plugin " + existing.plugin);
  types_out.insert(types_out.end(), std::make_move_iterator(description.types.begin()),
                   std::make_move_iterator(description.types.end()));

  warn_if_world_writable(file, warnings_);
  LoadedPlugin loaded{description.name, description.version, description.description, file, description.library};
  plugins_.push_back(loaded);
  return loaded;
}

Result<LoadedPlugin> PluginHost::load(const fs::path& file, std::vector<TypeEntry>& types_out) {
  auto described = describe_plugin(file);
  if (!described) return std::move(described).error();
  return admit(file, std::move(described).value(), types_out);
}

void PluginHost::load_directories(const std::vector<fs::path>& dirs, std::vector<TypeEntry>& types,
                                  std::vector<LoadIssue>& issues) {
  std::vector<fs::path> files;
  for (const auto& dir : dirs) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) continue;
    std::vector<fs::path> in_dir;
    for (const auto& entry : fs::directory_iterator(dir, ec))
      if (entry.path().extension() == ".so") in_dir.push_back(entry.path());
    std::sort(in_dir.begin(), in_dir.end());
    files.insert(files.end(), in_dir.begin(), in_dir.end());
  }
  if (files.empty()) return;

  auto note = [&](const fs::path& file, Result<LoadedPlugin> loaded) {
    if (!loaded) issues.push_back({file.string(), loaded.error().message});
  };
  if (options_.isolate) {
    auto probed = probe_plugins(files, options_.timeout);
    if (probed) {
      for (std::size_t i = 0; i < files.size(); ++i) {
        ProbeOutcome& outcome = probed.value()[i];
        if (outcome.description) note(files[i], admit(files[i], std::move(*outcome.description), types));
        else issues.push_back({files[i].string(), outcome.refusal});
      }
      return;
    }
    // No child process could be started (a process limit): load here, as without isolation, and say so.
    warnings_.push_back({"plugins", probed.error().message + "; the plugins were loaded without isolation"});
  }
  for (const auto& file : files) note(file, load(file, types));
}

}  // namespace flowguard::engine
