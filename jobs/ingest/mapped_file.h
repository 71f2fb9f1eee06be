// Read-only memory mapping of an input file: the only place where ingest
// touches the operating system, so the parsers can be tested on text in
// memory.
#ifndef WINBACK_JOBS_INGEST_MAPPED_FILE_H_
#define WINBACK_JOBS_INGEST_MAPPED_FILE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace winback {

// A whole file mapped read-only with MADV_SEQUENTIAL. Movable, not copyable;
// the mapping is removed on destruction, which invalidates data().
//
// A file that shrinks while it is mapped would kill the process with SIGBUS
// on the first read past its new end (the daemon runs the pipeline in
// process), and so would a page the kernel cannot read. Instead, such a read
// finds the rest of the mapping replaced by zero bytes, and CheckUnchanged()
// reports it: text read from a file that changed is never to be trusted.
class MappedFile {
 public:
  // Maps `path`. Fails with NotFound when it does not exist, and with the
  // errno-derived code for other open/stat/mmap errors; messages name the
  // path. An empty file maps to empty data(). The first call installs the
  // process's SIGBUS handler (a read in a mapped file that the kernel cannot
  // serve reads zeros; a SIGBUS anywhere else keeps its earlier action, by
  // default a crash).
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

  // OK while what was read is the file as it was opened. Aborted, naming the
  // file, when a read went past its end because it had shrunk meanwhile, or
  // when the path still names the same file but its size or modification
  // time has changed: it was rewritten in place while mapped. DataLoss when
  // a page could not be read though the file had not shrunk (an I/O error,
  // which also raises SIGBUS). A path that now names another file (the
  // export was renamed into place) or none is fine: the mapping still holds
  // the whole file that was opened.
  absl::Status CheckUnchanged() const;

 private:
  struct Identity {
    uint64_t device = 0;
    uint64_t inode = 0;
    int64_t size = 0;
    int64_t mtime_ns = 0;
  };
  MappedFile(std::string path, const char* data, size_t size, Identity identity,
             int slot)
      : path_(std::move(path)),
        data_(data),
        size_(size),
        identity_(identity),
        slot_(slot) {}
  void Unmap();

  std::string path_;
  const char* data_ = nullptr;
  size_t size_ = 0;
  Identity identity_;
  int slot_ = -1;  // in the SIGBUS handler's table; -1: none
};

}  // namespace winback

#endif  // WINBACK_JOBS_INGEST_MAPPED_FILE_H_
