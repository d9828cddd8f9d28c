#include "flowguard/engine.hpp"

#include <algorithm>
#include <atomic>
#include <boost/dll/runtime_symbol_info.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <cstdlib>
#include <ctime>
#include <limits>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <unordered_set>

#include "flowguard/domain/checks.hpp"
#include "flowguard/json/document.hpp"
#include "flowguard/lua/rule_host.hpp"
#include "flowguard/registry/registry.hpp"
#include "flowguard/schema/validator.hpp"
#include "native_checks.hpp"
#include "plugin_host.hpp"
#include "recognizer.hpp"
#include "stream.hpp"

namespace flowguard {
namespace fs = std::filesystem;
using engine::TypeEntry;

using Clock = std::chrono::steady_clock;

namespace {

// `t` as "YYYY-MM-DDThh:mm:ss" (UTC) followed by `zone`.
std::string utc_text(std::time_t t, const char* zone) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return buf + std::string(zone);
}

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

// The limits every rule host (the main one and each worker's) runs under.
lua::Limits rule_limits(const EngineOptions& options) {
  lua::Limits limits;
  limits.instructions_per_call = options.lua_instructions_per_call;
  limits.memory_bytes = options.lua_memory_bytes;
  limits.threads = std::max(1u, options.jobs);
  return limits;
}

// Where the installed (or build-tree) layout puts plugins and data, relative to this library.
struct DefaultDirs {
  std::vector<fs::path> plugins, schemas, rules;
};

DefaultDirs find_default_dirs() {
  DefaultDirs dirs;
  std::error_code fs_ec;
  auto add_prefix = [&](const fs::path& plugins, const fs::path& data) {
    if (fs::is_directory(plugins, fs_ec)) dirs.plugins.push_back(plugins);
    if (fs::is_directory(data / "schemas", fs_ec)) dirs.schemas.push_back(data / "schemas");
    if (fs::is_directory(data / "rules", fs_ec)) dirs.rules.push_back(data / "rules");
  };
  if (const char* home = std::getenv("FLOWGUARD_HOME"); home && *home)
    add_prefix(fs::path(home) / "lib/flowguard/plugins", fs::path(home) / "share/flowguard");
  // The library's own folder anchors the rest: <libdir>/flowguard/plugins beside it, and the data
  // folder at the install layout's relative path (or the build tree's, which mirrors it).
  boost::system::error_code ec;
  const auto self = boost::dll::this_line_location(ec);
  if (!ec) {
    const fs::path libdir = fs::path(self.string()).parent_path();
    add_prefix(libdir / "flowguard/plugins", libdir / FLOWGUARD_DATA_FROM_LIBDIR);
    if (dirs.schemas.empty()) {  // build tree: always <build>/lib and <build>/share/flowguard
      const fs::path data = libdir / "../share/flowguard";
      if (fs::is_directory(data / "schemas", fs_ec)) dirs.schemas.push_back(data / "schemas");
      if (fs::is_directory(data / "rules", fs_ec)) dirs.rules.push_back(data / "rules");
    }
  }
  return dirs;
}

fs::path canonical_or_self(const fs::path& p) {
  std::error_code ec;
  auto c = fs::weakly_canonical(p, ec);
  return ec ? p : c;
}

// A whole file, in a buffer the parser reads in place.
Result<PaddedBytes> read_file(const fs::path& file) {
  std::error_code ec;
  if (fs::is_directory(file, ec)) return make_error(ErrorCode::kIo, file.string() + ": is a directory, expected a JSON file");
  std::ifstream in(file, std::ios::binary);
  if (!in) return make_error(ErrorCode::kIo, file.string() + ": cannot open file (" + std::strerror(errno) + ")");
  PaddedBytes bytes;
  const auto size = fs::file_size(file, ec);
  if (!ec) {  // a regular file: one read of the size it has
    bytes.resize(static_cast<std::size_t>(size));
    in.read(bytes.data(), static_cast<std::streamsize>(size));
    bytes.truncate(static_cast<std::size_t>(in.gcount()));
    if (in.bad()) return make_error(ErrorCode::kIo, file.string() + ": read error");
    if (in.peek() == std::char_traits<char>::eof()) return bytes;
  }
  // No size to go by (a pipe), or the file grew while it was read: read on to its end.
  std::string all(bytes.view());
  all.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (in.bad()) return make_error(ErrorCode::kIo, file.string() + ": read error");
  return PaddedBytes(all);
}

// The pointer of `target` inside `root` (found by address); used for the rare findings that
// start from a value rather than a path. Depth is bounded by the parser's nesting limit.
bool pointer_to(const json::Value& root, const json::Value* target, std::string& pointer) {
  if (&root == target) return true;
  const std::size_t keep = pointer.size();
  if (root.is_array()) {
    std::size_t i = 0;
    for (const auto& item : root.items()) {
      json::append_pointer(pointer, i++);
      if (pointer_to(item, target, pointer)) return true;
      pointer.resize(keep);
    }
  } else if (root.is_object()) {
    for (const auto& m : root.members()) {
      json::append_pointer(pointer, m.key);
      if (pointer_to(m.value, target, pointer)) return true;
      pointer.resize(keep);
    }
  }
  return false;
}

// Document order, then rule id and message, so output is stable and reads top to bottom.
void sort_findings(std::vector<Finding>& findings) {
  std::stable_sort(findings.begin(), findings.end(), [](const Finding& a, const Finding& b) {
    if (a.offset != b.offset) return a.offset < b.offset;
    if (a.rule != b.rule) return a.rule < b.rule;
    return a.message < b.message;
  });
}

std::string with_spec(std::string message, const std::string& spec) {
  if (!spec.empty()) message += " [" + spec + "]";
  return message;
}

// The S1 fields of a DIP-style message, looked up ignoring key case (as the DIP does on ingress).
const json::Value* find_loose(const json::Value* object, std::string_view key) {
  if (!object || !object->is_object()) return nullptr;
  if (const json::Value* v = object->find(key)) return v;
  for (const auto& m : object->members())
    if (domain::loosely_equal_keys(m.key, key) && m.key.size() == key.size()) return &m.value;
  return nullptr;
}

MessageInfo describe_message(const engine::RecordRef& record, const TypeEntry* type) {
  MessageInfo info;
  info.pointer = record.pointer();
  if (type) info.type = type->name;
  const json::Value* s1 = find_loose(find_loose(record.value, "CommonBlock"), "S1");
  if (!s1 || !s1->is_object()) return info;
  // The five S1 fields in one pass over S1's members, as find_loose finds each: the first exact
  // key, else the first key of the same length that matches loosely.
  static constexpr std::string_view kKeys[] = {"senderUniqueReference", "senderCorrelationID", "senderTimestamp",
                                               "senderDIPID", "DIPConnectionProviderID"};
  constexpr std::size_t kCount = std::size(kKeys);
  const json::Value* found[kCount] = {};
  bool exact[kCount] = {};
  for (const auto& m : s1->members())
    for (std::size_t k = 0; k < kCount; ++k) {
      if (exact[k] || m.key.size() != kKeys[k].size()) continue;
      if (m.key == kKeys[k]) found[k] = &m.value, exact[k] = true;
      else if (!found[k] && domain::loosely_equal_keys(m.key, kKeys[k])) found[k] = &m.value;
    }
  auto text = [&](std::size_t k) -> std::optional<std::string> {
    if (found[k] && found[k]->is_string()) return std::string(found[k]->as_string());
    return std::nullopt;
  };
  info.sender_unique_reference = text(0);
  info.sender_correlation_id = text(1);
  info.sender_timestamp = text(2);
  info.sender_dip_id = text(3);
  info.dcp_dip_id = text(4);
  return info;
}

// One record's share of the work: the type it is checked as, and the schema it is validated
// against on its own (a message's variant; a batch record when the batch schema splits into items).
struct RecordPlan {
  const TypeEntry* type = nullptr;                  // nullptr: matched no type (already reported)
  const schema::CompiledSchema* schema = nullptr;   // nullptr: validated with the whole document
};

// What one check runs with: the engine's options, or a CheckRequest's overrides of them.
struct Call {
  std::size_t max_findings = 1000;
  bool strict_keys = false;
  std::shared_ptr<const json::Document> options;  // fg.data.options
  std::shared_ptr<const json::Document> headers;  // fg.data.headers; null: none
  lua::CallState* state = nullptr;                 // fg.state; null: none (the rules' own memory)
};

// What every thread of the record stage reads.
struct RecordStage {
  const std::vector<engine::RecordRef>& records;
  const std::vector<RecordPlan>& plans;
  const std::unordered_set<std::string>& document_flagged;  // pointers with a whole-document schema finding
  const json::Value& root;
  bool run_rules;
  const Call& call;  // the workers' rule hosts get its data before they start
};

// fg.data.options: the run options the rules see.
std::string options_json(const EngineOptions& options, std::string_view now) {
  std::string text = "{\"flows\":" + std::string(options.flows ? "true" : "false") +
                     ",\"timestamp_skew_seconds\":" + std::to_string(options.timestamp_skew_seconds) + ",\"now\":";
  json::write_json_string(text, now);
  text += "}";
  return text;
}

// fg.data.headers: the request's HTTP headers, in the order given.
std::string headers_json(const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string text = "{";
  for (const auto& [name, value] : headers) {
    if (text.size() > 1) text += ",";
    json::write_json_string(text, name);
    text += ":";
    json::write_json_string(text, value);
  }
  text += "}";
  return text;
}

// A request's window, as the rules see it (fg.state): references of documents accepted earlier,
// within the window, and those of this document, staged until the engine knows it is accepted.
// The staged set also answers for a stream's later chunks (one document, checked a chunk at a time).
// Generic over what a "reference" is: the rules decide which values they ask about and stage.
class WindowState final : public lua::CallState {
 public:
  WindowState(ReferenceWindow& window, std::int64_t now) : window_(window), now_(now) {}

  std::optional<std::string> reference_seen(std::string_view reference) override {
    {
      std::lock_guard lock(m_);  // record rules on the workers may call it too
      if (staged_.find(reference) != staged_.end()) return std::string("already used by a message earlier in this document");
    }
    const auto first = window_.find(reference, now_);
    if (!first) return std::nullopt;
    return "already used by a message accepted " + std::to_string(std::max<std::int64_t>(0, now_ - *first)) +
           " s ago (within the " + std::to_string(window_.limits().window_seconds) + " s window)";
  }

  void remember_reference(std::string_view reference) override {
    std::lock_guard lock(m_);
    if (staged_.find(reference) == staged_.end()) {
      staged_.emplace(reference);
      order_.emplace_back(reference);
    }
  }

  // The document was accepted: its references go into the window (in the order the rules staged them).
  void commit() {
    for (const auto& reference : order_) window_.insert(reference, now_);
  }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  ReferenceWindow& window_;
  const std::int64_t now_;
  std::mutex m_;
  std::unordered_set<std::string, Hash, std::equal_to<>> staged_;
  std::vector<std::string> order_;
};

// Below this many records a document is checked on one thread: starting workers costs more.
constexpr std::size_t kMinRecordsPerWorker = 1000;

}  // namespace

struct Engine::Impl {
  EngineOptions options;
  std::vector<fs::path> schema_dirs, rule_roots;
  engine::PluginHost plugins;
  std::vector<TypeEntry> types;
  std::vector<LoadIssue> issues;

  // rules: the main rule host; workers: one more per extra job (a lua_State is single-threaded).
  // All load the same directories in the same order, so rule indexes agree across hosts.
  std::unique_ptr<lua::RuleHost> rules;
  std::vector<std::unique_ptr<lua::RuleHost>> workers;

  // A thread lent to the record stage: the streaming reader, between reads. run_records_parallel
  // posts one job's work to it instead of starting a thread; the work takes record chunks from the
  // stage's cursor, so whenever the helper gets to it, it only takes what is left.
  class Helper {
   public:
    Helper(std::mutex& m, std::condition_variable& cv) : m_(m), cv_(cv) {}
    void post(std::function<void()> work) {
      std::lock_guard lock(m_);
      posted_ = std::move(work);
      cv_.notify_all();
    }
    // Called by the helper with the lock held: the posted work, now running; empty if none.
    std::function<void()> take_locked() {
      std::function<void()> work = std::move(posted_);
      posted_ = nullptr;
      running_ = static_cast<bool>(work);
      return work;
    }
    bool has_work_locked() const noexcept { return static_cast<bool>(posted_); }
    void finished() {
      std::lock_guard lock(m_);
      running_ = false;
      cv_.notify_all();
    }
    // Work not started is taken back; work started is waited for (its chunk cursor is spent or
    // nearly so by then).
    void recall() {
      std::unique_lock lock(m_);
      posted_ = nullptr;
      cv_.wait(lock, [&] { return !running_; });
    }

   private:
    std::mutex& m_;
    std::condition_variable& cv_;
    std::function<void()> posted_;
    bool running_ = false;
  };
  Helper* helper = nullptr;  // set while a streamed check with several jobs runs
  std::vector<std::size_t> worker_dirs_loaded;  // how many of rule_dir_order each worker has loaded
  std::vector<fs::path> rule_dir_order;
  std::set<fs::path> loaded_rule_dirs;

  struct CompiledType {
    bool attempted = false;
    std::optional<schema::CompiledSchema> document_schema;
    std::optional<schema::CompiledSchema> item_schema;  // when the document schema splits into items
  };
  std::map<std::string, CompiledType> compiled;

  // One per message family met so far (its variants in candidate order); types never change
  // after create(), so the TypeEntry pointers stay valid.
  std::vector<std::unique_ptr<engine::VariantIndex>> variant_indexes;
  const engine::VariantIndex& variant_index(const std::vector<const TypeEntry*>& variants) {
    for (const auto& index : variant_indexes)
      if (index->variants() == variants) return *index;
    variant_indexes.push_back(std::make_unique<engine::VariantIndex>(variants));
    return *variant_indexes.back();
  }

  // Read-only data every rule host sees as fg.data.<name> (the registry, run options).
  std::vector<std::pair<std::string, std::shared_ptr<const json::Document>>> shared_data;

  // The settings of a check without a request: the options', with the documents made at create().
  Call engine_call;
  std::string engine_now;  // the `now` in engine_call.options

  // Which per-call documents a rule host has (its fg.data.options/headers), so a call replaces
  // them only when they differ: replacing costs a call into Lua, and makes kept views stale. The
  // host holds the documents, so an address cannot be reused while it is recorded here.
  struct Bound {
    const json::Document* options = nullptr;
    const json::Document* headers = nullptr;
  };
  Bound main_bound;
  std::vector<Bound> worker_bound;  // one per workers[i]

  void bind(lua::RuleHost& host, Bound& bound, const Call& call) {
    if (bound.options != call.options.get()) {
      host.set_data("options", call.options);
      bound.options = call.options.get();
    }
    if (bound.headers != call.headers.get()) {
      host.set_data("headers", call.headers);
      bound.headers = call.headers.get();
    }
    host.set_call_state(call.state);
  }
  // No host keeps a call's state past the call (it lives on the caller's stack).
  void unbind_state() noexcept {
    rules->set_call_state(nullptr);
    for (auto& w : workers) w->set_call_state(nullptr);
  }

  // The last request's documents, reused while the next asks for the same `now` (with the clock:
  // for a second) or the same headers: a server's calls parse no JSON for them in between.
  std::string request_now;
  std::shared_ptr<const json::Document> request_options;
  std::vector<std::pair<std::string, std::string>> request_headers;
  std::shared_ptr<const json::Document> request_headers_doc;
  std::time_t clock_second = -1;  // the clock's last reading, as text
  std::string clock_text;

  // The settings of `request`; `now` is set to its time (unix seconds). Usage errors as values.
  Result<Call> call_for(const CheckRequest& request, std::int64_t& now);
  template <class Check>
  FileReport with_request(const CheckRequest& request, std::string_view source_name, Check&& check);
  FileReport stream(std::istream& in, std::string_view source_name, std::string_view type_hint, bool ndjson,
                    const Call& call);

  std::unordered_set<std::string> ensured_rule_sets;
  void load_rule_dir(const fs::path& dir, bool must_exist) {
    const auto key = canonical_or_self(dir);
    if (!loaded_rule_dirs.insert(key).second) return;
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
      if (must_exist) issues.push_back({dir.string(), "rule directory does not exist"});
      return;
    }
    rule_dir_order.push_back(dir);
    for (auto& error : rules->load_directory(dir)) issues.push_back({dir.string(), std::move(error.message)});
  }

  void ensure_rule_set(const TypeEntry& type) {
    // Once per rule set: the directory lookups below resolve paths (syscalls), and a server asks
    // on every request.
    if (type.rule_set.empty() || !ensured_rule_sets.insert(type.rule_set).second) return;
    for (const auto& root : rule_roots) load_rule_dir(root / type.rule_set, false);
  }

  // Brings every worker's rule host up to the main host's directories (their load errors are the
  // main host's, already reported).
  bool sync_workers(std::size_t count) {
    while (workers.size() < count) {
      auto host = lua::RuleHost::create(rule_limits(options));
      if (!host) return false;
      for (const auto& [name, data] : shared_data) host.value()->set_data(name, data);
      workers.push_back(std::move(host).value());
      worker_dirs_loaded.push_back(0);
      worker_bound.push_back({engine_call.options.get(), engine_call.headers.get()});
    }
    for (std::size_t w = 0; w < count; ++w)
      for (; worker_dirs_loaded[w] < rule_dir_order.size(); ++worker_dirs_loaded[w])
        workers[w]->load_directory(rule_dir_order[worker_dirs_loaded[w]]);
    for (std::size_t w = 0; w < count; ++w)
      if (workers[w]->rules().size() != rules->rules().size()) return false;
    return true;
  }

  // Records [begin, end): each one's own schema, then its native checks and Lua record rules.
  void run_record_stage(const RecordStage& stage, std::size_t begin, std::size_t end, lua::RuleHost& host,
                        std::vector<Finding>& out, std::vector<std::size_t>& failed_rules);

  // A document parsed (or not), and how long that took.
  struct Parsed {
    json::Document doc;
    json::ParseError error;
    bool ok = false;
    double parse_ms = 0;
  };
  // `padded`, when given, holds `bytes` with the parser's padding: they are read in place.
  Parsed parse(std::string_view bytes, const PaddedBytes* padded, unsigned threads) const;
  // Everything after parsing; the record stage on up to `jobs` threads.
  FileReport check_parsed(Parsed& parsed, std::string_view source_name, std::string_view type_hint, unsigned jobs,
                          Clock::time_point t_start, const Call& call);

  // How many threads the record stage of `records` records uses with `max_jobs` jobs.
  static std::size_t record_jobs(std::size_t records, unsigned max_jobs) {
    return std::min<std::size_t>(std::max(1u, max_jobs), records / kMinRecordsPerWorker);
  }

  // The record stage over all records: split across up to `max_jobs` threads for large documents.
  // Threads take chunks of records from a shared cursor, so a slower stretch of records (or a
  // thread the machine runs less) does not hold the others up. `first_on_main`, when given, runs
  // on the calling thread before it takes chunks (the document rules, on the main rule host); the
  // other threads start on chunks at once, with the workers' hosts.
  //
  // The output is the serial stage's: chunks are merged in record order, and once a rule has
  // failed in a chunk, what it reported in later chunks is dropped, as if it had been skipped
  // there (the serial stage stops running a rule after its first failure).
  void run_records_parallel(const RecordStage& stage, unsigned max_jobs, std::vector<Finding>& out,
                            std::vector<std::size_t>& failed_rules, const std::function<void()>& first_on_main = {}) {
    const auto& records = stage.records;
    const std::size_t jobs = record_jobs(records.size(), max_jobs);
    if (jobs <= 1 || !sync_workers(jobs - 1)) {
      if (first_on_main) first_on_main();
      run_record_stage(stage, 0, records.size(), *rules, out, failed_rules);
      return;
    }
    for (std::size_t w = 0; w + 1 < jobs; ++w) bind(*workers[w], worker_bound[w], stage.call);
    constexpr std::size_t kChunksPerJob = 8;
    const std::size_t chunk = (records.size() + jobs * kChunksPerJob - 1) / (jobs * kChunksPerJob);
    const std::size_t chunks = (records.size() + chunk - 1) / chunk;
    std::vector<std::vector<Finding>> outs(chunks);
    std::vector<std::vector<std::size_t>> failures(chunks);
    std::vector<std::exception_ptr> errors(jobs);
    std::atomic<std::size_t> next{0};
    auto work = [&](std::size_t j, lua::RuleHost& host) {
      try {
        if (j == 0 && first_on_main) first_on_main();
        for (std::size_t c; (c = next.fetch_add(1, std::memory_order_relaxed)) < chunks;)
          run_record_stage(stage, c * chunk, std::min(records.size(), (c + 1) * chunk), host, outs[c], failures[c]);
      } catch (...) {  // handed to the calling thread, as if the stage had run there
        errors[j] = std::current_exception();
        next.store(chunks);  // the others stop after their current chunk
      }
    };
    std::vector<std::thread> threads;
    Helper* const lent = helper;
    for (std::size_t j = 1; j < jobs; ++j) {
      if (lent && j == 1) {
        lent->post([&work, &host = *workers[0]] { work(1, host); });
        continue;
      }
      try {
        threads.emplace_back(work, j, std::ref(*workers[j - 1]));
      } catch (...) {
        break;  // no thread to be had: the threads there are (at least this one) take every chunk
      }
    }
    work(0, *rules);
    if (lent) lent->recall();
    for (auto& t : threads) t.join();
    for (auto& e : errors)
      if (e) std::rethrow_exception(e);
    std::set<std::string_view> failed_ids;
    std::set<std::size_t> failed;
    for (std::size_t c = 0; c < chunks; ++c) {
      for (auto& f : outs[c])
        if (failed_ids.empty() || !failed_ids.count(f.rule)) out.push_back(std::move(f));
      for (const std::size_t r : failures[c])
        if (failed.insert(r).second) failed_ids.insert(rules->rules()[r].id);
    }
    failed_rules.assign(failed.begin(), failed.end());
  }

  // What the record stage runs for one type: its native checks and its Lua record rules, worked
  // out once per type (again after more rules were loaded), not once per record.
  struct TypeRules {
    bool built = false;
    std::size_t rule_count = 0;  // rules loaded when it was built
    engine::NativeChecks native;
    std::vector<std::size_t> record_rules;  // rules with a Lua record check
  };
  std::map<const TypeEntry*, TypeRules> type_rules;
  const TypeRules& rules_for(const TypeEntry& type);

  // The schema of a type, compiled on first use. nullptr (with a load issue) when it cannot be.
  // compiled[type.name] found by the entry's address: a DIP batch asks once per message.
  std::unordered_map<const TypeEntry*, CompiledType*> compiled_by_entry;
  CompiledType& compiled_slot(const TypeEntry& type) {
    auto [it, inserted] = compiled_by_entry.try_emplace(&type, nullptr);
    if (inserted) it->second = &compiled[type.name];  // map nodes never move
    return *it->second;
  }

  const schema::CompiledSchema* schema_for(const TypeEntry& type) {
    auto& slot = compiled_slot(type);
    if (!slot.attempted) {
      slot.attempted = true;
      std::error_code ec;
      std::vector<std::string> tried;
      for (const auto& dir : schema_dirs) {
        auto file = dir / type.schema;
        if (!fs::is_regular_file(file, ec)) { tried.push_back(file.string()); continue; }
        auto loaded = schema::CompiledSchema::load_file(file);
        if (loaded) {
          slot.document_schema = std::move(loaded).value();
          slot.item_schema = slot.document_schema->root_items_schema();
        }
        else issues.push_back({file.string(), loaded.error().message});
        break;
      }
      if (!slot.document_schema && tried.size() == schema_dirs.size()) {
        std::string where;
        for (const auto& t : tried) where += (where.empty() ? "" : ", ") + t;
        issues.push_back({type.schema, "schema for " + type.name + " not found (looked in: " + (where.empty() ? "no schema directories" : where) + ")"});
      }
    }
    return slot.document_schema ? &*slot.document_schema : nullptr;
  }
  // The schema of one item of the type's root array, when validating items one by one is exact.
  const schema::CompiledSchema* item_schema_for(const TypeEntry& type) {
    if (!schema_for(type)) return nullptr;
    const auto& slot = compiled_slot(type);
    return slot.item_schema ? &*slot.item_schema : nullptr;
  }
};

Engine::Engine() : impl_(std::make_unique<Impl>()) {}
Engine::~Engine() = default;

Result<std::unique_ptr<Engine>> Engine::create(const EngineOptions& options) {
  std::unique_ptr<Engine> engine(new Engine());
  Impl& impl = *engine->impl_;
  impl.options = options;

  DefaultDirs defaults;
  if (options.use_default_dirs) defaults = find_default_dirs();
  std::vector<fs::path> plugin_dirs = options.plugin_dirs;
  plugin_dirs.insert(plugin_dirs.end(), defaults.plugins.begin(), defaults.plugins.end());
  impl.schema_dirs = options.schema_dirs;
  impl.schema_dirs.insert(impl.schema_dirs.end(), defaults.schemas.begin(), defaults.schemas.end());
  impl.rule_roots = defaults.rules;

  std::set<fs::path> seen;
  for (const auto& dir : plugin_dirs)
    if (seen.insert(canonical_or_self(dir)).second) impl.plugins.load_directory(dir, impl.types, impl.issues);
  if (impl.types.empty())
    impl.issues.push_back({"plugins", "no message types are available: no plugin loaded (searched " +
                                          std::to_string(plugin_dirs.size()) + " plugin directories)"});

  auto host = lua::RuleHost::create(rule_limits(options));
  if (!host) return std::move(host).error();
  impl.rules = std::move(host).value();

  // Data for the rules: run options always, the market registry when asked for.
  impl.engine_now = options.now.empty() ? utc_now() : options.now;
  auto run_options_doc = json::Document::parse(options_json(options, impl.engine_now));
  if (!run_options_doc) return make_error(ErrorCode::kInternal, "run options: " + run_options_doc.error().message);
  impl.engine_call.max_findings = options.max_findings;
  impl.engine_call.strict_keys = options.strict_keys;
  impl.engine_call.options = std::make_shared<const json::Document>(std::move(run_options_doc).value());
  impl.shared_data.emplace_back("options", impl.engine_call.options);
  if (!options.headers.empty()) {
    auto headers_doc = json::Document::parse(headers_json(options.headers));
    if (!headers_doc) return make_error(ErrorCode::kUsage, "--header: " + headers_doc.error().message);
    impl.engine_call.headers = std::make_shared<const json::Document>(std::move(headers_doc).value());
    impl.shared_data.emplace_back("headers", impl.engine_call.headers);
  }
  if (!options.registry.empty()) {
    std::error_code ec;
    fs::path data_dir;
    for (const auto& dir : impl.schema_dirs)
      if (fs::is_regular_file(dir / "registry.schema.json", ec)) { data_dir = dir.parent_path(); break; }
    if (data_dir.empty()) return make_error(ErrorCode::kUsage, "--registry: schemas/registry.schema.json was not found in any schema directory");
    auto registry = registry::load_registry_option(options.registry, data_dir);
    if (!registry) return make_error(ErrorCode::kUsage, registry.error().message);
    impl.shared_data.emplace_back("registry", std::move(registry).value());
  }
  for (const auto& [name, data] : impl.shared_data) impl.rules->set_data(name, data);
  impl.main_bound = {impl.engine_call.options.get(), impl.engine_call.headers.get()};
  for (const auto& dir : options.rule_dirs) impl.load_rule_dir(dir, true);
  if (options.load_all_rules) engine->preload();
  return engine;
}

const std::vector<LoadIssue>& Engine::load_issues() const noexcept { return impl_->issues; }

std::vector<TypeInfo> Engine::types() const {
  std::vector<TypeInfo> out;
  for (const auto& t : impl_->types) out.push_back({t.name, t.title, t.plugin, t.spec});
  return out;
}

void Engine::preload() {
  for (const auto& t : impl_->types) {
    impl_->ensure_rule_set(t);
    impl_->schema_for(t);
  }
}

FileReport Engine::check_file(const fs::path& file, std::string_view type_hint) {
  std::error_code ec;
  const auto size = fs::file_size(file, ec);
  const auto ext = file.extension().string();
  const bool ndjson = ext == ".ndjson" || ext == ".jsonl";
  if (!ec && (ndjson || size >= kStreamThresholdBytes)) {
    std::ifstream in(file, std::ios::binary);
    if (in) return check_stream(in, file.string(), type_hint, ndjson);
  }
  auto bytes = read_file(file);
  if (!bytes) {
    FileReport report;
    report.path = file.string();
    report.input_error = bytes.error();
    return report;
  }
  return check(*bytes, file.string(), type_hint);
}

namespace {

Finding make_finding(std::string rule, Severity severity, std::string pointer, std::string message, std::uint64_t offset,
                     std::string code = {}) {
  Finding f;
  f.rule = std::move(rule);
  f.severity = severity;
  f.pointer = std::move(pointer);
  f.message = std::move(message);
  f.offset = offset;
  f.code = std::move(code);
  return f;
}

// Schema violations as findings, emptying `violations`. `flagged` collects the pointers of the
// violations proper (a native check then stays quiet on the same field); a key-case deviation is
// accepted on ingress (the DIP ignores key case) and is a warning unless exact keys were asked for.
void add_schema_findings(std::vector<schema::Violation>& violations, const TypeEntry& type, bool strict_keys,
                         std::vector<Finding>& out, std::unordered_set<std::string>& flagged) {
  for (auto& v : violations) {
    if (v.keyword == "keyCase") {
      out.push_back(make_finding("schema.key-case", strict_keys ? Severity::kError : Severity::kWarning,
                                 std::move(v.pointer), std::move(v.message), v.offset,
                                 strict_keys ? type.schema_error_code : std::string()));
      continue;
    }
    flagged.insert(v.pointer);
    out.push_back(make_finding("schema." + v.keyword, Severity::kError, std::move(v.pointer), std::move(v.message),
                               v.offset, type.schema_error_code));
  }
  violations.clear();
}

// The offset a rule's report points at: the field when present, else the record, else the
// nearest existing ancestor of an explicit pointer.
std::pair<std::string, std::uint64_t> place_of(const lua::RuleReport& rep, const json::Value& root,
                                               const std::vector<engine::RecordRef>& records) {
  if (rep.pointer) {
    const json::Value* at = json::resolve_pointer(root, *rep.pointer);
    std::string probe = *rep.pointer;
    while (!at && !probe.empty()) {
      probe.erase(probe.rfind('/'));
      at = json::resolve_pointer(root, probe);
    }
    return {*rep.pointer, at ? at->offset() : root.offset()};
  }
  if (rep.record && *rep.record < records.size()) {
    const auto& rec = records[*rep.record];
    std::string pointer = rec.pointer();
    std::uint64_t offset = rec.value->offset();
    if (!rep.field.empty() && rec.value->is_object())
      if (const json::Member* m = rec.value->find_member(rep.field)) {
        json::append_pointer(pointer, rep.field);
        offset = m->value.offset();
      }
    return {std::move(pointer), offset};
  }
  return {"", root.offset()};
}

}  // namespace

const Engine::Impl::TypeRules& Engine::Impl::rules_for(const TypeEntry& type) {
  const auto& all = rules->rules();
  TypeRules& entry = type_rules[&type];
  if (entry.built && entry.rule_count == all.size()) return entry;
  std::vector<std::size_t> applicable;
  entry.record_rules.clear();
  for (std::size_t r = 0; r < all.size(); ++r) {
    if (!all[r].applies_to(type.name)) continue;
    applicable.push_back(r);
    if (all[r].has_record) entry.record_rules.push_back(r);
  }
  entry.native = engine::NativeChecks(all, applicable);
  entry.rule_count = all.size();
  entry.built = true;
  return entry;
}

void Engine::Impl::run_record_stage(const RecordStage& stage, std::size_t begin, std::size_t end, lua::RuleHost& host,
                                    std::vector<Finding>& out, std::vector<std::size_t>& failed_rules) {
  const auto& records = stage.records;
  const auto& rules = host.rules();
  std::vector<lua::RuleReport> reports;
  std::vector<std::size_t> record_rules;
  std::vector<lua::RuleFailure> failures;
  std::vector<schema::Violation> violations;
  std::unordered_set<std::string> record_flagged;  // this record's own schema findings
  schema::KeyShapeMemo key_shapes;  // records of one document share key shapes
  engine::NativeChecks::ShapeCache native_shapes;
  const TypeEntry* last_type = nullptr;
  const TypeRules* plan = nullptr;
  auto failed = [&](std::size_t r) {
    return !failed_rules.empty() && std::find(failed_rules.begin(), failed_rules.end(), r) != failed_rules.end();
  };
  std::size_t current = 0;  // the record the native checks are reporting on
  const engine::FieldProblem add = [&](std::size_t r, const std::string& field, const json::Value& value,
                                       std::string message) {
    std::string pointer = records[current].pointer();
    json::append_pointer(pointer, field);
    if (stage.document_flagged.count(pointer) || record_flagged.count(pointer)) return;  // one finding per field: the schema's
    const auto& rule = rules[r];
    out.push_back(make_finding(rule.id, rule.severity, std::move(pointer), with_spec(std::move(message), rule.spec),
                               value.offset(), rule.code));
  };
  for (std::size_t i = begin; i < end; ++i) {
    const TypeEntry* type = stage.plans[i].type;
    const json::Value& record = *records[i].value;
    if (!type) continue;
    current = i;
    record_flagged.clear();
    if (const schema::CompiledSchema* schema = stage.plans[i].schema) {
      schema::ValidateOptions how{type->case_insensitive_keys};
      how.skip_valid_subtrees = options.fast_paths;
      how.key_shapes = &key_shapes;
      if (!options.fast_paths || !schema->accepts(record, how)) {
        schema->validate(record, records[i].pointer(), violations, SIZE_MAX, how);
        add_schema_findings(violations, *type, stage.call.strict_keys, out, record_flagged);
      }
    }
    if (!stage.run_rules || !record.is_object()) continue;  // the schema says why a record is not an object
    if (type != last_type) {
      last_type = type;
      plan = &type_rules.at(type);  // built in check() before any worker started
    }
    // Native field checks: no Lua on this path.
    if (!options.fast_paths) native_shapes = {};  // every record looks its fields up (what the tests compare)
    if (!plan->native.empty()) plan->native.run(record, native_shapes, failed, add);
    if (plan->record_rules.empty()) continue;
    record_rules.clear();
    for (std::size_t r : plan->record_rules)
      if (!failed(r)) record_rules.push_back(r);
    if (record_rules.empty()) continue;
    failures.clear();
    host.run_record_rules(record_rules, record, i, reports, failures);
    for (auto& rep : reports) {
      const auto& rule = rules[rep.rule];
      auto [pointer, offset] = place_of(rep, stage.root, records);
      out.push_back(make_finding(rule.id, rep.severity.value_or(rule.severity), std::move(pointer),
                                 with_spec(std::move(rep.message), rule.spec), offset, rep.code.value_or(rule.code)));
    }
    reports.clear();
    for (auto& failure : failures) {
      // A broken rule fails once per document, not once per record.
      failed_rules.push_back(failure.rule_index);
      out.push_back(make_finding(rules[failure.rule_index].id, Severity::kError, records[i].pointer(),
                                 "rule failed: " + failure.error.message, record.offset()));
    }
  }
}

Engine::Impl::Parsed Engine::Impl::parse(std::string_view bytes, const PaddedBytes* padded, unsigned threads) const {
  Parsed p;
  const auto t_start = Clock::now();
  json::ParseOptions parse_options;
  parse_options.max_depth = options.max_depth;
  parse_options.threads = threads;  // a large root array is parsed in ranges, one per job
  p.ok = padded ? json::Document::parse(*padded, p.doc, p.error, parse_options)
                : json::Document::parse(bytes, p.doc, p.error, parse_options);
  p.parse_ms = ms_since(t_start);
  return p;
}

FileReport Engine::check(std::string_view bytes, std::string_view source_name, std::string_view type_hint) {
  const auto t_start = Clock::now();
  Impl::Parsed parsed = impl_->parse(bytes, nullptr, std::max(1u, impl_->options.jobs));
  return impl_->check_parsed(parsed, source_name, type_hint, impl_->options.jobs, t_start, impl_->engine_call);
}

FileReport Engine::check(const PaddedBytes& bytes, std::string_view source_name, std::string_view type_hint) {
  const auto t_start = Clock::now();
  Impl::Parsed parsed = impl_->parse(bytes.view(), &bytes, std::max(1u, impl_->options.jobs));
  return impl_->check_parsed(parsed, source_name, type_hint, impl_->options.jobs, t_start, impl_->engine_call);
}

Result<Call> Engine::Impl::call_for(const CheckRequest& request, std::int64_t& now) {
  Call call = engine_call;
  call.state = nullptr;
  if (request.max_findings) call.max_findings = *request.max_findings;
  if (request.strict_keys) call.strict_keys = *request.strict_keys;

  // The call's time: the request's, else the engine's --now, else the clock (read as text once a second).
  std::string_view now_text;
  if (!request.now.empty() || !options.now.empty()) {
    now_text = !request.now.empty() ? std::string_view(request.now) : std::string_view(options.now);
    // Only a time that is needed is judged: a request's own, or the engine's when a window uses it
    // (the engine never required --now to be a date-time; a DIP time rule then simply does not run).
    if (!request.now.empty() || request.references) {
      const auto instant = now_text.size() >= 20 && now_text[10] == 'T' ? registry::parse_instant(now_text) : std::nullopt;
      if (!instant)
        return make_error(ErrorCode::kUsage, std::string(request.now.empty() ? "--now" : "CheckRequest::now") + " \"" +
                                                 std::string(now_text) +
                                                 "\" is not a date-time; expected YYYY-MM-DDThh:mm:ssZ (or an offset)");
      now = *instant;
    }
  } else {
    const std::time_t t = std::time(nullptr);
    if (t != clock_second) {
      clock_text = utc_text(t, "Z");
      clock_second = t;
    }
    now_text = clock_text;
    now = static_cast<std::int64_t>(t);
  }

  if (now_text == engine_now) {
    call.options = engine_call.options;
  } else {
    if (!request_options || now_text != request_now) {
      auto doc = json::Document::parse(options_json(options, now_text));
      if (!doc) return make_error(ErrorCode::kInternal, "run options: " + doc.error().message);
      request_options = std::make_shared<const json::Document>(std::move(doc).value());
      request_now = std::string(now_text);
    }
    call.options = request_options;
  }

  if (!request.headers.empty()) {
    if (!request_headers_doc || request.headers != request_headers) {
      auto doc = json::Document::parse(headers_json(request.headers));
      if (!doc) return make_error(ErrorCode::kUsage, "CheckRequest::headers: " + doc.error().message);
      request_headers_doc = std::make_shared<const json::Document>(std::move(doc).value());
      request_headers = request.headers;
    }
    call.headers = request_headers_doc;
  }
  return call;
}

// A request's check: its settings, the check itself (`check(call, t_start)`), and the window's
// update once the report says the document was accepted. Anything thrown becomes the report's
// input_error (kInternal): a server's worker must not be taken down by one request.
template <class Check>
FileReport Engine::Impl::with_request(const CheckRequest& request, std::string_view source_name, Check&& check) {
  const auto t_start = Clock::now();
  auto failed = [&](Error error) {
    FileReport report;
    report.path = std::string(source_name);
    report.input_error = std::move(error);
    report.times.total = ms_since(t_start);
    return report;
  };
  try {
    std::int64_t now = 0;
    auto call = call_for(request, now);
    if (!call) return failed(std::move(call).error());
    std::optional<WindowState> window;
    if (request.references) {
      window.emplace(*request.references, now);
      call->state = &*window;
    }
    FileReport report = check(*call, t_start);
    if (window && !report.input_error && report.errors == 0) window->commit();
    return report;
  } catch (const std::exception& e) {
    return failed(make_error(ErrorCode::kInternal, std::string("internal error: ") + e.what()));
  } catch (...) {
    return failed(make_error(ErrorCode::kInternal, "internal error"));
  }
}

FileReport Engine::check(const PaddedBytes& bytes, std::string_view source_name, std::string_view type_hint,
                         const CheckRequest& request) {
  return impl_->with_request(request, source_name, [&](const Call& call, Clock::time_point t_start) {
    Impl::Parsed parsed = impl_->parse(bytes.view(), &bytes, std::max(1u, impl_->options.jobs));
    return impl_->check_parsed(parsed, source_name, type_hint, impl_->options.jobs, t_start, call);
  });
}

FileReport Engine::check(std::string_view bytes, std::string_view source_name, std::string_view type_hint,
                         const CheckRequest& request) {
  return impl_->with_request(request, source_name, [&](const Call& call, Clock::time_point t_start) {
    Impl::Parsed parsed = impl_->parse(bytes, nullptr, std::max(1u, impl_->options.jobs));
    return impl_->check_parsed(parsed, source_name, type_hint, impl_->options.jobs, t_start, call);
  });
}

FileReport Engine::check_stream(std::istream& in, std::string_view source_name, std::string_view type_hint, bool ndjson,
                                const CheckRequest& request) {
  return impl_->with_request(request, source_name, [&](const Call& call, Clock::time_point) {
    return impl_->stream(in, source_name, type_hint, ndjson, call);
  });
}

FileReport Engine::check_file(const fs::path& file, std::string_view type_hint, const CheckRequest& request) {
  std::error_code ec;
  const auto size = fs::file_size(file, ec);
  const auto ext = file.extension().string();
  const bool ndjson = ext == ".ndjson" || ext == ".jsonl";
  if (!ec && (ndjson || size >= kStreamThresholdBytes)) {
    std::ifstream in(file, std::ios::binary);
    if (in) return check_stream(in, file.string(), type_hint, ndjson, request);
  }
  auto bytes = read_file(file);
  if (!bytes) {
    FileReport report;
    report.path = file.string();
    report.input_error = bytes.error();
    return report;
  }
  return check(*bytes, file.string(), type_hint, request);
}

FileReport Engine::Impl::check_parsed(Parsed& parsed, std::string_view source_name, std::string_view type_hint,
                                      unsigned jobs, Clock::time_point t_start, const Call& call) {
  Impl& impl = *this;
  // The call's data on the main rule host (the workers get it when the record stage starts them).
  struct Unbind {
    Impl& impl;
    ~Unbind() { impl.unbind_state(); }
  } unbind{impl};
  impl.bind(*impl.rules, impl.main_bound, call);
  FileReport report;
  report.path = std::string(source_name);
  report.times.parse = parsed.parse_ms;
  if (!parsed.ok) {
    const json::ParseError& parse_error = parsed.error;
    report.input_error = make_error(
        parse_error.limit ? ErrorCode::kLimit : ErrorCode::kParse,
        report.path + ":" + std::to_string(parse_error.line) + ":" + std::to_string(parse_error.column) + ": " +
            (parse_error.limit ? "input exceeds a limit: " : "not valid JSON: ") + parse_error.message);
    return report;
  }
  const json::Document& doc = parsed.doc;
  const json::Value& root = doc.root();

  std::vector<Finding> findings;
  for (const auto& dup : doc.duplicate_keys()) {
    std::string pointer;
    if (dup.object && pointer_to(root, dup.object, pointer)) json::append_pointer(pointer, dup.key);
    findings.push_back(make_finding("json.duplicate-key", Severity::kWarning, std::move(pointer),
                                    "key \"" + std::string(dup.key) + "\" appears more than once in this object; receivers may keep either value",
                                    dup.key_offset));
  }

  // Which types may this be?
  std::vector<const TypeEntry*> candidates;
  for (const auto& t : impl.types)
    if (type_hint.empty() || t.name == type_hint ||
        (t.name.size() > type_hint.size() && t.name.compare(0, type_hint.size(), type_hint) == 0 &&
         t.name[type_hint.size()] == '.'))
      candidates.push_back(&t);
  if (!type_hint.empty() && candidates.empty()) {
    report.input_error = make_error(ErrorCode::kUnknownType, "unknown type \"" + std::string(type_hint) + "\"" +
                                                                 engine::closest_names(type_hint, impl.types));
    return report;
  }

  // Message families (the DIP): each message is matched to its own variant by discriminators.
  std::vector<const TypeEntry*> variants;
  for (const TypeEntry* t : candidates)
    if (t->shape == FG_SHAPE_MESSAGE && !t->matches.empty()) variants.push_back(t);
  std::vector<engine::RecordRef> records;
  std::vector<RecordPlan> plans;
  const TypeEntry* type = nullptr;  // the single type of a non-message document
  bool message_mode = false;
  // Cheap pre-test: a message family is only worth matching when the first message carries the
  // family's first discriminator at all (a DFS batch never has /CommonBlock/S0/interfaceID).
  // A message carrying that field is the family's, even when its values match no variant (it then
  // gets type.unknown-variant naming the closest ones, not type.unrecognised).
  bool family_signature = false;
  if (!variants.empty() && type_hint.empty()) {
    const json::Value* first = root.is_array() ? (root.size() ? &root.items()[0] : nullptr) : &root;
    if (first && first->is_object() && first->size() == 1 && first->find("payload")) first = first->find("payload");
    family_signature = first && first->is_object() && engine::match_variant_prefix(*first, *variants.front());
    if (!family_signature) variants.clear();
  }
  if (!variants.empty()) {
    auto messages = engine::locate_messages(root);
    std::vector<RecordPlan> message_plans(messages.size());
    bool any = false;
    const engine::VariantIndex& index = impl.variant_index(variants);
    for (std::size_t i = 0; i < messages.size(); ++i) {
      message_plans[i].type = index.match(*messages[i].value);
      any = any || message_plans[i].type;
    }
    // A hint inside a message family commits to it; without a hint, one recognised message does.
    const bool hint_is_family = !type_hint.empty() && candidates.size() == variants.size();
    if (any || hint_is_family || family_signature) {
      message_mode = true;
      records = std::move(messages);
      plans = std::move(message_plans);
    }
  }

  if (message_mode) {
    const TypeEntry* single = nullptr;  // the one variant of every recognised message (names are unique)
    bool several = false;
    report.messages.reserve(records.size());
    for (std::size_t i = 0; i < records.size(); ++i) {
      report.messages.push_back(describe_message(records[i], plans[i].type));
      if (plans[i].type) {
        several = several || (single && single != plans[i].type);
        single = plans[i].type;
      } else if (variants.size() == 1 && type_hint == variants.front()->name) {
        // Asked for one variant (the DIP validation path names it): the message says it is another.
        auto mismatch = engine::describe_variant_mismatch(*records[i].value, *variants.front());
        findings.push_back(make_finding("type.variant-mismatch", Severity::kError, records[i].pointer() + mismatch.pointer,
                                        std::move(mismatch.message), mismatch.at->offset(),
                                        variants.front()->unknown_variant_code));
      } else {
        findings.push_back(make_finding("type.unknown-variant", Severity::kError, records[i].pointer(),
                                        engine::describe_unknown_variant(*records[i].value, variants),
                                        records[i].value->offset(), variants.front()->unknown_variant_code));
      }
    }
    if (single && !several) report.type = single->name;
    else report.type = variants.front()->name.substr(0, variants.front()->name.find('.'));  // the family
    report.type_from_content = true;
  } else if (candidates.size() == 1 && !type_hint.empty() && candidates[0]->name == type_hint) {
    type = candidates[0];
  } else {
    auto recognition = engine::recognize(root, candidates);
    if (recognition.type) {
      type = recognition.type;
      report.type_from_content = type_hint.empty() || type_hint != type->name;
    } else {
      findings.push_back(make_finding("type.unrecognised", Severity::kError, "", recognition.explanation, root.offset()));
    }
  }
  if (type) {
    report.type = type->name;
    records = engine::locate_records(root, *type);
    plans.assign(records.size(), RecordPlan{type});
  }
  report.records = records.size();

  // Schema: the fast accept path first; the diagnostic walk only for what fails it. A message is
  // validated against its variant, and a batch whose schema splits into items has each record
  // validated on its own, both in the record stage (on as many threads as --jobs gives).
  const auto t_schema = Clock::now();
  std::unordered_set<std::string> schema_flagged;
  std::vector<schema::Violation> violations;
  auto schema_missing = [&](const TypeEntry& t, const std::string& pointer, std::uint64_t offset) {
    findings.push_back(make_finding("schema.unavailable", Severity::kError, pointer,
                                    "the schema of " + t.name + " could not be loaded, so this was not validated against it",
                                    offset));
  };
  if (type) {
    if (const auto* schema = impl.schema_for(*type)) {
      schema::ValidateOptions how{type->case_insensitive_keys};
      how.skip_valid_subtrees = impl.options.fast_paths;
      const schema::CompiledSchema* items = impl.options.fast_paths ? impl.item_schema_for(*type) : nullptr;
      const bool records_are_root_items = root.is_array() && records.size() == root.size() &&
                                          (records.empty() || records.front().value == root.items().data());
      if (items && records_are_root_items) {
        how.skip_root_items = true;
        for (auto& plan : plans) plan.schema = items;
      }
      if (!impl.options.fast_paths || !schema->accepts(root, how)) {
        schema->validate(root, "", violations, SIZE_MAX, how);
        add_schema_findings(violations, *type, call.strict_keys, findings, schema_flagged);
      }
    } else {
      schema_missing(*type, "", root.offset());
    }
  } else if (message_mode) {
    for (std::size_t i = 0; i < records.size(); ++i) {
      const TypeEntry* t = plans[i].type;
      if (!t) continue;
      plans[i].schema = impl.schema_for(*t);
      if (!plans[i].schema) schema_missing(*t, records[i].pointer(), records[i].value->offset());
    }
  }
  report.times.schema = ms_since(t_schema);

  // Records (their own schemas, native checks, Lua record rules), then document rules.
  const auto t_rules = Clock::now();
  const bool record_schemas = std::any_of(plans.begin(), plans.end(), [](const RecordPlan& p) { return p.schema; });
  const RecordStage stage{records, plans, schema_flagged, root, impl.options.run_rules, call};
  if (!impl.options.run_rules && record_schemas) {
    std::vector<std::size_t> no_rules_failed;
    impl.run_records_parallel(stage, jobs, findings, no_rules_failed);
    report.times.records = ms_since(t_rules);
  }
  if (impl.options.run_rules && !records.empty()) {
    std::set<const TypeEntry*> present;
    for (const auto& p : plans)
      if (p.type) present.insert(p.type);
    for (const TypeEntry* t : present) impl.ensure_rule_set(*t);
    for (const TypeEntry* t : present) impl.rules_for(*t);  // before the record stage's workers start

    // The rules that apply to any type present run; of those, the ones with a document check run
    // it once per document (a rule whose record check failed skips its document check). The
    // record lists are built once, and only when some document rule applies.
    const auto& rules = impl.rules->rules();
    std::vector<std::size_t> document_rules;
    for (std::size_t r = 0; r < rules.size(); ++r) {
      if (std::none_of(present.begin(), present.end(), [&](const TypeEntry* t) { return rules[r].applies_to(t->name); }))
        continue;
      report.rules_run.push_back(rules[r].id);
      if (rules[r].has_document) document_rules.push_back(r);
    }
    std::vector<std::pair<std::size_t, Finding>> document_findings;  // (rule, finding)
    auto run_document_rules = [&](const std::vector<std::size_t>& skip) {
      std::vector<const json::Value*> record_values;
      const lua::RuleHost::RecordPointerFn record_pointer = [&records](std::size_t i) { return records[i].pointer(); };
      std::vector<lua::RuleReport> reports;
      for (const std::size_t r : document_rules) {
        if (std::find(skip.begin(), skip.end(), r) != skip.end()) continue;
        const auto& rule = rules[r];
        if (record_values.size() != records.size()) {
          record_values.reserve(records.size());
          for (const auto& rec : records) record_values.push_back(rec.value);
        }
        auto status = impl.rules->run_document(r, record_values, record_pointer, root, reports);
        for (auto& rep : reports) {
          auto [pointer, offset] = place_of(rep, root, records);
          document_findings.emplace_back(
              r, make_finding(rule.id, rep.severity.value_or(rule.severity), std::move(pointer),
                              with_spec(std::move(rep.message), rule.spec), offset, rep.code.value_or(rule.code)));
        }
        reports.clear();
        if (!status)
          document_findings.emplace_back(
              r, make_finding(rule.id, Severity::kError, "", "rule failed: " + status.error().message, root.offset()));
      }
    };

    std::vector<std::size_t> failed_rules;
    const auto t_records = Clock::now();
    // With several jobs the document rules run first on the main rule host while the other jobs
    // start on the records (the main thread joins them when it is done): document rules are one
    // Lua state's walk over all records, the part that otherwise stays serial. Their results are
    // the same as run afterwards: the rules whose record check failed are dropped from them below.
    const std::size_t parallel_jobs = Impl::record_jobs(records.size(), jobs);
    if (!document_rules.empty() && parallel_jobs >= 2) {
      std::exception_ptr document_error;
      const std::function<void()> document_work = [&] {
        try {
          run_document_rules({});
        } catch (...) {
          document_error = std::current_exception();
        }
      };
      impl.run_records_parallel(stage, jobs, findings, failed_rules, document_work);
      if (document_error) std::rethrow_exception(document_error);
      report.times.records = ms_since(t_records);
      std::erase_if(document_findings, [&](const auto& f) {
        return std::find(failed_rules.begin(), failed_rules.end(), f.first) != failed_rules.end();
      });
    } else {
      impl.run_records_parallel(stage, jobs, findings, failed_rules);
      report.times.records = ms_since(t_records);
      run_document_rules(failed_rules);
    }
    for (auto& [rule, finding] : document_findings) findings.push_back(std::move(finding));
  }
  report.times.rules = ms_since(t_rules) - report.times.records;

  sort_findings(findings);
  for (const auto& f : findings)
    ++(f.severity == Severity::kError ? report.errors : f.severity == Severity::kWarning ? report.warnings : report.infos);
  if (findings.size() > call.max_findings) {
    report.findings_not_shown = findings.size() - call.max_findings;
    findings.resize(call.max_findings);
  }
  if (!findings.empty()) {  // the line index costs a pass over the input: only when something is reported
    const auto& lines = doc.lines();
    for (auto& f : findings) std::tie(f.line, f.column) = lines.locate(f.offset);
  }
  report.findings = std::move(findings);
  report.times.total = ms_since(t_start);
  return report;
}

namespace {

// An array-level bound of a type's document schema ("minItems"/"maxItems"), read from the schema
// file, with the schema's x-spec: streaming judges them on the record count at the end.
struct ArrayBounds {
  std::optional<std::int64_t> min_items, max_items;
  std::string spec;
};

ArrayBounds array_bounds(const std::vector<fs::path>& schema_dirs, const std::string& schema) {
  ArrayBounds bounds;
  std::error_code ec;
  for (const auto& dir : schema_dirs) {
    if (!fs::is_regular_file(dir / schema, ec)) continue;
    auto bytes = read_file(dir / schema);
    if (!bytes) break;
    auto doc = json::Document::parse(bytes->view());
    if (!doc) break;
    const json::Value& root = doc->root();
    if (const auto* v = root.find("minItems"); v && v->is_number()) bounds.min_items = static_cast<std::int64_t>(v->as_double());
    if (const auto* v = root.find("maxItems"); v && v->is_number()) bounds.max_items = static_cast<std::int64_t>(v->as_double());
    const json::Value* spec = root.find("x-spec");
    if (!spec)
      if (const auto* items = root.find("items")) spec = items->find("x-spec");
    if (spec && spec->is_string()) bounds.spec = std::string(spec->as_string());
    break;
  }
  return bounds;
}

}  // namespace

FileReport Engine::check_stream(std::istream& in, std::string_view source_name, std::string_view type_hint, bool ndjson) {
  return impl_->stream(in, source_name, type_hint, ndjson, impl_->engine_call);
}

FileReport Engine::Impl::stream(std::istream& in, std::string_view source_name, std::string_view type_hint, bool ndjson,
                                const Call& call) {
  const auto t_start = Clock::now();
  FileReport total;
  total.path = std::string(source_name);
  engine::ItemReader reader(in, ndjson);

  struct Placed {
    std::size_t chunk_offset;   // where the item starts in the chunk text
    engine::ItemStart start;    // where it starts in the stream
  };
  // Up to kStreamChunkRecords records as read: their text as one JSON array, where each record
  // came from, and the parsed chunk.
  struct Batch {
    PaddedBytes chunk;  // parsed in place
    std::vector<Placed> placed;
    Impl::Parsed parsed;
  };
  std::string type(type_hint);
  std::size_t base = 0;         // index of the chunk's first record in the whole stream
  bool stop = false;
  std::vector<Finding> findings;
  std::set<std::string> rules_run;

  // Reads the next chunk; false when no record is left (or the stream is broken: reader.error()).
  // The reader appends each record's text straight into the chunk.
  auto read_batch = [&](Batch& b) {
    b.chunk.clear();
    b.placed.clear();
    engine::ItemStart start;
    while (b.placed.size() < kStreamChunkRecords) {
      const std::size_t before = b.chunk.size();
      b.chunk.append(b.placed.empty() ? "[" : ",");
      if (!reader.append_next(b.chunk, start)) {
        b.chunk.truncate(before);
        break;
      }
      b.placed.push_back({before + 1, start});
    }
    if (b.placed.empty()) return false;
    b.chunk.append("]");
    return true;
  };

  // Checks a parsed chunk and merges its report into the stream's.
  auto consume = [&](Batch& b, unsigned jobs) {
    const std::string_view chunk = b.chunk.view();
    const auto& placed = b.placed;
    // Chunk offset -> the stream position of the same character.
    auto locate = [&](std::uint64_t offset) {
      auto it = std::upper_bound(placed.begin(), placed.end(), offset,
                                 [](std::uint64_t o, const Placed& p) { return o < p.chunk_offset; });
      if (it == placed.begin()) return reader.document_start();
      --it;
      const std::size_t end = (it + 1 == placed.end()) ? chunk.size() - 1 : (it + 1)->chunk_offset - 1;
      return engine::position_in_item(it->start, chunk.substr(it->chunk_offset, end - it->chunk_offset),
                                      static_cast<std::size_t>(offset - it->chunk_offset));
    };
    FileReport r = check_parsed(b.parsed, source_name, type, jobs, Clock::now(), call);
    if (r.input_error) {
      // A record that is not JSON: find it and say where it is in the stream.
      for (std::size_t k = 0; k < placed.size(); ++k) {
        const std::size_t end = (k + 1 == placed.size()) ? chunk.size() - 1 : placed[k + 1].chunk_offset - 1;
        const std::string text(chunk.substr(placed[k].chunk_offset, end - placed[k].chunk_offset));
        json::Document doc;
        json::ParseError error;
        if (json::Document::parse(text, doc, error)) continue;
        const auto at = engine::position_in_item(placed[k].start, text, static_cast<std::size_t>(error.offset));
        total.input_error = make_error(error.limit ? ErrorCode::kLimit : ErrorCode::kParse,
                                       total.path + ":" + std::to_string(at.line) + ":" + std::to_string(at.column) + ": " +
                                           (error.limit ? "input exceeds a limit: " : "not valid JSON: ") + error.message);
        break;
      }
      if (!total.input_error) total.input_error = r.input_error;
      stop = true;
      return;
    }
    if (type.empty()) type = r.type;
    if (total.type.empty()) {
      total.type = r.type;
      total.type_from_content = r.type_from_content;
    }
    total.records += r.records;
    for (auto& id : r.rules_run) rules_run.insert(id);
    total.times.parse += r.times.parse;
    total.times.schema += r.times.schema;
    total.times.rules += r.times.rules;
    total.times.records += r.times.records;
    // Totals come from the chunk's report (it counts findings beyond its own cap too).
    total.errors += r.errors;
    total.warnings += r.warnings;
    total.infos += r.infos;
    for (auto& f : r.findings) {
      if (f.pointer.empty() && (f.rule == "schema.maxItems" || f.rule == "schema.minItems")) {
        --total.errors;  // judged on the whole stream at the end
        continue;
      }
      if (!f.pointer.empty()) {
        const std::size_t slash = f.pointer.find('/', 1);
        const std::string first = f.pointer.substr(1, slash == std::string::npos ? std::string::npos : slash - 1);
        std::size_t index = 0;
        bool numeric = !first.empty();
        for (char ch : first) numeric = numeric && ch >= '0' && ch <= '9', index = index * 10 + static_cast<std::size_t>(ch - '0');
        if (numeric) f.pointer = "/" + std::to_string(base + index) + (slash == std::string::npos ? "" : f.pointer.substr(slash));
      }
      const auto at = locate(f.offset);
      f.offset = at.offset;
      f.line = at.line;
      f.column = at.column;
      if (findings.size() < call.max_findings) findings.push_back(std::move(f));
      else ++total.findings_not_shown;
    }
    total.findings_not_shown += r.findings_not_shown;  // beyond the chunk's own cap
    if (r.type.empty()) stop = true;  // an unrecognised document: one finding says so
    base += placed.size();
  };

  const unsigned jobs = std::max(1u, this->options.jobs);
  if (jobs == 1) {
    Batch b;
    while (!stop && read_batch(b)) {
      b.parsed = this->parse(b.chunk.view(), &b.chunk, 1);
      consume(b, 1);
    }
  } else {
    // A pipeline: one thread reads the next chunks and parses them while this one checks the
    // current chunk (its record stage on the remaining jobs). Reading is the longer side, so
    // this thread, rather than wait for the next chunk's parse, parses a later chunk that is
    // read but not yet parsed: parsing goes to whichever thread is free, checking stays in order.
    struct Slot {
      Batch batch;
      enum State { kRead, kParsing, kParsed } state = kRead;
    };
    constexpr std::size_t kAhead = 3;  // chunks read ahead of the one being checked
    std::mutex m;
    std::condition_variable cv;
    std::deque<Slot> slots;  // in stream order; references stay valid while others are added
    // Checked batches, handed back for reading into: their buffers keep their size, so a chunk
    // is not grown into fresh memory (page faults) every time.
    std::vector<Batch> spare;
    bool reading_done = false, cancel = false;
    std::exception_ptr producer_error;
    auto has_unparsed = [&] {
      return std::any_of(slots.begin(), slots.end(), [](const Slot& x) { return x.state == Slot::kRead; });
    };
    // The oldest chunk read but not parsed, claimed for parsing; nullptr when there is none.
    auto claim = [&]() -> Slot* {
      for (Slot& slot : slots)
        if (slot.state == Slot::kRead) {
          slot.state = Slot::kParsing;
          return &slot;
        }
      return nullptr;
    };
    auto parse_slot = [&](Slot& slot) {
      slot.batch.parsed = this->parse(slot.batch.chunk.view(), &slot.batch.chunk, 1);
      std::lock_guard lock(m);
      slot.state = Slot::kParsed;
      cv.notify_all();
    };
    // Between reads, this thread also takes part in the current chunk's record stage.
    Impl::Helper helper(m, cv);
    std::thread producer([&] {
      try {
        for (;;) {
          Slot* work = nullptr;
          bool read_more = false;
          std::function<void()> stage_work;
          {
            std::unique_lock lock(m);
            cv.wait(lock, [&] {
              return cancel || helper.has_work_locked() || (!reading_done && slots.size() < kAhead) || has_unparsed();
            });
            if (cancel) break;
            stage_work = helper.take_locked();
            if (!stage_work) {
              read_more = !reading_done && slots.size() < kAhead;
              if (!read_more) work = claim();  // has_unparsed(): not null
            }
          }
          if (stage_work) {
            stage_work();  // catches its own exceptions (run_records_parallel hands them over)
            helper.finished();
            continue;
          }
          if (read_more) {
            Batch b;  // reading is this thread's alone
            {
              std::lock_guard lock(m);
              if (!spare.empty()) {
                b = std::move(spare.back());
                spare.pop_back();
              }
            }
            const bool more = read_batch(b);
            std::lock_guard lock(m);
            if (more) slots.push_back({std::move(b), Slot::kRead});
            else reading_done = true;
            cv.notify_all();
            continue;
          }
          parse_slot(*work);
        }
      } catch (...) {  // rethrown on the calling thread, as without the pipeline
        producer_error = std::current_exception();
      }
      std::lock_guard lock(m);
      reading_done = true;
      cv.notify_all();
    });
    std::exception_ptr consumer_error;  // the producer must be joined before anything leaves here
    this->helper = &helper;
    try {
      while (!stop) {
        Slot* work = nullptr;
        Batch b;
        {
          std::unique_lock lock(m);
          cv.wait(lock, [&] {
            return (!slots.empty() && slots.front().state == Slot::kParsed) || has_unparsed() ||
                   (reading_done && slots.empty());
          });
          if (!slots.empty() && slots.front().state == Slot::kParsed) {
            b = std::move(slots.front().batch);
            slots.pop_front();
            cv.notify_all();
          } else if (slots.empty()) {
            break;  // reading is done and every chunk checked
          } else {
            work = claim();
          }
        }
        if (work) {
          parse_slot(*work);
          continue;
        }
        consume(b, jobs);
        b.parsed = {};  // its arena goes back to the parse cache
        std::lock_guard lock(m);
        spare.push_back(std::move(b));
      }
    } catch (...) {
      consumer_error = std::current_exception();
    }
    this->helper = nullptr;
    {
      std::lock_guard lock(m);
      cancel = true;
      cv.notify_all();
    }
    producer.join();
    if (consumer_error) std::rethrow_exception(consumer_error);
    if (producer_error) std::rethrow_exception(producer_error);
  }
  if (reader.error() && !total.input_error) {
    const auto& at = reader.error_at();
    total.input_error = make_error(ErrorCode::kParse, total.path + ":" + std::to_string(at.line) + ":" +
                                                          std::to_string(at.column) + ": not valid JSON: " + *reader.error());
  }
  if (!total.input_error && !type.empty()) {
    if (const TypeEntry* entry = [&]() -> const TypeEntry* {
          for (const auto& t : this->types)
            if (t.name == type) return &t;
          return nullptr;
        }();
        entry && entry->shape == FG_SHAPE_RECORD_ARRAY) {
      const auto bounds = array_bounds(this->schema_dirs, entry->schema);
      const auto count = static_cast<std::int64_t>(total.records);
      const auto& at = reader.document_start();
      auto bound = [&](const char* keyword, std::string relation, std::int64_t limit) {
        Finding f = make_finding(std::string("schema.") + keyword, Severity::kError, "",
                                 with_spec("the value has " + std::to_string(count) + " items; expected " + relation +
                                               std::to_string(limit) + " items",
                                           bounds.spec),
                                 at.offset, entry->schema_error_code);
        f.line = at.line;
        f.column = at.column;
        // Kept even past --max-findings: the record count is the first thing a provider must fix.
        ++total.errors;
        findings.push_back(std::move(f));
      };
      if (bounds.max_items && count > *bounds.max_items) bound("maxItems", "at most ", *bounds.max_items);
      if (bounds.min_items && count < *bounds.min_items) bound("minItems", "at least ", *bounds.min_items);
    }
  }
  sort_findings(findings);
  total.findings = std::move(findings);
  total.rules_run.assign(rules_run.begin(), rules_run.end());
  total.times.total = ms_since(t_start);
  return total;
}


std::string utc_now(const char* zone) { return utc_text(std::time(nullptr), zone); }

std::vector<std::string> order_by_sender_timestamp(const std::vector<std::string>& files) {
  std::vector<std::pair<std::int64_t, std::string>> keyed;
  std::int64_t last = std::numeric_limits<std::int64_t>::max();
  for (const auto& file : files) {
    std::int64_t when = last;
    if (auto bytes = read_file(file)) {
      if (auto doc = json::Document::parse(bytes->view())) {
        const auto messages = engine::locate_messages(doc->root());
        if (!messages.empty()) {
          const auto info = describe_message(messages.front(), nullptr);
          if (info.sender_timestamp)
            if (auto instant = registry::parse_instant(*info.sender_timestamp)) when = *instant;
        }
      }
    }
    keyed.emplace_back(when, file);
  }
  std::stable_sort(keyed.begin(), keyed.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> ordered;
  for (auto& [when, file] : keyed) ordered.push_back(std::move(file));
  return ordered;
}

}  // namespace flowguard
