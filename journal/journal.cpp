// The journal on SQLite. Two connections: the writer (group commits, marks, claims, replay,
// requeue, prune), and a reader for list/show/stats/recall so an operator's query never waits
// behind an fsync. Claims live in memory beside the writer and are guarded by its mutex, so a
// claim can never interleave with the mark that releases it.
#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <deque>
#include <exception>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "flowguard/journal/journal.hpp"
#include "schema.hpp"
#include "sqlite_db.hpp"

// Early return of an Error from a Result/Status expression; keeps the SQL paths readable.
#define FG_TRY(var, expr)                        \
  auto var = (expr);                             \
  if (!var) return std::move(var).error()
#define FG_CHECK(expr)                           \
  do {                                           \
    auto fg_check_ = (expr);                     \
    if (!fg_check_) return std::move(fg_check_).error(); \
  } while (0)

namespace flowguard::journal {

const char* to_string(MessageState state) noexcept {
  switch (state) {
    case MessageState::kReceived: return "Received";
    case MessageState::kValidated: return "Validated";
    case MessageState::kRouted: return "Routed";
    case MessageState::kDelivered: return "Delivered";
    case MessageState::kRetrying: return "Retrying";
    case MessageState::kFailed: return "Failed";
    case MessageState::kDeadLettered: return "DeadLettered";
  }
  return "Received";
}

const char* to_string(DeliveryState state) noexcept {
  switch (state) {
    case DeliveryState::kPending: return "Pending";
    case DeliveryState::kRetrying: return "Retrying";
    case DeliveryState::kDelivered: return "Delivered";
    case DeliveryState::kFailed: return "Failed";
    case DeliveryState::kDeadLettered: return "DeadLettered";
  }
  return "Pending";
}

namespace {

using detail::Db;
using detail::Stmt;

constexpr std::size_t kMaxIdLength = 65;  // DT-014-DIPTransactionID
constexpr std::size_t kMaxQueryIds = 100;  // MessageRequest.transactionIDs maxItems

std::int64_t to_us(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}
TimePoint from_us(std::int64_t us) { return TimePoint(std::chrono::duration_cast<Clock::duration>(std::chrono::microseconds(us))); }
std::optional<TimePoint> from_us(const std::optional<std::int64_t>& us) {
  return us ? std::optional<TimePoint>(from_us(*us)) : std::nullopt;
}

std::optional<MessageState> message_state_from(std::string_view s) {
  for (auto st : {MessageState::kReceived, MessageState::kValidated, MessageState::kRouted, MessageState::kDelivered,
                  MessageState::kRetrying, MessageState::kFailed, MessageState::kDeadLettered}) {
    if (s == to_string(st)) return st;
  }
  return std::nullopt;
}
std::optional<DeliveryState> delivery_state_from(std::string_view s) {
  for (auto st : {DeliveryState::kPending, DeliveryState::kRetrying, DeliveryState::kDelivered, DeliveryState::kFailed,
                  DeliveryState::kDeadLettered}) {
    if (s == to_string(st)) return st;
  }
  return std::nullopt;
}

// FNV-1a: a short, stable hash for the truncated form of over-long references (not security).
std::string short_hash(std::string_view s) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

// T-<reference>, or when that is longer than a DIP transaction id may be, the reference's start
// (not split inside a UTF-8 sequence) plus a hash of the whole reference.
std::string id_for(const std::string& reference, bool force_hash) {
  if (!force_hash && reference.size() + 2 <= kMaxIdLength) return "T-" + reference;
  const std::string hash = short_hash(reference);
  std::size_t keep = std::min(reference.size(), kMaxIdLength - 2 - 1 - hash.size());
  while (keep > 0 && (static_cast<unsigned char>(reference[keep]) & 0xC0) == 0x80) --keep;
  return "T-" + reference.substr(0, keep) + "-" + hash;
}

std::string compact_utc(TimePoint t) {
  std::time_t secs = Clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

// The message's state from its deliveries (the rules in journal.hpp).
MessageState derive(const std::map<DeliveryState, std::int64_t>& counts) {
  auto n = [&](DeliveryState s) {
    auto it = counts.find(s);
    return it == counts.end() ? 0 : it->second;
  };
  std::int64_t total = 0;
  for (const auto& [s, c] : counts) total += c;
  if (n(DeliveryState::kDelivered) == total) return MessageState::kDelivered;  // also: nothing to deliver
  if (n(DeliveryState::kRetrying) > 0) return MessageState::kRetrying;
  if (n(DeliveryState::kPending) > 0) return MessageState::kRouted;
  if (n(DeliveryState::kFailed) > 0) return MessageState::kFailed;
  return MessageState::kDeadLettered;
}

bool final_state(DeliveryState s) { return s != DeliveryState::kPending && s != DeliveryState::kRetrying; }

template <class F>
auto guarded(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const std::exception& e) {
    return make_error(ErrorCode::kInternal, std::string("journal: internal error: ") + e.what() + ".");
  }
}

struct Job {
  enum class Kind { kAccept, kRemember } kind = Kind::kAccept;
  const std::vector<NewMessage>* messages = nullptr;
  const std::string* key = nullptr;
  const Journal::Remembered* answer = nullptr;
  std::optional<Result<AcceptOutcome>> outcome;
  std::optional<Status> status;
  bool done = false;
  // Asynchronous jobs own what they commit and are finished by a callback instead of a waiter.
  std::vector<NewMessage> owned_messages;
  std::string owned_key;
  Journal::Remembered owned_answer;
  Journal::AcceptDone accept_done;
  std::function<void(Status)> remember_done;
  bool async = false;
};

class SqliteJournal final : public Journal {
 public:
  explicit SqliteJournal(JournalOptions options) : options_(options) {}
  ~SqliteJournal() override {
    {
      std::lock_guard lock(queue_mutex_);
      stopping_ = true;
    }
    queue_cv_.notify_all();
    if (committer_.joinable()) committer_.join();
  }

  Status open(const std::filesystem::path& path) {
    FG_CHECK(detail::open_journal_db(writer_, path, true));
    FG_CHECK(detail::open_journal_db(reader_, path, false));
    FG_CHECK(load_counters());
    committer_ = std::thread([this] { commit_loop(); });
    return Ok{};
  }

  Result<AcceptOutcome> accept(const std::vector<NewMessage>& messages) override {
    if (messages.empty()) return AcceptOutcome{};
    Job job;
    job.messages = &messages;
    submit(job);
    return std::move(*job.outcome);
  }

  void accept_async(std::vector<NewMessage> messages, AcceptDone done) override {
    if (messages.empty()) return done(AcceptOutcome{});
    auto job = std::make_unique<Job>();
    job->owned_messages = std::move(messages);
    job->messages = &job->owned_messages;
    job->accept_done = std::move(done);
    enqueue(std::move(job));
  }

  void remember_async(std::string key, Remembered answer, std::function<void(Status)> done) override {
    auto job = std::make_unique<Job>();
    job->kind = Job::Kind::kRemember;
    job->owned_key = std::move(key);
    job->owned_answer = std::move(answer);
    job->key = &job->owned_key;
    job->answer = &job->owned_answer;
    job->remember_done = std::move(done);
    enqueue(std::move(job));
  }

  Status remember(const std::string& key, const Remembered& answer) override {
    Job job;
    job.kind = Job::Kind::kRemember;
    job.key = &key;
    job.answer = &answer;
    submit(job);
    return std::move(*job.status);
  }

  Result<std::vector<Claimed>> claim(const std::string& sink, std::size_t max, TimePoint now) override {
    return guarded([&]() -> Result<std::vector<Claimed>> {
      std::lock_guard lock(writer_mutex_);
      auto& held = claims_[sink];
      std::vector<std::pair<std::int64_t, Claimed>> found;
      // One ordered index scan per state (pending, retrying), merged: "oldest first" without a sort
      // over every due row. Fetch past the ones already claimed, which are skipped.
      const auto fetch = static_cast<std::int64_t>(max + held.size());
      for (auto state : {DeliveryState::kPending, DeliveryState::kRetrying}) {
        FG_TRY(stmt, writer_.prepare(
                         "SELECT d.message_id, d.attempts, d.next_attempt, m.reference, m.type, m.body, m.findings_json, "
                         "m.dead_letter_reason FROM deliveries d JOIN messages m ON m.id = d.message_id "
                         "WHERE d.sink = ?1 AND d.state = ?2 AND d.next_attempt <= ?3 ORDER BY d.next_attempt, d.queue_order LIMIT ?4"));
        // Pending is due at once (its next_attempt is when it became pending); retrying waits.
        const std::int64_t due = state == DeliveryState::kPending ? INT64_MAX : to_us(now);
        stmt->bind(1, sink).bind(2, to_string(state)).bind(3, due).bind(4, fetch);
        for (;;) {
          FG_TRY(row, stmt->step());
          if (!*row) break;
          std::string id = stmt->text(0);
          if (held.count(id)) continue;
          Claimed c;
          c.id = std::move(id);
          c.attempts = static_cast<std::uint32_t>(stmt->i64(1));
          c.reference = stmt->text(3);
          if (c.reference.empty()) c.reference = c.id;
          c.type = stmt->text(4);
          c.body = stmt->text(5);
          c.findings_json = stmt->text(6);
          c.dead_letter_reason = stmt->text(7);
          found.emplace_back(stmt->i64(2), std::move(c));
        }
      }
      std::stable_sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      if (found.size() > max) found.resize(max);
      std::vector<Claimed> out;
      out.reserve(found.size());
      for (auto& [due, c] : found) {
        held.insert(c.id);
        out.push_back(std::move(c));
      }
      return out;
    });
  }

  Status mark_delivered(const std::string& sink, const std::vector<std::string>& ids) override {
    return guarded([&]() -> Status {
      std::lock_guard lock(writer_mutex_);
      std::int64_t delta = 0;
      Status s = in_transaction("marking deliveries delivered", [&]() -> Status {
        const auto now = to_us(Clock::now());
        std::vector<std::string> unknown;
        for (const auto& id : ids) {
          FG_TRY(state, delivery_state(id, sink));
          if (!*state) {
            unknown.push_back(id);
            continue;
          }
          if (final_state(**state)) continue;  // marked already: a repeat is harmless
          FG_TRY(stmt, writer_.prepare("UPDATE deliveries SET state = 'Delivered', attempts = attempts + 1, "
                                       "delivered_at = ?3, next_attempt = NULL WHERE message_id = ?1 AND sink = ?2"));
          FG_CHECK(stmt->bind(1, id).bind(2, sink).bind(3, now).run());
          --delta;
          FG_CHECK(update_message_state(id, now));
        }
        if (!unknown.empty()) return unknown_deliveries(sink, unknown);
        return Ok{};
      });
      finish_marks(sink, ids, s, delta);
      return s;
    });
  }

  Status mark_retry(const std::string& sink, const std::string& id, TimePoint next_attempt,
                    const std::string& error) override {
    return guarded([&]() -> Status {
      std::lock_guard lock(writer_mutex_);
      Status s = in_transaction("marking a delivery for retry", [&]() -> Status {
        const auto now = to_us(Clock::now());
        FG_TRY(state, delivery_state(id, sink));
        if (!*state) return unknown_deliveries(sink, {id});
        if (final_state(**state)) return Ok{};
        FG_TRY(stmt, writer_.prepare("UPDATE deliveries SET state = 'Retrying', attempts = attempts + 1, "
                                     "next_attempt = ?3, last_error = ?4 WHERE message_id = ?1 AND sink = ?2"));
        FG_CHECK(stmt->bind(1, id).bind(2, sink).bind(3, to_us(next_attempt)).bind(4, error).run());
        return update_message_state(id, now);
      });
      finish_marks(sink, {id}, s, 0);
      return s;
    });
  }

  Status mark_failed(const std::string& sink, const std::string& id, const std::string& error,
                     const std::string& dead_letter_sink) override {
    return guarded([&]() -> Status {
      std::lock_guard lock(writer_mutex_);
      std::int64_t delta = 0;
      Status s = in_transaction("marking a delivery failed", [&]() -> Status {
        const auto now = to_us(Clock::now());
        FG_TRY(state, delivery_state(id, sink));
        if (!*state) return unknown_deliveries(sink, {id});
        if (final_state(**state)) return Ok{};
        // A dead-letter sink that itself fails permanently is Failed: no dead-letter loop.
        const bool dead_letter = !dead_letter_sink.empty() && dead_letter_sink != sink;
        FG_TRY(stmt, writer_.prepare("UPDATE deliveries SET state = ?3, attempts = attempts + 1, next_attempt = NULL, "
                                     "last_error = ?4 WHERE message_id = ?1 AND sink = ?2"));
        FG_CHECK(stmt->bind(1, id)
                     .bind(2, sink)
                     .bind(3, to_string(dead_letter ? DeliveryState::kDeadLettered : DeliveryState::kFailed))
                     .bind(4, error)
                     .run());
        --delta;
        if (dead_letter) {
          // The dead-letter copy: new, or a final one made pending again so this failure reaches it;
          // one already pending carries the message as it is.
          FG_TRY(dl, writer_.prepare(
                         "INSERT INTO deliveries(message_id, sink, state, attempts, next_attempt, queue_order) "
                         "VALUES (?1, ?2, 'Pending', 0, ?3, (SELECT rowid FROM messages WHERE id = ?1)) "
                         "ON CONFLICT(message_id, sink) DO UPDATE SET "
                         "state = 'Pending', attempts = 0, next_attempt = excluded.next_attempt "
                         "WHERE deliveries.state NOT IN ('Pending', 'Retrying')"));
          FG_CHECK(dl->bind(1, id).bind(2, dead_letter_sink).bind(3, now).run());
          delta += writer_.changes();
          FG_TRY(reason, writer_.prepare("UPDATE messages SET dead_letter_reason = ?2 WHERE id = ?1 AND "
                                         "dead_letter_reason = ''"));
          FG_CHECK(reason->bind(1, id).bind(2, "delivery to " + sink + " failed: " + error).run());
        }
        return update_message_state(id, now);
      });
      finish_marks(sink, {id}, s, delta);
      return s;
    });
  }

  Result<std::vector<MessageRecord>> list(const MessageQuery& query) override {
    return guarded([&]() -> Result<std::vector<MessageRecord>> {
      FG_CHECK(check_query(query));
      std::lock_guard lock(reader_mutex_);
      FG_TRY(ids, select_ids(reader_, query, ""));
      return load_records(reader_, *ids);
    });
  }

  Result<std::optional<MessageRecord>> show(const std::string& id) override {
    return guarded([&]() -> Result<std::optional<MessageRecord>> {
      std::lock_guard lock(reader_mutex_);
      FG_TRY(records, load_records(reader_, {id}));
      if (records->empty()) return std::optional<MessageRecord>();
      return std::optional<MessageRecord>(std::move(records->front()));
    });
  }

  Result<std::optional<std::string>> id_for_reference(const std::string& reference) override {
    return guarded([&]() -> Result<std::optional<std::string>> {
      if (reference.empty()) return std::optional<std::string>();
      std::lock_guard lock(reader_mutex_);
      FG_TRY(stmt, reader_.prepare("SELECT id FROM messages WHERE reference = ?1 AND reference <> ''"));
      stmt->bind(1, reference);
      FG_TRY(row, stmt->step());
      if (!*row) return std::optional<std::string>();
      return std::optional<std::string>(stmt->text(0));
    });
  }

  Result<std::vector<std::string>> replay(const MessageQuery& query, const std::string& sink) override {
    return guarded([&]() -> Result<std::vector<std::string>> {
      FG_CHECK(check_query(query));
      if (query.state && *query.state != MessageState::kDelivered) {
        return make_error(ErrorCode::kUsage, std::string("replay delivers Delivered messages again; the state filter \"") +
                                                 to_string(*query.state) + "\" selects none (requeue is for " +
                                                 "Failed and DeadLettered ones).");
      }
      MessageQuery q = query;
      q.state = MessageState::kDelivered;
      std::lock_guard lock(writer_mutex_);
      std::vector<std::string> affected;
      std::int64_t delta = 0;
      Status s = in_transaction("replaying messages", [&]() -> Status {
        const auto now = to_us(Clock::now());
        FG_TRY(ids, select_ids(writer_, q, ""));
        for (const auto& id : *ids) {
          if (sink.empty()) {
            FG_TRY(stmt, writer_.prepare("UPDATE deliveries SET state = 'Pending', attempts = 0, next_attempt = ?2 "
                                         "WHERE message_id = ?1 AND state = 'Delivered'"));
            FG_CHECK(stmt->bind(1, id).bind(2, now).run());
          } else {
            FG_TRY(stmt, writer_.prepare("INSERT INTO deliveries(message_id, sink, state, attempts, next_attempt, "
                                         "queue_order) VALUES (?1, ?2, 'Pending', 0, ?3, (SELECT rowid FROM messages "
                                         "WHERE id = ?1)) ON CONFLICT(message_id, sink) DO UPDATE "
                                         "SET state = 'Pending', attempts = 0, next_attempt = excluded.next_attempt"));
            FG_CHECK(stmt->bind(1, id).bind(2, sink).bind(3, now).run());
          }
          const auto changed = writer_.changes();
          if (changed == 0) continue;
          delta += changed;
          affected.push_back(id);
          FG_CHECK(update_message_state(id, now));
        }
        return Ok{};
      });
      if (!s) return std::move(s).error();
      adjust_undelivered(delta);
      return affected;
    });
  }

  Result<std::vector<std::string>> requeue(const MessageQuery& query) override {
    return guarded([&]() -> Result<std::vector<std::string>> {
      FG_CHECK(check_query(query));
      std::lock_guard lock(writer_mutex_);
      std::vector<std::string> affected;
      std::int64_t delta = 0;
      Status s = in_transaction("requeueing messages", [&]() -> Status {
        const auto now = to_us(Clock::now());
        FG_TRY(ids, select_ids(writer_, query,
                               "EXISTS (SELECT 1 FROM deliveries d WHERE d.message_id = messages.id AND "
                               "d.state IN ('Failed', 'DeadLettered'))"));
        for (const auto& id : *ids) {
          FG_TRY(stmt, writer_.prepare("UPDATE deliveries SET state = 'Pending', attempts = 0, next_attempt = ?2 "
                                       "WHERE message_id = ?1 AND state IN ('Failed', 'DeadLettered')"));
          FG_CHECK(stmt->bind(1, id).bind(2, now).run());
          delta += writer_.changes();
          affected.push_back(id);
          // Requeued, it is no longer a dead letter once delivered (the deliveries keep last_error).
          FG_TRY(clear, writer_.prepare("UPDATE messages SET dead_letter_reason = '' WHERE id = ?1"));
          FG_CHECK(clear->bind(1, id).run());
          FG_CHECK(update_message_state(id, now));
        }
        return Ok{};
      });
      if (!s) return std::move(s).error();
      adjust_undelivered(delta);
      return affected;
    });
  }

  Result<std::optional<Remembered>> recall(const std::string& key) override {
    return guarded([&]() -> Result<std::optional<Remembered>> {
      std::lock_guard lock(reader_mutex_);
      FG_TRY(stmt, reader_.prepare(
                       "SELECT body_sha256, status, response FROM idempotency WHERE key = ?1 AND created_at >= ?2"));
      stmt->bind(1, key).bind(2, to_us(Clock::now() - options_.retention));
      FG_TRY(row, stmt->step());
      if (!*row) return std::optional<Remembered>();
      Remembered r;
      r.body_sha256 = stmt->text(0);
      r.status = static_cast<unsigned>(stmt->i64(1));
      r.response = stmt->text(2);
      return std::optional<Remembered>(std::move(r));
    });
  }

  Result<std::uint64_t> prune(TimePoint now) override {
    return guarded([&]() -> Result<std::uint64_t> {
      std::lock_guard lock(writer_mutex_);
      std::uint64_t pruned = 0;
      const auto cutoff = to_us(now - options_.retention);
      Status s = in_transaction("pruning the journal", [&]() -> Status {
        FG_TRY(stmt, writer_.prepare("DELETE FROM messages WHERE received_at < ?1 AND NOT EXISTS (SELECT 1 FROM "
                                     "deliveries d WHERE d.message_id = messages.id AND d.state IN ('Pending', "
                                     "'Retrying'))"));
        FG_CHECK(stmt->bind(1, cutoff).run());
        pruned = static_cast<std::uint64_t>(writer_.changes());
        FG_TRY(keys, writer_.prepare("DELETE FROM idempotency WHERE created_at < ?1"));
        return keys->bind(1, cutoff).run();
      });
      if (!s) return std::move(s).error();
      return pruned;
    });
  }

  Result<Stats> stats() override {
    return guarded([&]() -> Result<Stats> {
      std::lock_guard lock(reader_mutex_);
      Stats st;
      FG_TRY(count, reader_.prepare("SELECT count(*) FROM messages"));
      FG_TRY(r1, count->step());
      if (*r1) st.messages = static_cast<std::uint64_t>(count->i64(0));
      FG_TRY(und, reader_.prepare("SELECT count(*), min(m.received_at) FROM deliveries d JOIN messages m ON m.id = "
                                  "d.message_id WHERE d.state IN ('Pending', 'Retrying')"));
      FG_TRY(r2, und->step());
      if (*r2) {
        st.undelivered = static_cast<std::uint64_t>(und->i64(0));
        st.oldest_undelivered = from_us(und->opt_i64(1));
      }
      FG_TRY(dl, reader_.prepare("SELECT count(*) FROM messages WHERE state = 'DeadLettered'"));
      FG_TRY(r3, dl->step());
      if (*r3) st.dead_lettered = static_cast<std::uint64_t>(dl->i64(0));
      return st;
    });
  }

 private:
  // ---- group commit ----

  // Queues the job and waits for the committer to finish it.
  void submit(Job& job) {
    std::unique_lock lock(queue_mutex_);
    queue_.push_back(&job);
    ++active_;
    queue_cv_.notify_all();
    done_cv_.wait(lock, [&] { return job.done; });
    --active_;
    // A committer waiting for company counts the callers still inside; one fewer may end its wait.
    queue_cv_.notify_all();
  }

  // Queues an asynchronous job: it counts as a caller inside until its callback has run.
  void enqueue(std::unique_ptr<Job> job) {
    job->async = true;
    std::lock_guard lock(queue_mutex_);
    ++active_;
    queue_.push_back(job.release());
    queue_cv_.notify_all();
  }

  void commit_loop() {
    std::unique_lock lock(queue_mutex_);
    for (;;) {
      queue_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, nothing left (asynchronous jobs are never left behind)
      // Wait for company at most the window, and not at all once every caller inside accept() or
      // remember() is queued: no one else is coming, so waiting would only add latency.
      const auto deadline = std::chrono::steady_clock::now() + options_.group_commit_window;
      queue_cv_.wait_until(lock, deadline, [&] { return stopping_ || queue_.size() >= active_; });
      std::vector<Job*> jobs(queue_.begin(), queue_.end());
      queue_.clear();
      lock.unlock();
      commit_group(jobs);
      // Callbacks run outside the lock, so they may queue more asynchronous work.
      std::vector<Job*> waiting;
      std::size_t finished_async = 0;
      for (Job* job : jobs) {
        if (!job->async) {
          waiting.push_back(job);
          continue;
        }
        std::unique_ptr<Job> owned(job);
        try {
          if (job->kind == Job::Kind::kAccept) job->accept_done(std::move(*job->outcome));
          else job->remember_done(std::move(*job->status));
        } catch (...) {  // a callback's bug must not take the committer (and every later commit) down
        }
        ++finished_async;
      }
      lock.lock();
      active_ -= finished_async;
      for (Job* job : waiting) job->done = true;
      done_cv_.notify_all();
      queue_cv_.notify_all();
    }
  }

  void commit_group(std::vector<Job*>& jobs) {
    std::lock_guard wlock(writer_mutex_);
    std::optional<Error> group_error;
    try {
      const auto now = Clock::now();
      if (auto s = writer_.exec("BEGIN IMMEDIATE", "starting a group commit"); !s) {
        group_error = s.error();
      } else if (auto r = refresh_if_changed(); !r) {
        group_error = r.error();
      }
      const auto sequence_before = sequence_;
      const auto undelivered_before = undelivered_;
      std::size_t index = 0;
      for (; !group_error && index < jobs.size(); ++index) {
        Job* job = jobs[index];
        if (auto s = writer_.exec("SAVEPOINT job", "starting a savepoint"); !s) {
          group_error = s.error();
          break;
        }
        const auto undelivered_at_start = undelivered_;
        bool keep = false;
        if (job->kind == Job::Kind::kAccept) {
          job->outcome = accept_in_transaction(*job->messages, now);
          keep = job->outcome->ok() && job->outcome->value().duplicates.empty();
        } else {
          job->status = remember_in_transaction(*job->key, *job->answer, now);
          keep = job->status->ok();
        }
        // An I/O error can make SQLite roll back the whole transaction: then every job fails.
        if (sqlite3_get_autocommit(writer_.handle())) {
          group_error = job->kind == Job::Kind::kAccept ? job->outcome->error() : job->status->error();
          break;
        }
        if (!keep) {
          undelivered_ = undelivered_at_start;
          if (auto s = writer_.exec("ROLLBACK TO job", "rolling back a savepoint"); !s) {
            group_error = s.error();
            break;
          }
        }
        if (auto s = writer_.exec("RELEASE job", "releasing a savepoint"); !s) {
          group_error = s.error();
          break;
        }
      }
      if (!group_error && sequence_ != sequence_before) {
        auto stmt = writer_.prepare("UPDATE meta SET value = ?1 WHERE key = 'sequence'");
        if (!stmt) {
          group_error = stmt.error();
        } else if (auto s = stmt->bind(1, sequence_).run(); !s) {
          group_error = s.error();
        }
      }
      if (!group_error) {
        if (auto s = writer_.exec("COMMIT", "committing accepted messages"); !s) group_error = s.error();
      }
      if (group_error) {
        if (!sqlite3_get_autocommit(writer_.handle())) writer_.exec("ROLLBACK", "rolling back");
        undelivered_ = undelivered_before;
        (void)load_counters();
      }
    } catch (const std::exception& e) {
      if (!sqlite3_get_autocommit(writer_.handle())) writer_.exec("ROLLBACK", "rolling back");
      (void)load_counters();
      group_error = make_error(ErrorCode::kInternal, std::string("journal: internal error in a group commit: ") +
                                                         e.what() + ".");
    }
    if (group_error) {
      for (Job* job : jobs) {
        if (job->kind == Job::Kind::kAccept) {
          job->outcome = *group_error;
        } else {
          job->status = *group_error;
        }
      }
    }
  }

  Result<AcceptOutcome> accept_in_transaction(const std::vector<NewMessage>& messages, TimePoint now) {
    AcceptOutcome outcome;
    std::unordered_set<std::string> seen;
    std::uint64_t deliveries = 0;
    std::vector<std::vector<std::string>> sinks(messages.size());
    for (std::size_t i = 0; i < messages.size(); ++i) {
      const auto& m = messages[i];
      std::set<std::string> unique(m.sinks.begin(), m.sinks.end());
      sinks[i].assign(unique.begin(), unique.end());
      deliveries += sinks[i].size();
      if (m.reference.empty()) continue;
      if (!seen.insert(m.reference).second) {
        outcome.duplicates.push_back(i);
        continue;
      }
      FG_TRY(stmt, writer_.prepare("SELECT 1 FROM messages WHERE reference = ?1 AND reference <> ''"));
      stmt->bind(1, m.reference);
      FG_TRY(row, stmt->step());
      if (*row) outcome.duplicates.push_back(i);
    }
    if (!outcome.duplicates.empty()) return outcome;
    if (undelivered_ + deliveries > options_.max_undelivered) {
      return make_error(ErrorCode::kLimit, "journal " + writer_.path() + ": accepting " +
                                               std::to_string(messages.size()) + " message(s) would take the " +
                                               "undelivered deliveries past the limit of " +
                                               std::to_string(options_.max_undelivered) + " (now " +
                                               std::to_string(undelivered_) + "); try again once sinks catch up.");
    }
    const auto now_us = to_us(now);
    const std::string stamp = compact_utc(now);
    for (std::size_t i = 0; i < messages.size(); ++i) {
      const auto& m = messages[i];
      FG_TRY(id, new_id(m.reference, stamp));
      const auto received = m.received_at == TimePoint{} ? now_us : to_us(m.received_at);
      const auto validated = m.validated_at == TimePoint{} ? received : to_us(m.validated_at);
      FG_TRY(insert, writer_.prepare(
                         "INSERT INTO messages(id, reference, type, interface_id, event_code, mpan, sender, recipient, "
                         "valid, state, received_at, validated_at, routed_at, updated_at, body, findings_json, "
                         "dead_letter_reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13, ?14, "
                         "?15, ?16)"));
      insert->bind(1, *id).bind(2, m.reference).bind(3, m.type).bind(4, m.interface_id).bind(5, m.event_code);
      insert->bind(6, m.mpan).bind(7, m.sender).bind(8, m.recipient).bind(9, std::int64_t{m.valid ? 1 : 0});
      insert->bind(10, to_string(sinks[i].empty() ? MessageState::kDelivered : MessageState::kRouted));
      insert->bind(11, received).bind(12, validated).bind(13, now_us).bind(14, m.body);
      insert->bind(15, m.findings_json.empty() ? std::string("[]") : m.findings_json).bind(16, m.dead_letter_reason);
      FG_CHECK(insert->run());
      const std::int64_t order = sqlite3_last_insert_rowid(writer_.handle());
      for (const auto& sink : sinks[i]) {
        FG_TRY(d, writer_.prepare("INSERT INTO deliveries(message_id, sink, state, attempts, next_attempt, "
                                  "queue_order) VALUES (?1, ?2, 'Pending', 0, ?3, ?4)"));
        FG_CHECK(d->bind(1, *id).bind(2, sink).bind(3, now_us).bind(4, order).run());
      }
      outcome.ids.push_back(std::move(*id));
    }
    undelivered_ += deliveries;
    return outcome;
  }

  Result<bool> id_taken(const std::string& id) {
    FG_TRY(stmt, writer_.prepare("SELECT 1 FROM messages WHERE id = ?1"));
    stmt->bind(1, id);
    return stmt->step();
  }

  Result<std::string> new_id(const std::string& reference, const std::string& stamp) {
    if (!reference.empty()) {
      // T-<reference> is unique because references are; only a generated id or another
      // reference's hashed form can already hold it, and then the hashed form is used.
      for (bool force_hash : {false, true}) {
        std::string id = id_for(reference, force_hash);
        FG_TRY(taken, id_taken(id));
        if (!*taken) return id;
      }
      return make_error(ErrorCode::kInternal, "journal " + writer_.path() + ": no free transaction id for the " +
                                                  "reference \"" + reference + "\" (its hashed form is taken too).");
    }
    for (;;) {
      std::string id = "T-FG-" + stamp + "-" + std::to_string(++sequence_);
      FG_TRY(taken, id_taken(id));
      if (!*taken) return id;
    }
  }

  Status remember_in_transaction(const std::string& key, const Remembered& answer, TimePoint now) {
    // The first answer stays (a retried request gets the original one); an expired entry not yet
    // pruned is replaced.
    FG_TRY(stmt, writer_.prepare("INSERT INTO idempotency(key, body_sha256, status, response, created_at) "
                                 "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(key) DO UPDATE SET "
                                 "body_sha256 = excluded.body_sha256, status = excluded.status, "
                                 "response = excluded.response, created_at = excluded.created_at "
                                 "WHERE idempotency.created_at < ?6"));
    stmt->bind(1, key).bind(2, answer.body_sha256).bind(3, static_cast<std::int64_t>(answer.status));
    stmt->bind(4, answer.response).bind(5, to_us(now)).bind(6, to_us(now - options_.retention));
    return stmt->run();
  }

  // ---- marks ----

  template <class F>
  Status in_transaction(const char* what, F&& body) {
    FG_CHECK(writer_.exec("BEGIN IMMEDIATE", what));
    Status s = refresh_if_changed();
    try {
      if (s) s = body();
    } catch (const std::exception& e) {
      s = make_error(ErrorCode::kInternal, std::string("journal: internal error while ") + what + ": " + e.what() + ".");
    }
    if (s) s = writer_.exec("COMMIT", what);
    if (!s && !sqlite3_get_autocommit(writer_.handle())) writer_.exec("ROLLBACK", "rolling back");
    return s;
  }

  // After a mark's transaction, whatever its outcome: the claims are released (a failed mark leaves
  // the delivery due again: at least once, never lost).
  void finish_marks(const std::string& sink, const std::vector<std::string>& ids, const Status& s, std::int64_t delta) {
    auto it = claims_.find(sink);
    if (it != claims_.end()) {
      for (const auto& id : ids) it->second.erase(id);
    }
    if (s) {
      adjust_undelivered(delta);
    } else {
      (void)load_counters();
    }
  }

  // Never below zero: a count that would go negative is stale, so it is read again.
  void adjust_undelivered(std::int64_t delta) {
    if (delta < 0 && static_cast<std::uint64_t>(-delta) > undelivered_) {
      (void)load_counters();
    } else {
      undelivered_ = static_cast<std::uint64_t>(static_cast<std::int64_t>(undelivered_) + delta);
    }
  }

  // Another connection (`flowguard journal requeue` beside the server) may have changed the
  // counts; PRAGMA data_version tells, cheaply, and then they are read again. Called inside a
  // write transaction, so nothing can change between the check and the work.
  Status refresh_if_changed() {
    FG_TRY(stmt, writer_.prepare("PRAGMA data_version"));
    FG_TRY(row, stmt->step());
    const std::int64_t version = *row ? stmt->i64(0) : 0;
    if (version == data_version_) return Ok{};
    data_version_ = version;
    return load_counters();
  }

  Result<std::optional<DeliveryState>> delivery_state(const std::string& id, const std::string& sink) {
    FG_TRY(stmt, writer_.prepare("SELECT state FROM deliveries WHERE message_id = ?1 AND sink = ?2"));
    stmt->bind(1, id).bind(2, sink);
    FG_TRY(row, stmt->step());
    if (!*row) return std::optional<DeliveryState>();
    return delivery_state_from(stmt->text(0));
  }

  Error unknown_deliveries(const std::string& sink, const std::vector<std::string>& ids) const {
    std::string list;
    for (const auto& id : ids) list += (list.empty() ? "" : ", ") + id;
    return make_error(ErrorCode::kUsage, "journal " + writer_.path() + ": no delivery to sink \"" + sink +
                                             "\" for message(s) " + list + "; nothing was marked.");
  }

  Status update_message_state(const std::string& id, std::int64_t now) {
    FG_TRY(stmt, writer_.prepare("SELECT state, count(*) FROM deliveries WHERE message_id = ?1 GROUP BY state"));
    stmt->bind(1, id);
    std::map<DeliveryState, std::int64_t> counts;
    for (;;) {
      FG_TRY(row, stmt->step());
      if (!*row) break;
      if (auto s = delivery_state_from(stmt->text(0))) counts[*s] += stmt->i64(1);
    }
    MessageState state = derive(counts);
    if (state == MessageState::kDelivered) {
      // Delivered to where it was sent, but that was the dead-letter sink (an invalid message, a
      // rejected batch, no route): to an operator it is a dead letter.
      FG_TRY(why, writer_.prepare("SELECT dead_letter_reason <> '' FROM messages WHERE id = ?1"));
      why->bind(1, id);
      FG_TRY(row, why->step());
      if (*row && why->i64(0) != 0) state = MessageState::kDeadLettered;
    }
    FG_TRY(update, writer_.prepare("UPDATE messages SET state = ?2, updated_at = ?3 WHERE id = ?1"));
    return update->bind(1, id).bind(2, to_string(state)).bind(3, now).run();
  }

  Status load_counters() {
    FG_TRY(seq, writer_.prepare("SELECT value FROM meta WHERE key = 'sequence'"));
    FG_TRY(r1, seq->step());
    if (*r1) sequence_ = std::max(sequence_, seq->i64(0));
    FG_TRY(count, writer_.prepare("SELECT count(*) FROM deliveries WHERE state IN ('Pending', 'Retrying')"));
    FG_TRY(r2, count->step());
    undelivered_ = *r2 ? static_cast<std::uint64_t>(count->i64(0)) : 0;
    return Ok{};
  }

  // ---- queries ----

  static Status check_query(const MessageQuery& q) {
    if (q.ids.size() > kMaxQueryIds) {
      return make_error(ErrorCode::kUsage, "a query names " + std::to_string(q.ids.size()) + " transaction ids; at " +
                                               "most " + std::to_string(kMaxQueryIds) + " are allowed (as in the " +
                                               "DIP's MessageRequest).");
    }
    if (q.limit == 0) return make_error(ErrorCode::kUsage, "a query's limit must be at least 1.");
    if (q.from && q.to && *q.from > *q.to) {
      return make_error(ErrorCode::kUsage, "a query's start time is after its end time.");
    }
    return Ok{};
  }

  // The ids of the messages matching `q` (and `extra`, an SQL condition), oldest first.
  static Result<std::vector<std::string>> select_ids(Db& db, const MessageQuery& q, const std::string& extra) {
    std::string sql = "SELECT id FROM messages WHERE 1";
    std::vector<std::pair<int, std::string>> text_params;
    std::vector<std::pair<int, std::int64_t>> int_params;
    int n = 0;
    if (q.from) {
      sql += " AND received_at >= ?" + std::to_string(++n);
      int_params.emplace_back(n, to_us(*q.from));
    }
    if (q.to) {
      sql += " AND received_at <= ?" + std::to_string(++n);
      int_params.emplace_back(n, to_us(*q.to));
    }
    auto text = [&](const char* column, const std::string& value) {
      if (value.empty()) return;
      sql += std::string(" AND ") + column + " = ?" + std::to_string(++n);
      text_params.emplace_back(n, value);
    };
    text("event_code", q.event_code);
    text("mpan", q.mpan);
    text("interface_id", q.interface_id);
    text("type", q.type);
    if (q.state) text("state", to_string(*q.state));
    if (!q.ids.empty()) {
      sql += " AND id IN (";
      for (std::size_t i = 0; i < q.ids.size(); ++i) {
        sql += (i ? ", ?" : "?") + std::to_string(++n);
        text_params.emplace_back(n, q.ids[i]);
      }
      sql += ")";
    }
    if (!extra.empty()) sql += " AND " + extra;
    sql += " ORDER BY received_at, rowid LIMIT ?" + std::to_string(++n);
    int_params.emplace_back(n, static_cast<std::int64_t>(std::min<std::size_t>(q.limit, INT64_MAX)));
    FG_TRY(stmt, db.prepare_once(sql));
    for (const auto& [i, v] : text_params) stmt->bind(i, v);
    for (const auto& [i, v] : int_params) stmt->bind(i, v);
    std::vector<std::string> ids;
    for (;;) {
      FG_TRY(row, stmt->step());
      if (!*row) break;
      ids.push_back(stmt->text(0));
    }
    return ids;
  }

  static Result<std::vector<MessageRecord>> load_records(Db& db, const std::vector<std::string>& ids) {
    std::vector<MessageRecord> out;
    for (const auto& id : ids) {
      FG_TRY(stmt, db.prepare("SELECT id, reference, type, interface_id, event_code, mpan, sender, recipient, valid, "
                              "state, received_at, validated_at, routed_at, updated_at, body, findings_json, "
                              "dead_letter_reason FROM messages WHERE id = ?1"));
      stmt->bind(1, id);
      FG_TRY(row, stmt->step());
      if (!*row) continue;
      MessageRecord r;
      r.id = stmt->text(0);
      r.reference = stmt->text(1);
      r.type = stmt->text(2);
      r.interface_id = stmt->text(3);
      r.event_code = stmt->text(4);
      r.mpan = stmt->text(5);
      r.sender = stmt->text(6);
      r.recipient = stmt->text(7);
      r.valid = stmt->i64(8) != 0;
      r.state = message_state_from(stmt->text(9)).value_or(MessageState::kReceived);
      r.received_at = from_us(stmt->i64(10));
      r.validated_at = from_us(stmt->i64(11));
      r.routed_at = from_us(stmt->i64(12));
      r.updated_at = from_us(stmt->i64(13));
      r.body = stmt->text(14);
      r.findings_json = stmt->text(15);
      r.dead_letter_reason = stmt->text(16);
      FG_TRY(d, db.prepare("SELECT sink, state, attempts, next_attempt, delivered_at, last_error FROM deliveries "
                           "WHERE message_id = ?1 ORDER BY sink"));
      d->bind(1, id);
      for (;;) {
        FG_TRY(drow, d->step());
        if (!*drow) break;
        DeliveryRecord dr;
        dr.sink = d->text(0);
        dr.state = delivery_state_from(d->text(1)).value_or(DeliveryState::kPending);
        dr.attempts = static_cast<std::uint32_t>(d->i64(2));
        dr.next_attempt = from_us(d->opt_i64(3));
        dr.delivered_at = from_us(d->opt_i64(4));
        dr.last_error = d->text(5);
        r.deliveries.push_back(std::move(dr));
      }
      out.push_back(std::move(r));
    }
    return out;
  }

  JournalOptions options_;
  Db writer_;
  Db reader_;
  std::mutex writer_mutex_;  // the writer connection, claims_, undelivered_, sequence_
  std::mutex reader_mutex_;  // the reader connection
  std::unordered_map<std::string, std::unordered_set<std::string>> claims_;  // sink → ids handed out
  std::uint64_t undelivered_ = 0;  // pending + retrying deliveries, for max_undelivered
  std::int64_t sequence_ = 0;      // last T-FG-…-<sequence> handed out
  std::int64_t data_version_ = -1;  // PRAGMA data_version when the counts were last read

  std::mutex queue_mutex_;
  std::condition_variable queue_cv_, done_cv_;
  std::deque<Job*> queue_;
  std::size_t active_ = 0;  // callers inside accept()/remember()
  bool stopping_ = false;
  std::thread committer_;
};

}  // namespace

Result<std::unique_ptr<Journal>> open_journal(const std::filesystem::path& path, const JournalOptions& options) {
  return guarded([&]() -> Result<std::unique_ptr<Journal>> {
    auto journal = std::make_unique<SqliteJournal>(options);
    FG_CHECK(journal->open(path));
    return std::unique_ptr<Journal>(std::move(journal));
  });
}

}  // namespace flowguard::journal
