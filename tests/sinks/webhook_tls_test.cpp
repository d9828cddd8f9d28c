// The webhook sink over HTTPS against the receiver in TLS mode: the server verified against a CA
// file, client certificates (mTLS), the verify toggle. Certificates are made at test time by the
// openssl command; without it the cases SKIP and say so.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>

#include "flowguard/sinks/sinks.hpp"
#include "sink_test_util.hpp"
#include "webhook_receiver.hpp"

using namespace flowguard;
using Outcome = sinks::Outcome;
namespace fs = std::filesystem;

namespace {

// A CA, a server certificate for 127.0.0.1 and a client certificate, both signed by the CA.
bool make_certificates(const fs::path& dir) {
  { std::ofstream(dir / "server.ext") << "subjectAltName=IP:127.0.0.1\n"; }
  const std::string d = "'" + dir.string() + "'";
  const std::string key = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  const std::string quiet = " >/dev/null 2>&1";
  const std::string commands[] = {
      "openssl req -x509" + key + " -keyout " + d + "/ca.key -out " + d + "/ca.pem -days 2 -subj /CN=fg-test-ca" +
          quiet,
      "openssl req" + key + " -keyout " + d + "/server.key -out " + d + "/server.csr -subj /CN=127.0.0.1" + quiet,
      "openssl x509 -req -in " + d + "/server.csr -CA " + d + "/ca.pem -CAkey " + d + "/ca.key -CAcreateserial -out " +
          d + "/server.pem -days 2 -extfile " + d + "/server.ext" + quiet,
      "openssl req" + key + " -keyout " + d + "/client.key -out " + d + "/client.csr -subj /CN=fg-test-client" + quiet,
      "openssl x509 -req -in " + d + "/client.csr -CA " + d + "/ca.pem -CAkey " + d + "/ca.key -CAcreateserial -out " +
          d + "/client.pem -days 2" + quiet,
  };
  for (const auto& command : commands)
    if (std::system(command.c_str()) != 0) return false;
  return true;
}

}  // namespace

TEST_CASE("webhook sink: HTTPS with a CA file, client certificates and the verify toggle", "[sinks][webhook][tls]") {
  if (std::system("openssl version >/dev/null 2>&1") != 0) {
    WARN("SKIPPED: the openssl command is not installed (scripts/install-deps.sh installs it)");
    return;
  }
  test::TempDir dir;
  REQUIRE(make_certificates(dir.path()));
  test::ReceiverOptions ro;
  ro.tls = test::ReceiverTls{dir.path() / "server.pem", dir.path() / "server.key", dir.path() / "ca.pem", true};
  auto started = test::WebhookReceiver::start(ro);
  REQUIRE(started.ok());
  auto& receiver = *started.value();
  REQUIRE(receiver.url().starts_with("https://127.0.0.1:"));

  sinks::WebhookOptions options;
  options.url = receiver.url();
  options.request_timeout = std::chrono::milliseconds(5000);
  options.tls.ca_file = dir.path() / "ca.pem";
  options.tls.client_cert = dir.path() / "client.pem";
  options.tls.client_key = dir.path() / "client.key";
  const auto one = test::message(1);

  SECTION("mTLS: the server verified, the client presents its certificate") {
    auto sink = sinks::make_webhook_sink("partner", options);
    REQUIRE(sink.ok());
    CHECK((*sink)->deliver({&one, 1})[0].outcome == Outcome::kDelivered);
    REQUIRE(receiver.request_count() == 1);
    CHECK_THAT(receiver.requests()[0].client_certificate, Catch::Contains("fg-test-client"));
    CHECK(receiver.requests()[0].body == "[" + one.body + "]");
  }
  SECTION("no client certificate: the receiver refuses the handshake, kRetry") {
    options.tls.client_cert.clear();
    options.tls.client_key.clear();
    auto sink = sinks::make_webhook_sink("partner", options);
    REQUIRE(sink.ok());
    const auto r = (*sink)->deliver({&one, 1})[0];
    CHECK(r.outcome == Outcome::kRetry);
    CHECK(receiver.request_count() == 0);
  }
  SECTION("the server's CA not trusted: kRetry, nothing sent") {
    options.tls.ca_file.clear();  // the system's CAs do not know the test CA
    auto sink = sinks::make_webhook_sink("partner", options);
    REQUIRE(sink.ok());
    const auto r = (*sink)->deliver({&one, 1})[0];
    CHECK(r.outcome == Outcome::kRetry);
    CHECK_FALSE(r.detail.empty());
    CHECK(receiver.request_count() == 0);
  }
  SECTION("verify_peer off: an untrusted server is accepted") {
    options.tls.ca_file.clear();
    options.tls.verify_peer = false;
    auto sink = sinks::make_webhook_sink("partner", options);
    REQUIRE(sink.ok());
    CHECK((*sink)->deliver({&one, 1})[0].outcome == Outcome::kDelivered);
  }
}
