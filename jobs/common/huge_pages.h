// Transparent huge pages for malloc: the pipeline's large tables are read in
// random order (sessionize's scatter, the features' per-session passes), and
// with 4 KiB pages most of those reads also miss the TLB. glibc's
// glibc.malloc.hugetlb=1 tunable makes malloc ask the kernel for huge pages
// (madvise MADV_HUGEPAGE) where the kernel leaves it to the program
// (/sys/kernel/mm/transparent_hugepage/enabled = madvise, as on many hosts).
// glibc reads its tunables once, when a program starts, so a process that
// wants them must be started with GLIBC_TUNABLES set.
#ifndef WINBACK_JOBS_COMMON_HUGE_PAGES_H_
#define WINBACK_JOBS_COMMON_HUGE_PAGES_H_

#include <functional>
#include <string>
#include <string_view>

namespace winback {

// The GLIBC_TUNABLES value to start a pipeline process with, given the
// current one (empty when unset): `current` with glibc.malloc.hugetlb=1
// added, or `current` unchanged when it already sets glibc.malloc.hugetlb
// (to anything: GLIBC_TUNABLES=glibc.malloc.hugetlb=0 turns this off).
std::string TunablesWithHugePages(std::string_view current);

// Starts this program again (exec of /proc/self/exe with the same argv) with
// GLIBC_TUNABLES from TunablesWithHugePages, unless it already has that
// value or this process is itself such a restart. Returns only when it does
// not restart, or when the exec fails (the program then runs on as it is).
// `exec` stands in for execv in tests.
void RestartWithHugePageMalloc(
    char** argv, const std::function<int(const char*, char**)>& exec = nullptr);

}  // namespace winback

#endif  // WINBACK_JOBS_COMMON_HUGE_PAGES_H_
