// winback-datagen: writes the synthetic Fashion Campus export (and, with
// --truth, what it planted) into --out. See datagen.h.
#include <chrono>
#include <cstdio>
#include <string>

#include "CLI/CLI.hpp"
#include "jobs/common/command_line.h"
#include "tools/datagen/datagen.h"

int main(int argc, char** argv) {
  winback::datagen::DatagenOptions options;
  CLI::App app{"Writes a deterministic synthetic Fashion Campus export."};
  app.add_option("--out", options.out_dir,
                 "Output directory (created if missing)")
      ->required();
  app.add_option(
         "--customers", options.customers,
         "Number of customers; everything scales with it (100000 = full size)")
      ->capture_default_str();
  app.add_option("--seed", options.seed, "Random seed")->capture_default_str();
  app.add_option("--bad-rows", options.bad_rows,
                 "Extra malformed rows injected into each file")
      ->capture_default_str();
  app.add_flag(
      "--truth", options.truth,
      "Also write <out>/truth/{purchases.csv,sessions.csv,summary.json}");
  if (std::optional<int> code = winback::ParseCommandLine(app, argc, argv)) {
    return *code;
  }

  const auto start = std::chrono::steady_clock::now();
  const auto summary = winback::datagen::GenerateDataset(options);
  if (!summary.ok()) {
    std::fprintf(stderr, "winback-datagen: %s\n",
                 summary.status().ToString().c_str());
    return 1;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  const int64_t bytes = summary->customer.bytes + summary->product.bytes +
                        summary->transactions.bytes +
                        summary->click_stream.bytes;
  std::fprintf(
      stderr,
      "winback-datagen: %lld customers, %lld products, %lld bookings, "
      "%lld click events, %lld session_ids, %lld pieces; %.1f MB in %.1f s\n",
      static_cast<long long>(summary->customers),
      static_cast<long long>(summary->products),
      static_cast<long long>(summary->bookings),
      static_cast<long long>(summary->click_events),
      static_cast<long long>(summary->session_ids),
      static_cast<long long>(summary->pieces), bytes / 1e6, seconds);
  return 0;
}
