// The winbackd daemon: wires the store, run manager, scheduler, gRPC
// services, health checking, reflection and metrics together and serves
// until SIGTERM or SIGINT.
#ifndef WINBACK_SERVICES_DAEMON_H_
#define WINBACK_SERVICES_DAEMON_H_

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "jobs/config/config.h"

namespace winback {

struct DaemonOptions {
  // When set, "grpc=<port>\nmetrics=<port>\n" is written here once serving
  // (useful with port 0 in service.listen).
  std::string port_file;
  // How long in-flight RPCs get to finish at shutdown.
  absl::Duration shutdown_grace = absl::Seconds(10);
  // Test hook, see PipelineProcessOptions::stage_delay.
  absl::Duration stage_delay = absl::ZeroDuration();
  // Read connections to the store (concurrent read RPCs).
  int read_connections = 8;
};

// Validates what the config alone can tell (cron, time zone, keys, TLS
// files) with errors naming the key, then serves until SIGTERM/SIGINT.
// Returns OK after a clean shutdown: no new RPCs accepted, in-flight RPCs
// given `shutdown_grace`, a running job cancelled (it publishes nothing) and
// joined. Must be called before any other thread is started.
absl::Status RunDaemon(const Config& config, const DaemonOptions& options);

}  // namespace winback

#endif  // WINBACK_SERVICES_DAEMON_H_
