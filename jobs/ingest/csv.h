// CSV building blocks shared by the ingest readers: line iteration, a field
// splitter over string_view, strict number parsing and the per-file log of
// rejected and repaired rows. Internal to jobs/ingest (tests use it too).
#ifndef WINBACK_JOBS_INGEST_CSV_H_
#define WINBACK_JOBS_INGEST_CSV_H_

#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "jobs/tables/tables.h"

namespace winback::ingest_internal {

// Why a row was skipped. The enumerators are in the alphabetical order of
// their names, so reports come out sorted by reason.
enum class Reject : uint8_t {
  kBadDate,
  kBadId,
  kBadMetadata,
  kBadTimestamp,
  kBadValue,
  kDuplicateId,
  kWrongFieldCount,
};
inline constexpr int kRejectCount = 7;
// The report spelling, e.g. "wrong_field_count".
std::string_view RejectName(Reject r);

// How a row was repaired (and kept). As with Reject, the enumerators are in
// the alphabetical order of their names, so reports come out sorted.
enum class Repair : uint8_t {
  // product.csv: the unquoted commas of a name split into extra fields.
  kJoinedProductName,
  // transactions.csv, click_stream.csv: a session_id UUID with an uppercase
  // hex digit, pooled as its canonical lowercase text.
  kSessionIdCase,
};
inline constexpr int kRepairCount = 2;
std::string_view RepairName(Repair r);

// Counts rows read, rejected and repaired for one file, or for one chunk of
// a file parsed by one thread, with the first FileReport::kMaxLinesPerReason
// line numbers per reason.
class RowLog {
 public:
  void CountRow() { ++rows_read_; }
  void AddReject(Reject r, int64_t line) {
    Add(&rejects_[static_cast<int>(r)], line);
  }
  void AddRepair(Repair r, int64_t line) {
    Add(&repairs_[static_cast<int>(r)], line);
  }

  // Appends the log of a chunk that comes after every line logged so far;
  // its line numbers are shifted by `line_offset`.
  void Merge(const RowLog& later, int64_t line_offset);

  int64_t rows_read() const { return rows_read_; }
  int64_t rows_rejected() const;

  // Fills the counts, reasons and line numbers of `report` (file name
  // untouched), sorted by reason.
  void ToReport(FileReport* report) const;

 private:
  struct Entry {
    int64_t count = 0;
    std::array<int64_t, FileReport::kMaxLinesPerReason> lines{};
  };
  static void Add(Entry* e, int64_t line) {
    if (e->count < static_cast<int64_t>(e->lines.size()))
      e->lines[e->count] = line;
    ++e->count;
  }

  int64_t rows_read_ = 0;
  std::array<Entry, kRejectCount> rejects_;
  std::array<Entry, kRepairCount> repairs_;
};

// Fails with InvalidArgument when the file has no data rows, or when
// report.rows_rejected / report.rows_read exceeds `max_share`; the message
// names the file, the share, the threshold and the first bad lines (by line
// number) with their reasons.
absl::Status CheckRejectShare(const FileReport& report, double max_share);

// Iterates the physical lines of a text. A line excludes its '\n' and one
// '\r' before it. Text after the last '\n' is a line only when non-empty, so
// a final line end does not make an extra empty row.
class LineReader {
 public:
  explicit LineReader(std::string_view text)
      : p_(text.data()), end_(text.data() + text.size()) {}

  // Stores the next line and returns true; false at the end of the text.
  bool Next(std::string_view* line) {
    if (p_ == end_) return false;
    const char* nl = static_cast<const char*>(
        std::memchr(p_, '\n', static_cast<size_t>(end_ - p_)));
    const char* line_end = nl == nullptr ? end_ : nl;
    const char* stop = line_end;
    if (stop != p_ && stop[-1] == '\r') --stop;
    *line = std::string_view(p_, static_cast<size_t>(stop - p_));
    p_ = nl == nullptr ? end_ : nl + 1;
    return true;
  }

  // The next row: like Next, but passes over empty lines (as pandas'
  // read_csv does), which are no rows. `*line_no` advances by every line
  // read, empty ones included, so it stays the row's line in the file.
  bool NextRow(std::string_view* line, int64_t* line_no) {
    while (Next(line)) {
      ++*line_no;
      if (!line->empty()) return true;
    }
    return false;
  }

  // The unread rest of the text.
  std::string_view rest() const {
    return std::string_view(p_, static_cast<size_t>(end_ - p_));
  }
  const char* position() const { return p_; }

 private:
  const char* p_;
  const char* const end_;
};

// Strips a UTF-8 byte order mark, reads the header line of `*text` and
// checks it equals `expected`; on success advances `*text` past the header.
// Fails with InvalidArgument naming `file_name`, line 1, the expected and
// the found header.
absl::Status ConsumeHeader(std::string_view file_name,
                           std::string_view expected, std::string_view* text);

// Splits CSV lines into fields: comma separated; a field that starts with
// '"' is quoted, ends at the next lone '"', and turns '""' into '"'. A '"'
// inside an unquoted field is an ordinary character. Fields are views into
// the line, or into the splitter's scratch buffer for quoted fields with
// doubled quotes; all stay valid until the next Split call.
class FieldSplitter {
 public:
  // Returns the number of fields in `line` and stores the first
  // `max_fields` of them in `fields`; returns -1 when the quoting is
  // malformed (no closing quote on the line, or text after a closing quote
  // other than a comma).
  int Split(std::string_view line, std::string_view* fields, int max_fields);

 private:
  std::string scratch_;
};

// Strict decimal integer: optional '-', digits only, in range. No spaces.
bool ParseInt64(std::string_view s, int64_t* out);
// Strict decimal floating point number (as std::from_chars, general format).
bool ParseDouble(std::string_view s, double* out);

// Cuts `text` into `n` consecutive pieces that end at line boundaries
// (after a '\n', or at the end of the text) and together cover it exactly.
// Pieces are about equal in bytes; some may be empty.
std::vector<std::string_view> SplitAtLines(std::string_view text, int n);

}  // namespace winback::ingest_internal

#endif  // WINBACK_JOBS_INGEST_CSV_H_
