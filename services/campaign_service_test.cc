// CampaignService's target lists through a real (in-process) gRPC channel:
// pages and streams served from the target cache, and with the cache off,
// must be exactly what the store holds, as the typed handlers built them.
#include "services/campaign_service.h"

#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "google/protobuf/util/message_differencer.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "services/convert.h"

namespace winback {
namespace {

constexpr char kKey[] = "reader-key";
constexpr Micros kT0 = 1'700'000'000LL * kMicrosPerSecond;
constexpr int64_t kBig = 2500;  // rows of campaign "big"
constexpr int64_t kSmall = 7;   // rows of campaign "small"

class CampaignServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (std::filesystem::temp_directory_path() /
             ("winback-campaign-service-" + std::to_string(::getpid()) + "-" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name() +
              ".db"))
                .string();
    RemoveDb();
    StoreOptions options;
    options.keep_runs = 1;  // every publish deletes the run before it
    auto writer = Store::Open(path_, options);
    ASSERT_TRUE(writer.ok()) << writer.status();
    writer_ = *std::move(writer);
    auto pool = StorePool::Open(path_, options, 4);
    ASSERT_TRUE(pool.ok()) << pool.status();
    pool_ = *std::move(pool);
  }

  void TearDown() override {
    server_.reset();
    service_.reset();
    pool_.reset();
    writer_.reset();
    RemoveDb();
  }

  void RemoveDb() {
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::filesystem::remove(path_ + suffix);
    }
  }

  // Publishes a run with the lists "big" and "small"; rows differ in every
  // field, and some have no reasons.
  int64_t Publish() {
    auto run = writer_->BeginRun(RunTrigger::kManual, "", kT0, kT0);
    EXPECT_TRUE(run.ok()) << run.status();
    TargetTable targets;
    std::vector<CampaignRecord> campaigns;
    for (const auto& [name, rows] :
         {std::pair<std::string, int64_t>{"big", kBig}, {"small", kSmall}}) {
      for (int64_t i = 0; i < rows; ++i) {
        targets.customer_id.push_back(1000 * run->run_id +
                                      (name == "big" ? i : kBig + i));
        targets.campaign.push_back(name);
        targets.segment.push_back(i % 3 == 0 ? "At Risk" : "Loyal");
        targets.churn_score.push_back(0.5 + i * 1e-4);
        targets.revenue_at_risk.push_back(1e6 - i * 3.25);
        targets.holdout.push_back(i % 10 == 0);
        targets.reasons.push_back(
            i % 4 == 0 ? ""
                       : EncodeReasons({{"recency_days", 1.0 + i},
                                        {"frequency", -0.5 * (i % 5)}}));
        targets.promo_code.push_back(name == "big" ? "BIG10" : "");
      }
      CampaignRecord c;
      c.config.name = name;
      c.summary.name = name;
      c.summary.assigned = rows;
      campaigns.push_back(c);
    }
    RunOutputs out;
    out.campaigns = &campaigns;
    out.targets = &targets;
    EXPECT_TRUE(writer_->PublishRun(run->run_id, out, kT0).ok());
    return run->run_id;
  }

  void Start(size_t cache_bytes, int stream_chunk = 2000) {
    CampaignServiceOptions options;
    options.max_page_size = 5000;
    options.stream_chunk = stream_chunk;
    options.target_cache_bytes = cache_bytes;
    service_ = std::make_unique<CampaignServiceImpl>(pool_.get(), &keys_,
                                                     &tokens_, options);
    grpc::ServerBuilder builder;
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(64 << 20);
    stub_ = v1::CampaignService::NewStub(server_->InProcessChannel(args));
  }

  static std::unique_ptr<grpc::ClientContext> Ctx() {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->AddMetadata("authorization", std::string("Bearer ") + kKey);
    return ctx;
  }

  grpc::Status List(const v1::ListTargetsRequest& req,
                    v1::ListTargetsResponse* resp) {
    return stub_->ListTargets(Ctx().get(), req, resp);
  }

  // Page [offset, offset + size) asked for with a token.
  grpc::Status Page(int64_t run, const std::string& campaign, int64_t offset,
                    int size, v1::ListTargetsResponse* resp) {
    v1::ListTargetsRequest req;
    req.set_campaign(campaign);
    req.set_page_size(size);
    if (offset > 0) {
      req.set_page_token(tokens_.EncodeTargets({run, campaign, offset}));
    } else {
      req.set_run_id(run);
    }
    return List(req, resp);
  }

  // What the store holds for the page, as the typed handler converted it.
  std::vector<v1::Target> Expected(int64_t run, const std::string& campaign,
                                   int64_t offset, int64_t size) {
    auto rows = writer_->GetTargets(run, campaign, offset, size);
    EXPECT_TRUE(rows.ok()) << rows.status();
    std::vector<v1::Target> out(rows->size());
    for (size_t i = 0; i < rows->size(); ++i) ToProto(*rows, i, &out[i]);
    return out;
  }

  void ExpectTargets(const google::protobuf::RepeatedPtrField<v1::Target>& got,
                     const std::vector<v1::Target>& want) {
    ASSERT_EQ(got.size(), static_cast<int>(want.size()));
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(
          got[static_cast<int>(i)], want[i]))
          << "target " << i << ":\n"
          << got[static_cast<int>(i)].DebugString() << "want\n"
          << want[i].DebugString();
    }
  }

  void ExpectPagesMatchTheStore(int64_t run) {
    const struct {
      const char* campaign;
      int64_t offset;
      int size;
    } cases[] = {
        {"big", 0, 1},         {"big", 0, 1000},     {"big", 1, 7},
        {"big", 999, 1000},    {"big", 1234, 500},   {"big", 2000, 5000},
        {"big", kBig - 1, 10}, {"big", kBig - 5, 5}, {"big", kBig, 10},
        {"small", 0, 3},       {"small", 3, 100},    {"small", 6, 1},
    };
    for (const auto& c : cases) {
      SCOPED_TRACE(::testing::Message() << c.campaign << " offset " << c.offset
                                        << " size " << c.size);
      v1::ListTargetsResponse resp;
      const grpc::Status s = Page(run, c.campaign, c.offset, c.size, &resp);
      ASSERT_TRUE(s.ok()) << s.error_message();
      const int64_t total = std::string(c.campaign) == "big" ? kBig : kSmall;
      EXPECT_EQ(resp.run_id(), run);
      EXPECT_EQ(resp.total_size(), total);
      ExpectTargets(resp.targets(),
                    Expected(run, c.campaign, c.offset, c.size));
      const int64_t next = c.offset + resp.targets_size();
      if (next < total) {
        auto token = tokens_.DecodeTargets(resp.next_page_token(), c.campaign);
        ASSERT_TRUE(token.ok()) << token.status();
        EXPECT_EQ(token->run_id, run);
        EXPECT_EQ(token->offset, next);
      } else {
        EXPECT_EQ(resp.next_page_token(), "");
      }
    }
  }

  void ExpectStreamMatchesTheStore(int64_t run, const std::string& campaign) {
    v1::StreamTargetsRequest req;
    req.set_campaign(campaign);
    req.set_run_id(run);
    auto ctx = Ctx();
    auto reader = stub_->StreamTargets(ctx.get(), req);
    google::protobuf::RepeatedPtrField<v1::Target> got;
    v1::Target t;
    while (reader->Read(&t)) *got.Add() = t;
    const grpc::Status s = reader->Finish();
    ASSERT_TRUE(s.ok()) << s.error_message();
    ExpectTargets(got, Expected(run, campaign, 0, 1 << 30));
  }

  std::string path_;
  std::unique_ptr<Store> writer_;
  std::unique_ptr<StorePool> pool_;
  const KeyRing keys_{std::vector<ApiKey>{{Role::kReader, kKey}}};
  const PageTokenCodec tokens_{"0123456789abcdef0123456789abcdef"};
  std::unique_ptr<CampaignServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::CampaignService::Stub> stub_;
};

TEST_F(CampaignServiceTest, CachedPagesEqualPagesReadFromTheStore) {
  const int64_t run = Publish();
  Start(64 << 20);
  ExpectPagesMatchTheStore(run);
  // One load per list; every other page came from memory.
  EXPECT_EQ(service_->cache().stats().misses, 2);
  EXPECT_EQ(service_->cache().stats().lists, 2u);
  EXPECT_GT(service_->cache().stats().hits, 0);
}

TEST_F(CampaignServiceTest, UncachedPagesEqualPagesReadFromTheStore) {
  const int64_t run = Publish();
  Start(0);
  ExpectPagesMatchTheStore(run);
  EXPECT_EQ(service_->cache().stats().lists, 0u);
}

TEST_F(CampaignServiceTest, AListTooLargeForTheCacheIsReadPageByPage) {
  const int64_t run = Publish();
  Start(64 << 10);  // holds "small", not "big"
  ExpectPagesMatchTheStore(run);
  EXPECT_EQ(service_->cache().stats().lists, 1u);
}

TEST_F(CampaignServiceTest, PagingWithTokensWalksTheWholeList) {
  const int64_t run = Publish();
  Start(64 << 20);
  v1::ListTargetsRequest req;
  req.set_campaign("big");
  req.set_page_size(333);
  google::protobuf::RepeatedPtrField<v1::Target> all;
  do {
    v1::ListTargetsResponse resp;
    const grpc::Status s = List(req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    for (const v1::Target& t : resp.targets()) *all.Add() = t;
    req.set_page_token(resp.next_page_token());
  } while (!req.page_token().empty());
  ExpectTargets(all, Expected(run, "big", 0, kBig));
}

TEST_F(CampaignServiceTest, StreamsEqualTheStoreList) {
  const int64_t run = Publish();
  Start(64 << 20);
  ExpectStreamMatchesTheStore(run, "big");
  ExpectStreamMatchesTheStore(run, "small");
  EXPECT_EQ(service_->cache().stats().misses, 2);
  ExpectStreamMatchesTheStore(run, "big");
  EXPECT_EQ(service_->cache().stats().misses, 2);
}

TEST_F(CampaignServiceTest, UncachedStreamsEqualTheStoreList) {
  const int64_t run = Publish();
  Start(0, /*stream_chunk=*/100);  // kBig is a multiple of the chunk
  ExpectStreamMatchesTheStore(run, "big");
  ExpectStreamMatchesTheStore(run, "small");
}

TEST_F(CampaignServiceTest, AListOfADeletedRunIsNotServed) {
  const int64_t first = Publish();
  Start(64 << 20);
  v1::ListTargetsResponse page;
  ASSERT_TRUE(Page(first, "big", 0, 100, &page).ok());
  ASSERT_FALSE(page.next_page_token().empty());
  EXPECT_EQ(service_->cache().stats().lists, 1u);

  const int64_t second = Publish();  // keep_runs 1: deletes the first run
  ASSERT_EQ(writer_->GetRun(first).status().code(),
            absl::StatusCode::kNotFound);
  // The first run's token, its run id and its stream: all NOT_FOUND, as
  // before there was a cache, and its list is dropped.
  v1::ListTargetsRequest next;
  next.set_campaign("big");
  next.set_page_token(page.next_page_token());
  v1::ListTargetsResponse resp;
  grpc::Status s = List(next, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
  EXPECT_EQ(s.error_message(), "run " + std::to_string(first) + " not found");
  EXPECT_EQ(service_->cache().stats().lists, 0u);
  EXPECT_EQ(Page(first, "big", 0, 100, &resp).error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::StreamTargetsRequest sreq;
  sreq.set_campaign("big");
  sreq.set_run_id(first);
  auto ctx = Ctx();
  auto reader = stub_->StreamTargets(ctx.get(), sreq);
  v1::Target t;
  EXPECT_FALSE(reader->Read(&t));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
  // The new run is served.
  ASSERT_TRUE(Page(second, "big", 0, 100, &resp).ok());
  EXPECT_EQ(resp.run_id(), second);
  ExpectTargets(resp.targets(), Expected(second, "big", 0, 100));
}

TEST_F(CampaignServiceTest, ConcurrentFirstRequestsLoadTheListOnce) {
  const int64_t run = Publish();
  Start(64 << 20);
  constexpr int kClients = 8;
  std::vector<std::thread> clients;
  std::vector<grpc::Status> results(kClients);
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      v1::ListTargetsResponse resp;
      results[i] = Page(run, "big", 0, 10, &resp);
    });
  }
  for (std::thread& c : clients) c.join();
  for (const grpc::Status& s : results)
    EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(service_->cache().stats().misses, 1);
  EXPECT_EQ(service_->cache().stats().hits, kClients - 1);
}

TEST_F(CampaignServiceTest, WarmRunLoadsEveryListSoTheFirstPageIsAHit) {
  const int64_t run = Publish();
  Start(64 << 20);
  const absl::StatusOr<int> warmed = service_->WarmRun(run);
  ASSERT_TRUE(warmed.ok()) << warmed.status();
  EXPECT_EQ(*warmed, 2);  // "big" and "small"
  EXPECT_EQ(service_->cache().stats().misses, 2);
  EXPECT_EQ(service_->cache().stats().lists, 2u);
  v1::ListTargetsResponse resp;
  ASSERT_TRUE(Page(run, "small", 0, 100, &resp).ok());
  ExpectTargets(resp.targets(), Expected(run, "small", 0, 100));
  EXPECT_EQ(service_->cache().stats().misses, 2);
  EXPECT_EQ(service_->cache().stats().hits, 1);
  EXPECT_EQ(service_->WarmRun(run + 1).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(CampaignServiceTest, WarmRunDoesNothingWithTheCacheOff) {
  const int64_t run = Publish();
  Start(0);
  const absl::StatusOr<int> warmed = service_->WarmRun(run);
  ASSERT_TRUE(warmed.ok()) << warmed.status();
  EXPECT_EQ(*warmed, 0);
  EXPECT_EQ(service_->cache().stats().misses, 0);
}

TEST_F(CampaignServiceTest, ErrorCodes) {
  const int64_t run = Publish();
  Start(64 << 20);
  v1::ListTargetsResponse resp;
  v1::ListTargetsRequest req;
  EXPECT_EQ(List(req, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  req.set_campaign("nope");
  EXPECT_EQ(List(req, &resp).error_code(), grpc::StatusCode::NOT_FOUND);
  req.set_campaign("big");
  req.set_page_size(-1);
  EXPECT_EQ(List(req, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  req.set_page_size(10);
  req.set_run_id(run + 100);
  EXPECT_EQ(List(req, &resp).error_code(), grpc::StatusCode::NOT_FOUND);
  req.set_run_id(0);
  req.set_page_token("garbage!");
  EXPECT_EQ(List(req, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  req.set_page_token(tokens_.EncodeTargets({run, "big", kBig + 1}));
  EXPECT_EQ(List(req, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  req.set_page_token(tokens_.EncodeTargets({run, "small", 1}));
  EXPECT_EQ(List(req, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  req.clear_page_token();
  grpc::ClientContext anonymous;
  EXPECT_EQ(stub_->ListTargets(&anonymous, req, &resp).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);

  v1::StreamTargetsRequest sreq;
  sreq.set_campaign("nope");
  auto ctx = Ctx();
  auto reader = stub_->StreamTargets(ctx.get(), sreq);
  v1::Target t;
  while (reader->Read(&t)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
  sreq.clear_campaign();
  auto ctx2 = Ctx();
  auto reader2 = stub_->StreamTargets(ctx2.get(), sreq);
  while (reader2->Read(&t)) {
  }
  EXPECT_EQ(reader2->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

}  // namespace
}  // namespace winback
