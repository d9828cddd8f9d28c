// `flowguard route` and `flowguard journal` as a batch user runs them: exit statuses, the lines
// they print, what ends up in the sinks and the journal.
#include <catch2/catch.hpp>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>

#include "server_process.hpp"
#include "shell_run.hpp"

namespace fs = std::filesystem;
using namespace flowguard::test;

namespace {

using Run = flowguard::test::ShellRun;  // status, and stdout and stderr together

Run run(const std::string& args) { return flowguard::test::run_shell(flowguard_exe().string() + " " + args + " 2>&1"); }

std::size_t lines_in(const fs::path& file) {
  std::size_t n = 0;
  for (char c : slurp(file)) n += c == '\n';
  return n;
}

}  // namespace

TEST_CASE("route: valid files are journaled and delivered, repeats refused, invalid ones dead-lettered") {
  const fs::path dir = scratch_dir("fg-route-cli");
  write_file(dir / "routes.yaml",
             "journal: {path: journal.db}\n"
             "sinks:\n  archive: {kind: file, path: archive.jsonl}\n  dead: {kind: spool, directory: dead}\n"
             "dead_letter: dead\nroutes:\n  - match: {type: 'dip.*'}\n    sinks: [archive]\n");
  const std::string routes = (dir / "routes.yaml").string();
  write_file(dir / "a.json", envelope(with_reference(dip_message("IF-001/InitialRegistration"), "R0001")));
  write_file(dir / "b.json", envelope(with_reference(dip_message("IF-001/InitialRegistration"), "R0002")));
  auto ok = run("route --routes " + routes + " " + (dir / "a.json").string() + " " + (dir / "b.json").string());
  INFO(ok.out);
  CHECK(ok.status == 0);
  CHECK_THAT(ok.out, Catch::Contains("journaled 1 message (T-S-IF-001-"));
  CHECK_THAT(ok.out, Catch::Contains("sink archive: 2 delivered"));
  CHECK(lines_in(dir / "archive.jsonl") == 2);

  auto again = run("route --routes " + routes + " " + (dir / "a.json").string());
  CHECK(again.status == 1);
  CHECK_THAT(again.out, Catch::Contains("MSG1006"));
  CHECK(lines_in(dir / "archive.jsonl") == 2);

  std::string bad = with_reference(dip_message("IF-001/InitialRegistration"), "R0003");
  bad.replace(bad.find("\"MPANCore\""), 10, "\"MPANCorX\"");
  write_file(dir / "bad.json", envelope(bad));
  auto invalid = run("route --routes " + routes + " " + (dir / "bad.json").string());
  CHECK(invalid.status == 1);
  CHECK_THAT(invalid.out, Catch::Contains("dead-lettered 1 message"));
  std::size_t dead = 0;
  for (const auto& e : fs::directory_iterator(dir / "dead")) dead += e.path().extension() == ".json";
  CHECK(dead == 1);

  // The journal command sees all three, in their states.
  auto list = run("journal list --db " + (dir / "journal.db").string());
  CHECK(list.status == 0);
  CHECK_THAT(list.out, Catch::Contains("R0001"));
  CHECK_THAT(list.out, Catch::Contains("DeadLettered"));
  auto dead_only = run("journal list --db " + (dir / "journal.db").string() + " --state DeadLettered");
  CHECK_THAT(dead_only.out, Catch::Contains("R0003"));
  CHECK_THAT(dead_only.out, !Catch::Contains("R0001"));
}

TEST_CASE("route: a sink that stays down is exit 5 with the messages kept, bad routes are exit 2 with file:line:col") {
  const fs::path dir = scratch_dir("fg-route-cli-down");
  write_file(dir / "routes.yaml",
             "journal: {path: journal.db}\n"
             "sinks:\n  hook: {kind: webhook, url: 'http://127.0.0.1:9/hook', connect_timeout_ms: 100, retry: {max_attempts: 1000}}\n"
             "routes:\n  - sinks: [hook]\n");
  write_file(dir / "a.json", envelope(with_reference(dip_message("IF-001/InitialRegistration"), "S0001")));
  auto down = run("route --wait 1 --routes " + (dir / "routes.yaml").string() + " " + (dir / "a.json").string());
  CHECK(down.status == 5);
  CHECK_THAT(down.out, Catch::Contains("still pending"));
  auto list = run("journal list --db " + (dir / "journal.db").string());
  CHECK_THAT(list.out, Catch::Contains("Retrying"));

  write_file(dir / "broken.yaml", "journal: {path: j.db}\nsinks:\n  out: {kind: stdout}\nroutes:\n  - sinks: [otu]\n");
  auto broken = run("route --routes " + (dir / "broken.yaml").string() + " " + (dir / "a.json").string());
  CHECK(broken.status == 2);
  CHECK_THAT(broken.out, Catch::Contains("broken.yaml:5:13: route route@5 names the sink \"otu\""));
  CHECK(run("route " + (dir / "a.json").string()).status == 2);
  CHECK_THAT(run("route --help").out, Catch::Contains("EXIT STATUS"));
}
