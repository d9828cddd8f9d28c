// What the engine reads from its surroundings: input files, its default directories, the clock.
#pragma once

#include <ctime>
#include <filesystem>
#include <string>
#include <vector>

#include "flowguard/padded_bytes.hpp"
#include "flowguard/result.hpp"

namespace flowguard::engine {

// A whole file, in a buffer the parser reads in place.
Result<PaddedBytes> read_file(const std::filesystem::path& file);

// Where the installed (or build-tree) layout puts plugins and data, relative to this library.
struct DefaultDirs {
  std::vector<std::filesystem::path> plugins, schemas, rules;
};
DefaultDirs find_default_dirs();

// `t` as "YYYY-MM-DDThh:mm:ss" (UTC) followed by `zone`.
std::string utc_text(std::time_t t, const char* zone);

}  // namespace flowguard::engine
