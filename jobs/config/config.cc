#include "jobs/config/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <climits>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "jobs/common/status_macros.h"
#include "jobs/common/utf8.h"
#include "nlohmann/json.hpp"

namespace winback {
namespace {

// The text of a node for messages: a scalar as written, anything else as
// YAML.
std::string Text(const YAML::Node& v) {
  if (v.IsScalar()) return v.Scalar();
  std::ostringstream os;
  os << v;
  return os.str();
}

// "<source>:<line>: <key>: <what>"; the line is left out for a null mark (a
// key that is not in the file at all). yaml-cpp counts lines from 0.
absl::Status ErrorAt(const std::string& source, const YAML::Mark& mark,
                     const std::string& key, const std::string& what) {
  std::string where = source;
  if (!mark.is_null()) absl::StrAppend(&where, ":", mark.line + 1);
  return absl::InvalidArgumentError(
      key.empty() ? absl::StrCat(where, ": ", what)
                  : absl::StrCat(where, ": ", key, ": ", what));
}

// yaml-cpp keeps every entry of a repeated key, but a lookup sees only the
// first, so a second `model:` section would be ignored without a word.
// Walks the whole document once, before anything is read.
absl::Status CheckNoRepeatedKeys(const YAML::Node& node,
                                 const std::string& path,
                                 const std::string& source) {
  if (node.IsSequence()) {
    for (size_t i = 0; i < node.size(); ++i) {
      WB_RETURN_IF_ERROR(CheckNoRepeatedKeys(
          node[i], absl::StrCat(path, "[", i, "]"), source));
    }
    return absl::OkStatus();
  }
  if (!node.IsMap()) return absl::OkStatus();
  std::map<std::string, YAML::Mark> first;
  for (auto it = node.begin(); it != node.end(); ++it) {
    const std::string key = Text(it->first);
    const std::string key_path =
        path.empty() ? key : absl::StrCat(path, ".", key);
    const auto [prev, inserted] = first.emplace(key, it->first.Mark());
    if (!inserted) {
      return ErrorAt(source, it->first.Mark(), key_path,
                     absl::StrCat("repeated key (first on line ",
                                  prev->second.line + 1, ")"));
    }
    WB_RETURN_IF_ERROR(CheckNoRepeatedKeys(it->second, key_path, source));
  }
  return absl::OkStatus();
}

// A decimal integer, optionally signed. yaml-cpp's own conversion reads 010
// as octal, refuses 08, and calls a number past int64 "not an integer".
enum class IntParse { kOk, kMalformed, kOutOfRange };
IntParse ParseInt64(std::string_view text, int64_t* out) {
  if (!text.empty() && text[0] == '+') {
    text.remove_prefix(1);
    if (text.empty() || text[0] < '0' || text[0] > '9') {
      return IntParse::kMalformed;
    }
  }
  const char* end = text.data() + text.size();
  const auto [p, ec] = std::from_chars(text.data(), end, *out);
  if (p != end) return IntParse::kMalformed;
  if (ec == std::errc::result_out_of_range) return IntParse::kOutOfRange;
  return ec == std::errc() ? IntParse::kOk : IntParse::kMalformed;
}

// A score range "lo-hi" or a single score "n". A count too large for int is
// kept as INT_MAX, which the caller's 1..5 check then rejects.
bool ParseScoreRange(std::string_view text, int* lo, int* hi) {
  const auto number = [](std::string_view t, int* out) {
    if (t.empty()) return false;
    const char* end = t.data() + t.size();
    const auto [p, ec] = std::from_chars(t.data(), end, *out);
    if (p != end) return false;
    if (ec == std::errc::result_out_of_range) *out = INT_MAX;
    return ec == std::errc() || ec == std::errc::result_out_of_range;
  };
  const size_t dash = text.find('-');
  if (dash == std::string_view::npos) {
    if (!number(text, lo)) return false;
    *hi = *lo;
    return true;
  }
  return number(text.substr(0, dash), lo) && number(text.substr(dash + 1), hi);
}

// Walks one YAML mapping, remembering which keys were read so that unknown
// keys (usually typos) can be reported by their full path. Errors carry the
// line of the key they are about, of the list entry for an entry of a list,
// and of the section itself for a key that is missing.
class Section {
 public:
  // `mark` is where the section is named: its key in the parent mapping or
  // its list item; null when it is not in the file.
  Section(const YAML::Node& node, std::string path, YAML::Mark mark,
          const std::string& source)
      : node_(node), path_(std::move(path)), mark_(mark), source_(source) {}

  absl::Status CheckIsMap() const {
    if (node_ && !node_.IsNull() && !node_.IsMap()) {
      return ErrorAt(source_, mark_, path_, "expected a mapping");
    }
    return absl::OkStatus();
  }

  Section Child(const std::string& key) {
    const Entry e = Find(key);
    return Section(e.value, Join(key),
                   e.found ? e.key.Mark() : YAML::Mark::null_mark(), source_);
  }

  absl::Status String(const std::string& key, std::string* out, bool required) {
    const YAML::Node v = Find(key).value;
    if (!v || v.IsNull()) {
      return required ? Fail(key, "is required") : absl::OkStatus();
    }
    if (!v.IsScalar()) return Fail(key, "expected a string");
    *out = v.Scalar();
    if (required && out->empty()) return Fail(key, "must not be empty");
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
    const YAML::Node v = Find(key).value;
    if (!v || v.IsNull()) return absl::OkStatus();
    double value;
    if (!v.IsScalar() || !YAML::convert<double>::decode(v, value)) {
      return Fail(key, absl::StrCat("expected a number, got '", Text(v), "'"));
    }
    if (!(value >= lo && value <= hi) || !std::isfinite(value)) {
      return Fail(
          key,
          std::isinf(hi)
              ? absl::StrCat("must be a finite number >= ", lo, ", got ", value)
              : absl::StrCat("must be in [", lo, ", ", hi, "], got ", value));
    }
    *out = value;
    return absl::OkStatus();
  }

  absl::Status Bool(const std::string& key, bool* out) {
    const YAML::Node v = Find(key).value;
    if (!v || v.IsNull()) return absl::OkStatus();
    bool value;
    if (!v.IsScalar() || !YAML::convert<bool>::decode(v, value)) {
      return Fail(key,
                  absl::StrCat("expected true or false, got '", Text(v), "'"));
    }
    *out = value;
    return absl::OkStatus();
  }

  // A duration in [min, max]. Every key has a `max` well below what Micros
  // holds: ParseDuration saturates rather than fail, and the stages add
  // these windows to timestamps.
  absl::Status Duration(const std::string& key, Micros* out, Micros min,
                        Micros max) {
    const YAML::Node v = Find(key).value;
    if (!v || v.IsNull()) return absl::OkStatus();
    const std::optional<Micros> d =
        v.IsScalar() ? ParseDuration(v.Scalar()) : std::nullopt;
    if (!d) {
      return Fail(key, absl::StrCat("expected a duration such as 30m, 25d or "
                                    "1h30m, got '",
                                    Text(v), "'"));
    }
    if (*d < min) {
      return Fail(key, absl::StrCat("must be at least ", FormatDuration(min)));
    }
    if (*d > max) {
      return Fail(key, absl::StrCat("must be at most ", FormatDuration(max),
                                    ", got '", Text(v), "'"));
    }
    *out = *d;
    return absl::OkStatus();
  }

  // The raw node of `key` (marked as known), for lists.
  YAML::Node Raw(const std::string& key) { return Find(key).value; }

  // Whether the file sets `key` in this mapping.
  bool Has(const std::string& key) const { return Lookup(key).found; }

  std::string KeyPath(const std::string& key) const { return Join(key); }

  // An error about `key`, at its line; at the section's line when the key
  // is not in the file.
  absl::Status Fail(const std::string& key, const std::string& what) const {
    return ErrorAt(source_, MarkOf(key), Join(key), what);
  }

  // Where `key` is written; the section's own position when it is not.
  YAML::Mark MarkOf(const std::string& key) const {
    const Entry e = Lookup(key);
    return e.found ? e.key.Mark() : mark_;
  }

  // An error about `key` at `mark`, e.g. the line of one entry of its list.
  absl::Status FailAt(const YAML::Mark& mark, const std::string& key,
                      const std::string& what) const {
    return ErrorAt(source_, mark, Join(key), what);
  }

  absl::Status Int64(const std::string& key, int64_t* out, int64_t lo,
                     int64_t hi) {
    const YAML::Node v = Find(key).value;
    if (!v || v.IsNull()) return absl::OkStatus();
    int64_t value = 0;
    const IntParse parsed =
        v.IsScalar() ? ParseInt64(v.Scalar(), &value) : IntParse::kMalformed;
    if (parsed == IntParse::kMalformed) {
      return Fail(key,
                  absl::StrCat("expected an integer, got '", Text(v), "'"));
    }
    if (parsed == IntParse::kOutOfRange || value < lo || value > hi) {
      return Fail(
          key, absl::StrCat("must be in [", lo, ", ", hi, "], got ", Text(v)));
    }
    *out = value;
    return absl::OkStatus();
  }

  // A list of strings; absent leaves `out` unchanged. `marks`, when given,
  // receives each entry's position for later checks.
  absl::Status Strings(const std::string& key, std::vector<std::string>* out,
                       std::vector<YAML::Mark>* marks = nullptr) {
    const YAML::Node v = Find(key).value;
    if (!v || v.IsNull()) return absl::OkStatus();
    WB_RETURN_IF_ERROR(CheckNonEmptyList(key, v));
    out->clear();
    if (marks != nullptr) marks->clear();
    for (const YAML::Node& item : v) {
      if (!item.IsScalar()) {
        return FailAt(item.Mark(), key, "expected a list of strings");
      }
      out->push_back(item.Scalar());
      if (marks != nullptr) marks->push_back(item.Mark());
    }
    return absl::OkStatus();
  }

  // A list of positive finite numbers; absent leaves `out` unchanged.
  absl::Status Doubles(const std::string& key, std::vector<double>* out) {
    const YAML::Node v = Find(key).value;
    if (!v || v.IsNull()) return absl::OkStatus();
    WB_RETURN_IF_ERROR(CheckNonEmptyList(key, v));
    out->clear();
    for (const YAML::Node& item : v) {
      double value;
      if (!item.IsScalar() || !YAML::convert<double>::decode(item, value) ||
          !(value > 0) || !std::isfinite(value)) {
        return FailAt(item.Mark(), key,
                      absl::StrCat("expected finite positive numbers, got '",
                                   Text(item), "'"));
      }
      out->push_back(value);
    }
    return absl::OkStatus();
  }

  // A score range "lo-hi" or a single score "n" (1..5).
  absl::Status ScoreRange(const std::string& key, int* lo, int* hi) {
    const YAML::Node v = Find(key).value;
    if (!v || v.IsNull()) return Fail(key, "is required (e.g. 4-5)");
    const std::string text = v.IsScalar() ? v.Scalar() : "";
    int a = 0, b = 0;
    if (!ParseScoreRange(text, &a, &b)) {
      return Fail(key, absl::StrCat("expected a score such as 4 or a "
                                    "range such as 4-5, got '",
                                    Text(v), "'"));
    }
    if (a < 1 || b > 5 || a > b) {
      return Fail(key, absl::StrCat("scores run from 1 to 5 with low <= "
                                    "high, got '",
                                    text, "'"));
    }
    *lo = a;
    *hi = b;
    return absl::OkStatus();
  }

  const YAML::Node& node() const { return node_; }

  // Reports the first key of this mapping that no accessor asked for.
  absl::Status CheckNoUnknownKeys() const {
    if (!node_ || !node_.IsMap()) return absl::OkStatus();
    for (auto it = node_.begin(); it != node_.end(); ++it) {
      const std::string key = Text(it->first);
      if (!seen_.count(key)) {
        return ErrorAt(source_, it->first.Mark(), Join(key),
                       absl::StrCat("unknown key (known: ",
                                    absl::StrJoin(seen_, ", "), ")"));
      }
    }
    return absl::OkStatus();
  }

 private:
  struct Entry {
    bool found = false;
    YAML::Node key;
    YAML::Node value;  // a null node when not found
  };

  // Looks `key` up and marks it as known. CheckNoRepeatedKeys has run, so
  // the first match is the only one.
  Entry Find(const std::string& key) {
    seen_.insert(key);
    return Lookup(key);
  }

  // Iterates rather than using operator[], which gives no key node (and so
  // no line) and on a non-const node inserts the key.
  Entry Lookup(const std::string& key) const {
    if (!node_ || !node_.IsMap()) return {};
    for (auto it = node_.begin(); it != node_.end(); ++it) {
      if (it->first.IsScalar() && it->first.Scalar() == key) {
        return {true, it->first, it->second};
      }
    }
    return {};
  }

  // An empty list is refused, as c_values: [] always was: in the other lists
  // the code read it as the default (imbalance: [] meant all five options, a
  // campaign's segments: [] every segment), the opposite of what it says.
  // Leaving the key out gives the default.
  absl::Status CheckNonEmptyList(const std::string& key,
                                 const YAML::Node& v) const {
    if (!v.IsSequence()) return Fail(key, "expected a list");
    if (v.size() == 0) {
      return Fail(key,
                  "must not be an empty list; leave the key out for the "
                  "default");
    }
    return absl::OkStatus();
  }

  std::string Join(const std::string& key) const {
    return path_.empty() ? key : absl::StrCat(path_, ".", key);
  }

  YAML::Node node_;
  std::string path_;
  YAML::Mark mark_;
  const std::string& source_;
  std::set<std::string> seen_;
};

std::string Resolve(const std::string& base_dir, const std::string& p) {
  if (p.empty()) return p;
  std::filesystem::path path(p);
  if (path.is_absolute() || base_dir.empty()) return path.lexically_normal();
  return (std::filesystem::path(base_dir) / path).lexically_normal();
}

// Limits on durations: far above any sensible setting, so what they catch
// is a typo (30d for 30m), and far below what Micros holds, so window
// arithmetic on timestamps cannot overflow.
constexpr Micros kMaxWindow = 3650 * kMicrosPerDay;
constexpr Micros kMaxSessionGap = 7 * kMicrosPerDay;  // the default is 30m
// The scheduler caps each retry delay at a day (services/scheduler.cc).
constexpr Micros kMaxRetryBackoff = kMicrosPerDay;

absl::Status ParseSegmentRules(Section& top, const std::string& source,
                               Config* c) {
  const YAML::Node list = top.Raw("segments");
  if (!list || list.IsNull()) return absl::OkStatus();
  if (!list.IsSequence()) {
    return top.Fail("segments", "expected a list of {name, r, f[, m]} rules");
  }
  c->segments.rules.clear();
  std::map<std::string, YAML::Mark> first_row;  // name -> where it is defined
  for (size_t i = 0; i < list.size(); ++i) {
    Section rule(list[i], absl::StrCat("segments[", i, "]"), list[i].Mark(),
                 source);
    WB_RETURN_IF_ERROR(rule.CheckIsMap());
    SegmentRule r;
    WB_RETURN_IF_ERROR(rule.String("name", &r.name, /*required=*/true));
    WB_RETURN_IF_ERROR(rule.ScoreRange("r", &r.r_min, &r.r_max));
    WB_RETURN_IF_ERROR(rule.ScoreRange("f", &r.f_min, &r.f_max));
    if (rule.Has("m")) {
      WB_RETURN_IF_ERROR(rule.ScoreRange("m", &r.m_min, &r.m_max));
    }
    WB_RETURN_IF_ERROR(rule.CheckNoUnknownKeys());
    if (const auto [prev, inserted] =
            first_row.emplace(r.name, rule.MarkOf("name"));
        !inserted) {
      return rule.Fail("name", absl::StrCat("segment rule name \"", r.name,
                                            "\" is repeated (first on line ",
                                            prev->second.line + 1, ")"));
    }
    c->segments.rules.push_back(r);
  }
  // What is left (cells no rule covers) is about the table as a whole.
  if (absl::Status s = c->segments.Validate(); !s.ok()) {
    return top.Fail("segments", std::string(s.message()));
  }
  return absl::OkStatus();
}

// One entry of campaigns.list; `known_segments` are the segment table's
// names and `first_name` where each campaign name was first given.
absl::Status ParseCampaign(Section& item,
                           const std::set<std::string>& known_segments,
                           std::map<std::string, YAML::Mark>* first_name,
                           Campaign* k) {
  WB_RETURN_IF_ERROR(item.CheckIsMap());
  WB_RETURN_IF_ERROR(item.String("name", &k->name, /*required=*/true));
  if (const auto [prev, inserted] =
          first_name->emplace(k->name, item.MarkOf("name"));
      !inserted) {
    return item.Fail("name", absl::StrCat("campaign \"", k->name,
                                          "\": name is repeated (first on "
                                          "line ",
                                          prev->second.line + 1, ")"));
  }
  WB_RETURN_IF_ERROR(item.String("description", &k->description, false));
  std::vector<YAML::Mark> marks;
  WB_RETURN_IF_ERROR(item.Strings("segments", &k->segments, &marks));
  for (size_t j = 0; j < k->segments.size(); ++j) {
    if (!known_segments.count(k->segments[j])) {
      return item.FailAt(
          marks[j], "segments",
          absl::StrCat("campaign \"", k->name, "\": unknown segment \"",
                       k->segments[j], "\""));
    }
  }
  std::vector<std::string> statuses;
  WB_RETURN_IF_ERROR(item.Strings("churn_statuses", &statuses, &marks));
  for (size_t j = 0; j < statuses.size(); ++j) {
    const std::optional<ChurnStatus> status = ParseChurnStatus(statuses[j]);
    if (!status) {
      return item.FailAt(marks[j], "churn_statuses",
                         absl::StrCat("unknown status '", statuses[j],
                                      "' (known: active, churned, "
                                      "never_purchased)"));
    }
    k->statuses.push_back(*status);
  }
  WB_RETURN_IF_ERROR(item.Double("min_score", &k->min_score, 0, 1));
  WB_RETURN_IF_ERROR(item.Double("max_score", &k->max_score, 0, 1));
  if (k->min_score > k->max_score) {
    // min_score is set here: the defaults (0 and 1) cannot cross.
    return item.Fail(
        item.Has("min_score") ? "min_score" : "max_score",
        absl::StrCat("campaign \"", k->name, "\": min_score ", k->min_score,
                     " is greater than max_score ", k->max_score));
  }
  WB_RETURN_IF_ERROR(item.Double("min_revenue_at_risk", &k->min_revenue_at_risk,
                                 0, std::numeric_limits<double>::infinity()));
  WB_RETURN_IF_ERROR(item.String("promo_code", &k->promo_code, false));
  WB_RETURN_IF_ERROR(item.Double("discount_pct", &k->discount_pct, 0, 100));
  WB_RETURN_IF_ERROR(item.Int64("max_size", &k->max_size, 0, INT64_MAX));
  WB_RETURN_IF_ERROR(item.Double("holdout_share", &k->holdout_share, 0, 1));
  WB_RETURN_IF_ERROR(item.Int("priority", &k->priority, -1000000, 1000000));
  WB_RETURN_IF_ERROR(item.Duration("suppress_listed_within",
                                   &k->suppress_listed_within, 0, kMaxWindow));
  return item.CheckNoUnknownKeys();
}

absl::Status ParseCampaigns(Section& top, const std::string& source,
                            Config* c) {
  Section campaigns = top.Child("campaigns");
  WB_RETURN_IF_ERROR(campaigns.CheckIsMap());
  WB_RETURN_IF_ERROR(campaigns.Duration("suppress_bought_within",
                                        &c->campaigns.suppression.bought_within,
                                        0, kMaxWindow));
  WB_RETURN_IF_ERROR(campaigns.Duration("readout_window", &c->readout_window,
                                        kMicrosPerHour, kMaxWindow));
  std::set<std::string> known_segments;
  for (const SegmentRule& r : c->segments.rules) known_segments.insert(r.name);
  const YAML::Node list = campaigns.Raw("list");
  // An empty list is taken literally: no campaigns.
  if (list && !list.IsNull()) {
    if (!list.IsSequence()) {
      return campaigns.Fail("list", "expected a list of campaigns");
    }
    c->campaigns.campaigns.clear();
    std::map<std::string, YAML::Mark> first_name;
    for (size_t i = 0; i < list.size(); ++i) {
      Section item(list[i], absl::StrCat("campaigns.list[", i, "]"),
                   list[i].Mark(), source);
      Campaign k;
      WB_RETURN_IF_ERROR(ParseCampaign(item, known_segments, &first_name, &k));
      c->campaigns.campaigns.push_back(std::move(k));
    }
  }
  WB_RETURN_IF_ERROR(campaigns.CheckNoUnknownKeys());
  // ParseCampaign has checked each listed campaign, so these catch the
  // default campaigns against a segment table of other names (and are a
  // backstop for checks TargetOptions may add).
  if (absl::Status s = CheckCampaignSegments(
          c->campaigns, std::vector<std::string>(known_segments.begin(),
                                                 known_segments.end()));
      !s.ok()) {
    if (!campaigns.Has("list")) {
      return top.Fail("segments",
                      absl::StrCat(s.message(),
                                   " (a default campaign: campaigns.list is "
                                   "not set)"));
    }
    return campaigns.Fail("list", std::string(s.message()));
  }
  if (absl::Status s = c->campaigns.Validate(); !s.ok()) {
    return campaigns.Fail("list", std::string(s.message()));
  }
  return absl::OkStatus();
}

absl::Status ParseFeatures(Section& top, Config* c) {
  Section features = top.Child("features");
  WB_RETURN_IF_ERROR(features.CheckIsMap());
  FeatureOptions& f = c->features;
  WB_RETURN_IF_ERROR(features.Duration("lookback", &f.lookback, 1, kMaxWindow));
  WB_RETURN_IF_ERROR(
      features.Duration("trend_window", &f.trend_window, 1, kMaxWindow));
  WB_RETURN_IF_ERROR(
      features.Duration("spend_window", &f.spend_window, 1, kMaxWindow));
  WB_RETURN_IF_ERROR(features.CheckNoUnknownKeys());
  if (2 * f.trend_window > f.lookback) {
    return features.Fail(
        features.Has("trend_window") ? "trend_window" : "lookback",
        absl::StrCat("two trend windows (2 x ", FormatDuration(f.trend_window),
                     ") must fit in the lookback window (",
                     FormatDuration(f.lookback), ")"));
  }
  // A backstop for checks FeatureOptions may add.
  if (absl::Status s = f.Validate(); !s.ok()) {
    return top.Fail("features", std::string(s.message()));
  }
  return absl::OkStatus();
}

absl::Status ParseModelSections(Section& top, const std::string& source,
                                Config* c) {
  WB_RETURN_IF_ERROR(ParseFeatures(top, c));

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
  std::vector<YAML::Mark> marks;
  WB_RETURN_IF_ERROR(m.Strings("imbalance", &imbalances, &marks));
  if (!imbalances.empty()) {  // empty: the key is absent (Strings refuses [])
    mc.grid.imbalances.clear();
    for (size_t j = 0; j < imbalances.size(); ++j) {
      const std::optional<model::Imbalance> parsed =
          model::ParseImbalance(imbalances[j]);
      if (!parsed) {
        return m.FailAt(marks[j], "imbalance",
                        absl::StrCat("unknown option '", imbalances[j],
                                     "' (known: none, class_weight, "
                                     "undersample, smote, borderline_smote)"));
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

absl::Status ParseService(Section& top, const std::string& base_dir,
                          Config* c) {
  Section service = top.Child("service");
  ServiceConfig& sc = c->service;
  WB_RETURN_IF_ERROR(service.CheckIsMap());
  WB_RETURN_IF_ERROR(service.String("listen", &sc.listen, false));
  WB_RETURN_IF_ERROR(
      service.String("metrics_listen", &sc.metrics_listen, false));
  WB_RETURN_IF_ERROR(service.String("api_keys_file", &sc.api_keys_file, false));
  WB_RETURN_IF_ERROR(service.String("api_keys_env", &sc.api_keys_env, false));
  WB_RETURN_IF_ERROR(service.String("tls_cert_file", &sc.tls_cert_file, false));
  WB_RETURN_IF_ERROR(service.String("tls_key_file", &sc.tls_key_file, false));
  WB_RETURN_IF_ERROR(
      service.Int("default_page_size", &sc.default_page_size, 1, 1000000));
  WB_RETURN_IF_ERROR(
      service.Int("max_page_size", &sc.max_page_size, 1, 1000000));
  WB_RETURN_IF_ERROR(
      service.Int("target_cache_mb", &sc.target_cache_mb, 0, 1 << 20));
  WB_RETURN_IF_ERROR(service.CheckNoUnknownKeys());
  // The default listen address is not empty, so an empty one is in the file.
  if (sc.listen.empty()) return service.Fail("listen", "must not be empty");
  if (sc.tls_cert_file.empty() != sc.tls_key_file.empty()) {
    return service.Fail(
        sc.tls_cert_file.empty() ? "tls_key_file" : "tls_cert_file",
        "set both or neither of service.tls_cert_file and "
        "service.tls_key_file");
  }
  if (sc.default_page_size > sc.max_page_size) {
    if (!service.Has("default_page_size")) {
      return service.Fail(
          "max_page_size",
          absl::StrCat("must not be below "
                       "service.default_page_size (",
                       sc.max_page_size, " < ", sc.default_page_size, ")"));
    }
    return service.Fail(
        "default_page_size",
        absl::StrCat("must not exceed service.max_page_size (",
                     sc.default_page_size, " > ", sc.max_page_size, ")"));
  }
  sc.api_keys_file = Resolve(base_dir, sc.api_keys_file);
  sc.tls_cert_file = Resolve(base_dir, sc.tls_cert_file);
  sc.tls_key_file = Resolve(base_dir, sc.tls_key_file);
  return absl::OkStatus();
}

absl::StatusOr<Config> ParseRoot(const YAML::Node& root,
                                 const std::string& base_dir,
                                 const std::string& source) {
  Config c;
  c.source = source;
  WB_RETURN_IF_ERROR(CheckNoRepeatedKeys(root, "", source));
  Section top(root, "", root.Mark(), source);
  WB_RETURN_IF_ERROR(top.CheckIsMap());

  Section data = top.Child("data");
  WB_RETURN_IF_ERROR(data.CheckIsMap());
  WB_RETURN_IF_ERROR(data.String("dir", &c.data.dir, /*required=*/true));
  WB_RETURN_IF_ERROR(data.Double("max_bad_row_share",
                                 &c.data.max_bad_row_share, 0.0, 1.0));
  WB_RETURN_IF_ERROR(
      data.Double("max_row_drop", &c.data.max_row_drop, 0.0, 1.0));
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
  WB_RETURN_IF_ERROR(
      sessionize.Duration("gap", &c.session_gap, 1, kMaxSessionGap));
  WB_RETURN_IF_ERROR(sessionize.CheckNoUnknownKeys());

  Section churn = top.Child("churn");
  WB_RETURN_IF_ERROR(churn.CheckIsMap());
  WB_RETURN_IF_ERROR(churn.Duration("window", &c.churn_window, 1, kMaxWindow));
  WB_RETURN_IF_ERROR(churn.CheckNoUnknownKeys());

  WB_RETURN_IF_ERROR(ParseService(top, base_dir, &c));

  Section schedule = top.Child("schedule");
  WB_RETURN_IF_ERROR(schedule.CheckIsMap());
  WB_RETURN_IF_ERROR(schedule.Bool("enabled", &c.schedule.enabled));
  WB_RETURN_IF_ERROR(schedule.String("cron", &c.schedule.cron, false));
  WB_RETURN_IF_ERROR(
      schedule.String("time_zone", &c.schedule.time_zone, false));
  WB_RETURN_IF_ERROR(schedule.Bool("catch_up", &c.schedule.catch_up));
  WB_RETURN_IF_ERROR(
      schedule.Int("max_retries", &c.schedule.max_retries, 0, 100));
  WB_RETURN_IF_ERROR(schedule.Duration(
      "retry_backoff", &c.schedule.retry_backoff, 0, kMaxRetryBackoff));
  WB_RETURN_IF_ERROR(schedule.CheckNoUnknownKeys());

  WB_RETURN_IF_ERROR(ParseModelSections(top, source, &c));
  WB_RETURN_IF_ERROR(top.CheckNoUnknownKeys());
  return c;
}

}  // namespace

absl::StatusOr<Config> ParseConfig(std::string_view yaml_text,
                                   const std::string& base_dir,
                                   const std::string& source) {
  // Settings end up in JSON (runs.config_json) and gRPC strings, which must
  // be UTF-8, and YAML is UTF-8 text: a file saved as Latin-1 is refused
  // here, where the message can say where.
  if (const size_t bad = FirstInvalidUtf8(yaml_text);
      bad != std::string_view::npos) {
    const std::string_view before = yaml_text.substr(0, bad);
    const size_t line_start = before.rfind('\n');
    const size_t column =
        bad - (line_start == std::string_view::npos ? 0 : line_start + 1);
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s:%d:%d: not UTF-8 text (byte 0x%02X); save the file as UTF-8",
        source, std::count(before.begin(), before.end(), '\n') + 1, column + 1,
        static_cast<unsigned char>(yaml_text[bad])));
  }
  // yaml-cpp reports errors by throwing; this is the one place they are
  // caught and turned into a Status.
  try {
    const YAML::Node root = YAML::Load(std::string(yaml_text));
    absl::StatusOr<Config> config = ParseRoot(root, base_dir, source);
    if (!config.ok()) return config;
    // A relative path takes the config file's directory, which may not be
    // UTF-8 even when the file is.
    const std::pair<const char*, const std::string*> paths[] = {
        {"data.dir", &config->data.dir},
        {"store.path", &config->store.path},
        {"service.api_keys_file", &config->service.api_keys_file},
        {"service.tls_cert_file", &config->service.tls_cert_file},
        {"service.tls_key_file", &config->service.tls_key_file}};
    for (const auto& [key, path] : paths) {
      if (FirstInvalidUtf8(*path) != std::string_view::npos) {
        return absl::InvalidArgumentError(absl::StrCat(
            source, ": ", key, ": the path '", EscapeInvalidUtf8(*path),
            "' is not UTF-8 text; use a directory whose name is"));
      }
    }
    return config;
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

namespace {

// A segment rule's score range as the YAML writes it: "4-5", or 5.
nlohmann::json ScoreRangeJson(int lo, int hi) {
  if (lo == hi) return lo;
  return absl::StrCat(lo, "-", hi);
}

}  // namespace

std::string ConfigToJson(const Config& c) {
  using nlohmann::json;
  json j;
  j["data"] = {{"dir", c.data.dir},
               {"max_bad_row_share", c.data.max_bad_row_share},
               {"max_row_drop", c.data.max_row_drop},
               {"ingest_threads", c.data.ingest_threads}};
  j["store"] = {{"path", c.store.path}, {"keep_runs", c.store.keep_runs}};
  j["sessionize"] = {{"gap", FormatDuration(c.session_gap)}};
  j["churn"] = {{"window", FormatDuration(c.churn_window)}};
  j["features"] = {{"lookback", FormatDuration(c.features.lookback)},
                   {"trend_window", FormatDuration(c.features.trend_window)},
                   {"spend_window", FormatDuration(c.features.spend_window)}};
  const model::GridSearchOptions& g = c.model.grid;
  json imbalance = json::array();
  for (model::Imbalance m : g.imbalances) {
    imbalance.push_back(model::ImbalanceName(m));
  }
  j["model"] = {
      {"training_months", c.model.training_months},
      {"max_training_rows", c.model.max_training_rows},
      {"folds", g.folds},
      {"c_values", g.c_values},
      {"imbalance", imbalance},
      {"cv_metric",
       g.metric == model::CvMetric::kRocAuc ? "roc_auc" : "average_precision"},
      {"seed", g.seed},
      {"reasons", c.model.reasons},
      {"threads", c.model.threads}};
  json segments = json::array();
  for (const SegmentRule& r : c.segments.rules) {
    json rule = {{"name", r.name},
                 {"r", ScoreRangeJson(r.r_min, r.r_max)},
                 {"f", ScoreRangeJson(r.f_min, r.f_max)}};
    if (r.LimitsM()) rule["m"] = ScoreRangeJson(r.m_min, r.m_max);
    segments.push_back(std::move(rule));
  }
  j["segments"] = segments;
  json campaigns = json::array();
  for (const Campaign& k : c.campaigns.campaigns) {
    json statuses = json::array();
    for (ChurnStatus s : k.statuses) statuses.push_back(ChurnStatusName(s));
    json campaign = {
        {"name", k.name},
        {"description", k.description},
        {"min_score", k.min_score},
        {"max_score", k.max_score},
        {"min_revenue_at_risk", k.min_revenue_at_risk},
        {"promo_code", k.promo_code},
        {"discount_pct", k.discount_pct},
        {"max_size", k.max_size},
        {"holdout_share", k.holdout_share},
        {"priority", k.priority},
        {"suppress_listed_within", FormatDuration(k.suppress_listed_within)}};
    // An empty list is "any", which the YAML says by leaving the key out.
    if (!k.segments.empty()) campaign["segments"] = k.segments;
    if (!statuses.empty()) campaign["churn_statuses"] = statuses;
    campaigns.push_back(std::move(campaign));
  }
  j["campaigns"] = {{"suppress_bought_within",
                     FormatDuration(c.campaigns.suppression.bought_within)},
                    {"readout_window", FormatDuration(c.readout_window)},
                    {"list", campaigns}};
  const ServiceConfig& s = c.service;
  j["service"] = {{"listen", s.listen},
                  {"metrics_listen", s.metrics_listen},
                  {"api_keys_file", s.api_keys_file},
                  {"api_keys_env", s.api_keys_env},
                  {"tls_cert_file", s.tls_cert_file},
                  {"tls_key_file", s.tls_key_file},
                  {"default_page_size", s.default_page_size},
                  {"max_page_size", s.max_page_size},
                  {"target_cache_mb", s.target_cache_mb}};
  j["schedule"] = {{"enabled", c.schedule.enabled},
                   {"cron", c.schedule.cron},
                   {"time_zone", c.schedule.time_zone},
                   {"catch_up", c.schedule.catch_up},
                   {"max_retries", c.schedule.max_retries},
                   {"retry_backoff", FormatDuration(c.schedule.retry_backoff)}};
  return j.dump();
}

}  // namespace winback
