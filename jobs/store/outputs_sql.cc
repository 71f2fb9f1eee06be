#include "jobs/store/outputs_sql.h"

#include <SQLiteCpp/SQLiteCpp.h>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "jobs/store/batch_insert.h"
#include "jobs/store/statement_cache.h"

namespace winback::store_internal {
namespace {

using nlohmann::json;

std::string Text(const SQLite::Column& c) { return c.isNull() ? "" : c.getString(); }

absl::Status Corrupt(int64_t run_id, const std::string& what) {
  return absl::DataLossError(absl::StrCat("run ", run_id, ": ", what));
}

// The customer_features column list, in FeatureNames() order.
std::string FeatureColumns() {
  return absl::StrJoin(FeatureNames(), ", ");
}

absl::StatusOr<std::vector<std::string>> StringArray(const std::string& text) {
  const json parsed = json::parse(text, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_array()) {
    return absl::DataLossError(absl::StrCat("not a JSON array: ", text));
  }
  std::vector<std::string> out;
  for (const json& v : parsed) {
    if (!v.is_string()) return absl::DataLossError(absl::StrCat("not strings: ", text));
    out.push_back(v.get<std::string>());
  }
  return out;
}

}  // namespace

void WriteCustomers(SQLite::Database& db, int64_t run_id,
                    const std::vector<CustomerRecord>& customers) {
  size_t scored = 0;
  for (const CustomerRecord& c : customers) scored += c.churn_score.has_value();
  BatchInsert feature(
      db,
      absl::StrCat("INSERT INTO customer_features (run_id, customer_id, ",
                   FeatureColumns(),
                   ", r_score, f_score, m_score, segment, churn_status, "
                   "last_purchase_at_us)"),
      2 + kFeatureCount + 6, customers.size(), 32);
  BatchInsert score(db,
                    "INSERT INTO scores (run_id, customer_id, churn_score, "
                    "reasons)",
                    4, scored);
  for (const CustomerRecord& c : customers) {
    auto [q, k] = feature.Row();
    q.bind(k++, run_id);
    q.bind(k++, c.customer_id);
    for (double v : c.features) q.bind(k++, v);
    q.bind(k++, c.r_score);
    q.bind(k++, c.f_score);
    q.bind(k++, c.m_score);
    q.bindNoCopy(k++, c.segment);
    q.bind(k++, std::string(ChurnStatusName(c.status)));
    if (c.last_purchase_at.has_value()) {
      q.bind(k++, *c.last_purchase_at);
    } else {
      q.bind(k++);
    }
    if (c.churn_score.has_value()) {
      auto [s, j] = score.Row();
      s.bind(j, run_id);
      s.bind(j + 1, c.customer_id);
      s.bind(j + 2, *c.churn_score);
      s.bindNoCopy(j + 3, c.reasons);
    }
  }
  feature.Finish();
  score.Finish();
}

void WriteSegments(SQLite::Database& db, int64_t run_id,
                   const std::vector<SegmentRecord>& segments) {
  SQLite::Statement q(db,
                      "INSERT INTO segments (run_id, segment, customers, "
                      "active_customers, churned_customers, mean_churn_score, "
                      "revenue_at_risk) VALUES (?, ?, ?, ?, ?, ?, ?)");
  for (const SegmentRecord& s : segments) {
    q.bind(1, run_id);
    q.bind(2, s.name);
    q.bind(3, s.customers);
    q.bind(4, s.active_customers);
    q.bind(5, s.churned_customers);
    q.bind(6, s.mean_churn_score);
    q.bind(7, s.revenue_at_risk);
    q.exec();
    q.reset();
  }
}

void WriteCampaigns(SQLite::Database& db, int64_t run_id,
                    const std::vector<CampaignRecord>& campaigns) {
  SQLite::Statement q(
      db,
      "INSERT INTO campaigns (run_id, campaign, description, promo_code, "
      "discount_pct, priority, segments, churn_statuses, min_churn_score, "
      "max_churn_score, holdout_share, max_size, matched, suppressed, "
      "eligible, preempted, capped, assigned, treatment, holdout, "
      "revenue_at_risk, mean_churn_score, min_revenue_at_risk, "
      "suppress_listed_within_us, recently_listed) VALUES (?, ?, ?, ?, ?, ?, "
      "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  for (const CampaignRecord& c : campaigns) {
    json statuses = json::array();
    for (ChurnStatus s : c.config.statuses) statuses.push_back(ChurnStatusName(s));
    int k = 1;
    q.bind(k++, run_id);
    q.bind(k++, c.config.name);
    q.bind(k++, c.config.description);
    q.bind(k++, c.config.promo_code);
    q.bind(k++, c.config.discount_pct);
    q.bind(k++, c.config.priority);
    q.bind(k++, json(c.config.segments).dump());
    q.bind(k++, statuses.dump());
    q.bind(k++, c.config.min_score);
    q.bind(k++, c.config.max_score);
    q.bind(k++, c.config.holdout_share);
    q.bind(k++, c.config.max_size);
    q.bind(k++, c.summary.matched);
    q.bind(k++, c.summary.suppressed);
    q.bind(k++, c.summary.eligible);
    q.bind(k++, c.summary.preempted);
    q.bind(k++, c.summary.capped);
    q.bind(k++, c.summary.assigned);
    q.bind(k++, c.summary.treatment);
    q.bind(k++, c.summary.holdout);
    q.bind(k++, c.summary.revenue_at_risk);
    q.bind(k++, c.summary.avg_score);
    q.bind(k++, c.config.min_revenue_at_risk);
    q.bind(k++, c.config.suppress_listed_within);
    q.bind(k++, c.summary.recently_listed);
    q.exec();
    q.reset();
  }
}

void WriteTargets(SQLite::Database& db, int64_t run_id,
                  const TargetTable& t) {
  BatchInsert ins(db,
                  "INSERT INTO targets (run_id, campaign, position, "
                  "customer_id, segment, churn_score, revenue_at_risk, "
                  "target_group, reasons, promo_code)",
                  10, t.size());
  int64_t position = 0;
  for (size_t i = 0; i < t.size(); ++i) {
    if (i > 0 && t.campaign[i] != t.campaign[i - 1]) position = 0;
    auto [q, k] = ins.Row();
    q.bind(k, run_id);
    q.bindNoCopy(k + 1, t.campaign[i]);
    q.bind(k + 2, position++);
    q.bind(k + 3, t.customer_id[i]);
    q.bindNoCopy(k + 4, t.segment[i]);
    q.bind(k + 5, t.churn_score[i]);
    q.bind(k + 6, t.revenue_at_risk[i]);
    q.bind(k + 7, t.holdout[i] ? "holdout" : "treatment");
    q.bindNoCopy(k + 8, t.reasons[i]);
    q.bindNoCopy(k + 9, t.promo_code[i]);
  }
  ins.Finish();
}

void WriteModelReport(SQLite::Database& db, int64_t run_id,
                      const ModelReportRecord& r) {
  json coefficients = json::object();
  for (const auto& [name, value] : r.coefficients) coefficients[name] = value;
  json grid = json::array();
  for (const GridCellRecord& g : r.grid) {
    grid.push_back({{"c", g.c},
                    {"imbalance", g.imbalance},
                    {"mean_score", g.mean_score},
                    {"sd_score", g.sd_score}});
  }
  SQLite::Statement q(
      db,
      "INSERT INTO model_reports (run_id, c, imbalance, holdout_month, "
      "training_months, training_rows, holdout_rows, scored_customers, auc, "
      "pr_auc, brier, lift_top_decile, log_loss, holdout_positive_rate, "
      "baseline_recency_auc, cv_metric, cv_mean, cv_sd, coefficients, grid, "
      "notes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
      "?, ?, ?)");
  int k = 1;
  q.bind(k++, run_id);
  q.bind(k++, r.c);
  q.bind(k++, r.imbalance);
  q.bind(k++, r.holdout_month);
  q.bind(k++, json(r.training_months).dump());
  q.bind(k++, r.training_rows);
  q.bind(k++, r.holdout_rows);
  q.bind(k++, r.scored_customers);
  q.bind(k++, r.auc);
  q.bind(k++, r.pr_auc);
  q.bind(k++, r.brier);
  q.bind(k++, r.lift_top_decile);
  q.bind(k++, r.log_loss);
  q.bind(k++, r.holdout_positive_rate);
  q.bind(k++, r.baseline_recency_auc);
  q.bind(k++, r.cv_metric);
  q.bind(k++, r.cv_mean);
  q.bind(k++, r.cv_sd);
  q.bind(k++, coefficients.dump());
  q.bind(k++, grid.dump());
  q.bind(k++, r.notes);
  q.exec();
}

void WriteDiagnosis(SQLite::Database& db, int64_t run_id,
                    const DiagnosisRecord& record) {
  const Diagnosis& d = record.diagnosis;
  SQLite::Statement m(
      db,
      "INSERT INTO diagnosis_months (run_id, month, revenue, orders, buyers, "
      "new_buyers, returning_buyers, new_revenue, returning_revenue, labeled, "
      "censored, churned, churn_rate, failed_payments, promo_orders, "
      "promo_amount, partial) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
      "?, ?, ?, ?)");
  for (const MonthlyRow& r : d.months) {
    int k = 1;
    m.bind(k++, run_id);
    m.bind(k++, FormatMonth(r.month));
    for (int64_t v : {r.revenue, r.orders, r.buyers, r.new_buyers,
                      r.returning_buyers, r.new_revenue, r.returning_revenue,
                      r.labeled, r.censored, r.churned}) {
      m.bind(k++, v);
    }
    m.bind(k++, r.churn_rate);
    m.bind(k++, r.failed_payments);
    m.bind(k++, r.promo_orders);
    m.bind(k++, r.promo_amount);
    m.bind(k++, r.partial ? 1 : 0);
    m.exec();
    m.reset();
  }
  SQLite::Statement s(db,
                      "INSERT INTO diagnosis_segment_months (run_id, month, "
                      "segment, labeled, censored, churned, churn_rate) "
                      "VALUES (?, ?, ?, ?, ?, ?, ?)");
  for (const SegmentMonthRow& r : d.segment_months) {
    s.bind(1, run_id);
    s.bind(2, FormatMonth(r.month));
    s.bind(3, r.segment);
    s.bind(4, r.labeled);
    s.bind(5, r.censored);
    s.bind(6, r.churned);
    s.bind(7, r.churn_rate);
    s.exec();
    s.reset();
  }
  SQLite::Statement f(db,
                      "INSERT INTO diagnosis_funnel (run_id, month, sessions, "
                      "homepage, search, item_detail, add_to_cart, add_promo, "
                      "booking, successful_payment) VALUES (?, ?, ?, ?, ?, ?, "
                      "?, ?, ?, ?)");
  for (const FunnelRow& r : d.funnel) {
    int k = 1;
    f.bind(k++, run_id);
    f.bind(k++, FormatMonth(r.month));
    for (int64_t v : {r.sessions, r.homepage, r.search, r.item_detail,
                      r.add_to_cart, r.add_promo, r.booking,
                      r.successful_payment}) {
      f.bind(k++, v);
    }
    f.exec();
    f.reset();
  }
  SQLite::Statement p(db,
                      "INSERT INTO diagnosis_promo (run_id, segment, orders, "
                      "promo_orders, promo_share, promo_amount) VALUES (?, ?, "
                      "?, ?, ?, ?)");
  for (const PromoRow& r : d.promo_by_segment) {
    p.bind(1, run_id);
    p.bind(2, r.segment);
    p.bind(3, r.orders);
    p.bind(4, r.promo_orders);
    p.bind(5, r.promo_share);
    p.bind(6, r.promo_amount);
    p.exec();
    p.reset();
  }
  SQLite::Statement sum(db,
                        "INSERT INTO diagnosis_summaries (run_id, summary) "
                        "VALUES (?, ?)");
  sum.bind(1, run_id);
  sum.bind(2, record.summary);
  sum.exec();
}

std::vector<SegmentRecord> ReadSegments(SQLite::Database& db, int64_t run_id) {
  SQLite::Statement q(db,
                      "SELECT segment, customers, active_customers, "
                      "churned_customers, mean_churn_score, revenue_at_risk "
                      "FROM segments WHERE run_id = ? ORDER BY segment");
  q.bind(1, run_id);
  std::vector<SegmentRecord> out;
  while (q.executeStep()) {
    out.push_back({Text(q.getColumn(0)), q.getColumn(1).getInt64(),
                   q.getColumn(2).getInt64(), q.getColumn(3).getInt64(),
                   q.getColumn(4).getDouble(), q.getColumn(5).getDouble()});
  }
  return out;
}

absl::StatusOr<std::vector<CampaignRecord>> ReadCampaigns(SQLite::Database& db,
                                                          int64_t run_id) {
  SQLite::Statement q(
      db,
      "SELECT campaign, description, promo_code, discount_pct, priority, "
      "segments, churn_statuses, min_churn_score, max_churn_score, "
      "holdout_share, max_size, matched, suppressed, eligible, preempted, "
      "capped, assigned, treatment, holdout, revenue_at_risk, "
      "mean_churn_score, min_revenue_at_risk, suppress_listed_within_us, "
      "recently_listed FROM campaigns WHERE run_id = ? "
      "ORDER BY priority, campaign");
  q.bind(1, run_id);
  std::vector<CampaignRecord> out;
  while (q.executeStep()) {
    CampaignRecord c;
    int k = 0;
    c.config.name = Text(q.getColumn(k++));
    c.config.description = Text(q.getColumn(k++));
    c.config.promo_code = Text(q.getColumn(k++));
    c.config.discount_pct = q.getColumn(k++).getDouble();
    c.config.priority = q.getColumn(k++).getInt();
    absl::StatusOr<std::vector<std::string>> segments = StringArray(Text(q.getColumn(k++)));
    absl::StatusOr<std::vector<std::string>> statuses = StringArray(Text(q.getColumn(k++)));
    if (!segments.ok() || !statuses.ok()) {
      return Corrupt(run_id, "campaign " + c.config.name + " has malformed filters");
    }
    c.config.segments = *segments;
    for (const std::string& s : *statuses) {
      const std::optional<ChurnStatus> status = ParseChurnStatus(s);
      if (!status) return Corrupt(run_id, "unknown churn status '" + s + "'");
      c.config.statuses.push_back(*status);
    }
    c.config.min_score = q.getColumn(k++).getDouble();
    c.config.max_score = q.getColumn(k++).getDouble();
    c.config.holdout_share = q.getColumn(k++).getDouble();
    c.config.max_size = q.getColumn(k++).getInt64();
    c.summary.name = c.config.name;
    c.summary.matched = q.getColumn(k++).getInt64();
    c.summary.suppressed = q.getColumn(k++).getInt64();
    c.summary.eligible = q.getColumn(k++).getInt64();
    c.summary.preempted = q.getColumn(k++).getInt64();
    c.summary.capped = q.getColumn(k++).getInt64();
    c.summary.assigned = q.getColumn(k++).getInt64();
    c.summary.treatment = q.getColumn(k++).getInt64();
    c.summary.holdout = q.getColumn(k++).getInt64();
    c.summary.revenue_at_risk = q.getColumn(k++).getDouble();
    c.summary.avg_score = q.getColumn(k++).getDouble();
    c.config.min_revenue_at_risk = q.getColumn(k++).getDouble();
    c.config.suppress_listed_within = q.getColumn(k++).getInt64();
    c.summary.recently_listed = q.getColumn(k++).getInt64();
    c.summary.promo_code = c.config.promo_code;
    c.summary.discount_pct = c.config.discount_pct;
    c.summary.priority = c.config.priority;
    c.summary.description = c.config.description;
    out.push_back(std::move(c));
  }
  return out;
}

int64_t CountTargets(StatementCache& statements, int64_t run_id,
                     const std::string& campaign) {
  StatementCache::Handle q = statements.Get(
      "SELECT assigned FROM campaigns WHERE run_id = ? AND "
      "campaign = ?");
  q->bind(1, run_id);
  q->bind(2, campaign);
  return q->executeStep() ? q->getColumn(0).getInt64() : -1;
}

TargetTable ReadTargets(StatementCache& statements, int64_t run_id,
                        const std::string& campaign, int64_t offset,
                        int64_t limit) {
  StatementCache::Handle handle = statements.Get(
      "SELECT customer_id, segment, churn_score, "
      "revenue_at_risk, target_group, reasons, promo_code "
      "FROM targets WHERE run_id = ? AND campaign = ? AND "
      "position >= ? ORDER BY position LIMIT ?");
  SQLite::Statement& q = *handle;
  q.bind(1, run_id);
  q.bind(2, campaign);
  q.bind(3, offset);
  q.bind(4, limit);
  TargetTable t;
  while (q.executeStep()) {
    t.customer_id.push_back(q.getColumn(0).getInt64());
    t.campaign.push_back(campaign);
    t.segment.push_back(Text(q.getColumn(1)));
    t.churn_score.push_back(q.getColumn(2).getDouble());
    t.revenue_at_risk.push_back(q.getColumn(3).getDouble());
    t.holdout.push_back(Text(q.getColumn(4)) == "holdout" ? 1 : 0);
    t.reasons.push_back(Text(q.getColumn(5)));
    t.promo_code.push_back(Text(q.getColumn(6)));
  }
  return t;
}

absl::StatusOr<CustomerRecord> ReadCustomer(StatementCache& statements,
                                            int64_t run_id,
                                            int64_t customer_id) {
  StatementCache::Handle handle = statements.Get(
      absl::StrCat("SELECT ", FeatureColumns(),
                   ", r_score, f_score, m_score, segment, churn_status, "
                   "last_purchase_at_us FROM customer_features WHERE "
                   "run_id = ? AND customer_id = ?"));
  SQLite::Statement& q = *handle;
  q.bind(1, run_id);
  q.bind(2, customer_id);
  if (!q.executeStep()) {
    return absl::NotFoundError(
        absl::StrCat("customer ", customer_id, " is not in run ", run_id));
  }
  CustomerRecord c;
  c.customer_id = customer_id;
  int k = 0;
  for (double& v : c.features) v = q.getColumn(k++).getDouble();
  c.r_score = q.getColumn(k++).getInt();
  c.f_score = q.getColumn(k++).getInt();
  c.m_score = q.getColumn(k++).getInt();
  c.segment = Text(q.getColumn(k++));
  const std::string status = Text(q.getColumn(k++));
  const std::optional<ChurnStatus> parsed = ParseChurnStatus(status);
  if (!parsed) return Corrupt(run_id, "unknown churn status '" + status + "'");
  c.status = *parsed;
  if (!q.getColumn(k).isNull()) c.last_purchase_at = q.getColumn(k).getInt64();

  StatementCache::Handle s = statements.Get(
      "SELECT churn_score, reasons FROM scores WHERE run_id = "
      "? AND customer_id = ?");
  s->bind(1, run_id);
  s->bind(2, customer_id);
  if (s->executeStep()) {
    c.churn_score = s->getColumn(0).getDouble();
    c.reasons = Text(s->getColumn(1));
  }
  StatementCache::Handle t = statements.Get(
      "SELECT campaign, target_group, revenue_at_risk FROM "
      "targets WHERE run_id = ? AND customer_id = ?");
  t->bind(1, run_id);
  t->bind(2, customer_id);
  if (t->executeStep()) {
    c.campaign = Text(t->getColumn(0));
    c.holdout = Text(t->getColumn(1)) == "holdout";
    c.revenue_at_risk = t->getColumn(2).getDouble();
  } else {
    StatementCache::Handle h = statements.Get(
        "SELECT campaign FROM contact_holds WHERE run_id = ? AND "
        "customer_id = ?");
    h->bind(1, run_id);
    h->bind(2, customer_id);
    if (h->executeStep()) c.held_by = Text(h->getColumn(0));
  }
  return c;
}

absl::StatusOr<ModelReportRecord> ReadModelReport(SQLite::Database& db,
                                                  int64_t run_id) {
  SQLite::Statement q(
      db,
      "SELECT c, imbalance, holdout_month, training_months, training_rows, "
      "holdout_rows, scored_customers, auc, pr_auc, brier, lift_top_decile, "
      "log_loss, holdout_positive_rate, baseline_recency_auc, cv_metric, "
      "cv_mean, cv_sd, coefficients, grid, notes FROM model_reports WHERE "
      "run_id = ?");
  q.bind(1, run_id);
  if (!q.executeStep()) {
    return absl::NotFoundError(absl::StrCat("run ", run_id, " has no model report"));
  }
  ModelReportRecord r;
  int k = 0;
  r.c = q.getColumn(k++).getDouble();
  r.imbalance = Text(q.getColumn(k++));
  r.holdout_month = Text(q.getColumn(k++));
  absl::StatusOr<std::vector<std::string>> months = StringArray(Text(q.getColumn(k++)));
  if (!months.ok()) return Corrupt(run_id, "malformed training_months");
  r.training_months = *months;
  r.training_rows = q.getColumn(k++).getInt64();
  r.holdout_rows = q.getColumn(k++).getInt64();
  r.scored_customers = q.getColumn(k++).getInt64();
  r.auc = q.getColumn(k++).getDouble();
  r.pr_auc = q.getColumn(k++).getDouble();
  r.brier = q.getColumn(k++).getDouble();
  r.lift_top_decile = q.getColumn(k++).getDouble();
  r.log_loss = q.getColumn(k++).getDouble();
  r.holdout_positive_rate = q.getColumn(k++).getDouble();
  r.baseline_recency_auc = q.getColumn(k++).getDouble();
  r.cv_metric = Text(q.getColumn(k++));
  r.cv_mean = q.getColumn(k++).getDouble();
  r.cv_sd = q.getColumn(k++).getDouble();
  const json coefficients = json::parse(Text(q.getColumn(k++)), nullptr, false);
  const json grid = json::parse(Text(q.getColumn(k++)), nullptr, false);
  if (!coefficients.is_object() || !grid.is_array()) {
    return Corrupt(run_id, "malformed model report coefficients or grid");
  }
  for (const auto& [name, value] : coefficients.items()) {
    if (!value.is_number()) return Corrupt(run_id, "non-numeric coefficient");
    r.coefficients.emplace_back(name, value.get<double>());
  }
  for (const json& g : grid) {
    if (!g.is_object() || !g.contains("c") || !g.contains("imbalance")) {
      return Corrupt(run_id, "malformed grid cell");
    }
    r.grid.push_back({g.value("c", 0.0), g.value("imbalance", ""),
                      g.value("mean_score", 0.0), g.value("sd_score", 0.0)});
  }
  r.notes = Text(q.getColumn(k++));
  return r;
}

absl::StatusOr<DiagnosisRecord> ReadDiagnosis(SQLite::Database& db,
                                              int64_t run_id) {
  DiagnosisRecord out;
  SQLite::Statement sum(db,
                        "SELECT summary FROM diagnosis_summaries WHERE run_id = ?");
  sum.bind(1, run_id);
  if (!sum.executeStep()) {
    return absl::NotFoundError(absl::StrCat("run ", run_id, " has no diagnosis"));
  }
  out.summary = Text(sum.getColumn(0));
  Diagnosis& d = out.diagnosis;
  SQLite::Statement as_of(db, "SELECT as_of_us FROM runs WHERE run_id = ?");
  as_of.bind(1, run_id);
  if (as_of.executeStep()) d.as_of = as_of.getColumn(0).getInt64();
  auto month_of = [&](const SQLite::Column& c) -> absl::StatusOr<MonthIndex> {
    const std::optional<MonthIndex> m = ParseMonth(Text(c));
    if (!m) return Corrupt(run_id, "malformed month '" + Text(c) + "'");
    return *m;
  };
  SQLite::Statement m(
      db,
      "SELECT month, revenue, orders, buyers, new_buyers, returning_buyers, "
      "new_revenue, returning_revenue, labeled, censored, churned, "
      "churn_rate, failed_payments, promo_orders, promo_amount, partial "
      "FROM diagnosis_months WHERE run_id = ? ORDER BY month");
  m.bind(1, run_id);
  while (m.executeStep()) {
    MonthlyRow r;
    absl::StatusOr<MonthIndex> month = month_of(m.getColumn(0));
    if (!month.ok()) return month.status();
    r.month = *month;
    int k = 1;
    for (int64_t* v : {&r.revenue, &r.orders, &r.buyers, &r.new_buyers,
                       &r.returning_buyers, &r.new_revenue,
                       &r.returning_revenue, &r.labeled, &r.censored,
                       &r.churned}) {
      *v = m.getColumn(k++).getInt64();
    }
    r.churn_rate = m.getColumn(k++).getDouble();
    r.failed_payments = m.getColumn(k++).getInt64();
    r.promo_orders = m.getColumn(k++).getInt64();
    r.promo_amount = m.getColumn(k++).getInt64();
    r.partial = m.getColumn(k++).getInt() != 0;
    d.months.push_back(r);
  }
  SQLite::Statement s(db,
                      "SELECT month, segment, labeled, censored, churned, "
                      "churn_rate FROM diagnosis_segment_months WHERE run_id "
                      "= ? ORDER BY month, segment");
  s.bind(1, run_id);
  while (s.executeStep()) {
    SegmentMonthRow r;
    absl::StatusOr<MonthIndex> month = month_of(s.getColumn(0));
    if (!month.ok()) return month.status();
    r.month = *month;
    r.segment = Text(s.getColumn(1));
    r.labeled = s.getColumn(2).getInt64();
    r.censored = s.getColumn(3).getInt64();
    r.churned = s.getColumn(4).getInt64();
    r.churn_rate = s.getColumn(5).getDouble();
    d.segment_months.push_back(r);
  }
  SQLite::Statement f(db,
                      "SELECT month, sessions, homepage, search, item_detail, "
                      "add_to_cart, add_promo, booking, successful_payment "
                      "FROM diagnosis_funnel WHERE run_id = ? ORDER BY month");
  f.bind(1, run_id);
  while (f.executeStep()) {
    FunnelRow r;
    absl::StatusOr<MonthIndex> month = month_of(f.getColumn(0));
    if (!month.ok()) return month.status();
    r.month = *month;
    int k = 1;
    for (int64_t* v : {&r.sessions, &r.homepage, &r.search, &r.item_detail,
                       &r.add_to_cart, &r.add_promo, &r.booking,
                       &r.successful_payment}) {
      *v = f.getColumn(k++).getInt64();
    }
    d.funnel.push_back(r);
  }
  SQLite::Statement p(db,
                      "SELECT segment, orders, promo_orders, promo_share, "
                      "promo_amount FROM diagnosis_promo WHERE run_id = ? "
                      "ORDER BY segment");
  p.bind(1, run_id);
  while (p.executeStep()) {
    d.promo_by_segment.push_back({Text(p.getColumn(0)), p.getColumn(1).getInt64(),
                                  p.getColumn(2).getInt64(),
                                  p.getColumn(3).getDouble(),
                                  p.getColumn(4).getInt64()});
  }
  return out;
}

namespace {

constexpr const char* kReadoutColumns =
    "list_run_id, campaign, promo_code, list_as_of_us, window_us, "
    "window_end_us, complete, treatment_customers, treatment_buyers, "
    "treatment_redeemers, treatment_purchases, treatment_revenue, "
    "treatment_revenue_squares, holdout_customers, holdout_buyers, "
    "holdout_redeemers, holdout_purchases, holdout_revenue, "
    "holdout_revenue_squares";

void BindGroup(SQLite::Statement& q, int* k, const GroupOutcome& g) {
  q.bind((*k)++, g.customers);
  q.bind((*k)++, g.buyers);
  q.bind((*k)++, g.redeemers);
  q.bind((*k)++, g.purchases);
  q.bind((*k)++, g.revenue);
  q.bind((*k)++, g.revenue_squares);
}

GroupOutcome ReadGroup(SQLite::Statement& q, int* k) {
  GroupOutcome g;
  g.customers = q.getColumn((*k)++).getInt64();
  g.buyers = q.getColumn((*k)++).getInt64();
  g.redeemers = q.getColumn((*k)++).getInt64();
  g.purchases = q.getColumn((*k)++).getInt64();
  g.revenue = q.getColumn((*k)++).getInt64();
  g.revenue_squares = q.getColumn((*k)++).getDouble();
  return g;
}

}  // namespace

void WriteHolds(SQLite::Database& db, int64_t run_id,
                const std::vector<ContactHold>& holds) {
  BatchInsert ins(db,
                  "INSERT INTO contact_holds (run_id, customer_id, campaign)",
                  3, holds.size());
  for (const ContactHold& h : holds) {
    auto [q, k] = ins.Row();
    q.bind(k, run_id);
    q.bind(k + 1, h.customer_id);
    q.bindNoCopy(k + 2, h.campaign);
  }
  ins.Finish();
}

void WriteReadouts(SQLite::Database& db, int64_t run_id,
                   const std::vector<CampaignReadout>& readouts) {
  SQLite::Statement q(
      db,
      absl::StrCat("INSERT INTO campaign_readouts (run_id, ", kReadoutColumns,
                   ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                   "?, ?, ?, ?, ?)"));
  for (const CampaignReadout& r : readouts) {
    int k = 1;
    q.bind(k++, run_id);
    q.bind(k++, r.list_run_id);
    q.bind(k++, r.campaign);
    q.bind(k++, r.promo_code);
    q.bind(k++, r.list_as_of);
    q.bind(k++, r.window);
    q.bind(k++, r.window_end);
    q.bind(k++, r.complete ? 1 : 0);
    BindGroup(q, &k, r.treatment);
    BindGroup(q, &k, r.holdout);
    q.exec();
    q.reset();
  }
}

std::vector<CampaignReadout> ReadReadouts(SQLite::Database& db,
                                          int64_t run_id) {
  SQLite::Statement q(
      db, absl::StrCat("SELECT ", kReadoutColumns,
                       " FROM campaign_readouts WHERE run_id = ? ORDER BY "
                       "list_as_of_us DESC, list_run_id DESC, campaign"));
  q.bind(1, run_id);
  std::vector<CampaignReadout> out;
  while (q.executeStep()) {
    CampaignReadout r;
    int k = 0;
    r.list_run_id = q.getColumn(k++).getInt64();
    r.campaign = Text(q.getColumn(k++));
    r.promo_code = Text(q.getColumn(k++));
    r.list_as_of = q.getColumn(k++).getInt64();
    r.window = q.getColumn(k++).getInt64();
    r.window_end = q.getColumn(k++).getInt64();
    r.complete = q.getColumn(k++).getInt() != 0;
    r.treatment = ReadGroup(q, &k);
    r.holdout = ReadGroup(q, &k);
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<PublishedList> ReadPublishedLists(SQLite::Database& db,
                                              Micros before) {
  SQLite::Statement lists(
      db,
      "SELECT r.run_id, r.as_of_us, c.campaign, c.promo_code FROM runs r "
      "JOIN campaigns c ON c.run_id = r.run_id "
      "WHERE r.published = 1 AND r.as_of_us < ?1 AND r.run_id = "
      "(SELECT MAX(n.run_id) FROM runs n WHERE n.published = 1 AND "
      "n.as_of_us = r.as_of_us) "
      "ORDER BY r.as_of_us DESC, c.priority, c.campaign");
  lists.bind(1, before);
  std::vector<PublishedList> out;
  while (lists.executeStep()) {
    out.push_back({lists.getColumn(0).getInt64(),
                   lists.getColumn(1).getInt64(),
                   Text(lists.getColumn(2)),
                   Text(lists.getColumn(3)),
                   {},
                   {}});
  }
  SQLite::Statement rows(
      db,
      "SELECT customer_id, target_group = 'holdout' FROM targets "
      "WHERE run_id = ? AND campaign = ? ORDER BY position");
  for (PublishedList& list : out) {
    rows.bind(1, list.run_id);
    rows.bind(2, list.campaign);
    while (rows.executeStep()) {
      const int64_t customer = rows.getColumn(0).getInt64();
      (rows.getColumn(1).getInt() != 0 ? list.holdout : list.treatment)
          .push_back(customer);
    }
    rows.reset();
  }
  return out;
}

}  // namespace winback::store_internal
