// The Winback database schema as an ordered list of forward migrations.
//
// The schema version of a database file is `PRAGMA user_version`; it equals
// the version of the last migration applied (0 for a new, empty file). Store
// applies every migration newer than that, in order, in one transaction at
// Open, and records each in the `schema_migrations` table. A file whose
// version is newer than LatestSchemaVersion() was written by newer code and
// is refused. SCHEMA.md documents every table; keep it in step.
//
// Adding a migration: append {N + 1, "what it adds", "<DDL>"} to the list in
// schema.cc (never edit a released migration), add any new per-run output
// table to RunOutputTables(), and describe it in SCHEMA.md.
#ifndef WINBACK_JOBS_STORE_SCHEMA_H_
#define WINBACK_JOBS_STORE_SCHEMA_H_

#include <cstdint>
#include <span>
#include <string_view>

namespace winback {

struct SchemaMigration {
  int version;                   // 1, 2, 3, ... without gaps
  std::string_view description;  // one line, stored in schema_migrations
  std::string_view sql;          // one or more statements, run in order
};

// PRAGMA application_id of every Winback database ("WBK1"); a file with a
// different non-zero id is not ours and is refused.
inline constexpr int32_t kApplicationId = 0x57424B31;

// Every migration, ordered by version.
std::span<const SchemaMigration> SchemaMigrations();

// The version of the newest migration this code knows.
int LatestSchemaVersion();

// Tables that hold a run's published outputs (each has a run_id column that
// references runs). A run that ends unpublished has its rows in these
// deleted; retention deletes them too (then run_stages and runs).
std::span<const std::string_view> RunOutputTables();

}  // namespace winback

#endif  // WINBACK_JOBS_STORE_SCHEMA_H_
