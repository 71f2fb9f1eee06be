#include "jobs/config/config.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "jobs/common/status_macros.h"

namespace winback {
namespace {

// Walks one YAML mapping, remembering which keys were read so that unknown
// keys (usually typos) can be reported by their full path.
class Section {
 public:
  Section(const YAML::Node& node, std::string path, const std::string& source)
      : node_(node), path_(std::move(path)), source_(source) {}

  absl::Status CheckIsMap() const {
    if (node_ && !node_.IsNull() && !node_.IsMap()) {
      return Error(path_, "expected a mapping");
    }
    return absl::OkStatus();
  }

  Section Child(const std::string& key) {
    seen_.insert(key);
    return Section(node_ ? node_[key] : YAML::Node(), Join(key), source_);
  }

  absl::Status String(const std::string& key, std::string* out, bool required) {
    seen_.insert(key);
    const YAML::Node v = node_ ? node_[key] : YAML::Node();
    if (!v || v.IsNull()) {
      return required ? Error(Join(key), "is required") : absl::OkStatus();
    }
    if (!v.IsScalar()) return Error(Join(key), "expected a string");
    *out = v.Scalar();
    if (required && out->empty()) return Error(Join(key), "must not be empty");
    return absl::OkStatus();
  }

  absl::Status Int(const std::string& key, int* out, int lo, int hi) {
    int64_t value = *out;
    WB_RETURN_IF_ERROR(Int64(key, &value, lo, hi));
    *out = static_cast<int>(value);
    return absl::OkStatus();
  }

  absl::Status Double(const std::string& key, double* out, double lo,
                      double hi) {
    seen_.insert(key);
    const YAML::Node v = node_ ? node_[key] : YAML::Node();
    if (!v || v.IsNull()) return absl::OkStatus();
    double value;
    if (!v.IsScalar() || !YAML::convert<double>::decode(v, value)) {
      return Error(Join(key), absl::StrCat("expected a number, got '",
                                           Text(v), "'"));
    }
    if (!(value >= lo && value <= hi) || !std::isfinite(value)) {
      return Error(
          Join(key),
          std::isinf(hi)
              ? absl::StrCat("must be a finite number >= ", lo, ", got ", value)
              : absl::StrCat("must be in [", lo, ", ", hi, "], got ", value));
    }
    *out = value;
    return absl::OkStatus();
  }

  absl::Status Bool(const std::string& key, bool* out) {
    seen_.insert(key);
    const YAML::Node v = node_ ? node_[key] : YAML::Node();
    if (!v || v.IsNull()) return absl::OkStatus();
    bool value;
    if (!v.IsScalar() || !YAML::convert<bool>::decode(v, value)) {
      return Error(Join(key), absl::StrCat("expected true or false, got '",
                                           Text(v), "'"));
    }
    *out = value;
    return absl::OkStatus();
  }

  absl::Status Duration(const std::string& key, Micros* out, Micros min) {
    seen_.insert(key);
    const YAML::Node v = node_ ? node_[key] : YAML::Node();
    if (!v || v.IsNull()) return absl::OkStatus();
    const std::optional<Micros> d =
        v.IsScalar() ? ParseDuration(v.Scalar()) : std::nullopt;
    if (!d) {
      return Error(Join(key),
                   absl::StrCat("expected a duration such as 30m, 25d or "
                                "1h30m, got '",
                                Text(v), "'"));
    }
    if (*d < min) {
      return Error(Join(key), absl::StrCat("must be at least ",
                                           FormatDuration(min)));
    }
    *out = *d;
    return absl::OkStatus();
  }

  // The raw node of `key` (marked as known), for lists.
  YAML::Node Raw(const std::string& key) {
    seen_.insert(key);
    return node_ ? node_[key] : YAML::Node();
  }

  std::string KeyPath(const std::string& key) const { return Join(key); }

  absl::Status Fail(const std::string& key, const std::string& what) const {
    return Error(Join(key), what);
  }

  absl::Status Int64(const std::string& key, int64_t* out, int64_t lo,
                     int64_t hi) {
    seen_.insert(key);
    const YAML::Node v = node_ ? node_[key] : YAML::Node();
    if (!v || v.IsNull()) return absl::OkStatus();
    int64_t value;
    if (!v.IsScalar() || !YAML::convert<int64_t>::decode(v, value)) {
      return Error(Join(key), absl::StrCat("expected an integer, got '",
                                           Text(v), "'"));
    }
    if (value < lo || value > hi) {
      return Error(Join(key), absl::StrCat("must be in [", lo, ", ", hi,
                                           "], got ", value));
    }
    *out = value;
    return absl::OkStatus();
  }

  // A list of strings; absent leaves `out` unchanged.
  absl::Status Strings(const std::string& key, std::vector<std::string>* out) {
    seen_.insert(key);
    const YAML::Node v = node_ ? node_[key] : YAML::Node();
    if (!v || v.IsNull()) return absl::OkStatus();
    if (!v.IsSequence()) return Error(Join(key), "expected a list");
    out->clear();
    for (const YAML::Node& item : v) {
      if (!item.IsScalar()) return Error(Join(key), "expected a list of strings");
      out->push_back(item.Scalar());
    }
    return absl::OkStatus();
  }

  // A list of numbers; absent leaves `out` unchanged.
  absl::Status Doubles(const std::string& key, std::vector<double>* out) {
    seen_.insert(key);
    const YAML::Node v = node_ ? node_[key] : YAML::Node();
    if (!v || v.IsNull()) return absl::OkStatus();
    if (!v.IsSequence() || v.size() == 0) {
      return Error(Join(key), "expected a non-empty list of numbers");
    }
    out->clear();
    for (const YAML::Node& item : v) {
      double value;
      if (!item.IsScalar() || !YAML::convert<double>::decode(item, value) ||
          !(value > 0)) {
        return Error(Join(key), absl::StrCat("expected positive numbers, got '",
                                             Text(item), "'"));
      }
      out->push_back(value);
    }
    return absl::OkStatus();
  }

  // A score range "lo-hi" or a single score "n" (1..5).
  absl::Status ScoreRange(const std::string& key, int* lo, int* hi) {
    seen_.insert(key);
    const YAML::Node v = node_ ? node_[key] : YAML::Node();
    if (!v || v.IsNull()) return Error(Join(key), "is required (e.g. 4-5)");
    const std::string text = v.IsScalar() ? v.Scalar() : "";
    int a = 0, b = 0;
    char dash = 0, extra = 0;
    const int n = std::sscanf(text.c_str(), "%d%c%d%c", &a, &dash, &b, &extra);
    if (n == 1) {
      b = a;
    } else if (!(n == 3 && dash == '-')) {
      return Error(Join(key), absl::StrCat("expected a score such as 4 or a "
                                           "range such as 4-5, got '",
                                           Text(v), "'"));
    }
    if (a < 1 || b > 5 || a > b) {
      return Error(Join(key), absl::StrCat("scores run from 1 to 5 with low <= "
                                           "high, got '", text, "'"));
    }
    *lo = a;
    *hi = b;
    return absl::OkStatus();
  }

  const YAML::Node& node() const { return node_; }

  // Reports the first key of this mapping that no accessor asked for.
  absl::Status CheckNoUnknownKeys() const {
    if (!node_ || !node_.IsMap()) return absl::OkStatus();
    for (const auto& kv : node_) {
      const std::string key = kv.first.as<std::string>();
      if (!seen_.count(key)) {
        return Error(Join(key),
                     absl::StrCat("unknown key (known: ",
                                  absl::StrJoin(seen_, ", "), ")"));
      }
    }
    return absl::OkStatus();
  }

 private:
  std::string Join(const std::string& key) const {
    return path_.empty() ? key : absl::StrCat(path_, ".", key);
  }
  static std::string Text(const YAML::Node& v) {
    if (v.IsScalar()) return v.Scalar();
    std::ostringstream os;
    os << v;
    return os.str();
  }
  absl::Status Error(const std::string& key, const std::string& what) const {
    std::string where = source_;
    if (node_ && node_.Mark().line >= 0) {
      where = absl::StrCat(source_, ":", node_.Mark().line + 1);
    }
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": ", key, ": ", what));
  }

  YAML::Node node_;
  std::string path_;
  const std::string& source_;
  std::set<std::string> seen_;
};

std::string Resolve(const std::string& base_dir, const std::string& p) {
  if (p.empty()) return p;
  std::filesystem::path path(p);
  if (path.is_absolute() || base_dir.empty()) return path.lexically_normal();
  return (std::filesystem::path(base_dir) / path).lexically_normal();
}

absl::Status ParseSegmentRules(Section& top, const std::string& source,
                                Config* c) {
  const YAML::Node list = top.Raw("segments");
  if (!list || list.IsNull()) return absl::OkStatus();
  if (!list.IsSequence()) {
    return top.Fail("segments", "expected a list of {name, r, f} rules");
  }
  c->segments.rules.clear();
  for (size_t i = 0; i < list.size(); ++i) {
    Section rule(list[i], absl::StrCat("segments[", i, "]"), source);
    WB_RETURN_IF_ERROR(rule.CheckIsMap());
    SegmentRule r;
    WB_RETURN_IF_ERROR(rule.String("name", &r.name, /*required=*/true));
    WB_RETURN_IF_ERROR(rule.ScoreRange("r", &r.r_min, &r.r_max));
    WB_RETURN_IF_ERROR(rule.ScoreRange("f", &r.f_min, &r.f_max));
    WB_RETURN_IF_ERROR(rule.CheckNoUnknownKeys());
    c->segments.rules.push_back(r);
  }
  if (absl::Status s = c->segments.Validate(); !s.ok()) {
    return top.Fail("segments", std::string(s.message()));
  }
  return absl::OkStatus();
}

absl::Status ParseCampaigns(Section& top, const std::string& source,
                            Config* c) {
  Section campaigns = top.Child("campaigns");
  WB_RETURN_IF_ERROR(campaigns.CheckIsMap());
  WB_RETURN_IF_ERROR(campaigns.Duration(
      "suppress_bought_within", &c->campaigns.suppression.bought_within, 0));
  const YAML::Node list = campaigns.Raw("list");
  if (list && !list.IsNull()) {
    if (!list.IsSequence()) {
      return campaigns.Fail("list", "expected a list of campaigns");
    }
    c->campaigns.campaigns.clear();
    for (size_t i = 0; i < list.size(); ++i) {
      Section item(list[i], absl::StrCat("campaigns.list[", i, "]"), source);
      WB_RETURN_IF_ERROR(item.CheckIsMap());
      Campaign k;
      WB_RETURN_IF_ERROR(item.String("name", &k.name, /*required=*/true));
      WB_RETURN_IF_ERROR(item.String("description", &k.description, false));
      WB_RETURN_IF_ERROR(item.Strings("segments", &k.segments));
      std::vector<std::string> statuses;
      WB_RETURN_IF_ERROR(item.Strings("churn_statuses", &statuses));
      for (const std::string& s : statuses) {
        const std::optional<ChurnStatus> status = ParseChurnStatus(s);
        if (!status) {
          return item.Fail("churn_statuses",
                           absl::StrCat("unknown status '", s,
                                        "' (known: active, churned, "
                                        "never_purchased)"));
        }
        k.statuses.push_back(*status);
      }
      WB_RETURN_IF_ERROR(item.Double("min_score", &k.min_score, 0, 1));
      WB_RETURN_IF_ERROR(item.Double("max_score", &k.max_score, 0, 1));
      WB_RETURN_IF_ERROR(item.Double("min_revenue_at_risk",
                                     &k.min_revenue_at_risk, 0,
                                     std::numeric_limits<double>::infinity()));
      WB_RETURN_IF_ERROR(item.String("promo_code", &k.promo_code, false));
      WB_RETURN_IF_ERROR(item.Double("discount_pct", &k.discount_pct, 0, 100));
      WB_RETURN_IF_ERROR(item.Int64("max_size", &k.max_size, 0, INT64_MAX));
      WB_RETURN_IF_ERROR(
          item.Double("holdout_share", &k.holdout_share, 0, 1));
      WB_RETURN_IF_ERROR(item.Int("priority", &k.priority, -1000000, 1000000));
      WB_RETURN_IF_ERROR(item.CheckNoUnknownKeys());
      c->campaigns.campaigns.push_back(std::move(k));
    }
  }
  WB_RETURN_IF_ERROR(campaigns.CheckNoUnknownKeys());
  absl::Status s = c->campaigns.Validate();
  if (s.ok()) {
    std::vector<std::string> names;
    for (const SegmentRule& r : c->segments.rules) names.push_back(r.name);
    s = CheckCampaignSegments(c->campaigns, names);
  }
  if (!s.ok()) return top.Fail("campaigns", std::string(s.message()));
  return absl::OkStatus();
}

absl::Status ParseModelSections(Section& top, const std::string& source,
                                Config* c) {
  Section features = top.Child("features");
  WB_RETURN_IF_ERROR(features.CheckIsMap());
  WB_RETURN_IF_ERROR(features.Duration("lookback", &c->features.lookback, 1));
  WB_RETURN_IF_ERROR(
      features.Duration("trend_window", &c->features.trend_window, 1));
  WB_RETURN_IF_ERROR(
      features.Duration("spend_window", &c->features.spend_window, 1));
  WB_RETURN_IF_ERROR(features.CheckNoUnknownKeys());
  if (absl::Status s = c->features.Validate(); !s.ok()) {
    return top.Fail("features", std::string(s.message()));
  }

  Section m = top.Child("model");
  WB_RETURN_IF_ERROR(m.CheckIsMap());
  ModelConfig& mc = c->model;
  WB_RETURN_IF_ERROR(m.Int("training_months", &mc.training_months, 1, 120));
  WB_RETURN_IF_ERROR(
      m.Int64("max_training_rows", &mc.max_training_rows, 100, 100000000));
  WB_RETURN_IF_ERROR(m.Int("reasons", &mc.reasons, 0, kFeatureCount));
  WB_RETURN_IF_ERROR(m.Int("threads", &mc.threads, 1, 64));
  WB_RETURN_IF_ERROR(m.Int("folds", &mc.grid.folds, 2, 20));
  WB_RETURN_IF_ERROR(m.Doubles("c_values", &mc.grid.c_values));
  std::vector<std::string> imbalances;
  WB_RETURN_IF_ERROR(m.Strings("imbalance", &imbalances));
  if (!imbalances.empty()) {
    mc.grid.imbalances.clear();
    for (const std::string& name : imbalances) {
      const std::optional<model::Imbalance> parsed = model::ParseImbalance(name);
      if (!parsed) {
        return m.Fail("imbalance",
                      absl::StrCat("unknown option '", name,
                                   "' (known: none, class_weight, undersample, "
                                   "smote, borderline_smote)"));
      }
      mc.grid.imbalances.push_back(*parsed);
    }
  }
  std::string metric;
  WB_RETURN_IF_ERROR(m.String("cv_metric", &metric, false));
  if (metric == "roc_auc") {
    mc.grid.metric = model::CvMetric::kRocAuc;
  } else if (metric == "average_precision" || metric == "pr_auc") {
    mc.grid.metric = model::CvMetric::kAveragePrecision;
  } else if (!metric.empty()) {
    return m.Fail("cv_metric", absl::StrCat("expected roc_auc or "
                                            "average_precision, got '",
                                            metric, "'"));
  }
  int64_t seed = static_cast<int64_t>(mc.grid.seed);
  WB_RETURN_IF_ERROR(m.Int64("seed", &seed, 0, INT64_MAX));
  mc.grid.seed = static_cast<uint64_t>(seed);
  WB_RETURN_IF_ERROR(m.CheckNoUnknownKeys());
  mc.grid.threads = mc.threads;
  mc.grid.resample.threads = mc.threads;

  WB_RETURN_IF_ERROR(ParseSegmentRules(top, source, c));
  return ParseCampaigns(top, source, c);
}

absl::StatusOr<Config> ParseRoot(const YAML::Node& root,
                                 const std::string& base_dir,
                                 const std::string& source) {
  Config c;
  c.source = source;
  Section top(root, "", source);
  WB_RETURN_IF_ERROR(top.CheckIsMap());

  Section data = top.Child("data");
  WB_RETURN_IF_ERROR(data.CheckIsMap());
  WB_RETURN_IF_ERROR(data.String("dir", &c.data.dir, /*required=*/true));
  WB_RETURN_IF_ERROR(data.Double("max_bad_row_share",
                                 &c.data.max_bad_row_share, 0.0, 1.0));
  WB_RETURN_IF_ERROR(data.Int("ingest_threads", &c.data.ingest_threads, 1, 64));
  WB_RETURN_IF_ERROR(data.CheckNoUnknownKeys());
  c.data.dir = Resolve(base_dir, c.data.dir);

  Section store = top.Child("store");
  WB_RETURN_IF_ERROR(store.CheckIsMap());
  WB_RETURN_IF_ERROR(store.String("path", &c.store.path, /*required=*/true));
  WB_RETURN_IF_ERROR(store.Int("keep_runs", &c.store.keep_runs, 1, 100000));
  WB_RETURN_IF_ERROR(store.CheckNoUnknownKeys());
  c.store.path = Resolve(base_dir, c.store.path);

  Section sessionize = top.Child("sessionize");
  WB_RETURN_IF_ERROR(sessionize.CheckIsMap());
  WB_RETURN_IF_ERROR(sessionize.Duration("gap", &c.session_gap, 1));
  WB_RETURN_IF_ERROR(sessionize.CheckNoUnknownKeys());

  Section churn = top.Child("churn");
  WB_RETURN_IF_ERROR(churn.CheckIsMap());
  WB_RETURN_IF_ERROR(churn.Duration("window", &c.churn_window, 1));
  WB_RETURN_IF_ERROR(churn.CheckNoUnknownKeys());

  Section service = top.Child("service");
  WB_RETURN_IF_ERROR(service.CheckIsMap());
  WB_RETURN_IF_ERROR(service.String("listen", &c.service.listen, false));
  WB_RETURN_IF_ERROR(
      service.String("metrics_listen", &c.service.metrics_listen, false));
  WB_RETURN_IF_ERROR(
      service.String("api_keys_file", &c.service.api_keys_file, false));
  WB_RETURN_IF_ERROR(
      service.String("api_keys_env", &c.service.api_keys_env, false));
  WB_RETURN_IF_ERROR(
      service.String("tls_cert_file", &c.service.tls_cert_file, false));
  WB_RETURN_IF_ERROR(
      service.String("tls_key_file", &c.service.tls_key_file, false));
  WB_RETURN_IF_ERROR(service.Int("default_page_size",
                                 &c.service.default_page_size, 1, 1000000));
  WB_RETURN_IF_ERROR(
      service.Int("max_page_size", &c.service.max_page_size, 1, 1000000));
  WB_RETURN_IF_ERROR(service.Int("target_cache_mb",
                                 &c.service.target_cache_mb, 0, 1 << 20));
  WB_RETURN_IF_ERROR(service.CheckNoUnknownKeys());
  if (c.service.listen.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": service.listen: must not be empty"));
  }
  if (c.service.tls_cert_file.empty() != c.service.tls_key_file.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        source, ": service.tls_cert_file and service.tls_key_file: set both "
                "or neither"));
  }
  if (c.service.default_page_size > c.service.max_page_size) {
    return absl::InvalidArgumentError(absl::StrCat(
        source, ": service.default_page_size: must not exceed "
                "service.max_page_size"));
  }
  c.service.api_keys_file = Resolve(base_dir, c.service.api_keys_file);
  c.service.tls_cert_file = Resolve(base_dir, c.service.tls_cert_file);
  c.service.tls_key_file = Resolve(base_dir, c.service.tls_key_file);

  Section schedule = top.Child("schedule");
  WB_RETURN_IF_ERROR(schedule.CheckIsMap());
  WB_RETURN_IF_ERROR(schedule.Bool("enabled", &c.schedule.enabled));
  WB_RETURN_IF_ERROR(schedule.String("cron", &c.schedule.cron, false));
  WB_RETURN_IF_ERROR(
      schedule.String("time_zone", &c.schedule.time_zone, false));
  WB_RETURN_IF_ERROR(schedule.Bool("catch_up", &c.schedule.catch_up));
  WB_RETURN_IF_ERROR(
      schedule.Int("max_retries", &c.schedule.max_retries, 0, 100));
  WB_RETURN_IF_ERROR(
      schedule.Duration("retry_backoff", &c.schedule.retry_backoff, 0));
  WB_RETURN_IF_ERROR(schedule.CheckNoUnknownKeys());

  WB_RETURN_IF_ERROR(ParseModelSections(top, source, &c));
  WB_RETURN_IF_ERROR(top.CheckNoUnknownKeys());
  return c;
}

}  // namespace

absl::StatusOr<Config> ParseConfig(std::string_view yaml_text,
                                   const std::string& base_dir,
                                   const std::string& source) {
  // yaml-cpp reports errors by throwing; this is the one place they are
  // caught and turned into a Status.
  try {
    const YAML::Node root = YAML::Load(std::string(yaml_text));
    return ParseRoot(root, base_dir, source);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(
        source, ":", e.mark.line + 1, ":", e.mark.column + 1,
        ": invalid YAML: ", e.msg));
  }
}

absl::StatusOr<Config> LoadConfigFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("cannot read config file '", path, "'"));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string base =
      std::filesystem::absolute(path).parent_path().string();
  return ParseConfig(ss.str(), base, path);
}

}  // namespace winback
