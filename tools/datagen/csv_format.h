// Fast text formatting for the generator: integers, UUIDs, timestamps and
// fixed-point decimals appended to a std::string, and an output file that
// writes its buffer in large blocks.
#ifndef WINBACK_TOOLS_DATAGEN_CSV_FORMAT_H_
#define WINBACK_TOOLS_DATAGEN_CSV_FORMAT_H_

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "jobs/common/time_util.h"

namespace winback::datagen {

// A 128-bit UUID as two halves; the canonical text is hi then lo in hex.
struct Uuid128 {
  uint64_t hi = 0;
  uint64_t lo = 0;
};

// Turns 128 random bits into a version-4, RFC 4122 variant UUID.
inline Uuid128 MakeUuidV4(uint64_t a, uint64_t b) {
  return {(a & ~0xF000ULL) | 0x4000ULL,
          (b & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL};
}

void AppendInt(std::string& out, int64_t v);

// Canonical lowercase 8-4-4-4-12 form.
void AppendUuid(std::string& out, const Uuid128& u);

// `YYYY-MM-DDTHH:MM:SS.ffffffZ` (UTC).
void AppendTimestamp(std::string& out, Micros t);

// `YYYY-MM-DD` for days since the epoch.
void AppendDate(std::string& out, int32_t days);

// `value` rounded to `decimals` places (at most 9), e.g. -6.208763.
void AppendFixed(std::string& out, double value, int decimals);

// A file written through a large in-memory buffer. Callers append to
// buffer() and call MaybeFlush() after each row; Close() writes the rest.
// Errors are sticky and reported by Close().
class OutputFile {
 public:
  static constexpr size_t kFlushBytes = 8 << 20;

  OutputFile() = default;
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  absl::Status Open(const std::string& path);
  std::string& buffer() { return buffer_; }
  void MaybeFlush() {
    if (buffer_.size() >= kFlushBytes) Flush();
  }
  // Flushes and closes; returns the first error seen.
  absl::Status Close();
  // Bytes written so far (flushed plus buffered).
  int64_t bytes() const {
    return written_ + static_cast<int64_t>(buffer_.size());
  }

 private:
  void Flush();

  std::string path_;
  std::FILE* file_ = nullptr;
  std::string buffer_;
  int64_t written_ = 0;
  absl::Status status_;
};

}  // namespace winback::datagen

#endif  // WINBACK_TOOLS_DATAGEN_CSV_FORMAT_H_
