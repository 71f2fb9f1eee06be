#include "jobs/common/string_pool.h"

#include <gtest/gtest.h>

#include <string>

namespace winback {
namespace {

TEST(StringPool, InternsOncePerDistinctString) {
  StringPool pool;
  EXPECT_EQ(pool.Intern("a"), 0u);
  EXPECT_EQ(pool.Intern("b"), 1u);
  EXPECT_EQ(pool.Intern("a"), 0u);
  EXPECT_EQ(pool.size(), 2u);
  EXPECT_EQ(pool.Get(1), "b");
  EXPECT_EQ(pool.Find("b"), 1);
  EXPECT_EQ(pool.Find("c"), -1);
}

TEST(StringPool, ViewsSurviveGrowth) {
  StringPool pool;
  const uint32_t first = pool.Intern("first");
  std::string_view view = pool.Get(first);
  for (int i = 0; i < 200000; ++i) pool.Intern("key-" + std::to_string(i));
  pool.Intern(std::string(600000, 'x'));  // larger than a quarter block
  pool.Intern("after-large");
  EXPECT_EQ(view, "first");
  EXPECT_EQ(pool.Get(first).data(), view.data());
  // Every string is still found under its id after the table grew many
  // times, and interning it again adds nothing.
  for (int i = 0; i < 200000; ++i) {
    const std::string key = "key-" + std::to_string(i);
    ASSERT_EQ(pool.Find(key), i + 1) << key;
    ASSERT_EQ(pool.Intern(key), static_cast<uint32_t>(i + 1)) << key;
  }
  EXPECT_EQ(pool.size(), 200003u);
  EXPECT_EQ(pool.Get(200001), std::string(600000, 'x'));
  EXPECT_EQ(pool.Get(200002), "after-large");
  EXPECT_EQ(pool.Find("key-200000"), -1);
}

TEST(StringPool, EmptyStringIsAValue) {
  StringPool pool;
  EXPECT_EQ(pool.Intern(""), 0u);
  EXPECT_EQ(pool.Get(0), "");
  EXPECT_EQ(pool.Find(""), 0);
}

}  // namespace
}  // namespace winback
