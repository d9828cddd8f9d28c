#include "files.hpp"

#include <boost/dll/runtime_symbol_info.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>

namespace flowguard::engine {
namespace fs = std::filesystem;

Result<PaddedBytes> read_file(const fs::path& file) {
  std::error_code ec;
  if (fs::is_directory(file, ec)) return make_error(ErrorCode::kIo, file.string() + ": is a directory, expected a JSON file");
  std::ifstream in(file, std::ios::binary);
  if (!in) return make_error(ErrorCode::kIo, file.string() + ": cannot open file (" + std::strerror(errno) + ")");
  PaddedBytes bytes;
  const auto size = fs::file_size(file, ec);
  if (!ec) {  // a regular file: one read of the size it has
    bytes.resize(static_cast<std::size_t>(size));
    in.read(bytes.data(), static_cast<std::streamsize>(size));
    bytes.truncate(static_cast<std::size_t>(in.gcount()));
    if (in.bad()) return make_error(ErrorCode::kIo, file.string() + ": read error");
    if (in.peek() == std::char_traits<char>::eof()) return bytes;
  }
  // No size to go by (a pipe), or the file grew while it was read: read on to its end.
  std::string all(bytes.view());
  all.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (in.bad()) return make_error(ErrorCode::kIo, file.string() + ": read error");
  return PaddedBytes(all);
}

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

std::string utc_text(std::time_t t, const char* zone) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return buf + std::string(zone);
}

}  // namespace flowguard::engine
