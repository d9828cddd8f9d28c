#pragma once

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace registry_test {

namespace fs = std::filesystem;

inline fs::path source_dir() { return fs::path(FLOWGUARD_SOURCE_DIR); }
inline fs::path schema_file() { return source_dir() / "schemas/registry.schema.json"; }

inline std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A scratch file under the build tree, removed with its folder at the next run.
inline fs::path scratch(const std::string& name, const std::string& text) {
  const fs::path dir = fs::path(FLOWGUARD_BINARY_DIR) / "tests/registry-scratch";
  fs::create_directories(dir);
  const fs::path file = dir / name;
  std::ofstream(file, std::ios::binary) << text;
  return file;
}

}  // namespace registry_test
