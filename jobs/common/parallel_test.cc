#include "jobs/common/parallel.h"

#include <atomic>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace winback {
namespace {

TEST(ResolveThreadsTest, ZeroMeansTheHardwareAndAtLeastOne) {
  EXPECT_EQ(ResolveThreads(3), 3);
  EXPECT_GE(ResolveThreads(0), 1);
}

TEST(ParallelForTest, CallsEveryIndexExactlyOnce) {
  for (int threads : {1, 2, 3, 8}) {
    for (size_t n : {size_t{0}, size_t{1}, size_t{2}, size_t{7}, size_t{100}}) {
      std::vector<std::atomic<int>> calls(n);
      ParallelFor(n, threads, [&](size_t i) { calls[i].fetch_add(1); });
      for (size_t i = 0; i < n; ++i) {
        EXPECT_EQ(calls[i].load(), 1) << "i=" << i << " threads=" << threads;
      }
    }
  }
}

TEST(ParallelForTest, UsesUpToTheRequestedThreadsAndNoMoreThanTasks) {
  // Every task waits until `threads` tasks have started, so this only
  // finishes if they really run at the same time.
  constexpr int kThreads = 3;
  std::atomic<int> started{0};
  std::mutex mu;
  std::set<std::thread::id> ids;
  ParallelFor(kThreads, kThreads, [&](size_t) {
    {
      std::lock_guard<std::mutex> lock(mu);
      ids.insert(std::this_thread::get_id());
    }
    started.fetch_add(1);
    while (started.load() < kThreads) std::this_thread::yield();
  });
  EXPECT_EQ(ids.size(), static_cast<size_t>(kThreads));

  ids.clear();
  ParallelFor(2, 8, [&](size_t) {
    std::lock_guard<std::mutex> lock(mu);
    ids.insert(std::this_thread::get_id());
  });
  EXPECT_LE(ids.size(), 2u);
}

TEST(ParallelForTest, OneThreadRunsInOrderOnTheCaller) {
  std::vector<size_t> order;
  const std::thread::id caller = std::this_thread::get_id();
  bool all_on_caller = true;
  ParallelFor(5, 1, [&](size_t i) {
    order.push_back(i);
    all_on_caller &= std::this_thread::get_id() == caller;
  });
  EXPECT_EQ(order, (std::vector<size_t>{0, 1, 2, 3, 4}));
  EXPECT_TRUE(all_on_caller);
}

}  // namespace
}  // namespace winback
