// `flowguard check --format sarif|junit|github`, colour, the progress bar and every command's manual,
// checked against the SARIF 2.1.0 schema, a real XML parser, a pseudo-terminal and the parsers' code.
#include "shell_run.hpp"
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "flowguard/json/document.hpp"
#include "flowguard/schema/validator.hpp"

namespace fs = std::filesystem;

namespace {

using Run = flowguard::test::ShellRun;  // status, and what reached the pipe

// `command` through the shell; stdout only unless the command redirects stderr itself.
Run shell(const std::string& command) {
  return flowguard::test::run_shell(command);
}

std::string quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

Run fg(const std::string& args, bool with_stderr = false) {
  return shell(std::string(FLOWGUARD_EXE) + " " + args + (with_stderr ? " 2>&1" : " 2>/dev/null"));
}

// The command on a pseudo-terminal (util-linux `script`): stdout and stderr are a terminal.
Run on_terminal(const std::string& args, const std::string& env = "") {
  const std::string inner = env + " " + std::string(FLOWGUARD_EXE) + " " + args;
  return shell("script -qec " + quoted(inner) + " /dev/null < /dev/null");
}

bool have_script() { return shell("command -v script >/dev/null 2>&1 && echo yes").out == "yes\n"; }

std::string example(const std::string& name) { return std::string(FLOWGUARD_SOURCE_DIR) + "/examples/dfs/" + name; }

fs::path scratch(const std::string& name, const std::string& content) {
  const fs::path dir = fs::temp_directory_path() / "flowguard-format-tests";
  fs::create_directories(dir);
  const fs::path file = dir / name;
  std::ofstream(file, std::ios::binary) << content;
  return file;
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::vector<flowguard::schema::Violation> sarif_violations(const std::string& text) {
  auto doc = flowguard::json::Document::parse(text);
  INFO(text.substr(0, 2000));
  REQUIRE(doc.ok());
  auto schema =
      flowguard::schema::CompiledSchema::load_file(std::string(FLOWGUARD_SOURCE_DIR) + "/tests/cli/data/sarif-2.1.0-rtm.5.json");
  REQUIRE(schema.ok());
  std::vector<flowguard::schema::Violation> violations;
  schema->validate(doc->root(), "", violations);
  return violations;
}

// A record of the bid submission with one unknown key: its findings carry the key's text.
std::string bid_with_key(const std::string& key_json) {
  return "[{\"Event ID\": 612, \"Event Type\": \"Upwards\", \"Delivery Date\": \"14-01-2027\", "
         "\"Registered DFS Participant\": \"Northfield Energy\", \"DFS Unit ID\": \"NFE-1-Z2\", \"DFS Volume MW\": 4.5, "
         "\"From_Local\": \"17:00\", \"To_Local\": \"17:30\", \"Utilisation price GBP per MWh\": 350.5, " +
         key_json + ": 1}]\n";
}

}  // namespace

TEST_CASE("SARIF output validates against the SARIF 2.1.0 schema, findings and unreadable input alike") {
  const fs::path not_json = scratch("not-json.json", "[{\"a\": 1,}]\n");
  const auto r = fg("check --format sarif " + example("bid-submission-with-errors.json") + " " +
                           example("bid-submission.json") + " " + not_json.string());
  CHECK(r.status == 2);
  const auto violations = sarif_violations(r.out);
  for (const auto& v : violations) INFO(v.pointer << ": " << v.message);
  CHECK(violations.empty());

  auto doc = flowguard::json::Document::parse(r.out);
  REQUIRE(doc.ok());
  const auto* run = flowguard::json::resolve_pointer(doc->root(), "/runs/0");
  REQUIRE(run);
  const auto* results = run->find("results");
  REQUIRE(results);
  CHECK(results->size() == 6);  // the 5 findings of the text format and the input that is not JSON
  std::set<std::string> rule_ids;
  for (const auto& rule : run->find("tool")->find("driver")->find("rules")->items()) {
    rule_ids.insert(std::string(rule.find("id")->as_string()));
    CHECK(rule.find("shortDescription"));
    CHECK((rule.find("help") || rule.find("helpUri")));
  }
  const auto& first = *results->items().begin();
  CHECK(first.find("ruleId")->as_string() == "schema.pattern");
  CHECK(first.find("level")->as_string() == "error");
  CHECK(rule_ids.count("schema.pattern") == 1);
  const auto* region = flowguard::json::resolve_pointer(first, "/locations/0/physicalLocation/region");
  REQUIRE(region);
  CHECK(region->find("startLine")->as_double() == 5);
  CHECK(region->find("startColumn")->as_double() == 22);
  CHECK(flowguard::json::resolve_pointer(first, "/locations/0/logicalLocations/0/fullyQualifiedName")->as_string() ==
        "/0/Delivery Date");
  CHECK(flowguard::json::resolve_pointer(first, "/properties/jsonPointer")->as_string() == "/0/Delivery Date");
  // A Lua rule's descriptor carries its spec reference.
  bool price_rule = false;
  for (const auto& rule : run->find("tool")->find("driver")->find("rules")->items())
    if (rule.find("id")->as_string() == "DFS-PRICE-DECIMALS") {
      price_rule = true;
      CHECK_THAT(std::string(rule.find("help")->find("text")->as_string()), Catch::Contains("DFS API Schema V1.6"));
    }
  CHECK(price_rule);
  CHECK(run->find("columnKind")->as_string() == "unicodeCodePoints");
}

TEST_CASE("the SARIF schema check can fail: a log with a wrong level or no version is refused") {
  const auto r = fg("check --format sarif " + example("bid-submission-with-errors.json"));
  REQUIRE(r.status == 1);
  std::string broken = r.out;
  const auto at = broken.find("\"level\":\"error\"");
  REQUIRE(at != std::string::npos);
  broken.replace(at, 15, "\"level\":\"fatal\"");
  CHECK_FALSE(sarif_violations(broken).empty());
  std::string no_version = r.out;
  no_version.replace(no_version.find("\"version\":\"2.1.0\""), 17, "\"versio\":\"2.1.0\"");
  CHECK_FALSE(sarif_violations(no_version).empty());
}

TEST_CASE("SARIF artifact URIs are percent-encoded references under %SRCROOT%") {
  const fs::path odd = scratch("with space,and%.json", read_text(example("bid-submission-with-errors.json")));
  const auto r = shell("cd " + quoted(odd.parent_path().string()) + " && " + FLOWGUARD_EXE +
                       " check --format sarif " + quoted(odd.filename().string()) + " 2>/dev/null");
  CHECK(r.status == 1);
  CHECK(sarif_violations(r.out).empty());
  CHECK_THAT(r.out, Catch::Contains("\"uri\":\"with%20space%2Cand%25.json\",\"uriBaseId\":\"%SRCROOT%\""));
}

TEST_CASE("JUnit output is well-formed XML a real parser reads: one testsuite per file, failures per rule") {
  const fs::path specials = scratch("specials.json", bid_with_key("\"<&\\\"'> \\u0001 ]]>\""));
  const fs::path not_json = scratch("broken.json", "[{\"a\": }]\n");
  const auto r = fg("check --format junit " + example("bid-submission-with-errors.json") + " " +
                           example("bid-submission.json") + " " + specials.string() + " " + not_json.string());
  CHECK(r.status == 2);
  const fs::path xml = scratch("report.xml", r.out);
  const auto parsed = shell("python3 " + std::string(FLOWGUARD_SOURCE_DIR) + "/tests/cli/junit_check.py " +
                            xml.string() + " 2>&1");
  INFO(r.out);
  INFO(parsed.out);
  REQUIRE(parsed.status == 0);
  std::istringstream lines(parsed.out);
  std::size_t suites = 0, tests = 0, failures = 0, errors = 0;
  lines >> suites >> tests >> failures >> errors;
  CHECK(suites == 4);
  // The errors file fails 5 rules (5 error findings, each of its own rule); the specials file one
  // (the unknown key); the valid one none; the file that is not JSON is an <error>.
  CHECK(failures == 6);
  CHECK(errors == 1);
  CHECK(tests > suites);
  CHECK_THAT(parsed.out, Catch::Contains("FAIL " + specials.string() + " schema.additionalProperties"));
  CHECK_THAT(parsed.out, Catch::Contains("\"<&\\\"'> \\u0001 ]]>\""));  // the message came back as it was
  CHECK_THAT(parsed.out, Catch::Contains("ERROR " + not_json.string() + " input"));
}

TEST_CASE("GitHub annotations: one workflow command per finding, with the runner's escaping") {
  const fs::path odd = scratch("a,b:c%d.json", bid_with_key("\"x%y\\nz,w:v\""));
  const auto r = fg("check --format github " + quoted(odd.string()));
  CHECK(r.status == 1);
  std::istringstream lines(r.out);
  std::string line;
  std::vector<std::string> commands;
  while (std::getline(lines, line))
    if (line.rfind("::", 0) == 0) commands.push_back(line);
  INFO(r.out);
  REQUIRE(commands.size() == 1);
  const std::string& c = commands[0];
  const std::string file_prop = "file=" + std::regex_replace(odd.string(), std::regex("a,b:c%d"), "a%2Cb%3Ac%25d");
  CHECK(c.rfind("::error " + file_prop + ",line=", 0) == 0);
  CHECK_THAT(c, Catch::Contains(",title=schema.additionalProperties::"));
  // In the message, % and the newline are escaped; ':' and ',' are kept (data, not a property).
  CHECK_THAT(c, Catch::Contains("x%25y%0Az,w:v"));
  CHECK(std::regex_search(c, std::regex(",line=[0-9]+,col=[0-9]+,")));
  // --quiet: the commands alone.
  const auto quiet = fg("check --quiet --format github " + quoted(odd.string()));
  CHECK(quiet.out == c + "\n");
}

TEST_CASE("colour: --color always and never, NO_COLOR, and only on a terminal by default") {
  const std::string file = example("bid-submission-with-errors.json");
  CHECK_THAT(fg("check --color always " + file).out, Catch::Contains("\x1b[1;31merror\x1b[0m"));
  CHECK(fg("check " + file).out.find('\x1b') == std::string::npos);  // a pipe
  CHECK(fg("check --color never " + file).out.find('\x1b') == std::string::npos);
  CHECK(fg("check --color sometimes " + file, true).status == 2);
  if (!have_script()) {
    WARN("SKIPPED the terminal half: util-linux `script` is not installed");
    return;
  }
  CHECK_THAT(on_terminal("check " + file).out, Catch::Contains("\x1b[1;31merror\x1b[0m"));
  CHECK(on_terminal("check " + file, "NO_COLOR=1").out.find("\x1b[1;31m") == std::string::npos);
  // An empty NO_COLOR is as if unset (no-color.org); --color always wins over NO_COLOR.
  CHECK_THAT(on_terminal("check " + file, "NO_COLOR=").out, Catch::Contains("\x1b[1;31m"));
  CHECK_THAT(on_terminal("check --color always " + file, "NO_COLOR=1").out, Catch::Contains("\x1b[1;31m"));
  CHECK(on_terminal("check --format json " + file).out.find("\x1b[") == std::string::npos);
}

TEST_CASE("a progress bar on a terminal's stderr for inputs over 4 MiB, and nowhere else") {
  if (!have_script()) {
    WARN("SKIPPED: util-linux `script` is not installed");
    return;
  }
  std::string big = "[\n";
  for (int i = 0; i < 24000; ++i) {
    if (i) big += ",\n";
    big += "{\"Event ID\": " + std::to_string(600 + i % 50) +
           ", \"Event Type\": \"Upwards\", \"Delivery Date\": \"14-01-2027\", \"Registered DFS Participant\": "
           "\"Northfield Energy\", \"DFS Unit ID\": \"NFE-" + std::to_string(i) +
           "-Z2\", \"DFS Volume MW\": 4.5, \"From_Local\": \"17:00\", \"To_Local\": \"17:30\", "
           "\"Utilisation price GBP per MWh\": 350.5}";
  }
  big += "\n]\n";
  const fs::path file = scratch("big-bids.json", big);
  REQUIRE(fs::file_size(file) > (4u << 20));
  auto tty = on_terminal("check --color never --max-findings 5 " + file.string());
  tty.out = std::regex_replace(tty.out, std::regex("\r\n"), "\n");  // the terminal's line ends
  const auto bar = std::regex(R"(flowguard: (reading|checking) .*big-bids\.json +\[[#.]{20}\] +[0-9]+%)");
  CHECK(std::regex_search(tty.out, bar));
  CHECK_THAT(tty.out, Catch::Contains("100%"));
  // The report is the one without the bar.
  const auto plain = fg("check --color never --max-findings 5 " + file.string() + " 2>&1");
  CHECK(plain.out.find("%]") == std::string::npos);
  CHECK_FALSE(std::regex_search(plain.out, bar));
  CHECK_THAT(tty.out, Catch::Contains(plain.out.substr(plain.out.rfind("1 file,"))));
  CHECK_FALSE(std::regex_search(on_terminal("check --quiet --max-findings 5 " + file.string()).out, bar));
  // A small file never has one.
  CHECK_FALSE(std::regex_search(on_terminal("check " + example("bid-submission.json")).out,
                                std::regex(R"(\[[#.]{20}\])")));
}

namespace {

// The options a parser compares its arguments with (`== "--name"`), read from its source.
std::set<std::string> options_in_source(const std::string& relative, const std::string& from = "",
                                        const std::string& to = "") {
  std::string text = read_text(fs::path(FLOWGUARD_SOURCE_DIR) / relative);
  REQUIRE_FALSE(text.empty());
  if (!from.empty()) {
    const auto a = text.find(from);
    REQUIRE(a != std::string::npos);
    text = text.substr(a, to.empty() ? std::string::npos : text.find(to, a + from.size()) - a);
  }
  std::set<std::string> out;
  const std::regex option(R"re(== "(--[a-z][a-z-]*)")re");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), option); it != std::sregex_iterator(); ++it)
    out.insert((*it)[1]);
  return out;
}

}  // namespace

TEST_CASE("every command has a manual: --help and help COMMAND exit 0 with every section") {
  for (const std::string command : {"check", "types", "serve", "route", "consume", "journal", "spec", "version"}) {
    INFO(command);
    const auto help = fg(command + " --help");
    CHECK(help.status == 0);
    for (const char* section : {"NAME\n", "SYNOPSIS\n", "DESCRIPTION\n", "OPTIONS\n", "EXIT STATUS\n", "EXAMPLES\n"})
      CHECK_THAT(help.out, Catch::Contains(section));
    CHECK_THAT(help.out, Catch::Contains("flowguard " + command));
    CHECK(fg("help " + command).out == help.out);
    CHECK(fg(command + " -h").out == help.out);
  }
  CHECK(fg("help no-such-command").status == 2);
}

TEST_CASE("every manual names every option its parser accepts") {
  struct Source {
    std::string command, file, from, to;
  };
  const Source sources[] = {
      {"serve", "cli/main.cpp", "int run_serve(", "\nint "},
      {"spec", "cli/main.cpp", "int run_spec(", "\nconstexpr"},
      {"route", "cli/route_command.cpp", "int run_route(", ""},
      {"consume", "cli/consume_command.cpp", "int run_consume(", ""},
      {"journal", "journal/journal_cli.cpp", "", ""},
  };
  for (const auto& s : sources) {
    const auto help = fg(s.command + " --help").out;
    const auto options = options_in_source(s.file, s.from, s.to);
    CHECK_FALSE(options.empty());
    for (const auto& o : options) {
      INFO(s.command << " accepts " << o);
      CHECK_THAT(help, Catch::Contains("\n    " + o));
    }
  }
  // check parses its options from its manual's table: each option listed is accepted (a missing
  // file is then the complaint, not the option), and one not listed is refused.
  const auto help = fg("check --help").out;
  const std::regex listed(R"(\n    (--[a-z-]+)( ([^\n]+))?\n)");
  std::size_t count = 0;
  for (auto it = std::sregex_iterator(help.begin(), help.end(), listed); it != std::sregex_iterator(); ++it) {
    const std::string option = (*it)[1];
    if (option == "--help") continue;
    ++count;
    const std::string value = (*it)[3].matched ? (option == "--format" ? " text" : option == "--color" ? " never" : " 1")
                                               : "";
    const auto r = fg("check " + option + value + " /nonexistent/file.json", true);
    INFO(option << ": " << r.out);
    CHECK_THAT(r.out, !Catch::Contains("unknown option"));
  }
  CHECK(count >= 18);
  CHECK_THAT(fg("check --no-such-option x.json", true).out, Catch::Contains("unknown option --no-such-option"));
}
