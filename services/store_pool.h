// A fixed pool of read connections to the store, one per concurrent
// request: SQLite (WAL) lets readers on their own connections run in
// parallel with each other and with the pipeline's writer.
#ifndef WINBACK_SERVICES_STORE_POOL_H_
#define WINBACK_SERVICES_STORE_POOL_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "jobs/store/store.h"

namespace winback {

class StorePool {
 public:
  // Opens `size` (>= 1) connections to the database at `path`.
  static absl::StatusOr<std::unique_ptr<StorePool>> Open(
      const std::string& path, const StoreOptions& options, int size);

  // A borrowed connection, returned to the pool on destruction.
  class Lease {
   public:
    Lease(StorePool* pool, std::unique_ptr<Store> store)
        : pool_(pool), store_(std::move(store)) {}
    Lease(Lease&&) = default;
    ~Lease();
    Store* operator->() const { return store_.get(); }
    Store* get() const { return store_.get(); }

   private:
    StorePool* pool_;
    std::unique_ptr<Store> store_;
  };

  // Waits for a free connection.
  Lease Acquire();

 private:
  StorePool() = default;
  void Release(std::unique_ptr<Store> store);

  absl::Mutex mu_;
  std::vector<std::unique_ptr<Store>> free_ ABSL_GUARDED_BY(mu_);
};

}  // namespace winback

#endif  // WINBACK_SERVICES_STORE_POOL_H_
