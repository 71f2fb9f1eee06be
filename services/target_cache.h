// An in-memory, byte-bounded LRU cache of published target lists, for
// ListTargets and StreamTargets.
//
// A published run's lists never change (a run is only ever deleted, by
// retention), so a list is read from the store once, encoded once, and then
// every page or stream of it is a byte range of memory. The cache does not
// know whether a run still exists: callers check that per request (a cheap
// query) and Erase what they find gone, so a run deleted by retention is
// never served, and its lists are at worst left for the LRU to drop.
//
// No gRPC types: records are opaque bytes that the gRPC edge writes (see
// EncodeTargets in convert.h).
#ifndef WINBACK_SERVICES_TARGET_CACHE_H_
#define WINBACK_SERVICES_TARGET_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace winback {

// One campaign's list as records laid back to back: record i is
// bytes[ends[i-1], ends[i]) (from 0 for the first). Immutable once shared.
struct TargetList {
  std::string bytes;
  std::vector<size_t> ends;

  int64_t size() const { return static_cast<int64_t>(ends.size()); }
  // Records [begin, end) as one range; 0 <= begin <= end <= size().
  std::string_view Records(int64_t begin, int64_t end) const {
    const size_t from = begin == 0 ? 0 : ends[begin - 1];
    const size_t to = end == 0 ? 0 : ends[end - 1];
    return std::string_view(bytes).substr(from, to - from);
  }
  std::string_view Record(int64_t i) const { return Records(i, i + 1); }
  // What the list costs in memory (what the cache's bound counts).
  size_t MemoryBytes() const {
    return sizeof(TargetList) + bytes.capacity() +
           ends.capacity() * sizeof(size_t);
  }
};

enum class TargetCacheEvent { kHit, kMiss, kEviction };

struct TargetCacheStats {
  int64_t hits = 0;       // Get served from memory or by another call's load
  int64_t misses = 0;     // Get that ran its loader
  int64_t evictions = 0;  // lists dropped to stay under the bound
  size_t bytes = 0;       // MemoryBytes of the lists held
  size_t lists = 0;
  int waiting = 0;  // Get calls now waiting for another call's load
};

class TargetListCache {
 public:
  using Loader =
      absl::FunctionRef<absl::StatusOr<std::shared_ptr<const TargetList>>()>;
  // Told of every hit, miss and eviction with the bytes held afterwards (for
  // metrics). Called without the cache's lock held, from any thread.
  using Observer = std::function<void(TargetCacheEvent, size_t bytes)>;

  // Holds at most `max_bytes` of lists; 0 disables the cache (Get always
  // answers null without loading).
  explicit TargetListCache(size_t max_bytes, Observer observer = nullptr)
      : max_bytes_(max_bytes), observer_(std::move(observer)) {}

  TargetListCache(const TargetListCache&) = delete;
  TargetListCache& operator=(const TargetListCache&) = delete;

  // The list of (run_id, campaign): from memory, or from `load`. A load runs
  // at most once at a time per key; concurrent calls for the same key wait
  // for it and share its outcome, error included (errors are not kept).
  // Null (with OK) when the cache is disabled, or when the list is known to
  // be larger than the whole bound: the caller then reads the store itself.
  // `load` may answer null itself, to stop reading a list that outgrows
  // max_bytes(); a list it returns that is too large is still handed to
  // the callers of that load, but not kept.
  absl::StatusOr<std::shared_ptr<const TargetList>> Get(
      int64_t run_id, const std::string& campaign, Loader load);

  // Drops the list of (run_id, campaign), if held.
  void Erase(int64_t run_id, const std::string& campaign);

  TargetCacheStats stats() const;
  size_t max_bytes() const { return max_bytes_; }

 private:
  using Key = std::pair<int64_t, std::string>;
  struct Load {
    bool done = false;
    absl::StatusOr<std::shared_ptr<const TargetList>> result;
  };
  struct Entry {
    std::shared_ptr<const TargetList> list;
    std::list<Key>::iterator lru;  // position in lru_
  };

  // Inserts a loaded list, evicting the least recently used ones to make
  // room; returns how many were evicted.
  int Insert(const Key& key, std::shared_ptr<const TargetList> list)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Notify(TargetCacheEvent event, size_t bytes, int times = 1) const;

  const size_t max_bytes_;
  const Observer observer_;
  mutable absl::Mutex mu_;
  std::map<Key, Entry> entries_ ABSL_GUARDED_BY(mu_);
  std::list<Key> lru_ ABSL_GUARDED_BY(mu_);  // most recently used first
  std::map<Key, std::shared_ptr<Load>> loads_ ABSL_GUARDED_BY(mu_);
  // Keys whose list did not fit in max_bytes_ (bounded; see Get).
  std::set<Key> too_large_ ABSL_GUARDED_BY(mu_);
  TargetCacheStats stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace winback

#endif  // WINBACK_SERVICES_TARGET_CACHE_H_
