// The gRPC edge's one place for proto <-> domain conversion and for mapping
// absl::Status to grpc::Status. Nothing else converts.
#ifndef WINBACK_SERVICES_CONVERT_H_
#define WINBACK_SERVICES_CONVERT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "google/protobuf/timestamp.pb.h"
#include "grpcpp/support/status.h"
#include "jobs/store/outputs.h"
#include "jobs/store/store.h"
#include "services/run_manager.h"
#include "services/target_cache.h"
#include "winback/v1/campaigns.pb.h"
#include "winback/v1/jobs.pb.h"

namespace winback {

// Same code, same message. Every handler returns through this.
grpc::Status ToGrpcStatus(const absl::Status& status);
// "OK", "INVALID_ARGUMENT", ... (metrics labels, logs).
const char* GrpcCodeName(grpc::StatusCode code);
// Whether a failed call's code points at the server rather than the caller:
// UNKNOWN, INTERNAL, DATA_LOSS and UNAVAILABLE (the store could not answer).
// The daemon logs those at level error and the rest (a bad request, an
// unknown run, a missing key, a cancel, a deadline) at info.
bool IsServerFault(grpc::StatusCode code);

google::protobuf::Timestamp ToTimestamp(Micros t);
// InvalidArgument naming `field` for a timestamp out of range.
absl::StatusOr<Micros> FromTimestamp(const google::protobuf::Timestamp& ts,
                                     const char* field);

v1::RunState ToProto(RunState state);
v1::RunTrigger ToProto(RunTrigger trigger);
void ToProto(const RunRecord& run,
             const std::vector<std::pair<std::string, int64_t>>& counts,
             v1::Run* out);
// One run_rejects row; a repair's reason loses kRepairedReasonPrefix and sets
// `repaired`.
void ToProto(const RejectStat& reject, v1::RowIssue* out);
void ToProto(const RunEvent& event, v1::RunEvent* out);

void ToProto(const SegmentRecord& segment, v1::Segment* out);
void ToProto(const CampaignRecord& campaign, v1::Campaign* out);
// Row `i` of `targets`.
void ToProto(const TargetTable& targets, size_t i, v1::Target* out);
// Appends every row of `targets` to `list` as one record: the row as a
// `targets` field of a serialized ListTargetsResponse (tag, length, Target).
// A serialized ListTargetsResponse without targets followed by records is
// that response with those targets (a protobuf parser merges concatenated
// messages), so a page is sent without building a message per target.
void EncodeTargets(const TargetTable& targets, TargetList* list);
// The serialized Target inside a record of EncodeTargets: one StreamTargets
// message.
std::string_view TargetMessage(std::string_view record);
void ToProto(const CustomerRecord& customer, int64_t run_id, v1::Customer* out);
void ToProto(const ModelReportRecord& report, int64_t run_id,
             v1::ModelReport* out);
void ToProto(const DiagnosisRecord& diagnosis, int64_t run_id,
             v1::Diagnosis* out);
// With the figures derived from the counts (Figures in jobs/readout).
void ToProto(const CampaignReadout& readout, v1::CampaignReadout* out);

// Parses stored reasons: the JSON form of EncodeReasons, or free text
// "feature +1.2; feature -0.3". Unparseable text yields one reason holding
// the text with contribution 0.
std::vector<Reason> ParseReasons(const std::string& text);

}  // namespace winback

#endif  // WINBACK_SERVICES_CONVERT_H_
