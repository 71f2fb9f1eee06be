#include "jobs/store/schema.h"

#include <array>

namespace winback {
namespace {

// Migration 1: run history and churn labels. Times are INTEGER UTC
// microseconds since the Unix epoch in columns named *_us.
constexpr std::string_view kMigration1 = R"sql(
CREATE TABLE schema_migrations (
  version       INTEGER PRIMARY KEY,
  description   TEXT    NOT NULL,
  applied_at_us INTEGER NOT NULL
);

CREATE TABLE runs (
  run_id         INTEGER PRIMARY KEY AUTOINCREMENT,
  request_id     TEXT    UNIQUE,
  state          TEXT    NOT NULL
                 CHECK (state IN ('pending', 'running', 'succeeded', 'failed',
                                  'cancelled')),
  trigger        TEXT    NOT NULL
                 CHECK (trigger IN ('schedule', 'manual', 'catch-up')),
  as_of_us       INTEGER NOT NULL,
  started_at_us  INTEGER NOT NULL,
  finished_at_us INTEGER,
  error          TEXT    NOT NULL DEFAULT '',
  published      INTEGER NOT NULL DEFAULT 0 CHECK (published IN (0, 1)),
  current_stage  TEXT    NOT NULL DEFAULT '',
  config_json    TEXT,
  CHECK (published = 0 OR state = 'succeeded')
);
CREATE INDEX runs_by_published ON runs (run_id) WHERE published = 1;
CREATE INDEX runs_by_state ON runs (state);

CREATE TABLE run_stages (
  run_id  INTEGER NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
  stage   TEXT    NOT NULL,
  seq     INTEGER NOT NULL,
  seconds REAL    NOT NULL,
  rows    INTEGER NOT NULL,
  PRIMARY KEY (run_id, stage)
) WITHOUT ROWID;

CREATE TABLE run_counts (
  run_id INTEGER NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
  name   TEXT    NOT NULL,
  value  INTEGER NOT NULL,
  PRIMARY KEY (run_id, name)
) WITHOUT ROWID;

CREATE TABLE run_rejects (
  run_id      INTEGER NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
  file        TEXT    NOT NULL,
  reason      TEXT    NOT NULL,
  count       INTEGER NOT NULL,
  first_lines TEXT    NOT NULL DEFAULT '',
  PRIMARY KEY (run_id, file, reason)
) WITHOUT ROWID;

CREATE TABLE churn_labels (
  run_id              INTEGER NOT NULL
                      REFERENCES runs (run_id) ON DELETE CASCADE,
  customer_id         INTEGER NOT NULL,
  month               TEXT    NOT NULL,
  last_purchase_at_us INTEGER NOT NULL,
  churned             INTEGER NOT NULL CHECK (churned IN (0, 1)),
  censored            INTEGER NOT NULL CHECK (censored IN (0, 1)),
  PRIMARY KEY (run_id, customer_id, month)
) WITHOUT ROWID;
)sql";

constexpr std::array<SchemaMigration, 1> kMigrations = {{
    {1, "runs, run_stages, run_counts, run_rejects, churn_labels", kMigration1},
}};

constexpr std::array<std::string_view, 3> kRunOutputTables = {
    "run_counts",
    "run_rejects",
    "churn_labels",
};

}  // namespace

std::span<const SchemaMigration> SchemaMigrations() { return kMigrations; }

int LatestSchemaVersion() { return kMigrations.back().version; }

std::span<const std::string_view> RunOutputTables() { return kRunOutputTables; }

}  // namespace winback
