#include "jobs/ingest/csv.h"

#include <algorithm>
#include <charconv>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "jobs/common/utf8.h"

namespace winback::ingest_internal {
namespace {

constexpr std::string_view kRejectNames[kRejectCount] = {
    "bad_date",  "bad_id",       "bad_metadata",     "bad_timestamp",
    "bad_value", "duplicate_id", "wrong_field_count"};
constexpr std::string_view kRepairNames[kRepairCount] = {"joined_product_name",
                                                         "session_id_case"};

// Shortens `s` for an error message.
// At most 200 bytes of a file's text for an error message, as valid UTF-8
// (the message goes into gRPC strings and JSON).
std::string Clip(std::string_view s) { return EscapeInvalidUtf8(s, 200); }

}  // namespace

std::string_view RejectName(Reject r) {
  return kRejectNames[static_cast<int>(r)];
}
std::string_view RepairName(Repair r) {
  return kRepairNames[static_cast<int>(r)];
}

void RowLog::Merge(const RowLog& later, int64_t line_offset) {
  rows_read_ += later.rows_read_;
  auto merge = [line_offset](Entry* into, const Entry& from) {
    const int64_t kept =
        std::min<int64_t>(from.count, static_cast<int64_t>(from.lines.size()));
    for (int64_t i = 0; i < kept; ++i) {
      if (into->count + i < static_cast<int64_t>(into->lines.size())) {
        into->lines[into->count + i] = from.lines[i] + line_offset;
      }
    }
    into->count += from.count;
  };
  for (int i = 0; i < kRejectCount; ++i) merge(&rejects_[i], later.rejects_[i]);
  for (int i = 0; i < kRepairCount; ++i) merge(&repairs_[i], later.repairs_[i]);
}

int64_t RowLog::rows_rejected() const {
  int64_t n = 0;
  for (const Entry& e : rejects_) n += e.count;
  return n;
}

void RowLog::ToReport(FileReport* report) const {
  auto fill = [](const Entry& e, std::string_view name,
                 std::vector<FileReport::Reason>* out) {
    if (e.count == 0) return;
    FileReport::Reason r;
    r.reason = std::string(name);
    r.count = e.count;
    const int64_t kept =
        std::min<int64_t>(e.count, static_cast<int64_t>(e.lines.size()));
    r.first_lines.assign(e.lines.begin(), e.lines.begin() + kept);
    out->push_back(std::move(r));
  };
  report->rows_read = rows_read_;
  report->rows_rejected = 0;
  report->rows_repaired = 0;
  report->rejects.clear();
  report->repairs.clear();
  for (int i = 0; i < kRejectCount; ++i) {
    fill(rejects_[i], kRejectNames[i], &report->rejects);
    report->rows_rejected += rejects_[i].count;
  }
  for (int i = 0; i < kRepairCount; ++i) {
    fill(repairs_[i], kRepairNames[i], &report->repairs);
    report->rows_repaired += repairs_[i].count;
  }
}

absl::Status CheckRejectShare(const FileReport& report, double max_share) {
  if (report.rows_read == 0) {
    // A file cut off after its header would otherwise pass as "no
    // customers" or "no clicks" and publish empty lists.
    return absl::InvalidArgumentError(
        absl::StrCat(report.file,
                     ":2: no data rows after the header (an empty or "
                     "truncated export?)"));
  }
  const double share = static_cast<double>(report.rows_rejected) /
                       static_cast<double>(report.rows_read);
  if (share <= max_share) return absl::OkStatus();
  // The first bad lines overall are among the first few of each reason.
  std::vector<std::pair<int64_t, std::string>> lines;
  for (const FileReport::Reason& r : report.rejects) {
    for (int64_t line : r.first_lines) lines.emplace_back(line, r.reason);
  }
  std::sort(lines.begin(), lines.end());
  if (lines.size() > FileReport::kMaxLinesPerReason) {
    lines.resize(FileReport::kMaxLinesPerReason);
  }
  std::string first;
  for (const auto& [line, reason] : lines) {
    absl::StrAppend(&first, first.empty() ? "" : ", ", "line ", line, " (",
                    reason, ")");
  }
  return absl::InvalidArgumentError(absl::StrFormat(
      "%s: %d of %d rows rejected (%.4f%%), above max_bad_row_share %.4f%%; "
      "first bad rows: %s",
      report.file, report.rows_rejected, report.rows_read, share * 100,
      max_share * 100, first));
}

absl::Status ConsumeHeader(std::string_view file_name,
                           std::string_view expected, std::string_view* text) {
  if (text->substr(0, 3) == "\xEF\xBB\xBF") text->remove_prefix(3);
  LineReader reader(*text);
  std::string_view header;
  if (!reader.Next(&header)) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(file_name), ":1: expected header '",
                     std::string(expected), "', found an empty file"));
  }
  if (header != expected) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(file_name), ":1: expected header '",
                     std::string(expected), "', found '", Clip(header), "'"));
  }
  *text = reader.rest();
  return absl::OkStatus();
}

int FieldSplitter::Split(std::string_view line, std::string_view* fields,
                         int max_fields) {
  // Unescaped quoted fields are never longer than the line, so the scratch
  // buffer never reallocates while views into it are handed out.
  if (scratch_.size() < line.size()) scratch_.resize(line.size());
  char* out = scratch_.data();
  const char* p = line.data();
  const char* const end = p + line.size();
  int n = 0;
  while (true) {
    std::string_view field;
    if (p != end && *p == '"') {
      ++p;
      const char* start = p;
      char* dst = nullptr;  // non-null once the field needs unescaping
      while (true) {
        const char* q = static_cast<const char*>(
            std::memchr(p, '"', static_cast<size_t>(end - p)));
        if (q == nullptr) return -1;
        if (q + 1 != end && q[1] == '"') {
          if (dst == nullptr) dst = out;
          std::memcpy(dst, p, static_cast<size_t>(q + 1 - p));  // keep one
          dst += q + 1 - p;
          p = q + 2;
          continue;
        }
        if (dst == nullptr) {
          field = std::string_view(start, static_cast<size_t>(q - start));
        } else {
          std::memcpy(dst, p, static_cast<size_t>(q - p));
          dst += q - p;
          field = std::string_view(out, static_cast<size_t>(dst - out));
          out = dst;
        }
        p = q + 1;
        break;
      }
      if (p != end && *p != ',') return -1;
    } else {
      const char* q = static_cast<const char*>(
          std::memchr(p, ',', static_cast<size_t>(end - p)));
      const char* stop = q == nullptr ? end : q;
      field = std::string_view(p, static_cast<size_t>(stop - p));
      p = stop;
    }
    if (n < max_fields) fields[n] = field;
    ++n;
    if (p == end) return n;
    ++p;  // the comma; a comma at the very end starts one more empty field
  }
}

bool ParseInt64(std::string_view s, int64_t* out) {
  if (s.empty()) return false;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

bool ParseDouble(std::string_view s, double* out) {
  if (s.empty()) return false;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

std::vector<std::string_view> SplitAtLines(std::string_view text, int n) {
  std::vector<std::string_view> pieces;
  if (n < 1) n = 1;
  pieces.reserve(static_cast<size_t>(n));
  size_t begin = 0;
  for (int i = 1; i <= n; ++i) {
    size_t cut = text.size();
    if (i < n) {
      cut = std::max(
          begin, text.size() / static_cast<size_t>(n) * static_cast<size_t>(i));
      // Move the cut to just after the line end at or after it.
      if (cut > 0 && cut < text.size() && text[cut - 1] != '\n') {
        const size_t nl = text.find('\n', cut);
        cut = nl == std::string_view::npos ? text.size() : nl + 1;
      }
    }
    pieces.push_back(text.substr(begin, cut - begin));
    begin = cut;
  }
  return pieces;
}

}  // namespace winback::ingest_internal
