// The serve config loader: every problem at file:line:col, unknown keys caught, defaults kept.
#include <catch2/catch.hpp>

#include <cstdlib>

#include "flowguard/server/config.hpp"

using namespace flowguard::server;

namespace {
std::vector<std::string> errors_of(const std::string& yaml) {
  std::vector<std::string> out;
  for (const auto& e : parse_config(yaml, "/etc/flowguard/serve.yaml").errors) out.push_back(e.to_string());
  return out;
}
}  // namespace

TEST_CASE("config: the defaults when keys are absent, values when given, relative paths from the file's folder") {
  auto outcome = parse_config("listen: 0.0.0.0:9000\nregistry: reg.yaml\nlimits:\n  max_in_flight: 8\ndedupe:\n  window_seconds: 60\n",
                              "/etc/flowguard/serve.yaml");
  REQUIRE(outcome.errors.empty());
  const ServerConfig& c = *outcome.config;
  CHECK(c.listen == "0.0.0.0:9000");
  CHECK(c.registry == "/etc/flowguard/reg.yaml");
  CHECK(c.limits.max_in_flight == 8);
  CHECK(c.limits.max_body_kb == 8192);
  CHECK(c.dedupe.window_seconds == 60);
  CHECK(c.dedupe.max_entries == 1'000'000);
  CHECK(parse_config("registry: default\n", "x.yaml").config->registry == "default");
}

TEST_CASE("config: each problem named at file:line:col with what was expected, all at once") {
  const auto errors = errors_of("listen: localhost\njobs: -1\nlimts:\n  max_body_kb: 1\nlimits:\n  max_body_kb: 0\n  request_timeout_ms: soon\n");
  REQUIRE(errors.size() == 5);
  CHECK(errors[0] == "/etc/flowguard/serve.yaml:1:9: listen is \"localhost\"; expected HOST:PORT such as 127.0.0.1:8080");
  CHECK(errors[1] == "/etc/flowguard/serve.yaml:2:7: jobs is \"-1\"; expected a whole number from 0 to 256");
  CHECK_THAT(errors[2], Catch::StartsWith("/etc/flowguard/serve.yaml:3:1: unknown key \"limts\" in the config; did you mean \"limits\"?"));
  CHECK(errors[3] == "/etc/flowguard/serve.yaml:6:16: max_body_kb is \"0\"; expected a whole number from 1 to 1048576");
  CHECK_THAT(errors[4], Catch::StartsWith("/etc/flowguard/serve.yaml:7:23: request_timeout_ms is \"soon\""));
}

TEST_CASE("config: YAML syntax errors, non-mappings, missing folders and unset key variables") {
  CHECK_THAT(errors_of("listen: [unclosed\n").at(0), Catch::Contains("not valid YAML"));
  CHECK_THAT(errors_of("- a\n- b\n").at(0), Catch::Contains("the config must be a mapping"));
  CHECK_THAT(errors_of("").at(0), Catch::Contains("the config is empty"));
  CHECK_THAT(errors_of("rules: /no/such/folder\n").at(0), Catch::Contains("1:8: rules: /no/such/folder is not a folder"));
  ::unsetenv("FG_CONFIG_TEST_UNSET");
  CHECK_THAT(errors_of("api_keys_env: FG_CONFIG_TEST_UNSET\n").at(0),
             Catch::Contains("1:15: api_keys_env names FG_CONFIG_TEST_UNSET, which is not set or empty"));
  CHECK_THAT(errors_of("strict_keys: yes please\n").at(0), Catch::Contains("expected true or false"));
  CHECK(errors_of("limits: 5\n").at(0) == "/etc/flowguard/serve.yaml:1:9: limits must be a mapping of keys to values");
}

TEST_CASE("config: a file that is missing, a folder or huge is refused with its reason") {
  CHECK_THAT(load_config("/no/such/serve.yaml").errors.at(0).to_string(), Catch::Contains("cannot open the config"));
  CHECK_THAT(load_config("/tmp").errors.at(0).to_string(), Catch::Contains("is a folder"));
}

TEST_CASE("config: listen addresses") {
  std::string host;
  std::uint16_t port = 1;
  CHECK(split_listen("127.0.0.1:0", host, port));
  CHECK((host == "127.0.0.1" && port == 0));
  CHECK(split_listen("[::1]:8080", host, port));
  CHECK((host == "::1" && port == 8080));
  CHECK_FALSE(split_listen("127.0.0.1:65536", host, port));
  CHECK_FALSE(split_listen(":80", host, port));
  CHECK_FALSE(split_listen("127.0.0.1", host, port));
}

TEST_CASE("config: aliases that multiply the document (billion laughs) are one error at file:line:col") {
  std::string yaml = "rules: &a0 [x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i <= 9; ++i) {
    const std::string prev = "*a" + std::to_string(i - 1);
    yaml += "k" + std::to_string(i) + ": &a" + std::to_string(i) + " [" + prev;
    for (int k = 1; k < 9; ++k) yaml += ", " + prev;
    yaml += "]\n";
  }
  const auto errors = errors_of(yaml);
  REQUIRE(errors.size() == 1);
  CHECK_THAT(errors[0], Catch::Matches(R"(/etc/flowguard/serve\.yaml:\d+:\d+: the YAML expands to more than \d+ nodes.*)"));
}
