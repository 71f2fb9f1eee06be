#include "services/convert.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/io/coded_stream.h"
#include "jobs/common/utf8.h"
#include "jobs/features/features.h"

namespace winback {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  // absl::StatusCode and grpc::StatusCode share the canonical numbering.
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

const char* GrpcCodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK: return "OK";
    case grpc::StatusCode::CANCELLED: return "CANCELLED";
    case grpc::StatusCode::UNKNOWN: return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND: return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS: return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED: return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED: return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE: return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED: return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL: return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE: return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS: return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED: return "UNAUTHENTICATED";
    default: return "UNKNOWN";
  }
}

bool IsServerFault(grpc::StatusCode code) {
  return code == grpc::StatusCode::UNKNOWN ||
         code == grpc::StatusCode::INTERNAL ||
         code == grpc::StatusCode::DATA_LOSS ||
         code == grpc::StatusCode::UNAVAILABLE;
}

google::protobuf::Timestamp ToTimestamp(Micros t) {
  google::protobuf::Timestamp ts;
  int64_t secs = t / kMicrosPerSecond;
  int64_t micros = t % kMicrosPerSecond;
  if (micros < 0) {
    micros += kMicrosPerSecond;
    --secs;
  }
  ts.set_seconds(secs);
  ts.set_nanos(static_cast<int32_t>(micros * 1000));
  return ts;
}

namespace {

// A non-negative span of microseconds (windows, caps) as a Duration.
google::protobuf::Duration ToDuration(Micros d) {
  google::protobuf::Duration out;
  out.set_seconds(d / kMicrosPerSecond);
  out.set_nanos(static_cast<int32_t>(d % kMicrosPerSecond * 1000));
  return out;
}

}  // namespace

absl::StatusOr<Micros> FromTimestamp(const google::protobuf::Timestamp& ts,
                                     const char* field) {
  // 0001-01-01 .. 9999-12-31, as google.protobuf.Timestamp defines.
  constexpr int64_t kMin = -62135596800, kMax = 253402300799;
  if (ts.seconds() < kMin || ts.seconds() > kMax || ts.nanos() < 0 ||
      ts.nanos() > 999999999) {
    return absl::InvalidArgumentError(
        std::string(field) + ": timestamp out of range");
  }
  return ts.seconds() * kMicrosPerSecond + ts.nanos() / 1000;
}

v1::RunState ToProto(RunState state) {
  switch (state) {
    case RunState::kPending: return v1::RUN_STATE_PENDING;
    case RunState::kRunning: return v1::RUN_STATE_RUNNING;
    case RunState::kSucceeded: return v1::RUN_STATE_SUCCEEDED;
    case RunState::kFailed: return v1::RUN_STATE_FAILED;
    case RunState::kCancelled: return v1::RUN_STATE_CANCELLED;
  }
  return v1::RUN_STATE_UNSPECIFIED;
}

v1::RunTrigger ToProto(RunTrigger trigger) {
  switch (trigger) {
    case RunTrigger::kSchedule: return v1::RUN_TRIGGER_SCHEDULE;
    case RunTrigger::kManual: return v1::RUN_TRIGGER_MANUAL;
    case RunTrigger::kCatchUp: return v1::RUN_TRIGGER_CATCH_UP;
  }
  return v1::RUN_TRIGGER_UNSPECIFIED;
}

void ToProto(const RunRecord& run,
             const std::vector<std::pair<std::string, int64_t>>& counts,
             v1::Run* out) {
  out->set_run_id(run.run_id);
  out->set_state(ToProto(run.state));
  out->set_trigger(ToProto(run.trigger));
  out->set_request_id(run.request_id);
  if (run.as_of != 0) *out->mutable_as_of() = ToTimestamp(run.as_of);
  out->set_as_of_requested(run.as_of_requested.value_or(false));
  *out->mutable_start_time() = ToTimestamp(run.started_at);
  if (run.finished_at.has_value()) {
    *out->mutable_finish_time() = ToTimestamp(*run.finished_at);
  }
  // An error may quote a file's bytes; a proto string must be UTF-8.
  out->set_error(EscapeInvalidUtf8(run.error));
  out->set_published(run.published);
  out->set_current_stage(run.current_stage);
  out->set_cpu_seconds(run.cpu_seconds.value_or(0));
  out->set_peak_rss_bytes(run.peak_rss_bytes.value_or(0));
  for (const StageStat& s : run.stages) {
    v1::StageStat* p = out->add_stages();
    p->set_stage(s.stage);
    p->set_seconds(s.seconds);
    p->set_rows(s.rows);
    if (s.cpu_seconds.has_value()) p->set_cpu_seconds(*s.cpu_seconds);
  }
  for (const auto& [name, value] : counts) (*out->mutable_counts())[name] = value;
}

void ToProto(const RejectStat& reject, v1::RowIssue* out) {
  out->set_file(reject.file);
  absl::string_view reason = reject.reason;
  out->set_repaired(absl::ConsumePrefix(&reason, kRepairedReasonPrefix));
  out->set_reason(std::string(reason));
  out->set_count(reject.count);
  for (int64_t line : reject.first_lines) out->add_first_lines(line);
}

void ToProto(const RunEvent& e, v1::RunEvent* out) {
  out->set_run_id(e.run_id);
  out->set_stage(e.stage);
  out->set_stage_index(e.stage_index);
  out->set_stage_count(e.stage_count);
  out->set_stage_done(e.stage_done);
  out->set_rows(e.rows);
  out->set_seconds(e.seconds);
  out->set_state(ToProto(e.state));
  out->set_error(EscapeInvalidUtf8(e.error));
}

void ToProto(const SegmentRecord& s, v1::Segment* out) {
  out->set_name(s.name);
  out->set_customers(s.customers);
  out->set_active_customers(s.active_customers);
  out->set_churned_customers(s.churned_customers);
  // Every active customer is scored; a segment without any has no mean.
  if (s.active_customers > 0) out->set_mean_churn_score(s.mean_churn_score);
  out->set_revenue_at_risk(s.revenue_at_risk);
}

void ToProto(const CampaignRecord& c, v1::Campaign* out) {
  const std::string& name =
      c.config.name.empty() ? c.summary.name : c.config.name;
  out->set_name(name);
  out->set_description(c.config.description.empty() ? c.summary.description
                                                    : c.config.description);
  out->set_promo_code(c.config.promo_code.empty() ? c.summary.promo_code
                                                  : c.config.promo_code);
  out->set_discount_pct(c.config.discount_pct);
  out->set_priority(c.config.priority);
  for (const std::string& s : c.config.segments) out->add_segments(s);
  for (ChurnStatus s : c.config.statuses) {
    out->add_churn_statuses(std::string(ChurnStatusName(s)));
  }
  out->set_min_churn_score(c.config.min_score);
  out->set_max_churn_score(c.config.max_score);
  out->set_min_revenue_at_risk(c.config.min_revenue_at_risk);
  out->set_holdout_share(c.config.holdout_share);
  out->set_size(c.summary.assigned);
  out->set_treatment_size(c.summary.treatment);
  out->set_holdout_size(c.summary.holdout);
  out->set_capped(c.summary.capped);
  out->set_revenue_at_risk(c.summary.revenue_at_risk);
  out->set_mean_churn_score(c.summary.avg_score);
  if (c.config.suppress_listed_within > 0) {
    *out->mutable_suppress_listed_within() =
        ToDuration(c.config.suppress_listed_within);
  }
  out->set_recently_listed(c.summary.recently_listed);
}

namespace {

// The hot path of ParseReasons: EncodeReasons' exact output, objects with a
// "feature" string (no escapes) and a "contribution" number, no whitespace.
// Returns false on anything else; the caller then uses the full JSON parser.
bool ParseReasonsFast(std::string_view s, std::vector<Reason>* out) {
  size_t i = 0;
  const auto eat = [&](std::string_view lit) {
    if (s.substr(i, lit.size()) != lit) return false;
    i += lit.size();
    return true;
  };
  if (!eat("[")) return false;
  if (eat("]")) return i == s.size();
  while (true) {
    if (!eat("{")) return false;
    Reason r;
    bool have_feature = false, have_value = false;
    for (int k = 0; k < 2; ++k) {
      if (k == 1 && !eat(",")) return false;
      if (eat("\"feature\":\"")) {
        const size_t end = s.find('"', i);
        if (end == std::string_view::npos) return false;
        r.feature = std::string(s.substr(i, end - i));
        if (r.feature.find('\\') != std::string::npos) return false;
        i = end + 1;
        have_feature = true;
      } else if (eat("\"contribution\":")) {
        const size_t end = s.find_first_of(",}", i);
        if (end == std::string_view::npos) return false;
        const std::string_view num = s.substr(i, end - i);
        if (!absl::SimpleAtod(absl::string_view(num.data(), num.size()),
                              &r.contribution)) {
          return false;
        }
        i = end;
        have_value = true;
      } else {
        return false;
      }
    }
    if (!have_feature || !have_value || !eat("}")) return false;
    out->push_back(std::move(r));
    if (eat("]")) return i == s.size();
    if (!eat(",")) return false;
  }
}

}  // namespace

std::vector<Reason> ParseReasons(const std::string& text) {
  if (text.empty()) return {};
  if (text.front() == '[') {
    std::vector<Reason> fast;
    if (ParseReasonsFast(text, &fast)) return fast;
    absl::StatusOr<std::vector<Reason>> json = DecodeReasons(text);
    if (json.ok()) return *std::move(json);
  }
  std::vector<Reason> out;
  for (absl::string_view item :
       absl::StrSplit(text, ';', absl::SkipWhitespace())) {
    std::vector<absl::string_view> parts =
        absl::StrSplit(item, ' ', absl::SkipEmpty());
    double value = 0;
    if (parts.size() != 2 || !absl::SimpleAtod(parts[1], &value)) {
      return {{text, 0.0}};
    }
    out.push_back({std::string(parts[0]), value});
  }
  return out;
}

namespace {
void AddReasons(const std::string& text,
                google::protobuf::RepeatedPtrField<v1::Reason>* out) {
  for (const Reason& r : ParseReasons(text)) {
    v1::Reason* p = out->Add();
    p->set_feature(r.feature);
    p->set_contribution(r.contribution);
  }
}
}  // namespace

void ToProto(const TargetTable& t, size_t i, v1::Target* out) {
  out->set_customer_id(t.customer_id[i]);
  out->set_campaign(t.campaign[i]);
  out->set_segment(t.segment[i]);
  out->set_churn_score(t.churn_score[i]);
  out->set_revenue_at_risk(t.revenue_at_risk[i]);
  out->set_group(t.holdout[i] ? v1::TARGET_GROUP_HOLDOUT
                              : v1::TARGET_GROUP_TREATMENT);
  AddReasons(t.reasons[i], out->mutable_reasons());
  out->set_promo_code(t.promo_code[i]);
}

void EncodeTargets(const TargetTable& t, TargetList* list) {
  using google::protobuf::io::CodedOutputStream;
  // Field 2, wire type 2 (length-delimited); one byte, which TargetMessage
  // relies on.
  static_assert(v1::ListTargetsResponse::kTargetsFieldNumber < 16);
  constexpr uint32_t kTag =
      (v1::ListTargetsResponse::kTargetsFieldNumber << 3) | 2;
  v1::Target target;  // reused: Clear keeps its strings' and reasons' memory
  for (size_t i = 0; i < t.size(); ++i) {
    target.Clear();
    ToProto(t, i, &target);
    const size_t size = target.ByteSizeLong();
    const size_t start = list->bytes.size();
    list->bytes.resize(
        start + 1 +
        CodedOutputStream::VarintSize32(static_cast<uint32_t>(size)) + size);
    uint8_t* p = reinterpret_cast<uint8_t*>(list->bytes.data() + start);
    p = CodedOutputStream::WriteVarint32ToArray(kTag, p);
    p = CodedOutputStream::WriteVarint32ToArray(static_cast<uint32_t>(size), p);
    target.SerializeWithCachedSizesToArray(p);
    list->ends.push_back(list->bytes.size());
  }
}

std::string_view TargetMessage(std::string_view record) {
  size_t i = 1;                                        // past the one-byte tag
  while (static_cast<uint8_t>(record[i]) & 0x80) ++i;  // the length varint
  return record.substr(i + 1);
}

void ToProto(const CustomerRecord& c, int64_t run_id, v1::Customer* out) {
  out->set_customer_id(c.customer_id);
  out->set_run_id(run_id);
  out->set_segment(c.segment);
  out->set_recency_score(c.r_score);
  out->set_frequency_score(c.f_score);
  out->set_monetary_score(c.m_score);
  out->set_churn_status(std::string(ChurnStatusName(c.status)));
  if (c.churn_score.has_value()) {
    out->set_churn_score(*c.churn_score);
  } else if (c.status == ChurnStatus::kChurned) {
    out->set_churn_score(1.0);
  }
  AddReasons(c.reasons, out->mutable_reasons());
  out->set_campaign(c.campaign);
  out->set_held_by(c.held_by);
  out->set_group(c.campaign.empty() ? v1::TARGET_GROUP_UNSPECIFIED
                 : c.holdout        ? v1::TARGET_GROUP_HOLDOUT
                                    : v1::TARGET_GROUP_TREATMENT);
  out->set_revenue_at_risk(c.revenue_at_risk);
  if (c.last_purchase_at.has_value()) {
    *out->mutable_last_purchase_time() = ToTimestamp(*c.last_purchase_at);
  }
  const auto& names = FeatureNames();
  for (size_t i = 0; i < names.size(); ++i) {
    (*out->mutable_features())[names[i]] = c.features[i];
  }
}

void ToProto(const ModelReportRecord& r, int64_t run_id, v1::ModelReport* out) {
  out->set_run_id(run_id);
  out->set_c(r.c);
  out->set_imbalance(r.imbalance);
  out->set_holdout_month(r.holdout_month);
  for (const std::string& m : r.training_months) out->add_training_months(m);
  out->set_training_rows(r.training_rows);
  out->set_holdout_rows(r.holdout_rows);
  out->set_holdout_auc(r.auc);
  out->set_holdout_pr_auc(r.pr_auc);
  out->set_holdout_brier(r.brier);
  out->set_holdout_lift_top_decile(r.lift_top_decile);
  out->set_holdout_log_loss(r.log_loss);
  out->set_baseline_recency_auc(r.baseline_recency_auc);
  for (const auto& [name, value] : r.coefficients) {
    (*out->mutable_coefficients())[name] = value;
  }
  for (const GridCellRecord& g : r.grid) {
    v1::GridCell* p = out->add_grid();
    p->set_c(g.c);
    p->set_imbalance(g.imbalance);
    p->set_mean_score(g.mean_score);
    p->set_sd_score(g.sd_score);
  }
  out->set_scored_customers(r.scored_customers);
  out->set_cv_metric(r.cv_metric);
  out->set_cv_mean(r.cv_mean);
  out->set_cv_sd(r.cv_sd);
  out->set_holdout_positive_rate(r.holdout_positive_rate);
  out->set_notes(r.notes);
}

void ToProto(const DiagnosisRecord& d, int64_t run_id, v1::Diagnosis* out) {
  out->set_run_id(run_id);
  for (const MonthlyRow& m : d.diagnosis.months) {
    v1::MonthFigures* p = out->add_months();
    p->set_month(FormatMonth(m.month));
    p->set_revenue(m.revenue);
    p->set_orders(m.orders);
    p->set_buyers(m.buyers);
    p->set_new_buyers(m.new_buyers);
    p->set_returning_buyers(m.returning_buyers);
    p->set_new_revenue(m.new_revenue);
    p->set_returning_revenue(m.returning_revenue);
    p->set_labeled(m.labeled);
    p->set_censored(m.censored);
    p->set_churned(m.churned);
    p->set_churn_rate(m.churn_rate);
    p->set_failed_payments(m.failed_payments);
    p->set_promo_orders(m.promo_orders);
    p->set_promo_amount(m.promo_amount);
    p->set_partial(m.partial);
    if (m.partial) *p->mutable_through() = ToTimestamp(d.diagnosis.as_of);
  }
  for (const SegmentMonthRow& s : d.diagnosis.segment_months) {
    v1::SegmentMonthChurn* p = out->add_segment_months();
    p->set_month(FormatMonth(s.month));
    p->set_segment(s.segment);
    p->set_labeled(s.labeled);
    p->set_censored(s.censored);
    p->set_churned(s.churned);
    p->set_churn_rate(s.churn_rate);
  }
  for (const FunnelRow& f : d.diagnosis.funnel) {
    v1::FunnelMonth* p = out->add_funnel();
    p->set_month(FormatMonth(f.month));
    p->set_sessions(f.sessions);
    p->set_homepage(f.homepage);
    p->set_search(f.search);
    p->set_item_detail(f.item_detail);
    p->set_add_to_cart(f.add_to_cart);
    p->set_add_promo(f.add_promo);
    p->set_booking(f.booking);
    p->set_successful_payment(f.successful_payment);
  }
  for (const PromoRow& r : d.diagnosis.promo_by_segment) {
    v1::SegmentPromo* p = out->add_promo_by_segment();
    p->set_segment(r.segment);
    p->set_orders(r.orders);
    p->set_promo_orders(r.promo_orders);
    p->set_promo_share(r.promo_share);
    p->set_promo_amount(r.promo_amount);
  }
  out->set_summary(d.summary);
}

namespace {

void ToProto(const GroupOutcome& g, double conversion,
             double revenue_per_customer, v1::GroupOutcome* out) {
  out->set_customers(g.customers);
  out->set_buyers(g.buyers);
  out->set_redeemers(g.redeemers);
  out->set_purchases(g.purchases);
  out->set_revenue(g.revenue);
  out->set_conversion_rate(conversion);
  out->set_revenue_per_customer(revenue_per_customer);
}

void ToProto(const Estimate& e, v1::Estimate* out) {
  out->set_value(e.value);
  out->set_low(e.low);
  out->set_high(e.high);
}

}  // namespace

void ToProto(const CampaignReadout& r, v1::CampaignReadout* out) {
  const ReadoutFigures f = Figures(r);
  out->set_list_run_id(r.list_run_id);
  *out->mutable_list_as_of() = ToTimestamp(r.list_as_of);
  out->set_campaign(r.campaign);
  out->set_promo_code(r.promo_code);
  *out->mutable_window() = ToDuration(r.window);
  *out->mutable_window_end() = ToTimestamp(r.window_end);
  out->set_complete(r.complete);
  ToProto(r.treatment, f.treatment_conversion, f.treatment_revenue_per_customer,
          out->mutable_treatment());
  ToProto(r.holdout, f.holdout_conversion, f.holdout_revenue_per_customer,
          out->mutable_holdout());
  if (f.conversion_uplift) {
    ToProto(*f.conversion_uplift, out->mutable_conversion_uplift());
  }
  if (f.incremental_revenue) {
    ToProto(*f.incremental_revenue, out->mutable_incremental_revenue());
  }
}

}  // namespace winback
