#include "jobs/common/huge_pages.h"

#include <unistd.h>

#include <cstdlib>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace winback {
namespace {

constexpr char kTunablesEnv[] = "GLIBC_TUNABLES";
constexpr char kHugeTlb[] = "glibc.malloc.hugetlb";
// Set across the restart: should glibc drop GLIBC_TUNABLES from the new
// program's environment (it does for set-user-ID programs), the restarted
// program must not restart again, and again.
constexpr char kRestartedEnv[] = "WINBACK_MALLOC_RESTARTED";

}  // namespace

std::string TunablesWithHugePages(std::string_view current) {
  for (absl::string_view item :
       absl::StrSplit(absl::string_view(current.data(), current.size()), ':')) {
    if (absl::StartsWith(item, absl::StrCat(kHugeTlb, "="))) {
      return std::string(current);
    }
  }
  const std::string setting = absl::StrCat(kHugeTlb, "=1");
  return current.empty() ? setting
                         : absl::StrCat(std::string(current), ":", setting);
}

void RestartWithHugePageMalloc(
    char** argv, const std::function<int(const char*, char**)>& exec) {
  if (std::getenv(kRestartedEnv) != nullptr) return;
  const char* env = std::getenv(kTunablesEnv);
  const std::optional<std::string> current =
      env == nullptr ? std::nullopt : std::optional<std::string>(env);
  const std::string wanted = TunablesWithHugePages(current.value_or(""));
  if (current == wanted) return;
  if (::setenv(kTunablesEnv, wanted.c_str(), 1) != 0 ||
      ::setenv(kRestartedEnv, "1", 1) != 0) {
    return;
  }
  if (exec) {
    exec("/proc/self/exe", argv);
  } else {
    ::execv("/proc/self/exe", argv);
  }
  // Still here: the exec failed. Run on without huge pages, as started.
  if (current.has_value()) {
    ::setenv(kTunablesEnv, current->c_str(), 1);
  } else {
    ::unsetenv(kTunablesEnv);
  }
  ::unsetenv(kRestartedEnv);
}

}  // namespace winback
