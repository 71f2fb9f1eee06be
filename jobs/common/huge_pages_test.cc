#include "jobs/common/huge_pages.h"

#include <cstdlib>
#include <optional>
#include <string>

#include "gtest/gtest.h"

namespace winback {
namespace {

TEST(TunablesWithHugePages, AddsTheSettingToWhatIsThere) {
  EXPECT_EQ(TunablesWithHugePages(""), "glibc.malloc.hugetlb=1");
  EXPECT_EQ(TunablesWithHugePages("glibc.malloc.arena_max=2"),
            "glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1");
  // A tunable whose name only starts the same is another one.
  EXPECT_EQ(TunablesWithHugePages("glibc.malloc.hugetlbx=0"),
            "glibc.malloc.hugetlbx=0:glibc.malloc.hugetlb=1");
}

TEST(TunablesWithHugePages, KeepsAnExplicitSetting) {
  EXPECT_EQ(TunablesWithHugePages("glibc.malloc.hugetlb=0"),
            "glibc.malloc.hugetlb=0");
  EXPECT_EQ(TunablesWithHugePages("glibc.malloc.arena_max=2:"
                                  "glibc.malloc.hugetlb=2"),
            "glibc.malloc.arena_max=2:glibc.malloc.hugetlb=2");
}

// Sets or unsets an environment variable for one test.
void SetEnv(const char* name, const std::optional<std::string>& value) {
  if (value.has_value()) {
    ::setenv(name, value->c_str(), 1);
  } else {
    ::unsetenv(name);
  }
}

std::optional<std::string> GetEnv(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::nullopt : std::optional<std::string>(v);
}

class RestartWithHugePageMallocTest : public ::testing::Test {
 protected:
  void SetUp() override {
    saved_tunables_ = GetEnv("GLIBC_TUNABLES");
    saved_restarted_ = GetEnv("WINBACK_MALLOC_RESTARTED");
    ::unsetenv("WINBACK_MALLOC_RESTARTED");
  }
  void TearDown() override {
    SetEnv("GLIBC_TUNABLES", saved_tunables_);
    SetEnv("WINBACK_MALLOC_RESTARTED", saved_restarted_);
  }

  // Calls RestartWithHugePageMalloc with an exec that fails, recording what
  // the new program would have been started as.
  void Restart() {
    char arg0[] = "winback";
    char arg1[] = "run";
    char* argv[] = {arg0, arg1, nullptr};
    RestartWithHugePageMalloc(argv, [this](const char* path, char** args) {
      ++execs_;
      path_ = path;
      args_ = std::string(args[0]) + " " + args[1];
      tunables_at_exec_ = GetEnv("GLIBC_TUNABLES");
      return -1;
    });
  }

  std::optional<std::string> saved_tunables_, saved_restarted_;
  int execs_ = 0;
  std::string path_, args_;
  std::optional<std::string> tunables_at_exec_;
};

TEST_F(RestartWithHugePageMallocTest, RestartsWithTheSettingAdded) {
  ::unsetenv("GLIBC_TUNABLES");
  Restart();
  EXPECT_EQ(execs_, 1);
  EXPECT_EQ(path_, "/proc/self/exe");
  EXPECT_EQ(args_, "winback run");
  EXPECT_EQ(tunables_at_exec_, "glibc.malloc.hugetlb=1");
  // The exec failed: the process runs on with its environment as it was.
  EXPECT_EQ(GetEnv("GLIBC_TUNABLES"), std::nullopt);
  EXPECT_EQ(GetEnv("WINBACK_MALLOC_RESTARTED"), std::nullopt);

  ::setenv("GLIBC_TUNABLES", "glibc.malloc.arena_max=2", 1);
  Restart();
  EXPECT_EQ(execs_, 2);
  EXPECT_EQ(tunables_at_exec_,
            "glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1");
  EXPECT_EQ(GetEnv("GLIBC_TUNABLES"), "glibc.malloc.arena_max=2");
}

TEST_F(RestartWithHugePageMallocTest, DoesNotRestartWhenSetOrRestarted) {
  ::setenv("GLIBC_TUNABLES", "glibc.malloc.hugetlb=1", 1);
  Restart();
  ::setenv("GLIBC_TUNABLES", "glibc.malloc.hugetlb=0", 1);  // turned off
  Restart();
  // A restarted program whose tunables glibc dropped does not loop.
  ::unsetenv("GLIBC_TUNABLES");
  ::setenv("WINBACK_MALLOC_RESTARTED", "1", 1);
  Restart();
  EXPECT_EQ(execs_, 0);
}

}  // namespace
}  // namespace winback
