// A thin RAII layer over one SQLite connection: prepared statements cached by their SQL text,
// binding by position, and every failure turned into an Error that names the journal file and
// SQLite's own message. Not thread-safe: the journal serialises each connection with a mutex.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "flowguard/result.hpp"

namespace flowguard::journal::detail {

// SQLITE_FULL / IOERR (and the other "the file is the problem" codes) are I/O errors for the
// callers (the server answers 503, the CLI exits with its I/O status); the rest are bugs.
inline ErrorCode code_for(int rc) noexcept {
  switch (rc & 0xff) {
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return ErrorCode::kIo;
    default:
      return ErrorCode::kInternal;
  }
}

class Db;

// One reset-on-destruction use of a cached statement.
class Stmt {
 public:
  // `owned`: a one-off statement (a query built from filters), finalised rather than cached.
  Stmt(Db& db, sqlite3_stmt* stmt, bool owned = false) noexcept : db_(db), stmt_(stmt), owned_(owned) {}
  Stmt(Stmt&& other) noexcept
      : db_(other.db_), stmt_(std::exchange(other.stmt_, nullptr)), owned_(other.owned_) {}
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  Stmt& operator=(Stmt&&) = delete;
  ~Stmt() {
    if (stmt_ && owned_) {
      sqlite3_finalize(stmt_);
    } else if (stmt_) {
      sqlite3_reset(stmt_);
      sqlite3_clear_bindings(stmt_);
    }
  }

  Stmt& bind(int i, std::string_view s) {
    sqlite3_bind_text(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& bind(int i, const char* s) { return bind(i, std::string_view(s)); }
  Stmt& bind(int i, const std::string& s) { return bind(i, std::string_view(s)); }
  Stmt& bind(int i, std::int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  Stmt& bind_null(int i) {
    sqlite3_bind_null(stmt_, i);
    return *this;
  }
  Stmt& bind(int i, const std::optional<std::int64_t>& v) { return v ? bind(i, *v) : bind_null(i); }

  // True for a row, false when done; an Error otherwise.
  Result<bool> step();
  // Runs to completion (for statements without rows).
  Status run();

  std::int64_t i64(int col) const { return sqlite3_column_int64(stmt_, col); }
  bool is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::string text(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col))) : std::string();
  }
  std::optional<std::int64_t> opt_i64(int col) const {
    return is_null(col) ? std::nullopt : std::optional<std::int64_t>(i64(col));
  }

 private:
  Db& db_;
  sqlite3_stmt* stmt_;
  bool owned_ = false;
};

class Db {
 public:
  Db() = default;
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  ~Db() { close(); }

  Status open(const std::filesystem::path& path, int flags);
  void close() noexcept;
  sqlite3* handle() const noexcept { return db_; }
  const std::string& path() const noexcept { return path_; }

  // "journal FILE: WHAT failed: SQLITE MESSAGE."
  Error error(int rc, std::string_view what) const;
  Status exec(const char* sql, std::string_view what);
  Result<Stmt> prepare(const std::string& sql);
  Result<Stmt> prepare_once(const std::string& sql);
  std::int64_t changes() const noexcept { return sqlite3_changes64(db_); }

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
  std::map<std::string, sqlite3_stmt*, std::less<>> cache_;
  friend class Stmt;
};

inline Result<bool> Stmt::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return db_.error(rc, std::string("the statement \"") + sqlite3_sql(stmt_) + "\"");
}

inline Status Stmt::run() {
  for (;;) {
    auto r = step();
    if (!r) return std::move(r).error();
    if (!*r) return Ok{};
  }
}

inline Status Db::open(const std::filesystem::path& path, int flags) {
  path_ = path.string();
  int rc = sqlite3_open_v2(path_.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    Error e = error(rc, "opening the journal");
    close();
    return e;
  }
  sqlite3_extended_result_codes(db_, 1);
  return Ok{};
}

inline void Db::close() noexcept {
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  cache_.clear();
  if (db_) sqlite3_close_v2(db_);
  db_ = nullptr;
}

inline Error Db::error(int rc, std::string_view what) const {
  std::string message = "journal " + path_ + ": " + std::string(what) + " failed: ";
  message += db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
  message += " (SQLite code " + std::to_string(rc) + ").";
  return make_error(code_for(rc), std::move(message));
}

inline Status Db::exec(const char* sql, std::string_view what) {
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return error(rc, what);
  return Ok{};
}

inline Result<Stmt> Db::prepare(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt,
                                nullptr);
    if (rc != SQLITE_OK) return error(rc, "preparing \"" + sql + "\"");
    it = cache_.emplace(sql, stmt).first;
  }
  return Result<Stmt>(Stmt(*this, it->second));
}

inline Result<Stmt> Db::prepare_once(const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) return error(rc, "preparing \"" + sql + "\"");
  return Result<Stmt>(Stmt(*this, stmt, true));
}

}  // namespace flowguard::journal::detail
