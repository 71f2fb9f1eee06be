#include "jobs/ingest/mapped_file.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <mutex>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace winback {
namespace {

absl::Status ErrnoError(int err, const char* what, const std::string& path) {
  return absl::ErrnoToStatus(err, absl::StrCat(what, " '", path, "'"));
}

// The mappings the SIGBUS handler may repair. A handler can take no lock, so
// slots are claimed and published with atomics: `begin` is set last and
// cleared first, and a slot with begin 0 is ignored. Ingest maps four files
// at a time; a mapping that finds no free slot goes unguarded.
struct Slot {
  std::atomic<bool> used{false};
  std::atomic<uintptr_t> begin{0};
  std::atomic<uintptr_t> end{0};     // the mapping's end, whole pages
  std::atomic<uintptr_t> cut_at{0};  // lowest address zeroed; 0: none
};
constexpr int kSlots = 16;
Slot g_slots[kSlots];
uintptr_t g_page = 0;
struct sigaction g_previous_sigbus;

// A read past the end of a mapped file that has shrunk since it was mapped
// (or of a page the kernel could not read): the rest of the mapping becomes
// zero-filled anonymous memory, the cut is recorded for CheckUnchanged, and
// the read runs again and finds zeros. Any other bus error gets the action
// that was in place before, which the faulting access meets as soon as it
// runs again.
void OnSigbus(int, siginfo_t* info, void*) {
  const int saved_errno = errno;
  const uintptr_t addr = reinterpret_cast<uintptr_t>(info->si_addr);
  for (Slot& slot : g_slots) {
    const uintptr_t begin = slot.begin.load(std::memory_order_acquire);
    if (begin == 0 || addr < begin) continue;
    const uintptr_t end = slot.end.load(std::memory_order_relaxed);
    if (addr >= end) continue;
    const uintptr_t from = addr & ~(g_page - 1);
    // mmap is a plain system call on Linux, safe in a handler in practice.
    if (::mmap(reinterpret_cast<void*>(from), end - from, PROT_READ,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED) {
      break;
    }
    uintptr_t seen = slot.cut_at.load(std::memory_order_relaxed);
    while ((seen == 0 || from < seen) &&
           !slot.cut_at.compare_exchange_weak(seen, from)) {
    }
    errno = saved_errno;
    return;
  }
  ::sigaction(SIGBUS, &g_previous_sigbus, nullptr);
  errno = saved_errno;
}

void InstallSigbusHandler() {
  static std::once_flag once;
  std::call_once(once, [] {
    g_page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
    struct sigaction action = {};
    action.sa_sigaction = OnSigbus;
    action.sa_flags = SA_SIGINFO;
    sigemptyset(&action.sa_mask);
    ::sigaction(SIGBUS, &action, &g_previous_sigbus);
  });
}

// The slot now guarding [begin, begin + size), or -1 when none is free.
int Guard(const char* data, size_t size) {
  for (int i = 0; i < kSlots; ++i) {
    if (g_slots[i].used.exchange(true, std::memory_order_acquire)) continue;
    const uintptr_t begin = reinterpret_cast<uintptr_t>(data);
    g_slots[i].end.store((begin + size + g_page - 1) & ~(g_page - 1),
                         std::memory_order_relaxed);
    g_slots[i].cut_at.store(0, std::memory_order_relaxed);
    g_slots[i].begin.store(begin, std::memory_order_release);
    return i;
  }
  return -1;
}

void Unguard(int slot) {
  if (slot < 0) return;
  g_slots[slot].begin.store(0, std::memory_order_release);
  g_slots[slot].used.store(false, std::memory_order_release);
}

int64_t MtimeNs(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 +
         st.st_mtim.tv_nsec;
}

constexpr char kDoNotRewrite[] =
    ": the export must not be rewritten while a run reads it (write it "
    "elsewhere and rename it into place)";

}  // namespace

absl::StatusOr<MappedFile> MappedFile::Open(const std::string& path) {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
  // writer forever before the regular-file check below could refuse it.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return ErrnoError(errno, "cannot open", path);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return ErrnoError(err, "cannot stat", path);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return absl::InvalidArgumentError(
        absl::StrCat("not a regular file '", path, "'"));
  }
  const size_t size = static_cast<size_t>(st.st_size);
  const Identity identity{static_cast<uint64_t>(st.st_dev),
                          static_cast<uint64_t>(st.st_ino),
                          static_cast<int64_t>(st.st_size), MtimeNs(st)};
  if (size == 0) {
    ::close(fd);
    return MappedFile(path, nullptr, 0, identity, -1);
  }
  InstallSigbusHandler();
  void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  const int err = errno;
  ::close(fd);  // the mapping keeps the file open
  if (p == MAP_FAILED) return ErrnoError(err, "cannot map", path);
  ::madvise(p, size, MADV_SEQUENTIAL);
  const char* data = static_cast<const char*>(p);
  return MappedFile(path, data, size, identity, Guard(data, size));
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : path_(std::move(other.path_)),
      data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      identity_(other.identity_),
      slot_(std::exchange(other.slot_, -1)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    Unmap();
    path_ = std::move(other.path_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    identity_ = other.identity_;
    slot_ = std::exchange(other.slot_, -1);
  }
  return *this;
}

MappedFile::~MappedFile() { Unmap(); }

void MappedFile::Unmap() {
  Unguard(std::exchange(slot_, -1));
  if (data_ != nullptr) ::munmap(const_cast<char*>(data_), size_);
  data_ = nullptr;
  size_ = 0;
}

absl::Status MappedFile::CheckUnchanged() const {
  struct stat st;
  const bool same_file = ::stat(path_.c_str(), &st) == 0 &&
                         static_cast<uint64_t>(st.st_dev) == identity_.device &&
                         static_cast<uint64_t>(st.st_ino) == identity_.inode;
  const bool rewritten = same_file && (st.st_size != identity_.size ||
                                       MtimeNs(st) != identity_.mtime_ns);
  const uintptr_t cut =
      slot_ < 0 ? 0 : g_slots[slot_].cut_at.load(std::memory_order_acquire);
  const uintptr_t offset = cut - reinterpret_cast<uintptr_t>(data_);
  if (cut != 0 && same_file && !rewritten) {
    // Not cut short: the kernel could not read the page (a failing disk or
    // network file system).
    return absl::DataLossError(absl::StrCat(
        "'", path_, "' could not be read from byte ", offset,
        " on though it has not changed: an I/O error (see the kernel log)"));
  }
  if (cut != 0 && (!same_file || st.st_size <= static_cast<off_t>(offset))) {
    return absl::AbortedError(absl::StrCat(
        "'", path_, "' shrank while it was being read: it had ", identity_.size,
        " bytes, and reading from byte ", offset, " on found no data",
        same_file ? absl::StrCat(" (it now has ", st.st_size, ")") : "",
        kDoNotRewrite));
  }
  if (rewritten) {
    // Also a file cut short and written again past the read that failed.
    return absl::AbortedError(absl::StrCat(
        "'", path_, "' was rewritten in place while it was being read (",
        identity_.size, " bytes when opened, ", st.st_size,
        " now; modified since)", kDoNotRewrite));
  }
  return absl::OkStatus();
}

void MappedFile::Release(std::string_view range) const {
  if (range.empty() || data_ == nullptr) return;
  static const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  // Only whole pages inside the range: a neighbour may still read the rest.
  const uintptr_t begin =
      (reinterpret_cast<uintptr_t>(range.data()) + page - 1) & ~(page - 1);
  const uintptr_t end =
      (reinterpret_cast<uintptr_t>(range.data()) + range.size()) & ~(page - 1);
  if (end <= begin) return;
  ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

}  // namespace winback
