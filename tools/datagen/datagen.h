// The synthetic Fashion Campus export (see /work/shared/spec/data.md).
//
// GenerateDataset() writes customer.csv, product.csv, transactions.csv and
// click_stream.csv into an output directory, in the real export's layout and
// with its quirks: Python-literal metadata, product names with unquoted
// commas, click rows out of time order, session_ids that span days and hold
// several real sessions ("pieces"), about 5% of session_ids without a
// booking. The output is a pure function of (seed, customers, bad_rows):
// same inputs, byte-identical files. Injected bad rows are extra rows; the
// valid rows do not depend on bad_rows.
//
// With `truth`, it also writes what it planted into <out>/truth/ (from its
// own plan, not by re-reading the CSVs), so tests can check the pipeline:
//   purchases.csv  customer_id,created_at_us,total_amount,promo_code   one
//                  row per valid successful booking, by created_at
//   sessions.csv   session_id,customer_id,pieces   every session_id, its
//                  customer (empty if none) and its number of real sessions
//                  under the 30-minute rule
//   summary.json   the DatagenSummary below
#ifndef WINBACK_TOOLS_DATAGEN_DATAGEN_H_
#define WINBACK_TOOLS_DATAGEN_DATAGEN_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "jobs/common/time_util.h"

namespace winback::datagen {

struct DatagenOptions {
  // Number of customers; everything else scales with it. 100000 is the size
  // of the real export, 5000 the demo.
  int64_t customers = 5000;
  uint64_t seed = 42;
  // Created if missing. Existing files of the same names are overwritten.
  std::string out_dir;
  // Extra malformed rows injected into each file, of rotating kinds.
  int64_t bad_rows = 0;
  // Also write <out_dir>/truth/.
  bool truth = false;

  // InvalidArgument naming the offending option.
  absl::Status Validate() const;
};

// Kinds of injected bad rows. Not every file gets every kind: product.csv has
// no timestamp and customer.csv / product.csv have no metadata.
enum class BadRowKind : int {
  kShortRow = 0,      // fewer fields than the header
  kBadTimestamp = 1,  // e.g. 2022-13-45T99:00:00Z (a bad date in customer.csv)
  kBadMetadata = 2,   // an unbalanced Python literal
  kBadId = 3,         // a non-numeric integer id or a malformed UUID
};
inline constexpr int kBadRowKindCount = 4;
// "short_row", "bad_timestamp", "bad_metadata", "bad_id".
const char* BadRowKindName(BadRowKind kind);

struct FileStats {
  std::string name;  // e.g. "transactions.csv"
  int64_t valid_rows = 0;
  int64_t bad_rows = 0;
  std::array<int64_t, kBadRowKindCount> bad_rows_by_kind{};
  // 1-based line numbers of the injected rows (the header is line 1).
  std::vector<int64_t> bad_lines;
  int64_t bytes = 0;
};

// One calendar month (UTC) of successful bookings.
struct MonthStats {
  MonthIndex month = 0;
  int64_t orders = 0;
  int64_t buyers = 0;
  int64_t revenue = 0;  // sum of total_amount, IDR
};

// Event names in click_stream.csv, in the order of DatagenSummary::events.
inline constexpr int kEventNameCount = 9;
extern const char* const kEventNames[kEventNameCount];

struct DatagenSummary {
  uint64_t seed = 0;
  int64_t scale_customers = 0;
  FileStats customer, product, transactions, click_stream;
  int64_t repaired_product_rows = 0;  // product rows with unquoted commas
  int64_t products = 0;
  int64_t customers = 0;
  int64_t customers_with_purchase = 0;
  int64_t bookings = 0;
  int64_t successful_bookings = 0;
  int64_t click_events = 0;
  std::array<int64_t, kEventNameCount> events_by_name{};
  int64_t session_ids = 0;
  int64_t session_ids_without_booking = 0;
  int64_t pieces = 0;                     // real sessions after re-splitting
  int64_t pieces_linked_to_customer = 0;  // pieces of booked session_ids
  Micros first_event_time = 0;            // over valid click rows
  Micros last_event_time = 0;
  Micros first_booking_time = 0;  // created_at over valid bookings
  Micros last_booking_time = 0;
  std::vector<MonthStats> months;  // every month with a successful booking
};

// Writes the dataset (and truth files when asked). Returns what was written.
absl::StatusOr<DatagenSummary> GenerateDataset(const DatagenOptions& options);

// The summary as a JSON object (the truth/summary.json content).
std::string SummaryToJson(const DatagenSummary& summary);

}  // namespace winback::datagen

#endif  // WINBACK_TOOLS_DATAGEN_DATAGEN_H_
