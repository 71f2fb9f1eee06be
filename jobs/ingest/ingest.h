// Stage 1 of the nightly run: reads the four export CSVs (data.md) into the
// column tables of jobs/tables/tables.h.
//
// Every reader follows the same contract:
// - The header row must equal the documented header exactly (after removing
//   a UTF-8 byte order mark and a trailing '\r'); otherwise InvalidArgument
//   naming the file, line 1, the expected and the found header.
// - Rows are physical lines ('\n' or "\r\n"); a final line end is optional.
//   Fields are comma separated with '"' quoting and '""' escapes. A quoted
//   field cannot hold a line break: such a row is rejected.
// - A bad row is skipped and counted in the FileReport under the first
//   problem found (in column order): wrong_field_count, bad_timestamp,
//   bad_date, bad_id, bad_metadata, bad_value, duplicate_id. Line numbers are
//   1-based with the header as line 1. Rejected rows never reach the tables
//   or their string pools.
// - A kept row that needed a repair is counted, with its line, under the
//   repair's name (joined_product_name, session_id_case); repaired rows are
//   not rejected and do not count toward the bad-row share.
// - When rows_rejected / rows_read exceeds options.max_bad_row_share the call
//   fails with InvalidArgument naming the file, the share, the threshold and
//   the first bad lines with reasons; the report is still filled in. On
//   success every good row is kept, in file order.
// - Rows are appended to `*out`, which is normally empty; after a failure
//   it may hold some of the rows.
#ifndef WINBACK_JOBS_INGEST_INGEST_H_
#define WINBACK_JOBS_INGEST_INGEST_H_

#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "jobs/common/string_pool.h"
#include "jobs/tables/tables.h"

namespace winback {

// 2000-01-01T00:00:00Z: no event of this platform is older.
inline constexpr Micros kEarliestEventTime = 946'684'800'000'000;

struct IngestOptions {
  // Per file: a larger share of rejected rows fails the ingest.
  double max_bad_row_share = 0.01;
  // Parallel parser threads for click_stream.csv.
  int threads = 2;
  // Event times (click event_time, booking created_at) outside
  // [kEarliestEventTime, latest_event_time] are rejected as bad_timestamp:
  // one mistyped year (2099, 0000) would otherwise become the run's default
  // as-of time or add centuries of empty months. The pipeline sets this to a
  // day past the run's start.
  Micros latest_event_time = std::numeric_limits<Micros>::max();
  // For tests: called once IngestDirectory has mapped all four files, before
  // any is parsed, to change the files underneath.
  std::function<void()> after_mapping;

  // InvalidArgument naming the field unless 0 <= max_bad_row_share <= 1,
  // 1 <= threads <= 256 and latest_event_time >= kEarliestEventTime.
  absl::Status Validate() const;
};

// The exact header rows.
inline constexpr char kCustomerHeader[] =
    "customer_id,first_name,last_name,username,email,gender,birthdate,"
    "device_type,device_id,device_version,home_location_lat,"
    "home_location_long,home_location,home_country,first_join_date";
inline constexpr char kProductHeader[] =
    "id,gender,masterCategory,subCategory,articleType,baseColour,season,year,"
    "usage,productDisplayName";
inline constexpr char kTransactionHeader[] =
    "created_at,customer_id,booking_id,session_id,product_metadata,"
    "payment_method,payment_status,promo_amount,promo_code,shipment_fee,"
    "shipment_date_limit,shipment_location_lat,shipment_location_long,"
    "total_amount";
inline constexpr char kClickHeader[] =
    "session_id,event_name,event_time,event_id,traffic_source,event_metadata";

// Reads customer.csv, product.csv, transactions.csv and click_stream.csv
// from directory `dir` (in that order, so session ids are numbered in order
// of first appearance in transactions.csv, then click_stream.csv). Files are
// memory mapped, all four before any is parsed (an export renamed into place
// during ingest is not read in part); pages of click_stream.csv are dropped
// from the resident set as they are parsed. A missing file fails with NotFound
// naming it. The returned Dataset holds the four reports in the order above.
// When ingest fails and `failed_report` is given, it receives the reports as
// far as they got (a file whose bad-row share was too high has its full
// counts), so the failure can be explained. A file that changes while it is
// read (rewritten in place, or cut short) fails the ingest with Aborted naming
// it, whatever its text parsed to, and its report is left empty: counts of text
// that changed underneath mean nothing.
absl::StatusOr<Dataset> IngestDirectory(const std::string& dir,
                                        const IngestOptions& options,
                                        IngestReport* failed_report = nullptr);

// customer.csv: customer_id (an integer > 0, else bad_id; repeated,
// duplicate_id for the later row), gender F/M/empty (else bad_value),
// birthdate (date or empty, else bad_date), device_type Android/iOS/empty
// (else bad_value), home_location_lat/long (empty, or a finite number of
// degrees with |lat| <= 90 and |long| <= 180, else bad_value: nan and inf
// are no place), home_location (interned), first_join_date (date, else
// bad_date). Fills out->row_of.
absl::Status ParseCustomers(std::string_view text, std::string_view file_name,
                            const IngestOptions& options, CustomerTable* out,
                            FileReport* report);

// product.csv: id (an integer > 0, else bad_id; repeated, duplicate_id),
// year (int or empty -> 0, else bad_value); the category columns and the
// display name are interned as they are, with "" interned first in both
// pools (id 0). A row with more than 10 fields has unquoted commas in
// productDisplayName, the last column: its trailing fields are joined with
// "," into the name and the repair is counted as joined_product_name.
absl::Status ParseProducts(std::string_view text, std::string_view file_name,
                           const IngestOptions& options, ProductTable* out,
                           FileReport* report);

// transactions.csv: created_at (a timestamp in the options' event time
// range) and shipment_date_limit (a timestamp), else bad_timestamp;
// customer_id (an integer > 0, else bad_id), booking_id and session_id
// (UUIDs, else bad_id; session_id pooled in `session_ids` as its canonical
// lowercase text, so its case does not matter: see ParseClicks; a kept row
// whose session_id has an uppercase digit is counted as session_id_case),
// product_metadata (a list of dicts with int product_id > 0, quantity >= 1
// and item_price >= 0, else bad_metadata), payment_method (non-empty,
// interned), payment_status Success/Failed,
// promo_amount/shipment_fee/total_amount (integers >= 0),
// shipment_location_lat/long (finite numbers of degrees, |lat| <= 90,
// |long| <= 180); else bad_value. promo_code is interned with "" first
// (id 0). total_amount is kept as written even when it disagrees with the
// lines. A booking_id seen in an earlier kept row (as a UUID, whatever its
// case) is duplicate_id.
absl::Status ParseBookings(std::string_view text, std::string_view file_name,
                           const IngestOptions& options,
                           StringPool* session_ids, BookingTable* out,
                           FileReport* report);

// Called with pieces of the text a parser will not read again.
using ReleaseFn = std::function<void(std::string_view done)>;

// click_stream.csv, parsed in options.threads pieces split at line
// boundaries. session_id (UUID, else bad_id; pooled in `session_ids` as
// its canonical lowercase text, in order of first appearance: a session_id
// is identified by its UUID value, so one written in another case here or
// in transactions.csv is the same session_id; texts other than canonical
// UUIDs already in the pool match nothing; a kept row whose session_id has an
// uppercase digit is counted as session_id_case), event_name (else bad_value),
// event_time (a timestamp in the options' event time range, else
// bad_timestamp), event_id (UUID, else bad_id), traffic_source (else
// bad_value), event_metadata: for ADD_TO_CART a dict with int product_id,
// quantity and item_price; for BOOKING a string payment_status; for SEARCH a
// string search_keywords; for ADD_PROMO a string promo_code and an int
// promo_amount; for the other events empty or any valid literal; else
// bad_metadata. The result does not depend on the number of threads.
// out->line_runs maps the rows to their file lines.
// Repeated event_ids are not looked for here (a set of the full export's
// 12.7 million ids costs too much time and memory): Sessionize finds rows
// that repeat an earlier row's session_id, event_time and event_id, and
// AddDuplicateRows counts them into `report` (a copy counted as
// session_id_case here stays counted as repaired too). `release`, when set,
// is called from the parser threads with parsed pieces of `text` (disjoint,
// each at most once).
// `before_pool`, when set, is called once the rows are parsed and before
// `session_ids` is first touched (an error from it is returned as is): it
// lets the caller fill the pool from another file meanwhile.
absl::Status ParseClicks(
    std::string_view text, std::string_view file_name,
    const IngestOptions& options, StringPool* session_ids, ClickTable* out,
    FileReport* report, const ReleaseFn& release = nullptr,
    const std::function<absl::Status()>& before_pool = nullptr);

// Counts `count` rows of the file of `report` that were found after ingest
// to repeat an earlier row (click_stream.csv rows dropped by Sessionize) as
// rejected under duplicate_id, with `first_lines` (their first line
// numbers, ascending) merged into the reason's first lines. Then applies
// options.max_bad_row_share again, failing with the message ingest would
// have given when the share is now above it. Nothing changes for count 0.
absl::Status AddDuplicateRows(int64_t count,
                              const std::vector<int64_t>& first_lines,
                              const IngestOptions& options, FileReport* report);

}  // namespace winback

#endif  // WINBACK_JOBS_INGEST_INGEST_H_
