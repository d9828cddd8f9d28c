// The routes file: what it accepts, and every way it is refused (file:line:col, suggestions).
#include <catch2/catch.hpp>

#include "flowguard/routing/router.hpp"
#include "flowguard/routing/routes.hpp"

using namespace flowguard::routing;

namespace {

const char* kRoutes = R"(journal:
  path: /var/lib/flowguard/journal.db
  retention_days: 7
sinks:
  archive:
    kind: file
    path: out/messages.jsonl
    rotate_mb: 16
  dip:
    kind: webhook
    url: http://127.0.0.1:9000/hook
    max_message_count: 50
    max_payload_kb: 512
    retry: {max_attempts: 4, initial_backoff_ms: 100}
  dead:
    kind: spool
    directory: dead
dead_letter: dead
routes:
  - name: registrations
    match: {type: "dip.IF-001.*", sender_role: SUP}
    sinks: [dip, archive]
    continue: true
  - name: everything-valid
    sinks: archive
  - name: warnings
    match: {verdict: any, severity: warning}
    sinks: [archive]
)";

std::vector<std::string> errors_of(const std::string& text) {
  std::vector<std::string> out;
  for (const auto& e : parse_routes(text, "/etc/flowguard/routes.yaml").errors) out.push_back(e.to_string());
  return out;
}

MessageFacts facts(std::string type, std::string role, bool valid = true) {
  MessageFacts f;
  f.type = std::move(type);
  f.sender_role = std::move(role);
  f.valid = valid;
  return f;
}

}  // namespace

TEST_CASE("routes: a complete file is read with its defaults and relative paths") {
  auto outcome = parse_routes(kRoutes, "/etc/flowguard/routes.yaml");
  INFO((outcome.errors.empty() ? "" : outcome.errors[0].to_string()));
  REQUIRE(outcome.config);
  const RoutingConfig& c = *outcome.config;
  CHECK(c.journal_path == "/var/lib/flowguard/journal.db");
  CHECK(c.journal.retention == std::chrono::hours(7 * 24));
  REQUIRE(c.sinks.size() == 3);
  CHECK(std::string(kind_of(c.sinks[0])) == "file");
  CHECK(std::get<flowguard::sinks::FileOptions>(c.sinks[0].options).path == "/etc/flowguard/out/messages.jsonl");
  CHECK(std::get<flowguard::sinks::FileOptions>(c.sinks[0].options).rotate_bytes == 16u << 20);
  const auto& hook = std::get<flowguard::sinks::WebhookOptions>(c.sink("dip")->options);
  CHECK(hook.max_message_count == 50);
  CHECK(hook.max_payload_kb == 512);
  CHECK(c.sink("dip")->retry.max_attempts == 4);
  CHECK(c.sink("dip")->retry.initial_backoff == std::chrono::milliseconds(100));
  CHECK(c.dead_letter == "dead");
  REQUIRE(c.routes.size() == 3);
  CHECK(c.routes[0].continue_matching);
  CHECK(c.routes[1].sinks == std::vector<std::string>{"archive"});
}

TEST_CASE("routes: without dead_letter, an implicit spool beside the journal takes dead letters") {
  auto outcome = parse_routes("journal: {path: j/journal.db}\nsinks: {out: {kind: stdout}}\nroutes: [{sinks: [out]}]\n",
                              "/srv/routes.yaml");
  REQUIRE(outcome.config);
  CHECK(outcome.config->dead_letter == "dead-letter");
  REQUIRE(outcome.config->sink("dead-letter"));
  CHECK(std::get<flowguard::sinks::SpoolOptions>(outcome.config->sink("dead-letter")->options).directory == "/srv/j/dead-letter");
}

TEST_CASE("routes: unknown sinks, kinds and fields are refused at load with their position") {
  const std::string head = "journal: {path: j.db}\nsinks:\n  out: {kind: stdout}\n";
  CHECK(errors_of(head + "routes:\n  - sinks: [otu]\n").at(0) ==
        "/etc/flowguard/routes.yaml:5:13: route route@5 names the sink \"otu\", which is not defined under sinks; did you mean \"out\"?");
  CHECK(errors_of(head + "routes:\n  - sinks: [out]\n    mtach: {type: dip.*}\n").at(0) ==
        "/etc/flowguard/routes.yaml:6:5: unknown key \"mtach\" in a route; did you mean \"match\"? (expected one of: name, match, sinks, continue)");
  CHECK_THAT(errors_of("journal: {path: j.db}\nsinks:\n  out: {kind: stdot}\nroutes: [{sinks: [out]}]\n").at(0),
             Catch::Contains("3:15: sink out has kind \"stdot\"; did you mean \"stdout\"?"));
  CHECK_THAT(errors_of(head + "routes:\n  - sinks: [out]\n    match: {verdict: maybe}\n").at(0),
             Catch::Contains("6:22: verdict is \"maybe\"; expected valid, invalid or any"));
  CHECK_THAT(errors_of("sinks: {out: {kind: stdout}}\nroutes: [{sinks: [out]}]\n").at(0), Catch::Contains("have no journal"));
  CHECK_THAT(errors_of(head + "dead_letter: nowhere\nroutes: [{sinks: [out]}]\n").at(0),
             Catch::Contains("4:14: dead_letter names the sink \"nowhere\""));
  CHECK_THAT(errors_of("journal: {path: j.db}\nsinks:\n  hook: {kind: webhook, url: ftp://x}\nroutes: [{sinks: [hook]}]\n").at(0),
             Catch::Contains("needs a url starting http:// or https://"));
  CHECK_THAT(errors_of("journal: {path: j.db}\nsinks:\n  hook: {kind: webhook, url: 'http://x', max_message_count: 0}\nroutes: [{sinks: [hook]}]\n").at(0),
             Catch::Contains("max_message_count is \"0\"; expected a whole number from 1"));
  CHECK_THAT(errors_of(head + "routes: []\n").at(0), Catch::Contains("routes must be a list of routes"));
  CHECK_THAT(errors_of("journal: [unclosed\n").at(0), Catch::Contains("not valid YAML"));
  CHECK_THAT(errors_of("").at(0), Catch::Contains("the routes is empty"));
  // Every problem at once, in file order.
  CHECK(errors_of("journal: {path: j.db, retention: 3}\nsinks:\n  out: {kind: stdout, colour: red}\nroutes: [{sinks: [x]}]\n").size() == 3);
}

TEST_CASE("routes: header values may come from the environment, and an unset variable is an error") {
  ::setenv("FG_ROUTES_TEST_KEY", "secret-1", 1);
  ::unsetenv("FG_ROUTES_TEST_UNSET");
  auto ok = parse_routes("journal: {path: j.db}\nsinks:\n  hook: {kind: webhook, url: 'http://x', headers: {X-API-Key: '${FG_ROUTES_TEST_KEY}'}}\nroutes: [{sinks: [hook]}]\n", "r.yaml");
  REQUIRE(ok.config);
  CHECK(std::get<flowguard::sinks::WebhookOptions>(ok.config->sink("hook")->options).headers.at(0).second == "secret-1");
  CHECK_THAT(errors_of("journal: {path: j.db}\nsinks:\n  hook: {kind: webhook, url: 'http://x', headers: {X-API-Key: '${FG_ROUTES_TEST_UNSET}'}}\nroutes: [{sinks: [hook]}]\n").at(0),
             Catch::Contains("names the environment variable FG_ROUTES_TEST_UNSET, which is not set"));
}

TEST_CASE("routes: selection follows the routes in order, continue, verdict and severity") {
  auto outcome = parse_routes(kRoutes, "/etc/flowguard/routes.yaml");
  REQUIRE(outcome.config);
  const RoutingConfig& c = *outcome.config;
  // First route continues into the second: both sets, no repeats.
  CHECK(select_sinks(c, facts("dip.IF-001.initial-registration", "SUP"), true).sinks == std::vector<std::string>{"dip", "archive"});
  CHECK(select_sinks(c, facts("dip.IF-001.initial-registration", "DS"), true).sinks == std::vector<std::string>{"archive"});
  // Invalid: no route takes invalid messages except the severity one, which needs a warning.
  auto invalid = select_sinks(c, facts("dip.IF-001.initial-registration", "SUP", false), true);
  CHECK(invalid.sinks == std::vector<std::string>{"dead"});
  CHECK_THAT(invalid.dead_letter_reason, Catch::Contains("has errors"));
  MessageFacts warned = facts("dfs.bid-submission", "", false);
  warned.worst = flowguard::Severity::kError;
  CHECK(select_sinks(c, warned, true).sinks == std::vector<std::string>{"archive"});  // error is at least warning
  // A valid message in a rejected batch is dead-lettered with the batch's reason.
  auto batch = select_sinks(c, facts("dip.IF-001.initial-registration", "SUP"), false);
  CHECK(batch.sinks == std::vector<std::string>{"dead"});
  CHECK_THAT(batch.dead_letter_reason, Catch::Contains("all or nothing"));
}

TEST_CASE("routes: backoff doubles, is capped, and jitters within ±50%") {
  RetryPolicy p;
  p.initial_backoff = std::chrono::milliseconds(100);
  p.max_backoff = std::chrono::milliseconds(1000);
  CHECK(backoff(p, 1, 0.5) == std::chrono::milliseconds(100));
  CHECK(backoff(p, 2, 0.5) == std::chrono::milliseconds(200));
  CHECK(backoff(p, 3, 0.5) == std::chrono::milliseconds(400));
  CHECK(backoff(p, 10, 0.5) == std::chrono::milliseconds(1000));
  CHECK(backoff(p, 1, 0.0) == std::chrono::milliseconds(50));
  CHECK(backoff(p, 1, 1.0) == std::chrono::milliseconds(150));
}
