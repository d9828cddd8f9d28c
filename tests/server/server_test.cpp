// `flowguard serve` as a sidecar's client sees it: the real server on an ephemeral loopback port,
// spoken to over HTTP. Each case starts its own server with the config it needs.
#include <catch2/catch.hpp>
#include <signal.h>

#include <atomic>
#include <filesystem>
#include <regex>
#include <thread>

#include "flowguard/engine.hpp"
#include "flowguard/json/document.hpp"
#include "server_process.hpp"
#include "yaml_json.hpp"

namespace fs = std::filesystem;
using flowguard::json::Document;
using namespace flowguard::test;

namespace {

const fs::path kSource(FLOWGUARD_SOURCE_DIR);

Document parse(const std::string& body) {
  auto doc = Document::parse(body);
  INFO(body);
  REQUIRE(doc.ok());
  return std::move(doc).value();
}

std::string str(const flowguard::json::Value* v) { return v && v->is_string() ? std::string(v->as_string()) : std::string(); }

// The findings of the flowguard report embedded in an answer, as "RULE POINTER" lines.
std::vector<std::string> finding_lines(const flowguard::json::Value& report) {
  std::vector<std::string> out;
  const auto* files = report.find("files");
  REQUIRE(files);
  for (const auto& f : files->items()[0].find("findings")->items())
    out.push_back(str(f.find("rule")) + " " + str(f.find("path")));
  return out;
}

std::vector<std::string> finding_lines(const flowguard::FileReport& report) {
  std::vector<std::string> out;
  for (const auto& f : report.findings) out.push_back(f.rule + " " + f.pointer);
  return out;
}

// A rule folder with one DFS document rule that takes a while (well within its instruction
// budget), to keep a worker busy.
fs::path slow_rule_dir(const std::string& name, long iterations) {
  const fs::path rules = scratch_dir(name);
  write_file(rules / "slow.lua", "return { { id = \"TEST-SLOW\", severity = \"info\", description = \"takes a while\", spec = \"test\", "
                                 "types = { \"dfs.*\" }, document = function(records, report) local x = 0 for i = 1, " +
                                     std::to_string(iterations) + " do x = x + i end end } }");
  return rules;
}

fs::path write_config(const std::string& name, const std::string& yaml) {
  const fs::path dir = scratch_dir(name);
  write_file(dir / "flowguard.yaml", yaml);
  return dir / "flowguard.yaml";
}

}  // namespace

TEST_CASE("serve: /healthz, /readyz and a valid DIP message answered 201 as the DIP answers") {
  ServerProcess server({"--jobs", "2", "--registry", "default"});
  INFO(server.log());
  REQUIRE(server.ready());
  HttpClient client(server.port());
  CHECK(client.request("GET", "/healthz").status == 200);
  const auto ready = parse(client.request("GET", "/readyz").body);
  CHECK(ready.root().find("ready")->as_bool());

  const auto reply = client.request("POST", "/v1/validate/IF-001/InitialRegistration", envelope(dip_message("IF-001/InitialRegistration")));
  INFO(reply.body);
  CHECK(reply.status == 201);
  const auto doc = parse(reply.body);
  const auto& first = doc.root().find("messageArray")->items()[0];
  CHECK(str(first.find("message")) == "MSG0000 - Success");
  CHECK(str(first.find("senderUniqueReference")).rfind("S-IF-001-", 0) == 0);
  CHECK(std::regex_match(str(doc.root().find("timestamp")), std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00)")));
  CHECK(doc.root().find("flowguard")->find("summary")->find("errors")->as_double() == 0);
  CHECK(client.connected());  // keep-alive: the same connection serves the next request
  CHECK(client.request("GET", "/healthz").status == 200);
}

TEST_CASE("serve: every variant of the corpus gets the same findings over HTTP as in process, 201 iff none is an error") {
  // The corpus reuses a variant's reference in its invalid message: no window, as each in-process run.
  const auto config = write_config("corpus", "jobs: 2\nregistry: default\ndedupe:\n  window_seconds: 0\n");
  ServerProcess server({"--config", config.string()});
  REQUIRE(server.ready());
  flowguard::EngineOptions options;
  options.registry = "default";
  HttpClient client(server.port());
  std::size_t variants = 0, rejected = 0;
  for (const auto& entry : fs::recursive_directory_iterator(kSource / "tests/corpus/dip")) {
    if (entry.path().filename() != "valid.json" && entry.path().filename() != "invalid.json") continue;
    const fs::path variant = entry.path().parent_path();
    const std::string interface = variant.parent_path().filename().string(), event = variant.filename().string();
    if (interface.rfind("IF-", 0) != 0 && interface.rfind("REP-", 0) != 0) continue;
    const std::string body = envelope(slurp(entry.path()));
    INFO(entry.path().string());
    const auto reply = client.request("POST", "/v1/validate/" + interface + "/" + event, body);
    INFO(reply.body);
    // Each message is its own run in process too (no references remembered from earlier ones).
    auto engine = flowguard::Engine::create(options);
    REQUIRE(engine.ok());
    const auto expected = (*engine)->check(body, "body", "dip." + interface + "." + event);
    const auto doc = parse(reply.body);
    CHECK(finding_lines(*doc.root().find("flowguard")) == finding_lines(expected));
    CHECK(reply.status == (expected.errors == 0 ? 201u : 400u));
    if (reply.status == 400) {
      ++rejected;
      const std::string message = str(doc.root().find("messageArray")->items()[0].find("message"));
      CHECK(std::regex_search(message, std::regex("^(MSG|RCP)\\d{4} - ")));
    }
    ++variants;
  }
  CHECK(variants >= 250);  // valid and invalid of every variant
  CHECK(rejected >= 120);
}

TEST_CASE("serve: the DIP's official examples get the same findings over HTTP as in process") {
  const fs::path spec = fs::path(FLOWGUARD_SHARED_DIR) / "specs/dip-api-documentation/Examples-unresolved.yaml";
  if (!fs::exists(spec)) {
    WARN("skipped: " << spec.string() << " is absent (the shared spec folder exists on developer and CI machines only)");
    return;
  }
  const auto config = write_config("examples", "jobs: 1\nregistry: default\ndedupe:\n  window_seconds: 0\n");
  ServerProcess server({"--config", config.string()});
  REQUIRE(server.ready());
  HttpClient client(server.port());
  flowguard::EngineOptions options;
  options.registry = "default";
  const YAML::Node examples = YAML::LoadFile(spec.string())["components"]["examples"];
  std::size_t posted = 0, unknown = 0;
  for (const auto& kv : examples) {
    std::string text;
    flowguard::testing::yaml_to_json(kv.second["value"], text);
    auto doc = Document::parse(text);
    REQUIRE(doc.ok());
    // The validation path names the first message's variant; a bare message or array is enveloped.
    const flowguard::json::Value& root = doc->root();
    const flowguard::json::Value* first = root.is_array() ? &root.items()[0] : &root;
    if (first->find("payload")) first = first->find("payload");
    // Keys as the DIP reads them, ignoring case (the examples spell interfaceID three ways).
    auto member = [](const flowguard::json::Value* v, std::string_view key) -> const flowguard::json::Value* {
      const auto* m = v && v->is_object() ? v->find_member_ignoring_case(key) : nullptr;
      return m ? &m->value : nullptr;
    };
    const auto* s0 = member(member(first, "CommonBlock"), "S0");
    if (!member(s0, "interfaceID") || !member(s0, "eventCode")) continue;
    std::string event = str(member(s0, "eventCode"));
    if (event.size() > 2 && event.front() == '[') event = event.substr(1, event.size() - 2);
    std::string body = text;
    if (!root.is_array()) body = envelope(text);
    else if (!root.items()[0].find("payload")) {
      body = "[";
      for (const auto& item : root.items()) {
        const auto from = item.offset();
        std::size_t depth = 0, i = from;
        for (bool in_string = false; i < text.size(); ++i) {  // the item's own text: to its matching brace
          const char c = text[i];
          if (in_string) { if (c == '\\') ++i; else if (c == '"') in_string = false; continue; }
          if (c == '"') in_string = true;
          else if (c == '{' || c == '[') ++depth;
          else if ((c == '}' || c == ']') && --depth == 0) break;
        }
        body += (body.size() > 1 ? "," : "") + std::string("{\"payload\":") + text.substr(from, i + 1 - from) + "}";
      }
      body += "]";
    }
    const std::string interface = str(member(s0, "interfaceID"));
    INFO("example " << kv.first.Scalar() << " → /v1/validate/" << interface << "/" << event);
    const auto reply = client.request("POST", "/v1/validate/" + interface + "/" + event, body);
    INFO(reply.body);
    auto engine = flowguard::Engine::create(options);
    REQUIRE(engine.ok());
    const auto type = "dip." + interface + "." + event;
    if (reply.status == 404) {  // an example naming a variant the spec does not define: the engine agrees
      CHECK_FALSE((*engine)->check(body, "body", "dip").type == type);
      ++unknown;
      continue;
    }
    const auto expected = (*engine)->check(body, "body", type);
    CHECK(finding_lines(*parse(reply.body).root().find("flowguard")) == finding_lines(expected));
    CHECK(reply.status == (expected.errors == 0 ? 201u : 400u));
    ++posted;
  }
  CHECK(posted + unknown == examples.size());
  CHECK(posted >= 6);
}

TEST_CASE("serve: a message whose S0 names another interface/event than the path is an error at /CommonBlock/S0") {
  ServerProcess server({"--jobs", "1"});
  REQUIRE(server.ready());
  HttpClient client(server.port());
  const auto reply = client.request("POST", "/v1/validate/IF-001/InitialRegistration", envelope(dip_message("IF-002/GainMPANInfo")));
  INFO(reply.body);
  CHECK(reply.status == 400);
  const auto doc = parse(reply.body);
  const auto& finding = doc.root().find("flowguard")->find("files")->items()[0].find("findings")->items()[0];
  CHECK(str(finding.find("rule")) == "type.variant-mismatch");
  CHECK(str(finding.find("path")) == "/0/payload/CommonBlock/S0");
  CHECK(finding.find("line")->as_double() == 3);  // S0 is on line 3 of the message
  CHECK_THAT(str(doc.root().find("messageArray")->items()[0].find("message")), Catch::Contains("IF-002/[GainMPANInfo]"));

  // The DIP takes the array of envelopes only.
  const auto bare = client.request("POST", "/v1/validate/IF-001/InitialRegistration", "\n  " + dip_message("IF-001/InitialRegistration"));
  CHECK(bare.status == 400);
  CHECK_THAT(bare.body, Catch::Contains("body:2:3: the body is a DIPMessageArray"));

  const auto unknown = client.request("POST", "/v1/validate/IF-001/NoSuchEvent", envelope(dip_message("IF-001/InitialRegistration")));
  CHECK(unknown.status == 404);
  CHECK_THAT(unknown.body, Catch::Contains("ChangeOfSupplier, InitialRegistration"));
}

TEST_CASE("serve: a senderUniqueReference accepted within the window is MSG1006, a rejected one may be used again") {
  const auto config = write_config("dedupe", "jobs: 2\ndedupe:\n  window_seconds: 2\n  max_entries: 1000\n");
  ServerProcess server({"--config", config.string()});
  REQUIRE(server.ready());
  HttpClient client(server.port());
  const std::string path = "/v1/validate/IF-001/InitialRegistration";
  const std::string valid = dip_message("IF-001/InitialRegistration");
  const std::string invalid = dip_message("IF-001/InitialRegistration", "invalid.json");
  CHECK(client.request("POST", path, envelope(with_reference(valid, "D1"))).status == 201);
  const auto repeat = client.request("POST", path, envelope(with_reference(valid, "D1")));
  INFO(repeat.body);
  CHECK(repeat.status == 400);
  CHECK_THAT(repeat.body, Catch::Contains("\"message\":\"MSG1006 - "));
  CHECK_THAT(repeat.body, Catch::Contains("within the 2 s window"));
  // A rejected submission does not take its reference: sent again, fixed, it is accepted.
  CHECK(client.request("POST", path, envelope(with_reference(invalid, "D2"))).status == 400);
  CHECK(client.request("POST", path, envelope(with_reference(valid, "D2"))).status == 201);
  // Two messages of one batch with one reference: the second is the repeat.
  const std::string both = "[{\"payload\":" + with_reference(valid, "D3") + "},{\"payload\":" + with_reference(valid, "D3") + "}]";
  const auto batch = client.request("POST", path, both);
  CHECK(batch.status == 400);
  CHECK_THAT(batch.body, Catch::Contains("/1/payload/CommonBlock/S1/senderUniqueReference"));
  CHECK_THAT(client.request("GET", "/metrics").body, Catch::Contains("flowguard_reference_window_entries 2"));
  // After the window the reference is free again.
  std::this_thread::sleep_for(std::chrono::milliseconds(3100));
  CHECK(client.request("POST", path, envelope(with_reference(valid, "D1"))).status == 201);
}

TEST_CASE("serve: POST /v1/check answers the report of check --format json, for DFS batches too") {
  ServerProcess server({"--jobs", "1"});
  REQUIRE(server.ready());
  HttpClient client(server.port());
  for (const char* name : {"bid-submission.json", "bid-submission-with-errors.json", "unit-meter-point-schedule.json"}) {
    INFO(name);
    const std::string body = slurp(kSource / "examples/dfs" / name);
    auto reply = client.request("POST", "/v1/check", body);
    CHECK(reply.status == 200);
    auto engine = flowguard::Engine::create({});
    REQUIRE(engine.ok());
    const std::string expected = flowguard::format_json({(*engine)->check(body, "body")});
    CHECK(reply.body == expected);
    CHECK(reply.headers["x-flowguard-verdict"] == (std::string(name).find("errors") != std::string::npos ? "fail" : "pass"));
  }
  const auto typed = client.request("POST", "/v1/check?type=dfs.bid-submission", slurp(kSource / "examples/dfs/bid-submission.json"));
  CHECK(typed.status == 200);
  CHECK_THAT(typed.body, Catch::Contains("\"recognised\":false"));
  const auto unknown = client.request("POST", "/v1/check?type=dfs.nope", "[]");
  CHECK(unknown.status == 400);
  CHECK_THAT(unknown.body, Catch::Contains("unknown type"));
}

TEST_CASE("serve: POST /v1/check with Content-Type: text/csv answers the report of check FILE.csv") {
  ServerProcess server({"--jobs", "1"});
  REQUIRE(server.ready());
  HttpClient client(server.port());
  auto engine = flowguard::Engine::create({});
  REQUIRE(engine.ok());
  for (const char* name : {"bid-rule-findings.csv", "template-bid-submission.csv", "weekly-semicolon-decimal-comma.csv"}) {
    INFO(name);
    const std::string body = slurp(kSource / "tests/corpus/dfs-csv" / name);
    auto reply = client.request("POST", "/v1/check", body, {{"Content-Type", "text/csv; charset=utf-8"}});
    CHECK(reply.status == 200);
    CHECK(reply.body == flowguard::format_json({(*engine)->check_csv(body, "body")}));
  }
  const std::string bids = slurp(kSource / "tests/corpus/dfs-csv/bid-rule-findings.csv");
  auto csv = client.request("POST", "/v1/check?type=dfs.bid-submission", bids, {{"Content-Type", "Text/CSV"}});
  CHECK(csv.status == 200);
  CHECK_THAT(csv.body, Catch::Contains("\"column_name\":\"Utilisation price GBP per MWh\""));
  CHECK(csv.headers["x-flowguard-verdict"] == "fail");
  // The media type decides, not the bytes: a CSV sent as JSON is JSON that does not parse.
  CHECK(client.request("POST", "/v1/check", bids).status == 400);
}

TEST_CASE("serve: malformed JSON is 400 with line:col, as MSG1001") {
  ServerProcess server({"--jobs", "1"});
  REQUIRE(server.ready());
  HttpClient client(server.port());
  const auto reply = client.request("POST", "/v1/validate/IF-001/InitialRegistration", "[{\"payload\":\n {\"a\": 1,}}]");
  INFO(reply.body);
  CHECK(reply.status == 400);
  CHECK_THAT(reply.body, Catch::Contains("MSG1001 - body:2:10: not valid JSON"));
  const auto deep = client.request("POST", "/v1/check", std::string(100000, '['));
  CHECK(deep.status == 400);
  CHECK_THAT(deep.body, Catch::Contains("nesting deeper than 256 levels"));
  CHECK(client.request("GET", "/healthz").status == 200);
}

TEST_CASE("serve: X-API-Key: 401 without or with a wrong key, both rotation keys work, probes stay open") {
  const auto config = write_config("auth", "api_keys_env: FG_TEST_KEYS\n");
  ServerProcess server({"--config", config.string(), "--jobs", "1"}, {{"FG_TEST_KEYS", "primary-key-1, secondary-key-2"}});
  INFO(server.log());
  REQUIRE(server.ready());
  HttpClient client(server.port());
  const std::string message = dip_message("IF-001/InitialRegistration");
  const std::string path = "/v1/validate/IF-001/InitialRegistration";
  CHECK(client.request("POST", path, envelope(message)).status == 401);
  CHECK(client.request("POST", path, envelope(message), {{"X-API-Key", "primary-key-"}}).status == 401);
  CHECK(client.request("POST", path, envelope(message), {{"X-API-Key", "primary-key-1x"}}).status == 401);
  CHECK(client.request("POST", path, envelope(with_reference(message, "A1")), {{"X-API-Key", "primary-key-1"}}).status == 201);
  CHECK(client.request("POST", path, envelope(with_reference(message, "A2")), {{"x-api-key", "secondary-key-2"}}).status == 201);
  CHECK(client.request("GET", "/healthz").status == 200);
  CHECK(client.request("GET", "/readyz").status == 200);
  CHECK(client.request("GET", "/metrics").status == 200);

  const auto locked = write_config("auth-metrics", "api_keys_env: FG_TEST_KEYS\nmetrics_require_key: true\n");
  ServerProcess strict({"--config", locked.string(), "--jobs", "1"}, {{"FG_TEST_KEYS", "k1"}});
  REQUIRE(strict.ready());
  HttpClient c2(strict.port());
  CHECK(c2.request("GET", "/metrics").status == 401);
  CHECK(c2.request("GET", "/metrics", "", {{"X-API-Key", "k1"}}).status == 200);
}

TEST_CASE("serve: a body over max_body_kb is 413 before it is read, headers over the limit 431") {
  const auto config = write_config("limits", "limits:\n  max_body_kb: 4\n");
  ServerProcess server({"--config", config.string(), "--jobs", "1"});
  REQUIRE(server.ready());
  HttpClient client(server.port());
  const auto big = client.request("POST", "/v1/check", std::string(5000, ' '));
  CHECK(big.status == 413);
  CHECK_THAT(big.body, Catch::Contains("limits.max_body_kb"));
  // Declared 1 GB, nothing sent: refused on the header alone (a server that waited would time out).
  const auto declared = raw_exchange(server.port(),
                                     "POST /v1/check HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n",
                                     std::chrono::milliseconds(3000));
  CHECK_THAT(declared, Catch::StartsWith("HTTP/1.1 413"));
  // Chunked, no length: refused once the limit is passed.
  std::string chunked = "POST /v1/check HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 10; ++i) chunked += "400\r\n" + std::string(1024, ' ') + "\r\n";
  CHECK_THAT(raw_exchange(server.port(), chunked, std::chrono::milliseconds(3000)), Catch::StartsWith("HTTP/1.1 413"));
  const auto headers = raw_exchange(server.port(), "GET /healthz HTTP/1.1\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n",
                                    std::chrono::milliseconds(3000));
  CHECK_THAT(headers, Catch::StartsWith("HTTP/1.1 431"));
  CHECK_THAT(raw_exchange(server.port(), "NOT HTTP AT ALL\r\n\r\n", std::chrono::milliseconds(3000)), Catch::StartsWith("HTTP/1.1 400"));
  CHECK(client.request("GET", "/healthz").status == 200);
}

TEST_CASE("serve: a slow client is cut off at request_timeout_ms, an idle keep-alive one at idle_timeout_ms") {
  const auto config = write_config("timeouts", "limits:\n  request_timeout_ms: 300\n  idle_timeout_ms: 300\n");
  ServerProcess server({"--config", config.string(), "--jobs", "1"});
  REQUIRE(server.ready());
  const auto start = std::chrono::steady_clock::now();
  const auto partial = raw_exchange(server.port(), "POST /v1/check HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n[",
                                    std::chrono::milliseconds(5000));
  const auto took = std::chrono::steady_clock::now() - start;
  CHECK_THAT(partial, Catch::StartsWith("HTTP/1.1 408"));
  CHECK(took < std::chrono::milliseconds(3000));
  HttpClient client(server.port());
  CHECK(client.request("GET", "/healthz").status == 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  // The server closed the idle connection; the client notices on its next write/read.
  const auto after = client.request("GET", "/healthz");
  CHECK((after.status == 0 || after.status == 200));
}

TEST_CASE("serve: beyond max_in_flight requests are answered 503 with Retry-After at once, never queued without bound") {
  const fs::path rules = slow_rule_dir("slow-rules", 4'000'000);
  const auto config = write_config("overload", "jobs: 1\nrules: " + rules.string() + "\nlimits:\n  max_in_flight: 2\n");
  ServerProcess server({"--config", config.string()});
  INFO(server.log());
  REQUIRE(server.ready());
  const std::string body = slurp(kSource / "examples/dfs/bid-submission.json");
  std::atomic<int> ok{0}, busy{0}, other{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 8; ++i)
    clients.emplace_back([&] {
      HttpClient c(server.port());
      const auto r = c.request("POST", "/v1/check", body);
      if (r.status == 200) ++ok;
      else if (r.status == 503 && r.headers.count("retry-after")) ++busy;
      else ++other;
    });
  for (auto& t : clients) t.join();
  CHECK(ok >= 1);
  CHECK(busy >= 1);
  CHECK(other == 0);
  HttpClient c(server.port());
  const auto metrics = c.request("GET", "/metrics").body;
  CHECK_THAT(metrics, Catch::Contains("flowguard_rejected_for_load_total"));
  CHECK_FALSE(std::regex_search(metrics, std::regex("flowguard_rejected_for_load_total 0\n")));
}

TEST_CASE("serve: hundreds of idle keep-alive connections do not stall a request, max_connections refuses the excess") {
  const auto config = write_config("connections", "jobs: 1\nlimits:\n  max_connections: 300\n");
  ServerProcess server({"--config", config.string()});
  REQUIRE(server.ready());
  boost::asio::io_context ioc;
  std::vector<boost::asio::ip::tcp::socket> idle;
  for (int i = 0; i < 299; ++i) {
    idle.emplace_back(ioc);
    boost::system::error_code ec;
    idle.back().connect({boost::asio::ip::make_address("127.0.0.1"), server.port()}, ec);
    REQUIRE_FALSE(ec);
  }
  // The server counts a connection once it has accepted it: wait until all are in.
  HttpClient client(server.port());
  CHECK(eventually([&] { return client.request("GET", "/metrics").body.find("flowguard_connections_open 300") != std::string::npos; },
                   std::chrono::seconds(10)));
  const auto start = std::chrono::steady_clock::now();
  CHECK(client.request("POST", "/v1/check", slurp(kSource / "examples/dfs/bid-submission.json")).status == 200);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(1));
  // One more is the 301st: refused at once with 503, not queued.
  CHECK_THAT(raw_exchange(server.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", std::chrono::milliseconds(3000)),
             Catch::StartsWith("HTTP/1.1 503"));
  idle.clear();
  CHECK(eventually([&] { return client.request("GET", "/metrics").body.find("flowguard_connections_open 1\n") != std::string::npos; },
                   std::chrono::seconds(10)));
}

TEST_CASE("serve: a Lua rule that hits its budget fails that request's rule, not the server") {
  const fs::path rules = scratch_dir("runaway-rules");
  write_file(rules / "runaway.lua", R"(return { { id = "TEST-RUNAWAY", severity = "error", description = "never ends", spec = "test", types = { "dfs.bid-submission" },
    document = function(records, report) while true do end end } })");
  const auto config = write_config("runaway", "jobs: 1\nrules: " + rules.string() + "\nlimits:\n  lua_instructions: 100000\n");
  ServerProcess server({"--config", config.string()});
  REQUIRE(server.ready());
  HttpClient client(server.port());
  const auto reply = client.request("POST", "/v1/check", slurp(kSource / "examples/dfs/bid-submission.json"));
  CHECK(reply.status == 200);
  CHECK_THAT(reply.body, Catch::Contains("TEST-RUNAWAY"));
  CHECK_THAT(reply.body, Catch::Contains("rule failed"));
  CHECK(client.request("POST", "/v1/check", slurp(kSource / "examples/dfs/unit-meter-point-schedule.json")).status == 200);
}

TEST_CASE("serve: /metrics in Prometheus text format with bounded labels") {
  ServerProcess server({"--jobs", "1"});
  REQUIRE(server.ready());
  HttpClient client(server.port());
  client.request("POST", "/v1/validate/IF-001/InitialRegistration", envelope(dip_message("IF-001/InitialRegistration")));
  client.request("POST", "/v1/validate/IF-001/InitialRegistration", envelope(dip_message("IF-001/InitialRegistration", "invalid.json")));
  auto reply = client.request("GET", "/metrics");
  CHECK(reply.status == 200);
  CHECK_THAT(reply.headers["content-type"], Catch::StartsWith("text/plain; version=0.0.4"));
  const std::string& m = reply.body;
  CHECK_THAT(m, Catch::Contains("flowguard_http_requests_total{route=\"validate\",status=\"201\"} 1"));
  CHECK_THAT(m, Catch::Contains("flowguard_http_requests_total{route=\"validate\",status=\"400\"} 1"));
  CHECK_THAT(m, Catch::Contains("flowguard_messages_total{type=\"dip.IF-001.InitialRegistration\",verdict=\"pass\"} 1"));
  CHECK_THAT(m, Catch::Contains("flowguard_messages_total{type=\"dip.IF-001.InitialRegistration\",verdict=\"fail\"} 1"));
  CHECK_THAT(m, Catch::Contains("flowguard_findings_total{rule=\"schema.enum\"}"));
  CHECK_THAT(m, Catch::Contains("flowguard_http_request_duration_seconds_bucket{route=\"validate\",le=\"0.001\"}"));
  CHECK_THAT(m, Catch::Contains("flowguard_requests_in_flight 0"));
  CHECK_THAT(m, Catch::Contains("flowguard_config_generation 1"));
  CHECK_THAT(m, Catch::Contains("flowguard_reload_failures_total 0"));
  // No MPAN, reference or pointer ever becomes a label value.
  CHECK_FALSE(std::regex_search(m, std::regex("\\{[^}]*\\d{6}[^}]*\\}")));
  CHECK(m.find("S-IF-001") == std::string::npos);
  CHECK(m.find("/CommonBlock") == std::string::npos);
}

TEST_CASE("serve: a changed rule file or SIGHUP reloads, a broken config is refused and the old one kept") {
  const fs::path rules = scratch_dir("reload-rules");
  const auto config = write_config("reload", "jobs: 1\nwatch_interval_ms: 100\nrules: " + rules.string() + "\n");
  ServerProcess server({"--config", config.string()});
  INFO(server.log());
  REQUIRE(server.ready());
  HttpClient client(server.port());
  const std::string batch = slurp(kSource / "examples/dfs/bid-submission.json");
  CHECK(client.request("POST", "/v1/check", batch).body.find("TEST-RELOADED") == std::string::npos);

  write_file(rules / "added.lua", R"(return { { id = "TEST-RELOADED", severity = "warning", description = "added while serving", spec = "test", types = { "dfs.*" },
    document = function(records, report) report { message = "a rule added while serving" } end } })");
  auto generation = [&] {
    const auto doc = parse(client.request("GET", "/readyz").body);
    return doc.root().find("generation")->as_double();
  };
  CHECK(eventually([&] { return generation() == 2; }, std::chrono::seconds(10)));
  CHECK_THAT(client.request("POST", "/v1/check", batch).body, Catch::Contains("TEST-RELOADED"));

  // A typo in the config: refused with file:line:col, generation 2 keeps serving.
  write_file(config, "jobs: 1\nwatch_interval_ms: 100\nrules: " + rules.string() + "\nlimits:\n  max_body_kbs: 10\n");
  CHECK(eventually([&] { return client.request("GET", "/readyz").body.find("max_body_kbs") != std::string::npos; },
                   std::chrono::seconds(10)));
  const auto ready = client.request("GET", "/readyz").body;
  CHECK_THAT(ready, Catch::Contains("flowguard.yaml:5:3: unknown key \\\"max_body_kbs\\\" in limits; did you mean \\\"max_body_kb\\\"?"));
  CHECK(generation() == 2);
  CHECK_THAT(client.request("GET", "/metrics").body, Catch::Contains("flowguard_reload_failures_total 1"));
  CHECK(client.request("POST", "/v1/check", batch).status == 200);

  // A rule file that does not load is refused too (a server must not run without a configured rule).
  write_file(config, "jobs: 1\nwatch_interval_ms: 0\nrules: " + rules.string() + "\n");
  write_file(rules / "broken.lua", "return { this is not lua");
  server.signal(SIGHUP);
  CHECK(eventually([&] { return client.request("GET", "/readyz").body.find("broken.lua") != std::string::npos; },
                   std::chrono::seconds(10)));
  CHECK(generation() == 2);
  fs::remove(rules / "broken.lua");
  server.signal(SIGHUP);
  CHECK(eventually([&] { return generation() == 3; }, std::chrono::seconds(10)));
  CHECK_THAT(client.request("GET", "/readyz").body, Catch::Contains("\"last_reload_error\":null"));
}

TEST_CASE("serve: SIGTERM stops accepting, finishes the request in flight and exits 0") {
  // The request must still be running when SIGTERM arrives 30 ms later, on a quiet machine too: a
  // rule of ~0.3 s (40 M iterations, under a budget raised to let it finish).
  const fs::path rules = slow_rule_dir("drain-rules", 40'000'000);
  const auto config = write_config("drain", "jobs: 1\nrules: " + rules.string() + "\nlimits:\n  lua_instructions: 1000000000\n");
  ServerProcess server({"--config", config.string()});
  REQUIRE(server.ready());
  HttpReply slow;
  std::thread t([&] {
    HttpClient c(server.port());
    slow = c.request("POST", "/v1/check", slurp(kSource / "examples/dfs/bid-submission.json"));
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  server.signal(SIGTERM);
  t.join();
  CHECK(slow.status == 200);
  CHECK(slow.headers["connection"] == "close");
  CHECK(server.wait() == 0);
  INFO(server.log());
  CHECK_THAT(server.log(), Catch::Contains("SIGTERM: draining"));
}

TEST_CASE("serve: the decision log masks MPANs and finding text unless unmasked") {
  const fs::path dir = scratch_dir("decisions");
  const auto config = write_config("decisions", "jobs: 1\ndecision_log:\n  path: " + (dir / "d.jsonl").string() + "\n");
  const std::string batch = slurp(kSource / "examples/dfs/bid-submission-with-errors.json");
  {
    ServerProcess server({"--config", config.string()});
    REQUIRE(server.ready());
    HttpClient client(server.port());
    CHECK(client.request("POST", "/v1/check", batch).status == 200);
    CHECK(client.request("POST", "/v1/validate/IF-001/InitialRegistration", envelope(dip_message("IF-001/InitialRegistration"))).status == 201);
  }
  const std::string log = slurp(dir / "d.jsonl");
  INFO(log);
  CHECK(std::count(log.begin(), log.end(), '\n') == 2);
  CHECK_THAT(log, Catch::Contains("\"rule\":\"DFS-HALF-HOUR\""));
  CHECK_FALSE(std::regex_search(log, std::regex("\\d{6}")));  // no MPAN, DIP id or other long number
  CHECK(log.find("\"message\"") == std::string::npos);
  for (std::size_t start = 0; start < log.size();) {
    const auto end = log.find('\n', start);
    CHECK(Document::parse(log.substr(start, end - start)).ok());
    start = end + 1;
  }
}

TEST_CASE("serve: a bad config exits 2 naming file:line:col, an address in use exits 2") {
  const auto config = write_config("bad", "listen: 127.0.0.1:8080\nlimits:\n  max_in_flight: lots\n");
  ServerProcess server({"--config", config.string()});
  CHECK_FALSE(server.ready());
  CHECK(server.wait() == 2);
  CHECK_THAT(server.log(), Catch::Contains("flowguard.yaml:3:18: max_in_flight is \"lots\"; expected a whole number"));

  ServerProcess first({"--jobs", "1"});
  REQUIRE(first.ready());
  ServerProcess second({"--jobs", "1", "--listen", "127.0.0.1:" + std::to_string(first.port())});
  CHECK(second.wait() == 2);
  CHECK_THAT(second.log(), Catch::Contains("cannot listen on 127.0.0.1:" + std::to_string(first.port())));
}
