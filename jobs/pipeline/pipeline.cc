#include "jobs/pipeline/pipeline.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <thread>
#include <tuple>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "jobs/common/resource_usage.h"
#include "jobs/common/status_macros.h"
#include "jobs/diagnosis/diagnosis.h"
#include "jobs/features/features.h"
#include "jobs/pipeline/export.h"
#include "jobs/readout/readout.h"
#include "jobs/segments/segments.h"

namespace winback {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The latest event time in the export: the default as-of time.
Micros LatestEvent(const Dataset& d) {
  Micros latest = std::numeric_limits<Micros>::min();
  for (Micros t : d.clicks.event_time) latest = std::max(latest, t);
  for (Micros t : d.bookings.created_at) latest = std::max(latest, t);
  return latest;
}

// The run_counts name of a file's count: "customer.rows_read", ...
std::string FileCountName(const std::string& file, const char* count) {
  std::string base = file;
  if (const auto dot = base.rfind('.'); dot != std::string::npos) {
    base.resize(dot);
  }
  return absl::StrCat(base, ".", count);
}

// Rows read, rejected and repaired per file.
std::vector<std::pair<std::string, int64_t>> FileCounts(
    const IngestReport& report) {
  std::vector<std::pair<std::string, int64_t>> c;
  for (const FileReport& f : report.files) {
    if (f.file.empty()) continue;  // not reached before ingest failed
    c.emplace_back(FileCountName(f.file, "rows_read"), f.rows_read);
    c.emplace_back(FileCountName(f.file, "rows_rejected"), f.rows_rejected);
    c.emplace_back(FileCountName(f.file, "rows_repaired"), f.rows_repaired);
  }
  return c;
}

// Fails when a file has more than `max_drop` (a share) fewer rows than the
// served run read from it. The export grows night by night; one cut short or
// half copied still parses cleanly, and its lists would replace good ones.
absl::Status CheckRowDrop(Store* store, const IngestReport& report,
                          double max_drop) {
  if (max_drop >= 1.0) return absl::OkStatus();
  WB_ASSIGN_OR_RETURN(const std::optional<RunRecord> served,
                      store->LatestPublishedRun());
  if (!served.has_value()) return absl::OkStatus();
  WB_ASSIGN_OR_RETURN(const auto stored, store->GetCounts(served->run_id));
  const absl::flat_hash_map<std::string, int64_t> before(stored.begin(),
                                                         stored.end());
  std::vector<std::string> shrunk;
  for (const FileReport& f : report.files) {
    const auto it = before.find(FileCountName(f.file, "rows_read"));
    if (it == before.end() || it->second <= 0) continue;
    const double drop = 1.0 - static_cast<double>(f.rows_read) /
                                  static_cast<double>(it->second);
    if (drop > max_drop) {
      shrunk.push_back(absl::StrFormat(
          "%s has %d rows, %.1f%% fewer than the %d run %d read", f.file,
          f.rows_read, 100 * drop, it->second, served->run_id));
    }
  }
  if (shrunk.empty()) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      absl::StrJoin(shrunk, "; "), " (run ", served->run_id,
      "'s lists are served), more than data.max_row_drop (",
      absl::StrFormat("%g", 100 * max_drop),
      "%) allows: the export looks cut short. Check the job that writes "
      "data.dir; if the export shrank on purpose, raise data.max_row_drop "
      "(1 turns the check off) for one run"));
}

std::vector<std::pair<std::string, int64_t>> Counts(const Dataset& d,
                                                    const SessionizeStats& s,
                                                    const LabelStats& l) {
  std::vector<std::pair<std::string, int64_t>> c = FileCounts(d.report);
  c.emplace_back("click_events", s.events_used);
  c.emplace_back("click_events_after_as_of", s.events_after_as_of);
  c.emplace_back("session_ids", s.session_ids);
  c.emplace_back("sessions", s.sessions);
  c.emplace_back("sessions_linked", s.sessions_linked);
  c.emplace_back("session_links_conflicting", s.conflicting_links);
  c.emplace_back("customers", static_cast<int64_t>(d.customers.size()));
  c.emplace_back("products", static_cast<int64_t>(d.products.size()));
  c.emplace_back("bookings", static_cast<int64_t>(d.bookings.size()));
  c.emplace_back("purchases", l.purchases);
  c.emplace_back("purchasing_customers", l.customers);
  c.emplace_back("customer_months_labeled", l.labeled);
  c.emplace_back("customer_months_censored", l.censored);
  c.emplace_back("customer_months_churned", l.churned);
  return c;
}

std::vector<RejectStat> Rejects(const IngestReport& report) {
  std::vector<RejectStat> out;
  for (const FileReport& f : report.files) {
    for (const FileReport::Reason& r : f.rejects) {
      out.push_back({f.file, r.reason, r.count, r.first_lines});
    }
    for (const FileReport::Reason& r : f.repairs) {
      out.push_back({f.file, absl::StrCat(kRepairedReasonPrefix, r.reason),
                     r.count, r.first_lines});
    }
  }
  return out;
}

std::string ReasonsJson(const std::vector<ScoredReason>& reasons) {
  std::vector<Reason> out;
  for (const ScoredReason& r : reasons) out.push_back({r.feature, r.contribution});
  return EncodeReasons(out);
}

ModelReportRecord ToReport(const ScoringResult& s) {
  const model::ModelSummary& m = s.model;
  ModelReportRecord r;
  r.c = m.c;
  r.imbalance = m.imbalance_name;
  r.holdout_month = FormatMonth(s.holdout_month);
  for (MonthIndex month : s.training_months) r.training_months.push_back(FormatMonth(month));
  r.training_rows = s.training_rows;
  r.holdout_rows = s.holdout_rows;
  r.scored_customers = s.scored_customers;
  r.auc = m.holdout.roc_auc;
  r.pr_auc = m.holdout.average_precision;
  r.brier = m.holdout.brier;
  r.lift_top_decile = m.holdout.lift_top_decile;
  r.log_loss = m.holdout.log_loss;
  r.holdout_positive_rate = m.holdout.positive_rate;
  r.baseline_recency_auc = s.baseline_recency_auc;
  r.cv_metric = m.cv_metric == model::CvMetric::kRocAuc ? "roc_auc" : "average_precision";
  r.cv_mean = m.cv_mean;
  r.cv_sd = m.cv_sd;
  for (const model::CoefficientSummary& c : m.coefficients) {
    r.coefficients.emplace_back(c.name, c.coefficient);
  }
  for (const model::GridCell& g : m.grid) {
    r.grid.push_back({g.c, std::string(model::ImbalanceName(g.imbalance)),
                      g.mean_score, g.sd_score});
  }
  r.notes = ModelNotes(s);
  return r;
}

// Runs the stages; any error here makes the caller record a failed run.
class Runner {
 public:
  Runner(const Config& config, Store* store, int64_t run_id,
         const ProgressFn& progress, const std::atomic<bool>* cancel,
         const StageHook& before_stage)
      : config_(config),
        store_(store),
        run_id_(run_id),
        progress_(progress),
        cancel_(cancel),
        before_stage_(before_stage) {}

  absl::Status Run(const RunRequest& request, RunResult* result) {
    WB_RETURN_IF_ERROR(store_->SetConfigJson(run_id_, ConfigToJson(config_)));
    Dataset data;
    IngestOptions ingest_options;
    ingest_options.max_bad_row_share = config_.data.max_bad_row_share;
    ingest_options.threads = config_.data.ingest_threads;
    ingest_options.latest_event_time = NowMicros() + kMicrosPerDay;
    WB_RETURN_IF_ERROR(Stage(
        "ingest",
        [&]() -> absl::StatusOr<int64_t> {
          absl::StatusOr<Dataset> read = IngestDirectory(
              config_.data.dir, ingest_options, &result->ingest);
          if (!read.ok()) return read.status();
          data = *std::move(read);
          result->ingest = data.report;
          WB_RETURN_IF_ERROR(
              CheckRowDrop(store_, data.report, config_.data.max_row_drop));
          return static_cast<int64_t>(
              data.clicks.size() + data.bookings.size() +
              data.customers.size() + data.products.size());
        },
        result));
    const Micros latest = LatestEvent(data);
    if (latest == std::numeric_limits<Micros>::min()) {
      return absl::InvalidArgumentError(
          "ingest: no valid click event or booking in the export");
    }
    // Past the export's last event there is no data, so a later as-of time
    // would make every window that ends after it look like no repurchase.
    if (request.as_of.has_value() && *request.as_of > latest) {
      return absl::InvalidArgumentError(absl::StrCat(
          "as-of time ", FormatTimestamp(*request.as_of),
          " is after the export's latest event, ", FormatTimestamp(latest),
          ": churn windows ending after that cannot be judged (leave the "
          "as-of time out to use the latest event)"));
    }
    as_of_ = request.as_of.value_or(latest);
    WB_RETURN_IF_ERROR(store_->SetAsOf(run_id_, as_of_));
    // A backfill does not see the customers who joined after its as-of time.
    const int64_t joined_after_as_of =
        DropCustomersJoinedAfter(as_of_, data.bookings, &data.customers);

    SessionTable sessions;
    WB_RETURN_IF_ERROR(Stage("sessionize", [&]() -> absl::StatusOr<int64_t> {
      SessionizeOptions o;
      o.gap = config_.session_gap;
      o.as_of = as_of_;
      o.threads = config_.data.ingest_threads;
      // The raw click events are not needed past this point: Sessionize
      // frees them as it goes, before the later stages allocate.
      WB_ASSIGN_OR_RETURN(sessions, Sessionize(std::move(data.clicks),
                                               data.bookings,
                                               data.session_ids.size(), o,
                                               &result->sessions));
      // Click rows repeating an earlier row are click_stream.csv's
      // duplicate_id rejects, found only here, and count toward its bad-row
      // share as ingest's rejects do; a failure keeps them in the report.
      for (FileReport& f : data.report.files) {
        if (f.file != "click_stream.csv") continue;
        const absl::Status counted = AddDuplicateRows(
            result->sessions.duplicate_events, result->sessions.duplicate_lines,
            ingest_options, &f);
        result->ingest = data.report;
        WB_RETURN_IF_ERROR(counted);
      }
      return static_cast<int64_t>(sessions.size());
    }, result));
    data.clicks = ClickTable();
    if (!request.export_dir.empty()) {
      WB_RETURN_IF_ERROR(ExportSessionsPerCustomer(
          sessions, request.export_dir + "/sessions_per_customer.csv"));
      WB_RETURN_IF_ERROR(ExportSessions(sessions, data.session_ids,
                                        request.export_dir + "/sessions.csv"));
    }

    LabelTable labels;
    WB_RETURN_IF_ERROR(Stage("label", [&]() -> absl::StatusOr<int64_t> {
      LabelOptions o;
      o.window = config_.churn_window;
      o.as_of = as_of_;
      WB_ASSIGN_OR_RETURN(labels, LabelChurn(data.bookings, o, &result->labels));
      return static_cast<int64_t>(labels.size());
    }, result));
    result->counts = Counts(data, result->sessions, result->labels);
    result->counts.emplace_back("customers_joined_after_as_of",
                                joined_after_as_of);

    CustomerHistory history;
    WB_RETURN_IF_ERROR(Stage("features", [&]() -> absl::StatusOr<int64_t> {
      history = BuildHistory(data.customers, data.bookings, sessions, as_of_,
                             config_.data.ingest_threads);
      result->counts.emplace_back("orphan_purchases", history.orphan_purchases);
      return static_cast<int64_t>(history.purchase_time.size() +
                                  history.session_start.size());
    }, result));

    ScoringResult scoring;
    WB_RETURN_IF_ERROR(Stage("model", [&]() -> absl::StatusOr<int64_t> {
      ScoringOptions o;
      o.training_months = config_.model.training_months;
      o.max_training_rows = config_.model.max_training_rows;
      o.reasons = config_.model.reasons;
      o.grid = config_.model.grid;
      o.features = config_.features;
      o.keep_design = !request.export_dir.empty();
      WB_ASSIGN_OR_RETURN(scoring, TrainAndScore(data.customers, history, labels,
                                                 as_of_, config_.churn_window, o));
      if (scoring.design.has_value()) {
        const DesignMatrix& d = *scoring.design;
        WB_RETURN_IF_ERROR(ExportDesign(d.x_train, d.y_train,
                                        request.export_dir + "/model_train.csv"));
        WB_RETURN_IF_ERROR(ExportDesign(d.x_holdout, d.y_holdout,
                                        request.export_dir + "/model_holdout.csv"));
        scoring.design.reset();
      }
      result->model_report = ToReport(scoring);
      return scoring.training_rows + scoring.holdout_rows + scoring.scored_customers;
    }, result));

    const size_t n = data.customers.size();
    std::vector<std::string> segment_of_row(n);
    std::vector<CustomerRecord> customers(n);
    WB_RETURN_IF_ERROR(Stage("segment", [&]() -> absl::StatusOr<int64_t> {
      RfmInput rfm;
      std::vector<size_t> rows;
      for (size_t r = 0; r < n; ++r) {
        if (scoring.status[r] == ChurnStatus::kNeverPurchased) continue;
        const auto& f = scoring.current.values[r];
        rfm.customer_id.push_back(data.customers.customer_id[r]);
        rfm.recency_days.push_back(f[kRecencyDays]);
        rfm.frequency.push_back(f[kFrequency]);
        rfm.monetary.push_back(f[kMonetary]);
        rows.push_back(r);
      }
      WB_ASSIGN_OR_RETURN(SegmentTable seg, AssignSegments(rfm, config_.segments));
      for (size_t r = 0; r < n; ++r) {
        CustomerRecord& c = customers[r];
        c.customer_id = data.customers.customer_id[r];
        c.features = scoring.current.values[r];
        c.status = scoring.status[r];
        c.last_purchase_at = scoring.last_purchase_at[r];
        c.churn_score = scoring.churn_score[r];
        if (c.churn_score.has_value()) c.reasons = ReasonsJson(scoring.reasons[r]);
      }
      for (size_t i = 0; i < rows.size(); ++i) {
        CustomerRecord& c = customers[rows[i]];
        c.r_score = seg.r[i];
        c.f_score = seg.f[i];
        c.m_score = seg.m[i];
        c.segment = seg.names[seg.segment[i]];
        segment_of_row[rows[i]] = c.segment;
      }
      return static_cast<int64_t>(rows.size());
    }, result));

    TargetTable targets;
    std::vector<ContactHold> holds;
    WB_RETURN_IF_ERROR(Stage("target", [&]() -> absl::StatusOr<int64_t> {
      CandidateTable cand;
      for (size_t r = 0; r < n; ++r) {
        const CustomerRecord& c = customers[r];
        cand.customer_id.push_back(c.customer_id);
        cand.segment.push_back(c.segment);
        cand.status.push_back(c.status);
        cand.churn_score.push_back(c.status == ChurnStatus::kChurned
                                       ? 1.0
                                       : c.churn_score.value_or(0.0));
        cand.expected_spend.push_back(c.features[kAvgMonthlySpend12m]);
        cand.last_purchase_at.push_back(c.last_purchase_at.value_or(kNoPurchase));
        cand.reasons.push_back(c.reasons);
      }
      // The contact caps: who each capped campaign listed in the nightly
      // runs of its window (the run lock keeps them from changing meanwhile).
      RecentListings recent;
      for (const Campaign& k : config_.campaigns.campaigns) {
        if (k.suppress_listed_within <= 0) continue;
        WB_ASSIGN_OR_RETURN(
            const std::vector<int64_t> listed,
            store_->GetListedCustomers(
                k.name, as_of_ - k.suppress_listed_within, as_of_));
        recent[k.name].insert(listed.begin(), listed.end());
      }
      WB_ASSIGN_OR_RETURN(
          auto built,
          BuildTargets(cand, as_of_, config_.campaigns, recent, &holds));
      targets = std::move(built.first);
      std::map<std::string, const Campaign*> config_of;
      for (const Campaign& k : config_.campaigns.campaigns) config_of[k.name] = &k;
      for (CampaignSummary& summary : built.second) {
        result->campaigns.push_back({*config_of.at(summary.name), std::move(summary)});
      }
      // Per-segment figures: sizes, statuses, mean score of the scored
      // customers and the revenue at risk of the segment's customers.
      std::map<std::string, SegmentRecord> by_name;
      std::map<std::string, int64_t> scored;
      for (const SegmentRule& rule : config_.segments.rules) by_name[rule.name].name = rule.name;
      for (size_t r = 0; r < n; ++r) {
        if (segment_of_row[r].empty()) continue;
        SegmentRecord& s = by_name[segment_of_row[r]];
        ++s.customers;
        s.active_customers += cand.status[r] == ChurnStatus::kActive;
        s.churned_customers += cand.status[r] == ChurnStatus::kChurned;
        if (customers[r].churn_score.has_value()) {
          s.mean_churn_score += *customers[r].churn_score;
          ++scored[s.name];
        }
        s.revenue_at_risk += cand.churn_score[r] * cand.expected_spend[r];
      }
      for (auto& [name, s] : by_name) {
        if (scored[name] > 0) s.mean_churn_score /= scored[name];
        result->segments.push_back(s);
      }
      return static_cast<int64_t>(targets.size());
    }, result));

    DiagnosisRecord diagnosis;
    WB_RETURN_IF_ERROR(Stage("diagnose", [&]() -> absl::StatusOr<int64_t> {
      absl::flat_hash_map<int64_t, std::string> segment_of;
      for (size_t r = 0; r < n; ++r) {
        if (!segment_of_row[r].empty()) {
          segment_of[data.customers.customer_id[r]] = segment_of_row[r];
        }
      }
      WB_ASSIGN_OR_RETURN(diagnosis.diagnosis,
                          Diagnose(data.bookings, sessions, labels, segment_of,
                                   as_of_, config_.data.ingest_threads));
      diagnosis.summary = FormatDiagnosis(diagnosis.diagnosis);
      result->diagnosis = diagnosis.summary;
      return static_cast<int64_t>(diagnosis.diagnosis.months.size());
    }, result));

    // The earlier lists are read here, not before the run: the run lock
    // keeps them from changing meanwhile, and a failure before this point
    // should not have cost the read.
    std::vector<CampaignReadout> readouts;
    WB_RETURN_IF_ERROR(Stage(
        "readout",
        [&]() -> absl::StatusOr<int64_t> {
          WB_ASSIGN_OR_RETURN(const std::vector<PublishedList> lists,
                              store_->GetPublishedLists(as_of_));
          ReadoutOptions o;
          o.window = config_.readout_window;
          o.as_of = as_of_;
          WB_ASSIGN_OR_RETURN(readouts,
                              ReadOutCampaigns(lists, data.bookings, o));
          result->readouts = FormatReadouts(readouts, o.window);
          return static_cast<int64_t>(readouts.size());
        },
        result));

    // Publish reads only its own inputs, on one thread. The rest (on the
    // full data about 0.8 GB: sessions, histories, the raw tables) is freed
    // on another thread meanwhile rather than after it: unmapping that much
    // takes about 0.1 s. The jthread joins when Run returns.
    std::vector<RejectStat> rejects = Rejects(data.report);
    std::jthread release(
        [garbage = std::make_tuple(std::move(data), std::move(sessions),
                                   std::move(history),
                                   std::move(scoring))]() mutable {
          auto freed = std::move(garbage);
        });

    WB_RETURN_IF_ERROR(Stage("publish", [&]() -> absl::StatusOr<int64_t> {
      RunOutputs out;
      out.counts = result->counts;
      out.rejects = std::move(rejects);
      out.labels = &labels;
      out.customers = &customers;
      out.segments = &result->segments;
      out.campaigns = &result->campaigns;
      out.targets = &targets;
      out.model_report = &result->model_report;
      out.diagnosis = &diagnosis;
      out.readouts = &readouts;
      out.holds = &holds;
      WB_RETURN_IF_ERROR(store_->PublishRun(run_id_, out, NowMicros()));
      return OutputRows(out);  // as the store records it
    }, result));
    return absl::OkStatus();
  }

 private:
  template <typename Fn>
  absl::Status Stage(const std::string& name, Fn&& fn, RunResult* result) {
    const auto& names = StageNames();
    const int index = static_cast<int>(
        std::find(names.begin(), names.end(), name) - names.begin());
    const int count = static_cast<int>(names.size());
    if (before_stage_) before_stage_(name);
    if (cancel_ != nullptr && cancel_->load()) {
      return absl::CancelledError(absl::StrCat("run cancelled before stage ", name));
    }
    const bool publish = name == "publish";
    if (!publish) {
      // The publish stage's own transaction records the final state.
      WB_RETURN_IF_ERROR(store_->RecordStage(run_id_, {name, 0.0, 0}));
    }
    if (progress_) progress_({run_id_, name, index, count, false, 0, 0.0});
    const auto start = Clock::now();
    const double cpu_start = ProcessCpuSeconds();
    absl::StatusOr<int64_t> rows = fn();
    if (!rows.ok()) {
      return absl::Status(rows.status().code(),
                          absl::StrCat(name, ": ", rows.status().message()));
    }
    StageStat stat{name, SecondsSince(start), *rows,
                   std::max(0.0, ProcessCpuSeconds() - cpu_start)};
    result->stages.push_back(stat);
    // PublishRun records its own stage row inside its transaction.
    if (!publish) WB_RETURN_IF_ERROR(store_->RecordStage(run_id_, stat));
    if (progress_) {
      progress_({run_id_, name, index, count, true, stat.rows, stat.seconds});
    }
    return absl::OkStatus();
  }

  const Config& config_;
  Store* const store_;
  const int64_t run_id_;
  const ProgressFn& progress_;
  const std::atomic<bool>* const cancel_;
  const StageHook& before_stage_;
  Micros as_of_ = 0;
};

}  // namespace

const std::vector<std::string>& StageNames() {
  static const std::vector<std::string> kNames = {
      "ingest",  "sessionize", "label",    "features", "model",
      "segment", "target",     "diagnose", "readout",  "publish"};
  return kNames;
}

Micros NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

absl::StatusOr<RunResult> RunPipeline(const Config& config, Store* store,
                                      const RunRequest& request,
                                      const ProgressFn& progress,
                                      const std::atomic<bool>* cancel,
                                      const StageHook& before_stage) {
  WB_ASSIGN_OR_RETURN(RunRecord record,
                      store->BeginRun(request.trigger, request.request_id,
                                      request.as_of, NowMicros()));
  RunResult result;
  Runner runner(config, store, record.run_id, progress, cancel, before_stage);
  const absl::Status status = runner.Run(request, &result);
  if (!status.ok()) {
    const RunState state = status.code() == absl::StatusCode::kCancelled
                               ? RunState::kCancelled
                               : RunState::kFailed;
    // What was counted before the run stopped stays with it: the file
    // counts and first bad lines explain most failures.
    const absl::Status recorded = store->FinishUnpublished(
        record.run_id, state, status.message(), NowMicros(),
        result.counts.empty() ? FileCounts(result.ingest) : result.counts,
        Rejects(result.ingest));
    if (!recorded.ok()) {
      return absl::Status(status.code(),
                          absl::StrCat(status.message(),
                                       " (and recording the failure failed: ",
                                       recorded.message(), ")"));
    }
    return status;
  }
  WB_ASSIGN_OR_RETURN(result.record, store->GetRun(record.run_id));
  return result;
}

}  // namespace winback
