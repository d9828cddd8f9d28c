// The subcommands' manuals: one table per command (synopsis, description, options, exit statuses,
// examples) that both `--help` and the command's option parser read, so they cannot drift.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace flowguard::cli {

struct Option {
  std::string_view name;   // "--type"
  std::string_view value;  // "TYPE"; empty for a flag
  std::string_view help;   // pre-wrapped lines, without indentation
};

struct Command {
  std::string_view name;         // "check", "journal"
  std::string_view summary;      // one line, for NAME and `flowguard --help`
  std::string_view synopsis;     // lines, each a way to call it
  std::string_view description;  // paragraphs, pre-wrapped
  std::span<const Option> options;
  std::string_view exit_status;  // lines "N  meaning"
  std::string_view examples;     // lines; "$ " starts a command
};

std::span<const Command> commands();
const Command* find_command(std::string_view name);
// The option `arg` names in `command`'s table; nullptr for anything else.
const Option* find_option(const Command& command, std::string_view arg);
// The manual of a command: NAME, SYNOPSIS, DESCRIPTION, OPTIONS, EXIT STATUS, EXAMPLES.
std::string render_help(const Command& command);
// Prints the manual of `command` on standard output; 0, or 2 with a message for an unknown one.
int print_help(std::string_view command);

}  // namespace flowguard::cli
