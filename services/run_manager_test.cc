#include "services/run_manager.h"

#include <filesystem>

#include "SQLiteCpp/SQLiteCpp.h"
#include "gtest/gtest.h"
#include "services/test_gate.h"

namespace winback {
namespace {

// A pipeline of three stages that records the run like RunPipeline does and
// can be held at a stage until the test releases it.
struct FakePipeline {
  // What the fake's "ingest" finds as the export's latest event: the as-of
  // time of a run begun without one, set once the test releases it.
  static constexpr Micros kLatestEvent = 1'659'311'999'000'000;

  TestGate release;
  bool fail = false;

  PipelineFn Fn() {
    return [this](
               Store* store, const RunRequest& request,
               const ProgressFn& progress,
               const std::atomic<bool>* cancel) -> absl::StatusOr<RunResult> {
      // As RunPipeline: 0 until ingest finds the latest event.
      absl::StatusOr<RunRecord> run = store->BeginRun(
          request.trigger, request.request_id, request.as_of, NowMicros());
      if (!run.ok()) return run.status();
      const std::vector<std::string> stages = {"ingest", "label", "publish"};
      absl::Status status;
      for (int i = 0; i < 3 && status.ok(); ++i) {
        if (cancel->load()) {
          status = absl::CancelledError("cancelled");
          break;
        }
        progress({run->run_id, stages[i], i, 3, false, 0, 0});
        if (i == 1) release.Wait();
        if (i == 1 && !request.as_of.has_value()) {
          status = store->SetAsOf(run->run_id, kLatestEvent);
        }
        if (fail && i == 1) status = absl::InternalError("boom");
        if (status.ok())
          progress({run->run_id, stages[i], i, 3, true, 10, 0.5});
      }
      if (status.ok() && cancel->load()) status = absl::CancelledError("c");
      if (!status.ok()) {
        (void)store->FinishUnpublished(
            run->run_id,
            absl::IsCancelled(status) ? RunState::kCancelled : RunState::kFailed,
            "stopped", NowMicros());
        return status;
      }
      if (absl::Status s = store->PublishRun(run->run_id, {}, NowMicros());
          !s.ok()) {
        return s;
      }
      RunResult r;
      r.record = *store->GetRun(run->run_id);
      return r;
    };
  }
};

class RunManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = ::testing::TempDir() + "/run_manager_test_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name() +
            ".db";
    std::filesystem::remove(path_);
    auto store = Store::Open(path_, StoreOptions());
    ASSERT_TRUE(store.ok()) << store.status();
    manager_ = std::make_unique<RunManager>(Config(), std::move(*store),
                                            RunManagerOptions(), fake_.Fn());
  }
  void TearDown() override {
    fake_.release.Open();
    manager_.reset();
  }

  // All events of `run_id` up to the terminal one.
  std::vector<RunEvent> Drain(int64_t run_id) {
    std::shared_ptr<RunLog> log = manager_->Log(run_id);
    EXPECT_NE(log, nullptr);
    std::vector<RunEvent> out;
    RunEvent e;
    bool timed_out = false;
    while (log->Wait(out.size(), absl::Now() + absl::Seconds(10), &e,
                     &timed_out)) {
      out.push_back(e);
      if (e.terminal) break;
    }
    return out;
  }

  std::string path_;
  FakePipeline fake_;
  std::unique_ptr<RunManager> manager_;
};

TEST_F(RunManagerTest, RefusesASecondRunWhileOneIsInProgress) {
  auto id = manager_->StartRun(RunTrigger::kManual, "", std::nullopt);
  ASSERT_TRUE(id.ok()) << id.status();
  auto second = manager_->StartRun(RunTrigger::kManual, "", std::nullopt);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kAborted);
  fake_.release.Open();
  const std::vector<RunEvent> events = Drain(*id);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().state, RunState::kSucceeded);
  // Once finished, the next run starts.
  auto third = manager_->StartRun(RunTrigger::kManual, "", std::nullopt);
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_GT(*third, *id);
  Drain(*third);
}

TEST_F(RunManagerTest, SameRequestIdReturnsTheExistingRun) {
  auto id = manager_->StartRun(RunTrigger::kManual, "req-1", std::nullopt);
  ASSERT_TRUE(id.ok());
  auto again = manager_->StartRun(RunTrigger::kManual, "req-1", std::nullopt);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, *id);
  fake_.release.Open();
  Drain(*id);
  again = manager_->StartRun(RunTrigger::kManual, "req-1", std::nullopt);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *id);
}

TEST_F(RunManagerTest, ARequestIdStartedWithoutAnAsOfTimeIsNotARunAsOfOne) {
  auto id = manager_->StartRun(RunTrigger::kManual, "req-2", std::nullopt);
  ASSERT_TRUE(id.ok()) << id.status();
  // Held in its second stage, before any as-of time is known.
  const Micros t = *ParseTimestamp("2022-07-01T00:00:00Z");
  auto other = manager_->StartRun(RunTrigger::kManual, "req-2", t);
  EXPECT_EQ(other.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_NE(other.status().message().find(
                "started without an as-of time (the export's latest event), "
                "not a run as of 2022-07-01T00:00:00.000000Z"),
            std::string::npos)
      << other.status();
  auto again = manager_->StartRun(RunTrigger::kManual, "req-2", std::nullopt);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, *id);
  fake_.release.Open();
  Drain(*id);
  // Once ingest has set its as-of time, that very time is still not what
  // the run was asked for.
  auto run = Store::Open(path_, StoreOptions()).value()->GetRun(*id);
  ASSERT_TRUE(run.ok()) << run.status();
  ASSERT_EQ(run->as_of, FakePipeline::kLatestEvent);
  EXPECT_EQ(run->as_of_requested, false);
  other = manager_->StartRun(RunTrigger::kManual, "req-2",
                             FakePipeline::kLatestEvent);
  EXPECT_EQ(other.status().code(), absl::StatusCode::kAlreadyExists);
  again = manager_->StartRun(RunTrigger::kManual, "req-2", std::nullopt);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, *id);
  // One started with an as-of time is that run for the same time only.
  auto dated = manager_->StartRun(RunTrigger::kManual, "req-3", t);
  ASSERT_TRUE(dated.ok()) << dated.status();
  auto same = manager_->StartRun(RunTrigger::kManual, "req-3", t);
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_EQ(*same, *dated);
  EXPECT_EQ(
      manager_->StartRun(RunTrigger::kManual, "req-3", t + 1).status().code(),
      absl::StatusCode::kAlreadyExists);
  Drain(*dated);
}

TEST_F(RunManagerTest, ARequestIdStartedAsOfATimeIsNotARunWithoutOne) {
  const Micros t = *ParseTimestamp("2022-07-01T00:00:00Z");
  auto dated = manager_->StartRun(RunTrigger::kManual, "req-4", t);
  ASSERT_TRUE(dated.ok()) << dated.status();
  // Held in its second stage, and again once it has finished.
  for (int finished = 0; finished < 2; ++finished) {
    auto latest =
        manager_->StartRun(RunTrigger::kManual, "req-4", std::nullopt);
    EXPECT_EQ(latest.status().code(), absl::StatusCode::kAlreadyExists)
        << finished;
    EXPECT_NE(latest.status().message().find(
                  "), a backfill as of 2022-07-01T00:00:00.000000Z, "
                  "not a run as of the export's latest event"),
              std::string::npos)
        << latest.status();
    if (finished == 0) {
      fake_.release.Open();
      Drain(*dated);
    }
  }
  auto same = manager_->StartRun(RunTrigger::kManual, "req-4", t);
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_EQ(*same, *dated);
}

// Runs begun before schema 6 did not record whether their as-of time was
// asked for: a request without one is a retry, one with a time must match.
TEST_F(RunManagerTest, ARunFromBeforeSchema6IsMatchedByItsAsOfTime) {
  const Micros t = *ParseTimestamp("2022-07-01T00:00:00Z");
  fake_.release.Open();
  auto dated = manager_->StartRun(RunTrigger::kManual, "old-dated", t);
  ASSERT_TRUE(dated.ok()) << dated.status();
  Drain(*dated);
  auto latest =
      manager_->StartRun(RunTrigger::kManual, "old-latest", std::nullopt);
  ASSERT_TRUE(latest.ok()) << latest.status();
  Drain(*latest);
  {
    SQLite::Database db(path_, SQLite::OPEN_READWRITE);
    db.exec("UPDATE runs SET as_of_requested = NULL");
  }
  auto run = Store::Open(path_, StoreOptions()).value()->GetRun(*dated);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_FALSE(run->as_of_requested.has_value());
  for (const char* key : {"old-dated", "old-latest"}) {
    auto retry = manager_->StartRun(RunTrigger::kManual, key, std::nullopt);
    ASSERT_TRUE(retry.ok()) << key << ": " << retry.status();
    EXPECT_EQ(*retry, std::string(key) == "old-dated" ? *dated : *latest);
  }
  auto same = manager_->StartRun(RunTrigger::kManual, "old-dated", t);
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_EQ(*same, *dated);
  EXPECT_EQ(manager_->StartRun(RunTrigger::kManual, "old-dated", t + 1)
                .status()
                .code(),
            absl::StatusCode::kAlreadyExists);
  same = manager_->StartRun(RunTrigger::kManual, "old-latest",
                            FakePipeline::kLatestEvent);
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_EQ(*same, *latest);
}

TEST_F(RunManagerTest, LateWatcherGetsEarlierStagesThenLiveEventsThenTheEnd) {
  auto id = manager_->StartRun(RunTrigger::kManual, "", std::nullopt);
  ASSERT_TRUE(id.ok());
  std::vector<RunEvent> first;
  std::thread watcher([&] { first = Drain(*id); });
  absl::SleepFor(absl::Milliseconds(50));
  fake_.release.Open();
  const std::vector<RunEvent> late = Drain(*id);
  watcher.join();
  ASSERT_EQ(late.size(), 7u);  // 3 x (start, done) + terminal
  EXPECT_EQ(first.size(), late.size());
  EXPECT_EQ(late[0].stage, "ingest");
  EXPECT_FALSE(late[0].stage_done);
  EXPECT_TRUE(late[1].stage_done);
  EXPECT_EQ(late[5].stage, "publish");
  EXPECT_TRUE(late[6].terminal);
  EXPECT_EQ(late[6].state, RunState::kSucceeded);
}

TEST_F(RunManagerTest, CancelEndsTheRunCancelledAndUnpublished) {
  auto id = manager_->StartRun(RunTrigger::kManual, "", std::nullopt);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(manager_->Cancel(*id + 100).code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(manager_->Cancel(*id).ok());
  fake_.release.Open();
  const std::vector<RunEvent> events = Drain(*id);
  EXPECT_EQ(events.back().state, RunState::kCancelled);
  auto reader = Store::Open(path_, StoreOptions());
  auto run = (*reader)->GetRun(*id);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->state, RunState::kCancelled);
  EXPECT_FALSE(run->published);
}

TEST_F(RunManagerTest, AFailedRunEndsFailed) {
  fake_.fail = true;
  auto id = manager_->StartRun(RunTrigger::kSchedule, "", std::nullopt);
  ASSERT_TRUE(id.ok());
  fake_.release.Open();
  EXPECT_EQ(Drain(*id).back().state, RunState::kFailed);
}

TEST_F(RunManagerTest, ShutdownStopsTheRunAsInterruptedAndRefusesNewRuns) {
  auto id = manager_->StartRun(RunTrigger::kSchedule, "", std::nullopt);
  ASSERT_TRUE(id.ok());
  std::thread stopper([&] { manager_->Shutdown(); });
  absl::SleepFor(absl::Milliseconds(20));
  fake_.release.Open();
  stopper.join();
  // Not an operator's cancel: the run reads as cut short, and a scheduled
  // one is retried by the next daemon (RetryOwedAtStartUp).
  const RunEvent end = Drain(*id).back();
  EXPECT_EQ(end.state, RunState::kFailed);
  EXPECT_NE(end.error.find("interrupted"), std::string::npos) << end.error;
  auto reader = Store::Open(path_, StoreOptions());
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ((*reader)->GetRun(*id)->state, RunState::kFailed);
  EXPECT_EQ((*reader)->GetRun(*id)->error, end.error);
  EXPECT_EQ(manager_->StartRun(RunTrigger::kManual, "", std::nullopt)
                .status()
                .code(),
            absl::StatusCode::kUnavailable);
}

TEST_F(RunManagerTest, ARunAnOperatorCancelledStaysCancelledThroughShutdown) {
  auto id = manager_->StartRun(RunTrigger::kSchedule, "", std::nullopt);
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(manager_->Cancel(*id).ok());
  std::thread stopper([&] { manager_->Shutdown(); });
  absl::SleepFor(absl::Milliseconds(20));
  fake_.release.Open();
  stopper.join();
  EXPECT_EQ(Drain(*id).back().state, RunState::kCancelled);
}

}  // namespace
}  // namespace winback
