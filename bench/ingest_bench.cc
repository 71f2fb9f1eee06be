// Times ingest on real-sized files:
//   ingest_bench <export_dir> [threads]      IngestDirectory on all four files
//   ingest_bench --clicks <file> [threads]   ParseClicks on one click file
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "jobs/ingest/ingest.h"
#include "jobs/ingest/mapped_file.h"

namespace {

double Seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

void PrintReport(const winback::FileReport& r) {
  std::printf("  %s: read %lld rejected %lld repaired %lld\n", r.file.c_str(),
              static_cast<long long>(r.rows_read),
              static_cast<long long>(r.rows_rejected),
              static_cast<long long>(r.rows_repaired));
  for (const auto& reason : r.rejects) {
    std::printf("    %s: %lld\n", reason.reason.c_str(),
                static_cast<long long>(reason.count));
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: %s <dir> [threads] | --clicks <file> [threads]\n",
                 argv[0]);
    return 2;
  }
  winback::IngestOptions options;
  const bool clicks_only = std::string(argv[1]) == "--clicks";
  const int path_arg = clicks_only ? 2 : 1;
  if (argc <= path_arg) return 2;
  if (argc > path_arg + 1) options.threads = std::atoi(argv[path_arg + 1]);
  const auto start = std::chrono::steady_clock::now();
  if (clicks_only) {
    absl::StatusOr<winback::MappedFile> file =
        winback::MappedFile::Open(argv[2]);
    if (!file.ok()) {
      std::fprintf(stderr, "%s\n", file.status().ToString().c_str());
      return 1;
    }
    winback::StringPool sessions;
    winback::ClickTable clicks;
    winback::FileReport report;
    const absl::Status s = winback::ParseClicks(
        file->data(), "click_stream.csv", options, &sessions, &clicks, &report,
        [&file](std::string_view done) { file->Release(done); });
    const double secs = Seconds(start);
    if (!s.ok()) {
      std::fprintf(stderr, "%s\n", s.ToString().c_str());
      return 1;
    }
    const double mb = static_cast<double>(file->data().size()) / (1 << 20);
    std::printf(
        "clicks: %zu rows, %zu session ids, %.3f s, %.0f rows/s, %.0f MB/s\n",
        clicks.size(), sessions.size(), secs,
        static_cast<double>(report.rows_read) / secs, mb / secs);
    PrintReport(report);
    return 0;
  }
  absl::StatusOr<winback::Dataset> data =
      winback::IngestDirectory(argv[1], options);
  const double secs = Seconds(start);
  if (!data.ok()) {
    std::fprintf(stderr, "%s\n", data.status().ToString().c_str());
    return 1;
  }
  std::printf(
      "ingest: %.3f s; customers %zu, products %zu, bookings %zu, "
      "clicks %zu, session ids %zu\n",
      secs, data->customers.size(), data->products.size(),
      data->bookings.size(), data->clicks.size(), data->session_ids.size());
  for (const auto& r : data->report.files) PrintReport(r);
  return 0;
}
