#include "jobs/pipeline/run_lock.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

namespace winback {
namespace {

std::string DbPath() {
  return (std::filesystem::temp_directory_path() /
          ("winback-lock-" + std::to_string(::getpid()) + ".db"))
      .string();
}

TEST(RunLock, SecondHolderIsRefusedUntilTheFirstReleases) {
  const std::string db = DbPath();
  {
    auto first = RunLock::Acquire(db);
    ASSERT_TRUE(first.ok()) << first.status();
    // flock locks belong to the open file description: a second open in the
    // same process conflicts just as another process would.
    auto second = RunLock::Acquire(db);
    EXPECT_EQ(second.status().code(), absl::StatusCode::kAborted);
    EXPECT_THAT(second.status().message(),
                ::testing::HasSubstr(std::to_string(::getpid())));
  }
  auto again = RunLock::Acquire(db);
  EXPECT_TRUE(again.ok()) << again.status();
  std::filesystem::remove(db + ".lock");
}

TEST(RunLock, DiesWithItsProcess) {
  const std::string db = DbPath() + "-child";
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto lock = RunLock::Acquire(db);
    char c = lock.ok() ? '1' : '0';
    (void)::write(ready[1], &c, 1);
    ::pause();  // killed by the parent while holding the lock
    ::_exit(0);
  }
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ASSERT_EQ(c, '1');
  EXPECT_EQ(RunLock::Acquire(db).status().code(), absl::StatusCode::kAborted);
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  EXPECT_TRUE(RunLock::Acquire(db).ok());
  std::filesystem::remove(db + ".lock");
}

}  // namespace
}  // namespace winback
