// Interns strings once so that tables can hold dense uint32 ids.
#ifndef WINBACK_JOBS_COMMON_STRING_POOL_H_
#define WINBACK_JOBS_COMMON_STRING_POOL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"

namespace winback {

// An append-only set of strings with dense ids 0, 1, 2, ... in insertion
// order. Views returned by Get stay valid for the pool's lifetime (the bytes
// live in fixed-size blocks that are never moved). Not thread-safe.
//
// Each string is hashed once: the table keeps the hash beside the string, so
// growing it never rereads the bytes, and adding a new string is one probe.
class StringPool {
 public:
  StringPool() = default;
  StringPool(const StringPool&) = delete;
  StringPool& operator=(const StringPool&) = delete;
  StringPool(StringPool&&) = default;
  StringPool& operator=(StringPool&&) = default;

  // Returns the id of `s`, adding it when new.
  uint32_t Intern(std::string_view s);

  // Returns the id of `s`, or -1 when it was never interned.
  int64_t Find(std::string_view s) const;

  // The string with id `id` (< size()).
  std::string_view Get(uint32_t id) const { return views_[id]; }

  size_t size() const { return views_.size(); }

  // Reserves room for about `n` distinct strings.
  void Reserve(size_t n);

 private:
  std::string_view Store(std::string_view s);

  static constexpr size_t kBlockSize = 1 << 20;
  std::vector<std::unique_ptr<char[]>> blocks_;
  char* current_ = nullptr;  // the block small strings are appended to
  size_t block_used_ = 0;
  // A pooled string in the table.
  struct Entry {
    std::string_view text;
    uint32_t id;
    size_t hash;
  };
  // A string being looked up, with its hash.
  struct Probe {
    std::string_view text;
    size_t hash;
  };
  struct EntryHash {
    using is_transparent = void;
    size_t operator()(const Entry& e) const { return e.hash; }
    size_t operator()(const Probe& p) const { return p.hash; }
  };
  struct EntryEq {
    using is_transparent = void;
    bool operator()(const Entry& a, const Entry& b) const {
      return a.id == b.id;
    }
    bool operator()(const Entry& a, const Probe& p) const {
      return a.hash == p.hash && a.text == p.text;
    }
    bool operator()(const Probe& p, const Entry& a) const {
      return (*this)(a, p);
    }
  };
  static Probe ProbeOf(std::string_view s) {
    return {s, std::hash<std::string_view>{}(s)};
  }

  std::vector<std::string_view> views_;
  absl::flat_hash_set<Entry, EntryHash, EntryEq> ids_;
};

}  // namespace winback

#endif  // WINBACK_JOBS_COMMON_STRING_POOL_H_
