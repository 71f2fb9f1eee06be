// A whole one-shot run on generated data, checked against values computed in
// this file from the generator's own plan (truth/*), never from the code
// under test.
#include <SQLiteCpp/SQLiteCpp.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tests/e2e_util.h"

namespace winback::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr int64_t kDayUs = 86'400'000'000LL;
constexpr int64_t kWindowUs = 25 * kDayUs;

struct Label {
  int64_t last_purchase_at;
  int churned;
  int censored;
  bool operator==(const Label&) const = default;
};
using LabelMap = std::map<std::pair<int64_t, std::string>, Label>;

// The analysts' rule, written plainly: for each customer-month, the last
// purchase t; churned iff no purchase in (t, t + 25d]; censored iff
// t + 25d > T.
LabelMap ExpectedLabels(const std::map<int64_t, std::vector<int64_t>>& purchases,
                        int64_t as_of) {
  LabelMap out;
  for (const auto& [customer, times_all] : purchases) {
    std::vector<int64_t> times;
    for (int64_t t : times_all) {
      if (t <= as_of) times.push_back(t);
    }
    std::map<std::string, int64_t> last_in_month;
    for (int64_t t : times) {
      auto& last = last_in_month[UtcText(t, "%Y-%m")];
      last = std::max(last, t);
    }
    for (const auto& [month, t] : last_in_month) {
      bool repurchased = false;
      for (int64_t u : times) repurchased |= (u > t && u <= t + kWindowUs);
      const bool censored = t + kWindowUs > as_of;
      out[{customer, month}] = {t, censored ? 0 : !repurchased, censored};
    }
  }
  return out;
}

// The as-of time runs.as_of_us holds for `run_id`.
int64_t StoredAsOf(SQLite::Database& db, int64_t run_id) {
  return db
      .execAndGet("SELECT as_of_us FROM runs WHERE run_id = " +
                  std::to_string(run_id))
      .getInt64();
}

class RunE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::make_unique<TempDir>("run-e2e");
    data_ = dir_->path() / "data";
    std::string out;
    ASSERT_EQ(RunCommand(DatagenBinary() + " --customers 400 --seed 7 "
                             "--bad-rows 2 --truth --out " + data_.string(),
                         &out),
              0)
        << out;
    summary_ = nlohmann::json::parse(ReadFile(data_ / "truth" / "summary.json"));
    db_ = dir_->path() / "winback.db";
    WriteFile(dir_->path() / "winback.yaml",
              "data: {dir: data, max_bad_row_share: 0.05}\n"
              "store: {path: winback.db, keep_runs: 5}\n");
  }

  int Run(const std::string& extra, std::string* out) {
    return RunCommand(WinbackBinary() + " run --config " +
                          (dir_->path() / "winback.yaml").string() + " " + extra,
                      out);
  }

  // The newest run's id and state.
  static std::pair<int64_t, std::string> NewestRun(SQLite::Database& db) {
    SQLite::Statement q(
        db, "SELECT run_id, state FROM runs ORDER BY run_id DESC LIMIT 1");
    if (!q.executeStep()) return {0, ""};
    return {q.getColumn(0).getInt64(), q.getColumn(1).getString()};
  }

  std::map<std::string, int64_t> Counts(SQLite::Database& db, int64_t run_id) {
    std::map<std::string, int64_t> counts;
    SQLite::Statement q(db, "SELECT name, value FROM run_counts WHERE run_id = ?");
    q.bind(1, run_id);
    while (q.executeStep()) counts[q.getColumn(0).getString()] = q.getColumn(1).getInt64();
    return counts;
  }

  LabelMap StoredLabels(SQLite::Database& db, int64_t run_id) {
    LabelMap stored;
    SQLite::Statement q(db,
                        "SELECT customer_id, month, last_purchase_at_us, churned, "
                        "censored FROM churn_labels WHERE run_id = ?");
    q.bind(1, run_id);
    while (q.executeStep()) {
      stored[{q.getColumn(0).getInt64(), q.getColumn(1).getString()}] = {
          q.getColumn(2).getInt64(), q.getColumn(3).getInt(), q.getColumn(4).getInt()};
    }
    return stored;
  }

  std::unique_ptr<TempDir> dir_;
  std::filesystem::path data_, db_;
  nlohmann::json summary_;
};

TEST_F(RunE2E, StoredCountsAndLabelsMatchTheGeneratorsPlan) {
  std::string out;
  ASSERT_EQ(Run("", &out), 0) << out;
  EXPECT_THAT(out, HasSubstr("succeeded"));

  SQLite::Database db(db_.string(), SQLite::OPEN_READONLY);
  SQLite::Statement run(db,
                        "SELECT run_id, state, published, as_of_us, "
                        "cpu_seconds, peak_rss_bytes FROM runs "
                        "ORDER BY run_id DESC LIMIT 1");
  ASSERT_TRUE(run.executeStep());
  const int64_t run_id = run.getColumn(0).getInt64();
  EXPECT_EQ(run.getColumn(1).getString(), "succeeded");
  EXPECT_EQ(run.getColumn(2).getInt(), 1);
  const int64_t as_of = run.getColumn(3).getInt64();
  // What the process used is recorded: some CPU, and more memory than the
  // export's few MiB of CSV.
  EXPECT_GT(run.getColumn(4).getDouble(), 0);
  EXPECT_GT(run.getColumn(5).getInt64(), int64_t{4} << 20);
  // The summary ends with them.
  EXPECT_THAT(
      out, HasSubstr(absl::StrFormat(
               "process: %.1f s of CPU, peak memory %.0f MiB\n",
               run.getColumn(4).getDouble(),
               static_cast<double>(run.getColumn(5).getInt64()) / (1 << 20))));
  // Every stage's rows in the printed summary are the stored ones (publish
  // used to print fewer than it recorded), and so is its CPU time (publish's
  // stored figures are timed inside the store's transaction, the printed
  // ones around the whole stage).
  const double process_cpu = run.getColumn(4).getDouble();
  SQLite::Statement stages(
      db, "SELECT stage, rows, cpu_seconds FROM run_stages WHERE run_id = ?");
  stages.bind(1, run_id);
  int stage_count = 0;
  double stage_cpu = 0;
  while (stages.executeStep()) {
    ++stage_count;
    const std::string stage = stages.getColumn(0).getString();
    // The stage table follows its header line.
    std::istringstream lines(out.substr(out.find("stage          seconds")));
    std::string line, name, seconds, cpu, rows;
    while (std::getline(lines, line)) {
      std::istringstream fields(line);
      if (fields >> name >> seconds >> cpu >> rows && name == stage) break;
      rows.clear();
    }
    EXPECT_EQ(rows, std::to_string(stages.getColumn(1).getInt64())) << stage;
    ASSERT_FALSE(stages.getColumn(2).isNull()) << stage;
    const double stored_cpu = stages.getColumn(2).getDouble();
    EXPECT_GE(stored_cpu, 0) << stage;
    if (stage != "publish") {
      EXPECT_EQ(cpu, absl::StrFormat("%.3f", stored_cpu)) << stage;
    }
    stage_cpu += stored_cpu;
  }
  EXPECT_EQ(stage_count, 10);
  // The stages ran in this process one after another, so their CPU times add
  // up to no more than the process's own, measured at its end.
  EXPECT_GT(stage_cpu, 0);
  EXPECT_LE(stage_cpu, process_cpu + 1e-6);
  EXPECT_EQ(as_of, std::max(summary_["last_event_time_us"].get<int64_t>(),
                            summary_["last_booking_time_us"].get<int64_t>()));

  const TruthSessions truth = ReadTruthSessions(data_);
  const auto counts = Counts(db, run_id);
  EXPECT_EQ(counts.at("session_ids"), truth.session_ids);
  EXPECT_EQ(counts.at("sessions"), truth.pieces);
  EXPECT_EQ(counts.at("sessions_linked"), truth.linked_pieces);
  EXPECT_EQ(counts.at("click_events"), summary_["click_events"].get<int64_t>());
  // Every injected bad row is rejected, and nothing else.
  for (const char* file : {"customer", "product", "transactions", "click_stream"}) {
    const nlohmann::json& truth_file = summary_["files"][std::string(file) + ".csv"];
    EXPECT_EQ(counts.at(std::string(file) + ".rows_rejected"),
              truth_file["bad_rows"].get<int64_t>())
        << file;
    EXPECT_EQ(counts.at(std::string(file) + ".rows_read"),
              truth_file["bad_rows"].get<int64_t>() + truth_file["valid_rows"].get<int64_t>())
        << file;
    // The report's line numbers are the lines the generator planted them at.
    std::vector<int64_t> reported;
    SQLite::Statement q(db, "SELECT first_lines FROM run_rejects WHERE run_id = ? AND file = ? "
                            "AND reason NOT LIKE 'repaired:%'");
    q.bind(1, run_id);
    q.bind(2, std::string(file) + ".csv");
    while (q.executeStep()) {
      std::stringstream lines(q.getColumn(0).getString());
      std::string line;
      while (std::getline(lines, line, ',')) reported.push_back(std::stoll(line));
    }
    std::sort(reported.begin(), reported.end());
    std::vector<int64_t> planted = truth_file["bad_lines"].get<std::vector<int64_t>>();
    std::sort(planted.begin(), planted.end());
    EXPECT_EQ(reported, planted) << file;
  }
  EXPECT_EQ(counts.at("product.rows_repaired"),
            summary_["repaired_product_rows"].get<int64_t>());

  const auto purchases = ReadTruthPurchases(data_);
  int64_t purchase_count = 0;
  for (const auto& [c, t] : purchases) purchase_count += static_cast<int64_t>(t.size());
  EXPECT_EQ(counts.at("purchases"), purchase_count);

  const LabelMap expected = ExpectedLabels(purchases, as_of);
  const LabelMap stored = StoredLabels(db, run_id);
  ASSERT_EQ(stored.size(), expected.size());
  int64_t churned = 0, censored = 0;
  for (const auto& [key, label] : expected) {
    auto it = stored.find(key);
    ASSERT_NE(it, stored.end()) << key.first << " " << key.second;
    EXPECT_EQ(it->second, label) << key.first << " " << key.second;
    churned += label.churned;
    censored += label.censored;
  }
  EXPECT_EQ(counts.at("customer_months_churned"), churned);
  EXPECT_EQ(counts.at("customer_months_censored"), censored);
  // The generated story has churn and censoring; a degenerate data set would
  // make the comparison above vacuous.
  EXPECT_GT(churned, 0);
  EXPECT_GT(censored, 0);
}

// Upper-cases field `index` (0-based) of every data row of a CSV whose
// first `index` fields hold no commas or quotes, where that field is a
// 36-character UUID; with `every_other`, only in every other such row.
// Returns the line numbers (1-based, the header is line 1) of the rows
// whose text it changed.
std::vector<int64_t> UppercaseUuidField(const std::filesystem::path& path,
                                        int index, bool every_other) {
  std::istringstream in(ReadFile(path));
  std::string out, line;
  std::vector<int64_t> changed;
  int64_t seen = 0, line_no = 1;
  std::getline(in, line);
  out += line + "\n";
  while (std::getline(in, line)) {
    ++line_no;
    size_t begin = 0;
    for (int i = 0; i < index && begin != std::string::npos; ++i) {
      begin = line.find(',', begin);
      if (begin != std::string::npos) ++begin;
    }
    const size_t end =
        begin == std::string::npos ? begin : line.find(',', begin);
    if (end != std::string::npos && end - begin == 36 &&
        (!every_other || seen++ % 2 == 0)) {
      const std::string before = line;
      for (size_t i = begin; i < end; ++i) {
        line[i] = static_cast<char>(
            std::toupper(static_cast<unsigned char>(line[i])));
      }
      if (line != before) changed.push_back(line_no);
    }
    out += line + "\n";
  }
  WriteFile(path, out);
  return changed;
}

// A session_id is a UUID whatever its case: with every booking's session_id
// and every other click row's written in uppercase, the run finds the same
// session_ids, sessions and customer links as the generator planned. Each
// kept row whose session_id changed is reported as a session_id_case repair
// of its file (not a reject, so the bad-row share stays the planted one), in
// run_counts, run_rejects and the printed summary.
TEST_F(RunE2E, SessionIdsLinkWhateverTheirCase) {
  std::map<std::string, std::vector<int64_t>> changed;
  changed["transactions"] =
      UppercaseUuidField(data_ / "transactions.csv", 3, false);
  changed["click_stream"] =
      UppercaseUuidField(data_ / "click_stream.csv", 0, true);
  std::string out;
  ASSERT_EQ(Run("", &out), 0) << out;
  SQLite::Database db(db_.string(), SQLite::OPEN_READONLY);
  const int64_t run_id = NewestRun(db).first;
  const auto counts = Counts(db, run_id);
  const TruthSessions truth = ReadTruthSessions(data_);
  EXPECT_EQ(counts.at("session_ids"), truth.session_ids);
  EXPECT_EQ(counts.at("sessions"), truth.pieces);
  EXPECT_EQ(counts.at("sessions_linked"), truth.linked_pieces);
  EXPECT_GT(truth.linked_pieces, 0);
  for (const char* file : {"transactions", "click_stream"}) {
    SCOPED_TRACE(file);
    const nlohmann::json& truth_file =
        summary_["files"][std::string(file) + ".csv"];
    EXPECT_EQ(counts.at(std::string(file) + ".rows_rejected"),
              truth_file["bad_rows"].get<int64_t>());
    // The repaired rows: those changed above, less the planted bad rows
    // (which are rejected, whatever their case).
    const std::vector<int64_t> bad =
        truth_file["bad_lines"].get<std::vector<int64_t>>();
    std::vector<int64_t> repaired;
    for (int64_t line : changed[file]) {
      if (std::find(bad.begin(), bad.end(), line) == bad.end()) {
        repaired.push_back(line);
      }
    }
    ASSERT_GT(repaired.size(), 5u);
    const std::vector<int64_t> first(repaired.begin(), repaired.begin() + 5);
    const int64_t count = static_cast<int64_t>(repaired.size());
    EXPECT_EQ(counts.at(std::string(file) + ".rows_repaired"), count);
    SQLite::Statement q(db,
                        "SELECT reason, count, first_lines FROM run_rejects "
                        "WHERE run_id = ? AND file = ? AND reason LIKE "
                        "'repaired:%'");
    q.bind(1, run_id);
    q.bind(2, std::string(file) + ".csv");
    ASSERT_TRUE(q.executeStep());
    EXPECT_EQ(q.getColumn(0).getString(), "repaired:session_id_case");
    EXPECT_EQ(q.getColumn(1).getInt64(), count);
    std::string lines, printed_lines;
    for (int64_t line : first) {
      lines += (lines.empty() ? "" : ",") + std::to_string(line);
      printed_lines +=
          (printed_lines.empty() ? "" : ", ") + std::to_string(line);
    }
    EXPECT_EQ(q.getColumn(2).getString(), lines);
    EXPECT_FALSE(q.executeStep());  // no other repair
    // The summary's input table: the file's row with its repaired count,
    // then the reason with the first lines.
    char row[128], reason[128];
    std::snprintf(
        row, sizeof(row), "  %-20s %10lld  %10lld  %8lld\n",
        (std::string(file) + ".csv").c_str(),
        static_cast<long long>(counts.at(std::string(file) + ".rows_read")),
        static_cast<long long>(truth_file["bad_rows"].get<int64_t>()),
        static_cast<long long>(count));
    std::snprintf(reason, sizeof(reason),
                  "      repaired %-18s %8lld  first lines: %s\n",
                  "session_id_case", static_cast<long long>(count),
                  printed_lines.c_str());
    const size_t at = out.find(row);
    ASSERT_NE(at, std::string::npos) << row << out;
    EXPECT_NE(out.find(reason, at), std::string::npos) << reason << out;
  }
}

// Appends a second copy of the first `n` good data lines of
// click_stream.csv (a click exported twice) and returns the line numbers of
// the copies.
std::vector<int64_t> AppendClickCopies(const std::filesystem::path& data,
                                       const nlohmann::json& summary, int n) {
  const std::vector<int64_t> bad =
      summary["files"]["click_stream.csv"]["bad_lines"]
          .get<std::vector<int64_t>>();
  std::string text = ReadFile(data / "click_stream.csv");
  std::istringstream in(text);
  std::string line, copies;
  int64_t line_no = 0, taken = 0;
  while (taken < n && std::getline(in, line)) {
    ++line_no;
    if (line_no == 1 ||
        std::find(bad.begin(), bad.end(), line_no) != bad.end()) {
      continue;
    }
    copies += line + "\n";
    ++taken;
  }
  const int64_t lines = std::count(text.begin(), text.end(), '\n');
  std::vector<int64_t> copy_lines;
  for (int64_t i = 1; i <= taken; ++i) copy_lines.push_back(lines + i);
  WriteFile(data / "click_stream.csv", text + copies);
  return copy_lines;
}

// A click line exported twice adds no event: the copy is a duplicate_id
// reject of click_stream.csv at its own line, and the file's rows read,
// rejected and kept still add up.
TEST_F(RunE2E, ClickLinesExportedTwiceAreDuplicateIdRejects) {
  const std::vector<int64_t> copy_lines =
      AppendClickCopies(data_, summary_, 40);
  ASSERT_EQ(copy_lines.size(), 40u);
  std::string out;
  ASSERT_EQ(Run("", &out), 0) << out;
  EXPECT_THAT(out, HasSubstr("duplicate_id"));
  SQLite::Database db(db_.string(), SQLite::OPEN_READONLY);
  const int64_t run_id = NewestRun(db).first;
  const auto counts = Counts(db, run_id);
  const nlohmann::json& file = summary_["files"]["click_stream.csv"];
  const int64_t bad = file["bad_rows"].get<int64_t>();
  EXPECT_EQ(counts.at("click_stream.rows_read"),
            file["valid_rows"].get<int64_t>() + bad + 40);
  EXPECT_EQ(counts.at("click_stream.rows_rejected"), bad + 40);
  EXPECT_EQ(counts.at("click_events"), summary_["click_events"].get<int64_t>());
  EXPECT_EQ(counts.at("click_stream.rows_read") -
                counts.at("click_stream.rows_rejected"),
            counts.at("click_events") + counts.at("click_events_after_as_of"));
  const TruthSessions truth = ReadTruthSessions(data_);
  EXPECT_EQ(counts.at("sessions"), truth.pieces);
  EXPECT_EQ(counts.at("sessions_linked"), truth.linked_pieces);
  SQLite::Statement q(
      db,
      "SELECT count, first_lines FROM run_rejects WHERE run_id = "
      "? AND file = 'click_stream.csv' AND reason = 'duplicate_id'");
  q.bind(1, run_id);
  ASSERT_TRUE(q.executeStep());
  EXPECT_EQ(q.getColumn(0).getInt64(), 40);
  std::string want;
  for (int i = 0; i < 5; ++i) {
    want += (i ? "," : "") + std::to_string(copy_lines[i]);
  }
  EXPECT_EQ(q.getColumn(1).getString(), want);
}

// Copies count toward the bad-row share like other rejects: too many fail
// the run, which keeps the file's counts and first bad lines.
TEST_F(RunE2E, TooManyClickCopiesFailTheRunKeepingTheirCounts) {
  const nlohmann::json& file = summary_["files"]["click_stream.csv"];
  const int64_t bad = file["bad_rows"].get<int64_t>();
  const int64_t read = file["valid_rows"].get<int64_t>() + bad;
  // Just past the configured 5%: (bad + n) / (read + n) > 0.05.
  const int n = static_cast<int>((0.05 * read - bad) / 0.95) + 2;
  const std::vector<int64_t> copy_lines = AppendClickCopies(data_, summary_, n);
  ASSERT_EQ(copy_lines.size(), static_cast<size_t>(n));
  std::string out;
  EXPECT_NE(Run("", &out), 0);
  EXPECT_THAT(
      out, HasSubstr("click_stream.csv: " + std::to_string(bad + n) + " of " +
                     std::to_string(read + n) + " rows rejected"));
  EXPECT_THAT(out, HasSubstr("(duplicate_id)"));
  SQLite::Database db(db_.string(), SQLite::OPEN_READONLY);
  const auto [run_id, state] = NewestRun(db);
  EXPECT_EQ(state, "failed");
  const auto counts = Counts(db, run_id);
  EXPECT_EQ(counts.at("click_stream.rows_read"), read + n);
  EXPECT_EQ(counts.at("click_stream.rows_rejected"), bad + n);
  EXPECT_EQ(db.execAndGet("SELECT count FROM run_rejects WHERE run_id = " +
                          std::to_string(run_id) +
                          " AND file = 'click_stream.csv' AND reason = "
                          "'duplicate_id'")
                .getInt64(),
            n);
}

// An export cut short parses cleanly, so the row counts are what give it
// away: a file with more than data.max_row_drop fewer rows than the served
// run read fails the run, and the served lists stay.
TEST_F(RunE2E, AnExportCutShortFailsTheRunAndTheServedListsStay) {
  const std::string full = ReadFile(data_ / "click_stream.csv");
  std::vector<size_t> line_end;  // offset of each line's '\n'
  for (size_t i = full.find('\n'); i != std::string::npos;
       i = full.find('\n', i + 1)) {
    line_end.push_back(i);
  }
  const nlohmann::json& file = summary_["files"]["click_stream.csv"];
  const int64_t rows =
      file["valid_rows"].get<int64_t>() + file["bad_rows"].get<int64_t>();
  // One row per line after the header, so cutting lines cuts rows.
  ASSERT_EQ(static_cast<int64_t>(line_end.size()) - 1, rows);
  // The header and the first `keep` rows.
  const auto CutTo = [&](int64_t keep) {
    WriteFile(data_ / "click_stream.csv",
              full.substr(0, line_end[static_cast<size_t>(keep)] + 1));
  };
  // Every run has the same as-of time, so the newest published run is the
  // served one; the last purchase is in every variant of the export
  // (transactions.csv stays whole), so none is after its latest event.
  int64_t last_purchase = 0;
  for (const TruthPurchase& p : ReadTruthPurchaseRows(data_)) {
    last_purchase = std::max(last_purchase, p.created_at);
  }
  const std::string as_of =
      "--as-of " + UtcText(last_purchase, "%Y-%m-%dT%H:%M:%SZ");
  const auto Run = [this, &as_of](std::string* out) {
    return RunE2E::Run(as_of, out);
  };

  std::string out;
  ASSERT_EQ(Run(&out), 0) << out;
  SQLite::Database db(db_.string(), SQLite::OPEN_READONLY);
  const auto Served = [&db] {
    return db
        .execAndGet(
            "SELECT run_id FROM runs WHERE published = 1 ORDER BY as_of_us "
            "DESC, run_id DESC LIMIT 1")
        .getInt64();
  };
  const int64_t first = NewestRun(db).first;

  // Half the rows: 50% fewer, over the default 10%.
  const int64_t half = rows / 2;
  CutTo(half);
  EXPECT_EQ(Run(&out), 1) << out;
  const std::string expected = absl::StrFormat(
      "click_stream.csv has %d rows, %.1f%% fewer than the %d run %d read",
      half,
      100.0 * static_cast<double>(rows - half) / static_cast<double>(rows),
      rows, first);
  EXPECT_THAT(out, HasSubstr(expected));
  EXPECT_THAT(out, HasSubstr("more than data.max_row_drop (10%) allows"));
  const auto [failed, state] = NewestRun(db);
  EXPECT_EQ(state, "failed");
  EXPECT_THAT(db.execAndGet("SELECT error FROM runs WHERE run_id = " +
                            std::to_string(failed))
                  .getString(),
              HasSubstr(expected));
  // The failed run keeps what ingest counted, and publishes nothing.
  EXPECT_EQ(Counts(db, failed).at("click_stream.rows_read"), half);
  EXPECT_EQ(db.execAndGet("SELECT COUNT(*) FROM targets WHERE run_id = " +
                          std::to_string(failed))
                .getInt64(),
            0);
  EXPECT_EQ(Served(), first);

  // 5% fewer is within the limit: the run succeeds and is served.
  const int64_t most = rows - rows / 20;
  CutTo(most);
  ASSERT_EQ(Run(&out), 0) << out;
  const int64_t second = NewestRun(db).first;
  EXPECT_EQ(Served(), second);
  EXPECT_EQ(Counts(db, second).at("click_stream.rows_read"), most);

  // An export that shrank on purpose runs with the check turned off.
  CutTo(half);
  WriteFile(dir_->path() / "winback.yaml",
            "data: {dir: data, max_bad_row_share: 0.05, max_row_drop: 1}\n"
            "store: {path: winback.db, keep_runs: 5}\n");
  ASSERT_EQ(Run(&out), 0) << out;
  EXPECT_EQ(Served(), NewestRun(db).first);
  EXPECT_GT(NewestRun(db).first, second);
}

TEST_F(RunE2E, BackfillAsOfIgnoresLaterEvents) {
  std::string out;
  const int64_t as_of = 1'640'995'199'999'999LL;  // 2021-12-31T23:59:59.999999Z
  ASSERT_EQ(Run("--as-of 2021-12-31T23:59:59.999999Z", &out), 0) << out;
  SQLite::Database db(db_.string(), SQLite::OPEN_READONLY);
  const int64_t run_id =
      db.execAndGet("SELECT MAX(run_id) FROM runs WHERE published = 1").getInt64();
  EXPECT_EQ(StoredAsOf(db, run_id), as_of);
  const LabelMap expected = ExpectedLabels(ReadTruthPurchases(data_), as_of);
  EXPECT_EQ(StoredLabels(db, run_id), expected);
  // December's last microsecond: the diagnosis ends with December, whole.
  auto last_month = [&](int64_t run) {
    SQLite::Statement q(db,
                        "SELECT month, partial FROM diagnosis_months WHERE "
                        "run_id = ? ORDER BY month DESC LIMIT 1");
    q.bind(1, run);
    return q.executeStep()
               ? std::pair(q.getColumn(0).getString(), q.getColumn(1).getInt())
               : std::pair(std::string(), -1);
  };
  EXPECT_EQ(last_month(run_id), std::pair(std::string("2021-12"), 0));

  // January's first microsecond leaves January no time before as-of: no row
  // (it was a row of zeros, marked partial), and December is still whole.
  ASSERT_EQ(Run("--as-of 2022-01-01T00:00:00Z", &out), 0) << out;
  const int64_t next =
      db.execAndGet("SELECT MAX(run_id) FROM runs WHERE published = 1")
          .getInt64();
  ASSERT_GT(next, run_id);
  EXPECT_EQ(last_month(next), std::pair(std::string("2021-12"), 0));
  EXPECT_EQ(
      db.execAndGet("SELECT COUNT(*) FROM diagnosis_funnel WHERE run_id = " +
                    std::to_string(next) + " AND month >= '2022-01'")
          .getInt(),
      0);
  EXPECT_THAT(out, Not(HasSubstr("\n2022-01")));
  EXPECT_THAT(out, HasSubstr("the latest complete month, 2021-12, is"));
  EXPECT_THAT(out, Not(HasSubstr("not served")));

  // A backfill behind the served run publishes lists that are not served by
  // default, and says so.
  ASSERT_EQ(Run("--as-of 2021-12-31T23:59:59.999999Z", &out), 0) << out;
  const int64_t behind =
      db.execAndGet("SELECT MAX(run_id) FROM runs WHERE published = 1")
          .getInt64();
  ASSERT_GT(behind, next);
  EXPECT_THAT(out, HasSubstr("run " + std::to_string(behind) +
                             " succeeded, as of 2021-12-31T23:59:59.999999Z\n"
                             "not served by default: run " +
                             std::to_string(next) +
                             "'s lists, as of 2022-01-01T00:00:00.000000Z, "
                             "are later and stay served"));
}

// The readout, recomputed here from the generator's purchases and the lists
// the earlier runs stored: per list and group, customers, buyers, redeemers
// of the campaign's code, purchases, revenue and its sum of squares in
// (list as-of, list as-of + window], cut at the measuring run's as-of time.
struct Outcome {
  int64_t customers = 0, buyers = 0, redeemers = 0, purchases = 0, revenue = 0;
  double revenue_squares = 0;
  bool operator==(const Outcome&) const = default;
};
struct Readout {
  int64_t window_end = 0;
  int complete = 0;
  Outcome treatment, holdout;
  bool operator==(const Readout&) const = default;
};
std::ostream& operator<<(std::ostream& os, const Readout& r) {
  const auto group = [&](const Outcome& g) {
    os << "{" << g.customers << " " << g.buyers << " " << g.redeemers << " "
       << g.purchases << " " << g.revenue << " " << g.revenue_squares << "}";
  };
  os << "end " << r.window_end << " complete " << r.complete << " treatment ";
  group(r.treatment);
  os << " holdout ";
  group(r.holdout);
  return os;
}
using Readouts = std::map<std::pair<int64_t, std::string>, Readout>;

Readouts StoredReadouts(SQLite::Database& db, int64_t run_id) {
  Readouts out;
  SQLite::Statement q(
      db,
      "SELECT list_run_id, campaign, window_end_us, complete, "
      "treatment_customers, treatment_buyers, treatment_redeemers, "
      "treatment_purchases, treatment_revenue, treatment_revenue_squares, "
      "holdout_customers, holdout_buyers, holdout_redeemers, "
      "holdout_purchases, holdout_revenue, holdout_revenue_squares "
      "FROM campaign_readouts WHERE run_id = ?");
  q.bind(1, run_id);
  while (q.executeStep()) {
    Readout& r = out[{q.getColumn(0).getInt64(), q.getColumn(1).getString()}];
    r.window_end = q.getColumn(2).getInt64();
    r.complete = q.getColumn(3).getInt();
    int k = 4;
    for (Outcome* g : {&r.treatment, &r.holdout}) {
      g->customers = q.getColumn(k++).getInt64();
      g->buyers = q.getColumn(k++).getInt64();
      g->redeemers = q.getColumn(k++).getInt64();
      g->purchases = q.getColumn(k++).getInt64();
      g->revenue = q.getColumn(k++).getInt64();
      g->revenue_squares = q.getColumn(k++).getDouble();
    }
  }
  return out;
}

Readouts ExpectedReadouts(SQLite::Database& db,
                          const std::vector<TruthPurchase>& purchases,
                          const std::vector<int64_t>& list_runs, int64_t as_of,
                          int64_t window) {
  Readouts out;
  for (int64_t list_run : list_runs) {
    const int64_t list_as_of = StoredAsOf(db, list_run);
    SQLite::Statement campaigns(
        db, "SELECT campaign, promo_code FROM campaigns WHERE run_id = ?");
    campaigns.bind(1, list_run);
    while (campaigns.executeStep()) {
      const std::string campaign = campaigns.getColumn(0).getString();
      const std::string code = campaigns.getColumn(1).getString();
      Readout& r = out[{list_run, campaign}];
      r.window_end = std::min(list_as_of + window, as_of);
      r.complete = list_as_of + window <= as_of;
      SQLite::Statement rows(db,
                             "SELECT customer_id, target_group FROM targets "
                             "WHERE run_id = ? AND campaign = ?");
      rows.bind(1, list_run);
      rows.bind(2, campaign);
      while (rows.executeStep()) {
        const int64_t customer = rows.getColumn(0).getInt64();
        Outcome& g = rows.getColumn(1).getString() == "holdout" ? r.holdout
                                                                : r.treatment;
        int64_t n = 0, revenue = 0;
        bool redeemed = false;
        for (const TruthPurchase& p : purchases) {
          if (p.customer_id != customer || p.created_at <= list_as_of ||
              p.created_at > r.window_end) {
            continue;
          }
          ++n;
          revenue += p.total_amount;
          redeemed |= !code.empty() && p.promo_code == code;
        }
        ++g.customers;
        g.buyers += n > 0;
        g.redeemers += redeemed;
        g.purchases += n;
        g.revenue += revenue;
        g.revenue_squares +=
            static_cast<double>(revenue) * static_cast<double>(revenue);
      }
    }
  }
  return out;
}

// Each run reads out the lists of the published runs before its as-of time.
// The campaigns use promo codes the generator's bookings carry, so that
// redemptions are counted too.
TEST_F(RunE2E, ReadoutComparesTheGroupsOfEachEarlierList) {
  WriteFile(dir_->path() / "winback.yaml",
            R"(data: {dir: data, max_bad_row_share: 0.05}
store: {path: winback.db, keep_runs: 10}
campaigns:
  readout_window: 20d
  list:
    - {name: lapsed, churn_statuses: [churned], promo_code: WEEKENDSERU,
       holdout_share: 0.3, priority: 1}
    - {name: open, churn_statuses: [active], promo_code: AZ2022,
       holdout_share: 0.5, priority: 2}
)");
  const int64_t window = 20 * kDayUs;
  std::string out;
  // Two backfills, the same as-of time again (its newer run is the one read
  // out), a backfill 10 days after the second (its window still open), then
  // the nightly run.
  for (const char* as_of : {"2022-05-15T00:00:00Z", "2022-06-30T00:00:00Z",
                            "2022-06-30T00:00:00Z", "2022-07-10T00:00:00Z"}) {
    ASSERT_EQ(Run(std::string("--as-of ") + as_of, &out), 0) << out;
  }
  ASSERT_EQ(Run("", &out), 0) << out;
  SQLite::Database db(db_.string(), SQLite::OPEN_READONLY);
  const auto [nightly, state] = NewestRun(db);
  ASSERT_EQ(state, "succeeded");
  const std::vector<TruthPurchase> purchases = ReadTruthPurchaseRows(data_);
  // Runs 1..5: May 15, June 30 (twice), July 10, the export's end.
  const Readouts first = StoredReadouts(db, 1);
  EXPECT_TRUE(first.empty());
  EXPECT_EQ(StoredReadouts(db, 2),
            ExpectedReadouts(db, purchases, {1}, StoredAsOf(db, 2), window));
  EXPECT_EQ(StoredReadouts(db, 3),
            ExpectedReadouts(db, purchases, {1}, StoredAsOf(db, 3), window));
  const Readouts partial = StoredReadouts(db, 4);
  EXPECT_EQ(partial,
            ExpectedReadouts(db, purchases, {3, 1}, StoredAsOf(db, 4), window));
  ASSERT_TRUE(partial.contains({3, "lapsed"}));
  EXPECT_EQ(partial.at({3, "lapsed"}).complete, 0);  // June 30 + 20d > July 10
  EXPECT_EQ(partial.at({1, "lapsed"}).complete, 1);
  const Readouts last = StoredReadouts(db, nightly);
  EXPECT_EQ(last, ExpectedReadouts(db, purchases, {4, 3, 1},
                                   StoredAsOf(db, nightly), window));
  // The data has something to count: buyers in both groups, and redeemers.
  int64_t buyers = 0, holdout_buyers = 0, redeemers = 0;
  for (const auto& [key, r] : last) {
    buyers += r.treatment.buyers;
    holdout_buyers += r.holdout.buyers;
    redeemers += r.treatment.redeemers + r.holdout.redeemers;
  }
  EXPECT_GT(buyers, 0);
  EXPECT_GT(holdout_buyers, 0);
  EXPECT_GT(redeemers, 0);
  // The summary shows the latest complete list of each campaign: run 3's.
  EXPECT_THAT(out, HasSubstr("readout    purchases within 20d"));
  EXPECT_THAT(
      out,
      HasSubstr("\n  lapsed                              3  2022-06-30 20.0 "));
  EXPECT_THAT(out, HasSubstr("4 other list(s)"));  // 3 lists x 2 campaigns - 2
}

// A campaign's contact cap: the customers it listed in yesterday's nightly
// run are not listed again, nor taken by a lower-priority campaign; the list
// moves on to the next customers by revenue at risk that the size cap left
// off yesterday. A backfill's list does not count.
TEST_F(RunE2E, AContactCapSkipsWhomTheCampaignListedInARecentNightlyRun) {
  const auto configure = [&](int max_size) {
    WriteFile(dir_->path() / "winback.yaml",
              absl::StrCat(R"(data: {dir: data, max_bad_row_share: 0.05}
store: {path: winback.db, keep_runs: 10}
campaigns:
  suppress_bought_within: 0d
  list:
    - {name: lapsed, churn_statuses: [churned], max_size: )",
                           max_size, R"(,
       holdout_share: 0.25, priority: 1, suppress_listed_within: 7d}
    - {name: rest, churn_statuses: [churned], priority: 2}
)"));
  };
  configure(40);
  std::string out;
  ASSERT_EQ(Run("", &out), 0) << out;
  // The same export read again a day later: shift the first run back a day,
  // as if it had been last night's. And a backfill as of a day earlier still,
  // whose list must not count.
  {
    SQLite::Database db(db_.string(), SQLite::OPEN_READWRITE);
    db.exec(
        "UPDATE runs SET as_of_us = as_of_us - 86400000000 "
        "WHERE run_id = 1");
  }
  const auto list = [&](int64_t run, const std::string& campaign) {
    SQLite::Database db(db_.string(), SQLite::OPEN_READONLY);
    SQLite::Statement q(db,
                        "SELECT customer_id FROM targets WHERE run_id = ? AND "
                        "campaign = ? ORDER BY position");
    q.bind(1, run);
    q.bind(2, campaign);
    std::vector<int64_t> ids;
    while (q.executeStep()) ids.push_back(q.getColumn(0).getInt64());
    return ids;
  };
  const std::vector<int64_t> first = list(1, "lapsed");
  ASSERT_EQ(first.size(), 40u);
  std::string as_of_text;
  {
    SQLite::Database db(db_.string(), SQLite::OPEN_READONLY);
    as_of_text = UtcText(StoredAsOf(db, 1) - kDayUs, "%Y-%m-%dT%H:%M:%SZ");
  }
  // Run 2, the backfill, lists twice as many: counted, its list would hold
  // the customers run 3 is to take.
  configure(80);
  ASSERT_EQ(Run("--as-of " + as_of_text, &out), 0) << out;
  ASSERT_EQ(list(2, "lapsed").size(), 80u);
  configure(40);
  ASSERT_EQ(Run("", &out), 0) << out;  // run 3
  EXPECT_THAT(out, HasSubstr("\n  lapsed: 40 not listed again (on its list "
                             "within 7d)\n"));
  const std::vector<int64_t> second = list(3, "lapsed");
  ASSERT_EQ(second.size(), 40u);
  const std::vector<int64_t> rest = list(3, "rest");
  for (int64_t id : first) {
    EXPECT_EQ(std::count(second.begin(), second.end(), id), 0) << id;
    EXPECT_EQ(std::count(rest.begin(), rest.end(), id), 0) << id;
  }
  // Each of them is recorded as held by 'lapsed', and nobody else is.
  {
    SQLite::Database db(db_.string(), SQLite::OPEN_READONLY);
    SQLite::Statement q(db,
                        "SELECT customer_id, campaign FROM contact_holds "
                        "WHERE run_id = 3 ORDER BY customer_id");
    std::vector<int64_t> held;
    while (q.executeStep()) {
      held.push_back(q.getColumn(0).getInt64());
      EXPECT_EQ(q.getColumn(1).getString(), "lapsed");
    }
    std::vector<int64_t> expected = first;
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(held, expected);
  }
  // The next 40 by revenue at risk: ranks 41-80 of a run as of the same
  // time without the caps (a capped customer does not fall through to
  // 'rest', so no list of run 1 holds that ranking).
  WriteFile(dir_->path() / "winback.yaml",
            R"(data: {dir: data, max_bad_row_share: 0.05}
store: {path: winback.db, keep_runs: 10}
campaigns:
  suppress_bought_within: 0d
  list:
    - {name: lapsed, churn_statuses: [churned], holdout_share: 0.25,
       priority: 1}
)");
  ASSERT_EQ(Run("", &out), 0) << out;  // run 4: the ranking
  const std::vector<int64_t> ranking = list(4, "lapsed");
  ASSERT_GE(ranking.size(), 80u);
  EXPECT_EQ(std::vector<int64_t>(ranking.begin(), ranking.begin() + 40), first);
  EXPECT_EQ(std::vector<int64_t>(ranking.begin() + 40, ranking.begin() + 80),
            second);
  // The counts: run 3's 'lapsed' held run 1's 40 and took 40 of the rest.
  SQLite::Database db(db_.string(), SQLite::OPEN_READONLY);
  SQLite::Statement q(db,
                      "SELECT matched, suppressed, recently_listed, eligible, "
                      "capped, assigned, suppress_listed_within_us FROM "
                      "campaigns WHERE run_id = 3 AND campaign = 'lapsed'");
  ASSERT_TRUE(q.executeStep());
  EXPECT_EQ(q.getColumn(0).getInt64(), static_cast<int64_t>(ranking.size()));
  EXPECT_EQ(q.getColumn(1).getInt64(), 40);
  EXPECT_EQ(q.getColumn(2).getInt64(), 40);
  EXPECT_EQ(q.getColumn(3).getInt64(),
            static_cast<int64_t>(ranking.size()) - 40);
  EXPECT_EQ(q.getColumn(4).getInt64(),
            static_cast<int64_t>(ranking.size()) - 80);
  EXPECT_EQ(q.getColumn(5).getInt64(), 40);
  EXPECT_EQ(q.getColumn(6).getInt64(), 7 * kDayUs);
}

// Past the export's last event there is no data: an as-of time there would
// label every later-ending window "no repurchase". Such a run fails, naming
// both times, and publishes nothing; the latest event itself is accepted.
TEST_F(RunE2E, AsOfAfterTheLatestEventFailsNamingBoth) {
  const int64_t latest =
      std::max(summary_["last_event_time_us"].get<int64_t>(),
               summary_["last_booking_time_us"].get<int64_t>());
  // "YYYY-MM-DDTHH:MM:SS.ffffffZ" of a UTC microsecond time.
  auto text = [](int64_t us) {
    char frac[16];
    std::snprintf(frac, sizeof(frac), ".%06lldZ",
                  static_cast<long long>(us % 1'000'000));
    return UtcText(us, "%Y-%m-%dT%H:%M:%S") + frac;
  };
  std::string out;
  EXPECT_NE(Run("--as-of " + text(latest + 1), &out), 0);
  EXPECT_THAT(
      out, HasSubstr("as-of time " + text(latest + 1) +
                     " is after the export's latest event, " + text(latest)));
  ASSERT_EQ(Run("--as-of " + text(latest), &out), 0) << out;

  SQLite::Database db(db_.string(), SQLite::OPEN_READONLY);
  SQLite::Statement q(db, "SELECT state, published FROM runs ORDER BY run_id");
  std::vector<std::pair<std::string, int>> runs;
  while (q.executeStep()) {
    runs.emplace_back(q.getColumn(0).getString(), q.getColumn(1).getInt());
  }
  EXPECT_THAT(runs, ::testing::ElementsAre(
                        std::pair<std::string, int>("failed", 0),
                        std::pair<std::string, int>("succeeded", 1)));
}

TEST_F(RunE2E, BrokenInputFailsWithoutPublishingAndKeepsThePreviousRun) {
  std::string out;
  ASSERT_EQ(Run("", &out), 0) << out;
  // Break the header of transactions.csv.
  std::string text = ReadFile(data_ / "transactions.csv");
  text.replace(0, text.find(','), "created");
  WriteFile(data_ / "transactions.csv", text);
  EXPECT_NE(Run("", &out), 0);
  EXPECT_THAT(out, HasSubstr("transactions.csv"));
  EXPECT_THAT(out, HasSubstr("transactions.csv:1:"));

  SQLite::Database db(db_.string(), SQLite::OPEN_READONLY);
  SQLite::Statement q(db, "SELECT run_id, state, published, error FROM runs ORDER BY run_id");
  std::vector<std::tuple<int64_t, std::string, int, std::string>> runs;
  while (q.executeStep()) {
    runs.emplace_back(q.getColumn(0).getInt64(), q.getColumn(1).getString(),
                      q.getColumn(2).getInt(), q.getColumn(3).getString());
  }
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(std::get<1>(runs[0]), "succeeded");
  EXPECT_EQ(std::get<1>(runs[1]), "failed");
  EXPECT_EQ(std::get<2>(runs[1]), 0);
  EXPECT_THAT(std::get<3>(runs[1]), HasSubstr("transactions.csv"));
  EXPECT_EQ(db.execAndGet("SELECT COUNT(*) FROM churn_labels WHERE run_id = " +
                          std::to_string(std::get<0>(runs[1])))
                .getInt64(),
            0);
  EXPECT_EQ(db.execAndGet("SELECT MAX(run_id) FROM runs WHERE published = 1").getInt64(),
            std::get<0>(runs[0]));
}

// A run that fails for too many bad rows keeps what ingest counted: the
// operator needs the counts and the first bad lines most when a run fails.
TEST_F(RunE2E, TooManyBadRowsFailsAndKeepsTheFileCountsAndFirstBadLines) {
  std::string text = ReadFile(data_ / "customer.csv");
  int64_t lines = 0;
  for (char c : text) lines += c == '\n';
  const int64_t first_appended = lines + 1;  // its 1-based line number
  const int64_t generated_bad =
      summary_["files"]["customer.csv"]["bad_rows"].get<int64_t>();
  const int64_t generated_rows =
      summary_["files"]["customer.csv"]["valid_rows"].get<int64_t>() +
      generated_bad;
  ASSERT_EQ(generated_rows, lines - 1);  // the header and one line per row
  // 30 short rows: 7.5% of 400, over the configured 5%; and trailing blank
  // lines, which are no rows at all.
  for (int i = 0; i < 30; ++i) text += "999" + std::to_string(i) + ",short\n";
  text += "\n\r\n\n";
  WriteFile(data_ / "customer.csv", text);

  std::string out;
  EXPECT_NE(Run("", &out), 0);
  EXPECT_THAT(
      out,
      HasSubstr("customer.csv: " + std::to_string(generated_bad + 30) + " of " +
                std::to_string(generated_rows + 30) + " rows rejected"));

  SQLite::Database db(db_.string(), SQLite::OPEN_READONLY);
  const auto [run_id, state] = NewestRun(db);
  EXPECT_EQ(state, "failed");
  const std::map<std::string, int64_t> counts = Counts(db, run_id);
  EXPECT_EQ(counts.at("customer.rows_read"), generated_rows + 30);
  EXPECT_EQ(counts.at("customer.rows_rejected"), generated_bad + 30);
  int64_t rejected = 0;
  bool named_first_appended = false;
  SQLite::Statement q(db,
                      "SELECT count, first_lines FROM run_rejects "
                      "WHERE run_id = ? AND file = 'customer.csv'");
  q.bind(1, run_id);
  while (q.executeStep()) {
    rejected += q.getColumn(0).getInt64();
    // first_lines is "l1,l2,...".
    named_first_appended |= ("," + q.getColumn(1).getString() + ",")
                                .find("," + std::to_string(first_appended) +
                                      ",") != std::string::npos;
  }
  EXPECT_EQ(rejected, generated_bad + 30);
  EXPECT_TRUE(named_first_appended);
  EXPECT_EQ(db.execAndGet("SELECT COUNT(*) FROM churn_labels WHERE run_id = " +
                          std::to_string(run_id))
                .getInt64(),
            0);
}

// A request_id is served over gRPC, so it must be UTF-8 text; the one-shot
// run refuses another before it touches the database.
TEST_F(RunE2E, ARequestIdThatIsNotUtf8IsRefused) {
  std::string out;
  EXPECT_EQ(Run("--request-id 'caf\xE9'", &out), 2);
  EXPECT_THAT(out, HasSubstr("winback: --request-id: request_id: not UTF-8 "
                             "text (byte 4 of 'caf\\xE9')"));
  EXPECT_FALSE(std::filesystem::exists(db_));
}

TEST_F(RunE2E, AUsageErrorExits2LikeABadConfig) {
  std::string out;
  EXPECT_EQ(Run("--no-such-flag", &out), 2);
  EXPECT_THAT(out, HasSubstr("--no-such-flag"));
  EXPECT_EQ(RunCommand(WinbackBinary() + " run", &out), 2);
  EXPECT_THAT(out, HasSubstr("--config is required"));
  EXPECT_EQ(RunCommand(WinbackBinary() + " run --help", &out), 0);
  EXPECT_FALSE(std::filesystem::exists(db_));
}

TEST_F(RunE2E, BrokenConfigNamesTheKey) {
  WriteFile(dir_->path() / "winback.yaml",
            "data: {dir: data}\nstore: {path: winback.db}\nchurn: {window: soon}\n");
  std::string out;
  EXPECT_EQ(Run("", &out), 2);
  EXPECT_THAT(out, HasSubstr("churn.window"));
  EXPECT_FALSE(std::filesystem::exists(db_));
}

}  // namespace
}  // namespace winback::testing
