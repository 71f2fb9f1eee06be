#include "services/campaign_service.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/support/method_handler.h"
#include "grpcpp/support/slice.h"
#include "services/access.h"
#include "services/convert.h"
#include "services/resolve.h"
#include "spdlog/spdlog.h"

namespace winback {
namespace {

grpc::Status Invalid(const std::string& message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message);
}

// Rows per query when a whole list is loaded into the cache.
constexpr int64_t kLoadChunk = 8192;

// The index gRPC gives a CampaignService method: its place in the .proto.
int MethodIndex(const char* name) {
  return v1::ListTargetsRequest::descriptor()
      ->file()
      ->FindServiceByName("CampaignService")
      ->FindMethodByName(name)
      ->index();
}

// Writes records [0, size) of `list` as one StreamTargets message each;
// `last` when no more follow. False when the client went away.
bool WriteTargets(grpc::ServerContext* context,
                  grpc::ServerSplitStreamer<v1::StreamTargetsRequest,
                                            grpc::ByteBuffer>* stream,
                  const TargetList& list, bool last) {
  for (int64_t i = 0; i < list.size(); ++i) {
    const std::string_view message = TargetMessage(list.Record(i));
    grpc::Slice slice(message.data(), message.size());
    const grpc::ByteBuffer buffer(&slice, 1);
    // The last message goes out with the status. (No buffer_hint on the
    // others: with this gRPC a hinted blocking Write waits for a flush that
    // only a later write would start, so the stream stalls.)
    grpc::WriteOptions options;
    if (last && i + 1 == list.size()) options.set_last_message();
    if (!stream->Write(buffer, options)) return false;
    if (i % 1024 == 1023 && context->IsCancelled()) return false;
  }
  return true;
}

// The calls that read one published run's rows: authorizes a reader,
// resolves `run_id` (0: the latest published), lets `fill` read the rows
// into `response`, and stamps it with the run and its as-of time.
template <typename Response, typename Fill>
grpc::Status ServePublishedRun(const grpc::ServerContext& context,
                               const KeyRing& keys, StorePool& stores,
                               int64_t run_id, Response* response,
                               Fill&& fill) {
  if (grpc::Status s = Authorize(context, keys, Role::kReader); !s.ok()) {
    return s;
  }
  StorePool::Lease store = stores.Acquire();
  Micros as_of = 0;
  absl::StatusOr<int64_t> resolved =
      ResolvePublishedRun(store.get(), run_id, &as_of);
  if (!resolved.ok()) return ToGrpcStatus(resolved.status());
  if (absl::Status s = fill(*store.get(), *resolved); !s.ok()) {
    return ToGrpcStatus(s);
  }
  response->set_run_id(*resolved);
  *response->mutable_as_of() = ToTimestamp(as_of);
  return grpc::Status::OK;
}

}  // namespace

CampaignServiceImpl::CampaignServiceImpl(StorePool* stores, const KeyRing* keys,
                                         const PageTokenCodec* tokens,
                                         CampaignServiceOptions options)
    : stores_(stores),
      keys_(keys),
      tokens_(tokens),
      options_(std::move(options)),
      cache_(options_.target_cache_bytes, options_.on_cache_event) {
  // ListTargets and StreamTargets answer with bytes encoded once per list
  // (EncodeTargets) instead of a message built per target per call, so they
  // are registered the way the generated WithStreamedUnaryMethod_ and
  // WithSplitStreamingMethod_ wrappers do it, but with a raw ByteBuffer as
  // the response type. Clients see no difference: the bytes are a
  // serialized ListTargetsResponse, or one serialized Target per message.
  MarkMethodStreamed(
      MethodIndex("ListTargets"),
      new grpc::internal::StreamedUnaryHandler<v1::ListTargetsRequest,
                                               grpc::ByteBuffer>(
          [this](grpc::ServerContext* context, ListTargetsStreamer* stream) {
            return ServeListTargets(context, stream);
          }));
  MarkMethodStreamed(
      MethodIndex("StreamTargets"),
      new grpc::internal::SplitServerStreamingHandler<v1::StreamTargetsRequest,
                                                      grpc::ByteBuffer>(
          [this](grpc::ServerContext* context, StreamTargetsStreamer* stream) {
            return ServeStreamTargets(context, stream);
          }));
}

absl::StatusOr<int64_t> CampaignServiceImpl::CheckedListSize(
    Store* store, int64_t run_id, const std::string& campaign) {
  absl::StatusOr<int64_t> n = store->CountTargets(run_id, campaign);
  // The run (or the campaign) is gone: free its list now rather than when
  // the LRU gets to it.
  if (absl::IsNotFound(n.status())) cache_.Erase(run_id, campaign);
  return n;
}

absl::StatusOr<std::shared_ptr<const TargetList>>
CampaignServiceImpl::CachedList(int64_t run_id, const std::string& campaign) {
  return cache_.Get(
      run_id, campaign,
      [&]() -> absl::StatusOr<std::shared_ptr<const TargetList>> {
        // In chunks, each its own read transaction and connection lease: the
        // list is immutable, and a run deleted midway fails the next chunk.
        const absl::Time start = absl::Now();
        auto list = std::make_shared<TargetList>();
        for (int64_t offset = 0;;) {
          absl::StatusOr<TargetTable> rows;
          {
            StorePool::Lease store = stores_->Acquire();
            rows = store->GetTargets(run_id, campaign, offset, kLoadChunk);
          }
          if (!rows.ok()) return rows.status();
          EncodeTargets(*rows, list.get());
          if (list->MemoryBytes() > cache_.max_bytes()) {
            // Stop here rather than hold the whole list once: it would not
            // be kept, and every caller reads its own rows from the store.
            spdlog::warn(
                "event=target_list_too_large run_id={} campaign=\"{}\" "
                "rows_read={} bytes={} max_bytes={}",
                run_id, campaign, list->size(), list->MemoryBytes(),
                cache_.max_bytes());
            return nullptr;
          }
          if (static_cast<int64_t>(rows->size()) < kLoadChunk) break;
          offset += static_cast<int64_t>(rows->size());
        }
        list->bytes.shrink_to_fit();
        list->ends.shrink_to_fit();
        spdlog::info(
            "event=target_list_loaded run_id={} campaign=\"{}\" rows={} "
            "bytes={} ms={:.1f}",
            run_id, campaign, list->size(), list->MemoryBytes(),
            absl::ToDoubleMilliseconds(absl::Now() - start));
        return list;
      });
}

absl::StatusOr<std::shared_ptr<const TargetList>>
CampaignServiceImpl::ReadTargets(int64_t run_id, const std::string& campaign,
                                 int64_t offset, int64_t limit) {
  absl::StatusOr<TargetTable> rows;
  {
    StorePool::Lease store = stores_->Acquire();
    rows = store->GetTargets(run_id, campaign, offset, limit);
  }
  if (!rows.ok()) return rows.status();
  auto list = std::make_shared<TargetList>();
  EncodeTargets(*rows, list.get());
  return list;
}

absl::StatusOr<int> CampaignServiceImpl::WarmRun(int64_t run_id) {
  if (cache_.max_bytes() == 0) return 0;
  absl::StatusOr<std::vector<CampaignRecord>> campaigns;
  {
    StorePool::Lease store = stores_->Acquire();
    campaigns = store->GetCampaigns(run_id);
  }
  if (!campaigns.ok()) return campaigns.status();
  int cached = 0;
  for (const CampaignRecord& c : *campaigns) {
    absl::StatusOr<std::shared_ptr<const TargetList>> list =
        CachedList(run_id, c.summary.name);
    if (!list.ok()) return list.status();
    cached += *list != nullptr ? 1 : 0;
  }
  return cached;
}

grpc::Status CampaignServiceImpl::ListSegments(
    grpc::ServerContext* context, const v1::ListSegmentsRequest* request,
    v1::ListSegmentsResponse* response) {
  return ServePublishedRun(
      *context, *keys_, *stores_, request->run_id(), response,
      [&](Store& store, int64_t run_id) -> absl::Status {
        absl::StatusOr<std::vector<SegmentRecord>> segments =
            store.GetSegments(run_id);
        if (!segments.ok()) return segments.status();
        for (const SegmentRecord& s : *segments) {
          ToProto(s, response->add_segments());
        }
        return absl::OkStatus();
      });
}

grpc::Status CampaignServiceImpl::ListCampaigns(
    grpc::ServerContext* context, const v1::ListCampaignsRequest* request,
    v1::ListCampaignsResponse* response) {
  return ServePublishedRun(
      *context, *keys_, *stores_, request->run_id(), response,
      [&](Store& store, int64_t run_id) -> absl::Status {
        absl::StatusOr<std::vector<CampaignRecord>> campaigns =
            store.GetCampaigns(run_id);
        if (!campaigns.ok()) return campaigns.status();
        for (const CampaignRecord& c : *campaigns) {
          ToProto(c, response->add_campaigns());
        }
        return absl::OkStatus();
      });
}

grpc::Status CampaignServiceImpl::ListReadouts(
    grpc::ServerContext* context, const v1::ListReadoutsRequest* request,
    v1::ListReadoutsResponse* response) {
  return ServePublishedRun(
      *context, *keys_, *stores_, request->run_id(), response,
      [&](Store& store, int64_t run_id) -> absl::Status {
        absl::StatusOr<std::vector<CampaignReadout>> readouts =
            store.GetReadouts(run_id);
        if (!readouts.ok()) return readouts.status();
        for (const CampaignReadout& r : *readouts) {
          if (!request->campaign().empty() &&
              r.campaign != request->campaign()) {
            continue;
          }
          if (request->complete_only() && !r.complete) continue;
          ToProto(r, response->add_readouts());
        }
        return absl::OkStatus();
      });
}

grpc::Status CampaignServiceImpl::ServeListTargets(
    grpc::ServerContext* context, ListTargetsStreamer* stream) {
  v1::ListTargetsRequest request;
  if (!stream->Read(&request)) {
    return grpc::Status(grpc::StatusCode::INTERNAL, "cannot read the request");
  }
  if (grpc::Status s = Authorize(*context, *keys_, Role::kReader); !s.ok()) {
    return s;
  }
  if (request.campaign().empty()) return Invalid("campaign: required");
  if (request.page_size() < 0) return Invalid("page_size: must be >= 0");
  const int64_t page_size =
      request.page_size() == 0
          ? options_.default_page_size
          : std::min(request.page_size(), options_.max_page_size);
  int64_t run_id = 0;
  int64_t offset = 0;
  int64_t total = 0;
  {
    StorePool::Lease store = stores_->Acquire();
    if (!request.page_token().empty()) {
      absl::StatusOr<TargetPageToken> token =
          tokens_->DecodeTargets(request.page_token(), request.campaign());
      if (!token.ok()) return ToGrpcStatus(token.status());
      run_id = token->run_id;
      offset = token->offset;
    } else {
      absl::StatusOr<int64_t> resolved =
          ResolvePublishedRun(store.get(), request.run_id());
      if (!resolved.ok()) return ToGrpcStatus(resolved.status());
      run_id = *resolved;
    }
    absl::StatusOr<int64_t> n =
        CheckedListSize(store.get(), run_id, request.campaign());
    if (!n.ok()) return ToGrpcStatus(n.status());
    total = *n;
  }
  if (offset > total) return Invalid("page_token: past the end of the list");

  absl::StatusOr<std::shared_ptr<const TargetList>> list =
      CachedList(run_id, request.campaign());
  if (!list.ok()) return ToGrpcStatus(list.status());
  int64_t begin = offset;
  if (*list == nullptr) {
    list = ReadTargets(run_id, request.campaign(), offset, page_size);
    if (!list.ok()) return ToGrpcStatus(list.status());
    begin = 0;
  }
  begin = std::min(begin, (*list)->size());
  const int64_t end = std::min(begin + page_size, (*list)->size());

  v1::ListTargetsResponse head;  // everything but the targets
  head.set_run_id(run_id);
  head.set_total_size(total);
  const int64_t next = offset + (end - begin);
  if (next < total && end > begin) {
    head.set_next_page_token(
        tokens_->EncodeTargets({run_id, request.campaign(), next}));
  }
  const std::string head_bytes = head.SerializeAsString();
  const std::string_view targets = (*list)->Records(begin, end);
  grpc::Slice slices[] = {grpc::Slice(head_bytes),
                          grpc::Slice(targets.data(), targets.size())};
  stream->Write(grpc::ByteBuffer(slices, 2),
                grpc::WriteOptions().set_last_message());
  return grpc::Status::OK;
}

grpc::Status CampaignServiceImpl::ServeStreamTargets(
    grpc::ServerContext* context, StreamTargetsStreamer* stream) {
  v1::StreamTargetsRequest request;
  if (!stream->Read(&request)) {
    return grpc::Status(grpc::StatusCode::INTERNAL, "cannot read the request");
  }
  if (grpc::Status s = Authorize(*context, *keys_, Role::kReader); !s.ok()) {
    return s;
  }
  if (request.campaign().empty()) return Invalid("campaign: required");
  int64_t run_id = 0;
  {
    StorePool::Lease store = stores_->Acquire();
    absl::StatusOr<int64_t> resolved =
        ResolvePublishedRun(store.get(), request.run_id());
    if (!resolved.ok()) return ToGrpcStatus(resolved.status());
    run_id = *resolved;
    absl::StatusOr<int64_t> total =
        CheckedListSize(store.get(), run_id, request.campaign());
    if (!total.ok()) return ToGrpcStatus(total.status());
  }
  absl::StatusOr<std::shared_ptr<const TargetList>> list =
      CachedList(run_id, request.campaign());
  if (!list.ok()) return ToGrpcStatus(list.status());
  if (*list != nullptr) {
    if (!WriteTargets(context, stream, **list, /*last=*/true)) {
      return grpc::Status::CANCELLED;
    }
    return grpc::Status::OK;
  }
  // Not cached: chunk by chunk, the connection held per chunk, not while a
  // slow client reads.
  for (int64_t offset = 0;;) {
    absl::StatusOr<std::shared_ptr<const TargetList>> rows =
        ReadTargets(run_id, request.campaign(), offset, options_.stream_chunk);
    if (!rows.ok()) return ToGrpcStatus(rows.status());
    const bool last = (*rows)->size() < options_.stream_chunk;
    if (!WriteTargets(context, stream, **rows, last)) {
      return grpc::Status::CANCELLED;
    }
    if (last) break;
    offset += (*rows)->size();
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
