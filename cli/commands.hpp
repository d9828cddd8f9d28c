// Subcommands that live in their own files (main.cpp dispatches to them).
#pragma once

#include <string_view>
#include <vector>

namespace flowguard::cli {

int run_route(const std::vector<std::string_view>& args);    // `flowguard route`
int run_consume(const std::vector<std::string_view>& args);  // `flowguard consume`

}  // namespace flowguard::cli
