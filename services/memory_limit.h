// The memory limit the kernel enforces on this process's control group: the
// limit a run's process (in the daemon's group) is OOM-killed at.
//
// cgroup v2: the smallest memory.max from the process's group up to the
// hierarchy's root ("max" is no limit). cgroup v1: the same with
// memory.limit_in_bytes in the memory controller's hierarchy (a value near
// 2^63 is no limit). Groups are found through /proc/self/cgroup and
// /proc/self/mountinfo, so a container's own view (a cgroup namespace, or a
// group mounted at its root) is read as the kernel presents it.
#ifndef WINBACK_SERVICES_MEMORY_LIMIT_H_
#define WINBACK_SERVICES_MEMORY_LIMIT_H_

#include <cstdint>
#include <filesystem>
#include <optional>

namespace winback {

struct MemoryLimitSources {
  std::filesystem::path cgroup = "/proc/self/cgroup";
  std::filesystem::path mountinfo = "/proc/self/mountinfo";
};

// The limit in bytes; nullopt when there is none, or when the files cannot
// be read or make no sense (it is a figure for a metric, never an error).
std::optional<int64_t> CgroupMemoryLimit(
    const MemoryLimitSources& sources = {});

}  // namespace winback

#endif  // WINBACK_SERVICES_MEMORY_LIMIT_H_
