// Internal to the store: one connection's prepared statements, kept by SQL
// text and reused. For the small reads the service makes on every request
// (does the run exist, how long is a list, one customer's rows), preparing a
// statement (parsing and planning it) costs more than running it.
//
// Throws SQLite::Exception like the rest of the store's internals; use it
// only inside store.cc's exception guard, with the Store's mutex held.
#ifndef WINBACK_JOBS_STORE_STATEMENT_CACHE_H_
#define WINBACK_JOBS_STORE_STATEMENT_CACHE_H_

#include <memory>
#include <string>

#include "SQLiteCpp/Database.h"
#include "SQLiteCpp/Statement.h"
#include "absl/container/flat_hash_map.h"

namespace winback::store_internal {

class StatementCache {
 public:
  explicit StatementCache(SQLite::Database& db) : db_(db) {}
  StatementCache(const StatementCache&) = delete;
  StatementCache& operator=(const StatementCache&) = delete;

  // A statement in use. It is reset when the handle goes: a statement that
  // was stepped holds its read snapshot (and in WAL mode keeps checkpoints
  // from finishing) until it is reset. Bindings are not cleared, so every
  // use binds every parameter (and never with bindNoCopy).
  class Handle {
   public:
    Handle(Handle&& other) noexcept
        : statement_(other.statement_),
          owned_(std::move(other.owned_)),
          in_use_(other.in_use_) {
      other.statement_ = nullptr;
      other.in_use_ = nullptr;
    }
    Handle& operator=(Handle&&) = delete;
    ~Handle() {
      if (statement_ == nullptr) return;
      statement_->tryReset();
      if (in_use_ != nullptr) *in_use_ = false;
    }
    SQLite::Statement& operator*() const { return *statement_; }
    SQLite::Statement* operator->() const { return statement_; }

   private:
    friend class StatementCache;
    Handle(SQLite::Statement* statement,
           std::unique_ptr<SQLite::Statement> owned, bool* in_use)
        : statement_(statement), owned_(std::move(owned)), in_use_(in_use) {}

    SQLite::Statement* statement_;
    std::unique_ptr<SQLite::Statement> owned_;  // set when not cached
    bool* in_use_;                              // the cache's flag, if cached
  };

  // `sql` prepared, the first time only. While a handle for the same text is
  // still alive (a nested use), the second gets a statement of its own.
  Handle Get(const std::string& sql) {
    std::unique_ptr<Entry>& slot = statements_[sql];
    if (slot == nullptr) slot = std::make_unique<Entry>();
    Entry& e = *slot;
    if (e.statement == nullptr) {
      e.statement = std::make_unique<SQLite::Statement>(db_, sql);
    }
    if (e.in_use) {
      auto own = std::make_unique<SQLite::Statement>(db_, sql);
      SQLite::Statement* raw = own.get();
      return Handle(raw, std::move(own), nullptr);
    }
    e.in_use = true;
    return Handle(e.statement.get(), nullptr, &e.in_use);
  }

  SQLite::Database& db() const { return db_; }

 private:
  struct Entry {
    std::unique_ptr<SQLite::Statement> statement;
    bool in_use = false;
  };
  SQLite::Database& db_;
  // Entries by pointer: handles point at their flags while others are added.
  absl::flat_hash_map<std::string, std::unique_ptr<Entry>> statements_;
};

}  // namespace winback::store_internal

#endif  // WINBACK_JOBS_STORE_STATEMENT_CACHE_H_
