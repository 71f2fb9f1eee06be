// Read-only memory mapping of an input file: the only place where ingest
// touches the operating system, so the parsers can be tested on text in
// memory.
#ifndef WINBACK_JOBS_INGEST_MAPPED_FILE_H_
#define WINBACK_JOBS_INGEST_MAPPED_FILE_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace winback {

// A whole file mapped read-only with MADV_SEQUENTIAL. Movable, not copyable;
// the mapping is removed on destruction, which invalidates data().
class MappedFile {
 public:
  // Maps `path`. Fails with NotFound when it does not exist, and with the
  // errno-derived code for other open/stat/mmap errors; messages name the
  // path. An empty file maps to empty data().
  static absl::StatusOr<MappedFile> Open(const std::string& path);

  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  std::string_view data() const { return {data_, size_}; }

  // Tells the kernel the whole pages inside `range` (a piece of data()) will
  // not be read again, so they leave this process's resident set. Reading
  // them later still works (they are faulted in from the file again). Safe
  // to call from several threads on disjoint ranges.
  void Release(std::string_view range) const;

 private:
  MappedFile(const char* data, size_t size) : data_(data), size_(size) {}

  const char* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace winback

#endif  // WINBACK_JOBS_INGEST_MAPPED_FILE_H_
