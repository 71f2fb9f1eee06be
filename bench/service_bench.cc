// Load figures of winbackd's read API on loopback.
//
//   service_bench make-db --db FILE [--customers 100000]
//       writes a database with one published run whose campaign "bench-all"
//       lists every customer (so a full-list stream has --customers rows)
//   service_bench load --addr HOST:PORT --key KEY [--campaign bench-all]
//       [--clients 8] [--seconds 5] [--page-size 1000]
//       [--phases pages,stream,lookups]
//       reports ListTargets page latency p50/p99 under --clients concurrent
//       clients, the time to stream the whole list, and the GetCustomer rate;
//       --phases picks a subset (e.g. to profile the daemon one at a time)
//
// bench/service_bench.sh runs both against a fresh winbackd.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "grpcpp/grpcpp.h"
#include "jobs/store/store.h"
#include "winback/v1/campaigns.grpc.pb.h"

namespace {

namespace v1 = winback::v1;
using Clock = std::chrono::steady_clock;

int MakeDb(const std::string& path, int customers) {
  auto store = winback::Store::Open(path, winback::StoreOptions());
  if (!store.ok()) {
    std::cerr << store.status() << "\n";
    return 1;
  }
  const winback::Micros now = 1'700'000'000'000'000;
  auto run = (*store)->BeginRun(winback::RunTrigger::kManual, "", now, now);
  if (!run.ok()) {
    std::cerr << run.status() << "\n";
    return 1;
  }
  std::vector<winback::CustomerRecord> people(customers);
  winback::TargetTable targets;
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<double> risk(customers);
  for (int i = 0; i < customers; ++i) risk[i] = u(rng) * 5e6;
  std::vector<int> order(customers);
  for (int i = 0; i < customers; ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](int a, int b) { return risk[a] > risk[b]; });
  const std::string reasons = winback::EncodeReasons(
      {{"recency_days", 1.2}, {"cart_abandon_share", 0.8}, {"frequency", -0.3}});
  for (int i = 0; i < customers; ++i) {
    winback::CustomerRecord& c = people[i];
    c.customer_id = i + 1;
    c.segment = "At Risk";
    c.status = winback::ChurnStatus::kActive;
    c.r_score = c.f_score = c.m_score = 3;
    c.churn_score = 0.5;
    c.reasons = reasons;
    c.last_purchase_at = now - winback::kMicrosPerDay;
  }
  for (int i : order) {
    targets.customer_id.push_back(i + 1);
    targets.campaign.push_back("bench-all");
    targets.segment.push_back("At Risk");
    targets.churn_score.push_back(0.5);
    targets.revenue_at_risk.push_back(risk[i]);
    targets.holdout.push_back(i % 10 == 0);
    targets.reasons.push_back(reasons);
    targets.promo_code.push_back("BENCH10");
  }
  winback::CampaignRecord campaign;
  campaign.config.name = "bench-all";
  campaign.config.promo_code = "BENCH10";
  campaign.summary.name = "bench-all";
  campaign.summary.assigned = customers;
  std::vector<winback::CampaignRecord> campaigns = {campaign};
  winback::RunOutputs out;
  out.customers = &people;
  out.campaigns = &campaigns;
  out.targets = &targets;
  if (auto s = (*store)->PublishRun(run->run_id, out, now); !s.ok()) {
    std::cerr << s << "\n";
    return 1;
  }
  std::cout << "published run " << run->run_id << " with " << customers
            << " targets in " << path << "\n";
  return 0;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))];
}

int Load(const std::string& addr, const std::string& key,
         const std::string& campaign, int clients, int seconds, int page_size,
         const std::set<std::string>& phases) {
  const auto metadata = [&](grpc::ClientContext* ctx) {
    ctx->AddMetadata("authorization", "Bearer " + key);
  };
  std::atomic<bool> stop{false};
  std::atomic<int64_t> errors{0};
  std::vector<std::thread> threads;
  // 1. Pages under concurrency: each client pages through the list with
  // tokens, starting over at the end, on its own channel.
  if (phases.contains("pages")) {
    std::vector<std::vector<double>> latencies(clients);
    for (int c = 0; c < clients; ++c) {
      threads.emplace_back([&, c] {
        grpc::ChannelArguments args;
        args.SetInt("grpc.channel_id", c);  // a connection per client
        args.SetMaxReceiveMessageSize(64 << 20);
        auto stub = v1::CampaignService::NewStub(grpc::CreateCustomChannel(
            addr, grpc::InsecureChannelCredentials(), args));
        v1::ListTargetsRequest req;
        req.set_campaign(campaign);
        req.set_page_size(page_size);
        while (!stop.load()) {
          grpc::ClientContext ctx;
          metadata(&ctx);
          v1::ListTargetsResponse resp;
          const auto t0 = Clock::now();
          const grpc::Status s = stub->ListTargets(&ctx, req, &resp);
          latencies[c].push_back(
              std::chrono::duration<double, std::milli>(Clock::now() - t0)
                  .count());
          if (!s.ok()) {
            ++errors;
            std::cerr << s.error_message() << "\n";
            return;
          }
          req.set_page_token(resp.next_page_token());
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::seconds(seconds));
    stop = true;
    for (auto& t : threads) t.join();
    std::vector<double> all;
    for (const auto& v : latencies) all.insert(all.end(), v.begin(), v.end());
    std::printf(
        "ListTargets page_size=%d, %d clients, %ds: %zu pages (%.0f pages/s), "
        "p50 %.2f ms, p99 %.2f ms, max %.2f ms, errors %lld\n",
        page_size, clients, seconds, all.size(), all.size() / double(seconds),
        Percentile(all, 0.50), Percentile(all, 0.99), Percentile(all, 1.0),
        static_cast<long long>(errors.load()));
  }

  auto channel = grpc::CreateChannel(addr, grpc::InsecureChannelCredentials());
  auto stub = v1::CampaignService::NewStub(channel);
  // 2. The whole list as one stream.
  if (phases.contains("stream")) {
    grpc::ClientContext ctx;
    metadata(&ctx);
    v1::StreamTargetsRequest req;
    req.set_campaign(campaign);
    const auto t0 = Clock::now();
    auto reader = stub->StreamTargets(&ctx, req);
    v1::Target t;
    int64_t rows = 0;
    while (reader->Read(&t)) ++rows;
    const grpc::Status s = reader->Finish();
    const double secs =
        std::chrono::duration<double>(Clock::now() - t0).count();
    std::printf("StreamTargets: %lld rows in %.3f s (%.0f rows/s)%s\n",
                static_cast<long long>(rows), secs, rows / secs,
                s.ok() ? "" : (" ERROR " + s.error_message()).c_str());
  }
  // 3. Customer lookups: `clients` threads for `seconds`.
  if (phases.contains("lookups")) {
    std::atomic<int64_t> done{0};
    std::vector<std::vector<double>> lat(clients);
    stop = false;
    threads.clear();
    for (int c = 0; c < clients; ++c) {
      threads.emplace_back([&, c] {
        std::mt19937_64 rng(c);
        while (!stop.load()) {
          grpc::ClientContext ctx;
          metadata(&ctx);
          v1::GetCustomerRequest req;
          req.set_customer_id(1 + rng() % 1000);
          v1::Customer out;
          const auto t0 = Clock::now();
          const grpc::Status s = stub->GetCustomer(&ctx, req, &out);
          lat[c].push_back(std::chrono::duration<double, std::milli>(
                               Clock::now() - t0)
                               .count());
          if (s.ok()) ++done;
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::seconds(seconds));
    stop = true;
    for (auto& t : threads) t.join();
    std::vector<double> all;
    for (const auto& v : lat) all.insert(all.end(), v.begin(), v.end());
    std::printf(
        "GetCustomer, %d clients: %.0f lookups/s, p50 %.2f ms, p99 %.2f ms\n",
        clients, done.load() / double(seconds), Percentile(all, 0.5),
        Percentile(all, 0.99));
  }
  return errors.load() == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"winbackd load figures"};
  app.require_subcommand(1);
  std::string db, addr = "127.0.0.1:50051", key, campaign = "bench-all";
  int customers = 100000, clients = 8, seconds = 5, page_size = 1000;
  std::vector<std::string> phases = {"pages", "stream", "lookups"};
  auto* make = app.add_subcommand("make-db", "write a synthetic database");
  make->add_option("--db", db)->required();
  make->add_option("--customers", customers);
  auto* load = app.add_subcommand("load", "measure a running winbackd");
  load->add_option("--addr", addr);
  load->add_option("--key", key)->required();
  load->add_option("--campaign", campaign);
  load->add_option("--clients", clients);
  load->add_option("--seconds", seconds);
  load->add_option("--page-size", page_size);
  load->add_option("--phases", phases, "any of pages, stream, lookups")
      ->delimiter(',')
      ->check(CLI::IsMember({"pages", "stream", "lookups"}));
  CLI11_PARSE(app, argc, argv);
  if (make->parsed()) return MakeDb(db, customers);
  return Load(addr, key, campaign, clients, seconds, page_size,
              std::set<std::string>(phases.begin(), phases.end()));
}
