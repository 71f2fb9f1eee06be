#include "services/store_pool.h"

namespace winback {

absl::StatusOr<std::unique_ptr<StorePool>> StorePool::Open(
    const std::string& path, const StoreOptions& options, int size) {
  std::unique_ptr<StorePool> pool(new StorePool());
  for (int i = 0; i < std::max(size, 1); ++i) {
    absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(path, options);
    if (!store.ok()) return store.status();
    absl::MutexLock lock(&pool->mu_);
    pool->free_.push_back(std::move(*store));
  }
  return pool;
}

StorePool::Lease StorePool::Acquire() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](std::vector<std::unique_ptr<Store>>* v) { return !v->empty(); },
      &free_));
  std::unique_ptr<Store> store = std::move(free_.back());
  free_.pop_back();
  return Lease(this, std::move(store));
}

void StorePool::Release(std::unique_ptr<Store> store) {
  absl::MutexLock lock(&mu_);
  free_.push_back(std::move(store));
}

StorePool::Lease::~Lease() {
  if (store_ != nullptr) pool_->Release(std::move(store_));
}

}  // namespace winback
