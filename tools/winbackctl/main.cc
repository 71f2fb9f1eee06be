// winbackctl: start, watch, cancel and inspect Winback runs, and export
// campaign lists, over winbackd's gRPC API.
//
// clang-format off
//   winbackctl --addr HOST:PORT [--key KEY] SUBCOMMAND ...
//     start [--as-of T] [--request-id ID] [--follow]
//     runs | run ID | cancel ID | watch ID
//     diagnosis [ID] | model-report [ID]
//     segments [--run ID] | campaigns [--run ID] | customer ID [--run ID]
//     readout [--run ID] [--campaign NAME] [--complete]
//     export CAMPAIGN [--out FILE.csv | --out -] [--run ID]
// clang-format on
//
// The key comes from --key or the WINBACK_API_KEY environment variable.
// Exit codes: 0 ok, 1 RPC error (its code and message on stderr) or an
// output file that cannot be written, 2 usage, 3 when a followed or watched
// run ends without succeeding.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "jobs/common/command_line.h"
#include "winback/v1/campaigns.grpc.pb.h"
#include "winback/v1/jobs.grpc.pb.h"

namespace {

namespace v1 = winback::v1;

struct Client {
  std::shared_ptr<grpc::Channel> channel;
  std::string key;
  std::unique_ptr<v1::JobService::Stub> jobs;
  std::unique_ptr<v1::CampaignService::Stub> campaigns;

  void Prepare(grpc::ClientContext* ctx, bool streaming = false) const {
    if (!key.empty()) ctx->AddMetadata("authorization", "Bearer " + key);
    if (!streaming) {
      ctx->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::seconds(60));
    }
  }
};

const char* CodeName(grpc::StatusCode code) {
  static const char* kNames[] = {
      "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
      "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
      "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
      "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"};
  const int i = static_cast<int>(code);
  return i >= 0 && i < 17 ? kNames[i] : "UNKNOWN";
}

int Fail(const grpc::Status& s) {
  std::cerr << "winbackctl: " << CodeName(s.error_code()) << ": "
            << s.error_message() << "\n";
  return 1;
}

std::string Time(const google::protobuf::Timestamp& ts) {
  if (ts.seconds() == 0 && ts.nanos() == 0) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%M:%SZ",
                          absl::FromUnixSeconds(ts.seconds()),
                          absl::UTCTimeZone());
}

// A month's churn rate as the diagnosis tables print it: none ("n/a") while
// some of its windows are still open, since the known labels lean toward
// churn; "-" with no labels at all.
std::string ChurnText(int64_t censored, int64_t labeled, double churn_rate) {
  if (censored > 0) return "n/a";
  if (labeled > 0) return absl::StrFormat("%.1f%%", 100 * churn_rate);
  return "-";
}

// "+1.2 (-0.5, +2.9)": an estimate times `scale` with its interval, with
// `decimals` digits, or "n/a" when the groups are too small to have one.
std::string EstimateText(bool has, const v1::Estimate& e, double scale,
                         int decimals) {
  if (!has) return "n/a";
  const auto number = [&](double v) {
    return absl::StrFormat("%+.*f", decimals, v * scale);
  };
  return absl::StrCat(number(e.value()), " (", number(e.low()), ", ",
                      number(e.high()), ")");
}

void PrintReadouts(const v1::ListReadoutsResponse& resp) {
  std::cout << "run " << resp.run_id() << ", as of " << Time(resp.as_of())
            << "\n";
  if (resp.readouts().empty()) {
    std::cout << "no readouts: a run reads out the lists of the published "
                 "runs with an earlier as-of time, and there were none (or "
                 "none matched)\n";
    return;
  }
  const google::protobuf::Duration& w = resp.readouts(0).window();
  std::cout << "purchases within "
            << absl::StrFormat("%g", w.seconds() / 86400.0)
            << " days after each list, treatment vs holdout\n"
            << absl::StrFormat(
                   "%8s  %-10s  %-28s %5s  %9s %6s %8s  %9s %6s  %-22s  %s\n",
                   "list run", "list as of", "campaign", "days", "treatment",
                   "bought", "redeemed", "holdout", "bought",
                   "uplift, pts (95% CI)", "incremental revenue, IDR (95% CI)");
  bool open = false;
  for (const v1::CampaignReadout& r : resp.readouts()) {
    open = open || !r.complete();
    const double days = static_cast<double>(r.window_end().seconds() -
                                            r.list_as_of().seconds()) /
                        86400.0;
    const v1::GroupOutcome& t = r.treatment();
    const v1::GroupOutcome& h = r.holdout();
    const double redeemed =
        t.customers() > 0 ? 100.0 * t.redeemers() / t.customers() : 0.0;
    std::cout << absl::StrFormat(
        "%8d  %-10s  %-28s %4.1f%s  %9d %5.1f%% %7.1f%%  %9d %5.1f%%  %-22s  "
        "%s\n",
        r.list_run_id(), Time(r.list_as_of()).substr(0, 10), r.campaign(), days,
        r.complete() ? " " : "*", t.customers(), 100 * t.conversion_rate(),
        redeemed, h.customers(), 100 * h.conversion_rate(),
        EstimateText(r.has_conversion_uplift(), r.conversion_uplift(), 100, 1),
        EstimateText(r.has_incremental_revenue(), r.incremental_revenue(), 1,
                     0));
  }
  if (open) std::cout << "* window still open: purchases so far only\n";
  std::cout << "redeemed: treatment customers who used the campaign's promo "
               "code. The difference is the campaign's effect only if its "
               "promotion went to the treatment group and not the holdout.\n";
}

std::string StateName(v1::RunState s) {
  std::string n = v1::RunState_Name(s);
  n = n.substr(std::string("RUN_STATE_").size());
  for (char& c : n) c = static_cast<char>(std::tolower(c));
  return n;
}

std::string TriggerName(v1::RunTrigger t) {
  std::string n = v1::RunTrigger_Name(t);
  n = n.substr(std::string("RUN_TRIGGER_").size());
  for (char& c : n) c = c == '_' ? '-' : static_cast<char>(std::tolower(c));
  return n;
}

// Pending or running: the run may still change.
bool InProgress(const v1::Run& r) {
  return r.state() == v1::RUN_STATE_PENDING ||
         r.state() == v1::RUN_STATE_RUNNING;
}

// A run's peak memory in whole MiB, or "-" when it was not recorded.
std::string PeakMiB(const v1::Run& r) {
  if (r.peak_rss_bytes() <= 0) return "-";
  return absl::StrFormat("%.0f",
                         static_cast<double>(r.peak_rss_bytes()) / (1 << 20));
}

// For a published run whose lists are not the ones served by default, a
// line that says so and names the run that is served, as `winback run` does;
// "" for any other run.
std::string NotServedLine(const Client& c, const v1::Run& r) {
  if (!r.published() || r.served()) return "";
  const std::string read_by =
      absl::StrFormat("; this run's are read with --run %d\n", r.run_id());
  grpc::ClientContext ctx;
  c.Prepare(&ctx);
  v1::ListSegmentsResponse served;  // run_id 0: the served run
  if (!c.campaigns->ListSegments(&ctx, {}, &served).ok() ||
      served.run_id() == r.run_id()) {  // it became served since
    return "not served by default: another run's lists are" + read_by;
  }
  const bool tie = served.as_of().seconds() == r.as_of().seconds() &&
                   served.as_of().nanos() == r.as_of().nanos();
  return absl::StrFormat(
      "not served by default: run %d's lists, as of %s, are %s and served%s",
      served.run_id(), Time(served.as_of()), tie ? "newer" : "later", read_by);
}

// `note`, when not empty, is printed under the first line.
void PrintRun(const v1::Run& r, const std::string& note = "") {
  std::cout << "run " << r.run_id() << ": " << StateName(r.state())
            << " (trigger " << TriggerName(r.trigger()) << ")"
            << (r.published() ? ", published" : "")
            << (r.served() ? " and served" : "") << "\n"
            << note << "  as of     " << Time(r.as_of())
            << (r.as_of_requested() ? " (asked for: a backfill)" : "") << "\n"
            << "  started   " << Time(r.start_time()) << "\n"
            << "  finished  " << Time(r.finish_time()) << "\n";
  if (!r.request_id().empty()) {
    std::cout << "  request   " << r.request_id() << "\n";
  }
  if (!r.error().empty()) std::cout << "  error     " << r.error() << "\n";
  if (r.peak_rss_bytes() > 0) {
    std::cout << absl::StrFormat(
        "  process   %.1f s of CPU, peak memory %s MiB\n", r.cpu_seconds(),
        PeakMiB(r));
  }
  for (const v1::StageStat& s : r.stages()) {
    // A stage is recorded with no time and rows when it begins: the run's
    // current stage is then still going, or is where the run stopped.
    if (s.stage() == r.current_stage() && s.seconds() == 0 && s.rows() == 0) {
      std::cout << absl::StrFormat(
          "  %-12s %s\n", s.stage(),
          InProgress(r) ? "running" : "did not finish");
      continue;
    }
    std::cout << absl::StrFormat("  %-12s %9.3fs %12d rows", s.stage(),
                                 s.seconds(), s.rows());
    // CPU above the wall time: the stage kept more than one core busy.
    if (s.has_cpu_seconds()) {
      std::cout << absl::StrFormat(" %9.3fs CPU", s.cpu_seconds());
    }
    std::cout << "\n";
  }
}

// Prints one event as a progress line; returns true on the terminal event.
bool PrintEvent(const v1::RunEvent& e) {
  const bool terminal = e.state() == v1::RUN_STATE_SUCCEEDED ||
                        e.state() == v1::RUN_STATE_FAILED ||
                        e.state() == v1::RUN_STATE_CANCELLED;
  if (terminal) {
    std::cout << "run " << e.run_id() << " " << StateName(e.state())
              << (e.error().empty() ? "" : ": " + e.error()) << std::endl;
  } else if (e.stage_done()) {
    std::cout << absl::StrFormat("[%d/%d] %-12s done  %12d rows %9.3fs",
                                 e.stage_index() + 1, e.stage_count(),
                                 e.stage(), e.rows(), e.seconds())
              << std::endl;
  } else {
    std::cout << absl::StrFormat("[%d/%d] %-12s ...", e.stage_index() + 1,
                                 e.stage_count(), e.stage())
              << std::endl;
  }
  return terminal;
}

int Watch(const Client& c, int64_t run_id) {
  grpc::ClientContext ctx;
  c.Prepare(&ctx, /*streaming=*/true);
  v1::WatchRunRequest req;
  req.set_run_id(run_id);
  auto reader = c.jobs->WatchRun(&ctx, req);
  v1::RunEvent e;
  v1::RunState last = v1::RUN_STATE_UNSPECIFIED;
  while (reader->Read(&e)) {
    PrintEvent(e);
    last = e.state();
  }
  const grpc::Status s = reader->Finish();
  if (!s.ok()) return Fail(s);
  if (last != v1::RUN_STATE_SUCCEEDED) return 3;
  // A backfill's lists, or those of an export older than the served run's,
  // do not replace the served ones: say so, as `winback run` does.
  grpc::ClientContext get_ctx;
  c.Prepare(&get_ctx);
  v1::GetRunRequest get;
  get.set_run_id(run_id);
  v1::Run r;
  if (grpc::Status g = c.jobs->GetRun(&get_ctx, get, &r); !g.ok()) {
    // The run succeeded all the same: that is what the exit code says.
    std::cerr << "winbackctl: could not read whether run " << run_id
              << "'s lists are served: " << CodeName(g.error_code()) << ": "
              << g.error_message() << "\n";
    return 0;
  }
  std::cout << NotServedLine(c, r) << std::flush;
  return 0;
}

// A filter's values; an empty filter takes anything.
std::string Joined(const google::protobuf::RepeatedPtrField<std::string>& v) {
  return v.empty() ? "any" : absl::StrJoin(v, ", ");
}

std::string Reasons(const google::protobuf::RepeatedPtrField<v1::Reason>& v) {
  return absl::StrJoin(v, "; ", [](std::string* out, const v1::Reason& r) {
    absl::StrAppendFormat(out, "%s %+.3f", r.feature(), r.contribution());
  });
}

void PrintCustomer(const v1::Customer& k) {
  std::cout << "customer " << k.customer_id() << " (run " << k.run_id() << ")\n"
            << absl::StrFormat("  segment          %s (R%d F%d M%d)\n",
                               k.segment(), k.recency_score(),
                               k.frequency_score(), k.monetary_score())
            << "  churn status     " << k.churn_status();
  if (k.has_churn_score()) {
    std::cout << absl::StrFormat(", churn score %.4f", k.churn_score());
  }
  std::cout << "\n  last purchase    " << Time(k.last_purchase_time()) << "\n"
            << absl::StrFormat("  revenue at risk  IDR %.0f\n",
                               k.revenue_at_risk())
            << "  campaign         "
            << (k.campaign().empty()
                    ? (k.held_by().empty()
                           ? std::string("none")
                           : "none: held by " + k.held_by() +
                                 "'s contact cap (on its list recently)")
                    : k.campaign() + (k.group() == v1::TARGET_GROUP_HOLDOUT
                                          ? " (holdout: do not contact)"
                                          : " (treatment)"))
            << "\n";
  if (!k.reasons().empty()) {
    std::cout << "  reasons          " << Reasons(k.reasons()) << "\n";
  }
  // Features by name, in a stable order.
  std::map<std::string, double> features(k.features().begin(),
                                         k.features().end());
  if (!features.empty()) std::cout << "  features\n";
  for (const auto& [name, value] : features) {
    // Counts and IDR amounts in full, shares and days to 4 decimals.
    const std::string shown =
        value == std::trunc(value) && std::abs(value) < 1e15
            ? absl::StrFormat("%.0f", value)
            : absl::StrFormat("%.4f", value);
    std::cout << absl::StrFormat("    %-28s %s\n", name, shown);
  }
}

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"') out += '"';
    out += ch;
  }
  return out + "\"";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"winbackctl: operate a Winback daemon over gRPC"};
  app.require_subcommand(1);
  std::string addr = "127.0.0.1:50051";
  std::string key;
  std::string ca_file;
  app.add_option("--addr", addr, "winbackd address HOST:PORT");
  app.add_option("--key", key, "API key (default: $WINBACK_API_KEY)");
  app.add_option("--tls-ca", ca_file, "use TLS, trusting this CA (PEM)");

  int64_t run_id = 0;
  std::string as_of, request_id, campaign, out_file = "-";
  bool follow = false;
  int page_size = 0;

  auto* start = app.add_subcommand("start", "start a run now");
  start->add_option("--as-of", as_of, "as-of time, RFC 3339 (backfill)");
  start->add_option("--request-id", request_id, "idempotency key");
  start->add_flag("--follow", follow, "show progress until the run ends");
  auto* runs = app.add_subcommand("runs", "list runs, newest first");
  runs->add_option("--page-size", page_size, "runs per page");
  auto* run = app.add_subcommand("run", "show one run");
  run->add_option("ID", run_id)->required();
  bool config_only = false;
  run->add_flag("--config", config_only,
                "print only the configuration the run used (JSON, which "
                "loads back as a config file)");
  auto* cancel = app.add_subcommand("cancel", "cancel a run in progress");
  cancel->add_option("ID", run_id)->required();
  auto* watch = app.add_subcommand("watch", "follow a run's progress");
  watch->add_option("ID", run_id)->required();
  auto* diagnosis = app.add_subcommand(
      "diagnosis",
      "a run's business diagnosis: months, funnel, churn and promo by segment");
  diagnosis->add_option("ID", run_id, "run (default: latest published)");
  int diagnosis_months = 12;
  diagnosis
      ->add_option("--months", diagnosis_months,
                   "months shown in the monthly tables, the latest "
                   "first kept; 0 shows all")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  auto* report = app.add_subcommand("model-report", "a run's model report");
  report->add_option("ID", run_id, "run (default: latest published)");
  auto* segments = app.add_subcommand("segments", "segments with sizes");
  segments->add_option("--run", run_id, "run (default: latest published)");
  auto* campaigns = app.add_subcommand("campaigns", "campaigns with sizes");
  campaigns->add_option("--run", run_id, "run (default: latest published)");
  auto* customer = app.add_subcommand("customer", "look one customer up");
  int64_t customer_id = 0;
  customer->add_option("ID", customer_id)->required();
  customer->add_option("--run", run_id, "run (default: latest published)");
  auto* readout = app.add_subcommand(
      "readout", "how earlier runs' lists did: treatment vs holdout purchases");
  readout->add_option("--run", run_id,
                      "the measuring run (default: latest published)");
  readout->add_option("--campaign", campaign, "only this campaign");
  bool complete_only = false;
  readout->add_flag("--complete", complete_only,
                    "only readouts whose window is complete");
  auto* exp = app.add_subcommand("export", "write a campaign's list as CSV");
  exp->add_option("CAMPAIGN", campaign)->required();
  exp->add_option("--out", out_file,
                  "CSV file to write; - (the default) for standard output");
  exp->add_option("--run", run_id, "run (default: latest published)");
  exp->add_option("--page-size", page_size, "rows per page");
  if (std::optional<int> code = winback::ParseCommandLine(app, argc, argv)) {
    return *code;
  }

  if (key.empty()) {
    if (const char* env = std::getenv("WINBACK_API_KEY")) key = env;
  }
  std::shared_ptr<grpc::ChannelCredentials> creds =
      grpc::InsecureChannelCredentials();
  if (!ca_file.empty()) {
    std::ifstream in(ca_file);
    std::stringstream ss;
    ss << in.rdbuf();
    if (!in || ss.str().empty()) {
      std::cerr << "winbackctl: --tls-ca: cannot read a PEM certificate from '"
                << ca_file << "'\n";
      return 2;
    }
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = ss.str();
    creds = grpc::SslCredentials(ssl);
  }
  Client c;
  c.channel = grpc::CreateChannel(addr, creds);
  c.key = key;
  c.jobs = v1::JobService::NewStub(c.channel);
  c.campaigns = v1::CampaignService::NewStub(c.channel);

  if (start->parsed()) {
    v1::StartRunRequest req;
    req.set_request_id(request_id);
    if (!as_of.empty()) {
      absl::Time t;
      std::string err;
      if (!absl::ParseTime(absl::RFC3339_full, as_of, &t, &err)) {
        std::cerr << "winbackctl: --as-of: " << err << "\n";
        return 2;
      }
      // Whole seconds rounded down and the fraction as nanos, so that a time
      // before 1970 keeps 0 <= nanos < 1e9 as Timestamp requires.
      const int64_t seconds = absl::ToUnixSeconds(t);
      req.mutable_as_of()->set_seconds(seconds);
      req.mutable_as_of()->set_nanos(static_cast<int32_t>(
          absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(seconds))));
    }
    grpc::ClientContext ctx;
    c.Prepare(&ctx);
    v1::Run r;
    if (grpc::Status s = c.jobs->StartRun(&ctx, req, &r); !s.ok()) return Fail(s);
    if (InProgress(r)) {
      std::cout << "started run " << r.run_id() << std::endl;
    } else {
      // A request_id seen before names the run it started, whatever became
      // of it: a retry does not start another.
      std::cout << "request_id " << request_id << " is run " << r.run_id()
                << " (" << StateName(r.state()) << "); nothing started"
                << std::endl;
    }
    return follow ? Watch(c, r.run_id()) : 0;
  }
  if (runs->parsed()) {
    v1::ListRunsRequest req;
    req.set_page_size(page_size);
    bool header = false;
    do {
      grpc::ClientContext ctx;
      c.Prepare(&ctx);
      v1::ListRunsResponse resp;
      if (grpc::Status s = c.jobs->ListRuns(&ctx, req, &resp); !s.ok()) {
        return Fail(s);
      }
      if (!header) {  // only once the call has succeeded
        std::cout << absl::StrFormat(
            "%6s  %-10s %-9s %-20s %-20s %-20s %-9s %s\n", "run", "state",
            "trigger", "as of", "started", "finished", "published", "peak MiB");
        header = true;
      }
      for (const v1::Run& r : resp.runs()) {
        // Peak memory, run after run: what a memory limit must allow.
        std::cout << absl::StrFormat(
            "%6d  %-10s %-9s %-20s %-20s %-20s %-9s %s\n", r.run_id(),
            StateName(r.state()), TriggerName(r.trigger()), Time(r.as_of()),
            Time(r.start_time()), Time(r.finish_time()),
            r.served()      ? "served"
            : r.published() ? "yes"
                            : "no",
            PeakMiB(r));
      }
      req.set_page_token(resp.next_page_token());
    } while (!req.page_token().empty());
    return 0;
  }
  if (run->parsed() || cancel->parsed()) {
    grpc::ClientContext ctx;
    c.Prepare(&ctx);
    v1::Run r;
    grpc::Status s;
    if (run->parsed()) {
      v1::GetRunRequest req;
      req.set_run_id(run_id);
      s = c.jobs->GetRun(&ctx, req, &r);
    } else {
      v1::CancelRunRequest req;
      req.set_run_id(run_id);
      s = c.jobs->CancelRun(&ctx, req, &r);
    }
    if (!s.ok()) return Fail(s);
    if (config_only) {
      if (r.config_json().empty()) {
        std::cerr << "run " << r.run_id()
                  << " has no recorded configuration (runs before the "
                     "configuration was recorded, or one that failed before "
                     "it started)\n";
        return 1;
      }
      std::cout << r.config_json() << "\n";
      return 0;
    }
    if (cancel->parsed() && InProgress(r)) {
      std::cout << "cancel requested: run " << r.run_id()
                << " stops before its next stage and publishes nothing\n";
    }
    PrintRun(r, NotServedLine(c, r));
    if (run->parsed()) {
      const std::map<std::string, int64_t> counts(r.counts().begin(),
                                                  r.counts().end());
      for (const auto& [name, value] : counts) {
        std::cout << absl::StrFormat("  %-32s %d\n", name, value);
      }
      for (const v1::RowIssue& i : r.row_issues()) {
        std::cout << absl::StrFormat(
            "  %-20s %-8s %-20s %8d  first lines: %s\n", i.file(),
            i.repaired() ? "repaired" : "rejected", i.reason(), i.count(),
            absl::StrJoin(i.first_lines(), ", "));
      }
    }
    return 0;
  }
  if (watch->parsed()) return Watch(c, run_id);
  if (diagnosis->parsed()) {
    grpc::ClientContext ctx;
    c.Prepare(&ctx);
    v1::GetDiagnosisRequest req;
    req.set_run_id(run_id);
    v1::Diagnosis d;
    if (grpc::Status s = c.jobs->GetDiagnosis(&ctx, req, &d); !s.ok()) {
      return Fail(s);
    }
    // The as-of month is marked when partial (its figures stop at the as-of
    // time) in every table that has months.
    std::set<std::string> partial;
    std::string through;
    for (const v1::MonthFigures& m : d.months()) {
      if (!m.partial()) continue;
      partial.insert(m.month());
      through = Time(m.through());
    }
    auto month = [&](const std::string& m) {
      return partial.contains(m) ? m + "*" : m;
    };
    // The monthly tables show the last --months months ("YYYY-MM" sorts).
    const int all_months = d.months_size();
    const int kept = diagnosis_months == 0
                         ? all_months
                         : std::min(diagnosis_months, all_months);
    const std::string first_shown =
        kept < all_months ? d.months(all_months - kept).month() : "";
    auto shown = [&](const std::string& m) { return m >= first_shown; };
    std::cout << "run " << d.run_id() << "\n";
    if (kept < all_months) {
      std::cout << "the last " << kept << " of " << all_months
                << " months (--months 0 shows all)\n";
    }
    std::cout << absl::StrFormat("%-8s %16s %8s %8s %8s %8s %8s %8s\n", "month",
                                 "revenue", "orders", "buyers", "new", "return",
                                 "churn", "open");
    for (const v1::MonthFigures& m : d.months()) {
      if (!shown(m.month())) continue;
      std::cout << absl::StrFormat(
          "%-8s %16d %8d %8d %8d %8d %8s %8d\n", month(m.month()), m.revenue(),
          m.orders(), m.buyers(), m.new_buyers(), m.returning_buyers(),
          ChurnText(m.censored(), m.labeled(), m.churn_rate()), m.censored());
    }
    if (!partial.empty()) {
      std::cout << "* partial month: its figures stop at the run's as-of time, "
                << through << "\n";
    }

    std::cout << "\nsession funnel: sessions started in the month holding each "
                 "step; paid = successful bookings\n"
              << absl::StrFormat("%-8s %9s %9s %9s %11s %11s %9s %9s %9s\n",
                                 "month", "sessions", "homepage", "search",
                                 "item_detail", "add_to_cart", "add_promo",
                                 "booking", "paid");
    for (const v1::FunnelMonth& f : d.funnel()) {
      if (!shown(f.month())) continue;
      std::cout << absl::StrFormat(
          "%-8s %9d %9d %9d %11d %11d %9d %9d %9d\n", month(f.month()),
          f.sessions(), f.homepage(), f.search(), f.item_detail(),
          f.add_to_cart(), f.add_promo(), f.booking(), f.successful_payment());
    }

    std::cout << "\nchurn by month and current segment\n"
              << absl::StrFormat("%-8s %-20s %8s %8s %8s %8s\n", "month",
                                 "segment", "labeled", "churned", "churn",
                                 "open");
    for (const v1::SegmentMonthChurn& s : d.segment_months()) {
      if (!shown(s.month())) continue;
      std::cout << absl::StrFormat(
          "%-8s %-20s %8d %8d %8s %8d\n", month(s.month()), s.segment(),
          s.labeled(), s.churned(),
          ChurnText(s.censored(), s.labeled(), s.churn_rate()), s.censored());
    }

    std::cout << "\npromo use by current segment, all purchases up to as-of\n"
              << absl::StrFormat("%-20s %8s %8s %8s %16s\n", "segment",
                                 "orders", "promo", "share", "promo (IDR)");
    for (const v1::SegmentPromo& p : d.promo_by_segment()) {
      std::cout << absl::StrFormat("%-20s %8d %8d %7.1f%% %16d\n", p.segment(),
                                   p.orders(), p.promo_orders(),
                                   100 * p.promo_share(), p.promo_amount());
    }
    std::cout << "\n" << d.summary() << "\n";
    return 0;
  }
  if (report->parsed()) {
    grpc::ClientContext ctx;
    c.Prepare(&ctx);
    v1::GetModelReportRequest req;
    req.set_run_id(run_id);
    v1::ModelReport m;
    if (grpc::Status s = c.jobs->GetModelReport(&ctx, req, &m); !s.ok()) {
      return Fail(s);
    }
    std::cout << absl::StrFormat(
        "run %d: C=%g imbalance=%s, CV %s %.4f +/- %.4f\n"
        "  held out %s: %d rows, %.1f%% churned (trained on %d)\n"
        "  AUC %.4f  PR-AUC %.4f  Brier %.4f  lift@10%% %.2f  log-loss %.4f\n"
        "  recency-only AUC %.4f  scored customers %d\n",
        m.run_id(), m.c(), m.imbalance(), m.cv_metric(), m.cv_mean(), m.cv_sd(),
        m.holdout_month(), m.holdout_rows(), 100 * m.holdout_positive_rate(),
        m.training_rows(), m.holdout_auc(), m.holdout_pr_auc(),
        m.holdout_brier(), m.holdout_lift_top_decile(), m.holdout_log_loss(),
        m.baseline_recency_auc(), m.scored_customers());
    for (absl::string_view note :
         absl::StrSplit(m.notes(), "; ", absl::SkipEmpty())) {
      std::cout << "  note: " << note << "\n";
    }
    // Strongest first (on standardized features, so comparable).
    std::vector<std::pair<std::string, double>> coefficients(
        m.coefficients().begin(), m.coefficients().end());
    std::sort(coefficients.begin(), coefficients.end(),
              [](const auto& a, const auto& b) {
                return std::abs(a.second) != std::abs(b.second)
                           ? std::abs(a.second) > std::abs(b.second)
                           : a.first < b.first;
              });
    for (const auto& [name, value] : coefficients) {
      std::cout << absl::StrFormat("  %-28s %+.4f\n", name, value);
    }
    return 0;
  }
  if (segments->parsed()) {
    grpc::ClientContext ctx;
    c.Prepare(&ctx);
    v1::ListSegmentsRequest req;
    req.set_run_id(run_id);
    v1::ListSegmentsResponse resp;
    if (grpc::Status s = c.campaigns->ListSegments(&ctx, req, &resp); !s.ok()) {
      return Fail(s);
    }
    std::cout << "run " << resp.run_id() << ", as of " << Time(resp.as_of())
              << "\n"
              << absl::StrFormat("%-20s %9s %9s %9s %10s %16s\n", "segment",
                                 "customers", "active", "churned", "mean score",
                                 "at risk (IDR)");
    for (const v1::Segment& s : resp.segments()) {
      // The mean is over the scored (active) customers: none, no mean.
      const std::string score =
          s.has_mean_churn_score()
              ? absl::StrFormat("%.3f", s.mean_churn_score())
              : "-";
      std::cout << absl::StrFormat("%-20s %9d %9d %9d %10s %16.0f\n", s.name(),
                                   s.customers(), s.active_customers(),
                                   s.churned_customers(), score,
                                   s.revenue_at_risk());
    }
    std::cout << "mean score: over the segment's active (scored) customers\n";
    return 0;
  }
  if (campaigns->parsed()) {
    grpc::ClientContext ctx;
    c.Prepare(&ctx);
    v1::ListCampaignsRequest req;
    req.set_run_id(run_id);
    v1::ListCampaignsResponse resp;
    if (grpc::Status s = c.campaigns->ListCampaigns(&ctx, req, &resp);
        !s.ok()) {
      return Fail(s);
    }
    std::cout << "run " << resp.run_id() << ", as of " << Time(resp.as_of())
              << "\n"
              << absl::StrFormat("%-28s %4s %-14s %8s %9s %8s %16s\n",
                                 "campaign", "prio", "promo", "size",
                                 "treatment", "holdout", "at risk (IDR)");
    for (const v1::Campaign& k : resp.campaigns()) {
      std::cout << absl::StrFormat("%-28s %4d %-14s %8d %9d %8d %16.0f\n",
                                   k.name(), k.priority(), k.promo_code(),
                                   k.size(), k.treatment_size(),
                                   k.holdout_size(), k.revenue_at_risk());
    }
    // Who each list takes, so a size can be explained without the config.
    for (const v1::Campaign& k : resp.campaigns()) {
      std::cout << "\n"
                << k.name() << " (" << k.promo_code() << ", "
                << absl::StrFormat("%g", k.discount_pct()) << "% off)\n"
                << "  segments         " << Joined(k.segments()) << "\n"
                << "  churn status     " << Joined(k.churn_statuses()) << "\n"
                << absl::StrFormat(
                       "  churn score      %g to %g\n"
                       "  revenue at risk  %s\n"
                       "  holdout          %g%%; %d eligible left off by the "
                       "size cap\n",
                       k.min_churn_score(), k.max_churn_score(),
                       k.min_revenue_at_risk() > 0
                           ? absl::StrFormat("at least IDR %.0f",
                                             k.min_revenue_at_risk())
                           : std::string("any"),
                       100 * k.holdout_share(), k.capped());
      if (k.has_suppress_listed_within()) {
        const google::protobuf::Duration& w = k.suppress_listed_within();
        std::cout << absl::StrFormat(
            "  contact cap      not listed again within %g days; %d left "
            "out\n",
            (w.seconds() + w.nanos() * 1e-9) / 86400.0, k.recently_listed());
      }
    }
    return 0;
  }
  if (customer->parsed()) {
    grpc::ClientContext ctx;
    c.Prepare(&ctx);
    v1::GetCustomerRequest req;
    req.set_customer_id(customer_id);
    req.set_run_id(run_id);
    v1::Customer k;
    if (grpc::Status s = c.campaigns->GetCustomer(&ctx, req, &k); !s.ok()) {
      return Fail(s);
    }
    PrintCustomer(k);
    return 0;
  }
  if (readout->parsed()) {
    grpc::ClientContext ctx;
    c.Prepare(&ctx);
    v1::ListReadoutsRequest req;
    req.set_run_id(run_id);
    req.set_campaign(campaign);
    req.set_complete_only(complete_only);
    v1::ListReadoutsResponse resp;
    if (grpc::Status s = c.campaigns->ListReadouts(&ctx, req, &resp); !s.ok()) {
      return Fail(s);
    }
    PrintReadouts(resp);
    return 0;
  }
  if (exp->parsed()) {
    // To a file, rows go to FILE.part, renamed over FILE only once the whole
    // list is written: a failed export leaves no partial list and keeps an
    // older FILE. To standard output ("-"), rows go out as pages arrive; a
    // failure part way still exits 1, after the rows so far.
    const bool to_stdout = out_file == "-";
    const std::string part = to_stdout ? "" : out_file + ".part";
    std::ofstream file;
    if (!to_stdout) {
      file.open(part, std::ios::binary | std::ios::trunc);
      if (!file) {
        std::cerr << "winbackctl: cannot write '" << part << "'\n";
        return 1;
      }
    }
    struct RemoveUnlessRenamed {
      const std::string& path;
      bool renamed = false;
      ~RemoveUnlessRenamed() {
        if (!renamed && !path.empty()) std::remove(path.c_str());
      }
    } cleanup{part};
    std::ostream& out = to_stdout ? std::cout : file;
    v1::ListTargetsRequest req;
    req.set_campaign(campaign);
    req.set_run_id(run_id);
    req.set_page_size(page_size);
    int64_t rows = 0, pinned = 0;
    bool header_written = false;
    do {
      grpc::ClientContext ctx;
      c.Prepare(&ctx);
      v1::ListTargetsResponse resp;
      if (grpc::Status s = c.campaigns->ListTargets(&ctx, req, &resp);
          !s.ok()) {
        return Fail(s);
      }
      if (!header_written) {  // once the list is known to exist
        header_written = true;
        out << "customer_id,campaign,segment,churn_score,revenue_at_risk,"
               "group,promo_code,reasons\n";
      }
      pinned = resp.run_id();
      for (const v1::Target& t : resp.targets()) {
        const std::string reasons = Reasons(t.reasons());
        out << t.customer_id() << ',' << CsvField(t.campaign()) << ','
            << CsvField(t.segment()) << ','
            << absl::StrFormat("%.6f,%.2f", t.churn_score(),
                               t.revenue_at_risk())
            << ','
            << (t.group() == v1::TARGET_GROUP_HOLDOUT ? "holdout" : "treatment")
            << ',' << CsvField(t.promo_code()) << ',' << CsvField(reasons)
            << '\n';
        ++rows;
      }
      req.set_page_token(resp.next_page_token());
    } while (!req.page_token().empty());
    if (to_stdout) {
      out.flush();
      if (!out) {
        std::cerr << "winbackctl: writing to standard output failed\n";
        return 1;
      }
    } else {
      file.close();
      if (!file) {
        std::cerr << "winbackctl: writing '" << part << "' failed\n";
        return 1;
      }
      if (std::rename(part.c_str(), out_file.c_str()) != 0) {
        std::cerr << "winbackctl: cannot rename '" << part << "' to '"
                  << out_file << "': " << std::strerror(errno) << "\n";
        return 1;
      }
      cleanup.renamed = true;
    }
    std::cerr << "wrote " << rows << " rows of campaign " << campaign
              << " (run " << pinned << ") to "
              << (to_stdout ? "standard output" : out_file) << "\n";
    return 0;
  }
  return 2;
}
