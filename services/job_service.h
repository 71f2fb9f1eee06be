// winback.v1.JobService: what operators call to start, watch and inspect
// runs. Every method needs the operator role.
#ifndef WINBACK_SERVICES_JOB_SERVICE_H_
#define WINBACK_SERVICES_JOB_SERVICE_H_

#include "services/auth.h"
#include "services/page_token.h"
#include "services/run_manager.h"
#include "services/store_pool.h"
#include "winback/v1/jobs.grpc.pb.h"

namespace winback {

class JobServiceImpl final : public v1::JobService::Service {
 public:
  // All pointers are borrowed and must outlive the service.
  JobServiceImpl(RunManager* runs, StorePool* stores, const KeyRing* keys,
                 const PageTokenCodec* tokens)
      : runs_(runs), stores_(stores), keys_(keys), tokens_(tokens) {}

  grpc::Status StartRun(grpc::ServerContext* context,
                        const v1::StartRunRequest* request,
                        v1::Run* response) override;
  grpc::Status GetRun(grpc::ServerContext* context,
                      const v1::GetRunRequest* request,
                      v1::Run* response) override;
  grpc::Status ListRuns(grpc::ServerContext* context,
                        const v1::ListRunsRequest* request,
                        v1::ListRunsResponse* response) override;
  grpc::Status CancelRun(grpc::ServerContext* context,
                         const v1::CancelRunRequest* request,
                         v1::Run* response) override;
  grpc::Status WatchRun(grpc::ServerContext* context,
                        const v1::WatchRunRequest* request,
                        grpc::ServerWriter<v1::RunEvent>* writer) override;
  grpc::Status GetDiagnosis(grpc::ServerContext* context,
                            const v1::GetDiagnosisRequest* request,
                            v1::Diagnosis* response) override;
  grpc::Status GetModelReport(grpc::ServerContext* context,
                              const v1::GetModelReportRequest* request,
                              v1::ModelReport* response) override;

  static constexpr int kDefaultRunsPageSize = 20;
  static constexpr int kMaxRunsPageSize = 200;

 private:
  RunManager* const runs_;
  StorePool* const stores_;
  const KeyRing* const keys_;
  const PageTokenCodec* const tokens_;
};

}  // namespace winback

#endif  // WINBACK_SERVICES_JOB_SERVICE_H_
