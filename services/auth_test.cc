#include "services/auth.h"

#include <cstdlib>

#include "gtest/gtest.h"

namespace winback {
namespace {

TEST(ParseKeyFile, ReadsRolesAndSkipsCommentsAndBlankLines) {
  auto keys = ParseKeyFile(
      "# keys\n\nreader  abc\n  operator\txyz  \n# operator nope\n", "keys");
  ASSERT_TRUE(keys.ok()) << keys.status();
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ((*keys)[0].role, Role::kReader);
  EXPECT_EQ((*keys)[0].key, "abc");
  EXPECT_EQ((*keys)[1].role, Role::kOperator);
  EXPECT_EQ((*keys)[1].key, "xyz");
}

TEST(ParseKeyFile, RejectsUnknownRoleNamingTheLine) {
  auto keys = ParseKeyFile("reader a\nadmin b\n", "k.txt");
  ASSERT_FALSE(keys.ok());
  EXPECT_EQ(keys.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(keys.status().message().find("k.txt:2"), absl::string_view::npos);
}

TEST(ParseKeyFile, RejectsMissingKeyAndExtraFields) {
  EXPECT_FALSE(ParseKeyFile("reader\n", "k").ok());
  EXPECT_FALSE(ParseKeyFile("reader a b\n", "k").ok());
}

TEST(ParseKeyList, ReadsEnvironmentForm) {
  auto keys = ParseKeyList(" reader:abc , operator:xyz,", "WINBACK_API_KEYS");
  ASSERT_TRUE(keys.ok()) << keys.status();
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ((*keys)[1].role, Role::kOperator);
  EXPECT_EQ((*keys)[1].key, "xyz");
  EXPECT_TRUE(ParseKeyList("", "E")->empty());
}

TEST(ParseKeyList, RejectsMalformedEntriesWithoutEchoingThem) {
  auto keys = ParseKeyList("reader:abc,supersecret", "E");
  ASSERT_FALSE(keys.ok());
  EXPECT_EQ(keys.status().message().find("supersecret"),
            absl::string_view::npos);
  EXPECT_FALSE(ParseKeyList("boss:abc", "E").ok());
  EXPECT_FALSE(ParseKeyList("reader:", "E").ok());
}

TEST(KeyRing, LooksUpRoles) {
  KeyRing ring({{Role::kReader, "r-key"}, {Role::kOperator, "o-key"}});
  EXPECT_EQ(ring.Lookup("r-key"), Role::kReader);
  EXPECT_EQ(ring.Lookup("o-key"), Role::kOperator);
  EXPECT_EQ(ring.Lookup("o-ke"), std::nullopt);
  EXPECT_EQ(ring.Lookup("o-key "), std::nullopt);
  EXPECT_EQ(ring.Lookup(""), std::nullopt);
}

TEST(DigestsEqual, ComparesWholeDigests) {
  auto a = Sha256("abc");
  auto b = Sha256("abc");
  EXPECT_TRUE(DigestsEqual(a, b));
  b[31] ^= 1;
  EXPECT_FALSE(DigestsEqual(a, b));
  b = a;
  b[0] ^= 0x80;
  EXPECT_FALSE(DigestsEqual(a, b));
}

TEST(Roles, OperatorImpliesReader) {
  EXPECT_TRUE(Grants(Role::kOperator, Role::kReader));
  EXPECT_TRUE(Grants(Role::kOperator, Role::kOperator));
  EXPECT_TRUE(Grants(Role::kReader, Role::kReader));
  EXPECT_FALSE(Grants(Role::kReader, Role::kOperator));
}

TEST(LoadApiKeys, MergesFileAndEnvironment) {
  const std::string path = ::testing::TempDir() + "/keys.txt";
  FILE* f = std::fopen(path.c_str(), "w");
  std::fputs("reader file-key\n", f);
  std::fclose(f);
  ::setenv("WB_TEST_KEYS", "operator:env-key", 1);
  auto keys = LoadApiKeys(path, "WB_TEST_KEYS");
  ASSERT_TRUE(keys.ok()) << keys.status();
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ((*keys)[1].key, "env-key");
  auto missing = LoadApiKeys(path + ".nope", "");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("service.api_keys_file"),
            absl::string_view::npos);
}

}  // namespace
}  // namespace winback
