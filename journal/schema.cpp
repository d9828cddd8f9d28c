#include "schema.hpp"

#include <string>

namespace flowguard::journal::detail {
namespace {

// Version 0 → 1: the first schema. Times are microseconds since the Unix epoch (UTC); states are
// their names ("Pending", "Delivered", …) so the file reads well in the sqlite3 shell.
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE messages (
  id TEXT PRIMARY KEY NOT NULL,
  reference TEXT NOT NULL DEFAULT '',
  type TEXT NOT NULL,
  interface_id TEXT NOT NULL DEFAULT '',
  event_code TEXT NOT NULL DEFAULT '',
  mpan TEXT NOT NULL DEFAULT '',
  sender TEXT NOT NULL DEFAULT '',
  recipient TEXT NOT NULL DEFAULT '',
  valid INTEGER NOT NULL,
  state TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  validated_at INTEGER NOT NULL,
  routed_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  body TEXT NOT NULL,
  findings_json TEXT NOT NULL DEFAULT '[]',
  dead_letter_reason TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX messages_reference ON messages(reference) WHERE reference <> '';
CREATE INDEX messages_received ON messages(received_at);
CREATE INDEX messages_event ON messages(event_code, received_at);
CREATE INDEX messages_mpan ON messages(mpan, received_at);
CREATE INDEX messages_state ON messages(state, received_at);
CREATE TABLE deliveries (
  message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  sink TEXT NOT NULL,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt INTEGER,
  delivered_at INTEGER,
  last_error TEXT NOT NULL DEFAULT '',
  queue_order INTEGER NOT NULL,  -- the message's rowid: ties in next_attempt go in acceptance order
  PRIMARY KEY (message_id, sink)
) WITHOUT ROWID;
CREATE INDEX deliveries_claim ON deliveries(sink, state, next_attempt, queue_order);
CREATE TABLE idempotency (
  key TEXT PRIMARY KEY NOT NULL,
  body_sha256 TEXT NOT NULL,
  status INTEGER NOT NULL,
  response TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX idempotency_created ON idempotency(created_at);
CREATE TABLE meta (
  key TEXT PRIMARY KEY NOT NULL,
  value INTEGER NOT NULL
);
INSERT INTO meta(key, value) VALUES ('sequence', 0);
)sql";

// migrations[v] takes a file from version v to v + 1.
constexpr const char* kMigrations[] = {kSchemaV1};
static_assert(sizeof(kMigrations) / sizeof(kMigrations[0]) == kSchemaVersion);

Result<std::int64_t> pragma_int(Db& db, const char* sql, [[maybe_unused]] const char* what) {
  auto stmt = db.prepare_once(sql);
  if (!stmt) return std::move(stmt).error();
  auto row = stmt->step();
  if (!row) return std::move(row).error();
  return *row ? stmt->i64(0) : 0;
}

Error not_a_journal(const Db& db, const std::string& why) {
  return make_error(ErrorCode::kIo, "journal " + db.path() + ": the file is not a flowguard journal (" + why +
                                        "); give the path of a journal, or a new file name to create one.");
}

Status check_and_migrate(Db& db) {
  // Read the header first: a file that is not SQLite at all fails here with SQLITE_NOTADB.
  auto app = pragma_int(db, "PRAGMA application_id", "reading the application id");
  if (!app) {
    int rc = sqlite3_errcode(db.handle());
    if ((rc & 0xff) == SQLITE_NOTADB) return not_a_journal(db, "not an SQLite database");
    return std::move(app).error();
  }
  auto version = pragma_int(db, "PRAGMA user_version", "reading the schema version");
  if (!version) return std::move(version).error();
  auto tables = pragma_int(db, "SELECT count(*) FROM sqlite_schema", "reading the schema");
  if (!tables) return std::move(tables).error();
  if (*app != kApplicationId && !(*app == 0 && *version == 0 && *tables == 0)) {
    return not_a_journal(db, "an SQLite database with application id " + std::to_string(*app) + ", expected " +
                                 std::to_string(kApplicationId));
  }
  if (*version > kSchemaVersion) {
    return make_error(ErrorCode::kIo, "journal " + db.path() + ": the file has schema version " +
                                          std::to_string(*version) + ", written by a newer flowguard; this one reads " +
                                          "versions up to " + std::to_string(kSchemaVersion) + ". Use a newer flowguard.");
  }
  if (*version == kSchemaVersion) return Ok{};

  // Migrate under a write lock; re-read the version inside it in case another process just did.
  if (auto s = db.exec("BEGIN IMMEDIATE", "starting the schema migration"); !s) return s;
  auto current = pragma_int(db, "PRAGMA user_version", "reading the schema version");
  if (!current) {
    db.exec("ROLLBACK", "rolling back");
    return std::move(current).error();
  }
  for (auto v = *current; v < kSchemaVersion; ++v) {
    if (auto s = db.exec(kMigrations[v], "migrating the schema to version " + std::to_string(v + 1)); !s) {
      db.exec("ROLLBACK", "rolling back");
      return s;
    }
  }
  const std::string stamp = "PRAGMA application_id = " + std::to_string(kApplicationId) +
                            "; PRAGMA user_version = " + std::to_string(kSchemaVersion);
  if (auto s = db.exec(stamp.c_str(), "recording the schema version"); !s) {
    db.exec("ROLLBACK", "rolling back");
    return s;
  }
  return db.exec("COMMIT", "committing the schema migration");
}

}  // namespace

Status open_journal_db(Db& db, const std::filesystem::path& path, bool create) {
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
  if (auto s = db.open(path, flags); !s) return s;
  // The busy timeout first: another process (the CLI beside the server) may hold the lock.
  sqlite3_busy_timeout(db.handle(), 5000);
  if (auto s = check_and_migrate(db); !s) return s;
  {
    auto mode = db.prepare_once("PRAGMA journal_mode = WAL");
    if (!mode) return std::move(mode).error();
    auto row = mode->step();
    if (!row) return std::move(row).error();
    if (!*row || mode->text(0) != "wal") {
      return make_error(ErrorCode::kIo, "journal " + db.path() + ": the file could not be switched to WAL mode (it " +
                                            "reports \"" + (*row ? mode->text(0) : std::string()) +
                                            "\"); the journal needs WAL for durable, concurrent access.");
    }
  }
  return db.exec("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON", "setting the journal's pragmas");
}

}  // namespace flowguard::journal::detail
