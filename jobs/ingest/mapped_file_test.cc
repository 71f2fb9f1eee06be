#include "jobs/ingest/mapped_file.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "absl/debugging/failure_signal_handler.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace winback {
namespace {

using ::testing::HasSubstr;

class MappedFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           absl::StrCat("mapped_file_test_", ::getpid(), "_",
                        ::testing::UnitTest::GetInstance()
                            ->current_test_info()
                            ->name());
    std::filesystem::create_directories(dir_);
    page_ = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
    return path;
  }

  // Sets the file's modification time to `seconds` after the epoch.
  static void SetMtime(const std::string& path, time_t seconds) {
    const struct timespec times[2] = {{seconds, 0}, {seconds, 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0);
  }

  std::filesystem::path dir_;
  size_t page_ = 4096;
};

TEST_F(MappedFileTest, AnUnchangedFileReadsAsWritten) {
  const std::string path = Write("a.csv", "id\n1\n");
  absl::StatusOr<MappedFile> f = MappedFile::Open(path);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->data(), "id\n1\n");
  EXPECT_TRUE(f->CheckUnchanged().ok()) << f->CheckUnchanged();
}

// The export cut short underneath a run: reads past the new end find zeros
// instead of killing the process with SIGBUS, and the cut is reported from
// the lowest page so read.
TEST_F(MappedFileTest, ReadsPastAShrunkenEndFindZerosAndTheCutIsReported) {
  const std::string path = Write("clicks.csv", std::string(5 * page_, 'a'));
  absl::StatusOr<MappedFile> f = MappedFile::Open(path);
  ASSERT_TRUE(f.ok()) << f.status();
  const size_t kept = page_ + 100;
  ASSERT_EQ(::truncate(path.c_str(), static_cast<off_t>(kept)), 0);
  const std::string_view text = f->data();
  ASSERT_EQ(text.size(), 5 * page_);
  EXPECT_EQ(text[3 * page_], '\0');
  EXPECT_EQ(text[5 * page_ - 1], '\0');
  absl::Status changed = f->CheckUnchanged();
  EXPECT_EQ(changed.code(), absl::StatusCode::kAborted);
  EXPECT_THAT(changed.message(),
              HasSubstr(absl::StrCat("'", path, "' shrank while it was being "
                                     "read: it had ",
                                     5 * page_, " bytes, and reading from byte ",
                                     3 * page_, " on found no data (it now has ",
                                     kept, ")")));
  EXPECT_THAT(changed.message(),
              HasSubstr("write it elsewhere and rename it into place"));
  // A read lower down, still past the new end, moves the reported cut.
  EXPECT_EQ(text[2 * page_ + 7], '\0');
  EXPECT_THAT(f->CheckUnchanged().message(),
              HasSubstr(absl::StrCat("reading from byte ", 2 * page_, " on")));
  // What is left of the file still reads.
  EXPECT_EQ(text[0], 'a');
  EXPECT_EQ(text[kept - 1], 'a');

  // Another mapping of the same path later is not blamed for this one's cut.
  absl::StatusOr<MappedFile> again = MappedFile::Open(path);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->data().size(), kept);
  EXPECT_TRUE(again->CheckUnchanged().ok()) << again->CheckUnchanged();
}

TEST_F(MappedFileTest, AFileRewrittenInPlaceIsReported) {
  const std::string path = Write("t.csv", "id\n1\n2\n");
  SetMtime(path, 1'600'000'000);
  absl::StatusOr<MappedFile> f = MappedFile::Open(path);
  ASSERT_TRUE(f.ok()) << f.status();
  {
    // Same size, other bytes, the writer's new modification time.
    std::fstream out(path, std::ios::binary | std::ios::in | std::ios::out);
    out << "id\n3\n4\n";
  }
  SetMtime(path, 1'600'000'001);
  absl::Status changed = f->CheckUnchanged();
  EXPECT_EQ(changed.code(), absl::StatusCode::kAborted);
  EXPECT_THAT(changed.message(),
              HasSubstr(absl::StrCat("'", path,
                                     "' was rewritten in place while it was "
                                     "being read (7 bytes when opened, 7 now; "
                                     "modified since)")));
  // Grown by an appending writer.
  std::ofstream(path, std::ios::binary | std::ios::app) << "5\n";
  SetMtime(path, 1'600'000'000);
  EXPECT_THAT(f->CheckUnchanged().message(),
              HasSubstr("(7 bytes when opened, 9 now; modified since)"));
}

// The usual way to rewrite a file in place (open with O_TRUNC, write again):
// a read that ran ahead of the writer found nothing, then the file grew past
// it.
TEST_F(MappedFileTest, AFileCutAndWrittenAgainIsRewrittenNotAnIoError) {
  const std::string path = Write("r.csv", std::string(4 * page_, 'a'));
  SetMtime(path, 1'600'000'000);
  absl::StatusOr<MappedFile> f = MappedFile::Open(path);
  ASSERT_TRUE(f.ok()) << f.status();
  ASSERT_EQ(::truncate(path.c_str(), 0), 0);
  EXPECT_EQ(f->data()[2 * page_], '\0');
  Write("r.csv", std::string(5 * page_, 'b'));
  absl::Status changed = f->CheckUnchanged();
  EXPECT_EQ(changed.code(), absl::StatusCode::kAborted);
  EXPECT_THAT(changed.message(),
              HasSubstr(absl::StrCat("was rewritten in place while it was "
                                     "being read (",
                                     4 * page_, " bytes when opened, ",
                                     5 * page_, " now; modified since)")));
}

// A page the kernel cannot read raises SIGBUS too; the file itself is as it
// was. Simulated by a cut undone to the very size and modification time.
TEST_F(MappedFileTest, AnUnreadablePageOfAnUnchangedFileIsDataLoss) {
  const std::string path = Write("io.csv", std::string(4 * page_, 'a'));
  SetMtime(path, 1'600'000'000);
  absl::StatusOr<MappedFile> f = MappedFile::Open(path);
  ASSERT_TRUE(f.ok()) << f.status();
  ASSERT_EQ(::truncate(path.c_str(), static_cast<off_t>(page_)), 0);
  EXPECT_EQ(f->data()[3 * page_], '\0');
  ASSERT_EQ(::truncate(path.c_str(), static_cast<off_t>(4 * page_)), 0);
  SetMtime(path, 1'600'000'000);
  absl::Status changed = f->CheckUnchanged();
  EXPECT_EQ(changed.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(changed.message(),
              HasSubstr(absl::StrCat(
                  "'", path, "' could not be read from byte ", 3 * page_,
                  " on though it has not changed: an I/O "
                  "error")));
}

// The way to replace an export: the mapping keeps the file it opened.
TEST_F(MappedFileTest, AFileRenamedIntoPlaceOrRemovedIsNotAChange) {
  const std::string path = Write("c.csv", "id\n1\n");
  absl::StatusOr<MappedFile> f = MappedFile::Open(path);
  ASSERT_TRUE(f.ok()) << f.status();
  const std::string next = Write("c.csv.new", "id\n1\n2\n3\n");
  std::filesystem::rename(next, path);
  EXPECT_TRUE(f->CheckUnchanged().ok()) << f->CheckUnchanged();
  EXPECT_EQ(f->data(), "id\n1\n");
  std::filesystem::remove(path);
  EXPECT_TRUE(f->CheckUnchanged().ok()) << f->CheckUnchanged();
}

TEST_F(MappedFileTest, AMovedMappingKeepsItsGuard) {
  const std::string path = Write("m.csv", std::string(3 * page_, 'b'));
  absl::StatusOr<MappedFile> opened = MappedFile::Open(path);
  ASSERT_TRUE(opened.ok()) << opened.status();
  MappedFile f = *std::move(opened);
  MappedFile g = MappedFile::Open(Write("other.csv", "x")).value();
  g = std::move(f);
  ASSERT_EQ(::truncate(path.c_str(), 0), 0);
  EXPECT_EQ(g.data()[page_], '\0');
  EXPECT_EQ(g.CheckUnchanged().code(), absl::StatusCode::kAborted);
}

// Only reads past a mapped input's end are repaired: any other bus error
// still ends the process as it would have.
TEST_F(MappedFileTest, ABusErrorElsewhereStillKillsTheProcess) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const std::string guarded = Write("g.csv", "id\n1\n");
  const std::string other = Write("o.bin", std::string(2 * page_, 'c'));
  EXPECT_EXIT(
      {
        MappedFile f = MappedFile::Open(guarded).value();
        const int fd = ::open(other.c_str(), O_RDONLY);
        auto* p = static_cast<volatile const char*>(
            ::mmap(nullptr, 2 * page_, PROT_READ, MAP_PRIVATE, fd, 0));
        if (::truncate(other.c_str(), 0) != 0) _exit(3);
        const char c = p[page_];
        _exit(c == 'c' ? 4 : 5);
      },
      ::testing::KilledBySignal(SIGBUS), "");
}

// The programs install Abseil's failure signal handler first (a stack trace
// on a crash): the cut repair still works under it, and a bus error it does
// not repair reaches that handler.
TEST_F(MappedFileTest,
       UnderTheFailureSignalHandlerCutsAreRepairedAndCrashesTraced) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const std::string cut = Write("cut.csv", std::string(3 * page_, 'a'));
  const std::string other = Write("o.bin", std::string(2 * page_, 'c'));
  EXPECT_EXIT(
      {
        absl::InstallFailureSignalHandler(absl::FailureSignalHandlerOptions());
        MappedFile f = MappedFile::Open(cut).value();
        if (::truncate(cut.c_str(), 0) != 0) _exit(3);
        if (f.data()[2 * page_] != '\0') _exit(4);
        if (f.CheckUnchanged().code() != absl::StatusCode::kAborted) _exit(5);
        const int fd = ::open(other.c_str(), O_RDONLY);
        auto* p = static_cast<volatile const char*>(
            ::mmap(nullptr, 2 * page_, PROT_READ, MAP_PRIVATE, fd, 0));
        if (::truncate(other.c_str(), 0) != 0) _exit(6);
        _exit(p[page_] == 'c' ? 7 : 8);
      },
      ::testing::KilledBySignal(SIGBUS), "\\*\\*\\* SIGBUS received at time=");
}

}  // namespace
}  // namespace winback
