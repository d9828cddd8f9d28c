// The record stage: everything done per record (its own schema, native checks, Lua record rules),
// and what --jobs spreads over threads.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_set>
#include <vector>

#include "call.hpp"
#include "flowguard/finding.hpp"
#include "flowguard/schema/validator.hpp"
#include "recognizer.hpp"
#include "rule_pool.hpp"

namespace flowguard::engine {

// One record's share of the work: the type it is checked as, and the schema it is validated
// against on its own (a message's variant; a batch record when the batch schema splits into items).
struct RecordPlan {
  const TypeEntry* type = nullptr;                  // nullptr: matched no type (already reported)
  const schema::CompiledSchema* schema = nullptr;   // nullptr: validated with the whole document
};

// A thread lent to the record stage: the streaming reader, between reads. run_records_parallel
// posts one job's work to it instead of starting a thread; the work takes record chunks from the
// stage's cursor, so whenever the helper gets to it, it only takes what is left.
class StageHelper {
 public:
  StageHelper(std::mutex& m, std::condition_variable& cv) : m_(m), cv_(cv) {}
  void post(std::function<void()> work);
  // Called by the helper with the lock held: the posted work, now running; empty if none.
  std::function<void()> take_locked();
  bool has_work_locked() const noexcept { return static_cast<bool>(posted_); }
  void finished();
  // Work not started is taken back; work started is waited for (its chunk cursor is spent or
  // nearly so by then).
  void recall();

 private:
  std::mutex& m_;
  std::condition_variable& cv_;
  std::function<void()> posted_;
  bool running_ = false;
};

// What every thread of the record stage reads.
struct RecordStage {
  const std::vector<RecordRef>& records;
  const std::vector<RecordPlan>& plans;
  const std::unordered_set<std::string>& document_flagged;  // pointers with a whole-document schema finding
  const json::Value& root;
  bool run_rules;
  bool fast_paths;
  const Call& call;  // the workers' rule hosts get its data before they start
};

// Below this many records a document is checked on one thread: starting workers costs more.
constexpr std::size_t kMinRecordsPerWorker = 1000;

// How many threads the record stage of `records` records uses with `max_jobs` jobs.
inline std::size_t record_jobs(std::size_t records, unsigned max_jobs) {
  return std::min<std::size_t>(std::max(1u, max_jobs), records / kMinRecordsPerWorker);
}

// Records [begin, end) on `host`: each one's own schema, then its native checks and Lua record rules.
void run_record_stage(const RecordStage& stage, const RulePool& pool, std::size_t begin, std::size_t end,
                      lua::RuleHost& host, std::vector<Finding>& out, std::vector<std::size_t>& failed_rules);

// The record stage over all records: split across up to `max_jobs` threads for large documents.
// Threads take chunks of records from a shared cursor, so a slower stretch of records (or a
// thread the machine runs less) does not hold the others up. `first_on_main`, when given, runs
// on the calling thread before it takes chunks (the document rules, on the main rule host); the
// other threads start on chunks at once, with the workers' hosts; `helper`, when given, takes
// one job's share instead of a new thread.
//
// The output is the serial stage's: chunks are merged in record order, and once a rule has
// failed in a chunk, what it reported in later chunks is dropped, as if it had been skipped
// there (the serial stage stops running a rule after its first failure).
void run_records_parallel(const RecordStage& stage, RulePool& pool, StageHelper* helper, unsigned max_jobs,
                          std::vector<Finding>& out, std::vector<std::size_t>& failed_rules,
                          const std::function<void()>& first_on_main = {});

}  // namespace flowguard::engine
