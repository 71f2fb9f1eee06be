// Winback's configuration: one YAML file, validated at load with errors that
// name the offending key. Every setting has a documented default (see
// config/winback.yaml and README.md); relative paths are resolved against the
// directory that holds the YAML file.
#ifndef WINBACK_JOBS_CONFIG_CONFIG_H_
#define WINBACK_JOBS_CONFIG_CONFIG_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "jobs/common/time_util.h"
#include "jobs/features/features.h"
#include "jobs/model/cross_validation.h"
#include "jobs/segments/segments.h"
#include "jobs/targets/targets.h"

namespace winback {

struct DataConfig {
  std::string dir;                  // required: the export directory
  double max_bad_row_share = 0.01;  // per file; above it the run fails
  // A file with more than this share fewer rows than the served run read
  // fails the run (a cut-short export); 1 never fails.
  double max_row_drop = 0.1;
  int ingest_threads = 2;  // click_stream.csv, sessionize, histories, diagnose
};

struct StoreConfig {
  std::string path;   // required: the SQLite database file
  int keep_runs = 30; // published runs kept; older ones are deleted
};

// The daemon's network side (services/).
struct ServiceConfig {
  std::string listen = "127.0.0.1:50051";   // gRPC address
  std::string metrics_listen = "127.0.0.1:9464";  // Prometheus; "" disables
  // API keys: a file of lines "<role> <key>" (role reader or operator).
  // Keys never live in this YAML; the environment variable named by
  // api_keys_env (default WINBACK_API_KEYS, "<role>:<key>,...") adds more.
  std::string api_keys_file;
  std::string api_keys_env = "WINBACK_API_KEYS";
  std::string tls_cert_file;  // both set: TLS on; both empty: plaintext
  std::string tls_key_file;
  int default_page_size = 1000;
  int max_page_size = 10000;
  // Memory for published target lists kept ready to serve (MiB); 0 reads
  // every page from the store.
  int target_cache_mb = 256;
};

// When the daemon runs the pipeline by itself.
struct ScheduleConfig {
  bool enabled = true;
  std::string cron = "0 2 * * *";        // minute hour day-of-month month day-of-week
  std::string time_zone = "Asia/Jakarta";  // IANA name
  bool catch_up = true;   // run once at start-up when a fire time was missed
  int max_retries = 3;    // retries of a failed scheduled run
  Micros retry_backoff = 5 * kMicrosPerMinute;  // doubled on each retry
};

// The churn model (stage 5).
struct ModelConfig {
  int training_months = 6;           // fully labeled months before the holdout
  int64_t max_training_rows = 50000; // stratified subsample above this
  int reasons = 3;                   // top reasons kept per scored customer
  int threads = 2;
  // The grid search: C values x imbalance options, stratified k folds.
  model::GridSearchOptions grid;
};

struct Config {
  std::string source;  // the file it was loaded from, for messages
  DataConfig data;
  StoreConfig store;
  ServiceConfig service;
  ScheduleConfig schedule;
  Micros session_gap = 30 * kMicrosPerMinute;  // sessionize.gap
  Micros churn_window = 25 * kMicrosPerDay;    // churn.window
  FeatureOptions features;                     // features.*
  ModelConfig model;                           // model.*
  SegmentOptions segments;                     // segments: [rules]
  TargetOptions campaigns;                     // campaigns.*
  // campaigns.readout_window: how long after a list's as-of time its
  // customers' purchases count in the campaign readout.
  Micros readout_window = 25 * kMicrosPerDay;
};

// Parses YAML text. `base_dir` resolves relative paths; `source` names the
// text in error messages. Unknown or repeated keys, wrong types, empty lists
// and out-of-range values are InvalidArgument errors of the form
// "<source>:<line>: <key.path>: <problem>", the line being that of the key
// (or list entry) the error is about; a required key that is missing gets
// its section's line, or none when the section is missing too.
absl::StatusOr<Config> ParseConfig(std::string_view yaml_text,
                                   const std::string& base_dir,
                                   const std::string& source);

// Reads and parses the file at `path`.
absl::StatusOr<Config> LoadConfigFile(const std::string& path);

// The effective configuration (every setting, defaults filled in, paths
// resolved) as one line of JSON under the YAML file's own keys, durations in
// its units ("25d"). JSON is YAML, so the text loads back with ParseConfig
// into the same settings. Recorded with each run (runs.config_json).
std::string ConfigToJson(const Config& config);

}  // namespace winback

#endif  // WINBACK_JOBS_CONFIG_CONFIG_H_
