#include "tools/datagen/csv_format.h"

#include <cerrno>
#include <cmath>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace winback::datagen {
namespace {

constexpr char kHex[] = "0123456789abcdef";

void AppendTwo(char* p, uint32_t v) {
  p[0] = static_cast<char>('0' + v / 10);
  p[1] = static_cast<char>('0' + v % 10);
}

// Writes `y-m-d` for `days` into p[0..10).
void WriteDate(char* p, int32_t days) {
  // The generator's dates fall in a few thousand days; cache the last one.
  thread_local int32_t cached_days = INT32_MIN;
  thread_local char cached[10];
  if (days != cached_days) {
    int32_t y;
    uint32_t m, d;
    CivilFromDays(days, &y, &m, &d);
    const uint32_t uy = static_cast<uint32_t>(y) % 10000;
    cached[0] = static_cast<char>('0' + uy / 1000);
    cached[1] = static_cast<char>('0' + uy / 100 % 10);
    cached[2] = static_cast<char>('0' + uy / 10 % 10);
    cached[3] = static_cast<char>('0' + uy % 10);
    cached[4] = '-';
    AppendTwo(cached + 5, m);
    cached[7] = '-';
    AppendTwo(cached + 8, d);
    cached_days = days;
  }
  std::memcpy(p, cached, 10);
}

}  // namespace

void AppendInt(std::string& out, int64_t v) {
  char buf[24];
  char* end = buf + sizeof(buf);
  char* p = end;
  uint64_t u = v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
  do {
    *--p = static_cast<char>('0' + u % 10);
    u /= 10;
  } while (u != 0);
  if (v < 0) *--p = '-';
  out.append(p, end - p);
}

void AppendUuid(std::string& out, const Uuid128& u) {
  char buf[36];
  int pos = 0;
  for (int i = 0; i < 32; ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) buf[pos++] = '-';
    const uint64_t half = i < 16 ? u.hi : u.lo;
    const int shift = 60 - 4 * (i % 16);
    buf[pos++] = kHex[(half >> shift) & 0xF];
  }
  out.append(buf, 36);
}

void AppendTimestamp(std::string& out, Micros t) {
  Micros days = t / kMicrosPerDay;
  Micros rem = t % kMicrosPerDay;
  if (rem < 0) {
    rem += kMicrosPerDay;
    --days;
  }
  char buf[27];
  WriteDate(buf, static_cast<int32_t>(days));
  const uint32_t secs = static_cast<uint32_t>(rem / kMicrosPerSecond);
  uint32_t frac = static_cast<uint32_t>(rem % kMicrosPerSecond);
  buf[10] = 'T';
  AppendTwo(buf + 11, secs / 3600);
  buf[13] = ':';
  AppendTwo(buf + 14, secs / 60 % 60);
  buf[16] = ':';
  AppendTwo(buf + 17, secs % 60);
  buf[19] = '.';
  for (int i = 25; i >= 20; --i) {
    buf[i] = static_cast<char>('0' + frac % 10);
    frac /= 10;
  }
  buf[26] = 'Z';
  out.append(buf, 27);
}

void AppendDate(std::string& out, int32_t days) {
  char buf[10];
  WriteDate(buf, days);
  out.append(buf, 10);
}

void AppendFixed(std::string& out, double value, int decimals) {
  static constexpr int64_t kPow10[] = {1,         10,        100,     1000,
                                       10000,     100000,    1000000, 10000000,
                                       100000000, 1000000000};
  const int64_t scale = kPow10[decimals];
  const int64_t scaled =
      std::llround(std::fabs(value) * static_cast<double>(scale));
  if (value < 0 && scaled != 0) out.push_back('-');
  AppendInt(out, scaled / scale);
  if (decimals == 0) return;
  out.push_back('.');
  int64_t frac = scaled % scale;
  char buf[9];
  for (int i = decimals - 1; i >= 0; --i) {
    buf[i] = static_cast<char>('0' + frac % 10);
    frac /= 10;
  }
  out.append(buf, decimals);
}

OutputFile::~OutputFile() {
  if (file_ != nullptr) std::fclose(file_);
}

absl::Status OutputFile::Open(const std::string& path) {
  path_ = path;
  file_ = std::fopen(path.c_str(), "wb");
  if (file_ == nullptr) {
    return absl::InternalError(
        absl::StrCat("cannot create ", path, ": ", std::strerror(errno)));
  }
  buffer_.reserve(kFlushBytes + (1 << 20));
  return absl::OkStatus();
}

void OutputFile::Flush() {
  if (buffer_.empty()) return;
  if (status_.ok() && file_ != nullptr &&
      std::fwrite(buffer_.data(), 1, buffer_.size(), file_) != buffer_.size()) {
    status_ = absl::InternalError(
        absl::StrCat("write to ", path_, " failed: ", std::strerror(errno)));
  }
  written_ += static_cast<int64_t>(buffer_.size());
  buffer_.clear();
}

absl::Status OutputFile::Close() {
  Flush();
  if (file_ != nullptr) {
    if (std::fclose(file_) != 0 && status_.ok()) {
      status_ = absl::InternalError(
          absl::StrCat("close of ", path_, " failed: ", std::strerror(errno)));
    }
    file_ = nullptr;
  }
  return status_;
}

}  // namespace winback::datagen
