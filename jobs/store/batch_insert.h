// Internal to the store: an INSERT of a known number of rows, several rows
// per statement.
//
// SQLite's cost per executed statement (reset, step, setting up the VDBE
// program) is paid once per batch of rows instead of once per row; for the
// publish's narrow rows that is about a third of the time.
//
// Throws (SQLite::Exception, std::logic_error on misuse) like the rest of
// the store's internals; use it only inside store.cc's exception guard.
#ifndef WINBACK_JOBS_STORE_BATCH_INSERT_H_
#define WINBACK_JOBS_STORE_BATCH_INSERT_H_

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "SQLiteCpp/Database.h"
#include "SQLiteCpp/Statement.h"
#include "absl/strings/str_cat.h"

namespace winback::store_internal {

class BatchInsert {
 public:
  // `head` is "INSERT INTO t (a, b, c)"; each of the `rows` rows binds
  // `columns` values. A statement holds up to `rows_per_batch` rows; keep
  // rows_per_batch * columns under SQLite's limit of 32766 parameters.
  BatchInsert(SQLite::Database& db, std::string_view head, int columns,
              size_t rows, int rows_per_batch = 64)
      : db_(db),
        head_(head),
        columns_(columns),
        rows_(rows),
        rows_per_batch_(rows_per_batch) {}
  BatchInsert(const BatchInsert&) = delete;
  BatchInsert& operator=(const BatchInsert&) = delete;

  // Where the next row's values go: bind parameters first .. first +
  // columns - 1 of `statement`. The rows are written as statements fill.
  struct Slot {
    SQLite::Statement& statement;
    int first;
  };
  Slot Row() {
    if (current_ != nullptr && in_statement_ == capacity_) Flush();
    if (in_statement_ == 0) {
      const size_t left = rows_ - written_;
      if (left == 0) throw std::logic_error("BatchInsert: more rows than declared");
      if (left >= static_cast<size_t>(rows_per_batch_)) {
        if (!full_) full_.emplace(db_, Sql(rows_per_batch_));
        current_ = &*full_;
        capacity_ = rows_per_batch_;
      } else {  // the last, shorter statement
        tail_.emplace(db_, Sql(static_cast<int>(left)));
        current_ = &*tail_;
        capacity_ = static_cast<int>(left);
      }
    }
    return {*current_, 1 + in_statement_++ * columns_};
  }

  // Writes the last statement. Call once, after exactly `rows` Row()s.
  void Finish() {
    if (in_statement_ > 0) Flush();
    if (written_ != rows_) {
      throw std::logic_error(absl::StrCat("BatchInsert: ", written_,
                                          " rows written of ", rows_));
    }
  }

 private:
  std::string Sql(int rows) const {
    std::string row = "(";
    for (int c = 0; c < columns_; ++c) absl::StrAppend(&row, c ? ", ?" : "?");
    row += ")";
    std::string sql = absl::StrCat(head_, " VALUES ");
    for (int r = 0; r < rows; ++r) absl::StrAppend(&sql, r ? ", " : "", row);
    return sql;
  }

  void Flush() {
    if (in_statement_ != capacity_) {
      throw std::logic_error("BatchInsert: Finish() before the last row");
    }
    current_->exec();
    current_->reset();
    written_ += static_cast<size_t>(in_statement_);
    in_statement_ = 0;
  }

  SQLite::Database& db_;
  const std::string head_;
  const int columns_;
  const size_t rows_;
  const int rows_per_batch_;
  std::optional<SQLite::Statement> full_, tail_;
  SQLite::Statement* current_ = nullptr;
  int capacity_ = 0;
  int in_statement_ = 0;
  size_t written_ = 0;
};

}  // namespace winback::store_internal

#endif  // WINBACK_JOBS_STORE_BATCH_INSERT_H_
