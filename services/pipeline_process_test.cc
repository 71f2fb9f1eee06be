#include "services/pipeline_process.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "jobs/common/time_util.h"
#include "nlohmann/json.hpp"

namespace winback {
namespace {

using pipeline_process_internal::ParseChildLine;
using pipeline_process_internal::ProgressLine;
using pipeline_process_internal::ResultLine;

TEST(PipelineProcessProtocol, ProgressAndResultLinesReadBackAsWritten) {
  const Progress p{42, "sessionize", 1, 10, true, 1234567890123, 0.25};
  absl::StatusOr<pipeline_process_internal::ChildLine> line =
      ParseChildLine(ProgressLine(p));
  ASSERT_TRUE(line.ok()) << line.status();
  ASSERT_TRUE(line->progress.has_value());
  EXPECT_FALSE(line->result.has_value());
  EXPECT_EQ(line->progress->run_id, 42);
  EXPECT_EQ(line->progress->stage, "sessionize");
  EXPECT_EQ(line->progress->stage_index, 1);
  EXPECT_EQ(line->progress->stage_count, 10);
  EXPECT_TRUE(line->progress->done);
  EXPECT_EQ(line->progress->rows, 1234567890123);
  EXPECT_EQ(line->progress->seconds, 0.25);

  // A message with quotes, a tab and a newline stays one line.
  const absl::Status failed =
      absl::AlreadyExistsError("request_id \"a\"\tis run 3\nuse a new one");
  const std::string text = ResultLine(failed);
  EXPECT_EQ(text.find('\n'), std::string::npos);
  line = ParseChildLine(text);
  ASSERT_TRUE(line.ok()) << line.status();
  ASSERT_TRUE(line->result.has_value());
  EXPECT_EQ(*line->result, failed);
  // A message quoting bytes that are not UTF-8 (a file's header, say) still
  // makes a line, with those bytes replaced.
  line = ParseChildLine(ResultLine(absl::InvalidArgumentError(
      "customer.csv:1: expected header 'customer_id', found 'caf\xe9'")));
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(line->result->message(),
            "customer.csv:1: expected header 'customer_id', found "
            "'caf\xef\xbf\xbd'");
  line = ParseChildLine(ResultLine(absl::OkStatus()));
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_TRUE(line->result->ok());
}

TEST(PipelineProcessProtocol, UnreadableLinesSayWhatIsWrong) {
  const auto error = [](std::string_view line) {
    return std::string(ParseChildLine(line).status().message());
  };
  EXPECT_NE(error("Segmentation fault").find("(not JSON): Segmentation fault"),
            std::string::npos)
      << error("Segmentation fault");
  EXPECT_NE(error("{}").find("one member, progress or result"),
            std::string::npos);
  EXPECT_NE(error(R"({"progress": {"run_id": 1, "stage": "x", "index": 0,
      "count": 1, "done": "yes", "rows": 0, "seconds": 0}})")
                .find("\"done\" is a string"),
            std::string::npos);
  EXPECT_NE(
      error(R"({"progress": {"run_id": 1, "index": 0}})").find("no \"stage\""),
      std::string::npos);
  EXPECT_NE(error(R"({"progress": {"run_id": 0, "stage": "x", "index": 0,
      "count": 1, "done": false, "rows": 0, "seconds": 0}})")
                .find("\"run_id\" is not positive"),
            std::string::npos);
  EXPECT_NE(error(R"({"result": {"code": 99, "message": ""}})")
                .find("\"code\" 99 is not a status code"),
            std::string::npos);
  const std::string long_line(1000, 'x');
  EXPECT_LT(error(long_line).size(), 300u);
}

// The parent's side, with /bin/sh scripts in place of the pipeline process.
class PipelineProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           (std::string("pipeline_process_test_") +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    config_.data.dir = (dir_ / "export").string();
    config_.store.path = (dir_ / "winback.db").string();
    auto store = Store::Open(config_.store.path, StoreOptions());
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }

  // Runs `script` as the pipeline process and collects its progress.
  absl::StatusOr<RunResult> Run(const std::string& script,
                                RunRequest request = {},
                                std::function<void(int)> on_start = nullptr) {
    PipelineProcessOptions options;
    options.executable = "/bin/sh";
    options.args = {"sh", "-c", script};
    options.stop_grace = absl::Milliseconds(300);
    options.on_start = std::move(on_start);
    const PipelineFn fn = ProcessPipeline(config_, options);
    return fn(
        store_.get(), request,
        [this](const Progress& p) {
          progress_.push_back(p);
          reported_.store(true);
        },
        &cancel_);
  }

  // A run begun in the store as the real child would, and the line that
  // reports its first stage.
  int64_t BeginRun() {
    absl::StatusOr<RunRecord> run =
        store_->BeginRun(RunTrigger::kManual, "", std::nullopt, NowMicros());
    EXPECT_TRUE(run.ok()) << run.status();
    return run.ok() ? run->run_id : 0;
  }
  static std::string ReportStage(int64_t run_id) {
    return "printf '%s\\n' '" +
           ProgressLine({run_id, "ingest", 0, 10, false, 0, 0}) + "' >&3; ";
  }

  std::filesystem::path dir_;
  Config config_;
  std::unique_ptr<Store> store_;
  std::vector<Progress> progress_;
  std::atomic<bool> reported_{false};  // progress_ is not empty
  std::atomic<bool> cancel_{false};
};

TEST_F(PipelineProcessTest, TheChildGetsTheRequestAndTheDaemonsConfiguration) {
  config_.churn_window = 21 * kMicrosPerDay;
  RunRequest request;
  request.trigger = RunTrigger::kCatchUp;
  request.request_id = "night-7";
  request.as_of = 1'656'633'600'000'000;
  const std::string saved = (dir_ / "request.json").string();
  absl::StatusOr<RunResult> result =
      Run("cat > " + saved + "; printf '%s\\n' '" +
              ResultLine(absl::UnavailableError("no export today")) + "' >&3",
          request);
  EXPECT_EQ(result.status(), absl::UnavailableError("no export today"));

  std::ifstream in(saved);
  const nlohmann::json doc = nlohmann::json::parse(in);
  EXPECT_EQ(doc.at("trigger"), "catch-up");
  EXPECT_EQ(doc.at("request_id"), "night-7");
  EXPECT_EQ(doc.at("as_of_us"), 1'656'633'600'000'000);
  EXPECT_EQ(doc.at("parent_pid"), ::getpid());
  absl::StatusOr<Config> sent =
      ParseConfig(doc.at("config").get<std::string>(), "", "test");
  ASSERT_TRUE(sent.ok()) << sent.status();
  EXPECT_EQ(sent->data.dir, config_.data.dir);
  EXPECT_EQ(sent->store.path, config_.store.path);
  EXPECT_EQ(sent->churn_window, 21 * kMicrosPerDay);
  // Without an as-of time the request has none.
  result = Run("cat > " + saved);
  std::ifstream again(saved);
  EXPECT_FALSE(nlohmann::json::parse(again).contains("as_of_us"));
}

TEST_F(PipelineProcessTest, TheChildDoesNotGetTheApiKeys) {
  config_.service.api_keys_env = "PIPELINE_PROCESS_TEST_KEYS";
  ::setenv("PIPELINE_PROCESS_TEST_KEYS", "operator:secret", 1);
  ::setenv("PIPELINE_PROCESS_TEST_KEYS_TOO", "kept", 1);
  const std::string saved = (dir_ / "env.txt").string();
  // The script reports nothing, so its run is an error; only its
  // environment matters here.
  EXPECT_FALSE(Run("env > " + saved).ok());
  ::unsetenv("PIPELINE_PROCESS_TEST_KEYS");
  ::unsetenv("PIPELINE_PROCESS_TEST_KEYS_TOO");
  std::ifstream in(saved);
  const std::string env((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(env.find("operator:secret"), std::string::npos) << env;
  EXPECT_NE(env.find("PIPELINE_PROCESS_TEST_KEYS_TOO=kept\n"),
            std::string::npos)
      << env;
  EXPECT_NE(env.find("PATH="), std::string::npos) << env;
}

TEST_F(PipelineProcessTest, TheChildMallocsWithHugePagesUnlessToldOtherwise) {
  const char* was = std::getenv("GLIBC_TUNABLES");
  const std::optional<std::string> saved =
      was == nullptr ? std::nullopt : std::optional<std::string>(was);
  const std::string file = (dir_ / "tunables.txt").string();
  auto child_tunables = [&] {
    EXPECT_FALSE(Run("env | grep '^GLIBC_TUNABLES=' > " + file).ok());
    std::ifstream in(file);
    return std::string((std::istreambuf_iterator<char>(in)), {});
  };
  ::unsetenv("GLIBC_TUNABLES");
  EXPECT_EQ(child_tunables(), "GLIBC_TUNABLES=glibc.malloc.hugetlb=1\n");
  ::setenv("GLIBC_TUNABLES", "glibc.malloc.arena_max=2", 1);
  EXPECT_EQ(child_tunables(),
            "GLIBC_TUNABLES=glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1\n");
  // The daemon's own setting wins: this turns huge pages off.
  ::setenv("GLIBC_TUNABLES", "glibc.malloc.hugetlb=0", 1);
  EXPECT_EQ(child_tunables(), "GLIBC_TUNABLES=glibc.malloc.hugetlb=0\n");
  if (saved.has_value()) {
    ::setenv("GLIBC_TUNABLES", saved->c_str(), 1);
  } else {
    ::unsetenv("GLIBC_TUNABLES");
  }
}

TEST_F(PipelineProcessTest, AChildKilledMidRunFailsItsRunAndSaysBySignal) {
  const int64_t run_id = BeginRun();
  int child = 0;
  absl::StatusOr<RunResult> result = Run(ReportStage(run_id) + "kill -9 $$", {},
                                         [&](int pid) { child = pid; });
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInternal);
  const std::string expected =
      "the pipeline process (pid " + std::to_string(child) +
      ") was killed by signal 9 (Killed); the kernel's out-of-memory killer "
      "sends SIGKILL: see dmesg";
  EXPECT_EQ(result.status().message(), expected);
  ASSERT_EQ(progress_.size(), 1u);
  EXPECT_EQ(progress_[0].run_id, run_id);
  EXPECT_EQ(progress_[0].stage, "ingest");
  // The run is recorded failed, with the same words.
  absl::StatusOr<RunRecord> run = store_->GetRun(run_id);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->state, RunState::kFailed);
  EXPECT_EQ(run->error, expected);
  EXPECT_FALSE(run->published);
}

TEST_F(PipelineProcessTest, AChildThatExitsWithoutAResultFailsItsRun) {
  const int64_t run_id = BeginRun();
  absl::StatusOr<RunResult> result = Run(ReportStage(run_id) + "exit 3");
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInternal);
  EXPECT_NE(result.status().message().find(
                "exited with status 3 without reporting how the run ended"),
            std::string::npos)
      << result.status();
  EXPECT_EQ(store_->GetRun(run_id)->state, RunState::kFailed);
}

TEST_F(PipelineProcessTest, SuccessWithoutARecordedRunIsAFailure) {
  const int64_t run_id = BeginRun();
  absl::StatusOr<RunResult> result =
      Run(ReportStage(run_id) + "printf '%s\\n' '" +
          ResultLine(absl::OkStatus()) + "' >&3");
  const absl::Status expected = absl::InternalError(
      "the pipeline process reported success without recording it");
  EXPECT_EQ(result.status(), expected);
  absl::StatusOr<RunRecord> run = store_->GetRun(run_id);
  EXPECT_EQ(run->state, RunState::kFailed);
  EXPECT_EQ(run->error, expected.message());
}

TEST_F(PipelineProcessTest, AnErrorBeforeAnyRunComesBackWithItsCode) {
  absl::StatusOr<RunResult> result = Run(
      "printf 'a line that is no JSON\\n' >&3; printf '%s\\n' '" +
      ResultLine(absl::AbortedError("run 4 is in progress")) + "' >&3; exit 1");
  EXPECT_EQ(result.status(), absl::AbortedError("run 4 is in progress"));
  EXPECT_TRUE(progress_.empty());
}

TEST_F(PipelineProcessTest, ARunTheChildRecordedKeepsItsOwnEnding) {
  const int64_t run_id = BeginRun();
  ASSERT_TRUE(store_
                  ->FinishUnpublished(run_id, RunState::kFailed,
                                      "customer.csv: missing", NowMicros())
                  .ok());
  absl::StatusOr<RunResult> result =
      Run(ReportStage(run_id) + "printf '%s\\n' '" +
          ResultLine(absl::InvalidArgumentError("customer.csv: missing")) +
          "' >&3; exit 1");
  EXPECT_EQ(result.status(),
            absl::InvalidArgumentError("customer.csv: missing"));
  EXPECT_EQ(store_->GetRun(run_id)->error, "customer.csv: missing");
}

TEST_F(PipelineProcessTest,
       ACancelledChildThatDoesNotStopIsKilledAfterTheGrace) {
  const int64_t run_id = BeginRun();
  // SIGTERM reaches the child blocked, as the real child takes it with
  // sigwait; this one never does, so only SIGKILL stops it.
  std::thread cancel([&] {
    while (!reported_.load()) absl::SleepFor(absl::Milliseconds(5));
    cancel_.store(true);
  });
  const absl::Time start = absl::Now();
  absl::StatusOr<RunResult> result =
      Run(ReportStage(run_id) + "while :; do :; done");
  cancel.join();
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(300));
  EXPECT_EQ(result.status().code(), absl::StatusCode::kCancelled);
  EXPECT_NE(
      result.status().message().find(
          "the pipeline process did not stop within 300ms and was killed"),
      std::string::npos)
      << result.status();
  absl::StatusOr<RunRecord> run = store_->GetRun(run_id);
  EXPECT_EQ(run->state, RunState::kCancelled);
}

TEST_F(PipelineProcessTest, ReportsWhatTheChildUsed) {
  const int64_t run_id = BeginRun();
  PipelineProcessOptions options;
  options.executable = "/usr/bin/python3";
  // Touches 96 MiB and spins for 0.3 s of CPU, then reports and exits.
  options.args = {
      "python3", "-c",
      "import os, time\n"
      "block = bytearray(96 << 20)\n"
      "for i in range(0, len(block), 4096): block[i] = 1\n"
      "end = time.process_time() + 0.3\n"
      "while time.process_time() < end: pass\n"
      "os.write(3, b'" +
          ProgressLine({run_id, "ingest", 0, 10, false, 0, 0}) +
          "\\n')\n"
          "os.write(3, b'" +
          ResultLine(absl::InvalidArgumentError("customer.csv: missing")) +
          "\\n')\n"};
  int started = 0;
  options.on_start = [&](int pid) { started = pid; };
  std::optional<ProcessUsage> usage;
  options.on_exit = [&](const ProcessUsage& u) { usage = u; };
  absl::StatusOr<RunResult> result =
      ProcessPipeline(config_, options)(store_.get(), {}, nullptr, &cancel_);
  EXPECT_EQ(result.status(),
            absl::InvalidArgumentError("customer.csv: missing"));
  ASSERT_TRUE(usage.has_value());
  EXPECT_EQ(usage->pid, started);
  EXPECT_EQ(usage->run_id, run_id);
  EXPECT_GE(usage->peak_rss_bytes, int64_t{96} << 20);
  EXPECT_LT(usage->peak_rss_bytes, int64_t{1} << 30);
  EXPECT_GE(usage->cpu_seconds, 0.3);
  EXPECT_LT(usage->cpu_seconds, 30.0);
  // The run records the same.
  absl::StatusOr<RunRecord> run = store_->GetRun(run_id);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->cpu_seconds, usage->cpu_seconds);
  EXPECT_EQ(run->peak_rss_bytes, usage->peak_rss_bytes);
}

TEST_F(PipelineProcessTest, AProgramThatCannotStartIsAnError) {
  PipelineProcessOptions options;
  options.executable = (dir_ / "no-such-program").string();
  absl::StatusOr<RunResult> result =
      ProcessPipeline(config_, options)(store_.get(), {}, nullptr, &cancel_);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInternal);
  EXPECT_NE(result.status().message().find(
                "cannot start the pipeline process " + options.executable +
                ": No such file or directory"),
            std::string::npos)
      << result.status();
}

}  // namespace
}  // namespace winback
