#include "services/access.h"

#include <string>
#include <string_view>

namespace winback {

grpc::Status Authorize(const grpc::ServerContext& context, const KeyRing& keys,
                       Role need) {
  const auto& md = context.client_metadata();
  const auto it = md.find("authorization");
  if (it == md.end()) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        "missing 'authorization: Bearer <key>' metadata");
  }
  const std::string_view value(it->second.data(), it->second.size());
  constexpr std::string_view kPrefix = "Bearer ";
  if (value.size() <= kPrefix.size() ||
      value.substr(0, kPrefix.size()) != kPrefix) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        "authorization metadata must be 'Bearer <key>'");
  }
  const std::optional<Role> role = keys.Lookup(value.substr(kPrefix.size()));
  if (!role.has_value()) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "unknown API key");
  }
  if (!Grants(*role, need)) {
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                        std::string("this call needs the ") +
                            std::string(RoleName(need)) + " role; the key has " +
                            std::string(RoleName(*role)));
  }
  return grpc::Status::OK;
}

}  // namespace winback
