#include "jobs/pipeline/pipeline.h"

#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "jobs/common/status_macros.h"

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

std::vector<std::pair<std::string, int64_t>> Counts(const Dataset& d,
                                                    const SessionizeStats& s,
                                                    const LabelStats& l) {
  std::vector<std::pair<std::string, int64_t>> c;
  for (const FileReport& f : d.report.files) {
    std::string base = f.file;
    if (const auto dot = base.rfind('.'); dot != std::string::npos) {
      base.resize(dot);
    }
    c.emplace_back(base + ".rows_read", f.rows_read);
    c.emplace_back(base + ".rows_rejected", f.rows_rejected);
    c.emplace_back(base + ".rows_repaired", f.rows_repaired);
  }
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
      out.push_back({f.file, "repaired:" + r.reason, r.count, r.first_lines});
    }
  }
  return out;
}

// Runs the stages; any error here makes the caller record a failed run.
class Runner {
 public:
  Runner(const Config& config, Store* store, int64_t run_id,
         const ProgressFn& progress, const std::atomic<bool>* cancel)
      : config_(config),
        store_(store),
        run_id_(run_id),
        progress_(progress),
        cancel_(cancel) {}

  absl::Status Run(const RunRequest& request, RunResult* result) {
    Dataset data;
    WB_RETURN_IF_ERROR(Stage(0, [&]() -> absl::StatusOr<int64_t> {
      IngestOptions o;
      o.max_bad_row_share = config_.data.max_bad_row_share;
      o.threads = config_.data.ingest_threads;
      WB_ASSIGN_OR_RETURN(data, IngestDirectory(config_.data.dir, o));
      return static_cast<int64_t>(data.clicks.size() + data.bookings.size() +
                                  data.customers.size() + data.products.size());
    }, result));
    as_of_ = request.as_of.has_value() ? *request.as_of : LatestEvent(data);
    WB_RETURN_IF_ERROR(store_->SetAsOf(run_id_, as_of_));
    result->ingest = data.report;

    SessionTable sessions;
    WB_RETURN_IF_ERROR(Stage(1, [&]() -> absl::StatusOr<int64_t> {
      SessionizeOptions o;
      o.gap = config_.session_gap;
      o.as_of = as_of_;
      o.threads = config_.data.ingest_threads;
      WB_ASSIGN_OR_RETURN(sessions, Sessionize(data.clicks, data.bookings,
                                               data.session_ids.size(), o,
                                               &result->sessions));
      return static_cast<int64_t>(sessions.size());
    }, result));
    // The raw click events are not needed past this point; give back their
    // memory before the later stages allocate theirs.
    data.clicks = ClickTable();

    LabelTable labels;
    WB_RETURN_IF_ERROR(Stage(2, [&]() -> absl::StatusOr<int64_t> {
      LabelOptions o;
      o.window = config_.churn_window;
      o.as_of = as_of_;
      WB_ASSIGN_OR_RETURN(labels, LabelChurn(data.bookings, o, &result->labels));
      return static_cast<int64_t>(labels.size());
    }, result));

    result->counts = Counts(data, result->sessions, result->labels);
    WB_RETURN_IF_ERROR(Stage(3, [&]() -> absl::StatusOr<int64_t> {
      RunOutputs out;
      out.counts = result->counts;
      out.rejects = Rejects(data.report);
      out.labels = &labels;
      WB_RETURN_IF_ERROR(store_->PublishRun(run_id_, out, NowMicros()));
      return static_cast<int64_t>(labels.size());
    }, result));
    return absl::OkStatus();
  }

 private:
  template <typename Fn>
  absl::Status Stage(int index, Fn&& fn, RunResult* result) {
    if (cancel_ != nullptr && cancel_->load()) {
      return absl::CancelledError(
          absl::StrCat("run cancelled before stage ", StageNames()[index]));
    }
    const std::string& name = StageNames()[index];
    const int count = static_cast<int>(StageNames().size());
    if (name != "publish") {
      // The publish stage's own transaction records the final state.
      WB_RETURN_IF_ERROR(store_->RecordStage(run_id_, {name, 0.0, 0}));
    }
    if (progress_) progress_({run_id_, name, index, count, false, 0, 0.0});
    const auto start = Clock::now();
    absl::StatusOr<int64_t> rows = fn();
    if (!rows.ok()) {
      return absl::Status(rows.status().code(),
                          absl::StrCat(name, ": ", rows.status().message()));
    }
    StageStat stat{name, SecondsSince(start), *rows};
    result->stages.push_back(stat);
    if (name != "publish") {
      WB_RETURN_IF_ERROR(store_->RecordStage(run_id_, stat));
    } else {
      // Publishing committed; record its timing for the history.
      (void)store_->RecordStage(run_id_, stat);
    }
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
  Micros as_of_ = 0;
};

}  // namespace

const std::vector<std::string>& StageNames() {
  static const std::vector<std::string> kNames = {"ingest", "sessionize",
                                                  "label", "publish"};
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
                                      const std::atomic<bool>* cancel) {
  WB_ASSIGN_OR_RETURN(
      RunRecord record,
      store->BeginRun(request.trigger, request.request_id,
                      request.as_of.value_or(0), NowMicros()));
  RunResult result;
  Runner runner(config, store, record.run_id, progress, cancel);
  const absl::Status status = runner.Run(request, &result);
  if (!status.ok()) {
    const RunState state = status.code() == absl::StatusCode::kCancelled
                               ? RunState::kCancelled
                               : RunState::kFailed;
    const absl::Status recorded = store->FinishUnpublished(
        record.run_id, state, status.message(), NowMicros());
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
