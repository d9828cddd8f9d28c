// `flowguard consume`: N instances share one JetStream durable pull consumer; each message is
// validated, routed and delivered, and only then acked (docs/routing.md, docs/jetstream.md).
#include <csignal>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include "flowguard/consume/consumer.hpp"
#include "flowguard/routing/router.hpp"
#include "flowguard/server/config.hpp"
#include "commands.hpp"

namespace flowguard::cli {
namespace {

constexpr const char* kConsumeUsage = R"(usage: flowguard consume --config FILE

Takes messages from a JetStream durable pull consumer (the config's `consume:` section), validates
each with the config's registry, rules and limits, routes it by the config's `routing:` file and
delivers it to its sinks synchronously; then settles it:
  ack   delivered to every sink its routes name (one a sink refused for good: dead-lettered)
  term  invalid: delivered to the dead-letter sink with its findings, never redelivered
  nak   a sink asked to retry (delay: its Retry-After, else the consumer's backoff)
Run several instances with the same durable to share the stream; a message one instance does not
settle within ack_wait goes to another. SIGTERM/SIGINT: finish the batch in hand, then exit 0.

exit status: 0 stopped by a signal; 2 bad config; 3 the consumer, a sink or the engine could not start;
4 the connection to NATS was lost for good
)";

std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop = true; }

}  // namespace

int run_consume(const std::vector<std::string_view>& args) {
  std::string config_file;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--help" || args[i] == "-h") {
      std::fputs(kConsumeUsage, stdout);
      return 0;
    }
    if (args[i] == "--config" && i + 1 < args.size()) {
      config_file = std::string(args[++i]);
      continue;
    }
    std::fprintf(stderr, "flowguard consume: error: unexpected argument %s\n(flowguard consume --help shows the usage)\n",
                 std::string(args[i]).c_str());
    return 2;
  }
  if (config_file.empty()) {
    std::fprintf(stderr, "flowguard consume: error: consume needs --config FILE\n");
    return 2;
  }
  auto loaded = server::load_config(config_file);
  if (!loaded.config) {
    for (const auto& e : loaded.errors) std::fprintf(stderr, "%s\n", e.to_string().c_str());
    return 2;
  }
  const server::ServerConfig& c = *loaded.config;
  if (!c.consume || c.routing.empty()) {
    std::fprintf(stderr, "%s: consume needs a `consume:` section and `routing:` (docs/routing.md)\n", config_file.c_str());
    return 2;
  }
  auto routes = routing::load_routes(c.routing);
  if (!routes.config) {
    for (const auto& e : routes.errors) std::fprintf(stderr, "%s\n", e.to_string().c_str());
    return 2;
  }
  const EngineOptions options = server::engine_options(c);
  auto engine = Engine::create(options);
  if (!engine) {
    std::fprintf(stderr, "flowguard consume: %s\n", engine.error().message.c_str());
    return 3;
  }
  for (const auto& issue : (*engine)->load_issues()) {
    std::fprintf(stderr, "flowguard consume: %s: %s\n", issue.source.c_str(), issue.message.c_str());
    return 3;
  }
  auto router = routing::Router::start(*routes.config);
  if (!router) {
    std::fprintf(stderr, "flowguard consume: routing: %s\n", router.error().message.c_str());
    return 3;
  }
  consume::ConsumerOptions co;
  co.servers = c.consume->servers;
  co.credentials = c.consume->credentials;
  co.stream = c.consume->stream;
  co.durable = c.consume->durable;
  co.filter_subject = c.consume->filter_subject;
  co.ack_wait = std::chrono::milliseconds(c.consume->ack_wait_ms);
  co.max_deliver = c.consume->max_deliver;
  co.fetch_batch = c.consume->fetch_batch;
  co.nak_delay = std::chrono::milliseconds(c.consume->nak_delay_ms);
  auto consumer = consume::Consumer::create(co);
  if (!consumer) {
    std::fprintf(stderr, "flowguard consume: %s\n", consumer.error().message.c_str());
    return 3;
  }
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
  std::signal(SIGPIPE, SIG_IGN);
  std::printf("flowguard consume: consuming %s as %s\n", co.stream.c_str(), co.durable.c_str());
  std::fflush(stdout);
  const std::string type = c.consume->type;
  auto handler = [&](std::span<const consume::InboundMessage> batch) {
    std::vector<consume::Decision> decisions;
    for (const auto& in : batch) {
      // A message is a DIPMessageArray, or one of its elements alone.
      const auto first = in.data.find_first_not_of(" \t\r\n");
      const std::string body = first != std::string::npos && in.data[first] == '{' && type.empty() ? "[" + in.data + "]" : in.data;
      const auto received = journal::Clock::now();
      FileReport report = (*engine)->check(body, in.subject, type);
      std::vector<routing::Incoming> messages = routing::split_messages(report, body, "", "");
      for (auto& m : messages) m.received_at = received, m.validated_at = journal::Clock::now();
      const bool valid = report.errors == 0 && !report.input_error;
      const auto results = (*router)->deliver_now(messages, valid);
      // Invalid and dead-lettered: Term, so JetStream never redelivers it (and says so in its advisories).
      consume::Decision d = valid ? consume::Decision::ack() : consume::Decision::term();
      for (const auto& r : results)
        if (r.outcome == sinks::Outcome::kRetry || r.outcome == sinks::Outcome::kFailed) d = consume::Decision::nak(r.retry_after);
      decisions.push_back(d);
    }
    return decisions;
  };
  const Status ran = (*consumer)->run(handler, g_stop);
  const auto s = (*consumer)->stats();
  std::fprintf(stderr, "flowguard consume: %llu fetched, %llu acked, %llu nak'd, %llu settle errors\n",
               static_cast<unsigned long long>(s.fetched), static_cast<unsigned long long>(s.acked),
               static_cast<unsigned long long>(s.naked), static_cast<unsigned long long>(s.settle_errors));
  if (!ran.ok()) {
    std::fprintf(stderr, "flowguard consume: %s\n", ran.error().message.c_str());
    return 4;
  }
  return 0;
}

}  // namespace flowguard::cli
