#include "services/page_token.h"

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"

namespace winback {
namespace {

const PageTokenCodec& Codec() {
  static const PageTokenCodec kCodec(std::string(32, 'k'));
  return kCodec;
}

TEST(PageToken, RoundTrips) {
  const std::string text = Codec().EncodeTargets({42, "win-back", 3000});
  EXPECT_EQ(text.find_first_not_of(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
            std::string::npos);
  auto t = Codec().DecodeTargets(text, "win-back");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->run_id, 42);
  EXPECT_EQ(t->offset, 3000);
  EXPECT_EQ(t->campaign, "win-back");
  auto r = Codec().DecodeRuns(Codec().EncodeRuns(17));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 17);
}

TEST(PageToken, RejectsTamperingGarbageAndForeignCampaigns) {
  const std::string text = Codec().EncodeTargets({42, "a", 1000});
  std::string raw;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(text, &raw));
  for (size_t i = 0; i < raw.size(); ++i) {
    std::string bad = raw;
    bad[i] ^= 0x01;
    std::string enc;
    absl::WebSafeBase64Escape(bad, &enc);
    auto t = Codec().DecodeTargets(enc, "a");
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument) << i;
  }
  EXPECT_EQ(Codec().DecodeTargets("garbage!!", "a").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Codec().DecodeTargets("", "a").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Codec().DecodeTargets(text, "b").status().code(),
            absl::StatusCode::kInvalidArgument);
  // Another server's secret.
  PageTokenCodec other(std::string(32, 'x'));
  EXPECT_FALSE(other.DecodeTargets(text, "a").ok());
  // A runs token is not a targets token and vice versa.
  EXPECT_FALSE(Codec().DecodeTargets(Codec().EncodeRuns(5), "a").ok());
  EXPECT_FALSE(Codec().DecodeRuns(text).ok());
}

TEST(PageToken, SecretIsCreatedOnceAndReused) {
  const std::string path = ::testing::TempDir() + "/secret-test";
  std::remove(path.c_str());
  auto a = LoadOrCreateSecret(path);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->size(), 32u);
  auto b = LoadOrCreateSecret(path);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*a, *b);
}

}  // namespace
}  // namespace winback
