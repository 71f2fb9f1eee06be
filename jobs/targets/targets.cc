#include "jobs/targets/targets.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"

namespace winback {
namespace {

absl::Status CampaignError(const Campaign& c, const std::string& message) {
  return absl::InvalidArgumentError(
      absl::StrCat("campaign \"", c.name, "\": ", message));
}

absl::Status ValidateCampaign(const Campaign& c) {
  if (!(c.min_score >= 0 && c.min_score <= 1)) {
    return CampaignError(
        c, absl::StrCat("min_score must be in [0, 1], got ", c.min_score));
  }
  if (!(c.max_score >= 0 && c.max_score <= 1)) {
    return CampaignError(
        c, absl::StrCat("max_score must be in [0, 1], got ", c.max_score));
  }
  if (c.min_score > c.max_score) {
    return CampaignError(
        c, absl::StrCat("min_score ", c.min_score,
                        " is greater than max_score ", c.max_score));
  }
  if (!(c.min_revenue_at_risk >= 0) || !std::isfinite(c.min_revenue_at_risk)) {
    return CampaignError(
        c, absl::StrCat("min_revenue_at_risk must be finite and >= 0, got ",
                        c.min_revenue_at_risk));
  }
  if (!(c.discount_pct >= 0 && c.discount_pct <= 100)) {
    return CampaignError(
        c,
        absl::StrCat("discount_pct must be in [0, 100], got ", c.discount_pct));
  }
  if (c.max_size < 0) {
    return CampaignError(
        c, absl::StrCat("max_size must be >= 0 (0 = unlimited), got ",
                        c.max_size));
  }
  if (!(c.holdout_share >= 0 && c.holdout_share <= 1)) {
    return CampaignError(
        c,
        absl::StrCat("holdout_share must be in [0, 1], got ", c.holdout_share));
  }
  for (const std::string& s : c.segments) {
    if (s.empty()) return CampaignError(c, "segments has an empty name");
  }
  if (c.suppress_listed_within < 0) {
    return CampaignError(
        c, absl::StrCat("suppress_listed_within must be >= 0 (0 = off), got ",
                        c.suppress_listed_within, "us"));
  }
  return absl::OkStatus();
}

absl::Status ValidateCandidates(const CandidateTable& t) {
  const size_t n = t.size();
  if (t.segment.size() != n || t.status.size() != n ||
      t.churn_score.size() != n || t.expected_spend.size() != n ||
      t.last_purchase_at.size() != n || t.reasons.size() != n) {
    return absl::InvalidArgumentError(
        "candidate table columns differ in length");
  }
  absl::flat_hash_set<int64_t> ids;
  ids.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const int64_t id = t.customer_id[i];
    if (!ids.insert(id).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("customer ", id, " appears twice among the candidates"));
    }
    if (!(t.churn_score[i] >= 0 && t.churn_score[i] <= 1)) {
      return absl::InvalidArgumentError(
          absl::StrCat("customer ", id, ": churn_score must be in [0, 1], got ",
                       t.churn_score[i]));
    }
    if (!(t.expected_spend[i] >= 0) || !std::isfinite(t.expected_spend[i])) {
      return absl::InvalidArgumentError(absl::StrCat(
          "customer ", id, ": expected_spend must be finite and >= 0, got ",
          t.expected_spend[i]));
    }
  }
  return absl::OkStatus();
}

// A campaign's filters, prepared for fast matching.
struct Matcher {
  const Campaign* campaign;
  absl::flat_hash_set<std::string> segments;  // empty = any
  uint32_t status_mask;                       // bit per ChurnStatus; 0 = any
  // Customers the campaign listed within suppress_listed_within; null: none.
  const absl::flat_hash_set<int64_t>* recently_listed;

  // `revenue` is the customer's revenue at risk.
  bool Matches(const CandidateTable& t, size_t i, double revenue) const {
    if (!segments.empty() && !segments.contains(t.segment[i])) return false;
    const uint32_t bit = 1u << static_cast<uint32_t>(t.status[i]);
    if (status_mask != 0 && (status_mask & bit) == 0) return false;
    const double s = t.churn_score[i];
    return s >= campaign->min_score && s <= campaign->max_score &&
           revenue >= campaign->min_revenue_at_risk;
  }
};

}  // namespace

std::string_view ChurnStatusName(ChurnStatus s) {
  switch (s) {
    case ChurnStatus::kActive:
      return "active";
    case ChurnStatus::kChurned:
      return "churned";
    case ChurnStatus::kNeverPurchased:
      return "never_purchased";
  }
  return "unknown";
}

std::optional<ChurnStatus> ParseChurnStatus(std::string_view name) {
  for (ChurnStatus s : {ChurnStatus::kActive, ChurnStatus::kChurned,
                        ChurnStatus::kNeverPurchased}) {
    if (ChurnStatusName(s) == name) return s;
  }
  return std::nullopt;
}

std::vector<Campaign> DefaultCampaigns() {
  std::vector<Campaign> out(3);

  Campaign& keep = out[0];
  keep.name = "keep-at-risk-loyal";
  keep.segments = {"Champions", "Loyal", "Cannot Lose Them", "At Risk",
                   "Need Attention"};
  keep.statuses = {ChurnStatus::kActive};
  keep.min_score = 0.5;
  keep.promo_code = "STAYWITHUS";
  keep.discount_pct = 15;
  keep.max_size = 5000;
  keep.holdout_share = 0.1;
  keep.priority = 10;
  keep.description =
      "Valuable repeat buyers whose window is still open but whose churn "
      "score is high: reach them before they lapse.";

  Campaign& win_back = out[1];
  win_back.name = "win-back-lapsed-high-value";
  win_back.segments = {"At Risk", "Cannot Lose Them", "Hibernating",
                       "Lost",    "About To Sleep",   "Champions",
                       "Loyal"};
  win_back.statuses = {ChurnStatus::kChurned};
  // About half of a typical order per month: without a floor the list's
  // tail is customers who bought nothing in the spend window.
  win_back.min_revenue_at_risk = 250000;
  win_back.promo_code = "COMEBACK25";
  win_back.discount_pct = 25;
  win_back.max_size = 10000;
  win_back.holdout_share = 0.1;
  win_back.priority = 20;
  win_back.description =
      "Customers whose churn window closed without a repurchase and who "
      "spent at least IDR 250,000 per active month in the last year, highest "
      "spend first: a strong offer to bring them back.";

  Campaign& second = out[2];
  second.name = "second-purchase";
  second.segments = {"New", "Promising", "Potential Loyalist"};
  second.statuses = {ChurnStatus::kActive};
  second.min_score = 0.3;
  second.promo_code = "SECOND10";
  second.discount_pct = 10;
  second.max_size = 10000;
  second.holdout_share = 0.1;
  second.priority = 30;
  second.description =
      "Recent first-time and early buyers at risk of never coming back: a "
      "modest nudge toward the next purchase.";
  return out;
}

absl::Status TargetOptions::Validate() const {
  absl::flat_hash_set<std::string> names;
  for (size_t i = 0; i < campaigns.size(); ++i) {
    const Campaign& c = campaigns[i];
    if (c.name.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("campaign #", i + 1, " has an empty name"));
    }
    if (!names.insert(c.name).second) {
      return CampaignError(c, "name is repeated");
    }
    if (absl::Status s = ValidateCampaign(c); !s.ok()) return s;
  }
  if (suppression.bought_within < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("suppression.bought_within must be >= 0, got ",
                     suppression.bought_within, "us"));
  }
  return absl::OkStatus();
}

absl::Status CheckCampaignSegments(
    const TargetOptions& options,
    const std::vector<std::string>& known_segments) {
  const absl::flat_hash_set<std::string> known(known_segments.begin(),
                                               known_segments.end());
  for (const Campaign& c : options.campaigns) {
    for (const std::string& s : c.segments) {
      if (!known.contains(s)) {
        return CampaignError(c, absl::StrCat("unknown segment \"", s, "\""));
      }
    }
  }
  return absl::OkStatus();
}

uint64_t Fnv1a64(std::string_view bytes) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

uint64_t Mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

bool InHoldout(int64_t customer_id, std::string_view campaign,
               double holdout_share) {
  std::string key = std::to_string(customer_id);
  key.push_back('\x1f');
  key.append(campaign);
  const uint64_t h = Mix64(Fnv1a64(key));
  const double fraction = static_cast<double>(h >> 11) * 0x1p-53;
  return fraction < holdout_share;
}

absl::StatusOr<std::pair<TargetTable, std::vector<CampaignSummary>>>
BuildTargets(const CandidateTable& candidates, Micros as_of,
             const TargetOptions& options, const RecentListings& recent,
             std::vector<ContactHold>* holds) {
  if (absl::Status s = options.Validate(); !s.ok()) return s;
  if (absl::Status s = ValidateCandidates(candidates); !s.ok()) return s;
  if (holds != nullptr) holds->clear();

  // Campaigns in (priority, name) order: the first matching one wins.
  const size_t k = options.campaigns.size();
  std::vector<size_t> order(k);
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const Campaign& ca = options.campaigns[a];
    const Campaign& cb = options.campaigns[b];
    if (ca.priority != cb.priority) return ca.priority < cb.priority;
    return ca.name < cb.name;
  });
  std::vector<Matcher> matchers;
  std::vector<CampaignSummary> summaries(k);
  matchers.reserve(k);
  for (size_t j = 0; j < k; ++j) {
    const Campaign& c = options.campaigns[order[j]];
    Matcher m{&c, {c.segments.begin(), c.segments.end()}, 0, nullptr};
    if (c.suppress_listed_within > 0) {
      if (const auto it = recent.find(c.name); it != recent.end()) {
        m.recently_listed = &it->second;
      }
    }
    for (ChurnStatus s : c.statuses)
      m.status_mask |= 1u << static_cast<uint32_t>(s);
    matchers.push_back(std::move(m));
    CampaignSummary& sum = summaries[j];
    sum.name = c.name;
    sum.promo_code = c.promo_code;
    sum.discount_pct = c.discount_pct;
    sum.priority = c.priority;
    sum.description = c.description;
  }

  const Micros window = options.suppression.bought_within;
  const size_t n = candidates.size();
  std::vector<double> revenue(n);
  std::vector<std::vector<uint32_t>> members(k);
  for (size_t i = 0; i < n; ++i) {
    revenue[i] = candidates.churn_score[i] * candidates.expected_spend[i];
    const Micros last = candidates.last_purchase_at[i];
    const bool suppressed =
        window > 0 && last != kNoPurchase && last > as_of - window;
    bool assigned = false;
    for (size_t j = 0; j < k; ++j) {
      if (!matchers[j].Matches(candidates, i, revenue[i])) continue;
      CampaignSummary& sum = summaries[j];
      ++sum.matched;
      if (suppressed) {
        ++sum.suppressed;
        continue;
      }
      if (!assigned && matchers[j].recently_listed != nullptr &&
          matchers[j].recently_listed->contains(candidates.customer_id[i])) {
        // Held by this campaign, unlisted: no other campaign contacts them.
        ++sum.suppressed;
        ++sum.recently_listed;
        assigned = true;
        if (holds != nullptr) {
          holds->push_back(
              {candidates.customer_id[i], matchers[j].campaign->name});
        }
        continue;
      }
      ++sum.eligible;
      if (assigned) {
        ++sum.preempted;
      } else {
        members[j].push_back(static_cast<uint32_t>(i));
        assigned = true;
      }
    }
  }

  TargetTable out;
  for (size_t j = 0; j < k; ++j) {
    const Campaign& c = *matchers[j].campaign;
    CampaignSummary& sum = summaries[j];
    std::vector<uint32_t>& rows = members[j];
    std::sort(rows.begin(), rows.end(), [&](uint32_t a, uint32_t b) {
      if (revenue[a] != revenue[b]) return revenue[a] > revenue[b];
      return candidates.customer_id[a] < candidates.customer_id[b];
    });
    if (c.max_size > 0 && rows.size() > static_cast<size_t>(c.max_size)) {
      sum.capped = static_cast<int64_t>(rows.size()) - c.max_size;
      rows.resize(static_cast<size_t>(c.max_size));
    }
    double score_sum = 0;
    for (uint32_t i : rows) {
      const int64_t id = candidates.customer_id[i];
      const bool holdout = InHoldout(id, c.name, c.holdout_share);
      out.customer_id.push_back(id);
      out.campaign.push_back(c.name);
      out.segment.push_back(candidates.segment[i]);
      out.churn_score.push_back(candidates.churn_score[i]);
      out.revenue_at_risk.push_back(revenue[i]);
      out.holdout.push_back(holdout ? 1 : 0);
      out.reasons.push_back(candidates.reasons[i]);
      out.promo_code.push_back(c.promo_code);
      ++(holdout ? sum.holdout : sum.treatment);
      sum.revenue_at_risk += revenue[i];
      score_sum += candidates.churn_score[i];
    }
    sum.assigned = static_cast<int64_t>(rows.size());
    sum.avg_score = rows.empty() ? 0 : score_sum / rows.size();
  }
  return std::make_pair(std::move(out), std::move(summaries));
}

}  // namespace winback
