// Opaque page tokens for ListTargets and ListRuns.
//
// A target-list token pins the run the paging started on, the campaign and
// the next offset, and carries an HMAC-SHA256 (truncated to 128 bits) under a
// server secret, so a token cannot be forged, edited or moved to another
// campaign. Tokens are base64url without padding.
#ifndef WINBACK_SERVICES_PAGE_TOKEN_H_
#define WINBACK_SERVICES_PAGE_TOKEN_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace winback {

struct TargetPageToken {
  int64_t run_id = 0;
  std::string campaign;
  int64_t offset = 0;
};

class PageTokenCodec {
 public:
  // `secret`: the HMAC key (at least 16 bytes; see LoadOrCreateSecret).
  explicit PageTokenCodec(std::string secret) : secret_(std::move(secret)) {}

  std::string EncodeTargets(const TargetPageToken& token) const;
  // InvalidArgument for anything not produced by EncodeTargets with this
  // secret, and for a token of a campaign other than `campaign`.
  absl::StatusOr<TargetPageToken> DecodeTargets(std::string_view text,
                                                std::string_view campaign) const;

  // ListRuns: the run_id the next page starts below.
  std::string EncodeRuns(int64_t before_run_id) const;
  absl::StatusOr<int64_t> DecodeRuns(std::string_view text) const;

 private:
  std::string Mac(std::string_view payload) const;
  const std::string secret_;
};

// Reads the 32-byte token secret from `path`, creating it (mode 0600, random
// bytes from the OS) when missing, so tokens stay valid across restarts.
absl::StatusOr<std::string> LoadOrCreateSecret(const std::string& path);

}  // namespace winback

#endif  // WINBACK_SERVICES_PAGE_TOKEN_H_
