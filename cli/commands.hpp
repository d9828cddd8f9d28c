// Subcommands that live in their own files (main.cpp dispatches to them).
#pragma once

#include <string_view>
#include <vector>

#include "flowguard/engine.hpp"

namespace flowguard::cli {

int run_route(const std::vector<std::string_view>& args);    // `flowguard route`
int run_consume(const std::vector<std::string_view>& args);  // `flowguard consume`
int run_convert(const std::vector<std::string_view>& args);  // `flowguard convert` (csv_commands.cpp)
int run_split(const std::vector<std::string_view>& args);    // `flowguard split` (csv_commands.cpp)
int run_test(const std::vector<std::string_view>& args);     // `flowguard test` (rule_test_command.cpp)
int run_rules(const std::vector<std::string_view>& args);    // `flowguard rules list` (rules_command.cpp)
int run_explain(const std::vector<std::string_view>& args);  // `flowguard explain` (rules_command.cpp)
// `check --trace` (trace.cpp): what each rule decided on each record, on stderr.
void print_trace(Engine& engine, const std::vector<FileReport>& reports, bool run_rules);

}  // namespace flowguard::cli
