// winback.v1.CampaignService: what marketing tools call to read published
// target lists. Every method needs the reader role (operators have it too).
#ifndef WINBACK_SERVICES_CAMPAIGN_SERVICE_H_
#define WINBACK_SERVICES_CAMPAIGN_SERVICE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/sync_stream.h"
#include "services/auth.h"
#include "services/page_token.h"
#include "services/store_pool.h"
#include "services/target_cache.h"
#include "winback/v1/campaigns.grpc.pb.h"

namespace winback {

struct CampaignServiceOptions {
  int default_page_size = 1000;  // service.default_page_size
  int max_page_size = 10000;     // service.max_page_size
  // Rows read per query by StreamTargets when a list is not cached.
  int stream_chunk = 2000;
  // Bound of the target list cache (service.target_cache_mb); 0 turns the
  // cache off: every page is then read from the store.
  size_t target_cache_bytes = size_t{256} << 20;
  // Told of the cache's hits, misses and evictions (metrics).
  TargetListCache::Observer on_cache_event;
};

class CampaignServiceImpl final : public v1::CampaignService::Service {
 public:
  // All pointers are borrowed and must outlive the service.
  CampaignServiceImpl(StorePool* stores, const KeyRing* keys,
                      const PageTokenCodec* tokens,
                      CampaignServiceOptions options);

  grpc::Status ListSegments(grpc::ServerContext* context,
                            const v1::ListSegmentsRequest* request,
                            v1::ListSegmentsResponse* response) override;
  grpc::Status ListCampaigns(grpc::ServerContext* context,
                             const v1::ListCampaignsRequest* request,
                             v1::ListCampaignsResponse* response) override;
  grpc::Status GetCustomer(grpc::ServerContext* context,
                           const v1::GetCustomerRequest* request,
                           v1::Customer* response) override;
  grpc::Status ListReadouts(grpc::ServerContext* context,
                            const v1::ListReadoutsRequest* request,
                            v1::ListReadoutsResponse* response) override;
  // ListTargets and StreamTargets are not the generated typed methods: the
  // constructor registers ServeListTargets and ServeStreamTargets in their
  // place (see there).

  // Loads every list of `run_id` into the cache (when it is on), so that
  // the first page after a publish is as quick as the rest. Returns the
  // number of lists now cached; errors are returned, nothing is served
  // differently because of them.
  absl::StatusOr<int> WarmRun(int64_t run_id);

  const TargetListCache& cache() const { return cache_; }

 private:
  using ListTargetsStreamer =
      grpc::ServerUnaryStreamer<v1::ListTargetsRequest, grpc::ByteBuffer>;
  using StreamTargetsStreamer =
      grpc::ServerSplitStreamer<v1::StreamTargetsRequest, grpc::ByteBuffer>;

  grpc::Status ServeListTargets(grpc::ServerContext* context,
                                ListTargetsStreamer* stream);
  grpc::Status ServeStreamTargets(grpc::ServerContext* context,
                                  StreamTargetsStreamer* stream);

  // The length of a published list. Asked of the store on every call, also
  // when the list is cached: it is what proves that the run (and the
  // campaign) still exist, so that a list is never served after retention
  // deleted its run.
  absl::StatusOr<int64_t> CheckedListSize(Store* store, int64_t run_id,
                                          const std::string& campaign);
  // The whole list from the cache, loading it on a miss; null when it is not
  // cached (cache off, or the list does not fit in it).
  absl::StatusOr<std::shared_ptr<const TargetList>> CachedList(
      int64_t run_id, const std::string& campaign);
  // Up to `limit` rows from `offset`, straight from the store.
  absl::StatusOr<std::shared_ptr<const TargetList>> ReadTargets(
      int64_t run_id, const std::string& campaign, int64_t offset,
      int64_t limit);

  StorePool* const stores_;
  const KeyRing* const keys_;
  const PageTokenCodec* const tokens_;
  const CampaignServiceOptions options_;
  TargetListCache cache_;
};

}  // namespace winback

#endif  // WINBACK_SERVICES_CAMPAIGN_SERVICE_H_
