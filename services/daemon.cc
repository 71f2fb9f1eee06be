#include "services/daemon.h"

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "grpcpp/support/server_interceptor.h"
#include "jobs/common/status_macros.h"
#include "jobs/pipeline/run_lock.h"
#include "services/auth.h"
#include "services/campaign_service.h"
#include "services/convert.h"
#include "services/cron.h"
#include "services/job_service.h"
#include "services/memory_limit.h"
#include "services/metrics.h"
#include "services/page_token.h"
#include "services/pipeline_process.h"
#include "services/run_manager.h"
#include "services/scheduler.h"
#include "services/store_pool.h"
#include "spdlog/spdlog.h"

namespace winback {
namespace {

// Loads a published run's target lists into the service's cache and logs
// the outcome; `trigger` says why (publish, startup).
void WarmLists(CampaignServiceImpl* service, int64_t run_id,
               const char* trigger) {
  const absl::StatusOr<int> lists = service->WarmRun(run_id);
  if (lists.ok()) {
    spdlog::info("event=target_lists_warmed run_id={} lists={} trigger={}",
                 run_id, *lists, trigger);
  } else {
    spdlog::warn(
        "event=target_lists_warm_failed run_id={} trigger={} error=\"{}\"",
        run_id, trigger, std::string(lists.status().message()));
  }
}

// Sets the freshness gauges from the store: at start-up, and after each run
// that succeeds (a backfill moves the last success, not the served as-of).
// Returns the served run's id (none when nothing is published or the store
// could not be read).
std::optional<int64_t> RefreshRunTimes(StorePool* pool, Metrics* metrics) {
  StorePool::Lease store = pool->Acquire();
  const absl::StatusOr<std::optional<RunRecord>> last =
      store->LastSucceededRun();
  const absl::StatusOr<std::optional<RunRecord>> served =
      store->LatestPublishedRun();
  if (!last.ok() || !served.ok()) {
    spdlog::warn(
        "event=run_times_unread error=\"{}\"",
        std::string((last.ok() ? served.status() : last.status()).message()));
    return std::nullopt;
  }
  metrics->SetRunTimes(*last, *served);
  if (!served->has_value()) return std::nullopt;
  return (*served)->run_id;
}

// Counts and times every RPC (health and reflection included) by method and
// final code.
class MetricsInterceptor final : public grpc::experimental::Interceptor {
 public:
  MetricsInterceptor(grpc::experimental::ServerRpcInfo* info, Metrics* metrics)
      : method_(info->method()), metrics_(metrics), start_(absl::Now()) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      const grpc::Status status = methods->GetSendStatus();
      const double seconds = absl::ToDoubleSeconds(absl::Now() - start_);
      const char* code = GrpcCodeName(status.error_code());
      metrics_->RecordRpc(method_, code, seconds);
      if (!status.ok()) {
        spdlog::log(IsServerFault(status.error_code()) ? spdlog::level::err
                                                       : spdlog::level::info,
                    "event=rpc method={} code={} ms={:.2f} error=\"{}\"",
                    method_, code, seconds * 1000, status.error_message());
      } else {
        spdlog::debug("event=rpc method={} code=OK ms={:.2f}", method_,
                      seconds * 1000);
      }
    }
    methods->Proceed();
  }

 private:
  const std::string method_;
  Metrics* const metrics_;
  const absl::Time start_;
};

class MetricsInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit MetricsInterceptorFactory(Metrics* metrics) : metrics_(metrics) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new MetricsInterceptor(info, metrics_);
  }

 private:
  Metrics* const metrics_;
};

absl::StatusOr<std::string> ReadWholeFile(const std::string& path,
                                          const char* key) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat(key, ": cannot read '", path, "'"));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> Credentials(
    const ServiceConfig& service) {
  if (service.tls_cert_file.empty()) return grpc::InsecureServerCredentials();
  WB_ASSIGN_OR_RETURN(std::string cert, ReadWholeFile(service.tls_cert_file,
                                                      "service.tls_cert_file"));
  WB_ASSIGN_OR_RETURN(std::string key, ReadWholeFile(service.tls_key_file,
                                                     "service.tls_key_file"));
  grpc::SslServerCredentialsOptions ssl;
  ssl.pem_key_cert_pairs.push_back({key, cert});
  return grpc::SslServerCredentials(ssl);
}

}  // namespace

absl::Status RunDaemon(const Config& config, const DaemonOptions& options) {
  // Signals are taken synchronously by sigwait below; every thread started
  // from here on inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::optional<CronSchedule> cron;
  if (config.schedule.enabled) {
    WB_ASSIGN_OR_RETURN(cron, CronSchedule::Parse(config.schedule.cron,
                                                  config.schedule.time_zone));
  }
  WB_ASSIGN_OR_RETURN(
      std::vector<ApiKey> api_keys,
      LoadApiKeys(config.service.api_keys_file, config.service.api_keys_env));
  if (api_keys.empty()) {
    spdlog::warn(
        "event=no_api_keys msg=\"no API keys configured: every call except "
        "health and reflection will be refused\"");
  }
  const KeyRing keys(api_keys);
  WB_ASSIGN_OR_RETURN(auto credentials, Credentials(config.service));

  // The daemon runs pipelines on this database for its whole life; the lock
  // keeps one-shot `winback run`s (and a second daemon) off it, and proves
  // that runs still marked running belong to a dead process.
  WB_ASSIGN_OR_RETURN(std::unique_ptr<RunLock> run_lock,
                      RunLock::Acquire(config.store.path));
  StoreOptions store_options;
  store_options.keep_runs = config.store.keep_runs;
  WB_ASSIGN_OR_RETURN(std::unique_ptr<Store> writer,
                      Store::Open(config.store.path, store_options));
  WB_ASSIGN_OR_RETURN(const int interrupted,
                      writer->FailInterruptedRuns(NowMicros()));
  if (interrupted > 0) {
    spdlog::warn("event=interrupted_runs_failed count={}", interrupted);
  }
  WB_ASSIGN_OR_RETURN(std::unique_ptr<StorePool> pool,
                      StorePool::Open(config.store.path, store_options,
                                      options.read_connections));
  WB_ASSIGN_OR_RETURN(std::string secret,
                      LoadOrCreateSecret(config.store.path + ".token-secret"));
  const PageTokenCodec tokens(std::move(secret));

  Metrics metrics;
  RefreshRunTimes(pool.get(), &metrics);
  RunManagerOptions run_options;
  // Set once the campaign service exists; runs.Shutdown() joins the
  // pipeline thread before the service goes away.
  std::atomic<CampaignServiceImpl*> warm_target{nullptr};
  run_options.on_event = [&metrics, &warm_target, &pool](const RunEvent& e) {
    metrics.OnRunEvent(e);
    if (e.terminal && e.state == RunState::kSucceeded) {
      const std::optional<int64_t> served =
          RefreshRunTimes(pool.get(), &metrics);
      // Load the new lists now, on the pipeline thread, rather than on the
      // first marketing tool's first page. Not a backfill's: they are read
      // only by run id, and loading them could push the served lists out
      // of the cache.
      CampaignServiceImpl* service = warm_target.load();
      if (service != nullptr && served == e.run_id) {
        WarmLists(service, e.run_id, "publish");
      }
    }
    if (!e.terminal) {
      spdlog::info("event=stage run_id={} stage={} index={}/{} done={} rows={} "
                   "seconds={:.3f}",
                   e.run_id, e.stage, e.stage_index + 1, e.stage_count,
                   e.stage_done, e.rows, e.seconds);
    }
  };
  // Each run is a child process: a run that runs out of memory or crashes
  // fails alone, and the API keeps serving.
  PipelineProcessOptions process_options;
  process_options.stage_delay = options.stage_delay;
  // The limit is read again after each run, so a limit changed while the
  // daemon runs (systemctl set-property) shows by the next run's figures.
  metrics.SetMemoryLimit(CgroupMemoryLimit());
  process_options.on_exit = [&metrics](const ProcessUsage& usage) {
    metrics.SetRunUsage(usage.cpu_seconds, usage.peak_rss_bytes);
    metrics.SetMemoryLimit(CgroupMemoryLimit());
  };
  RunManager runs(config, std::move(writer), run_options,
                  ProcessPipeline(config, std::move(process_options)));

  JobServiceImpl job_service(&runs, pool.get(), &keys, &tokens);
  CampaignServiceOptions campaign_options;
  campaign_options.default_page_size = config.service.default_page_size;
  campaign_options.max_page_size = config.service.max_page_size;
  campaign_options.target_cache_bytes =
      static_cast<size_t>(config.service.target_cache_mb) << 20;
  campaign_options.on_cache_event = [&metrics](TargetCacheEvent event,
                                               size_t bytes) {
    metrics.OnTargetCacheEvent(event, bytes);
  };
  CampaignServiceImpl campaign_service(pool.get(), &keys, &tokens,
                                       campaign_options);
  warm_target.store(&campaign_service);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int grpc_port = 0;
  // gRPC sets SO_REUSEPORT by default, which would let a second daemon bind
  // the same port and take half the calls; this one must own it.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddListeningPort(config.service.listen, credentials, &grpc_port);
  builder.RegisterService(&job_service);
  builder.RegisterService(&campaign_service);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
      interceptors;
  interceptors.push_back(std::make_unique<MetricsInterceptorFactory>(&metrics));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || grpc_port == 0) {
    return absl::UnavailableError(absl::StrCat(
        "service.listen: cannot listen on '", config.service.listen, "'"));
  }
  // The whole server ("") and each service by its full name.
  server->GetHealthCheckService()->SetServingStatus(true);
  for (const char* name : {v1::JobService::service_full_name(),
                           v1::CampaignService::service_full_name()}) {
    server->GetHealthCheckService()->SetServingStatus(name, true);
  }

  int metrics_port = 0;
  if (!config.service.metrics_listen.empty()) {
    WB_RETURN_IF_ERROR(metrics.Serve(config.service.metrics_listen));
    metrics_port = metrics.port();
  }

  std::unique_ptr<Scheduler> scheduler;
  if (cron.has_value()) {
    SchedulerHooks hooks;
    hooks.start_run = [&runs](RunTrigger trigger) {
      return runs.StartRun(trigger, "", std::nullopt);
    };
    hooks.get_run = [&pool](int64_t run_id) {
      StorePool::Lease store = pool->Acquire();
      return store->GetRun(run_id);
    };
    hooks.recent_runs = [&pool](int limit) {
      StorePool::Lease store = pool->Acquire();
      return store->ListRuns(limit, std::nullopt);
    };
    scheduler = std::make_unique<Scheduler>(*cron, config.schedule,
                                            std::move(hooks));
    scheduler->Start();
  }

  if (!options.port_file.empty()) {
    std::ofstream out(options.port_file + ".tmp");
    out << "grpc=" << grpc_port << "\nmetrics=" << metrics_port << "\n";
    out.close();
    std::rename((options.port_file + ".tmp").c_str(), options.port_file.c_str());
  }
  spdlog::info(
      "event=serving listen={} grpc_port={} metrics_port={} tls={} keys={} "
      "schedule=\"{}\" time_zone={}",
      config.service.listen, grpc_port, metrics_port,
      !config.service.tls_cert_file.empty(), keys.size(),
      cron.has_value() ? config.schedule.cron : "off",
      config.schedule.time_zone);

  // The latest published run's lists, loaded in the background so that the
  // first pages after a (re)start come from memory as well.
  std::thread warm_latest([&pool, &campaign_service] {
    absl::StatusOr<std::optional<RunRecord>> latest;
    {
      StorePool::Lease store = pool->Acquire();
      latest = store->LatestPublishedRun();
    }
    if (latest.ok() && latest->has_value()) {
      WarmLists(&campaign_service, (*latest)->run_id, "startup");
    }
  });

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  spdlog::info("event=shutdown_begin signal={}", signal_number);

  server->GetHealthCheckService()->SetServingStatus(false);
  if (scheduler != nullptr) scheduler->Stop();
  // Stop the run first so that WatchRun streams get their terminal event
  // and end within the grace period.
  runs.BeginShutdown();
  server->Shutdown(std::chrono::system_clock::now() +
                   absl::ToChronoMilliseconds(options.shutdown_grace));
  spdlog::info("event=shutdown_rpcs_done");
  runs.Shutdown();
  server->Wait();
  warm_latest.join();
  spdlog::info("event=shutdown_done");
  return absl::OkStatus();
}

}  // namespace winback
