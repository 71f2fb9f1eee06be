#include "services/memory_limit.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace winback {
namespace {

namespace fs = std::filesystem;

// A fake /proc/self/{cgroup,mountinfo} and cgroup file systems, all under a
// temporary directory.
class MemoryLimitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/winback-cgroup-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    root_ = pattern;
    sources_.cgroup = root_ / "proc_cgroup";
    sources_.mountinfo = root_ / "proc_mountinfo";
  }
  void TearDown() override { fs::remove_all(root_); }

  void Write(const fs::path& path, const std::string& text) {
    fs::create_directories(path.parent_path());
    std::ofstream(path) << text;
  }
  // A mountinfo line for a cgroup file system showing group `group_root`
  // at `mount` (under the temporary directory).
  std::string Mount(const std::string& type, const std::string& group_root,
                    const std::string& mount, const std::string& super) {
    return "35 31 0:30 " + group_root + " " + (root_ / mount).string() +
           " rw,nosuid,nodev,noexec,relatime shared:9 - " + type + " " + type +
           " " + super + "\n";
  }

  fs::path root_;
  MemoryLimitSources sources_;
};

TEST_F(MemoryLimitTest, V2TakesTheSmallestLimitUpToTheMount) {
  // systemd: the slice is capped at 6 GiB, the service at 8 GiB, so the
  // slice's limit is the one the kernel enforces.
  Write(sources_.cgroup, "0::/system.slice/winbackd.service\n");
  Write(sources_.mountinfo,
        "22 27 0:21 / /proc rw,relatime - proc proc rw\n" +
            Mount("cgroup2", "/", "cg", "rw,nsdelegate,memory_recursiveprot"));
  Write(root_ / "cg/system.slice/winbackd.service/memory.max", "8589934592\n");
  Write(root_ / "cg/system.slice/memory.max", "6442450944\n");
  EXPECT_EQ(CgroupMemoryLimit(sources_), 6442450944);

  Write(root_ / "cg/system.slice/memory.max", "max\n");
  EXPECT_EQ(CgroupMemoryLimit(sources_), 8589934592);
}

TEST_F(MemoryLimitTest, V2WithoutALimitAnywhereIsNone) {
  Write(sources_.cgroup, "0::/user.slice\n");
  Write(sources_.mountinfo, Mount("cgroup2", "/", "cg", "rw"));
  Write(root_ / "cg/user.slice/memory.max", "max\n");
  EXPECT_EQ(CgroupMemoryLimit(sources_), std::nullopt);
}

TEST_F(MemoryLimitTest, AContainerSeesItsOwnGroupAtTheMount) {
  // A cgroup namespace: the process is at "/" and the mount shows its group.
  Write(sources_.cgroup, "0::/\n");
  Write(sources_.mountinfo, Mount("cgroup2", "/", "cg", "rw"));
  Write(root_ / "cg/memory.max", "1073741824\n");
  EXPECT_EQ(CgroupMemoryLimit(sources_), 1073741824);

  // No namespace, but the group mounted as the root of what the container
  // sees (the mount's root is the group's path): the same file.
  Write(sources_.cgroup, "0::/kubepods/pod1/c1\n");
  Write(sources_.mountinfo, Mount("cgroup2", "/kubepods/pod1/c1", "cg", "rw"));
  EXPECT_EQ(CgroupMemoryLimit(sources_), 1073741824);

  // A group outside what the mount shows cannot be read.
  Write(sources_.cgroup, "0::/elsewhere\n");
  EXPECT_EQ(CgroupMemoryLimit(sources_), std::nullopt);
}

TEST_F(MemoryLimitTest, V1ReadsTheMemoryControllersHierarchy) {
  // A hybrid system (this is what Debian's older hosts and many CI runners
  // have): v2 is mounted but holds no memory controller.
  Write(sources_.cgroup,
        "9:name=systemd:/\n8:pids:/\n4:memory:/process_api/abc\n0::/\n");
  Write(sources_.mountinfo, Mount("cgroup", "/", "cg/cpu", "rw,cpu") +
                                Mount("cgroup", "/", "cg/memory", "rw,memory") +
                                Mount("cgroup2", "/", "cg/unified", "rw"));
  Write(root_ / "cg/memory/memory.limit_in_bytes", "9223372036854771712\n");
  Write(root_ / "cg/memory/process_api/memory.limit_in_bytes",
        "9223372036854771712\n");
  Write(root_ / "cg/memory/process_api/abc/memory.limit_in_bytes",
        "2147483648\n");
  EXPECT_EQ(CgroupMemoryLimit(sources_), 2147483648);

  // v1's "no limit" is the largest page-aligned counter value.
  Write(root_ / "cg/memory/process_api/abc/memory.limit_in_bytes",
        "9223372036854771712\n");
  EXPECT_EQ(CgroupMemoryLimit(sources_), std::nullopt);

  // Combined controllers on one mount ("cpu,memory") count too.
  Write(sources_.cgroup, "4:cpu,memory:/job\n");
  Write(sources_.mountinfo, Mount("cgroup", "/", "cg/both", "rw,cpu,memory"));
  Write(root_ / "cg/both/job/memory.limit_in_bytes", "3221225472\n");
  EXPECT_EQ(CgroupMemoryLimit(sources_), 3221225472);
}

TEST_F(MemoryLimitTest, UnreadableOrNonsenseIsNoFigureNotAnError) {
  // No files at all.
  EXPECT_EQ(CgroupMemoryLimit(sources_), std::nullopt);
  // A limit file that is not a number is skipped; a valid parent still
  // counts.
  Write(sources_.cgroup, "0::/a/b\n");
  Write(sources_.mountinfo, Mount("cgroup2", "/", "cg", "rw"));
  Write(root_ / "cg/a/b/memory.max", "lots\n");
  EXPECT_EQ(CgroupMemoryLimit(sources_), std::nullopt);
  Write(root_ / "cg/a/memory.max", "536870912\n");
  EXPECT_EQ(CgroupMemoryLimit(sources_), 536870912);
  // A path that climbs out of the hierarchy is not followed.
  Write(sources_.cgroup, "0::/a/../../etc\n");
  EXPECT_EQ(CgroupMemoryLimit(sources_), std::nullopt);
  // A truncated mountinfo line is skipped.
  Write(sources_.cgroup, "0::/a\n");
  Write(sources_.mountinfo, "35 31 0:30 / " + (root_ / "cg").string() + "\n");
  EXPECT_EQ(CgroupMemoryLimit(sources_), std::nullopt);
}

TEST(MemoryLimit, ThisMachinesLimitIsPositiveWhenThereIsOne) {
  // Whatever the CI machine has: no limit, or a positive one.
  const std::optional<int64_t> limit = CgroupMemoryLimit();
  if (limit.has_value()) {
    EXPECT_GT(*limit, 0);
  }
}

}  // namespace
}  // namespace winback
