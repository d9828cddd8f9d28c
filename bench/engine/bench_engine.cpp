// fg_bench_engine: flowguard's engine in process, warm. Loads each file once, checks it W times to
// warm up (schemas compiled, rules loaded, caches hot), then K timed times, and prints one JSON line
// per file:
//
//   {"tool":"flowguard","mode":"schema+rules","type":"dfs.bid-submission","file":"...","records":5000,
//    "bytes":...,"iterations":K,"median_s":...,"records_per_s":...,"mb_per_s":...,"findings":...}
//
// records_per_s is records / median iteration time (the median resists noise from other processes on
// a shared machine); each iteration is a full Engine::check: parse, schema, rules, report.
//
//   fg_bench_engine [--type T] [--schema-only] [--iterations K] [--warmup W] [--jobs N]
//                   [--plugins DIR] [--schemas DIR] FILE...
//
// --jobs N: EngineOptions::jobs (the record stage on N threads; "jobs" in the output line); with
// --parse-only, ParseOptions::threads (a large root array parsed in ranges).
//
// --schema-only: the engine has no switch for it, so the engine is created without default
// directories, with the plugin and schema directories only: no rule directory, so no rule runs
// (checked: the report's rules_run must be empty).
//
// --fresh-dip-references: DIP-SENDER-UNIQUE-REFERENCE-REPEATED remembers every senderUniqueReference
// for the engine's lifetime, so checking the same DIP file again would flag all its references as
// repeated (not what a server checking distinct submissions sees). With this flag, before each
// check (untimed) the first two characters of the trailing part of every "senderUniqueReference"
// value (S-...-yyyymmdd-<ref>; bench/dip/generate.js writes "00" there) are set to the check's
// number in base 36, so each check sees references no earlier check used (for up to 1,296 checks).
//
// --registry FILE|default: EngineOptions::registry, so the DIP policy rules run (as `flowguard check
// --registry` and a server started with --registry do); without it they return at once.
//
// --request: each check is a server's, Engine::check(..., CheckRequest): the clock's now, a header
// that differs per check (X-IDEMPOTENCY-KEY, so fg.data.headers is rebuilt every time: the worst
// case) and one ReferenceWindow (default limits) for all checks, which MSG1006 consults and an
// accepted document's references are recorded in. With --fresh-dip-references the window grows by
// the file's references per check; without it every check after the first repeats them.
//
// --copy-input: each check is Engine::check(std::string_view), which copies the input before
// parsing it; by default the input is held in flowguard::PaddedBytes and read in place (as
// check_file() reads a file, and as simdjson's parse reads its padded_string).
//
// --parse-only: times json::Document::parse of the file alone (no engine is created), "mode":"parse";
// records is the root array's item count (1 for any other root), findings 0. flowguard::flowguard
// does not export the JSON API, so this mode exists only when the target can see
// flowguard/json/document.hpp (link flowguard::json too); otherwise --parse-only says so and exits 2.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "flowguard/engine.hpp"
#if __has_include("flowguard/json/document.hpp")
#include "flowguard/json/document.hpp"
#define FG_BENCH_HAVE_JSON 1
#endif

#ifndef FG_BENCH_PLUGIN_DIR
#define FG_BENCH_PLUGIN_DIR ""
#endif
#ifndef FG_BENCH_SCHEMA_DIR
#define FG_BENCH_SCHEMA_DIR ""
#endif

namespace {

// The whole file in one read (an istreambuf_iterator copy goes a byte at a time); false when it
// cannot be read.
// The whole file; false (with a message on stderr) when it cannot be read.
bool read_whole(const std::string& file, std::string& bytes) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    std::cerr << "fg_bench_engine: cannot read " << file << "\n";
    return false;
  }
  std::ostringstream all;
  all << in.rdbuf();
  bytes = std::move(all).str();
  return true;
}

// Median, mean and minimum of the timed iterations (seconds).
struct Timing {
  double median = 0, mean = 0, min = 0;
};
Timing summarize(std::vector<double> times) {
  Timing t;
  if (times.empty()) return t;
  std::sort(times.begin(), times.end());
  t.median = times[times.size() / 2];
  t.min = times.front();
  double total = 0;
  for (double x : times) total += x;
  t.mean = total / static_cast<double>(times.size());
  return t;
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
      continue;
    }
    out += c;
  }
  return out + "\"";
}

[[noreturn]] void usage(int code) {
  (code ? std::cerr : std::cout)
      << "usage: fg_bench_engine [--type T] [--schema-only] [--parse-only] [--fresh-dip-references] [--request] [--copy-input] [--iterations K] [--warmup W] [--jobs N] [--plugins DIR] [--schemas DIR] [--registry FILE|default] FILE...\n";
  std::exit(code);
}

// Offsets of the two characters after the last '-' of every "senderUniqueReference":"..." value.
std::vector<std::size_t> reference_marks(const std::string& bytes) {
  static const std::string key = "\"senderUniqueReference\"";
  std::vector<std::size_t> marks;
  for (auto at = bytes.find(key); at != std::string::npos; at = bytes.find(key, at + key.size())) {
    auto open = bytes.find('"', at + key.size());
    if (open == std::string::npos) break;
    const auto close = bytes.find('"', open + 1);
    if (close == std::string::npos) break;
    const auto dash = bytes.rfind('-', close);
    if (dash != std::string::npos && dash > open && close - dash > 3) marks.push_back(dash + 1);
  }
  return marks;
}

void stamp_references(std::string& bytes, const std::vector<std::size_t>& marks, int check) {
  static const char digits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  const int n = check % (36 * 36);
  for (auto m : marks) {
    bytes[m] = digits[n / 36];
    bytes[m + 1] = digits[n % 36];
  }
}

#ifdef FG_BENCH_HAVE_JSON

int parse_only_main(const std::vector<std::string>& files, int iterations, int warmup, unsigned jobs) {
  namespace json = flowguard::json;
  json::ParseOptions options;
  options.threads = jobs;  // a large root array is parsed in ranges, as the engine does with --jobs
  int status = 0;
  for (const auto& file : files) {
    std::string bytes;
    if (!read_whole(file, bytes)) {
      status = 1;
      continue;
    }
    json::Document doc;
    json::ParseError error;
    bool ok = true;
    const flowguard::PaddedBytes padded(bytes);  // read in place, as simdjson reads its padded_string
    for (int w = 0; w < warmup && ok; ++w) ok = json::Document::parse(padded, doc, error, options);
    std::vector<double> times;
    times.reserve(static_cast<std::size_t>(iterations));
    for (int k = 0; k < iterations && ok; ++k) {
      doc = json::Document();  // the previous document is freed outside the timed region
      const auto t0 = std::chrono::steady_clock::now();
      ok = json::Document::parse(padded, doc, error, options);
      const auto t1 = std::chrono::steady_clock::now();
      times.push_back(std::chrono::duration<double>(t1 - t0).count());
    }
    if (!ok) {
      std::cerr << "fg_bench_engine: " << file << ":" << error.line << ":" << error.column << ": " << error.message << "\n";
      status = 1;
      continue;
    }
    const Timing timing = summarize(times);
    const double median = timing.median;
    const std::size_t records = doc.root().is_array() ? doc.root().size() : 1;
    std::cout << "{\"tool\":\"flowguard\",\"mode\":\"parse\",\"type\":\"\",\"file\":" << json_string(file)
              << ",\"records\":" << records << ",\"bytes\":" << bytes.size() << ",\"jobs\":" << jobs
              << ",\"iterations\":" << iterations
              << ",\"median_s\":" << median << ",\"mean_s\":" << timing.mean << ",\"min_s\":" << timing.min
              << ",\"records_per_s\":" << static_cast<double>(records) / median
              << ",\"mb_per_s\":" << static_cast<double>(bytes.size()) / 1e6 / median
              << ",\"findings\":0,\"errors\":0,\"warnings\":0,\"rules_run\":0}" << std::endl;
  }
  return status;
}
#else
int parse_only_main(const std::vector<std::string>&, int, int, unsigned) {
  std::cerr << "fg_bench_engine: --parse-only needs the JSON library (link fg_bench_engine with flowguard::json)\n";
  return 2;
}
#endif

}  // namespace

int main(int argc, char** argv) {
  std::string type;
  bool schema_only = false, parse_only = false, fresh_references = false, copy_input = false, per_request = false;
  int iterations = 20, warmup = 3;
  unsigned jobs = 1;
  std::string plugin_dir = FG_BENCH_PLUGIN_DIR, schema_dir = FG_BENCH_SCHEMA_DIR;
  std::string registry;  // EngineOptions::registry: the DIP policy rules judge against it (a server's --registry)
  std::vector<std::string> files;
  for (int a = 1; a < argc; ++a) {
    const std::string arg = argv[a];
    auto value = [&]() -> std::string {
      if (a + 1 >= argc) usage(2);
      return argv[++a];
    };
    if (arg == "--type") type = value();
    else if (arg == "--schema-only") schema_only = true;
    else if (arg == "--parse-only") parse_only = true;
    else if (arg == "--fresh-dip-references") fresh_references = true;
    else if (arg == "--copy-input") copy_input = true;
    else if (arg == "--request") per_request = true;
    else if (arg == "--iterations") iterations = std::max(1, std::atoi(value().c_str()));
    else if (arg == "--jobs") jobs = static_cast<unsigned>(std::max(1, std::atoi(value().c_str())));
    else if (arg == "--warmup") warmup = std::max(0, std::atoi(value().c_str()));
    else if (arg == "--plugins") plugin_dir = value();
    else if (arg == "--schemas") schema_dir = value();
    else if (arg == "--registry") registry = value();
    else if (arg == "--help" || arg == "-h") usage(0);
    else if (!arg.empty() && arg[0] == '-') usage(2);
    else files.push_back(arg);
  }
  if (files.empty()) usage(2);
  if (parse_only) return parse_only_main(files, iterations, warmup, jobs);

  flowguard::EngineOptions options;
  options.jobs = jobs;
  options.registry = registry;
  if (schema_only) {
    options.use_default_dirs = false;
    options.plugin_dirs = {plugin_dir};
    options.schema_dirs = {schema_dir};
  }
  auto created = flowguard::Engine::create(options);
  if (!created) {
    std::cerr << "fg_bench_engine: cannot create the engine: " << created.error().message << "\n";
    return 1;
  }
  auto& engine = **created;
  for (const auto& issue : engine.load_issues())
    std::cerr << "fg_bench_engine: load issue: " << issue.source << ": " << issue.message << "\n";

  auto window = std::make_shared<flowguard::ReferenceWindow>(flowguard::ReferenceWindow::Limits{});
  flowguard::CheckRequest request;
  request.references = window;
  int status = 0;
  int checks = 0;  // across all files: files with the same references (dip.valid/dip.faulty) stay distinct
  for (const auto& file : files) {
    std::string bytes;
    if (!read_whole(file, bytes)) {
      status = 1;
      continue;
    }
    // The input sits in padded bytes, read in place, as simdjson's parse reads its padded_string
    // and as check_file() reads a file; --copy-input times the copying check(string_view) instead.
    flowguard::PaddedBytes padded(bytes);
    const auto marks = fresh_references ? reference_marks(bytes) : std::vector<std::size_t>{};
    auto fresh = [&] {
      if (fresh_references) {
        stamp_references(bytes, marks, checks);
        std::memcpy(padded.data(), bytes.data(), bytes.size());
      }
      ++checks;
    };

    auto check = [&] {
      if (per_request) {
        request.headers = {{"X-IDEMPOTENCY-KEY", "bench-" + std::to_string(checks)}};
        return copy_input ? engine.check(bytes, file, type, request) : engine.check(padded, file, type, request);
      }
      return copy_input ? engine.check(bytes, file, type) : engine.check(padded, file, type);
    };
    flowguard::FileReport report;
    for (int w = 0; w < warmup; ++w) {
      fresh();
      report = check();
    }
    std::vector<double> times;
    times.reserve(static_cast<std::size_t>(iterations));
    for (int k = 0; k < iterations; ++k) {
      fresh();
      const auto t0 = std::chrono::steady_clock::now();
      flowguard::FileReport next = check();
      const auto t1 = std::chrono::steady_clock::now();
      times.push_back(std::chrono::duration<double>(t1 - t0).count());
      report = std::move(next);  // the previous report is freed outside the timed region
    }
    if (report.input_error) {
      std::cerr << "fg_bench_engine: " << file << ": " << report.input_error->message << "\n";
      status = 1;
      continue;
    }
    if (schema_only && !report.rules_run.empty()) {
      std::cerr << "fg_bench_engine: --schema-only but " << report.rules_run.size() << " rules ran\n";
      status = 1;
    }
    const Timing timing = summarize(times);
    const double median = timing.median;
    const auto findings = report.errors + report.warnings + report.infos;
    std::cout << "{\"tool\":\"flowguard\",\"mode\":" << (schema_only ? "\"schema\"" : "\"schema+rules\"")
              << ",\"type\":" << json_string(report.type) << ",\"file\":" << json_string(file)
              << ",\"records\":" << report.records << ",\"bytes\":" << bytes.size() << ",\"jobs\":" << jobs << ",\"request\":" << (per_request ? "true" : "false")
              << ",\"registry\":" << json_string(registry)
              << ",\"iterations\":" << iterations
              << ",\"median_s\":" << median << ",\"mean_s\":" << timing.mean
              << ",\"min_s\":" << timing.min << ",\"last_stage_ms\":{\"parse\":" << report.times.parse
              << ",\"schema\":" << report.times.schema << ",\"records\":" << report.times.records
              << ",\"document_rules\":" << report.times.rules << ",\"total\":" << report.times.total << "}"
              << ",\"records_per_s\":" << static_cast<double>(report.records) / median
              << ",\"mb_per_s\":" << static_cast<double>(bytes.size()) / 1e6 / median << ",\"findings\":" << findings
              << ",\"errors\":" << report.errors << ",\"warnings\":" << report.warnings
              << ",\"rules_run\":" << report.rules_run.size() << "}" << std::endl;
  }
  return status;
}
