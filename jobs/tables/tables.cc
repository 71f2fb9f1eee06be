#include "jobs/tables/tables.h"

#include <algorithm>
#include <bit>
#include <cstdio>

namespace winback {
namespace {

constexpr std::string_view kEventNames[kEventTypeCount] = {
    "HOMEPAGE", "SEARCH", "ITEM_DETAIL", "ADD_TO_CART", "ADD_PROMO",
    "BOOKING",  "CLICK",  "SCROLL",      "PROMO_PAGE"};

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string_view EventTypeName(EventType t) {
  return kEventNames[static_cast<int>(t)];
}

std::optional<EventType> ParseEventType(std::string_view name) {
  // The length (and for two lengths one letter) picks the only candidate;
  // one comparison confirms it. This runs once per click event.
  EventType candidate;
  switch (name.size()) {
    case 5:
      candidate = EventType::kClick;
      break;
    case 6:
      candidate = name[1] == 'E' ? EventType::kSearch : EventType::kScroll;
      break;
    case 7:
      candidate = EventType::kBooking;
      break;
    case 8:
      candidate = EventType::kHomepage;
      break;
    case 9:
      candidate = EventType::kAddPromo;
      break;
    case 10:
      candidate = EventType::kPromoPage;
      break;
    case 11:
      candidate = name[0] == 'I' ? EventType::kItemDetail : EventType::kAddToCart;
      break;
    default:
      return std::nullopt;
  }
  if (name != kEventNames[static_cast<int>(candidate)]) return std::nullopt;
  return candidate;
}

std::string_view TrafficSourceName(TrafficSource s) {
  return s == TrafficSource::kWeb ? "WEB" : "MOBILE";
}

std::optional<TrafficSource> ParseTrafficSource(std::string_view name) {
  if (name == "MOBILE") return TrafficSource::kMobile;
  if (name == "WEB") return TrafficSource::kWeb;
  return std::nullopt;
}

std::optional<Uuid> ParseUuid(std::string_view s) {
  if (s.size() != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' ||
      s[23] != '-') {
    return std::nullopt;
  }
  Uuid u;
  int nibbles = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) continue;  // the dashes
    const int v = HexValue(s[i]);
    if (v < 0) return std::nullopt;
    uint64_t& word = nibbles < 16 ? u.hi : u.lo;
    word = (word << 4) | static_cast<uint64_t>(v);
    ++nibbles;
  }
  return u;
}

int64_t ClickTable::LineOf(size_t row) const {
  // The last run starting at or before `row`.
  const auto after = std::upper_bound(
      line_runs.begin(), line_runs.end(), row,
      [](size_t r, const LineRun& run) { return r < run.row; });
  if (after == line_runs.begin()) return static_cast<int64_t>(row) + 2;
  const LineRun& run = *(after - 1);
  return run.line + static_cast<int64_t>(row - run.row);
}

uint32_t SessionTable::Count(size_t row, EventType type) const {
  if (!Has(row, type)) return 0;
  if (event_count[row] ==
      static_cast<uint32_t>(std::popcount(event_types[row]))) {
    return 1;
  }
  const auto it = std::lower_bound(
      repeated_types.begin(), repeated_types.end(), row,
      [](const RepeatedTypes& r, size_t row) { return r.row < row; });
  // Not listed only in a table built without its repeated types: each type
  // it has is then known to occur at least once.
  if (it == repeated_types.end() || it->row != row) return 1;
  return it->count[static_cast<int>(type)];
}

std::string FormatUuid(const Uuid& u) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%08llx-%04llx-%04llx-%04llx-%012llx",
                static_cast<unsigned long long>(u.hi >> 32),
                static_cast<unsigned long long>((u.hi >> 16) & 0xffff),
                static_cast<unsigned long long>(u.hi & 0xffff),
                static_cast<unsigned long long>(u.lo >> 48),
                static_cast<unsigned long long>(u.lo & 0xffffffffffffULL));
  return buf;
}

int64_t DropCustomersJoinedAfter(Micros as_of, const BookingTable& bookings,
                                 CustomerTable* customers) {
  CustomerTable& c = *customers;
  const int64_t as_of_day = as_of / kMicrosPerDay;  // as_of is after 2000
  std::vector<uint8_t> keep(c.size(), 1);
  bool any_late = false;
  for (size_t r = 0; r < c.size(); ++r) {
    if (c.first_join_date[r] > as_of_day) keep[r] = 0, any_late = true;
  }
  if (!any_late) return 0;  // every nightly run: nothing to do
  for (size_t b = 0; b < bookings.size(); ++b) {
    if (bookings.created_at[b] > as_of) continue;
    auto it = c.row_of.find(bookings.customer_id[b]);
    if (it != c.row_of.end()) keep[it->second] = 1;
  }
  size_t w = 0;
  for (size_t r = 0; r < c.size(); ++r) {
    if (!keep[r]) continue;
    c.customer_id[w] = c.customer_id[r];
    c.gender[w] = c.gender[r];
    c.birthdate[w] = c.birthdate[r];
    c.device_type[w] = c.device_type[r];
    c.home_location[w] = c.home_location[r];
    c.first_join_date[w] = c.first_join_date[r];
    ++w;
  }
  const int64_t removed = static_cast<int64_t>(c.size() - w);
  c.customer_id.resize(w);
  c.gender.resize(w);
  c.birthdate.resize(w);
  c.device_type.resize(w);
  c.home_location.resize(w);
  c.first_join_date.resize(w);
  c.row_of.clear();
  for (size_t r = 0; r < w; ++r) {
    c.row_of[c.customer_id[r]] = static_cast<uint32_t>(r);
  }
  return removed;
}

}  // namespace winback
