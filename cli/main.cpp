// flowguard command line. Thin: parses arguments, calls the engine library, prints, exits.
//
// Exit status: 0 no error findings (warnings allowed); 1 error findings; 2 usage error, unreadable
// file or input that is not JSON; 3 a plugin, schema or rule file failed to load (the checks that
// could run did; their findings are printed).
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <ctime>
#include <unistd.h>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "flowguard/engine.hpp"
#include "flowguard/server/server.hpp"
#include "flowguard/spec/dip_import.hpp"
#include "flowguard/journal/journal_cli.hpp"
#include "check_output.hpp"
#include "commands.hpp"
#include "help.hpp"

namespace {

constexpr int kExitClean = 0;
constexpr int kExitFindings = 1;
constexpr int kExitUsage = 2;
constexpr int kExitLoad = 3;
// Last lines of defence, not expected paths (docs/hardening.md): memory ran out although every input
// is bounded (71), or an unexpected exception (a bug: 70, EX_SOFTWARE).
constexpr int kExitInternal = 70;
constexpr int kExitOutOfMemory = 71;

constexpr const char* kUsage = R"(usage: flowguard <command> [options]

commands:
  check [options] FILE...   check payloads ('-' reads standard input; a FILE.csv is read as CSV,
                            docs/csv.md); --format text, json, dip, sarif, junit or github
  types                     list the message types the installed plugins provide
  convert FILE.csv [--out FILE] [--force]
                            a DFS CSV to the JSON payload the API takes (docs/csv.md); `convert --help`
  split --out DIR [--max N] FILE
                            a submission into batches of at most 5,000 records, a manifest and the
                            30 calls/minute pacing; `split --help`
  serve [--config FILE] [--listen HOST:PORT] [--jobs N] [--registry FILE|default]
                            run the validation sidecar (HTTP; docs/server.md): POST
                            /v1/validate/{interface}/{eventCode}, POST /v1/check, GET /healthz,
                            /readyz, /metrics. SIGHUP reloads, SIGTERM drains and exits 0
  route --routes FILE FILE...
                            validate files, journal them and deliver them to the routes'
                            sinks (docs/routing.md); `route --help` for its options
  consume --config FILE     validate, route and deliver messages from a JetStream durable
                            consumer, acking each once delivered; `consume --help`
  journal list|show|replay|requeue|prune|stats --db FILE
                            the routing journal: message states, dead letters, redelivery
                            (docs/journal.md); `journal --help` for the filters
  test [--rules DIR] [--update] [DIR]...
                            run rule tests: payloads beside their expected findings, a diff for
                            each failure, a coverage line (sdk/docs/rule-testing.md); `test --help`
  rules list [--type TYPE] [--format text|json]
                            every loaded rule: id, severity, types, file, description
  explain RULE-ID           what a rule checks, its spec reference and an example finding
  spec import-dip SPEC_DIR --out DIR [--plugin-table FILE]
                            turn Elexon's DIP OpenAPI spec into JSON Schemas (one per variant)
  spec diff OLD_DIR NEW_DIR what changed per DIP variant between two imported schema folders
  version                   print the version

`flowguard help COMMAND` (or `flowguard COMMAND --help`) prints a command's manual: synopsis,
description, every option, exit statuses and examples.

exit status: 0 no errors, 1 error findings, 2 usage or input error, 3 a plugin/schema/rule failed to load,
             70 internal error (a bug; please report it), 71 out of memory
)";

int usage_error(const std::string& message) {
  std::fprintf(stderr, "flowguard: error: %s\n(flowguard --help shows the usage)\n", message.c_str());
  return kExitUsage;
}

std::optional<std::size_t> parse_count(std::string_view text) {
  std::size_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

// YYYY-MM-DDThh:mm:ss[.fff](Z|+hh:mm|-hh:mm): the shape --now must have. The engine ignores a --now
// it cannot read (a time rule then does not run), which would defeat a reproducible report.
bool is_date_time(std::string_view s) {
  auto digits = [&](std::size_t at, std::size_t n) {
    if (at + n > s.size()) return false;
    for (std::size_t i = at; i < at + n; ++i)
      if (s[i] < '0' || s[i] > '9') return false;
    return true;
  };
  if (s.size() < 20 || !digits(0, 4) || s[4] != '-' || !digits(5, 2) || s[7] != '-' || !digits(8, 2) || s[10] != 'T' ||
      !digits(11, 2) || s[13] != ':' || !digits(14, 2) || s[16] != ':' || !digits(17, 2))
    return false;
  std::size_t i = 19;
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!digits(i, 1)) return false;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  }
  if (i + 1 == s.size() && s[i] == 'Z') return true;
  return i + 6 == s.size() && (s[i] == '+' || s[i] == '-') && digits(i + 1, 2) && s[i + 3] == ':' && digits(i + 4, 2);
}

std::shared_ptr<spdlog::logger> make_logger() {
  auto logger = spdlog::stderr_color_st("flowguard");
  logger->set_pattern("flowguard: %l: %v");
  return logger;
}

void print_load_issues(const flowguard::Engine& engine, spdlog::logger& log) {
  // Printable: a rule file's error text could hold control characters too.
  for (const auto& warning : engine.load_warnings())
    log.warn("{}: {}", flowguard::printable(warning.source), flowguard::printable(warning.message));
  for (const auto& issue : engine.load_issues())
    log.warn("{}: {}", flowguard::printable(issue.source), flowguard::printable(issue.message));
}

int run_types(const flowguard::EngineOptions& options) {
  auto engine = flowguard::Engine::create(options);
  if (!engine) return usage_error(engine.error().message);
  auto log = make_logger();
  print_load_issues(**engine, *log);
  for (const auto& t : (*engine)->types()) std::printf("%-32s %-8s %s\n", t.name.c_str(), t.plugin.c_str(), t.title.c_str());
  return (*engine)->load_issues().empty() ? kExitClean : kExitLoad;
}

int run_spec(const std::vector<std::string_view>& args) {
  if (args.size() >= 2 && args[0] == "import-dip") {
    std::string out, table;
    for (std::size_t i = 2; i < args.size(); ++i) {
      const bool is_out = args[i] == "--out";
      if ((is_out || args[i] == "--plugin-table") && i + 1 < args.size())
        (is_out ? out : table) = std::string(args[++i]);
      else return usage_error("spec import-dip: unexpected argument " + std::string(args[i]));
    }
    if (out.empty()) return usage_error("spec import-dip needs --out DIR");
    auto summary = flowguard::spec::import_dip(std::string(args[1]), out);
    if (!summary) {
      std::fprintf(stderr, "flowguard: error: %s\n", summary.error().message.c_str());
      return kExitUsage;
    }
    if (!table.empty()) {
      std::FILE* f = std::fopen(table.c_str(), "wb");
      if (!f) return usage_error("cannot write " + table);
      const std::string text = flowguard::spec::render_dip_types_inc(*summary);
      std::fwrite(text.data(), 1, text.size(), f);
      std::fclose(f);
    }
    std::printf("imported DIP spec %s: %zu interfaces, %zu variants, %zu files into %s\n", summary->spec_version.c_str(),
                summary->interface_count, summary->variants.size(), summary->files.size(), out.c_str());
    return kExitClean;
  }
  if (args.size() == 3 && args[0] == "diff") {
    auto diff = flowguard::spec::diff_dip(std::string(args[1]), std::string(args[2]));
    if (!diff) {
      std::fprintf(stderr, "flowguard: error: %s\n", diff.error().message.c_str());
      return kExitUsage;
    }
    std::fputs(diff->c_str(), stdout);
    return kExitClean;
  }
  return usage_error("spec expects: import-dip SPEC_DIR --out DIR [--plugin-table FILE] | diff OLD_DIR NEW_DIR");
}

constexpr const char* kServeUsage = R"(usage: flowguard serve [--config FILE] [--listen HOST:PORT] [--jobs N] [--registry FILE|default]

Runs the validation sidecar: an HTTP/1.1 server (keep-alive) that checks what is posted to it.

  --config FILE             YAML config (docs/server.md lists every key): listen, api_keys_env,
                            registry, rules, plugins, limits (max_body_kb, max_findings,
                            request_timeout_ms, max_in_flight, ...), dedupe, decision_log
  --listen HOST:PORT        address to listen on (default 127.0.0.1:8080; port 0 picks a free one)
  --jobs N                  worker threads, each with its own engine (default: one per core)
  --registry FILE|default   DIP market registry for the policy rules (without --config)

Endpoints: POST /v1/validate/{interface}/{eventCode} (the DIP's validation path and answer),
POST /v1/check[?type=TYPE] (the report of check --format json), GET /healthz, /readyz, /metrics,
and the checker page for browsers at GET /ui/ (docs/ui.md).
Prints "flowguard serve: listening on http://HOST:PORT" on stdout once bound.
SIGHUP (or a changed config, registry or rule file) reloads; a broken one is refused and the
running one kept. SIGTERM stops accepting, finishes what is in flight and exits 0.

exit status: 0 stopped by SIGTERM/SIGINT, 2 bad config or cannot listen, 3 engines failed to load
)";

int run_serve(const std::vector<std::string_view>& args) {
  flowguard::server::ServeOptions options;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(kServeUsage, stdout);
      return kExitClean;
    }
    if (arg != "--config" && arg != "--listen" && arg != "--jobs" && arg != "--registry")
      return usage_error("serve: unknown option " + std::string(arg) + " (flowguard serve --help lists them)");
    if (i + 1 >= args.size()) return usage_error(std::string(arg) + " needs a value");
    const std::string value(args[++i]);
    if (arg == "--config") options.config_file = value;
    else if (arg == "--listen") options.listen = value;
    else if (arg == "--registry") options.registry = value;
    else {
      auto n = parse_count(value);
      if (!n || *n == 0 || *n > 256) return usage_error("--jobs expects a whole number from 1 to 256, got \"" + value + "\"");
      options.jobs = static_cast<unsigned>(*n);
    }
  }
  if (options.listen) {
    std::string host;
    std::uint16_t port = 0;
    if (!flowguard::server::split_listen(*options.listen, host, port))
      return usage_error("--listen expects HOST:PORT such as 127.0.0.1:8080, got \"" + *options.listen + "\"");
  }
  return flowguard::server::serve(options);
}

int run_check(const std::vector<std::string_view>& args) {
  flowguard::EngineOptions options;
  std::string type, format = "text";
  std::vector<std::string> files;
  bool quiet = false;
  flowguard::cli::ColorMode color = flowguard::cli::ColorMode::kAuto;
  // Options are those of the manual's table (cli/help.cpp): what is not there is unknown.
  const flowguard::cli::Command& manual = *flowguard::cli::find_command("check");
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    const flowguard::cli::Option* option = flowguard::cli::find_option(manual, arg);
    if (option && option->name == "--help") return flowguard::cli::print_help("check");
    auto value = [&](std::string_view name) -> std::optional<std::string> {
      if (i + 1 >= args.size()) return std::nullopt;
      (void)name;
      return std::string(args[++i]);
    };
    if (option && !option->value.empty()) {
      auto v = value(arg);
      if (!v) return usage_error(std::string(arg) + " needs a value");
      if (arg == "--type") type = *v;
      else if (arg == "--color") {
        auto mode = flowguard::cli::parse_color(*v);
        if (!mode) return usage_error("--color expects auto, always or never, got \"" + *v + "\"");
        color = *mode;
      }
      else if (arg == "--format") format = *v;
      else if (arg == "--rules") options.rule_dirs.emplace_back(*v);
      else if (arg == "--plugins") options.plugin_dirs.emplace_back(*v);
      else if (arg == "--schemas") options.schema_dirs.emplace_back(*v);
      else if (arg == "--registry") options.registry = *v;
      else if (arg == "--now") {
        if (!is_date_time(*v))
          return usage_error("--now expects a date-time such as 2027-01-14T09:00:00Z (or with an offset, +01:00), "
                             "got \"" + *v + "\"");
        options.now = *v;
      }
      else if (arg == "--header") {
        const auto eq = v->find('=');
        if (eq == std::string::npos || eq == 0) return usage_error("--header expects NAME=VALUE, got \"" + *v + "\"");
        options.headers.emplace_back(v->substr(0, eq), v->substr(eq + 1));
      }
      else {
        auto n = parse_count(*v);
        if (!n || *n == 0) return usage_error(std::string(arg) + " expects a positive whole number, got \"" + *v + "\"");
        if (arg == "--max-findings") options.max_findings = *n;
        else if (arg == "--timestamp-skew") options.timestamp_skew_seconds = static_cast<std::int64_t>(*n);
        else if (arg == "--jobs") options.jobs = static_cast<unsigned>(std::min<std::size_t>(*n, 256));
        else if (arg == "--lua-instructions") options.lua_instructions_per_call = *n;
        else options.lua_memory_bytes = *n << 20;
      }
    } else if (arg == "--no-default-dirs") {
      options.use_default_dirs = false;
    } else if (arg == "--flows") {
      options.flows = true;
    } else if (arg == "--no-rules") {
      options.run_rules = false;
    } else if (arg == "--strict-keys") {
      options.strict_keys = true;
    } else if (arg == "--quiet") {
      quiet = true;
    } else if (arg == "--trace") {
      options.trace = true;
    } else if (arg == "-" || arg.empty() || arg[0] != '-') {
      files.emplace_back(arg);
    } else {
      return usage_error("unknown option " + std::string(arg) + " (flowguard check --help lists them)");
    }
  }
  if (!flowguard::cli::is_format(format))
    return usage_error("--format expects " + std::string(flowguard::cli::kFormats) + ", got \"" + format + "\"");
  if (files.empty()) return usage_error("check needs at least one FILE (or - for standard input)");

  auto created = flowguard::Engine::create(options);
  if (!created) return usage_error(created.error().message);
  flowguard::Engine& engine = **created;
  auto log = make_logger();

  // The flow rules follow processes across files in the order the messages were sent.
  if (options.flows) {
    std::vector<std::string> named;
    for (const auto& f : files)
      if (f != "-") named.push_back(f);
    if (named.size() != files.size()) return usage_error("--flows reads files, not standard input");
    files = flowguard::order_by_sender_timestamp(named);
  }
  std::vector<flowguard::FileReport> reports;
  for (const auto& file : files) {
    if (file == "-") {
      reports.push_back(engine.check_input(std::cin, "-", type));  // bounded: streamed past the threshold
    } else {
      reports.push_back(flowguard::cli::check_file_with_progress(engine, file, type, !quiet && isatty(2) == 1));
    }
  }
  // Load problems surface after checking: rule sets and schemas load when a type first needs them.
  print_load_issues(engine, *log);
  if (options.trace) flowguard::cli::print_trace(engine, reports, options.run_rules);

  const std::string dip_now = options.now.empty() ? flowguard::utc_now("+00:00") : options.now;
  const std::string out = flowguard::cli::render_reports(
      reports, engine, {format, quiet, format == "text" && flowguard::cli::use_color(color, 1), dip_now});
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);

  bool input_error = false, errors = false;
  for (const auto& r : reports) {
    input_error = input_error || r.input_error.has_value();
    errors = errors || r.errors > 0;
  }
  if (input_error) return kExitUsage;
  if (!engine.load_issues().empty()) return kExitLoad;
  return errors ? kExitFindings : kExitClean;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  // `help COMMAND`: the manual table's page, or the command's own --help (test, rules, explain).
  if (args.size() >= 2 && args[0] == "help") {
    if (flowguard::cli::find_command(args[1])) return flowguard::cli::print_help(args[1]);
    args = {args[1], "--help"};
  }
  // Every command's manual, whatever the command's own parser does with the rest of the line.
  if (args.size() >= 2 && flowguard::cli::find_command(args[0]) &&
      std::any_of(args.begin() + 1, args.end(), [](std::string_view a) { return a == "--help" || a == "-h"; }))
    return flowguard::cli::print_help(args[0]);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::fputs(kUsage, args.empty() ? stderr : stdout);
    return args.empty() ? kExitUsage : kExitClean;
  }
  const std::string_view command = args[0];
  args.erase(args.begin());
  try {
    if (command == "check") return run_check(args);
    if (command == "types") return run_types({});
    if (command == "serve") return run_serve(args);
    if (command == "spec") return run_spec(args);
    if (command == "route") return flowguard::cli::run_route(args);
    if (command == "consume") return flowguard::cli::run_consume(args);
    if (command == "test") return flowguard::cli::run_test(args);
    if (command == "rules") return flowguard::cli::run_rules(args);
    if (command == "explain") return flowguard::cli::run_explain(args);
    if (command == "convert") return flowguard::cli::run_convert(args);
    if (command == "split") return flowguard::cli::run_split(args);
    if (command == "journal")
      return flowguard::journal::run_journal_command(std::vector<std::string>(args.begin(), args.end()), std::cout, std::cerr);
    if (command == "version" || command == "--version") {
      std::printf("flowguard %s\n", FLOWGUARD_VERSION);
      return kExitClean;
    }
  } catch (const std::bad_alloc&) {
    // Every input is bounded, so this should not happen; if it does, say so without allocating.
    std::fputs("flowguard: error: out of memory: checking needed more memory than the machine gave; nothing more "
               "was checked or printed (exit status 71)\n",
               stderr);
    return kExitOutOfMemory;
  } catch (const std::exception& e) {
    // Expected failures are values; this is the last line of defence against a bug.
    std::fprintf(stderr, "flowguard: internal error: %s\n", e.what());
    return kExitInternal;
  }
  return usage_error("unknown command \"" + std::string(command) + "\"");
}
