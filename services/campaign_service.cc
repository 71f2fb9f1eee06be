#include "services/campaign_service.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "services/access.h"
#include "services/convert.h"
#include "services/resolve.h"

namespace winback {
namespace {

grpc::Status Invalid(const std::string& message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message);
}

constexpr size_t kMaxCachedSizes = 4096;

}  // namespace

absl::StatusOr<int64_t> CampaignServiceImpl::ListSize(
    Store* store, int64_t run_id, const std::string& campaign) {
  const auto key = std::make_pair(run_id, campaign);
  {
    absl::MutexLock lock(&mu_);
    if (const auto it = sizes_.find(key); it != sizes_.end()) return it->second;
  }
  absl::StatusOr<int64_t> n = store->CountTargets(run_id, campaign);
  if (!n.ok()) return n.status();
  absl::MutexLock lock(&mu_);
  if (sizes_.size() >= kMaxCachedSizes) sizes_.clear();
  sizes_[key] = *n;
  return *n;
}

grpc::Status CampaignServiceImpl::ListSegments(
    grpc::ServerContext* context, const v1::ListSegmentsRequest* request,
    v1::ListSegmentsResponse* response) {
  if (grpc::Status s = Authorize(*context, *keys_, Role::kReader); !s.ok()) {
    return s;
  }
  StorePool::Lease store = stores_->Acquire();
  absl::StatusOr<int64_t> run_id =
      ResolvePublishedRun(store.get(), request->run_id());
  if (!run_id.ok()) return ToGrpcStatus(run_id.status());
  absl::StatusOr<std::vector<SegmentRecord>> segments =
      store->GetSegments(*run_id);
  if (!segments.ok()) return ToGrpcStatus(segments.status());
  response->set_run_id(*run_id);
  for (const SegmentRecord& s : *segments) ToProto(s, response->add_segments());
  return grpc::Status::OK;
}

grpc::Status CampaignServiceImpl::ListCampaigns(
    grpc::ServerContext* context, const v1::ListCampaignsRequest* request,
    v1::ListCampaignsResponse* response) {
  if (grpc::Status s = Authorize(*context, *keys_, Role::kReader); !s.ok()) {
    return s;
  }
  StorePool::Lease store = stores_->Acquire();
  absl::StatusOr<int64_t> run_id =
      ResolvePublishedRun(store.get(), request->run_id());
  if (!run_id.ok()) return ToGrpcStatus(run_id.status());
  absl::StatusOr<std::vector<CampaignRecord>> campaigns =
      store->GetCampaigns(*run_id);
  if (!campaigns.ok()) return ToGrpcStatus(campaigns.status());
  response->set_run_id(*run_id);
  for (const CampaignRecord& c : *campaigns) {
    ToProto(c, response->add_campaigns());
  }
  return grpc::Status::OK;
}

grpc::Status CampaignServiceImpl::ListTargets(
    grpc::ServerContext* context, const v1::ListTargetsRequest* request,
    v1::ListTargetsResponse* response) {
  if (grpc::Status s = Authorize(*context, *keys_, Role::kReader); !s.ok()) {
    return s;
  }
  if (request->campaign().empty()) return Invalid("campaign: required");
  if (request->page_size() < 0) return Invalid("page_size: must be >= 0");
  const int64_t page_size =
      request->page_size() == 0
          ? options_.default_page_size
          : std::min(request->page_size(), options_.max_page_size);
  StorePool::Lease store = stores_->Acquire();
  int64_t run_id = 0;
  int64_t offset = 0;
  if (!request->page_token().empty()) {
    absl::StatusOr<TargetPageToken> token =
        tokens_->DecodeTargets(request->page_token(), request->campaign());
    if (!token.ok()) return ToGrpcStatus(token.status());
    run_id = token->run_id;
    offset = token->offset;
  } else {
    absl::StatusOr<int64_t> resolved =
        ResolvePublishedRun(store.get(), request->run_id());
    if (!resolved.ok()) return ToGrpcStatus(resolved.status());
    run_id = *resolved;
  }
  absl::StatusOr<int64_t> total = ListSize(store.get(), run_id,
                                           request->campaign());
  if (!total.ok()) return ToGrpcStatus(total.status());
  if (offset > *total) return Invalid("page_token: past the end of the list");
  absl::StatusOr<TargetTable> rows =
      store->GetTargets(run_id, request->campaign(), offset, page_size);
  if (!rows.ok()) return ToGrpcStatus(rows.status());
  response->set_run_id(run_id);
  response->set_total_size(*total);
  response->mutable_targets()->Reserve(static_cast<int>(rows->size()));
  for (size_t i = 0; i < rows->size(); ++i) {
    ToProto(*rows, i, response->add_targets());
  }
  const int64_t next = offset + static_cast<int64_t>(rows->size());
  if (next < *total && rows->size() > 0) {
    response->set_next_page_token(
        tokens_->EncodeTargets({run_id, request->campaign(), next}));
  }
  return grpc::Status::OK;
}

grpc::Status CampaignServiceImpl::StreamTargets(
    grpc::ServerContext* context, const v1::StreamTargetsRequest* request,
    grpc::ServerWriter<v1::Target>* writer) {
  if (grpc::Status s = Authorize(*context, *keys_, Role::kReader); !s.ok()) {
    return s;
  }
  if (request->campaign().empty()) return Invalid("campaign: required");
  int64_t run_id = 0;
  {
    StorePool::Lease store = stores_->Acquire();
    absl::StatusOr<int64_t> resolved =
        ResolvePublishedRun(store.get(), request->run_id());
    if (!resolved.ok()) return ToGrpcStatus(resolved.status());
    run_id = *resolved;
    absl::StatusOr<int64_t> total =
        ListSize(store.get(), run_id, request->campaign());
    if (!total.ok()) return ToGrpcStatus(total.status());
  }
  v1::Target out;
  for (int64_t offset = 0;;) {
    absl::StatusOr<TargetTable> rows;
    {
      // The connection is held per chunk, not while a slow client reads.
      StorePool::Lease store = stores_->Acquire();
      rows = store->GetTargets(run_id, request->campaign(), offset,
                               options_.stream_chunk);
    }
    if (!rows.ok()) return ToGrpcStatus(rows.status());
    for (size_t i = 0; i < rows->size(); ++i) {
      out.Clear();
      ToProto(*rows, i, &out);
      if (!writer->Write(out)) return grpc::Status::CANCELLED;
    }
    if (static_cast<int64_t>(rows->size()) < options_.stream_chunk) break;
    offset += static_cast<int64_t>(rows->size());
    if (context->IsCancelled()) return grpc::Status::CANCELLED;
  }
  return grpc::Status::OK;
}

grpc::Status CampaignServiceImpl::GetCustomer(
    grpc::ServerContext* context, const v1::GetCustomerRequest* request,
    v1::Customer* response) {
  if (grpc::Status s = Authorize(*context, *keys_, Role::kReader); !s.ok()) {
    return s;
  }
  if (request->customer_id() <= 0) return Invalid("customer_id: required");
  StorePool::Lease store = stores_->Acquire();
  absl::StatusOr<int64_t> run_id =
      ResolvePublishedRun(store.get(), request->run_id());
  if (!run_id.ok()) return ToGrpcStatus(run_id.status());
  absl::StatusOr<CustomerRecord> c =
      store->GetCustomer(*run_id, request->customer_id());
  if (!c.ok()) return ToGrpcStatus(c.status());
  ToProto(*c, *run_id, response);
  return grpc::Status::OK;
}

}  // namespace winback
