#include "jobs/ingest/ingest.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "jobs/common/parallel.h"
#include "jobs/common/status_macros.h"
#include "jobs/ingest/csv.h"
#include "jobs/ingest/fast_path.h"
#include "jobs/ingest/literal.h"
#include "jobs/ingest/mapped_file.h"

namespace winback {

using ingest_internal::CanonicalClickMetadata;
using ingest_internal::CanonicalProductLines;
using ingest_internal::ConsumeHeader;
using ingest_internal::FastTimestamp;
using ingest_internal::FastUuid;
using ingest_internal::FieldSplitter;
using ingest_internal::kClickFields;
using ingest_internal::LineReader;
using ingest_internal::ParseDouble;
using ingest_internal::ParseInt64;
using ingest_internal::ProductLine;
using ingest_internal::Reject;
using ingest_internal::Repair;
using ingest_internal::RowLog;
using ingest_internal::SplitPlainClickRow;

absl::Status IngestOptions::Validate() const {
  if (!(max_bad_row_share >= 0.0 && max_bad_row_share <= 1.0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_bad_row_share must be in [0, 1], got ", max_bad_row_share));
  }
  if (threads < 1 || threads > 256) {
    return absl::InvalidArgumentError(
        absl::StrCat("threads must be in [1, 256], got ", threads));
  }
  if (latest_event_time < kEarliestEventTime) {
    return absl::InvalidArgumentError(
        absl::StrCat("latest_event_time must not be before 2000-01-01, got ",
                     latest_event_time, " us"));
  }
  return absl::OkStatus();
}

namespace {

// A row's fields: the first problem found, or nothing.
using RowResult = std::optional<Reject>;

// UUIDs in the export are random, so mixing the two halves is enough.
struct UuidHash {
  size_t operator()(const Uuid& u) const {
    return static_cast<size_t>((u.hi ^ (u.lo * 0x9E3779B97F4A7C15ULL)) *
                               0xC2B2AE3D27D4EB4FULL);
  }
};

constexpr double kMaxLatitude = 90.0;
constexpr double kMaxLongitude = 180.0;

// A latitude or longitude in decimal degrees, at most `limit` from 0. The
// number reader also takes "nan", "inf" and "-inf", which are no place.
bool IsCoordinate(std::string_view s, double limit) {
  double v;
  return ParseDouble(s, &v) && std::isfinite(v) && std::fabs(v) <= limit;
}

// Customer ids are positive: GetCustomer cannot look up 0 or less, and -1
// is kNoCustomer, "no known customer", to the later stages. Product ids are
// held to the same rule (a product of product.csv and an item of a booking):
// 0 or less names no product of the export.
bool ParsePositiveId(std::string_view s, int64_t* out) {
  return ParseInt64(s, out) && *out > 0;
}

void BeginReport(std::string_view file_name, FileReport* report) {
  *report = FileReport();
  report->file = std::string(file_name);
}

absl::Status FinishReport(const RowLog& log, const IngestOptions& options,
                          FileReport* report) {
  log.ToReport(report);
  return ingest_internal::CheckRejectShare(*report, options.max_bad_row_share);
}

// ---------------------------------------------------------------- customers

constexpr int kCustomerFields = 15;

RowResult CustomerRow(std::string_view line, FieldSplitter* splitter,
                      CustomerTable* out) {
  std::string_view f[kCustomerFields];
  if (splitter->Split(line, f, kCustomerFields) != kCustomerFields) {
    return Reject::kWrongFieldCount;
  }
  int64_t id;
  if (!ParsePositiveId(f[0], &id)) return Reject::kBadId;
  if (out->row_of.contains(id)) return Reject::kDuplicateId;
  Gender gender = Gender::kUnknown;
  if (f[5] == "F") {
    gender = Gender::kFemale;
  } else if (f[5] == "M") {
    gender = Gender::kMale;
  } else if (!f[5].empty()) {
    return Reject::kBadValue;
  }
  int32_t birthdate = kNoDate;
  if (!f[6].empty()) {
    const std::optional<int32_t> d = ParseDate(f[6]);
    if (!d.has_value()) return Reject::kBadDate;
    birthdate = *d;
  }
  DeviceType device = DeviceType::kUnknown;
  if (f[7] == "Android") {
    device = DeviceType::kAndroid;
  } else if (f[7] == "iOS") {
    device = DeviceType::kIos;
  } else if (!f[7].empty()) {
    return Reject::kBadValue;
  }
  if ((!f[10].empty() && !IsCoordinate(f[10], kMaxLatitude)) ||
      (!f[11].empty() && !IsCoordinate(f[11], kMaxLongitude))) {
    return Reject::kBadValue;
  }
  const std::optional<int32_t> joined = ParseDate(f[14]);
  if (!joined.has_value()) return Reject::kBadDate;

  out->row_of.emplace(id, static_cast<uint32_t>(out->customer_id.size()));
  out->customer_id.push_back(id);
  out->gender.push_back(gender);
  out->birthdate.push_back(birthdate);
  out->device_type.push_back(device);
  out->home_location.push_back(out->locations.Intern(f[12]));
  out->first_join_date.push_back(*joined);
  return std::nullopt;
}

// ----------------------------------------------------------------- products

constexpr int kProductFields = 10;
constexpr int kMaxProductFields = 64;

RowResult ProductRow(std::string_view line, FieldSplitter* splitter,
                     absl::flat_hash_set<int64_t>* seen, std::string* name_buf,
                     bool* repaired, ProductTable* out) {
  std::string_view f[kMaxProductFields];
  const int n = splitter->Split(line, f, kMaxProductFields);
  if (n < kProductFields || n > kMaxProductFields) {
    return Reject::kWrongFieldCount;
  }
  std::string_view name = f[9];
  *repaired = n > kProductFields;
  if (*repaired) {
    name_buf->clear();
    for (int i = 9; i < n; ++i) {
      if (i > 9) name_buf->push_back(',');
      name_buf->append(f[i]);
    }
    name = *name_buf;
  }
  int64_t id;
  if (!ParsePositiveId(f[0], &id)) return Reject::kBadId;
  if (seen->contains(id)) return Reject::kDuplicateId;
  int64_t year = 0;
  if (!f[7].empty() && (!ParseInt64(f[7], &year) || year < 0 || year > 9999)) {
    return Reject::kBadValue;
  }
  seen->insert(id);
  out->product_id.push_back(id);
  out->gender.push_back(out->values.Intern(f[1]));
  out->master_category.push_back(out->values.Intern(f[2]));
  out->sub_category.push_back(out->values.Intern(f[3]));
  out->article_type.push_back(out->values.Intern(f[4]));
  out->base_colour.push_back(out->values.Intern(f[5]));
  out->season.push_back(out->values.Intern(f[6]));
  out->year.push_back(static_cast<int32_t>(year));
  out->usage.push_back(out->values.Intern(f[8]));
  out->display_name.push_back(out->names.Intern(name));
  return std::nullopt;
}

// ----------------------------------------------------------------- bookings

constexpr int kBookingFields = 14;

// Checks a product_metadata literal and stores its lines in `lines`: false
// unless every item has a product_id > 0 (as product.csv's ids), a quantity
// in [1, INT32_MAX] and an item_price >= 0.
bool ParseProductLines(std::string_view text, Literal* lit,
                       std::vector<ProductLine>* lines) {
  if (!CanonicalProductLines(text, lines)) {
    lines->clear();
    if (!lit->TryParse(text) ||
        lit->kind(lit->root()) != Literal::Kind::kList) {
      return false;
    }
    Literal::NodeId item = lit->FirstChild(lit->root());
    for (uint32_t i = 0; i < lit->size(lit->root());
         ++i, item = lit->Next(item)) {
      const std::optional<int64_t> product = lit->FindInt(item, "product_id");
      const std::optional<int64_t> quantity = lit->FindInt(item, "quantity");
      const std::optional<int64_t> price = lit->FindInt(item, "item_price");
      if (!product || !quantity || !price) return false;
      lines->push_back({*product, *quantity, *price});
    }
  }
  for (const ProductLine& l : *lines) {
    if (l.product_id <= 0 || l.quantity < 1 || l.quantity > INT32_MAX ||
        l.item_price < 0) {
      return false;
    }
  }
  return true;
}

bool ParseMoney(std::string_view s, int64_t* out) {
  return ParseInt64(s, out) && *out >= 0;
}

// An event time that parses and lies in the options' range.
bool PlausibleEventTime(const std::optional<Micros>& t,
                        const IngestOptions& options) {
  return t.has_value() && *t >= kEarliestEventTime &&
         *t <= options.latest_event_time;
}

// `seen`: the booking ids of the rows kept so far; a repeated one is a
// duplicate_id (the same order twice would count its revenue twice).
// `*session_id_case` (for a kept row only) tells whether the session_id was
// written in another case than its canonical lowercase text.
RowResult BookingRow(std::string_view line, const IngestOptions& options,
                     FieldSplitter* splitter, Literal* lit,
                     std::vector<ProductLine>* lines, StringPool* session_ids,
                     absl::flat_hash_set<Uuid, UuidHash>* seen,
                     bool* session_id_case, BookingTable* out) {
  std::string_view f[kBookingFields];
  if (splitter->Split(line, f, kBookingFields) != kBookingFields) {
    return Reject::kWrongFieldCount;
  }
  const std::optional<Micros> created = FastTimestamp(f[0]);
  if (!PlausibleEventTime(created, options)) return Reject::kBadTimestamp;
  int64_t customer;
  if (!ParsePositiveId(f[1], &customer)) return Reject::kBadId;
  const std::optional<Uuid> booking_id = FastUuid(f[2]);
  bool session_lowercase = false;
  const std::optional<Uuid> session = FastUuid(f[3], &session_lowercase);
  if (!booking_id.has_value() || !session.has_value()) return Reject::kBadId;
  if (!ParseProductLines(f[4], lit, lines)) return Reject::kBadMetadata;
  if (f[5].empty()) return Reject::kBadValue;
  uint8_t success;
  if (f[6] == "Success") {
    success = 1;
  } else if (f[6] == "Failed") {
    success = 0;
  } else {
    return Reject::kBadValue;
  }
  int64_t promo_amount, shipment_fee, total_amount;
  if (!ParseMoney(f[7], &promo_amount) || !ParseMoney(f[9], &shipment_fee)) {
    return Reject::kBadValue;
  }
  if (!FastTimestamp(f[10]).has_value()) return Reject::kBadTimestamp;
  if (!IsCoordinate(f[11], kMaxLatitude) ||
      !IsCoordinate(f[12], kMaxLongitude) ||
      !ParseMoney(f[13], &total_amount)) {
    return Reject::kBadValue;
  }

  if (!seen->insert(*booking_id).second) return Reject::kDuplicateId;
  out->created_at.push_back(*created);
  out->customer_id.push_back(customer);
  // Pooled in canonical (lowercase) form, the form the click stream's rows
  // are matched by (see ParseClicks), whatever the case written here.
  std::string canonical;
  std::string_view session_text = f[3];
  *session_id_case = !session_lowercase;
  if (!session_lowercase) {
    canonical = FormatUuid(*session);
    session_text = canonical;
  }
  out->session.push_back(session_ids->Intern(session_text));
  out->payment_method.push_back(out->payment_methods.Intern(f[5]));
  out->success.push_back(success);
  out->promo_amount.push_back(promo_amount);
  out->promo_code.push_back(out->promo_codes.Intern(f[8]));
  out->shipment_fee.push_back(shipment_fee);
  out->total_amount.push_back(total_amount);
  for (const ProductLine& l : *lines) {
    out->line_product_id.push_back(l.product_id);
    out->line_quantity.push_back(static_cast<int32_t>(l.quantity));
    out->line_item_price.push_back(l.item_price);
  }
  out->line_begin.push_back(static_cast<uint32_t>(out->line_product_id.size()));
  return std::nullopt;
}

// ------------------------------------------------------------------- clicks

// A lower bound on the bytes of a valid click row: two UUIDs (72), the
// shortest event name (5), timestamp (19), traffic source (3), five commas
// and the line end.
constexpr size_t kMinClickRowBytes = 64;
// The parser hands finished text back (for the kernel to drop) in pieces of
// about this size.
constexpr size_t kReleaseBytes = size_t{32} << 20;

bool ValidClickMetadata(EventType type, std::string_view text, Literal* lit) {
  switch (type) {
    case EventType::kAddToCart:
      return lit->TryParse(text) && lit->FindInt(0, "product_id") &&
             lit->FindInt(0, "quantity") && lit->FindInt(0, "item_price");
    case EventType::kBooking:
      return lit->TryParse(text) && lit->FindString(0, "payment_status");
    case EventType::kSearch:
      return lit->TryParse(text) && lit->FindString(0, "search_keywords");
    case EventType::kAddPromo:
      return lit->TryParse(text) && lit->FindString(0, "promo_code") &&
             lit->FindInt(0, "promo_amount");
    default:
      return text.empty() || lit->TryParse(text);
  }
}

// A click row's values.
struct ClickRow {
  Uuid session;
  bool lowercase = false;  // the session id is in canonical lowercase
  EventType type = EventType::kHomepage;
  Micros time = 0;
  Uuid event_id;
  TrafficSource source = TrafficSource::kMobile;
};

// Checks and converts the six fields of a click row. With `lit` the
// metadata is checked by the Literal parser and the result is the row's
// verdict; without it only canonical metadata passes, and a rejection just
// means "not for the fast path".
RowResult ClickFields(const std::string_view* f, const IngestOptions& options,
                      Literal* lit, ClickRow* row) {
  const std::optional<Uuid> session = FastUuid(f[0], &row->lowercase);
  if (!session.has_value()) return Reject::kBadId;
  const std::optional<EventType> type = ParseEventType(f[1]);
  if (!type.has_value()) return Reject::kBadValue;
  const std::optional<Micros> time = FastTimestamp(f[2]);
  if (!PlausibleEventTime(time, options)) return Reject::kBadTimestamp;
  const std::optional<Uuid> event_id = FastUuid(f[3]);
  if (!event_id.has_value()) return Reject::kBadId;
  const std::optional<TrafficSource> source = ParseTrafficSource(f[4]);
  if (!source.has_value()) return Reject::kBadValue;
  if (lit == nullptr ? !CanonicalClickMetadata(*type, f[5])
                     : !ValidClickMetadata(*type, f[5], lit)) {
    return Reject::kBadMetadata;
  }
  row->session = *session;
  row->type = *type;
  row->time = *time;
  row->event_id = *event_id;
  row->source = *source;
  return std::nullopt;
}

// One thread's share of click_stream.csv. Session ids are interned into a
// chunk-local pool so that nothing points into the mapped text afterwards;
// they are renumbered into the shared pool when the chunks are joined.
struct ClickChunk {
  std::vector<uint32_t> session;  // id in `sessions`
  std::vector<Micros> event_time;
  std::vector<Uuid> event_id;
  std::vector<EventType> event_type;
  std::vector<TrafficSource> traffic_source;
  // Distinct session ids in canonical (lowercase) text, in order of first
  // appearance: local id i is session_text[session_begin[i],
  // session_begin[i + 1]).
  std::string session_text;
  std::vector<uint32_t> session_begin{0};
  // Session ids are looked up by UUID value, so one written in another case
  // is the same session_id; and one probe of a compact table is cheaper
  // than hashing and comparing text.
  absl::flat_hash_map<Uuid, uint32_t, UuidHash> session_of_uuid;

  size_t distinct_sessions() const { return session_begin.size() - 1; }
  std::string_view SessionText(uint32_t i) const {
    return std::string_view(session_text)
        .substr(session_begin[i], session_begin[i + 1] - session_begin[i]);
  }
  uint32_t AddSessionText(std::string_view text) {
    session_text.append(text);
    session_begin.push_back(static_cast<uint32_t>(session_text.size()));
    return static_cast<uint32_t>(distinct_sessions() - 1);
  }
  // ClickTable::line_runs of the chunk's rows, lines relative to the chunk.
  std::vector<ClickTable::LineRun> line_runs;
  RowLog log;         // line numbers relative to the chunk (first line 1)
  int64_t lines = 0;  // physical lines in the chunk
};

void ParseClickChunk(std::string_view text, const IngestOptions& options,
                     size_t reserve_rows, const ReleaseFn& release,
                     ClickChunk* c) {
  c->session.reserve(reserve_rows);
  c->event_time.reserve(reserve_rows);
  c->event_id.reserve(reserve_rows);
  c->event_type.reserve(reserve_rows);
  c->traffic_source.reserve(reserve_rows);

  // Session lookups miss the cache (the table outgrows it), so rows are
  // resolved in batches whose table slots were prefetched when parsed.
  struct PendingSession {
    Uuid uuid;
    std::string_view text;
    size_t row;
    bool lowercase;
  };
  constexpr int kBatch = 16;
  std::array<PendingSession, kBatch> pending;
  int pending_count = 0;
  auto resolve = [c, &pending, &pending_count] {
    for (int i = 0; i < pending_count; ++i) {
      const PendingSession& p = pending[i];
      const auto [it, inserted] = c->session_of_uuid.try_emplace(
          p.uuid, static_cast<uint32_t>(c->distinct_sessions()));
      if (inserted && p.lowercase) {
        c->AddSessionText(p.text);
      } else if (inserted) {
        // Rare; keeps every pooled session id in canonical form.
        c->AddSessionText(FormatUuid(p.uuid));
      }
      c->session[p.row] = it->second;
    }
    pending_count = 0;
  };

  LineReader lines(text);
  FieldSplitter splitter;
  Literal lit;
  std::string_view f[kClickFields];
  std::string_view line;
  int64_t line_no = 0;
  int64_t next_line = 0;  // the line of the next row if no line is skipped
  const char* released = text.data();
  while (lines.NextRow(&line, &line_no)) {
    c->log.CountRow();
    if (release &&
        static_cast<size_t>(lines.position() - released) >= kReleaseBytes) {
      // Everything before this line is parsed and, once the pending
      // session ids are resolved, copied.
      resolve();
      release(std::string_view(released,
                               static_cast<size_t>(line.data() - released)));
      released = line.data();
    }
    // Rows in the export's own shape are split and checked by the fast
    // path; every other row, and any row it does not accept, by the general
    // one, which alone decides rejections.
    ClickRow row;
    if (!SplitPlainClickRow(line, f) ||
        ClickFields(f, options, nullptr, &row).has_value()) {
      if (splitter.Split(line, f, kClickFields) != kClickFields) {
        c->log.AddReject(Reject::kWrongFieldCount, line_no);
        continue;
      }
      if (const RowResult r = ClickFields(f, options, &lit, &row);
          r.has_value()) {
        c->log.AddReject(*r, line_no);
        continue;
      }
    }
    if (line_no != next_line) {
      c->line_runs.push_back({c->session.size(), line_no});
    }
    next_line = line_no + 1;
    // FastUuid saw whether the text has an uppercase digit while reading it,
    // so reporting the repair costs one well-predicted branch per row.
    if (!row.lowercase) c->log.AddRepair(Repair::kSessionIdCase, line_no);
    c->session_of_uuid.prefetch(row.session);
    pending[pending_count++] = {row.session, f[0], c->session.size(),
                                row.lowercase};
    c->session.push_back(0);  // set by resolve()
    if (pending_count == kBatch) resolve();
    c->event_time.push_back(row.time);
    c->event_id.push_back(row.event_id);
    c->event_type.push_back(row.type);
    c->traffic_source.push_back(row.source);
  }
  resolve();
  c->lines = line_no;
  if (release) {
    release(std::string_view(
        released, static_cast<size_t>(text.data() + text.size() - released)));
  }
}

// Moves the column `member` of all chunks, in order, to the end of `*to`,
// freeing each chunk's column as it goes. When `*to` is empty it takes over
// the first chunk's vector, whose capacity is reserved for the whole file,
// so nothing is copied twice or reallocated.
template <typename T>
void JoinColumn(std::vector<ClickChunk>* chunks,
                std::vector<T> ClickChunk::*member, std::vector<T>* to) {
  size_t total = to->size();
  for (const ClickChunk& c : *chunks) total += (c.*member).size();
  if (to->empty()) to->swap((*chunks)[0].*member);
  to->reserve(total);
  for (ClickChunk& c : *chunks) {
    std::vector<T>& from = c.*member;
    to->insert(to->end(), from.begin(), from.end());
    std::vector<T>().swap(from);
  }
}

}  // namespace

absl::Status ParseCustomers(std::string_view text, std::string_view file_name,
                            const IngestOptions& options, CustomerTable* out,
                            FileReport* report) {
  WB_RETURN_IF_ERROR(options.Validate());
  BeginReport(file_name, report);
  WB_RETURN_IF_ERROR(ConsumeHeader(file_name, kCustomerHeader, &text));
  RowLog log;
  FieldSplitter splitter;
  LineReader lines(text);
  std::string_view line;
  int64_t line_no = 1;
  while (lines.NextRow(&line, &line_no)) {
    log.CountRow();
    const RowResult r = CustomerRow(line, &splitter, out);
    if (r.has_value()) log.AddReject(*r, line_no);
  }
  return FinishReport(log, options, report);
}

absl::Status ParseProducts(std::string_view text, std::string_view file_name,
                           const IngestOptions& options, ProductTable* out,
                           FileReport* report) {
  WB_RETURN_IF_ERROR(options.Validate());
  BeginReport(file_name, report);
  WB_RETURN_IF_ERROR(ConsumeHeader(file_name, kProductHeader, &text));
  out->values.Intern("");
  out->names.Intern("");
  absl::flat_hash_set<int64_t> seen(out->product_id.begin(),
                                    out->product_id.end());
  RowLog log;
  FieldSplitter splitter;
  std::string name_buf;
  LineReader lines(text);
  std::string_view line;
  int64_t line_no = 1;
  while (lines.NextRow(&line, &line_no)) {
    log.CountRow();
    bool repaired = false;
    const RowResult r =
        ProductRow(line, &splitter, &seen, &name_buf, &repaired, out);
    if (r.has_value()) {
      log.AddReject(*r, line_no);
    } else if (repaired) {
      log.AddRepair(Repair::kJoinedProductName, line_no);
    }
  }
  return FinishReport(log, options, report);
}

absl::Status ParseBookings(std::string_view text, std::string_view file_name,
                           const IngestOptions& options,
                           StringPool* session_ids, BookingTable* out,
                           FileReport* report) {
  WB_RETURN_IF_ERROR(options.Validate());
  BeginReport(file_name, report);
  WB_RETURN_IF_ERROR(ConsumeHeader(file_name, kTransactionHeader, &text));
  out->promo_codes.Intern("");
  if (out->line_begin.empty()) out->line_begin.push_back(0);
  RowLog log;
  FieldSplitter splitter;
  Literal lit;
  std::vector<ProductLine> lines_buf;
  absl::flat_hash_set<Uuid, UuidHash> seen;
  LineReader lines(text);
  std::string_view line;
  int64_t line_no = 1;
  while (lines.NextRow(&line, &line_no)) {
    log.CountRow();
    bool session_id_case = false;
    const RowResult r = BookingRow(line, options, &splitter, &lit, &lines_buf,
                                   session_ids, &seen, &session_id_case, out);
    if (r.has_value()) {
      log.AddReject(*r, line_no);
    } else if (session_id_case) {
      log.AddRepair(Repair::kSessionIdCase, line_no);
    }
  }
  return FinishReport(log, options, report);
}

absl::Status ParseClicks(std::string_view text, std::string_view file_name,
                         const IngestOptions& options, StringPool* session_ids,
                         ClickTable* out, FileReport* report,
                         const ReleaseFn& release,
                         const std::function<absl::Status()>& before_pool) {
  WB_RETURN_IF_ERROR(options.Validate());
  BeginReport(file_name, report);
  WB_RETURN_IF_ERROR(ConsumeHeader(file_name, kClickHeader, &text));

  const std::vector<std::string_view> pieces =
      ingest_internal::SplitAtLines(text, options.threads);
  std::vector<ClickChunk> chunks(pieces.size());
  // Every valid row is longer than kMinClickRowBytes, so this bounds the
  // rows of a piece. Reserved but untouched memory costs no resident pages.
  auto Rows = [](std::string_view piece) {
    return piece.size() / kMinClickRowBytes + 1;
  };
  ParallelFor(pieces.size(), static_cast<int>(pieces.size()), [&](size_t i) {
    // The first chunk reserves room for the whole file: see JoinColumn.
    ParseClickChunk(pieces[i], options, Rows(i == 0 ? text : pieces[i]),
                    release, &chunks[i]);
  });

  RowLog log;
  int64_t line_offset = 1;  // the header
  size_t row_offset = out->size();
  for (const ClickChunk& c : chunks) {
    log.Merge(c.log, line_offset);
    for (const ClickTable::LineRun& run : c.line_runs) {
      const ClickTable::LineRun shifted{run.row + row_offset,
                                        run.line + line_offset};
      // A chunk that goes on where the one before stopped continues its run.
      const bool continues =
          !out->line_runs.empty() &&
          out->line_runs.back().line +
                  static_cast<int64_t>(shifted.row -
                                       out->line_runs.back().row) ==
              shifted.line;
      if (!continues) out->line_runs.push_back(shifted);
    }
    line_offset += c.lines;
    row_offset += c.session.size();
  }
  WB_RETURN_IF_ERROR(FinishReport(log, options, report));
  if (before_pool) WB_RETURN_IF_ERROR(before_pool());

  // Renumber chunk-local session ids into the shared pool, keeping the
  // shared ids in order of first appearance in the file. Most ids are in
  // the pool already (bookings name them): those are found on all threads
  // at once. The rest are then added one by one in chunk order, which
  // numbers them exactly as one pass over the chunks would.
  constexpr uint32_t kNotYet = std::numeric_limits<uint32_t>::max();
  std::vector<std::vector<uint32_t>> global(chunks.size());
  for (size_t k = 0; k < chunks.size(); ++k) {
    global[k].assign(chunks[k].distinct_sessions(), kNotYet);
  }
  // Session ids are matched by UUID value. ParseBookings and this function
  // pool them in canonical form only, so each UUID has at most one pooled
  // text, and a non-canonical text (from another writer of the pool) is
  // no session id of ours: it is passed over. One pass reads the pooled
  // texts in order (they lie in the pool's blocks in id order) and probes
  // the chunks' UUID tables, rather than hashing every chunk id's text and
  // comparing it with a pooled text elsewhere in memory: about half the
  // cache misses, and the probes are prefetched.
  const size_t pooled = session_ids->size();
  const size_t parts = static_cast<size_t>(std::max(1, options.threads));
  ParallelFor(parts, options.threads, [&](size_t part) {
    constexpr size_t kBatch = 16;
    std::array<Uuid, kBatch> uuid;
    std::array<uint32_t, kBatch> id;
    const size_t end = pooled * (part + 1) / parts;
    for (size_t next = pooled * part / parts; next < end;) {
      size_t n = 0;
      for (; n < kBatch && next < end; ++next) {
        bool lowercase = false;
        const std::optional<Uuid> u =
            FastUuid(session_ids->Get(static_cast<uint32_t>(next)), &lowercase);
        if (!u.has_value() || !lowercase) continue;
        for (const ClickChunk& c : chunks) c.session_of_uuid.prefetch(*u);
        uuid[n] = *u;
        id[n++] = static_cast<uint32_t>(next);
      }
      for (size_t i = 0; i < n; ++i) {
        for (size_t k = 0; k < chunks.size(); ++k) {
          const auto it = chunks[k].session_of_uuid.find(uuid[i]);
          if (it != chunks[k].session_of_uuid.end()) {
            global[k][it->second] = id[i];
          }
        }
      }
    }
  });
  for (size_t k = 0; k < chunks.size(); ++k) {
    for (uint32_t i = 0; i < global[k].size(); ++i) {
      if (global[k][i] == kNotYet) {
        global[k][i] = session_ids->Intern(chunks[k].SessionText(i));
      }
    }
  }
  ParallelFor(chunks.size(), options.threads, [&](size_t k) {
    ClickChunk& c = chunks[k];
    c.session_of_uuid = {};
    std::string().swap(c.session_text);
    for (uint32_t& s : c.session) s = global[k][s];
  });
  // The columns are joined side by side; each is its own set of vectors.
  ParallelFor(5, options.threads, [&](size_t column) {
    switch (column) {
      case 0:
        return JoinColumn(&chunks, &ClickChunk::session, &out->session);
      case 1:
        return JoinColumn(&chunks, &ClickChunk::event_time, &out->event_time);
      case 2:
        return JoinColumn(&chunks, &ClickChunk::event_id, &out->event_id);
      case 3:
        return JoinColumn(&chunks, &ClickChunk::event_type, &out->event_type);
      default:
        return JoinColumn(&chunks, &ClickChunk::traffic_source,
                          &out->traffic_source);
    }
  });
  return absl::OkStatus();
}

absl::Status AddDuplicateRows(int64_t count,
                              const std::vector<int64_t>& first_lines,
                              const IngestOptions& options,
                              FileReport* report) {
  WB_RETURN_IF_ERROR(options.Validate());
  if (count == 0) return absl::OkStatus();
  const std::string name(
      ingest_internal::RejectName(ingest_internal::Reject::kDuplicateId));
  auto at = std::find_if(
      report->rejects.begin(), report->rejects.end(),
      [&name](const FileReport::Reason& r) { return r.reason >= name; });
  if (at == report->rejects.end() || at->reason != name) {
    FileReport::Reason added;
    added.reason = name;
    at = report->rejects.insert(at, std::move(added));
  }
  at->count += count;
  std::vector<int64_t>& lines = at->first_lines;
  lines.insert(lines.end(), first_lines.begin(), first_lines.end());
  std::sort(lines.begin(), lines.end());
  lines.erase(std::unique(lines.begin(), lines.end()), lines.end());
  if (lines.size() > FileReport::kMaxLinesPerReason) {
    lines.resize(FileReport::kMaxLinesPerReason);
  }
  report->rows_rejected += count;
  return ingest_internal::CheckRejectShare(*report, options.max_bad_row_share);
}

absl::StatusOr<Dataset> IngestDirectory(const std::string& dir,
                                        const IngestOptions& options,
                                        IngestReport* failed_report) {
  WB_RETURN_IF_ERROR(options.Validate());
  Dataset data;
  data.report.files.resize(4);
  // All four files are mapped before any is parsed, so that a new export
  // renamed into place meanwhile is read whole or not at all, never some
  // files of each. An error waits for its file's turn: the first file's
  // error still wins.
  constexpr std::array<std::string_view, 4> kNames = {
      "customer.csv", "product.csv", "transactions.csv", "click_stream.csv"};
  std::array<std::optional<MappedFile>, 4> mapped;
  std::array<absl::Status, 4> open_error;
  bool all_mapped = true;
  for (size_t i = 0; i < kNames.size(); ++i) {
    const std::string path = absl::StrCat(dir, "/", std::string(kNames[i]));
    absl::StatusOr<MappedFile> file = MappedFile::Open(path);
    if (file.ok()) {
      mapped[i].emplace(*std::move(file));
    } else {
      open_error[i] = absl::Status(
          file.status().code(),
          absl::StrCat(std::string(kNames[i]), ": ", file.status().message()));
      all_mapped = false;
    }
  }
  if (all_mapped && options.after_mapping) options.after_mapping();
  // Parses file i with `parse` and unmaps it. Text read from a file that
  // changed meanwhile is not to be trusted: that explains the failure,
  // whatever the parser made of the text, and its counts are dropped.
  using ParseFn = std::function<absl::Status(const MappedFile&, FileReport*)>;
  auto parse_file = [&](size_t i, const ParseFn& parse) -> absl::Status {
    if (!open_error[i].ok()) return open_error[i];
    FileReport* report = &data.report.files[i];
    absl::Status status = parse(*mapped[i], report);
    if (absl::Status changed = mapped[i]->CheckUnchanged(); !changed.ok()) {
      *report = FileReport();
      report->file = std::string(kNames[i]);
      status = absl::Status(
          changed.code(),
          absl::StrCat(std::string(kNames[i]), ": ", changed.message()));
    }
    mapped[i].reset();
    return status;
  };
  // The three small files are parsed on a thread of their own while the
  // click chunks are parsed, and they are done before the clicks touch the
  // shared session-id pool, so ids are numbered exactly as if the files
  // were read one after another (bookings' session ids first). Errors keep
  // that order too.
  absl::Status small_files;
  std::thread small([&] {
    small_files = [&]() -> absl::Status {
      WB_RETURN_IF_ERROR(
          parse_file(0, [&](const MappedFile& f, FileReport* report) {
            return ParseCustomers(f.data(), kNames[0], options, &data.customers,
                                  report);
          }));
      WB_RETURN_IF_ERROR(
          parse_file(1, [&](const MappedFile& f, FileReport* report) {
            return ParseProducts(f.data(), kNames[1], options, &data.products,
                                 report);
          }));
      return parse_file(2, [&](const MappedFile& f, FileReport* report) {
        return ParseBookings(f.data(), kNames[2], options, &data.session_ids,
                             &data.bookings, report);
      });
    }();
  });
  bool joined = false;
  auto join_small = [&]() -> absl::Status {
    if (!joined) {
      small.join();
      joined = true;
    }
    return small_files;
  };
  const absl::Status clicks = parse_file(3, [&](const MappedFile& f,
                                                FileReport* report) {
    const ReleaseFn release = [&f](std::string_view done) { f.Release(done); };
    return ParseClicks(f.data(), kNames[3], options, &data.session_ids,
                       &data.clicks, report, release, join_small);
  });
  absl::Status status = join_small();
  if (status.ok()) status = clicks;
  if (!status.ok()) {
    if (failed_report != nullptr) *failed_report = std::move(data.report);
    return status;
  }
  return data;
}

}  // namespace winback
