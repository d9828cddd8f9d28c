// The checker page's routes (docs/ui.md) on the real `flowguard serve`: what is served, with which
// headers, behind which auth. The page's behaviour in a browser is tests/ui/check_page.mjs.
#include <catch2/catch.hpp>

#include <filesystem>
#include <regex>

#include "server_process.hpp"

namespace fs = std::filesystem;
using namespace flowguard::test;

namespace {

const fs::path kUi = fs::path(FLOWGUARD_SOURCE_DIR) / "server/ui";

fs::path ui_config(const std::string& name, const std::string& yaml) {
  const fs::path dir = scratch_dir(name);
  write_file(dir / "flowguard.yaml", yaml);
  return dir / "flowguard.yaml";
}

}  // namespace

TEST_CASE("serve: the checker page and its assets are the embedded server/ui files, under a strict CSP") {
  ServerProcess server({"--jobs", "1"});
  INFO(server.log());
  REQUIRE(server.ready());
  HttpClient client(server.port());

  for (const char* path : {"/", "/ui"}) {
    auto r = client.request("GET", path);
    CHECK(r.status == 308);
    CHECK(r.headers["location"] == "/ui/");
  }
  auto page = client.request("GET", "/ui/");
  REQUIRE(page.status == 200);
  CHECK(page.headers["content-type"] == "text/html; charset=utf-8");
  CHECK(page.body == slurp(kUi / "index.html"));  // byte for byte: the embedding loses nothing
  const std::string csp = page.headers["content-security-policy"];
  CHECK(csp.find("default-src 'self'") != std::string::npos);
  CHECK(csp.find("unsafe-inline") == std::string::npos);
  CHECK(csp.find("unsafe-eval") == std::string::npos);
  CHECK(page.headers["x-content-type-options"] == "nosniff");

  // Every file the page links is served from here, with its type; nothing comes from another host.
  const std::map<std::string, std::string> types{
      {".css", "text/css; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"}, {".svg", "image/svg+xml"}};
  const std::regex link(R"re((?:src|href)="([^"]+)")re");
  std::size_t linked = 0;
  for (std::sregex_iterator it(page.body.begin(), page.body.end(), link), end; it != end; ++it, ++linked) {
    const std::string target = (*it)[1];
    INFO(target);
    CHECK(target.find("//") == std::string::npos);
    auto r = client.request("GET", "/ui/" + target);
    CHECK(r.status == 200);
    CHECK(r.body == slurp(kUi / target));
    CHECK(r.headers["content-type"] == types.at(fs::path(target).extension().string()));
    CHECK(r.headers["content-security-policy"] == csp);
  }
  CHECK(linked == 3);
  for (const char* file : {"index.html", "app.js", "app.css"}) {
    INFO(file);
    CHECK_FALSE(std::regex_search(slurp(kUi / file), std::regex("https?://")));
  }

  // Only embedded names answer: nothing is opened from the file system.
  CHECK(client.request("GET", "/ui/../server.cpp").status == 404);
  CHECK(client.request("GET", "/ui/%2e%2e/CMakeLists.txt").status == 404);
  CHECK(client.request("GET", "/ui/embed.cmake").status == 404);
  CHECK(client.request("GET", "/ui/missing.js").status == 404);
  auto post = client.request("POST", "/ui/", "{}");
  CHECK(post.status == 405);
  CHECK(post.headers["allow"] == "GET");
  CHECK(client.request("GET", "/metrics").body.find("flowguard_http_requests_total{route=\"ui\",status=\"200\"}") != std::string::npos);
}

TEST_CASE("serve: the page is open when keys are configured, the checks it sends need one, and ui: false turns it off") {
  const auto config = ui_config("ui-auth", "api_keys_env: FG_UI_KEYS\n");
  ServerProcess server({"--config", config.string(), "--jobs", "1"}, {{"FG_UI_KEYS", "ui-key-1"}});
  INFO(server.log());
  REQUIRE(server.ready());
  HttpClient client(server.port());
  CHECK(client.request("GET", "/ui/").status == 200);
  CHECK(client.request("GET", "/ui/app.js").status == 200);
  const std::string bids = slurp(fs::path(FLOWGUARD_SOURCE_DIR) / "examples/dfs/bid-submission-with-errors.json");
  CHECK(client.request("POST", "/v1/check", bids).status == 401);
  CHECK(client.request("POST", "/v1/check", bids, {{"X-API-Key", "ui-key-1"}}).status == 200);

  const auto off = ui_config("ui-off", "ui: false\n");
  ServerProcess closed({"--config", off.string(), "--jobs", "1"});
  INFO(closed.log());
  REQUIRE(closed.ready());
  HttpClient c2(closed.port());
  CHECK(c2.request("GET", "/ui/").status == 404);
  CHECK(c2.request("GET", "/").status == 404);
  CHECK(c2.request("GET", "/healthz").status == 200);
}
