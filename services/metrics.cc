#include "services/metrics.h"

#include <exception>

#include "absl/strings/str_cat.h"
#include "prometheus/counter.h"
#include "prometheus/exposer.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"

namespace winback {

Metrics::Metrics() : registry_(std::make_shared<prometheus::Registry>()) {
  stage_seconds_ = &prometheus::BuildHistogram()
                        .Name("winback_run_stage_seconds")
                        .Help("Wall time of pipeline stages")
                        .Register(*registry_);
  stage_rows_ = &prometheus::BuildGauge()
                     .Name("winback_run_stage_rows")
                     .Help("Rows produced by the last finished stage")
                     .Register(*registry_);
  runs_ = &prometheus::BuildCounter()
               .Name("winback_runs_total")
               .Help("Finished runs by final state")
               .Register(*registry_);
  rpcs_ = &prometheus::BuildCounter()
               .Name("winback_rpc_total")
               .Help("RPCs by method and status code")
               .Register(*registry_);
  rpc_seconds_ = &prometheus::BuildHistogram()
                      .Name("winback_rpc_seconds")
                      .Help("RPC latency")
                      .Register(*registry_);
  // Unlabelled, so resolved once here rather than per event.
  cache_hits_ = &prometheus::BuildCounter()
                     .Name("winback_target_cache_hits_total")
                     .Help("Target lists served from memory")
                     .Register(*registry_)
                     .Add({});
  cache_misses_ = &prometheus::BuildCounter()
                       .Name("winback_target_cache_misses_total")
                       .Help("Target lists loaded from the store")
                       .Register(*registry_)
                       .Add({});
  cache_evictions_ = &prometheus::BuildCounter()
                          .Name("winback_target_cache_evictions_total")
                          .Help("Target lists dropped to stay in the bound")
                          .Register(*registry_)
                          .Add({});
  cache_bytes_ = &prometheus::BuildGauge()
                      .Name("winback_target_cache_bytes")
                      .Help("Memory the cached target lists take")
                      .Register(*registry_)
                      .Add({});
  // Families only: a sample appears once there is a time to report.
  last_success_ = &prometheus::BuildGauge()
                       .Name("winback_last_success_timestamp_seconds")
                       .Help("When the last successful run finished")
                       .Register(*registry_);
  served_as_of_ = &prometheus::BuildGauge()
                       .Name("winback_served_as_of_timestamp_seconds")
                       .Help("As-of time of the target lists served by default")
                       .Register(*registry_);
  run_peak_rss_ = &prometheus::BuildGauge()
                       .Name("winback_run_peak_rss_bytes")
                       .Help("Peak resident memory of the last run's process")
                       .Register(*registry_);
  run_cpu_ = &prometheus::BuildGauge()
                  .Name("winback_run_cpu_seconds")
                  .Help("CPU time (user + system) of the last run's process")
                  .Register(*registry_);
  memory_limit_ = &prometheus::BuildGauge()
                       .Name("winback_memory_limit_bytes")
                       .Help(
                           "Memory limit of the daemon's cgroup, which its "
                           "runs' processes share")
                       .Register(*registry_);
}

Metrics::~Metrics() = default;

absl::Status Metrics::Serve(const std::string& address) {
  try {
    exposer_ = std::make_unique<prometheus::Exposer>(address);
    exposer_->RegisterCollectable(registry_);
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat(
        "service.metrics_listen: cannot serve metrics on '", address,
        "': ", e.what()));
  }
  return absl::OkStatus();
}

int Metrics::port() const {
  if (exposer_ == nullptr) return 0;
  const std::vector<int> ports = exposer_->GetListeningPorts();
  return ports.empty() ? 0 : ports.front();
}

void Metrics::RecordRpc(std::string_view method, std::string_view code,
                        double seconds) {
  rpcs_->Add({{"method", std::string(method)}, {"code", std::string(code)}})
      .Increment();
  static const prometheus::Histogram::BucketBoundaries kBuckets = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
      5, 10};
  rpc_seconds_->Add({{"method", std::string(method)}}, kBuckets)
      .Observe(seconds);
}

void Metrics::OnRunEvent(const RunEvent& event) {
  if (event.terminal) {
    runs_->Add({{"state", std::string(RunStateName(event.state))}})
        .Increment();
    return;
  }
  if (!event.stage_done) return;
  static const prometheus::Histogram::BucketBoundaries kBuckets = {
      0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600};
  stage_seconds_->Add({{"stage", event.stage}}, kBuckets)
      .Observe(event.seconds);
  stage_rows_->Add({{"stage", event.stage}})
      .Set(static_cast<double>(event.rows));
}

void Metrics::OnTargetCacheEvent(TargetCacheEvent event, size_t bytes) {
  switch (event) {
    case TargetCacheEvent::kHit:
      cache_hits_->Increment();
      break;
    case TargetCacheEvent::kMiss:
      cache_misses_->Increment();
      break;
    case TargetCacheEvent::kEviction:
      cache_evictions_->Increment();
      break;
  }
  cache_bytes_->Set(static_cast<double>(bytes));
}

void Metrics::SetRunTimes(const std::optional<RunRecord>& last_success,
                          const std::optional<RunRecord>& served) {
  if (last_success.has_value() && last_success->finished_at.has_value()) {
    last_success_->Add({}).Set(static_cast<double>(*last_success->finished_at) /
                               kMicrosPerSecond);
  }
  if (served.has_value()) {
    served_as_of_->Add({}).Set(static_cast<double>(served->as_of) /
                               kMicrosPerSecond);
  }
}

void Metrics::SetRunUsage(double cpu_seconds, int64_t peak_rss_bytes) {
  run_cpu_->Add({}).Set(cpu_seconds);
  run_peak_rss_->Add({}).Set(static_cast<double>(peak_rss_bytes));
}

void Metrics::SetMemoryLimit(std::optional<int64_t> bytes) {
  prometheus::Gauge& gauge = memory_limit_->Add({});
  if (bytes.has_value()) {
    gauge.Set(static_cast<double>(*bytes));
  } else {
    memory_limit_->Remove(&gauge);
  }
}

std::string Metrics::Scrape() const {
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

}  // namespace winback
