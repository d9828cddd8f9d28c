// The journal's file format: opening a connection with the journal's pragmas, recognising a
// flowguard journal, and migrating its schema (PRAGMA user_version) to the current version.
#pragma once

#include <cstdint>
#include <filesystem>

#include "flowguard/result.hpp"
#include "sqlite_db.hpp"

namespace flowguard::journal::detail {

// 'FGJL' in PRAGMA application_id: what tells a journal from any other SQLite file.
inline constexpr std::int32_t kApplicationId = 0x46474a4c;
inline constexpr int kSchemaVersion = 1;

// Opens `path` (creating it when `create`), refuses a file that is not a journal or is from a newer
// flowguard, sets WAL / synchronous=FULL / busy timeout / foreign keys and migrates the schema.
Status open_journal_db(Db& db, const std::filesystem::path& path, bool create);

}  // namespace flowguard::journal::detail
