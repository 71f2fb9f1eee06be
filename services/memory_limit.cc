#include "services/memory_limit.h"

#include <charconv>
#include <cstdint>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

namespace winback {
namespace {

namespace fs = std::filesystem;

// The pieces of `text` between `sep`s (empty ones too); Debian's Abseil has
// its own string_view type, so its splitter would not hand these back.
std::vector<std::string_view> Split(std::string_view text, char sep,
                                    size_t max_pieces = SIZE_MAX) {
  std::vector<std::string_view> pieces;
  while (pieces.size() + 1 < max_pieces) {
    const size_t at = text.find(sep);
    if (at == std::string_view::npos) break;
    pieces.push_back(text.substr(0, at));
    text.remove_prefix(at + 1);
  }
  pieces.push_back(text);
  return pieces;
}

std::string_view Trim(std::string_view text) {
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1);
}

// cgroup v1 reports "no limit" as the largest page-aligned counter value
// (9223372036854771712 with 4 KiB pages); anything this large is no limit.
constexpr int64_t kUnlimitedV1 = int64_t{1} << 62;

std::optional<std::string> ReadFirstLine(const fs::path& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) return std::nullopt;
  return line;
}

std::optional<int64_t> ParseBytes(std::string_view text) {
  text = Trim(text);
  int64_t value = 0;
  const auto [end, ec] =
      std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0) {
    return std::nullopt;
  }
  return value;
}

// One mounted cgroup hierarchy: the group shown at `mount_point` is `root`.
struct Hierarchy {
  std::string root;
  fs::path mount_point;
};

// The v2 hierarchy and the v1 hierarchy that holds the memory controller.
struct Mounts {
  std::optional<Hierarchy> v2, v1_memory;
};

// mountinfo lines: "ID PARENT MAJ:MIN ROOT MOUNT_POINT OPTIONS [TAGS...] -
// FSTYPE SOURCE SUPER_OPTIONS". Octal escapes (\040 for a space) in paths are
// left alone: cgroup mounts do not have them in practice.
Mounts ReadMounts(const fs::path& mountinfo) {
  Mounts mounts;
  std::ifstream in(mountinfo);
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string_view> fields;
    for (std::string_view f : Split(line, ' ')) {
      if (!f.empty()) fields.push_back(f);
    }
    size_t dash = 0;
    while (dash < fields.size() && fields[dash] != "-") ++dash;
    if (dash < 5 || dash + 3 > fields.size()) continue;
    const std::string_view type = fields[dash + 1];
    Hierarchy h{std::string(fields[3]), fs::path(std::string(fields[4]))};
    if (type == "cgroup2") {
      if (!mounts.v2) mounts.v2 = std::move(h);
    } else if (type == "cgroup" && !mounts.v1_memory) {
      for (std::string_view option : Split(fields[dash + 3], ',')) {
        if (option == "memory") mounts.v1_memory = std::move(h);
      }
    }
  }
  return mounts;
}

// The directory of `group` under `h`, or nullopt when the group is not
// inside what the mount shows.
std::optional<fs::path> GroupDir(const Hierarchy& h, std::string_view group) {
  std::string_view root = h.root;
  if (root != "/") {
    if (group.substr(0, root.size()) != root ||
        (group.size() > root.size() && group[root.size()] != '/')) {
      return std::nullopt;
    }
    group.remove_prefix(root.size());
  }
  fs::path dir = h.mount_point;
  for (std::string_view part : Split(group, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == "..") return std::nullopt;
    dir /= std::string(part);
  }
  return dir;
}

// The smallest limit in `file` from `dir` up to `top`; `limit(text)` reads
// one file's value (nullopt: no limit there). `found` says whether any level
// had the file.
std::optional<int64_t> SmallestUpTo(
    fs::path dir, const fs::path& top, const std::string& file,
    std::optional<int64_t> (*limit)(std::string_view), bool* found) {
  std::optional<int64_t> smallest;
  while (true) {
    if (const std::optional<std::string> text = ReadFirstLine(dir / file)) {
      *found = true;
      if (const std::optional<int64_t> bytes = limit(*text)) {
        if (!smallest || *bytes < *smallest) smallest = bytes;
      }
    }
    if (dir == top || !dir.has_relative_path() || dir == dir.parent_path()) {
      break;
    }
    dir = dir.parent_path();
  }
  return smallest;
}

// A limit file's value in bytes; nullopt for no limit, or for text that is
// not a number.
std::optional<int64_t> LimitV2(std::string_view text) {
  if (Trim(text) == "max") return std::nullopt;
  return ParseBytes(text);
}

std::optional<int64_t> LimitV1(std::string_view text) {
  const std::optional<int64_t> bytes = ParseBytes(text);
  if (bytes.has_value() && *bytes >= kUnlimitedV1) return std::nullopt;
  return bytes;
}

}  // namespace

std::optional<int64_t> CgroupMemoryLimit(const MemoryLimitSources& sources) {
  // /proc/self/cgroup lines: "ID:CONTROLLERS:PATH"; v2's is "0::PATH".
  std::optional<std::string> v2_group, v1_group;
  {
    std::ifstream in(sources.cgroup);
    std::string line;
    while (std::getline(in, line)) {
      const std::vector<std::string_view> parts = Split(line, ':', 3);
      if (parts.size() != 3) continue;
      if (parts[0] == "0" && parts[1].empty()) {
        v2_group = std::string(parts[2]);
      }
      for (std::string_view c : Split(parts[1], ',')) {
        if (c == "memory") v1_group = std::string(parts[2]);
      }
    }
  }
  const Mounts mounts = ReadMounts(sources.mountinfo);
  // v2 first: on a hybrid system the memory controller is v1's, and the v2
  // hierarchy then has no memory.max files at all.
  if (v2_group && mounts.v2) {
    if (const std::optional<fs::path> dir = GroupDir(*mounts.v2, *v2_group)) {
      bool found = false;
      const std::optional<int64_t> limit = SmallestUpTo(
          *dir, mounts.v2->mount_point, "memory.max", LimitV2, &found);
      if (found) return limit;
    }
  }
  if (v1_group && mounts.v1_memory) {
    if (const std::optional<fs::path> dir =
            GroupDir(*mounts.v1_memory, *v1_group)) {
      bool found = false;
      return SmallestUpTo(*dir, mounts.v1_memory->mount_point,
                          "memory.limit_in_bytes", LimitV1, &found);
    }
  }
  return std::nullopt;
}

}  // namespace winback
