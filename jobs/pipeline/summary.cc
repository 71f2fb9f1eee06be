#include "jobs/pipeline/summary.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "jobs/common/time_util.h"

namespace winback {

std::string FormatRunSummary(const RunResult& r,
                             const std::optional<RunRecord>& served) {
  std::string out = absl::StrFormat(
      "run %d %s, as of %s\n", r.record.run_id,
      std::string(RunStateName(r.record.state)), FormatTimestamp(r.record.as_of));
  if (served.has_value() && served->run_id != r.record.run_id) {
    out += absl::StrFormat(
        "not served by default: run %d's lists, as of %s, are later and stay "
        "served; this run's are read by its run id\n",
        served->run_id, FormatTimestamp(served->as_of));
  }

  out += "\ninput                      rows    rejected  repaired\n";
  for (const FileReport& f : r.ingest.files) {
    out += absl::StrFormat("  %-20s %10d  %10d  %8d\n", f.file, f.rows_read,
                           f.rows_rejected, f.rows_repaired);
    for (const FileReport::Reason& reason : f.rejects) {
      out += absl::StrFormat("      rejected %-18s %8d  first lines: %s\n",
                             reason.reason, reason.count,
                             absl::StrJoin(reason.first_lines, ", "));
    }
    for (const FileReport::Reason& reason : f.repairs) {
      out += absl::StrFormat("      repaired %-18s %8d  first lines: %s\n",
                             reason.reason, reason.count,
                             absl::StrJoin(reason.first_lines, ", "));
    }
  }

  const SessionizeStats& s = r.sessions;
  out += absl::StrFormat(
      "\nsessions   %d click events in %d session_ids -> %d sessions "
      "(%.1f per session_id), %d linked to a customer (%.1f%%)\n",
      s.events_used, s.session_ids, s.sessions,
      s.session_ids ? static_cast<double>(s.sessions) / s.session_ids : 0.0,
      s.sessions_linked,
      s.sessions ? 100.0 * s.sessions_linked / s.sessions : 0.0);
  const LabelStats& l = r.labels;
  out += absl::StrFormat(
      "labels     %d purchases by %d customers -> %d customer-months labeled "
      "(%d churned, %.1f%%), %d censored\n",
      l.purchases, l.customers, l.labeled, l.churned,
      l.labeled ? 100.0 * l.churned / l.labeled : 0.0, l.censored);

  const ModelReportRecord& m = r.model_report;
  if (!m.imbalance.empty()) {
    out += absl::StrFormat(
        "model      C=%g, imbalance %s (CV %s %.3f +/- %.3f); held-out %s "
        "(%.1f%% churned): AUC %.3f (recency alone %.3f), PR-AUC %.3f, "
        "Brier %.3f, top-decile lift %.2f; %d customers scored\n",
        m.c, m.imbalance, m.cv_metric, m.cv_mean, m.cv_sd, m.holdout_month,
        100 * m.holdout_positive_rate, m.auc, m.baseline_recency_auc, m.pr_auc,
        m.brier, m.lift_top_decile, m.scored_customers);
    for (absl::string_view note :
         absl::StrSplit(m.notes, "; ", absl::SkipEmpty())) {
      out += absl::StrCat("           note: ", note, "\n");
    }
  }
  if (!r.campaigns.empty()) {
    out += "\ncampaign                        list  holdout  capped  "
           "revenue at risk (IDR)  promo\n";
    for (const CampaignRecord& c : r.campaigns) {
      out += absl::StrFormat("  %-28s %6d  %7d  %6d  %21.0f  %s (%g%%)\n",
                             c.summary.name, c.summary.assigned,
                             c.summary.holdout, c.summary.capped,
                             c.summary.revenue_at_risk, c.config.promo_code,
                             c.config.discount_pct);
    }
    for (const CampaignRecord& c : r.campaigns) {
      if (c.summary.recently_listed == 0) continue;
      out +=
          absl::StrFormat("  %s: %d not listed again (on its list within %s)\n",
                          c.summary.name, c.summary.recently_listed,
                          FormatDuration(c.config.suppress_listed_within));
    }
  }
  if (!r.readouts.empty()) out += "\n" + r.readouts;
  if (!r.diagnosis.empty()) out += "\n" + r.diagnosis;
  if (!out.empty() && out.back() != '\n') out += "\n";

  // CPU above the wall time: the stage kept more than one core busy.
  out += "\nstage          seconds      cpu        rows\n";
  double total = 0, total_cpu = 0;
  for (const StageStat& st : r.stages) {
    out += absl::StrFormat("  %-12s %8.3f %8.3f  %10d\n", st.stage, st.seconds,
                           st.cpu_seconds.value_or(0), st.rows);
    total += st.seconds;
    total_cpu += st.cpu_seconds.value_or(0);
  }
  out += absl::StrFormat("  %-12s %8.3f %8.3f\n", "total", total, total_cpu);
  if (r.record.cpu_seconds.has_value() && r.record.peak_rss_bytes.has_value()) {
    out += absl::StrFormat(
        "process: %.1f s of CPU, peak memory %.0f MiB\n", *r.record.cpu_seconds,
        static_cast<double>(*r.record.peak_rss_bytes) / (1 << 20));
  }
  return out;
}

}  // namespace winback
