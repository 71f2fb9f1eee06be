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


constexpr std::string_view kMigration2 = R"sql(
CREATE TABLE customer_features (
  run_id                  INTEGER NOT NULL
                          REFERENCES runs (run_id) ON DELETE CASCADE,
  customer_id             INTEGER NOT NULL,
  recency_days            REAL    NOT NULL,
  frequency               REAL    NOT NULL,
  monetary                REAL    NOT NULL,
  tenure_days             REAL    NOT NULL,
  avg_basket              REAL    NOT NULL,
  promo_share             REAL    NOT NULL,
  purchases_90d           REAL    NOT NULL,
  sessions_per_month      REAL    NOT NULL,
  avg_session_minutes     REAL    NOT NULL,
  booking_session_share   REAL    NOT NULL,
  cart_abandon_share      REAL    NOT NULL,
  days_since_last_session REAL    NOT NULL,
  session_trend           REAL    NOT NULL,
  is_ios                  REAL    NOT NULL,
  is_female               REAL    NOT NULL,
  age_years               REAL    NOT NULL,
  avg_monthly_spend_12m   REAL    NOT NULL,
  r_score                 INTEGER NOT NULL CHECK (r_score BETWEEN 0 AND 5),
  f_score                 INTEGER NOT NULL CHECK (f_score BETWEEN 0 AND 5),
  m_score                 INTEGER NOT NULL CHECK (m_score BETWEEN 0 AND 5),
  segment                 TEXT    NOT NULL,
  churn_status            TEXT    NOT NULL
                          CHECK (churn_status IN ('active', 'churned',
                                                  'never_purchased')),
  last_purchase_at_us     INTEGER,
  PRIMARY KEY (run_id, customer_id)
) WITHOUT ROWID;

CREATE TABLE scores (
  run_id      INTEGER NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
  customer_id INTEGER NOT NULL,
  churn_score REAL    NOT NULL CHECK (churn_score BETWEEN 0 AND 1),
  reasons     TEXT    NOT NULL,
  PRIMARY KEY (run_id, customer_id)
) WITHOUT ROWID;

CREATE TABLE model_reports (
  run_id                INTEGER PRIMARY KEY
                        REFERENCES runs (run_id) ON DELETE CASCADE,
  c                     REAL    NOT NULL,
  imbalance             TEXT    NOT NULL,
  holdout_month         TEXT    NOT NULL,
  training_months       TEXT    NOT NULL,
  training_rows         INTEGER NOT NULL,
  holdout_rows          INTEGER NOT NULL,
  scored_customers      INTEGER NOT NULL,
  auc                   REAL    NOT NULL,
  pr_auc                REAL    NOT NULL,
  brier                 REAL    NOT NULL,
  lift_top_decile       REAL    NOT NULL,
  log_loss              REAL    NOT NULL,
  holdout_positive_rate REAL    NOT NULL,
  baseline_recency_auc  REAL    NOT NULL,
  cv_metric             TEXT    NOT NULL,
  cv_mean               REAL    NOT NULL,
  cv_sd                 REAL    NOT NULL,
  coefficients          TEXT    NOT NULL,
  grid                  TEXT    NOT NULL,
  notes                 TEXT    NOT NULL DEFAULT ''
);

CREATE TABLE segments (
  run_id            INTEGER NOT NULL
                    REFERENCES runs (run_id) ON DELETE CASCADE,
  segment           TEXT    NOT NULL,
  customers         INTEGER NOT NULL,
  active_customers  INTEGER NOT NULL,
  churned_customers INTEGER NOT NULL,
  mean_churn_score  REAL    NOT NULL,
  revenue_at_risk   REAL    NOT NULL,
  PRIMARY KEY (run_id, segment)
) WITHOUT ROWID;

CREATE TABLE campaigns (
  run_id           INTEGER NOT NULL
                   REFERENCES runs (run_id) ON DELETE CASCADE,
  campaign         TEXT    NOT NULL,
  description      TEXT    NOT NULL,
  promo_code       TEXT    NOT NULL,
  discount_pct     REAL    NOT NULL,
  priority         INTEGER NOT NULL,
  segments         TEXT    NOT NULL,
  churn_statuses   TEXT    NOT NULL,
  min_churn_score  REAL    NOT NULL,
  max_churn_score  REAL    NOT NULL,
  holdout_share    REAL    NOT NULL,
  max_size         INTEGER NOT NULL,
  matched          INTEGER NOT NULL,
  suppressed       INTEGER NOT NULL,
  eligible         INTEGER NOT NULL,
  preempted        INTEGER NOT NULL,
  capped           INTEGER NOT NULL,
  assigned         INTEGER NOT NULL,
  treatment        INTEGER NOT NULL,
  holdout          INTEGER NOT NULL,
  revenue_at_risk  REAL    NOT NULL,
  mean_churn_score REAL    NOT NULL,
  PRIMARY KEY (run_id, campaign)
) WITHOUT ROWID;

CREATE TABLE targets (
  run_id          INTEGER NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
  campaign        TEXT    NOT NULL,
  position        INTEGER NOT NULL,
  customer_id     INTEGER NOT NULL,
  segment         TEXT    NOT NULL,
  churn_score     REAL    NOT NULL,
  revenue_at_risk REAL    NOT NULL,
  target_group    TEXT    NOT NULL
                  CHECK (target_group IN ('treatment', 'holdout')),
  reasons         TEXT    NOT NULL,
  promo_code      TEXT    NOT NULL,
  PRIMARY KEY (run_id, campaign, position)
) WITHOUT ROWID;
CREATE UNIQUE INDEX targets_by_customer ON targets (run_id, customer_id);

CREATE TABLE diagnosis_months (
  run_id            INTEGER NOT NULL
                    REFERENCES runs (run_id) ON DELETE CASCADE,
  month             TEXT    NOT NULL,
  revenue           INTEGER NOT NULL,
  orders            INTEGER NOT NULL,
  buyers            INTEGER NOT NULL,
  new_buyers        INTEGER NOT NULL,
  returning_buyers  INTEGER NOT NULL,
  new_revenue       INTEGER NOT NULL,
  returning_revenue INTEGER NOT NULL,
  labeled           INTEGER NOT NULL,
  censored          INTEGER NOT NULL,
  churned           INTEGER NOT NULL,
  churn_rate        REAL    NOT NULL,
  failed_payments   INTEGER NOT NULL,
  promo_orders      INTEGER NOT NULL,
  promo_amount      INTEGER NOT NULL,
  PRIMARY KEY (run_id, month)
) WITHOUT ROWID;

CREATE TABLE diagnosis_segment_months (
  run_id     INTEGER NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
  month      TEXT    NOT NULL,
  segment    TEXT    NOT NULL,
  labeled    INTEGER NOT NULL,
  censored   INTEGER NOT NULL,
  churned    INTEGER NOT NULL,
  churn_rate REAL    NOT NULL,
  PRIMARY KEY (run_id, month, segment)
) WITHOUT ROWID;

CREATE TABLE diagnosis_funnel (
  run_id             INTEGER NOT NULL
                     REFERENCES runs (run_id) ON DELETE CASCADE,
  month              TEXT    NOT NULL,
  sessions           INTEGER NOT NULL,
  homepage           INTEGER NOT NULL,
  search             INTEGER NOT NULL,
  item_detail        INTEGER NOT NULL,
  add_to_cart        INTEGER NOT NULL,
  add_promo          INTEGER NOT NULL,
  booking            INTEGER NOT NULL,
  successful_payment INTEGER NOT NULL,
  PRIMARY KEY (run_id, month)
) WITHOUT ROWID;

CREATE TABLE diagnosis_promo (
  run_id       INTEGER NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
  segment      TEXT    NOT NULL,
  orders       INTEGER NOT NULL,
  promo_orders INTEGER NOT NULL,
  promo_share  REAL    NOT NULL,
  promo_amount INTEGER NOT NULL,
  PRIMARY KEY (run_id, segment)
) WITHOUT ROWID;

CREATE TABLE diagnosis_summaries (
  run_id  INTEGER PRIMARY KEY REFERENCES runs (run_id) ON DELETE CASCADE,
  summary TEXT NOT NULL
);
)sql";

// Campaigns gain a floor on revenue at risk; earlier runs had none (0).
constexpr std::string_view kMigration3 = R"sql(
ALTER TABLE campaigns
  ADD COLUMN min_revenue_at_risk REAL NOT NULL DEFAULT 0;
)sql";

// Diagnosis months say whether they are partial: the month of the run's
// as-of time when as-of is before its last microsecond. Runs published before
// get the flag from their as-of time (a row of a month with no time before
// as-of, which earlier code wrote as zeros, is marked partial too).
constexpr std::string_view kMigration4 = R"sql(
ALTER TABLE diagnosis_months
  ADD COLUMN partial INTEGER NOT NULL DEFAULT 0 CHECK (partial IN (0, 1));
UPDATE diagnosis_months SET partial = 1
 WHERE (SELECT as_of_us FROM runs WHERE runs.run_id = diagnosis_months.run_id)
       < CAST(strftime('%s', month || '-01', '+1 month') AS INTEGER)
         * 1000000 - 1;
)sql";

// Campaign readouts: how the lists of earlier runs did, measured by a later
// run. list_run_id has no foreign key: the list's run may be deleted by
// retention while the readout that measured it is kept.
constexpr std::string_view kMigration5 = R"sql(
CREATE TABLE campaign_readouts (
  run_id                    INTEGER NOT NULL
                            REFERENCES runs (run_id) ON DELETE CASCADE,
  list_run_id               INTEGER NOT NULL,
  campaign                  TEXT    NOT NULL,
  promo_code                TEXT    NOT NULL,
  list_as_of_us             INTEGER NOT NULL,
  window_us                 INTEGER NOT NULL,
  window_end_us             INTEGER NOT NULL,
  complete                  INTEGER NOT NULL CHECK (complete IN (0, 1)),
  treatment_customers       INTEGER NOT NULL,
  treatment_buyers          INTEGER NOT NULL,
  treatment_redeemers       INTEGER NOT NULL,
  treatment_purchases       INTEGER NOT NULL,
  treatment_revenue         INTEGER NOT NULL,
  treatment_revenue_squares REAL    NOT NULL,
  holdout_customers         INTEGER NOT NULL,
  holdout_buyers            INTEGER NOT NULL,
  holdout_redeemers         INTEGER NOT NULL,
  holdout_purchases         INTEGER NOT NULL,
  holdout_revenue           INTEGER NOT NULL,
  holdout_revenue_squares   REAL    NOT NULL,
  PRIMARY KEY (run_id, list_run_id, campaign)
) WITHOUT ROWID;
)sql";

// Runs say whether their as-of time was asked for (1: a backfill) or is the
// export's latest event (0), so that a retry of a request_id can be told
// from another request. Runs begun before this stay NULL: not recorded.
constexpr std::string_view kMigration6 = R"sql(
ALTER TABLE runs
  ADD COLUMN as_of_requested INTEGER CHECK (as_of_requested IN (0, 1));
)sql";

// Campaigns gain a contact cap (suppress_listed_within) and the count it
// left out; earlier runs had neither (0).
constexpr std::string_view kMigration7 = R"sql(
ALTER TABLE campaigns
  ADD COLUMN suppress_listed_within_us INTEGER NOT NULL DEFAULT 0;
ALTER TABLE campaigns
  ADD COLUMN recently_listed INTEGER NOT NULL DEFAULT 0;
)sql";

// The customers a campaign's contact cap kept off every list of a run (they
// still match it, and it listed them recently): what GetCustomer says of a
// customer on no list.
constexpr std::string_view kMigration8 = R"sql(
CREATE TABLE contact_holds (
  run_id      INTEGER NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
  customer_id INTEGER NOT NULL,
  campaign    TEXT    NOT NULL,
  PRIMARY KEY (run_id, customer_id)
) WITHOUT ROWID;
)sql";

// What a run's process used, recorded once it has ended: CPU time (user +
// system) and peak resident memory. NULL for runs before this, and for a
// run whose process could not be measured.
constexpr std::string_view kMigration9 = R"sql(
ALTER TABLE runs ADD COLUMN cpu_seconds REAL CHECK (cpu_seconds >= 0);
ALTER TABLE runs
  ADD COLUMN peak_rss_bytes INTEGER CHECK (peak_rss_bytes >= 0);
)sql";

constexpr std::string_view kMigration10 = R"sql(
ALTER TABLE run_stages ADD COLUMN cpu_seconds REAL CHECK (cpu_seconds >= 0);
)sql";

constexpr std::array<SchemaMigration, 10> kMigrations = {{
    {1, "runs, run_stages, run_counts, run_rejects, churn_labels", kMigration1},
    {2,
     "customer_features, scores, model_reports, segments, campaigns, "
     "targets, diagnosis tables",
     kMigration2},
    {3, "campaigns.min_revenue_at_risk", kMigration3},
    {4, "diagnosis_months.partial", kMigration4},
    {5, "campaign_readouts", kMigration5},
    {6, "runs.as_of_requested", kMigration6},
    {7, "campaigns.suppress_listed_within_us, campaigns.recently_listed",
     kMigration7},
    {8, "contact_holds", kMigration8},
    {9, "runs.cpu_seconds, runs.peak_rss_bytes", kMigration9},
    {10, "run_stages.cpu_seconds", kMigration10},
}};

constexpr std::array<std::string_view, 16> kRunOutputTables = {
    "run_counts",
    "run_rejects",
    "churn_labels",
    "customer_features",
    "scores",
    "model_reports",
    "segments",
    "campaigns",
    "targets",
    "diagnosis_months",
    "diagnosis_funnel",
    "diagnosis_segment_months",
    "diagnosis_promo",
    "diagnosis_summaries",
    "campaign_readouts",
    "contact_holds",
};

}  // namespace

std::span<const SchemaMigration> SchemaMigrations() { return kMigrations; }

int LatestSchemaVersion() { return kMigrations.back().version; }

std::span<const std::string_view> RunOutputTables() { return kRunOutputTables; }

}  // namespace winback
