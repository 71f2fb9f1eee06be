#include "services/target_cache.h"

#include <atomic>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "services/test_gate.h"

namespace winback {
namespace {

using ListOr = absl::StatusOr<std::shared_ptr<const TargetList>>;

// A list of `records` records of `record_bytes` bytes each.
std::shared_ptr<const TargetList> MakeList(int records, size_t record_bytes,
                                           char fill = 'x') {
  auto list = std::make_shared<TargetList>();
  for (int i = 0; i < records; ++i) {
    list->bytes.append(record_bytes, fill);
    list->ends.push_back(list->bytes.size());
  }
  list->bytes.shrink_to_fit();
  list->ends.shrink_to_fit();
  return list;
}

TEST(TargetList, RecordsAreByteRanges) {
  TargetList list;
  for (std::string_view r : {"a", "bc", "", "def"}) {
    list.bytes.append(r);
    list.ends.push_back(list.bytes.size());
  }
  EXPECT_EQ(list.size(), 4);
  EXPECT_EQ(list.Record(0), "a");
  EXPECT_EQ(list.Record(1), "bc");
  EXPECT_EQ(list.Record(2), "");
  EXPECT_EQ(list.Record(3), "def");
  EXPECT_EQ(list.Records(1, 4), "bcdef");
  EXPECT_EQ(list.Records(0, 0), "");
  EXPECT_EQ(list.Records(4, 4), "");
}

TEST(TargetListCache, LoadsOnceThenServesFromMemory) {
  TargetListCache cache(1 << 20);
  int loads = 0;
  const auto load = [&]() -> ListOr {
    ++loads;
    return MakeList(10, 10);
  };
  ListOr first = cache.Get(1, "a", load);
  ASSERT_TRUE(first.ok());
  ListOr second = cache.Get(1, "a", load);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*first, *second);  // the same object
  EXPECT_EQ(loads, 1);
  // Another campaign of the run, and the same campaign of another run, are
  // other lists.
  ASSERT_TRUE(cache.Get(1, "b", load).ok());
  ASSERT_TRUE(cache.Get(2, "a", load).ok());
  EXPECT_EQ(loads, 3);
  const TargetCacheStats stats = cache.stats();
  EXPECT_EQ(stats.hits, 1);
  EXPECT_EQ(stats.misses, 3);
  EXPECT_EQ(stats.lists, 3u);
  EXPECT_EQ(stats.bytes, 3 * (*first)->MemoryBytes());
}

TEST(TargetListCache, ByteBoundEvictsTheLeastRecentlyUsed) {
  const size_t one = MakeList(100, 100)->MemoryBytes();
  // Room for three lists, not four.
  std::vector<std::pair<TargetCacheEvent, size_t>> events;
  absl::Mutex mu;
  TargetListCache cache(3 * one + one / 2,
                        [&](TargetCacheEvent event, size_t bytes) {
                          absl::MutexLock lock(&mu);
                          events.emplace_back(event, bytes);
                        });
  std::vector<std::string> loaded;
  const auto get = [&](const std::string& campaign) {
    ListOr list = cache.Get(7, campaign, [&]() -> ListOr {
      loaded.push_back(campaign);
      return MakeList(100, 100);
    });
    ASSERT_TRUE(list.ok());
    ASSERT_NE(*list, nullptr);
  };
  get("a");
  get("b");
  get("c");
  get("a");  // a is now the most recently used; b the least
  get("d");  // evicts b
  EXPECT_EQ(cache.stats().evictions, 1);
  EXPECT_EQ(cache.stats().lists, 3u);
  EXPECT_LE(cache.stats().bytes, 3 * one + one / 2);
  get("a");
  get("c");
  get("d");
  EXPECT_EQ(loaded, (std::vector<std::string>{"a", "b", "c", "d"}));
  get("b");  // loaded again, evicting a (least recently used now)
  get("c");
  get("d");
  EXPECT_EQ(loaded, (std::vector<std::string>{"a", "b", "c", "d", "b"}));
  get("a");
  EXPECT_EQ(loaded, (std::vector<std::string>{"a", "b", "c", "d", "b", "a"}));

  // The observer saw every hit, miss and eviction, with the bytes held.
  absl::MutexLock lock(&mu);
  const TargetCacheStats stats = cache.stats();
  int hits = 0, misses = 0, evictions = 0;
  for (const auto& [event, bytes] : events) {
    hits += event == TargetCacheEvent::kHit;
    misses += event == TargetCacheEvent::kMiss;
    evictions += event == TargetCacheEvent::kEviction;
  }
  EXPECT_EQ(hits, stats.hits);
  EXPECT_EQ(misses, stats.misses);
  EXPECT_EQ(evictions, stats.evictions);
  EXPECT_EQ(events.back().second, stats.bytes);
}

TEST(TargetListCache, AListLargerThanTheBoundIsNotKept) {
  TargetListCache cache(1000);
  int loads = 0;
  const auto load = [&]() -> ListOr {
    ++loads;
    return MakeList(100, 100);
  };
  // The call that loaded it still gets it; later calls are told to read the
  // store themselves, without another load.
  ListOr first = cache.Get(1, "big", load);
  ASSERT_TRUE(first.ok());
  ASSERT_NE(*first, nullptr);
  EXPECT_EQ((*first)->size(), 100);
  ListOr second = cache.Get(1, "big", load);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*second, nullptr);
  EXPECT_EQ(loads, 1);
  EXPECT_EQ(cache.stats().lists, 0u);
  EXPECT_EQ(cache.stats().bytes, 0u);
}

TEST(TargetListCache, ALoadMayGiveUpOnAListTooLarge) {
  TargetListCache cache(1000);
  int loads = 0;
  const auto load = [&]() -> ListOr {
    ++loads;
    return std::shared_ptr<const TargetList>();  // stopped reading
  };
  for (int i = 0; i < 3; ++i) {
    ListOr list = cache.Get(1, "big", load);
    ASSERT_TRUE(list.ok());
    EXPECT_EQ(*list, nullptr);
  }
  EXPECT_EQ(loads, 1);
  EXPECT_EQ(cache.stats().lists, 0u);
}

TEST(TargetListCache, ZeroBytesTurnsTheCacheOff) {
  TargetListCache cache(0);
  int loads = 0;
  ListOr list = cache.Get(1, "a", [&]() -> ListOr {
    ++loads;
    return MakeList(1, 1);
  });
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(*list, nullptr);
  EXPECT_EQ(loads, 0);
}

TEST(TargetListCache, ErrorsAreReturnedNotKept) {
  TargetListCache cache(1 << 20);
  int loads = 0;
  const auto fail = [&]() -> ListOr {
    ++loads;
    return absl::NotFoundError("run 1 has no campaign 'a'");
  };
  EXPECT_EQ(cache.Get(1, "a", fail).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(cache.Get(1, "a", fail).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(loads, 2);
  EXPECT_EQ(cache.stats().lists, 0u);
}

TEST(TargetListCache, EraseDropsTheList) {
  TargetListCache cache(1 << 20);
  int loads = 0;
  const auto load = [&]() -> ListOr {
    ++loads;
    return MakeList(10, 10);
  };
  ASSERT_TRUE(cache.Get(3, "a", load).ok());
  ASSERT_TRUE(cache.Get(3, "b", load).ok());
  cache.Erase(3, "a");
  cache.Erase(3, "nope");  // not held: nothing happens
  EXPECT_EQ(cache.stats().lists, 1u);
  EXPECT_EQ(cache.stats().bytes, MakeList(10, 10)->MemoryBytes());
  ASSERT_TRUE(cache.Get(3, "a", load).ok());
  EXPECT_EQ(loads, 3);
}

TEST(TargetListCache, ConcurrentFirstRequestsLoadOnce) {
  TargetListCache cache(1 << 20);
  std::atomic<int> loads{0};
  TestGate loading, release;
  const auto load = [&]() -> ListOr {
    ++loads;
    loading.Open();
    release.Wait();
    return MakeList(10, 10);
  };
  constexpr int kCallers = 8;
  std::vector<ListOr> results(kCallers, absl::UnknownError("not run"));
  std::vector<std::thread> threads;
  threads.emplace_back([&] { results[0] = cache.Get(5, "a", load); });
  loading.Wait();  // the first call is inside its load
  for (int i = 1; i < kCallers; ++i) {
    threads.emplace_back([&, i] { results[i] = cache.Get(5, "a", load); });
  }
  // Every other call is waiting for that load (polled, not timed: the
  // condition holds eventually however slow the machine).
  while (cache.stats().waiting < kCallers - 1) std::this_thread::yield();
  release.Open();
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(loads.load(), 1);
  for (const ListOr& r : results) {
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(*r, *results[0]);
  }
  const TargetCacheStats stats = cache.stats();
  EXPECT_EQ(stats.misses, 1);
  EXPECT_EQ(stats.hits, kCallers - 1);
  EXPECT_EQ(stats.waiting, 0);
}

TEST(TargetListCache, WaitersShareALoadError) {
  TargetListCache cache(1 << 20);
  std::atomic<int> loads{0};
  TestGate loading, release;
  const auto load = [&]() -> ListOr {
    ++loads;
    loading.Open();
    release.Wait();
    return absl::NotFoundError("run 5 not found");
  };
  ListOr first = absl::UnknownError("not run");
  ListOr second = absl::UnknownError("not run");
  std::thread a([&] { first = cache.Get(5, "a", load); });
  loading.Wait();
  std::thread b([&] { second = cache.Get(5, "a", load); });
  while (cache.stats().waiting < 1) std::this_thread::yield();
  release.Open();
  a.join();
  b.join();
  EXPECT_EQ(loads.load(), 1);
  EXPECT_EQ(first.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace winback
