#include "stream_check.hpp"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "files.hpp"
#include "findings.hpp"
#include "stream.hpp"

namespace flowguard::engine {
namespace fs = std::filesystem;

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

std::string parse_error_text(const std::string& path, const ItemStart& at, bool limit, const std::string& message) {
  return path + ":" + std::to_string(at.line) + ":" + std::to_string(at.column) + ": " +
         (limit ? "input exceeds a limit: " : "not valid JSON: ") + message;
}

struct Placed {
  std::size_t chunk_offset;  // where the item starts in the chunk text
  ItemStart start;           // where it starts in the stream
};

// Up to kStreamChunkRecords records as read: their text as one JSON array, where each record
// came from, and the parsed chunk.
struct Batch {
  PaddedBytes chunk;  // parsed in place
  std::vector<Placed> placed;
  Parsed parsed;

  // The text of item k in the chunk.
  std::string_view item(std::size_t k) const {
    const std::string_view text = chunk.view();
    const std::size_t end = (k + 1 == placed.size()) ? text.size() - 1 : placed[k + 1].chunk_offset - 1;
    return text.substr(placed[k].chunk_offset, end - placed[k].chunk_offset);
  }
};

class StreamCheck {
 public:
  StreamCheck(Pipeline& p, std::istream& in, std::string_view source_name, std::string_view type_hint, bool ndjson,
              const Call& call)
      : p_(p), reader_(in, ndjson), source_name_(source_name), type_(type_hint), call_(call) {
    total_.path = std::string(source_name);
  }

  FileReport run();

 private:
  bool read_batch(Batch& b);
  void consume(Batch& b, unsigned jobs);
  void stream_parse_error(const Batch& b, const FileReport& r);
  void merge(FileReport& r, const Batch& b);
  ItemStart locate(const Batch& b, std::uint64_t offset) const;
  void run_serial();
  void run_pipelined(unsigned jobs);
  void judge_array_bounds();

  Pipeline& p_;
  ItemReader reader_;
  std::string_view source_name_;
  std::string type_;
  const Call& call_;
  FileReport total_;
  std::size_t base_ = 0;  // index of the chunk's first record in the whole stream
  bool stop_ = false;
  std::vector<Finding> findings_;
  std::set<std::string> rules_run_;
};

// Reads the next chunk; false when no record is left (or the stream is broken: reader.error()).
// The reader appends each record's text straight into the chunk.
bool StreamCheck::read_batch(Batch& b) {
  b.chunk.clear();
  b.placed.clear();
  ItemStart start;
  while (b.placed.size() < Engine::kStreamChunkRecords) {
    const std::size_t before = b.chunk.size();
    b.chunk.append(b.placed.empty() ? "[" : ",");
    if (!reader_.append_next(b.chunk, start)) {
      b.chunk.truncate(before);
      break;
    }
    b.placed.push_back({before + 1, start});
  }
  if (b.placed.empty()) return false;
  b.chunk.append("]");
  return true;
}

// Chunk offset -> the stream position of the same character.
ItemStart StreamCheck::locate(const Batch& b, std::uint64_t offset) const {
  const auto& placed = b.placed;
  auto it = std::upper_bound(placed.begin(), placed.end(), offset,
                             [](std::uint64_t o, const Placed& p) { return o < p.chunk_offset; });
  if (it == placed.begin()) return reader_.document_start();
  --it;
  return position_in_item(it->start, b.item(static_cast<std::size_t>(it - placed.begin())),
                          static_cast<std::size_t>(offset - it->chunk_offset));
}

// A record that is not JSON: find it and say where it is in the stream.
void StreamCheck::stream_parse_error(const Batch& b, const FileReport& r) {
  for (std::size_t k = 0; k < b.placed.size(); ++k) {
    const std::string text(b.item(k));
    json::Document doc;
    json::ParseError error;
    if (json::Document::parse(text, doc, error)) continue;
    const auto at = position_in_item(b.placed[k].start, text, static_cast<std::size_t>(error.offset));
    total_.input_error = make_error(error.limit ? ErrorCode::kLimit : ErrorCode::kParse,
                                    parse_error_text(total_.path, at, error.limit, error.message));
    break;
  }
  if (!total_.input_error) total_.input_error = r.input_error;
  stop_ = true;
}

// Checks a parsed chunk and merges its report into the stream's.
void StreamCheck::consume(Batch& b, unsigned jobs) {
  FileReport r = p_.check_parsed(b.parsed, source_name_, type_, jobs, Clock::now(), call_);
  if (r.input_error) return stream_parse_error(b, r);
  if (type_.empty()) type_ = r.type;
  if (total_.type.empty()) {
    total_.type = r.type;
    total_.type_from_content = r.type_from_content;
  }
  total_.records += r.records;
  for (auto& id : r.rules_run) rules_run_.insert(id);
  total_.times.parse += r.times.parse;
  total_.times.schema += r.times.schema;
  total_.times.rules += r.times.rules;
  total_.times.records += r.times.records;
  // Totals come from the chunk's report (it counts findings beyond its own cap too).
  total_.errors += r.errors;
  total_.warnings += r.warnings;
  total_.infos += r.infos;
  merge(r, b);
  total_.findings_not_shown += r.findings_not_shown;  // beyond the chunk's own cap
  for (const auto& [rule, n] : r.findings_capped) add_capped(total_.findings_capped, rule, n);
  if (r.type.empty()) stop_ = true;  // an unrecognised document: one finding says so
  base_ += b.placed.size();
}

// The chunk's findings with the stream's pointers and positions.
void StreamCheck::merge(FileReport& r, const Batch& b) {
  for (auto& f : r.findings) {
    if (f.pointer.empty() && (f.rule == "schema.maxItems" || f.rule == "schema.minItems")) {
      --total_.errors;  // judged on the whole stream at the end
      continue;
    }
    if (!f.pointer.empty()) {
      const std::size_t slash = f.pointer.find('/', 1);
      const std::string first = f.pointer.substr(1, slash == std::string::npos ? std::string::npos : slash - 1);
      std::size_t index = 0;
      bool numeric = !first.empty();
      for (char ch : first) numeric = numeric && ch >= '0' && ch <= '9', index = index * 10 + static_cast<std::size_t>(ch - '0');
      if (numeric) f.pointer = "/" + std::to_string(base_ + index) + (slash == std::string::npos ? "" : f.pointer.substr(slash));
    }
    const auto at = locate(b, f.offset);
    f.offset = at.offset;
    f.line = at.line;
    f.column = at.column;
    if (findings_.size() < call_.max_findings) findings_.push_back(std::move(f));
    else ++total_.findings_not_shown;
  }
}

void StreamCheck::run_serial() {
  Batch b;
  while (!stop_ && read_batch(b)) {
    b.parsed = p_.parse(b.chunk.view(), &b.chunk, 1);
    consume(b, 1);
  }
}

// A pipeline: one thread reads the next chunks and parses them while this one checks the current
// chunk (its record stage on the remaining jobs). Reading is the longer side, so this thread,
// rather than wait for the next chunk's parse, parses a later chunk that is read but not yet
// parsed: parsing goes to whichever thread is free, checking stays in order.
class ChunkPipe {
 public:
  using Read = std::function<bool(Batch&)>;
  ChunkPipe(Pipeline& p, Read read) : p_(p), read_(std::move(read)), helper_(m_, cv_) {}

  StageHelper& helper() noexcept { return helper_; }
  void produce();  // the reader thread's loop
  // The next parsed chunk in stream order, parsing read chunks while it waits; false at the end.
  bool next(Batch& b);
  void give_back(Batch&& b);  // a checked chunk's buffers, for reading into
  void cancel();
  std::exception_ptr producer_error() const { return producer_error_; }

 private:
  struct Slot {
    Batch batch;
    enum State { kRead, kParsing, kParsed } state = kRead;
  };
  static constexpr std::size_t kAhead = 3;  // chunks read ahead of the one being checked
  bool has_unparsed() const {
    return std::any_of(slots_.begin(), slots_.end(), [](const Slot& x) { return x.state == Slot::kRead; });
  }
  // The oldest chunk read but not parsed, claimed for parsing; nullptr when there is none.
  Slot* claim() {
    for (Slot& slot : slots_)
      if (slot.state == Slot::kRead) {
        slot.state = Slot::kParsing;
        return &slot;
      }
    return nullptr;
  }
  void parse_slot(Slot& slot);
  void read_one();

  Pipeline& p_;
  Read read_;
  std::mutex m_;
  std::condition_variable cv_;
  std::deque<Slot> slots_;  // in stream order; references stay valid while others are added
  // Checked batches, handed back for reading into: their buffers keep their size, so a chunk is
  // not grown into fresh memory (page faults) every time.
  std::vector<Batch> spare_;
  bool reading_done_ = false, cancel_ = false;
  std::exception_ptr producer_error_;
  // Between reads, the reader also takes part in the current chunk's record stage.
  StageHelper helper_;
};

void ChunkPipe::parse_slot(Slot& slot) {
  slot.batch.parsed = p_.parse(slot.batch.chunk.view(), &slot.batch.chunk, 1);
  std::lock_guard lock(m_);
  slot.state = Slot::kParsed;
  cv_.notify_all();
}

void ChunkPipe::read_one() {
  Batch b;  // reading is this thread's alone
  {
    std::lock_guard lock(m_);
    if (!spare_.empty()) {
      b = std::move(spare_.back());
      spare_.pop_back();
    }
  }
  const bool more = read_(b);
  std::lock_guard lock(m_);
  if (more) slots_.push_back({std::move(b), Slot::kRead});
  else reading_done_ = true;
  cv_.notify_all();
}

void ChunkPipe::produce() {
  try {
    for (;;) {
      Slot* work = nullptr;
      bool read_more = false;
      std::function<void()> stage_work;
      {
        std::unique_lock lock(m_);
        cv_.wait(lock, [&] {
          return cancel_ || helper_.has_work_locked() || (!reading_done_ && slots_.size() < kAhead) || has_unparsed();
        });
        if (cancel_) break;
        stage_work = helper_.take_locked();
        if (!stage_work) {
          read_more = !reading_done_ && slots_.size() < kAhead;
          if (!read_more) work = claim();  // has_unparsed(): not null
        }
      }
      if (stage_work) {
        stage_work();  // catches its own exceptions (run_records_parallel hands them over)
        helper_.finished();
      } else if (read_more) {
        read_one();
      } else {
        parse_slot(*work);
      }
    }
  } catch (...) {  // rethrown on the calling thread, as without the pipeline
    producer_error_ = std::current_exception();
  }
  std::lock_guard lock(m_);
  reading_done_ = true;
  cv_.notify_all();
}

bool ChunkPipe::next(Batch& b) {
  for (;;) {
    Slot* work = nullptr;
    {
      std::unique_lock lock(m_);
      cv_.wait(lock, [&] {
        return (!slots_.empty() && slots_.front().state == Slot::kParsed) || has_unparsed() ||
               (reading_done_ && slots_.empty());
      });
      if (!slots_.empty() && slots_.front().state == Slot::kParsed) {
        b = std::move(slots_.front().batch);
        slots_.pop_front();
        cv_.notify_all();
        return true;
      }
      if (slots_.empty()) return false;  // reading is done and every chunk checked
      work = claim();
    }
    parse_slot(*work);
  }
}

void ChunkPipe::give_back(Batch&& b) {
  b.parsed = {};  // its arena goes back to the parse cache
  std::lock_guard lock(m_);
  spare_.push_back(std::move(b));
}

void ChunkPipe::cancel() {
  std::lock_guard lock(m_);
  cancel_ = true;
  cv_.notify_all();
}

void StreamCheck::run_pipelined(unsigned jobs) {
  ChunkPipe pipe(p_, [this](Batch& b) { return read_batch(b); });
  std::thread producer([&] { pipe.produce(); });
  std::exception_ptr consumer_error;  // the producer must be joined before anything leaves here
  p_.set_helper(&pipe.helper());
  try {
    Batch b;
    while (!stop_ && pipe.next(b)) {
      consume(b, jobs);
      pipe.give_back(std::move(b));
      b = Batch{};
    }
  } catch (...) {
    consumer_error = std::current_exception();
  }
  p_.set_helper(nullptr);
  pipe.cancel();
  producer.join();
  if (consumer_error) std::rethrow_exception(consumer_error);
  if (pipe.producer_error()) std::rethrow_exception(pipe.producer_error());
}

// The array's own minItems/maxItems, judged on the whole stream's record count.
void StreamCheck::judge_array_bounds() {
  const TypeEntry* entry = p_.catalogue().find(type_);
  if (!entry || entry->shape != FG_SHAPE_RECORD_ARRAY) return;
  const auto bounds = array_bounds(p_.catalogue().schema_dirs(), entry->schema);
  const auto count = static_cast<std::int64_t>(total_.records);
  const auto& at = reader_.document_start();
  auto bound = [&](const char* keyword, std::string relation, std::int64_t limit) {
    Finding f = make_finding(std::string("schema.") + keyword, Severity::kError, "",
                             with_spec("the value has " + std::to_string(count) + " items; expected " + relation +
                                           std::to_string(limit) + " items",
                                       bounds.spec),
                             at.offset, entry->schema_error_code);
    f.line = at.line;
    f.column = at.column;
    // Kept even past --max-findings: the record count is the first thing a provider must fix.
    ++total_.errors;
    findings_.push_back(std::move(f));
  };
  if (bounds.max_items && count > *bounds.max_items) bound("maxItems", "at most ", *bounds.max_items);
  if (bounds.min_items && count < *bounds.min_items) bound("minItems", "at least ", *bounds.min_items);
}

FileReport StreamCheck::run() {
  const auto t_start = Clock::now();
  const unsigned jobs = std::max(1u, p_.options().jobs);
  if (jobs == 1) run_serial();
  else run_pipelined(jobs);
  if (reader_.error() && !total_.input_error)
    total_.input_error = make_error(reader_.error_is_limit() ? ErrorCode::kLimit : ErrorCode::kParse,
                                    parse_error_text(total_.path, reader_.error_at(), reader_.error_is_limit(), *reader_.error()));
  if (!total_.input_error && !type_.empty()) judge_array_bounds();
  sort_findings(findings_);
  total_.findings = std::move(findings_);
  total_.rules_run.assign(rules_run_.begin(), rules_run_.end());
  total_.times.total = ms_since(t_start);
  return std::move(total_);
}

}  // namespace

FileReport check_stream(Pipeline& pipeline, std::istream& in, std::string_view source_name, std::string_view type_hint,
                        bool ndjson, const Call& call) {
  return StreamCheck(pipeline, in, source_name, type_hint, ndjson, call).run();
}

}  // namespace flowguard::engine
