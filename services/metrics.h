// Prometheus metrics of the daemon, served on service.metrics_listen:
//   winback_run_stage_seconds{stage}     histogram of stage durations
//   winback_run_stage_rows{stage}        rows the last finished stage produced
//   winback_runs_total{state}            finished runs by final state
//   winback_rpc_total{method,code}       RPCs by full method name and code
//   winback_rpc_seconds{method}          RPC latency histogram
//   winback_target_cache_hits_total      target lists served from memory
//   winback_target_cache_misses_total    target lists loaded from the store
//   winback_target_cache_evictions_total lists dropped to stay in the bound
//   winback_target_cache_bytes           memory the cached lists take
//   winback_last_success_timestamp_seconds  when the last successful run
//                                        finished (Unix time)
//   winback_served_as_of_timestamp_seconds  the as-of time of the lists
//                                        served by default (Unix time)
//   winback_run_peak_rss_bytes           peak memory of the last run's process
//   winback_run_cpu_seconds              CPU time (user + system) of it
//   winback_memory_limit_bytes           the daemon's cgroup memory limit,
//                                        which its runs' processes share
// The two timestamps have no sample until a run has succeeded; they come
// from the store, so they survive restarts (alert on time() minus them). The
// run's two have none until a run's process has exited; the limit has none
// when there is no limit (read at start-up and after each run).
// No gRPC types: the gRPC edge passes method names and code names in.
#ifndef WINBACK_SERVICES_METRICS_H_
#define WINBACK_SERVICES_METRICS_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "services/run_manager.h"
#include "services/target_cache.h"

namespace prometheus {
class Exposer;
class Registry;
template <typename T>
class Family;
class Counter;
class Gauge;
class Histogram;
}  // namespace prometheus

namespace winback {

class Metrics {
 public:
  Metrics();
  ~Metrics();

  // Serves /metrics on `address` ("host:port"). Unavailable when the address
  // cannot be bound.
  absl::Status Serve(const std::string& address);

  // The bound port after Serve (useful with port 0); 0 before.
  int port() const;

  void RecordRpc(std::string_view method, std::string_view code,
                 double seconds);
  void OnRunEvent(const RunEvent& event);
  // A TargetListCache observer.
  void OnTargetCacheEvent(TargetCacheEvent event, size_t bytes);
  // `last_success`: Store::LastSucceededRun; `served`: LatestPublishedRun.
  void SetRunTimes(const std::optional<RunRecord>& last_success,
                   const std::optional<RunRecord>& served);
  // What the last run's process used (PipelineProcessOptions::on_exit).
  void SetRunUsage(double cpu_seconds, int64_t peak_rss_bytes);
  // CgroupMemoryLimit(); nullopt removes the sample.
  void SetMemoryLimit(std::optional<int64_t> bytes);

  // The text exposition format of everything recorded (for tests).
  std::string Scrape() const;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  prometheus::Family<prometheus::Histogram>* stage_seconds_;
  prometheus::Family<prometheus::Gauge>* stage_rows_;
  prometheus::Family<prometheus::Counter>* runs_;
  prometheus::Family<prometheus::Counter>* rpcs_;
  prometheus::Family<prometheus::Histogram>* rpc_seconds_;
  prometheus::Counter* cache_hits_;
  prometheus::Counter* cache_misses_;
  prometheus::Counter* cache_evictions_;
  prometheus::Gauge* cache_bytes_;
  prometheus::Family<prometheus::Gauge>* last_success_;
  prometheus::Family<prometheus::Gauge>* served_as_of_;
  prometheus::Family<prometheus::Gauge>* run_peak_rss_;
  prometheus::Family<prometheus::Gauge>* run_cpu_;
  prometheus::Family<prometheus::Gauge>* memory_limit_;
};

}  // namespace winback

#endif  // WINBACK_SERVICES_METRICS_H_
