// Access control at the gRPC edge: reads `authorization: Bearer <key>` from
// a call's metadata and checks the key's role.
#ifndef WINBACK_SERVICES_ACCESS_H_
#define WINBACK_SERVICES_ACCESS_H_

#include "grpcpp/server_context.h"
#include "services/auth.h"

namespace winback {

// OK when the call carries a known key whose role grants `need`;
// UNAUTHENTICATED for a missing, malformed or unknown key; PERMISSION_DENIED
// for a known key without the role.
grpc::Status Authorize(const grpc::ServerContext& context, const KeyRing& keys,
                       Role need);

}  // namespace winback

#endif  // WINBACK_SERVICES_ACCESS_H_
