// The flowguard engine: the library behind `flowguard check`, for embedding.
//
//   auto engine = flowguard::Engine::create({});          // default plugin/schema/rule dirs
//   flowguard::FileReport r = (*engine)->check(bytes, "batch.json");   // type recognised from content
//   std::cout << flowguard::format_text({r});
//
// An Engine is not thread-safe; create one per thread (they share nothing mutable, except a
// ReferenceWindow a caller hands several of them on purpose, which is thread-safe).
//
// In a server, what differs from one request to the next goes in a CheckRequest (headers, now,
// caps, the reference window); everything else is fixed when the engine is created. See
// docs/engine-requests.md.
#pragma once

#include <cstddef>
#include <filesystem>
#include <istream>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "flowguard/finding.hpp"
#include "flowguard/padded_bytes.hpp"
#include "flowguard/reference_window.hpp"
#include "flowguard/result.hpp"
#include "flowguard/rules.hpp"

namespace flowguard {

#ifndef FLOWGUARD_API
#define FLOWGUARD_API __attribute__((visibility("default")))
#endif

struct EngineOptions {
  // Searched in order, after the defaults unless use_default_dirs is false. The defaults are found
  // relative to the installed library (…/lib/flowguard/plugins, …/share/flowguard/{schemas,rules}),
  // or under $FLOWGUARD_HOME when set.
  std::vector<std::filesystem::path> plugin_dirs;
  std::vector<std::filesystem::path> schema_dirs;
  std::vector<std::filesystem::path> rule_dirs;  // extra rules; each rule names the types it applies to
  bool use_default_dirs = true;
  // Plugins are first opened and described in a child process, so one that crashes, hangs or
  // exits while loading is refused by name and never runs in this process (sdk/docs/plugin-abi.md).
  // false: open them here directly (a debugger; a process that must not fork).
  bool isolate_plugins = true;
  unsigned plugin_load_timeout_ms = 10'000;  // per plugin, in that child: past it the plugin is stopped and refused

  std::size_t max_findings = 1000;          // per file; the rest are counted, not kept
  std::size_t max_depth = 256;              // JSON nesting limit
  std::uint64_t lua_instructions_per_call = 10'000'000;
  std::size_t lua_memory_bytes = 64u << 20;
  bool load_all_rules = false;              // load every rule set at creation (default: on first use)
  bool run_rules = true;                    // false: schema only (--no-rules)
  bool fast_paths = true;                   // false: skip the schema accept path (findings must not change)
  bool strict_keys = false;                 // key-case deviations are errors, not warnings (--strict-keys)
  unsigned jobs = 1;                        // worker threads for the record stage of large documents

  // The DIP market registry for the policy rules: a YAML file, "default" (the shipped channel table
  // alone), or empty (no registry: message-level checks only). A registry that fails to load makes
  // create() fail with every problem at file:line:col.
  std::string registry;
  bool flows = false;                          // run the stateful flow rules (--flows)
  std::int64_t timestamp_skew_seconds = 300;   // how far in the future a sender timestamp may be
  std::string now;                             // "YYYY-MM-DDThh:mm:ssZ" for time rules; empty: the clock
  // HTTP headers that accompany the payloads (--header NAME=VALUE), for rules on request headers
  // (the SSI appointment's X-API-KEY, X-IDEMPOTENCY-KEY); rules see them as fg.data.headers.
  std::vector<std::pair<std::string, std::string>> headers;
  bool trace = false;  // fill FileReport::traced_records (check --trace); off costs nothing
};

// Per-call settings: what differs from one request to the next in a server. Defaults = the
// engine's options, so check(bytes, name, hint) behaves exactly as before.
//
// Nothing here re-creates rule hosts or reloads rules: the engine hands the call's `now` and
// headers to every rule host the call uses (the workers' too, with jobs > 1) as fg.data.options and
// fg.data.headers, rebuilding those small documents only when they differ from the previous
// call's (with the clock, once a second). Rules must therefore read fg.data.options/headers in
// each call rather than keep them in a file local (a kept view raises once its data is replaced).
struct CheckRequest {
  std::vector<std::pair<std::string, std::string>> headers;  // rules see them as fg.data.headers (replaces the options' headers for this call when non-empty)
  std::string now;                       // "YYYY-MM-DDThh:mm:ssZ"; empty: the engine's --now if set, else the clock at the call
  std::optional<std::size_t> max_findings;
  std::optional<bool> strict_keys;
  // Cross-document reference memory for this call. Null: the engine's own run-scope memory (the
  // CLI's behaviour today: every earlier document of the run, kept for the engine's lifetime).
  // Set: duplicates are judged against this window instead, and the document's references are
  // recorded in it only when the document has no error findings (a rejected submission's
  // references may be used again, as on the DIP).
  std::shared_ptr<ReferenceWindow> references;
};

// Where the time of one check went (wall clock, milliseconds).
struct StageTimes {
  double parse = 0;
  double schema = 0;   // the document schema (a batch's root array alone when its records are split off)
  double records = 0;  // the record stage: each record's own schema, native checks, Lua record rules (--jobs threads)
  double rules = 0;    // document rules
  double total = 0;
};

struct TypeInfo {
  std::string name;    // "dfs.bid-submission"
  std::string title;   // "DFS Bid Submission (POST)"
  std::string plugin;  // "dfs"
  std::string spec;    // defining document
};

// Something that failed to load (a plugin, a rule file, a schema). The engine carries on without it.
struct LoadIssue {
  std::string source;   // file it concerns
  std::string message;  // what went wrong and why
};

// What a message says about itself (DIP CommonBlock S1/A0), for the DIP-shaped response.
struct MessageInfo {
  std::string pointer;  // where the message is in the document
  std::string type;     // its variant, empty when it matched none
  std::optional<std::string> sender_unique_reference, sender_correlation_id, sender_timestamp, sender_dip_id,
      dcp_dip_id;
};

struct FileReport {
  std::string path;                 // as given ("-" for stdin)
  std::string type;                 // the type checked against; empty when none
  bool type_from_content = false;   // recognised from content rather than given
  std::size_t records = 0;
  std::vector<Finding> findings;    // in document order
  std::size_t findings_not_shown = 0;  // beyond max_findings, and those past a cap (below)
  // Rules whose findings passed a cap (per rule call, per rule and file): rule id -> how many of its
  // findings were counted but not kept. Included in findings_not_shown and in the totals.
  std::vector<std::pair<std::string, std::size_t>> findings_capped;
  std::optional<Error> input_error;    // unreadable file or not JSON: nothing was checked
  std::vector<std::string> rules_run;  // ids of the rules that ran
  // Totals over all findings, including those not shown.
  std::size_t errors = 0, warnings = 0, infos = 0;
  StageTimes times;
  std::vector<MessageInfo> messages;  // message families only (the DIP), one per message
  std::vector<TracedRecord> traced_records;  // EngineOptions::trace only; not for streamed checks
};

// A CSV file read as a submission type's records (docs/csv.md): the header row holds the spec's
// JSON field names; each cell is coerced by its property's schema type (a number field's text
// becomes a number, a string stays a string), so the JSON checks and rules run unchanged.
struct CsvConversion {
  std::string type;                 // the type the columns were read as
  bool type_from_header = false;    // recognised from the header row rather than given
  std::string json;                 // the records as the JSON payload the API takes, one record a line
  std::size_t records = 0;
  std::vector<std::uint32_t> rows;  // the CSV row of each record (the header is row 1)
  std::vector<std::string> columns; // the header row's column names, in order
  // The CSV's own findings (what the reader met, the header, rows, what a spreadsheet rewrote),
  // each with its row (`line`), column index and name, and the pointer of the cell in `json`.
  std::vector<Finding> findings;
};

class FLOWGUARD_API Engine {
 public:
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Loads plugins (descriptors only: schemas and rules are loaded when a type first needs them).
  // Fails only on unusable options; broken plugins and rules become load_issues().
  static Result<std::unique_ptr<Engine>> create(const EngineOptions& options);

  const std::vector<LoadIssue>& load_issues() const noexcept;
  // What loaded but deserves a word (a plugin file or folder anyone may write to); no effect on
  // the exit status.
  const std::vector<LoadIssue>& load_warnings() const noexcept;
  std::vector<TypeInfo> types() const;
  // Loads every type's schema and rules now, so that load problems surface (e.g. `flowguard rules`).
  void preload();
  // Every loaded rule (preload() first), in load order: the shipped rule sets and the --rules dirs.
  std::vector<RuleDescription> rules();

  // Validates one document. `type_hint` may be a full type name, a family prefix ("dfs") or empty
  // (recognise from content).
  FileReport check(std::string_view bytes, std::string_view source_name, std::string_view type_hint = {});
  // The same, reading `bytes` in place rather than copying them first (see PaddedBytes).
  FileReport check(const PaddedBytes& bytes, std::string_view source_name, std::string_view type_hint = {});
  FileReport check_file(const std::filesystem::path& file, std::string_view type_hint = {});

  // The same with per-call settings (a server's request). The overloads above are these with a
  // default CheckRequest, except for the clock: without --now they use the time the engine was
  // created at (one `now` for a whole CLI run, as before), a CheckRequest without `now` the clock
  // at the call.
  //
  // A `now` that is not a date-time (parsed as registry instants are: "YYYY-MM-DDThh:mm:ssZ" or
  // with an offset) is the report's input_error (kUsage), nothing checked; so is a window given
  // while the engine's --now is not a date-time. The window's time is the call's `now`.
  FileReport check(const PaddedBytes& bytes, std::string_view source_name, std::string_view type_hint,
                   const CheckRequest& request);
  FileReport check(std::string_view bytes, std::string_view source_name, std::string_view type_hint,
                   const CheckRequest& request);
  FileReport check_file(const std::filesystem::path& file, std::string_view type_hint, const CheckRequest& request);

  // Checks a large JSON array, or NDJSON (one record per line), in bounded memory: records are
  // read and checked a chunk at a time, so memory does not grow with the file. Findings, pointers
  // and positions are those of the whole file. Differences from check(): the array's own
  // minItems/maxItems are judged on the record count at the end, and document-level rules see one
  // chunk (kStreamChunkRecords records) at a time. check_file() uses it for files of
  // kStreamThresholdBytes or more and for .ndjson/.jsonl files.
  FileReport check_stream(std::istream& in, std::string_view source_name, std::string_view type_hint = {},
                          bool ndjson = false);
  // With per-call settings; a window records the stream's references at the end, when the whole
  // stream has no error findings (until then, a reference repeated across chunks is found among
  // the stream's own).
  FileReport check_stream(std::istream& in, std::string_view source_name, std::string_view type_hint, bool ndjson,
                          const CheckRequest& request);
  // CSV input (docs/csv.md). `type_hint` as for check(); empty or a family: recognised from the
  // header row among the record-array (submission) types. An unreadable CSV, an unknown type or a
  // header that names no type's fields is an error.
  Result<CsvConversion> convert_csv(std::string_view bytes, std::string_view source_name,
                                    std::string_view type_hint = {});
  // convert_csv, then check() of its JSON, every finding placed at its CSV row and column name
  // (Finding::column_name). A cell the CSV reading already reports on (a date a spreadsheet
  // rewrote) shows that finding alone; a column missing from or unknown to the header is one
  // finding on the header row, not one per record. check_file() uses it for files named *.csv.
  FileReport check_csv(std::string_view bytes, std::string_view source_name, std::string_view type_hint = {});

  // Checks input that is not a regular file (standard input, a pipe) as check_file checks the same
  // bytes in a file: up to kStreamThresholdBytes are read and checked whole, a longer input is
  // streamed (so it must be an array, as a file that large must), memory bounded either way.
  // Bytes that cannot begin a JSON document (/dev/zero's NULs) are an input error at once.
  FileReport check_input(std::istream& in, std::string_view source_name, std::string_view type_hint = {});
  static constexpr std::size_t kStreamChunkRecords = 4000;  // enough for --jobs 2 to split
  static constexpr std::uint64_t kStreamThresholdBytes = 64ull << 20;

 private:
  Engine();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The current UTC time as "YYYY-MM-DDThh:mm:ss" followed by `zone` ("Z", or "+00:00" for the DIP's
// DT-003 date-time).
FLOWGUARD_API std::string utc_now(const char* zone = "Z");

// The files in the order of their first message's sender timestamp (CommonBlock S1
// senderTimestamp), for --flows; files without one keep their place after those with one.
FLOWGUARD_API std::vector<std::string> order_by_sender_timestamp(const std::vector<std::string>& files);

// Reports in the formats `flowguard check --format` prints.
struct Summary {
  std::size_t files = 0, records = 0, errors = 0, warnings = 0, infos = 0;
};
FLOWGUARD_API Summary summarize(const std::vector<FileReport>& reports);
// FILE:LINE:COL: SEVERITY: [RULE] message (POINTER), one line per finding, then a summary line.
FLOWGUARD_API std::string format_text(const std::vector<FileReport>& reports, bool show_notes = true);
// `text` appended to `out` safe to print on one line of a terminal: control characters (C0, DEL and
// the UTF-8 encoded C1 range, ESC among them) as \n, \r, \t or \xHH / \u00HH, so a message or a key
// cannot start a forged `FILE:LINE:COL: error:` line or drive the terminal. format_text uses it for
// every field.
FLOWGUARD_API void append_printable(std::string& out, std::string_view text);
FLOWGUARD_API std::string printable(std::string_view text);
// The JSON report described by schemas/report.schema.json.
FLOWGUARD_API std::string format_json(const std::vector<FileReport>& reports);
// Findings alone as the JSON report writes them (an array of {rule, severity, path, line, column,
// message[, code]}): what the router attaches to a dead-lettered message.
FLOWGUARD_API std::string format_findings_json(std::span<const Finding* const> findings);
// The DIP's own StandardResponse, one per file, in a JSON array: one messageArray entry per message,
// with the DIP's batch semantics (its level-1 validation accepts or rejects a submission whole).
// `now` is the response timestamp, "YYYY-MM-DDThh:mm:ss+00:00".
FLOWGUARD_API std::string format_dip(const std::vector<FileReport>& reports, const std::string& now);
// One file's StandardResponse object (what the DIP answers to one submission).
FLOWGUARD_API std::string format_dip_response(const FileReport& report, const std::string& now);

}  // namespace flowguard
