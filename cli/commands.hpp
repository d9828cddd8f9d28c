// Subcommands that live in their own files (main.cpp dispatches to them).
#pragma once

#include <string_view>
#include <vector>

namespace flowguard::cli {

int run_route(const std::vector<std::string_view>& args);    // `flowguard route`
int run_consume(const std::vector<std::string_view>& args);  // `flowguard consume`
int run_convert(const std::vector<std::string_view>& args);  // `flowguard convert` (csv_commands.cpp)
int run_split(const std::vector<std::string_view>& args);    // `flowguard split` (csv_commands.cpp)

}  // namespace flowguard::cli
