// `flowguard route`: validate files, journal them and deliver them to the routes' sinks, as
// POST /v1/messages does for a sidecar (docs/routing.md).
#include "commands.hpp"

#include <charconv>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>

#include "flowguard/routing/router.hpp"

namespace flowguard::cli {
namespace {

constexpr const char* kRouteUsage = R"(usage: flowguard route --routes FILE [options] FILE...

Validates each FILE, journals its messages and delivers them to the sinks its routes name (a DIP
message array is one all-or-nothing batch, as on the DIP). Invalid files go to the dead-letter sink
with their findings. Undelivered messages stay in the journal: the next `route`, `serve` or
`journal requeue` resumes them.

  --routes FILE             the routes file (docs/routing.md): journal, sinks, routes
  --type TYPE               check as TYPE; default: recognised from the content
  --registry FILE|default   DIP market registry for the policy rules
  --rules DIR               also load the Lua rules in DIR (repeatable)
  --recipient DIP_ID        the recipient routes may match on (recipient:)
  --recipient-role ROLE     the recipient role routes may match on (recipient_role:)
  --wait SECONDS            how long to wait for delivery before exiting (default 60; 0: do not wait)

exit status: 0 every file routed and delivered; 1 a file had errors (dead-lettered or refused);
2 usage error or unreadable file; 3 the journal or a sink could not start; 5 messages remain
undelivered after --wait (kept in the journal)
)";

int usage(const std::string& message) {
  std::fprintf(stderr, "flowguard route: error: %s\n(flowguard route --help shows the usage)\n", message.c_str());
  return 2;
}

std::optional<std::string> read_file(const std::string& path, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = path + ": cannot open it";
    return std::nullopt;
  }
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace

int run_route(const std::vector<std::string_view>& args) {
  EngineOptions options;
  std::string routes_file, type, recipient, recipient_role;
  long wait_seconds = 60;
  std::vector<std::string> files;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(kRouteUsage, stdout);
      return 0;
    }
    if (arg == "--routes" || arg == "--type" || arg == "--registry" || arg == "--rules" || arg == "--recipient" ||
        arg == "--recipient-role" || arg == "--wait") {
      if (i + 1 >= args.size()) return usage(std::string(arg) + " needs a value");
      const std::string v(args[++i]);
      if (arg == "--routes") routes_file = v;
      else if (arg == "--type") type = v;
      else if (arg == "--registry") options.registry = v;
      else if (arg == "--rules") options.rule_dirs.emplace_back(v);
      else if (arg == "--recipient") recipient = v;
      else if (arg == "--recipient-role") recipient_role = v;
      else {
        auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), wait_seconds);
        if (ec != std::errc() || p != v.data() + v.size() || wait_seconds < 0 || wait_seconds > 86400)
          return usage("--wait expects seconds from 0 to 86400, got \"" + v + "\"");
      }
    } else if (!arg.empty() && arg[0] != '-') {
      files.emplace_back(arg);
    } else {
      return usage("unknown option " + std::string(arg));
    }
  }
  if (routes_file.empty()) return usage("route needs --routes FILE");
  if (files.empty()) return usage("route needs at least one FILE");
  auto routes = routing::load_routes(routes_file);
  if (!routes.config) {
    for (const auto& e : routes.errors) std::fprintf(stderr, "%s\n", e.to_string().c_str());
    return 2;
  }
  auto engine = Engine::create(options);
  if (!engine) return usage(engine.error().message);
  auto router = routing::Router::start(*routes.config);
  if (!router) {
    std::fprintf(stderr, "flowguard route: %s\n", router.error().message.c_str());
    return 3;
  }
  bool any_invalid = false, unreadable = false;
  for (const auto& file : files) {
    std::string error;
    const auto bytes = read_file(file, error);
    if (!bytes) {
      std::fprintf(stderr, "%s\n", error.c_str());
      unreadable = true;
      continue;
    }
    const auto received = journal::Clock::now();
    FileReport report = (*engine)->check(*bytes, file, type);
    if (report.input_error) {
      std::fprintf(stderr, "%s: %s\n", file.c_str(), report.input_error->message.c_str());
      unreadable = true;
      continue;
    }
    auto messages = routing::split_messages(report, *bytes, recipient, recipient_role);
    const auto validated = journal::Clock::now();
    for (auto& m : messages) m.received_at = received, m.validated_at = validated;
    const bool valid = report.errors == 0;
    if (!valid && !routes.config->dead_letter_invalid) {
      std::printf("%s: refused: %zu errors (not journaled: dead_letter_invalid is false)\n", file.c_str(), report.errors);
      any_invalid = true;
      continue;
    }
    auto submitted = (*router)->submit(messages, valid);
    if (!submitted) {
      std::fprintf(stderr, "%s: not journaled: %s\n", file.c_str(), submitted.error().message.c_str());
      return submitted.error().code == ErrorCode::kLimit ? 5 : 3;
    }
    if (!submitted->duplicates.empty()) {
      std::printf("%s: refused: %zu of its messages have a senderUniqueReference already in the journal (MSG1006)\n",
                  file.c_str(), submitted->duplicates.size());
      any_invalid = true;
      continue;
    }
    any_invalid = any_invalid || !valid;
    std::printf("%s: %s %zu message%s (%s%s)\n", file.c_str(), valid ? "journaled" : "dead-lettered", messages.size(),
                messages.size() == 1 ? "" : "s", submitted->ids.front().c_str(), messages.size() > 1 ? ", …" : "");
  }
  const bool drained = wait_seconds == 0 || (*router)->wait_idle(std::chrono::seconds(wait_seconds));
  const auto stats = (*router)->stats();
  for (const auto& [sink, c] : stats.sinks)
    if (c.delivered || c.duplicates || c.retries || c.dead_lettered || c.failed)
      std::printf("sink %s: %llu delivered, %llu duplicates, %llu retries, %llu dead-lettered, %llu failed\n", sink.c_str(),
                  static_cast<unsigned long long>(c.delivered), static_cast<unsigned long long>(c.duplicates),
                  static_cast<unsigned long long>(c.retries), static_cast<unsigned long long>(c.dead_lettered),
                  static_cast<unsigned long long>(c.failed));
  if (!drained || (wait_seconds == 0 && stats.journal.undelivered > 0)) {
    std::printf("%llu deliveries are still pending in %s; they resume on the next route or serve\n",
                static_cast<unsigned long long>(stats.journal.undelivered), routes.config->journal_path.c_str());
    if (wait_seconds > 0) return 5;
  }
  if (unreadable) return 2;
  return any_invalid ? 1 : 0;
}

}  // namespace flowguard::cli
