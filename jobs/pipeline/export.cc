#include "jobs/pipeline/export.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace winback {
namespace {

struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<FILE, FileCloser>;

absl::StatusOr<File> Create(const std::string& path) {
  File f(std::fopen(path.c_str(), "w"));
  if (!f) {
    return absl::UnavailableError(
        absl::StrCat("cannot write ", path, ": ", std::strerror(errno)));
  }
  return f;
}

absl::Status Close(File f, const std::string& path) {
  if (std::ferror(f.get()) != 0 || std::fclose(f.release()) != 0) {
    return absl::UnavailableError(absl::StrCat("error writing ", path));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ExportSessionsPerCustomer(const SessionTable& sessions,
                                       const std::string& path) {
  std::map<int64_t, int64_t> per_customer;
  for (int64_t c : sessions.customer_id) {
    if (c != kNoCustomer) ++per_customer[c];
  }
  absl::StatusOr<File> f = Create(path);
  if (!f.ok()) return f.status();
  std::fputs("customer_id,sessions\n", f->get());
  for (const auto& [customer, n] : per_customer) {
    std::fprintf(f->get(), "%lld,%lld\n", static_cast<long long>(customer),
                 static_cast<long long>(n));
  }
  return Close(*std::move(f), path);
}

absl::Status ExportSessions(const SessionTable& sessions,
                            const StringPool& session_ids,
                            const std::string& path) {
  absl::StatusOr<File> f = Create(path);
  if (!f.ok()) return f.status();
  std::fputs("session_id,customer_id,start_us,end_us,events", f->get());
  for (int t = 0; t < kEventTypeCount; ++t) {
    std::fprintf(f->get(), ",%s",
                 absl::AsciiStrToLower(
                     std::string(EventTypeName(static_cast<EventType>(t))))
                     .c_str());
  }
  std::fputs(",traffic_source,last_event\n", f->get());
  for (size_t i = 0; i < sessions.size(); ++i) {
    const std::string_view id = session_ids.Get(sessions.session[i]);
    std::fprintf(f->get(), "%.*s#%u,", static_cast<int>(id.size()), id.data(),
                 sessions.piece[i]);
    if (sessions.customer_id[i] != kNoCustomer) {
      std::fprintf(f->get(), "%lld",
                   static_cast<long long>(sessions.customer_id[i]));
    }
    std::fprintf(
        f->get(), ",%lld,%lld,%u", static_cast<long long>(sessions.start[i]),
        static_cast<long long>(sessions.end[i]), sessions.event_count[i]);
    for (int t = 0; t < kEventTypeCount; ++t) {
      std::fprintf(f->get(), ",%u",
                   sessions.Count(i, static_cast<EventType>(t)));
    }
    const std::string_view source =
        TrafficSourceName(sessions.traffic_source[i]);
    const std::string_view last = EventTypeName(sessions.last_event[i]);
    std::fprintf(f->get(), ",%.*s,%.*s\n", static_cast<int>(source.size()),
                 source.data(), static_cast<int>(last.size()), last.data());
  }
  return Close(*std::move(f), path);
}

absl::Status ExportDesign(const Eigen::MatrixXd& x, const Eigen::VectorXd& y,
                          const std::string& path) {
  absl::StatusOr<File> f = Create(path);
  if (!f.ok()) return f.status();
  for (const std::string& name : ModelFeatureNames()) {
    std::fprintf(f->get(), "%s,", name.c_str());
  }
  std::fputs("churned\n", f->get());
  for (Eigen::Index i = 0; i < x.rows(); ++i) {
    for (Eigen::Index j = 0; j < x.cols(); ++j) {
      std::fprintf(f->get(), "%.17g,", x(i, j));
    }
    std::fprintf(f->get(), "%d\n", static_cast<int>(y(i)));
  }
  return Close(*std::move(f), path);
}

}  // namespace winback
