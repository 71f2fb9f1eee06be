// Stage 6: per-campaign promotion target lists.
//
// Campaigns select customers by segment, churn status, churn-score range and
// a floor on revenue at risk.
// Each customer lands in at most one campaign per run, and a stable hash
// splits every list into treatment and holdout.
#ifndef WINBACK_JOBS_TARGETS_TARGETS_H_
#define WINBACK_JOBS_TARGETS_TARGETS_H_

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "jobs/common/time_util.h"

namespace winback {

// A customer's churn status as of the run's as-of time T.
enum class ChurnStatus : uint8_t {
  kActive = 0,          // the churn window of the last purchase is still open
  kChurned = 1,         // the window closed without a repurchase
  kNeverPurchased = 2,  // no purchase at all
};

// "active", "churned", "never_purchased".
std::string_view ChurnStatusName(ChurnStatus s);
// Inverse of ChurnStatusName; nullopt for anything else.
std::optional<ChurnStatus> ParseChurnStatus(std::string_view name);

struct Campaign {
  std::string name;                   // unique, non-empty
  std::vector<std::string> segments;  // segment names taken; empty = any
  std::vector<ChurnStatus> statuses;  // statuses taken; empty = any
  // Inclusive churn-score range, 0 <= min_score <= max_score <= 1.
  double min_score = 0;
  double max_score = 1;
  // IDR, >= 0: customers whose revenue at risk (churn score x expected
  // spend) is below this are not taken. 0 takes everyone.
  double min_revenue_at_risk = 0;
  std::string promo_code;
  double discount_pct = 0;     // 0..100
  int64_t max_size = 0;        // rows kept in the list; 0 = unlimited
  double holdout_share = 0.1;  // 0..1, share of the list held out
  int priority = 100;          // lower number = higher priority
  std::string description;
  // A contact cap: customers on this campaign's list (either group) in an
  // earlier run whose as-of time lies within this window before the run's
  // are not listed again (BuildTargets' `recent`). >= 0; 0 disables.
  Micros suppress_listed_within = 0;
};

// The campaigns a retail marketing team starts from: keep-at-risk-loyal,
// win-back-lapsed-high-value and second-purchase (see targets.cc for the
// exact filters, codes and sizes).
std::vector<Campaign> DefaultCampaigns();

struct Suppression {
  // Customers whose last purchase lies in (as_of - bought_within, as_of] (or
  // later) are left out of every campaign. 0 disables the rule.
  Micros bought_within = 7 * kMicrosPerDay;
};

struct TargetOptions {
  std::vector<Campaign> campaigns = DefaultCampaigns();
  Suppression suppression;

  // Fails with InvalidArgument naming the campaign and the field, e.g.
  // `campaign "second-purchase": holdout_share must be in [0, 1], got 1.5`.
  // Checks: non-empty unique names, scores within [0, 1] with
  // min_score <= max_score, a finite min_revenue_at_risk >= 0, discount_pct
  // in [0, 100], max_size >= 0, holdout_share in [0, 1], non-empty segment
  // names, suppress_listed_within >= 0 and suppression.bought_within >= 0.
  absl::Status Validate() const;
};

// Fails with InvalidArgument when a campaign names a segment that is not in
// `known_segments` (e.g. the run's segment rule names); catches config typos
// that would otherwise silently empty a list.
absl::Status CheckCampaignSegments(
    const TargetOptions& options,
    const std::vector<std::string>& known_segments);

// For each campaign with a suppress_listed_within window: the customers it
// listed (treatment or holdout) in the published runs whose as-of time lies
// in [as_of - window, as_of). Campaigns without a window are not looked up.
using RecentListings =
    absl::flat_hash_map<std::string, absl::flat_hash_set<int64_t>>;

// CandidateTable::last_purchase_at of a customer who never bought.
inline constexpr Micros kNoPurchase = std::numeric_limits<Micros>::min();

// One row per customer considered, as parallel columns.
struct CandidateTable {
  std::vector<int64_t> customer_id;  // unique
  std::vector<std::string> segment;  // "" when the customer has none
  std::vector<ChurnStatus> status;
  // Churn probability for active customers; 1.0 for churned ones. In [0, 1].
  std::vector<double> churn_score;
  // IDR, average spend per active month over the last 12 months; >= 0.
  std::vector<double> expected_spend;
  std::vector<Micros> last_purchase_at;  // kNoPurchase when never bought
  // Free text, e.g. "recency_days +1.2; cart_abandon_share +0.8".
  std::vector<std::string> reasons;

  size_t size() const { return customer_id.size(); }
};

// The target lists of all campaigns, as parallel columns. Rows are ordered by
// campaign (priority, then name), then revenue_at_risk descending, then
// customer_id ascending.
struct TargetTable {
  std::vector<int64_t> customer_id;
  std::vector<std::string> campaign;
  std::vector<std::string> segment;
  std::vector<double> churn_score;
  std::vector<double> revenue_at_risk;  // churn_score * expected_spend, IDR
  std::vector<uint8_t> holdout;         // 1 = holdout (control), 0 = treatment
  std::vector<std::string> reasons;
  std::vector<std::string> promo_code;

  size_t size() const { return customer_id.size(); }
};

// A customer on no list because a campaign's contact cap holds them: they
// still match `campaign`, which listed them recently.
struct ContactHold {
  int64_t customer_id = 0;
  std::string campaign;

  bool operator==(const ContactHold&) const = default;
};

// What happened to one campaign's audience. Counts satisfy
//   matched = suppressed + eligible
//   eligible = preempted + capped + assigned
//   assigned = treatment + holdout.
struct CampaignSummary {
  std::string name;
  int64_t matched = 0;     // candidates passing the campaign's filters
  int64_t suppressed = 0;  // of those, left out by suppression
  // Of the suppressed, those left out because this campaign listed them
  // recently (suppress_listed_within).
  int64_t recently_listed = 0;
  int64_t eligible = 0;    // matched and not suppressed
  int64_t preempted = 0;   // eligible but claimed by a higher-priority campaign
  int64_t capped = 0;      // dropped by max_size
  int64_t assigned = 0;    // rows in the list
  int64_t treatment = 0;
  int64_t holdout = 0;
  double revenue_at_risk = 0;  // sum over the list, IDR
  double avg_score = 0;        // mean churn score over the list; 0 if empty
  std::string promo_code;
  double discount_pct = 0;
  int priority = 0;
  std::string description;
};

// Builds the target lists as of `as_of`:
//  1. Suppression: customers who bought within suppression.bought_within
//     before as_of are excluded from every campaign (counted per campaign as
//     `suppressed`). A campaign with suppress_listed_within does not list
//     again the customers `recent` has for it; it still holds them (counted
//     as `suppressed` and `recently_listed`), so lower-priority campaigns
//     count them as preempted and do not contact them instead, while a
//     higher-priority campaign still takes them.
//  2. revenue at risk = churn_score * expected_spend. A campaign matches a
//     customer whose segment, status, churn score and revenue at risk pass
//     its filters.
//  3. Each remaining customer goes to the ONE eligible campaign with the
//     lowest priority number. The spec breaks priority ties by revenue at
//     risk, but that figure does not depend on the campaign, so a tie cannot
//     be broken by it; ties go to the campaign whose name sorts first.
//  4. Within a campaign, rows are ordered by revenue at risk descending, then
//     customer_id; max_size keeps the top rows. Rows dropped by the cap are
//     counted as `capped` and do NOT fall through to a lower-priority
//     campaign: a campaign's audience does not change when another campaign's
//     size changes, and a capped customer stays out of all lists this run.
//  5. Holdout (InHoldout) is decided after capping.
// Summaries come in the same campaign order as the rows. When `holds` is
// given it receives the customers held by a contact cap, in candidate order.
// Fails with
// InvalidArgument on invalid options, columns of different lengths, a
// repeated customer_id, or a churn score outside [0, 1] / a negative or
// non-finite expected spend.
absl::StatusOr<std::pair<TargetTable, std::vector<CampaignSummary>>>
BuildTargets(const CandidateTable& candidates, Micros as_of,
             const TargetOptions& options, const RecentListings& recent = {},
             std::vector<ContactHold>* holds = nullptr);

// 64-bit FNV-1a of `bytes` (offset basis 0xcbf29ce484222325, prime
// 0x100000001b3). Fnv1a64("a") == 0xaf63dc4c8601ec8c.
uint64_t Fnv1a64(std::string_view bytes);

// The splitmix64 finalizer: a bijection that spreads every input bit.
uint64_t Mix64(uint64_t x);

// Whether `customer_id` is in `campaign`'s holdout group: true when
// h / 2^64 < holdout_share with h = Mix64(Fnv1a64(decimal customer_id +
// '\x1f' + campaign)), Mix64 being the splitmix64 finalizer (FNV-1a alone
// mixes its last input bytes poorly into the top bits, so names such as
// "winback-1" and "winback-2" would get nearly the same group). The fraction
// uses the top 53 bits of h, so it lies in [0, 1) exactly: share 0 holds out
// nobody and share 1 everybody. The answer depends only on the arguments, so
// the same customers are held out every night whoever else is in the list.
bool InHoldout(int64_t customer_id, std::string_view campaign,
               double holdout_share);

}  // namespace winback

#endif  // WINBACK_JOBS_TARGETS_TARGETS_H_
