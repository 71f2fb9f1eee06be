#include "jobs/store/batch_insert.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace winback::store_internal {
namespace {

// Inserts rows (i, "row i") for i in [0, rows) in batches of `per_batch`
// and reads them back in rowid order.
std::vector<std::pair<int64_t, std::string>> RoundTrip(size_t rows,
                                                       int per_batch) {
  SQLite::Database db(":memory:", SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  db.exec("CREATE TABLE t (a INTEGER NOT NULL, b TEXT NOT NULL)");
  std::vector<std::string> text;
  for (size_t i = 0; i < rows; ++i) text.push_back("row " + std::to_string(i));
  BatchInsert ins(db, "INSERT INTO t (a, b)", 2, rows, per_batch);
  for (size_t i = 0; i < rows; ++i) {
    auto [q, k] = ins.Row();
    q.bind(k, static_cast<int64_t>(i));
    q.bindNoCopy(k + 1, text[i]);  // must outlive the batch's execution
  }
  ins.Finish();
  std::vector<std::pair<int64_t, std::string>> out;
  SQLite::Statement read(db, "SELECT a, b FROM t ORDER BY rowid");
  while (read.executeStep()) {
    out.emplace_back(read.getColumn(0).getInt64(), read.getColumn(1).getString());
  }
  return out;
}

TEST(BatchInsert, WritesEveryRowInOrderWhateverTheBatchSize) {
  for (int per_batch : {1, 3, 64}) {
    for (size_t rows : {size_t{0}, size_t{1}, size_t{2}, size_t{3}, size_t{63},
                        size_t{64}, size_t{65}, size_t{200}}) {
      const auto got = RoundTrip(rows, per_batch);
      ASSERT_EQ(got.size(), rows) << rows << " rows, " << per_batch;
      for (size_t i = 0; i < rows; ++i) {
        EXPECT_EQ(got[i].first, static_cast<int64_t>(i));
        EXPECT_EQ(got[i].second, "row " + std::to_string(i));
      }
    }
  }
}

TEST(BatchInsert, RefusesMoreOrFewerRowsThanDeclared) {
  SQLite::Database db(":memory:", SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  db.exec("CREATE TABLE t (a INTEGER)");
  {
    BatchInsert ins(db, "INSERT INTO t (a)", 1, 2, 4);
    ins.Row().statement.bind(1, 1);
    EXPECT_THROW(ins.Finish(), std::logic_error);
  }
  {
    BatchInsert ins(db, "INSERT INTO t (a)", 1, 1, 4);
    ins.Row().statement.bind(1, 1);
    EXPECT_THROW(ins.Row(), std::logic_error);
  }
  // The short one wrote nothing; the long one its one declared row. (The
  // store runs these in a transaction that an exception rolls back.)
  EXPECT_EQ(db.execAndGet("SELECT COUNT(*) FROM t").getInt(), 1);
}

}  // namespace
}  // namespace winback::store_internal
