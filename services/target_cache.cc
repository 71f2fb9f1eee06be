#include "services/target_cache.h"

namespace winback {
namespace {

// Remembered too-large keys; the set is cleared when it grows past this.
constexpr size_t kMaxTooLarge = 1024;

}  // namespace

absl::StatusOr<std::shared_ptr<const TargetList>> TargetListCache::Get(
    int64_t run_id, const std::string& campaign, Loader load) {
  if (max_bytes_ == 0) return nullptr;
  Key key(run_id, campaign);
  std::shared_ptr<Load> flight;
  {
    absl::ReleasableMutexLock lock(&mu_);
    if (const auto it = entries_.find(key); it != entries_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second.lru);
      ++stats_.hits;
      std::shared_ptr<const TargetList> list = it->second.list;
      const size_t bytes = stats_.bytes;
      lock.Release();
      Notify(TargetCacheEvent::kHit, bytes);
      return list;
    }
    if (too_large_.contains(key)) return nullptr;
    if (const auto it = loads_.find(key); it != loads_.end()) {
      flight = it->second;
      ++stats_.waiting;
      mu_.Await(absl::Condition(&flight->done));
      --stats_.waiting;
      absl::StatusOr<std::shared_ptr<const TargetList>> result = flight->result;
      if (!result.ok() || *result == nullptr) return result;
      ++stats_.hits;
      const size_t bytes = stats_.bytes;
      lock.Release();
      Notify(TargetCacheEvent::kHit, bytes);
      return result;
    }
    flight = std::make_shared<Load>();
    loads_.emplace(key, flight);
    ++stats_.misses;
  }
  // Loading (a whole list from SQLite) happens without the lock, so that
  // hits and loads of other lists go on meanwhile.
  absl::StatusOr<std::shared_ptr<const TargetList>> result = load();
  int evicted = 0;
  size_t bytes = 0;
  {
    absl::MutexLock lock(&mu_);
    if (result.ok()) {
      if (*result == nullptr || (*result)->MemoryBytes() > max_bytes_) {
        if (too_large_.size() >= kMaxTooLarge) too_large_.clear();
        too_large_.insert(key);
      } else {
        evicted = Insert(key, *result);
      }
    }
    flight->result = result;
    flight->done = true;
    loads_.erase(key);
    bytes = stats_.bytes;
  }
  // Told after the load so that the bytes include the new list.
  Notify(TargetCacheEvent::kMiss, bytes);
  Notify(TargetCacheEvent::kEviction, bytes, evicted);
  return result;
}

int TargetListCache::Insert(const Key& key,
                            std::shared_ptr<const TargetList> list) {
  const size_t size = list->MemoryBytes();
  int evicted = 0;
  // Not expected (a key is loaded by one call at a time, and never while it
  // is held), but replacing keeps the byte count right.
  if (const auto it = entries_.find(key); it != entries_.end()) {
    stats_.bytes -= it->second.list->MemoryBytes();
    lru_.erase(it->second.lru);
    entries_.erase(it);
  }
  while (!lru_.empty() && stats_.bytes + size > max_bytes_) {
    const auto victim = entries_.find(lru_.back());
    stats_.bytes -= victim->second.list->MemoryBytes();
    entries_.erase(victim);
    lru_.pop_back();
    ++evicted;
  }
  lru_.push_front(key);
  entries_.emplace(key, Entry{std::move(list), lru_.begin()});
  stats_.bytes += size;
  stats_.evictions += evicted;
  stats_.lists = entries_.size();
  return evicted;
}

void TargetListCache::Erase(int64_t run_id, const std::string& campaign) {
  absl::MutexLock lock(&mu_);
  const auto it = entries_.find(Key(run_id, campaign));
  if (it == entries_.end()) return;
  stats_.bytes -= it->second.list->MemoryBytes();
  lru_.erase(it->second.lru);
  entries_.erase(it);
  stats_.lists = entries_.size();
}

TargetCacheStats TargetListCache::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

void TargetListCache::Notify(TargetCacheEvent event, size_t bytes,
                             int times) const {
  if (observer_ == nullptr) return;
  for (int i = 0; i < times; ++i) observer_(event, bytes);
}

}  // namespace winback
