// Running a command line through the shell for the CLI tests: what it printed on the pipe and its
// exit status. Each test file builds its own command (which streams reach the pipe differs).
#pragma once

#include <catch2/catch.hpp>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace flowguard::test {

struct ShellRun {
  int status = -1;   // the exit status; -1 when the command did not exit normally
  std::string out;   // what the command wrote to the pipe
};

inline ShellRun run_shell(const std::string& command) {
  ShellRun r;
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe);
  std::array<char, 4096> buf{};
  for (std::size_t n; (n = fread(buf.data(), 1, buf.size(), pipe)) > 0;) r.out.append(buf.data(), n);
  const int raw = pclose(pipe);
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return r;
}

}  // namespace flowguard::test
