// What `flowguard check` prints: the --format choice, colour on a terminal, the progress bar.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "flowguard/engine.hpp"

namespace flowguard::cli {

enum class ColorMode { kAuto, kAlways, kNever };
std::optional<ColorMode> parse_color(std::string_view text);  // "auto" | "always" | "never"
// Whether to colour what goes to `fd`: always; never; auto = a terminal, and NO_COLOR unset or empty.
bool use_color(ColorMode mode, int fd);
// The text format with each line's severity word coloured (error red, warning yellow, info/note cyan).
std::string colorize_text(std::string_view text);

bool is_format(std::string_view format);  // text json dip sarif junit github
constexpr const char* kFormats = "text, json, dip, sarif, junit or github";

struct OutputSettings {
  std::string format = "text";
  bool quiet = false;
  bool color = false;    // text only
  std::string dip_now;   // --format dip's response timestamp
};
std::string render_reports(const std::vector<FileReport>& reports, Engine& engine, const OutputSettings& settings);

// check_file with a progress bar on standard error when `progress` is on and the file is larger than
// kProgressMinBytes; the report is the one check_file gives (the same reading path: whole or streamed).
constexpr std::uint64_t kProgressMinBytes = 4ull << 20;
FileReport check_file_with_progress(Engine& engine, const std::string& file, std::string_view type, bool progress);

}  // namespace flowguard::cli
