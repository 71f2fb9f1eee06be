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
  EXPECT_EQ(pool.Find("key-199999"), 200000);
  EXPECT_EQ(pool.Get(200001), std::string(600000, 'x'));
  EXPECT_EQ(pool.Get(200002), "after-large");
}

TEST(StringPool, EmptyStringIsAValue) {
  StringPool pool;
  EXPECT_EQ(pool.Intern(""), 0u);
  EXPECT_EQ(pool.Get(0), "");
  EXPECT_EQ(pool.Find(""), 0);
}

}  // namespace
}  // namespace winback
