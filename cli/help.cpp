#include "help.hpp"

#include <cstdio>
#include <vector>

namespace flowguard::cli {

namespace {

constexpr Option kHelpOption{"--help", "", "print this manual and exit 0 (also -h, and `flowguard help COMMAND`)"};

constexpr Option kCheckOptions[] = {
    {"--type", "TYPE", "check as TYPE: a full name such as dfs.bid-submission, or a family such as dfs;\n"
                       "default: recognise the type from the content (and say so)"},
    {"--format", "FORMAT", "text (default): FILE:LINE:COL: SEVERITY: [RULE] message (POINTER), as compilers print;\n"
                           "json: the report of schemas/report.schema.json;\n"
                           "dip: the DIP's StandardResponse, one per file;\n"
                           "sarif: a SARIF 2.1.0 log (code scanning);\n"
                           "junit: JUnit XML, one testsuite per file, one testcase per rule;\n"
                           "github: GitHub Actions workflow commands (annotations).\n"
                           "docs/output-formats.md describes each"},
    {"--quiet", "", "findings only: no notes, no summary line (text and github formats; the other\n"
                    "formats are documents and always whole), and no progress bar"},
    {"--color", "WHEN", "colour the severities of the text format: auto (default: when standard output is a\n"
                        "terminal and NO_COLOR is unset or empty), always, never"},
    {"--rules", "DIR", "also load the Lua rules in DIR (repeatable; sdk/docs/rule-api.md)"},
    {"--no-rules", "", "schema only: skip the Lua rules and the native rule checks"},
    {"--registry", "FILE|default", "the DIP market registry for the policy rules; \"default\" is the shipped channel\n"
                                   "table alone; without it only message-level checks run"},
    {"--flows", "", "follow the metering-service appointment flow across the files, in the order of\n"
                    "their sender timestamps (files only, not standard input)"},
    {"--timestamp-skew", "SECONDS", "how far a senderTimestamp may lie in the future (default 300)"},
    {"--now", "DATE-TIME", "the time the time rules (and --format dip's timestamp) use, such as\n"
                           "2027-01-14T09:00:00Z, for reproducible reports; default: the clock"},
    {"--trace", "", "on standard error, for each record: which rules ran and what each decided\n"
                    "(sdk/docs/rule-testing.md); not for streamed input"},
    {"--header", "NAME=VALUE", "an HTTP header sent with the payload (repeatable), e.g. the SSI appointment's\n"
                               "X-API-KEY and X-IDEMPOTENCY-KEY"},
    {"--strict-keys", "", "keys that differ from the spec only in letter case are errors, not warnings (DIP)"},
    {"--max-findings", "N", "keep at most N findings per file (default 1000); the rest are counted"},
    {"--jobs", "N", "check large documents on N threads (default 1; at most 256)"},
    {"--plugins", "DIR", "also load plugins from DIR (repeatable)"},
    {"--schemas", "DIR", "also look for schemas in DIR (repeatable)"},
    {"--no-default-dirs", "", "use only the plugin, schema and rule directories given on the command line"},
    {"--lua-instructions", "N", "instruction budget of one rule call (default 10000000)"},
    {"--lua-memory", "MIB", "memory cap of a rule state in MiB (default 64)"},
    kHelpOption,
};

constexpr Option kServeOptions[] = {
    {"--config", "FILE", "YAML config (docs/server.md lists every key): listen, api_keys_env, registry,\n"
                         "rules, plugins, limits (max_body_kb, max_findings, request_timeout_ms,\n"
                         "max_in_flight, ...), dedupe, decision_log, routing"},
    {"--listen", "HOST:PORT", "address to listen on (default 127.0.0.1:8080; port 0 picks a free one)"},
    {"--jobs", "N", "worker threads, each with its own engine (default: one per core; 1 to 256)"},
    {"--registry", "FILE|default", "DIP market registry for the policy rules (without --config)"},
    kHelpOption,
};

constexpr Option kRouteOptions[] = {
    {"--routes", "FILE", "the routes file (docs/routing.md): journal, sinks, routes (required)"},
    {"--type", "TYPE", "check as TYPE; default: recognised from the content"},
    {"--registry", "FILE|default", "DIP market registry for the policy rules"},
    {"--rules", "DIR", "also load the Lua rules in DIR (repeatable)"},
    {"--recipient", "DIP_ID", "the recipient routes may match on (recipient:)"},
    {"--recipient-role", "ROLE", "the recipient role routes may match on (recipient_role:)"},
    {"--wait", "SECONDS", "how long to wait for delivery before exiting (default 60; 0: do not wait; at\n"
                          "most 86400)"},
    kHelpOption,
};

constexpr Option kConsumeOptions[] = {
    {"--config", "FILE", "the serve config with a `consume:` section (stream, durable, batch, ack_wait)\n"
                         "and a `routing:` file (required; docs/jetstream.md)"},
    kHelpOption,
};

constexpr Option kJournalOptions[] = {
    {"--db", "FILE", "the journal file (required; it must exist)"},
    {"--format", "text|json", "output of list, show and stats (default text)"},
    {"--from", "TIME", "filter: received at or after TIME (2026-04-01T00:00:00Z, an offset such as\n"
                       "+01:00, or a date 2026-04-01; a time without a zone is UTC)"},
    {"--to", "TIME", "filter: received at or before TIME"},
    {"--state", "STATE", "filter: Routed, Delivered, Retrying, Failed or DeadLettered (any letter case)"},
    {"--event", "CODE", "filter: event code"},
    {"--mpan", "MPAN", "filter: MPAN"},
    {"--interface", "ID", "filter: interface, e.g. IF-006"},
    {"--type", "TYPE", "filter: flowguard type name"},
    {"--id", "ID", "filter: a transaction id (repeatable, at most 100, as in the DIP's MessageRequest)"},
    {"--limit", "N", "at most N messages (default 100)"},
    {"--sink", "NAME", "replay only: deliver to the sink NAME alone"},
    {"--retention-days", "N", "prune only: the retention in days (default 30; 1 to 36500)"},
    kHelpOption,
};

constexpr Option kSpecOptions[] = {
    {"--out", "DIR", "import-dip: the folder the JSON Schemas are written to (required)"},
    {"--plugin-table", "FILE", "import-dip: also write the DIP plugin's type table (a C++ include) to FILE"},
    kHelpOption,
};

constexpr Option kPlainOptions[] = {kHelpOption};

constexpr Command kCommands[] = {
    {"check", "check payloads against their schema and rules, every problem at once",
     "flowguard check [OPTIONS] FILE...\nflowguard check [OPTIONS] -",
     "Checks each FILE (or standard input, '-') against the JSON Schema of its message type and the\n"
     "rules written for it, and prints every finding with its file, line, column and JSON pointer.\n"
     "Without --type the type is recognised from the content. A JSON array of 64 MiB or more and any\n"
     ".ndjson/.jsonl file are streamed, a chunk of records at a time, in bounded memory.\n"
     "\n"
     "Findings, notes and the summary line go to standard output (--quiet: findings alone); load\n"
     "problems, and a progress bar for files over 4 MiB when standard error is a terminal, go to\n"
     "standard error. NO_COLOR (https://no-color.org), when set and not empty, turns colour off unless\n"
     "--color always is given.",
     kCheckOptions,
     "0  no error findings (warnings allowed)\n"
     "1  error findings\n"
     "2  usage error, unreadable file, or input that is not JSON (with line and column)\n"
     "3  a plugin, schema or rule file failed to load (what could run did; its findings are printed)\n"
     "70 internal error (a bug; please report it)\n"
     "71 out of memory",
     "$ flowguard check examples/dfs/bid-submission-with-errors.json\n"
     "$ flowguard check --type dfs.bid-submission --quiet - < bids.json\n"
     "$ flowguard check --format sarif batches/*.json > flowguard.sarif\n"
     "$ flowguard check --format github --registry default messages/*.json"},
    {"types", "list the message types the installed plugins provide", "flowguard types",
     "Prints one line per message type: its name (what --type takes), its plugin and its title.", kPlainOptions,
     "0  listed\n"
     "3  a plugin failed to load (the others are listed)",
     "$ flowguard types\n$ flowguard types | grep '^dfs\\.'"},
    {"serve", "run the validation sidecar (HTTP)",
     "flowguard serve [--config FILE] [--listen HOST:PORT] [--jobs N] [--registry FILE|default]",
     "Runs an HTTP/1.1 server (keep-alive) that checks what is posted to it: POST\n"
     "/v1/validate/{interface}/{eventCode} (the DIP's validation path and answer), POST\n"
     "/v1/check[?type=TYPE] (the report of check --format json), POST /v1/messages (with routing),\n"
     "GET /healthz, /readyz and /metrics, and a checker page for browsers at GET /ui/ (docs/ui.md).\n"
     "Prints \"flowguard serve: listening on http://HOST:PORT\" on standard output once bound. SIGHUP\n"
     "(or a changed config, registry or rule file) reloads; a broken one is refused and the running one\n"
     "kept. SIGTERM stops accepting, finishes what is in flight and exits 0. docs/server.md describes\n"
     "every key and choice.",
     kServeOptions,
     "0  stopped by SIGTERM or SIGINT\n"
     "2  bad config or cannot listen\n"
     "3  the engines failed to load",
     "$ flowguard serve --listen 127.0.0.1:8080 --registry default\n$ flowguard serve --config serve.yaml"},
    {"route", "validate files, journal them and deliver them to the routes' sinks",
     "flowguard route --routes FILE [OPTIONS] FILE...",
     "Validates each FILE, journals its messages and delivers them to the sinks its routes name (a DIP\n"
     "message array is one all-or-nothing batch, as on the DIP). Invalid files go to the dead-letter\n"
     "sink with their findings. Undelivered messages stay in the journal: the next route, serve or\n"
     "journal requeue resumes them. docs/routing.md describes the routes file.",
     kRouteOptions,
     "0  every file routed and delivered\n"
     "1  a file had errors (dead-lettered or refused)\n"
     "2  usage error or unreadable file\n"
     "3  the journal or a sink could not start\n"
     "5  messages remain undelivered after --wait (kept in the journal)",
     "$ flowguard route --routes examples/routing/routes.yaml examples/dip/if-001-initial-registration.json"},
    {"consume", "validate, route and deliver messages from a JetStream durable consumer",
     "flowguard consume --config FILE",
     "Takes messages from a JetStream durable pull consumer (the config's consume: section), validates\n"
     "each with the config's registry, rules and limits, routes it by the config's routing: file and\n"
     "delivers it to its sinks synchronously; then settles it: ack when delivered to every sink its\n"
     "routes name (one a sink refused for good: dead-lettered), term when invalid (delivered to the\n"
     "dead-letter sink with its findings, never redelivered), nak when a sink asked to retry (delay:\n"
     "its Retry-After, else the consumer's backoff). Run several instances with the same durable to\n"
     "share the stream. SIGTERM/SIGINT: finish the batch in hand, then exit 0.",
     kConsumeOptions,
     "0  stopped by a signal\n"
     "2  bad config\n"
     "3  the consumer, a sink or the engine could not start\n"
     "4  the connection to NATS was lost for good",
     "$ flowguard consume --config serve.yaml"},
    {"journal", "the routing journal: message states, dead letters, redelivery",
     "flowguard journal list [FILTERS] [--limit N] [--format text|json] --db FILE\n"
     "flowguard journal show ID [--format text|json] --db FILE\n"
     "flowguard journal replay FILTERS [--sink NAME] --db FILE\n"
     "flowguard journal requeue FILTERS --db FILE\n"
     "flowguard journal prune [--retention-days N] --db FILE\n"
     "flowguard journal stats [--format text|json] --db FILE",
     "list: the messages matching the filters, oldest first. show: one message with its fields,\n"
     "deliveries, findings and body. replay: deliver the matching Delivered messages again, to the\n"
     "sinks they went to or to --sink alone. requeue: make the matching Failed and DeadLettered\n"
     "deliveries pending again (attempts reset). prune: delete messages older than the retention whose\n"
     "deliveries are all final, and idempotency keys older than it. stats: message count, undelivered\n"
     "deliveries, the oldest undelivered, dead-lettered. replay and requeue need at least one filter,\n"
     "so they never act on everything by accident. docs/journal.md describes the journal.",
     kJournalOptions,
     "0  done\n"
     "2  usage error or unknown id\n"
     "4  the journal could not be opened, read or written",
     "$ flowguard journal list --db journal.db --state DeadLettered\n"
     "$ flowguard journal requeue --db journal.db --interface IF-006 --from 2026-04-01"},
    {"spec", "import Elexon's DIP OpenAPI spec as JSON Schemas; compare two imports",
     "flowguard spec import-dip SPEC_DIR --out DIR [--plugin-table FILE]\n"
     "flowguard spec diff OLD_DIR NEW_DIR",
     "import-dip turns Elexon's DIP OpenAPI spec (SPEC_DIR) into JSON Schemas, one per interface and\n"
     "event-code variant, in DIR (docs/dip-import.md). diff prints what changed per DIP variant between\n"
     "two imported schema folders.",
     kSpecOptions,
     "0  imported, or compared\n"
     "2  usage error, or the spec or a folder could not be read or written",
     "$ flowguard spec import-dip dip-spec/ --out schemas/dip\n$ flowguard spec diff old/schemas/dip schemas/dip"},
    {"version", "print the version", "flowguard version\nflowguard --version",
     "Prints \"flowguard VERSION\" on standard output.", kPlainOptions, "0  always", "$ flowguard version"},
};

void indented(std::string& out, std::string_view text, std::string_view indent) {
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    if (!line.empty()) out.append(indent).append(line);
    out += '\n';
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
}

}  // namespace

std::span<const Command> commands() { return kCommands; }

const Command* find_command(std::string_view name) {
  for (const auto& c : kCommands)
    if (c.name == name) return &c;
  return nullptr;
}

const Option* find_option(const Command& command, std::string_view arg) {
  if (arg == "-h") arg = "--help";
  for (const auto& o : command.options)
    if (o.name == arg) return &o;
  return nullptr;
}

std::string render_help(const Command& c) {
  std::string out = "NAME\n    flowguard " + std::string(c.name) + " - " + std::string(c.summary) + "\n\nSYNOPSIS\n";
  indented(out, c.synopsis, "    ");
  out += "\nDESCRIPTION\n";
  indented(out, c.description, "    ");
  out += "\nOPTIONS\n";
  for (const auto& o : c.options) {
    out += "    " + std::string(o.name);
    if (!o.value.empty()) out += " " + std::string(o.value);
    out += "\n";
    indented(out, o.help, "        ");
  }
  out += "\nEXIT STATUS\n";
  indented(out, c.exit_status, "    ");
  out += "\nEXAMPLES\n";
  indented(out, c.examples, "    ");
  return out;
}

int print_help(std::string_view command) {
  const Command* c = find_command(command);
  if (!c) {
    std::fprintf(stderr, "flowguard: error: no manual for \"%.*s\"; commands:", static_cast<int>(command.size()),
                 command.data());
    for (const auto& k : kCommands) std::fprintf(stderr, " %.*s", static_cast<int>(k.name.size()), k.name.data());
    std::fputs("\n", stderr);
    return 2;
  }
  const std::string text = render_help(*c);
  std::fwrite(text.data(), 1, text.size(), stdout);
  return 0;
}

}  // namespace flowguard::cli
