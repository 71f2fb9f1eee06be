#include "jobs/common/string_pool.h"

#include <cstring>

namespace winback {

std::string_view StringPool::Store(std::string_view s) {
  if (s.size() > kBlockSize / 4) {
    // Large strings get a block of their own.
    blocks_.push_back(std::make_unique<char[]>(s.size()));
    std::memcpy(blocks_.back().get(), s.data(), s.size());
    return {blocks_.back().get(), s.size()};
  }
  if (current_ == nullptr || block_used_ + s.size() > kBlockSize) {
    blocks_.push_back(std::make_unique<char[]>(kBlockSize));
    current_ = blocks_.back().get();
    block_used_ = 0;
  }
  char* dst = current_ + block_used_;
  std::memcpy(dst, s.data(), s.size());
  block_used_ += s.size();
  return {dst, s.size()};
}

uint32_t StringPool::Intern(std::string_view s) {
  const Probe probe = ProbeOf(s);
  auto it = ids_.lazy_emplace(probe, [&](const auto& construct) {
    const uint32_t id = static_cast<uint32_t>(views_.size());
    views_.push_back(Store(s));
    construct(Entry{views_.back(), id, probe.hash});
  });
  return it->id;
}

int64_t StringPool::Find(std::string_view s) const {
  auto it = ids_.find(ProbeOf(s));
  return it == ids_.end() ? -1 : static_cast<int64_t>(it->id);
}

void StringPool::Reserve(size_t n) {
  views_.reserve(n);
  ids_.reserve(n);
}

}  // namespace winback
