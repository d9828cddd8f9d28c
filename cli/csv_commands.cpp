// `flowguard convert` (a CSV to the JSON payload the API takes) and `flowguard split` (a submission
// into compliant batches of at most 5,000 records, with a manifest). docs/csv.md says why each
// choice is what it is.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "commands.hpp"
#include "flowguard/engine.hpp"
#include "flowguard/json/document.hpp"
#include "flowguard/json/writer.hpp"

namespace flowguard::cli {
namespace {
namespace fs = std::filesystem;

constexpr int kExitClean = 0, kExitFindings = 1, kExitUsage = 2, kExitLoad = 3;

// §5 of DFS API Schema V1.6: at most 5,000 records a POST call, at most 30 calls a minute.
constexpr std::size_t kApiMaxRecords = 5000;
constexpr std::size_t kApiCallsPerMinute = 30;

constexpr const char* kConvertUsage = R"(usage: flowguard convert FILE.csv [--type TYPE] [--out FILE] [--force] [--rules DIR] [--quiet]

Reads a CSV of DFS submission records (the header row holds the spec's JSON field names, as in the
templates of DFS API Schema V1.6 §6) and writes the JSON payload the API takes: an array of
records, one a line, each cell coerced to its field's schema type (a number field's text becomes a
number, TRUE/FALSE a boolean; a string stays a string; an empty cell of a number or boolean field
is left out).

The CSV is checked first, as `flowguard check FILE.csv` checks it, and the payload is written only
when there are no error findings. Findings are printed on standard error as
FILE:ROW:COLUMN-NAME: SEVERITY: [RULE] message (POINTER), ROW counted as a spreadsheet counts
(the header is row 1) and POINTER the record's place in the payload.

Accepted: UTF-8 with or without a byte order mark, ',' or ';' as the delimiter (whichever the
header row has more of), CRLF or LF line ends, RFC 4180 quoting ("" inside quotes). Reported at
their cell: dates a spreadsheet rewrote (yyyy-mm-dd, d/m/yyyy), times (h:mm, hh:mm:ss),
numbers with thousands separators or a decimal comma, MPANs in scientific notation, bytes that are
not UTF-8; empty rows are left out with a warning.

  --type TYPE     read the columns as TYPE (dfs.unit-meter-point-schedule, dfs.bid-submission,
                  dfs.weekly-settlement, dfs.mpan-forecast); default: recognised from the header row
  --out FILE      write the payload to FILE (default: standard output)
  --force         write the payload even when there are error findings (they are still printed,
                  and the exit status is still 1)
  --rules DIR     also run the Lua rules in DIR (repeatable)
  --quiet         print no notes or summary, only findings

exit status: 0 written, no errors; 1 error findings (written only with --force); 2 usage error,
unreadable file or no header a type's fields can be read from; 3 a plugin/schema/rule failed to load
)";

constexpr const char* kSplitUsage = R"(usage: flowguard split --out DIR [--max N] [--type TYPE] [--force] [--rules DIR] FILE

Splits a DFS submission (JSON, or CSV as `flowguard convert` reads it) into batches the API
accepts: at most N records each (default and most 5,000, the limit of one POST call in DFS API
Schema V1.6 §5), one JSON file each, DIR/STEM-001.json, DIR/STEM-002.json, ..., and a manifest,
DIR/manifest.json, listing the files, their record counts and the pacing.

The whole file is checked first; it is split only when it has no error findings other than having
more records than one call takes (unless --force). Records that rules relate stay in one batch: all
the records of one DFS Unit ID go in the same batch, so that what the API checks per unit
(repeated records, overlapping windows, one MPAN's Add and Remove) sees them together. A unit with
more records than a batch holds is cut by Event ID (bids) or Import MPAN (the other types), and
only when one of those is still too large are its records cut across batches (a warning says
where). Records keep their order within a batch; units are placed in the order they first appear.
Each batch is checked again once written. Batch files of an earlier split of the same FILE
(DIR/STEM-NNN.json) that this split does not write again are removed, with a warning.

The API takes at most 30 calls a minute: the output and the manifest state the interval to send
the batches at (2 seconds) and how long the whole submission takes at least.

  --out DIR       the folder to write the batches and manifest.json to (created if missing)
  --max N         records per batch, 1 to 5000 (default 5000)
  --type TYPE     check and split as TYPE; default: recognised from the content (or header row)
  --force         split even when the file has error findings
  --rules DIR     also run the Lua rules in DIR (repeatable)

exit status: 0 split; 1 error findings (nothing written without --force); 2 usage error or
unreadable file; 3 a plugin/schema/rule failed to load
)";

int usage_error(const std::string& message, const char* command) {
  std::fprintf(stderr, "flowguard: error: %s\n(flowguard %s --help shows the usage)\n", message.c_str(), command);
  return kExitUsage;
}

bool is_csv(const fs::path& file) {
  std::string ext = file.extension().string();
  for (char& ch : ext) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return ext == ".csv";
}

std::optional<std::string> read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return std::nullopt;
  return bytes;
}

// Writes `text` to `file` whole: a temporary beside it, then renamed over it.
bool write_file(const fs::path& file, const std::string& text) {
  const fs::path tmp = file.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return false;
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    if (!out.flush()) return false;
  }
  std::error_code ec;
  fs::rename(tmp, file, ec);
  return !ec;
}

void print_findings(const FileReport& report, bool quiet) {
  const std::string text = format_text({report}, !quiet);
  std::fwrite(text.data(), 1, text.size(), stderr);
}

void print_load_issues(const Engine& engine) {
  for (const auto& issue : engine.load_issues())
    std::fprintf(stderr, "flowguard: warning: %s: %s\n", issue.source.c_str(), issue.message.c_str());
}

struct Common {
  EngineOptions options;
  std::string type, out, file;
  bool force = false, quiet = false;
  std::size_t max = kApiMaxRecords;
};

// Options both commands take; returns an exit status when the arguments are unusable or --help.
std::optional<int> parse(const std::vector<std::string_view>& args, Common& c, const char* command, const char* usage,
                         bool split) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(usage, stdout);
      return kExitClean;
    }
    if (arg == "--type" || arg == "--out" || arg == "--rules" || (split && arg == "--max")) {
      if (i + 1 >= args.size()) return usage_error(std::string(arg) + " needs a value", command);
      const std::string value(args[++i]);
      if (arg == "--type") c.type = value;
      else if (arg == "--out") c.out = value;
      else if (arg == "--rules") c.options.rule_dirs.emplace_back(value);
      else {
        std::size_t n = 0;
        auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
        if (ec != std::errc() || p != value.data() + value.size() || n == 0 || n > kApiMaxRecords)
          return usage_error("--max expects a whole number from 1 to 5000 (the API takes at most 5,000 records a "
                             "call), got \"" + value + "\"", command);
        c.max = n;
      }
    } else if (arg == "--force") {
      c.force = true;
    } else if (!split && arg == "--quiet") {
      c.quiet = true;
    } else if (!arg.empty() && arg[0] == '-') {
      return usage_error("unknown option " + std::string(arg), command);
    } else if (c.file.empty()) {
      c.file = std::string(arg);
    } else {
      return usage_error(std::string(command) + " takes one FILE, got a second: " + std::string(arg), command);
    }
  }
  if (c.file.empty()) return usage_error(std::string(command) + " needs a FILE", command);
  return std::nullopt;
}

// A finding that keeps the file from being split: an error, other than the record count the
// split is for.
bool blocks_split(const Finding& f) {
  return f.severity == Severity::kError && !(f.pointer.empty() && f.rule == "schema.maxItems");
}

// One value written again from the DOM: numbers keep their source text, strings are re-escaped.
void write_value(json::Writer& w, const json::Value& v) {
  switch (v.kind()) {
    case json::Kind::kNull: w.null(); break;
    case json::Kind::kFalse: w.boolean(false); break;
    case json::Kind::kTrue: w.boolean(true); break;
    case json::Kind::kNumber: w.raw(v.number_text()); break;
    case json::Kind::kString: w.string(v.as_string()); break;
    case json::Kind::kArray:
      w.begin_array();
      for (const auto& item : v.items()) write_value(w, item);
      w.end_array();
      break;
    case json::Kind::kObject:
      w.begin_object();
      for (const auto& m : v.members()) {
        w.key(m.key);
        write_value(w, m.value);
      }
      w.end_object();
      break;
  }
}

// The fields records are grouped by, coarse to fine: what the API relates records by (docs/csv.md).
struct Grouping {
  const char* unit;
  const char* finer;
};

Grouping grouping_for(std::string_view type) {
  if (type == "dfs.bid-submission") return {"DFS Unit ID", "Event ID"};
  if (type.rfind("dfs.", 0) == 0) return {"DFS Unit ID", "Import MPAN"};
  return {nullptr, nullptr};  // a type split does not know: records are independent
}

std::string key_of(const json::Value& record, const char* field) {
  if (!field || !record.is_object()) return {};
  const json::Value* v = record.find(field);
  if (!v) return {};
  if (v->is_string()) return "s" + std::string(v->as_string());
  if (v->is_number()) return "n" + std::string(v->number_text());
  return "k" + std::to_string(static_cast<int>(v->kind()));
}

struct Group {
  std::string label;              // for messages: `DFS Unit ID "Beta-1-Z2"`
  std::vector<std::size_t> records;
};

// Groups of `records` by `field`, in the order each first appears.
std::vector<Group> group_by(const json::Value& root, const std::vector<std::size_t>& records, const char* field) {
  std::vector<Group> groups;
  std::map<std::string, std::size_t> index;
  const auto items = root.items();
  for (const std::size_t r : records) {
    const std::string key = key_of(items[r], field);
    auto [it, inserted] = index.try_emplace(key, groups.size());
    if (inserted) {
      Group g;
      if (field) {
        const json::Value* v = items[r].is_object() ? items[r].find(field) : nullptr;
        std::string text;
        if (v && v->is_string()) json::Writer(text).string(v->as_string());
        else if (v && v->is_number()) text = std::string(v->number_text());
        else text = "(none)";
        g.label = std::string(field) + " " + text;
      }
      groups.push_back(std::move(g));
    }
    groups[it->second].records.push_back(r);
  }
  return groups;
}

struct Batch {
  std::vector<std::size_t> records;
  std::size_t groups = 0;
};

// Greedy, in order: a group goes into the current batch when it fits, else starts the next.
// Groups larger than a batch are cut finer, and as a last resort into `max`-sized pieces.
void pack(const json::Value& root, std::vector<Group> groups, const Grouping& grouping, bool finer_done,
          std::size_t max, std::vector<Batch>& batches, std::vector<std::string>& warnings) {
  for (auto& g : groups) {
    if (g.records.size() > max) {
      if (!finer_done && grouping.finer) {
        auto sub = group_by(root, g.records, grouping.finer);
        for (auto& s : sub) s.label = g.label + ", " + s.label;
        pack(root, std::move(sub), grouping, true, max, batches, warnings);
        continue;
      }
      // Too large even so: cut across batches, each piece a batch of its own.
      const std::size_t first_batch = batches.size() + 1;
      for (std::size_t i = 0; i < g.records.size(); i += max) {
        Batch b;
        b.records.assign(g.records.begin() + i, g.records.begin() + std::min(g.records.size(), i + max));
        b.groups = 1;
        batches.push_back(std::move(b));
      }
      warnings.push_back((g.label.empty() ? std::string("the records") : g.label) + " has " +
                         std::to_string(g.records.size()) + " records, more than a batch of " + std::to_string(max) +
                         " holds; they are cut across batches " + std::to_string(first_batch) + " to " +
                         std::to_string(batches.size()));
      continue;
    }
    if (batches.empty() || batches.back().records.size() + g.records.size() > max) batches.emplace_back();
    Batch& b = batches.back();
    b.records.insert(b.records.end(), g.records.begin(), g.records.end());
    ++b.groups;
  }
}

}  // namespace

int run_convert(const std::vector<std::string_view>& args) {
  Common c;
  if (auto status = parse(args, c, "convert", kConvertUsage, false)) return *status;
  auto created = Engine::create(c.options);
  if (!created) return usage_error(created.error().message, "convert");
  Engine& engine = **created;

  auto bytes = read_all(c.file);
  if (!bytes) return usage_error(c.file + ": cannot read the file", "convert");
  auto conversion = engine.convert_csv(*bytes, c.file, c.type);
  if (!conversion) {
    std::fprintf(stderr, "%s: error: %s\n", c.file.c_str(), conversion.error().message.c_str());
    return kExitUsage;
  }
  const FileReport report = engine.check_csv(*bytes, c.file, c.type);
  print_findings(report, c.quiet);
  print_load_issues(engine);
  if (report.input_error) return kExitUsage;
  if (report.errors && !c.force) {
    std::fprintf(stderr, "flowguard convert: nothing written: %s has %zu error finding%s (--force writes it anyway)\n",
                 c.file.c_str(), report.errors, report.errors == 1 ? "" : "s");
    return kExitFindings;
  }
  if (c.out.empty()) {
    std::fwrite(conversion->json.data(), 1, conversion->json.size(), stdout);
    std::fflush(stdout);
  } else if (!write_file(c.out, conversion->json)) {
    return usage_error("cannot write " + c.out, "convert");
  } else if (!c.quiet) {
    std::fprintf(stderr, "flowguard convert: wrote %zu records (%s) to %s\n", conversion->records,
                 conversion->type.c_str(), c.out.c_str());
  }
  if (report.errors) return kExitFindings;
  return engine.load_issues().empty() ? kExitClean : kExitLoad;
}

int run_split(const std::vector<std::string_view>& args) {
  Common c;
  if (auto status = parse(args, c, "split", kSplitUsage, true)) return *status;
  if (c.out.empty()) return usage_error("split needs --out DIR", "split");
  auto created = Engine::create(c.options);
  if (!created) return usage_error(created.error().message, "split");
  Engine& engine = **created;

  auto bytes = read_all(c.file);
  if (!bytes) return usage_error(c.file + ": cannot read the file", "split");
  // The payload to cut: the file itself, or the CSV's records as convert writes them.
  std::string payload;
  FileReport report;
  if (is_csv(c.file)) {
    auto conversion = engine.convert_csv(*bytes, c.file, c.type);
    if (!conversion) {
      std::fprintf(stderr, "%s: error: %s\n", c.file.c_str(), conversion.error().message.c_str());
      return kExitUsage;
    }
    report = engine.check_csv(*bytes, c.file, c.type);
    payload = std::move(conversion->json);
  } else {
    report = engine.check_file(c.file, c.type);
    payload = std::move(*bytes);
  }
  print_load_issues(engine);
  if (report.input_error) {
    print_findings(report, false);
    return kExitUsage;
  }
  const bool blocked = std::any_of(report.findings.begin(), report.findings.end(), blocks_split);
  if (blocked) {
    print_findings(report, false);
    if (!c.force) {
      std::fprintf(stderr, "flowguard split: nothing written: %s has error findings (--force splits it anyway)\n",
                   c.file.c_str());
      return kExitFindings;
    }
  }
  auto doc = json::Document::parse(payload);
  if (!doc || !doc->root().is_array())
    return usage_error(c.file + ": " + report.type + " is not a JSON array of records; split cuts submissions",
                       "split");
  const json::Value& root = doc->root();
  if (root.size() == 0) return usage_error(c.file + " holds no records to split", "split");

  const Grouping grouping = grouping_for(report.type);
  std::vector<std::size_t> all(root.size());
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
  std::vector<Batch> batches;
  std::vector<std::string> warnings;
  pack(root, group_by(root, all, grouping.unit), grouping, false, c.max, batches, warnings);

  std::error_code ec;
  fs::create_directories(c.out, ec);
  if (ec) return usage_error("cannot create " + c.out + " (" + ec.message() + ")", "split");
  const std::string stem = fs::path(c.file).stem().string();

  // Each batch: written, then checked as the API would receive it.
  struct Written {
    std::string name;
    std::size_t records, groups, errors, warnings;
  };
  std::vector<Written> written;
  bool batch_errors = false;
  for (std::size_t b = 0; b < batches.size(); ++b) {
    char name[32];
    std::snprintf(name, sizeof name, "-%03zu.json", b + 1);
    const std::string file_name = stem + name;
    std::vector<std::size_t> order = batches[b].records;
    std::sort(order.begin(), order.end());  // the file's own order within a batch
    std::string text = "[";
    for (std::size_t i = 0; i < order.size(); ++i) {
      text += i ? ",\n  " : "\n  ";
      json::Writer w(text);
      write_value(w, root.items()[order[i]]);
    }
    text += "\n]\n";
    const fs::path path = fs::path(c.out) / file_name;
    if (!write_file(path, text)) return usage_error("cannot write " + path.string(), "split");
    const FileReport check = engine.check(text, path.string(), report.type);
    if (check.errors) {
      print_findings(check, false);
      batch_errors = true;
    }
    written.push_back({file_name, order.size(), batches[b].groups, check.errors, check.warnings});
  }

  // Batches of an earlier split of the same file that this one did not write again would be sent
  // with the new ones: they are removed (only names of the form STEM-NNN.json).
  std::vector<std::string> removed;
  for (const auto& entry : fs::directory_iterator(c.out, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() < stem.size() + 9 || name.compare(0, stem.size() + 1, stem + "-") != 0 ||
        name.substr(name.size() - 5) != ".json")
      continue;
    const std::string digits = name.substr(stem.size() + 1, name.size() - stem.size() - 6);
    if (digits.size() < 3 || !std::all_of(digits.begin(), digits.end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
      continue;
    if (std::none_of(written.begin(), written.end(), [&](const Written& x) { return x.name == name; })) {
      std::error_code rm;
      if (fs::remove(entry.path(), rm)) removed.push_back(name);
    }
  }
  for (const auto& name : removed) warnings.push_back("removed " + name + ", a batch of an earlier split");

  const std::size_t interval = 60 / kApiCallsPerMinute;
  const std::size_t minimum = (written.size() - 1) * interval;
  std::string manifest;
  {
    json::Writer w(manifest);
    w.begin_object().member("source", c.file).member("type", report.type).member("records", root.size());
    w.member("max_records_per_batch", c.max).key("grouped_by").begin_array();
    if (grouping.unit) w.string(grouping.unit);
    if (grouping.finer) w.string(grouping.finer);
    w.end_array().key("batches").begin_array();
    for (const auto& x : written)
      w.begin_object().member("file", x.name).member("records", x.records).member("groups", x.groups)
          .member("errors", x.errors).member("warnings", x.warnings).end_object();
    w.end_array().key("pacing").begin_object().member("calls_per_minute", kApiCallsPerMinute)
        .member("seconds_between_calls", interval).member("minimum_seconds", minimum).end_object();
    w.key("warnings").begin_array();
    for (const auto& x : warnings) w.string(x);
    w.end_array().end_object();
    manifest += "\n";
  }
  const fs::path manifest_path = fs::path(c.out) / "manifest.json";
  if (!write_file(manifest_path, manifest)) return usage_error("cannot write " + manifest_path.string(), "split");

  std::printf("split %s (%s, %zu records) into %zu batch%s of at most %zu records%s:\n", c.file.c_str(),
              report.type.c_str(), root.size(), written.size(), written.size() == 1 ? "" : "es", c.max,
              grouping.unit ? (std::string(", each ") + grouping.unit + "'s records in one batch" +
                               (warnings.empty() ? "" : " except as warned")).c_str()
                            : "");
  for (const auto& x : written)
    std::printf("  %s  %zu records\n", (fs::path(c.out) / x.name).string().c_str(), x.records);
  std::printf("manifest: %s\n", manifest_path.string().c_str());
  std::printf("pacing: the API takes at most %zu calls a minute: send one batch every %zu seconds (%zu batch%s: at "
              "least %zu seconds)\n",
              kApiCallsPerMinute, interval, written.size(), written.size() == 1 ? "" : "es", minimum);
  for (const auto& x : warnings) std::fprintf(stderr, "flowguard split: warning: %s\n", x.c_str());
  if (batch_errors || blocked) return kExitFindings;
  return engine.load_issues().empty() ? kExitClean : kExitLoad;
}

}  // namespace flowguard::cli
