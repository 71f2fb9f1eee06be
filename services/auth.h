// API keys and roles for the daemon. No gRPC types: the gRPC edge
// (grpc_util.h) reads the `authorization: Bearer <key>` header and asks a
// KeyRing which role, if any, the key has.
#ifndef WINBACK_SERVICES_AUTH_H_
#define WINBACK_SERVICES_AUTH_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace winback {

// reader: CampaignService only. operator: everything.
enum class Role { kReader, kOperator };

// "reader" / "operator".
std::string_view RoleName(Role role);
std::optional<Role> ParseRole(std::string_view name);

// True when `have` grants what `need` requires (operator implies reader).
bool Grants(Role have, Role need);

struct ApiKey {
  Role role = Role::kReader;
  std::string key;
};

// Parses a key file: one "<role> <key>" per line, blank lines and lines
// starting with '#' ignored. InvalidArgument naming `source` and the line for
// an unknown role, a missing key or extra fields.
absl::StatusOr<std::vector<ApiKey>> ParseKeyFile(std::string_view text,
                                                 std::string_view source);

// Parses the environment form "<role>:<key>,<role>:<key>" (spaces around
// entries ignored; empty text gives no keys). InvalidArgument naming `source`
// (the variable) for a malformed entry.
absl::StatusOr<std::vector<ApiKey>> ParseKeyList(std::string_view text,
                                                 std::string_view source);

// Compares two equal-length digests in time independent of their contents.
bool DigestsEqual(const std::array<uint8_t, 32>& a,
                  const std::array<uint8_t, 32>& b);

// SHA-256 of `bytes`.
std::array<uint8_t, 32> Sha256(std::string_view bytes);

// The set of known keys. Keys are kept only as SHA-256 digests, and lookup
// compares the presented key's digest against every stored digest in
// constant time (no early exit), so neither timing nor memory dumps reveal
// the keys. Immutable after construction; safe to share between threads.
class KeyRing {
 public:
  explicit KeyRing(const std::vector<ApiKey>& keys);

  // The role of `key`, or nullopt when it is unknown (or empty).
  std::optional<Role> Lookup(std::string_view key) const;

  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::array<uint8_t, 32> digest;
    Role role;
  };
  std::vector<Entry> entries_;  // fixed after construction
};

// Loads keys from `file` (when non-empty) and from the environment variable
// named `env_var` (when non-empty and set). A missing or unreadable file is
// an error naming service.api_keys_file.
absl::StatusOr<std::vector<ApiKey>> LoadApiKeys(const std::string& file,
                                                const std::string& env_var);

}  // namespace winback

#endif  // WINBACK_SERVICES_AUTH_H_
