// The typed, column-oriented tables that flow between pipeline stages.
//
// Each table is a struct of parallel std::vector columns (row i is element i
// of every column). Ids that repeat (session ids, locations, promo codes) are
// interned once at ingest into a StringPool and stored as dense uint32 ids.
// Times are UTC microseconds (winback::Micros), dates are days since the
// epoch, months are winback::MonthIndex. Tables own their data and are
// movable, not copyable.
#ifndef WINBACK_JOBS_TABLES_TABLES_H_
#define WINBACK_JOBS_TABLES_TABLES_H_

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "jobs/common/string_pool.h"
#include "jobs/common/time_util.h"

namespace winback {

// click_stream.csv event_name values. The numeric values are stable: they
// are the bits of SessionTable::event_types and are stored in the database.
enum class EventType : uint8_t {
  kHomepage = 0,
  kSearch = 1,
  kItemDetail = 2,
  kAddToCart = 3,
  kAddPromo = 4,
  kBooking = 5,
  kClick = 6,
  kScroll = 7,
  kPromoPage = 8,
};
inline constexpr int kEventTypeCount = 9;

// The CSV spelling, e.g. "ADD_TO_CART".
std::string_view EventTypeName(EventType t);
// Inverse of EventTypeName; nullopt for an unknown name.
std::optional<EventType> ParseEventType(std::string_view name);

enum class TrafficSource : uint8_t { kMobile = 0, kWeb = 1 };
std::string_view TrafficSourceName(TrafficSource s);
std::optional<TrafficSource> ParseTrafficSource(std::string_view name);

enum class Gender : uint8_t { kUnknown = 0, kFemale = 1, kMale = 2 };
enum class DeviceType : uint8_t { kUnknown = 0, kAndroid = 1, kIos = 2 };

// A 128-bit UUID. Ordering is numeric, which equals the lexicographic order
// of the canonical lowercase text form.
struct Uuid {
  uint64_t hi = 0;
  uint64_t lo = 0;
  friend auto operator<=>(const Uuid&, const Uuid&) = default;
};
// Parses the canonical 8-4-4-4-12 hex form (either case); nullopt otherwise.
std::optional<Uuid> ParseUuid(std::string_view text);
// Canonical lowercase text form.
std::string FormatUuid(const Uuid& u);

inline constexpr int64_t kNoCustomer = -1;
inline constexpr int32_t kNoDate = INT32_MIN;

// customer.csv. Personal fields the pipeline never uses (names, email,
// username, device ids, coordinates) are validated but not kept.
struct CustomerTable {
  std::vector<int64_t> customer_id;
  std::vector<Gender> gender;
  std::vector<int32_t> birthdate;        // days since epoch, kNoDate if empty
  std::vector<DeviceType> device_type;
  std::vector<uint32_t> home_location;   // id in `locations`
  std::vector<int32_t> first_join_date;  // days since epoch
  StringPool locations;
  absl::flat_hash_map<int64_t, uint32_t> row_of;  // customer_id -> row

  size_t size() const { return customer_id.size(); }
};

// product.csv. Category-like columns are ids in `values`; id 0 is "".
struct ProductTable {
  std::vector<int64_t> product_id;
  std::vector<uint32_t> gender;
  std::vector<uint32_t> master_category;
  std::vector<uint32_t> sub_category;
  std::vector<uint32_t> article_type;
  std::vector<uint32_t> base_colour;
  std::vector<uint32_t> season;
  std::vector<int32_t> year;             // 0 when empty
  std::vector<uint32_t> usage;
  std::vector<uint32_t> display_name;    // id in `names`
  StringPool values;
  StringPool names;

  size_t size() const { return product_id.size(); }
};

// transactions.csv: one row per booking, in file order.
struct BookingTable {
  std::vector<Micros> created_at;
  std::vector<int64_t> customer_id;
  std::vector<uint32_t> session;         // id in Dataset::session_ids
  std::vector<uint32_t> payment_method;  // id in `payment_methods`
  std::vector<uint8_t> success;          // 1 when payment_status == Success
  std::vector<int64_t> promo_amount;     // IDR
  std::vector<uint32_t> promo_code;      // id in `promo_codes`; id 0 is ""
  std::vector<int64_t> shipment_fee;     // IDR
  std::vector<int64_t> total_amount;     // IDR
  // Product lines in CSR layout: the lines of booking i are
  // [line_begin[i], line_begin[i + 1]). line_begin has size() + 1 entries.
  std::vector<uint32_t> line_begin{0};
  std::vector<int64_t> line_product_id;
  std::vector<int32_t> line_quantity;
  std::vector<int64_t> line_item_price;  // IDR per unit
  StringPool payment_methods;
  StringPool promo_codes;

  size_t size() const { return created_at.size(); }
};

// click_stream.csv, in file order (which is not time order). Event metadata
// is validated at ingest but not kept.
struct ClickTable {
  std::vector<uint32_t> session;         // id in Dataset::session_ids
  std::vector<Micros> event_time;
  std::vector<Uuid> event_id;
  std::vector<EventType> event_type;
  std::vector<TrafficSource> traffic_source;
  // Where the rows came from, for reports about rows found bad after
  // ingest: a run of consecutive rows on consecutive lines starts at row
  // `row` on line `line` (1-based; the header is line 1). Ordered by row; a
  // new run starts only where rejected rows or blank lines were skipped, so
  // a clean file has one. Empty for a table built in memory.
  struct LineRun {
    size_t row;
    int64_t line;
  };
  std::vector<LineRun> line_runs;

  size_t size() const { return session.size(); }
  // The file line of row `row` (< size()); with no line_runs, row + 2, the
  // line it would have in a file without skipped lines.
  int64_t LineOf(size_t row) const;
};

// What ingest did with one file: rows read, rejected (skipped) and repaired,
// with a count and the first few line numbers (1-based, the header is line 1)
// per reason.
struct FileReport {
  struct Reason {
    std::string reason;
    int64_t count = 0;
    std::vector<int64_t> first_lines;  // at most kMaxLinesPerReason
  };
  static constexpr size_t kMaxLinesPerReason = 5;

  std::string file;          // e.g. "click_stream.csv"
  int64_t rows_read = 0;     // data rows, excluding the header
  int64_t rows_rejected = 0;
  int64_t rows_repaired = 0;
  std::vector<Reason> rejects;  // sorted by reason
  std::vector<Reason> repairs;  // sorted by reason
};

struct IngestReport {
  std::vector<FileReport> files;  // customer, product, transactions, click_stream
};

// Everything ingest reads from one export directory.
struct Dataset {
  CustomerTable customers;
  ProductTable products;
  BookingTable bookings;
  ClickTable clicks;
  StringPool session_ids;  // shared by bookings.session and clicks.session
  IngestReport report;
};

// Real sessions after re-splitting session_ids at the inactivity gap. Rows
// are ordered by (session id, piece).
struct SessionTable {
  std::vector<uint32_t> session;       // id in Dataset::session_ids
  std::vector<uint32_t> piece;         // k in "<session_id>#<k>", from 1
  std::vector<int64_t> customer_id;    // kNoCustomer when no booking links it
  std::vector<Micros> start;
  std::vector<Micros> end;             // duration is end - start
  std::vector<uint32_t> event_count;
  // Bit t is set when the session has an event of type t (EventType value).
  std::vector<uint16_t> event_types;
  std::vector<TrafficSource> traffic_source;  // of the first event
  std::vector<EventType> last_event;

  // A session that runs past the last microsecond `tau` of a calendar month
  // (UTC) as it was at tau: features as of a month's end may not see the
  // events after it. `end` and `last_event` are those of its last event at
  // or before tau. One per session and month end it runs past, ordered by
  // session row; empty for a table built in memory without them.
  struct MonthEndCut {
    uint32_t row;
    Micros tau;
    Micros end;
    EventType last_event;
  };
  std::vector<MonthEndCut> month_end_cuts;

  // The count of each event type (indexed by EventType value) of every
  // session that holds some type more than once, i.e. whose event_count is
  // above the number of bits set in its event_types; ordered by row. Any
  // other session holds each type of its event_types once. Most sessions
  // hold one event: on the full-size data 535k of 9.37M sessions are
  // listed (21 MB), where a count column per type would take 85-340 MB. A
  // table built in memory must list its sessions with repeated types too.
  struct RepeatedTypes {
    uint32_t row;
    std::array<uint32_t, kEventTypeCount> count;
    bool operator==(const RepeatedTypes&) const = default;
  };
  std::vector<RepeatedTypes> repeated_types;

  size_t size() const { return session.size(); }
  bool Has(size_t row, EventType type) const {
    return (event_types[row] >> static_cast<int>(type)) & 1;
  }
  // How many events of `type` the session at `row` holds.
  uint32_t Count(size_t row, EventType type) const;
};

// Churn labels, one row per (customer, month with a purchase), ordered by
// (customer_id, month).
struct LabelTable {
  std::vector<int64_t> customer_id;
  std::vector<MonthIndex> month;
  std::vector<Micros> last_purchase_at;  // last successful booking in month
  std::vector<uint8_t> churned;          // 0 when censored
  std::vector<uint8_t> censored;

  size_t size() const { return customer_id.size(); }
};

// Removes the customers not yet known at `as_of`: first_join_date after
// as_of's UTC date and no booking at or before as_of (a booking before the
// join date is kept, as it is evidence the customer existed). Keeps the
// other rows in order, rebuilds row_of, and returns how many were removed.
// Only a backfill's as-of time can be before a join date.
int64_t DropCustomersJoinedAfter(Micros as_of, const BookingTable& bookings,
                                 CustomerTable* customers);

}  // namespace winback

#endif  // WINBACK_JOBS_TABLES_TABLES_H_
