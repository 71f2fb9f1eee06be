// winback.v1.CampaignService: what marketing tools call to read published
// target lists. Every method needs the reader role (operators have it too).
#ifndef WINBACK_SERVICES_CAMPAIGN_SERVICE_H_
#define WINBACK_SERVICES_CAMPAIGN_SERVICE_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "services/auth.h"
#include "services/page_token.h"
#include "services/store_pool.h"
#include "winback/v1/campaigns.grpc.pb.h"

namespace winback {

struct CampaignServiceOptions {
  int default_page_size = 1000;  // service.default_page_size
  int max_page_size = 10000;     // service.max_page_size
  int stream_chunk = 2000;       // rows read per query by StreamTargets
};

class CampaignServiceImpl final : public v1::CampaignService::Service {
 public:
  // All pointers are borrowed and must outlive the service.
  CampaignServiceImpl(StorePool* stores, const KeyRing* keys,
                      const PageTokenCodec* tokens,
                      CampaignServiceOptions options)
      : stores_(stores), keys_(keys), tokens_(tokens), options_(options) {}

  grpc::Status ListSegments(grpc::ServerContext* context,
                            const v1::ListSegmentsRequest* request,
                            v1::ListSegmentsResponse* response) override;
  grpc::Status ListCampaigns(grpc::ServerContext* context,
                             const v1::ListCampaignsRequest* request,
                             v1::ListCampaignsResponse* response) override;
  grpc::Status ListTargets(grpc::ServerContext* context,
                           const v1::ListTargetsRequest* request,
                           v1::ListTargetsResponse* response) override;
  grpc::Status StreamTargets(grpc::ServerContext* context,
                             const v1::StreamTargetsRequest* request,
                             grpc::ServerWriter<v1::Target>* writer) override;
  grpc::Status GetCustomer(grpc::ServerContext* context,
                           const v1::GetCustomerRequest* request,
                           v1::Customer* response) override;

 private:
  // The length of a published list; lists never change once published, so
  // the answer is cached.
  absl::StatusOr<int64_t> ListSize(Store* store, int64_t run_id,
                                   const std::string& campaign);

  StorePool* const stores_;
  const KeyRing* const keys_;
  const PageTokenCodec* const tokens_;
  const CampaignServiceOptions options_;
  absl::Mutex mu_;
  std::map<std::pair<int64_t, std::string>, int64_t> sizes_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace winback

#endif  // WINBACK_SERVICES_CAMPAIGN_SERVICE_H_
