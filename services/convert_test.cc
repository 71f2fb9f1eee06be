#include "services/convert.h"

#include "gtest/gtest.h"

namespace winback {
namespace {

TEST(ToGrpcStatus, KeepsCodeAndMessage) {
  const std::pair<absl::Status, grpc::StatusCode> cases[] = {
      {absl::OkStatus(), grpc::StatusCode::OK},
      {absl::InvalidArgumentError("x"), grpc::StatusCode::INVALID_ARGUMENT},
      {absl::NotFoundError("x"), grpc::StatusCode::NOT_FOUND},
      {absl::FailedPreconditionError("x"),
       grpc::StatusCode::FAILED_PRECONDITION},
      {absl::AbortedError("x"), grpc::StatusCode::ABORTED},
      {absl::AlreadyExistsError("x"), grpc::StatusCode::ALREADY_EXISTS},
      {absl::UnavailableError("x"), grpc::StatusCode::UNAVAILABLE},
      {absl::DataLossError("x"), grpc::StatusCode::DATA_LOSS},
      {absl::InternalError("x"), grpc::StatusCode::INTERNAL},
      {absl::UnauthenticatedError("x"), grpc::StatusCode::UNAUTHENTICATED},
      {absl::PermissionDeniedError("x"), grpc::StatusCode::PERMISSION_DENIED},
      {absl::CancelledError("x"), grpc::StatusCode::CANCELLED},
  };
  for (const auto& [in, code] : cases) {
    const grpc::Status out = ToGrpcStatus(in);
    EXPECT_EQ(out.error_code(), code) << in;
    EXPECT_EQ(out.error_message(), std::string(in.message()));
  }
  EXPECT_STREQ(GrpcCodeName(grpc::StatusCode::FAILED_PRECONDITION),
               "FAILED_PRECONDITION");
}

TEST(Status, OnlyTheServersOwnFaultsAreLoggedAsErrors) {
  for (grpc::StatusCode code :
       {grpc::StatusCode::UNKNOWN, grpc::StatusCode::INTERNAL,
        grpc::StatusCode::DATA_LOSS, grpc::StatusCode::UNAVAILABLE}) {
    EXPECT_TRUE(IsServerFault(code)) << GrpcCodeName(code);
  }
  for (grpc::StatusCode code :
       {grpc::StatusCode::OK, grpc::StatusCode::CANCELLED,
        grpc::StatusCode::INVALID_ARGUMENT, grpc::StatusCode::DEADLINE_EXCEEDED,
        grpc::StatusCode::NOT_FOUND, grpc::StatusCode::ALREADY_EXISTS,
        grpc::StatusCode::PERMISSION_DENIED,
        grpc::StatusCode::RESOURCE_EXHAUSTED,
        grpc::StatusCode::FAILED_PRECONDITION, grpc::StatusCode::ABORTED,
        grpc::StatusCode::OUT_OF_RANGE, grpc::StatusCode::UNIMPLEMENTED,
        grpc::StatusCode::UNAUTHENTICATED}) {
    EXPECT_FALSE(IsServerFault(code)) << GrpcCodeName(code);
  }
}

TEST(Timestamps, RoundTripIncludingNegativeTimes) {
  for (Micros t : {Micros{0}, Micros{1'700'000'000'123'456},
                   Micros{-1}, Micros{-1'500'000}}) {
    auto back = FromTimestamp(ToTimestamp(t), "as_of");
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, t);
  }
  google::protobuf::Timestamp bad;
  bad.set_nanos(-5);
  EXPECT_EQ(FromTimestamp(bad, "as_of").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ToProto, RunStatesAndTriggers) {
  RunRecord r;
  r.run_id = 7;
  r.state = RunState::kCancelled;
  r.trigger = RunTrigger::kCatchUp;
  r.started_at = 5;
  r.stages = {{"ingest", 1.5, 10}, {"model", 0.5, 3, 0.75}};
  v1::Run out;
  ToProto(r, {{"customers", 3}}, &out);
  EXPECT_EQ(out.state(), v1::RUN_STATE_CANCELLED);
  EXPECT_EQ(out.trigger(), v1::RUN_TRIGGER_CATCH_UP);
  EXPECT_FALSE(out.has_finish_time());
  EXPECT_EQ(out.stages(0).rows(), 10);
  // A stage's CPU time is served only when it was measured.
  EXPECT_FALSE(out.stages(0).has_cpu_seconds());
  ASSERT_TRUE(out.stages(1).has_cpu_seconds());
  EXPECT_EQ(out.stages(1).cpu_seconds(), 0.75);
  EXPECT_EQ(out.counts().at("customers"), 3);
  // Not recorded: zeros.
  EXPECT_EQ(out.cpu_seconds(), 0);
  EXPECT_EQ(out.peak_rss_bytes(), 0);
  r.cpu_seconds = 11.5;
  r.peak_rss_bytes = 1'073'741'824;
  // An error that is not UTF-8 is served escaped: a proto string must be.
  r.error = "found 'pr\xE9nom'";
  ToProto(r, {}, &out);
  EXPECT_EQ(out.error(), "found 'pr\\xE9nom'");
  EXPECT_EQ(out.cpu_seconds(), 11.5);
  EXPECT_EQ(out.peak_rss_bytes(), 1'073'741'824);
}

TEST(ToProto, RunEventErrorsAreServedAsUtf8) {
  RunEvent e;
  e.run_id = 3;
  e.state = RunState::kFailed;
  e.error = "found 'pr\xE9nom'";
  e.terminal = true;
  v1::RunEvent out;
  ToProto(e, &out);
  EXPECT_EQ(out.error(), "found 'pr\\xE9nom'");
  EXPECT_EQ(out.state(), v1::RUN_STATE_FAILED);
}

TEST(ToProto, RowIssuesSplitRepairsFromRejects) {
  v1::RowIssue skipped, repaired;
  ToProto(RejectStat{"click_stream.csv", "bad_timestamp", 12, {5, 9}},
          &skipped);
  EXPECT_EQ(skipped.file(), "click_stream.csv");
  EXPECT_EQ(skipped.reason(), "bad_timestamp");
  EXPECT_FALSE(skipped.repaired());
  EXPECT_EQ(skipped.count(), 12);
  EXPECT_EQ(std::vector<int64_t>(skipped.first_lines().begin(),
                                 skipped.first_lines().end()),
            (std::vector<int64_t>{5, 9}));
  ToProto(RejectStat{"product.csv", "repaired:unquoted_comma", 3, {2}},
          &repaired);
  EXPECT_EQ(repaired.reason(), "unquoted_comma");
  EXPECT_TRUE(repaired.repaired());
  EXPECT_EQ(repaired.count(), 3);
}

// The partial month says so, and up to when: the run's as-of time.
TEST(ToProto, DiagnosisMarksThePartialMonthThroughTheAsOfTime) {
  DiagnosisRecord d;
  d.diagnosis.as_of = 1'658'318'400'123'456;  // 2022-07-20T12:00:00.123456Z
  MonthlyRow june, july;
  june.month = *ParseMonth("2022-06");
  june.revenue = 10;
  july.month = *ParseMonth("2022-07");
  july.revenue = 4;
  july.partial = true;
  d.diagnosis.months = {june, july};
  v1::Diagnosis out;
  ToProto(d, 3, &out);
  ASSERT_EQ(out.months_size(), 2);
  EXPECT_EQ(out.months(0).month(), "2022-06");
  EXPECT_FALSE(out.months(0).partial());
  EXPECT_FALSE(out.months(0).has_through());
  EXPECT_EQ(out.months(1).month(), "2022-07");
  EXPECT_TRUE(out.months(1).partial());
  ASSERT_TRUE(out.months(1).has_through());
  EXPECT_EQ(out.months(1).through().seconds(), 1'658'318'400);
  EXPECT_EQ(out.months(1).through().nanos(), 123'456'000);
}

TEST(ToProto, CampaignCarriesItsContactCapOnlyWhenSet) {
  CampaignRecord c;
  c.config.name = "win-back";
  c.config.suppress_listed_within = 30 * kMicrosPerDay + 1;
  c.summary.suppressed = 9;
  c.summary.recently_listed = 7;
  v1::Campaign out;
  ToProto(c, &out);
  ASSERT_TRUE(out.has_suppress_listed_within());
  EXPECT_EQ(out.suppress_listed_within().seconds(), 30 * 86'400);
  EXPECT_EQ(out.suppress_listed_within().nanos(), 1000);
  EXPECT_EQ(out.recently_listed(), 7);
  c.config.suppress_listed_within = 0;
  v1::Campaign uncapped;
  ToProto(c, &uncapped);
  EXPECT_FALSE(uncapped.has_suppress_listed_within());
}

TEST(ToProto, CustomerOnNoListSaysWhichContactCapHoldsThem) {
  CustomerRecord c;
  c.customer_id = 7;
  c.held_by = "win-back";
  v1::Customer out;
  ToProto(c, 3, &out);
  EXPECT_EQ(out.campaign(), "");
  EXPECT_EQ(out.held_by(), "win-back");
  EXPECT_EQ(out.group(), v1::TARGET_GROUP_UNSPECIFIED);
}

TEST(ParseReasons, AcceptsJsonAndFreeText) {
  auto a = ParseReasons(EncodeReasons({{"recency_days", 1.25}}));
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].feature, "recency_days");
  EXPECT_DOUBLE_EQ(a[0].contribution, 1.25);
  auto many = ParseReasons(EncodeReasons(
      {{"a", -1e-7}, {"b_c", 2}, {"d", 0.125}}));
  ASSERT_EQ(many.size(), 3u);
  EXPECT_EQ(many[1].feature, "b_c");
  EXPECT_DOUBLE_EQ(many[0].contribution, -1e-7);
  EXPECT_DOUBLE_EQ(many[2].contribution, 0.125);
  // Whitespace and other key orders go through the full parser.
  auto spaced = ParseReasons(
      "[ {\"feature\": \"x\", \"contribution\": 1.5} ]");
  ASSERT_EQ(spaced.size(), 1u);
  EXPECT_EQ(spaced[0].feature, "x");
  EXPECT_TRUE(ParseReasons("[]").empty());
  auto b = ParseReasons("recency_days +1.2; cart_abandon_share -0.8");
  ASSERT_EQ(b.size(), 2u);
  EXPECT_DOUBLE_EQ(b[1].contribution, -0.8);
  EXPECT_TRUE(ParseReasons("").empty());
}

}  // namespace
}  // namespace winback
