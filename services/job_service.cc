#include "services/job_service.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/access.h"
#include "services/convert.h"
#include "services/resolve.h"

namespace winback {
namespace {

grpc::Status Invalid(const std::string& message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message);
}

// The run served by default (Store::LatestPublishedRun), 0 when nothing is
// published.
absl::StatusOr<int64_t> ServedRunId(Store* store) {
  absl::StatusOr<std::optional<RunRecord>> served = store->LatestPublishedRun();
  if (!served.ok()) return served.status();
  return served->has_value() ? (*served)->run_id : 0;
}

// Fills `out` with the stored run, its counts, row issues and config, and
// whether it is served.
absl::Status LoadRun(Store* store, int64_t run_id, v1::Run* out) {
  absl::StatusOr<RunRecord> run = store->GetRun(run_id);
  if (!run.ok()) return run.status();
  absl::StatusOr<int64_t> served = ServedRunId(store);
  if (!served.ok()) return served.status();
  absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> counts =
      store->GetCounts(run_id);
  if (!counts.ok()) return counts.status();
  absl::StatusOr<std::vector<RejectStat>> rejects = store->GetRejects(run_id);
  if (!rejects.ok()) return rejects.status();
  ToProto(*run, *counts, out);
  for (const RejectStat& r : *rejects) ToProto(r, out->add_row_issues());
  out->set_config_json(run->config_json);
  out->set_served(run->run_id == *served);
  return absl::OkStatus();
}

}  // namespace

grpc::Status JobServiceImpl::StartRun(grpc::ServerContext* context,
                                      const v1::StartRunRequest* request,
                                      v1::Run* response) {
  if (grpc::Status s = Authorize(*context, *keys_, Role::kOperator); !s.ok()) {
    return s;
  }
  if (absl::Status id = ValidateRequestId(request->request_id()); !id.ok()) {
    return Invalid(std::string(id.message()));
  }
  std::optional<Micros> as_of;
  if (request->has_as_of()) {
    absl::StatusOr<Micros> t = FromTimestamp(request->as_of(), "as_of");
    if (!t.ok()) return ToGrpcStatus(t.status());
    as_of = *t;
  }
  absl::StatusOr<int64_t> run_id =
      runs_->StartRun(RunTrigger::kManual, request->request_id(), as_of);
  if (!run_id.ok()) return ToGrpcStatus(run_id.status());
  StorePool::Lease store = stores_->Acquire();
  return ToGrpcStatus(LoadRun(store.get(), *run_id, response));
}

grpc::Status JobServiceImpl::GetRun(grpc::ServerContext* context,
                                    const v1::GetRunRequest* request,
                                    v1::Run* response) {
  if (grpc::Status s = Authorize(*context, *keys_, Role::kOperator); !s.ok()) {
    return s;
  }
  if (request->run_id() <= 0) return Invalid("run_id: required");
  StorePool::Lease store = stores_->Acquire();
  return ToGrpcStatus(LoadRun(store.get(), request->run_id(), response));
}

grpc::Status JobServiceImpl::ListRuns(grpc::ServerContext* context,
                                      const v1::ListRunsRequest* request,
                                      v1::ListRunsResponse* response) {
  if (grpc::Status s = Authorize(*context, *keys_, Role::kOperator); !s.ok()) {
    return s;
  }
  if (request->page_size() < 0) return Invalid("page_size: must be >= 0");
  const int page_size =
      request->page_size() == 0
          ? kDefaultRunsPageSize
          : std::min(request->page_size(), kMaxRunsPageSize);
  std::optional<int64_t> before;
  if (!request->page_token().empty()) {
    absl::StatusOr<int64_t> b = tokens_->DecodeRuns(request->page_token());
    if (!b.ok()) return ToGrpcStatus(b.status());
    before = *b;
  }
  StorePool::Lease store = stores_->Acquire();
  absl::StatusOr<std::vector<RunRecord>> runs =
      store->ListRuns(page_size + 1, before);
  if (!runs.ok()) return ToGrpcStatus(runs.status());
  const bool more = static_cast<int>(runs->size()) > page_size;
  if (more) runs->resize(page_size);
  absl::StatusOr<int64_t> served = ServedRunId(store.get());
  if (!served.ok()) return ToGrpcStatus(served.status());
  for (const RunRecord& run : *runs) {
    absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> counts =
        store->GetCounts(run.run_id);
    if (!counts.ok()) return ToGrpcStatus(counts.status());
    v1::Run* out = response->add_runs();
    ToProto(run, *counts, out);
    out->set_served(run.run_id == *served);
  }
  if (more) {
    response->set_next_page_token(tokens_->EncodeRuns(runs->back().run_id));
  }
  return grpc::Status::OK;
}

grpc::Status JobServiceImpl::CancelRun(grpc::ServerContext* context,
                                       const v1::CancelRunRequest* request,
                                       v1::Run* response) {
  if (grpc::Status s = Authorize(*context, *keys_, Role::kOperator); !s.ok()) {
    return s;
  }
  if (request->run_id() <= 0) return Invalid("run_id: required");
  StorePool::Lease store = stores_->Acquire();
  absl::StatusOr<RunRecord> run = store->GetRun(request->run_id());
  if (!run.ok()) return ToGrpcStatus(run.status());
  if (IsFinished(run->state)) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        absl::StrCat("run ", run->run_id, " already finished (",
                                     std::string(RunStateName(run->state)),
                                     ")"));
  }
  if (absl::Status s = runs_->Cancel(request->run_id()); !s.ok()) {
    return grpc::Status(
        grpc::StatusCode::FAILED_PRECONDITION,
        absl::StrCat("run ", run->run_id,
                     " is not running in this daemon (started elsewhere)"));
  }
  return ToGrpcStatus(LoadRun(store.get(), request->run_id(), response));
}

grpc::Status JobServiceImpl::WatchRun(grpc::ServerContext* context,
                                      const v1::WatchRunRequest* request,
                                      grpc::ServerWriter<v1::RunEvent>* writer) {
  if (grpc::Status s = Authorize(*context, *keys_, Role::kOperator); !s.ok()) {
    return s;
  }
  if (request->run_id() <= 0) return Invalid("run_id: required");
  if (std::shared_ptr<RunLog> log = runs_->Log(request->run_id())) {
    // Replays what happened so far, then follows live until the terminal
    // event.
    for (size_t i = 0;;) {
      RunEvent event;
      bool timed_out = false;
      if (log->Wait(i, absl::Now() + absl::Milliseconds(200), &event,
                    &timed_out)) {
        v1::RunEvent out;
        ToProto(event, &out);
        if (!writer->Write(out)) return grpc::Status::CANCELLED;
        if (event.terminal) return grpc::Status::OK;
        ++i;
      } else if (!timed_out) {
        return grpc::Status::OK;  // closed: nothing more will come
      }
      if (context->IsCancelled()) return grpc::Status::CANCELLED;
    }
  }
  // A run this process did not start: follow the store until it finishes.
  while (true) {
    absl::StatusOr<RunRecord> run;
    {
      StorePool::Lease store = stores_->Acquire();
      run = store->GetRun(request->run_id());
    }
    if (!run.ok()) return ToGrpcStatus(run.status());
    if (IsFinished(run->state)) {
      RunEvent event;
      event.run_id = run->run_id;
      event.stage = run->current_stage;
      event.state = run->state;
      event.error = run->error;
      event.terminal = true;
      v1::RunEvent out;
      ToProto(event, &out);
      writer->Write(out);
      return grpc::Status::OK;
    }
    if (context->IsCancelled() || runs_->shutting_down()) {
      return grpc::Status::CANCELLED;
    }
    absl::SleepFor(absl::Milliseconds(250));
  }
}

grpc::Status JobServiceImpl::GetDiagnosis(
    grpc::ServerContext* context, const v1::GetDiagnosisRequest* request,
    v1::Diagnosis* response) {
  if (grpc::Status s = Authorize(*context, *keys_, Role::kOperator); !s.ok()) {
    return s;
  }
  StorePool::Lease store = stores_->Acquire();
  absl::StatusOr<int64_t> run_id =
      ResolvePublishedRun(store.get(), request->run_id());
  if (!run_id.ok()) return ToGrpcStatus(run_id.status());
  absl::StatusOr<DiagnosisRecord> d = store->GetDiagnosis(*run_id);
  if (!d.ok()) return ToGrpcStatus(d.status());
  ToProto(*d, *run_id, response);
  return grpc::Status::OK;
}

grpc::Status JobServiceImpl::GetModelReport(
    grpc::ServerContext* context, const v1::GetModelReportRequest* request,
    v1::ModelReport* response) {
  if (grpc::Status s = Authorize(*context, *keys_, Role::kOperator); !s.ok()) {
    return s;
  }
  StorePool::Lease store = stores_->Acquire();
  absl::StatusOr<int64_t> run_id =
      ResolvePublishedRun(store.get(), request->run_id());
  if (!run_id.ok()) return ToGrpcStatus(run_id.status());
  absl::StatusOr<ModelReportRecord> r = store->GetModelReport(*run_id);
  if (!r.ok()) return ToGrpcStatus(r.status());
  ToProto(*r, *run_id, response);
  return grpc::Status::OK;
}

}  // namespace winback
