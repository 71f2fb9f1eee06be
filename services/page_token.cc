#include "services/page_token.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace winback {
namespace {

constexpr char kTargetsVersion = 'T';
constexpr char kRunsVersion = 'R';
constexpr size_t kMacBytes = 16;

void PutInt(int64_t v, std::string* out) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}

int64_t GetInt(std::string_view in) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(in[i]);
  return static_cast<int64_t>(v);
}

absl::Status Bad(std::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("page_token: ", std::string(what)));
}

}  // namespace

std::string PageTokenCodec::Mac(std::string_view payload) const {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
       reinterpret_cast<const unsigned char*>(payload.data()), payload.size(),
       mac, &len);
  return std::string(reinterpret_cast<char*>(mac), kMacBytes);
}

std::string PageTokenCodec::EncodeTargets(const TargetPageToken& t) const {
  std::string payload(1, kTargetsVersion);
  PutInt(t.run_id, &payload);
  PutInt(t.offset, &payload);
  payload += t.campaign;
  std::string raw = payload + Mac(payload);
  std::string out;
  absl::WebSafeBase64Escape(raw, &out);
  return out;
}

absl::StatusOr<TargetPageToken> PageTokenCodec::DecodeTargets(
    std::string_view text, std::string_view campaign) const {
  std::string raw;
  if (!absl::WebSafeBase64Unescape(absl::string_view(text.data(), text.size()),
                                   &raw)) {
    return Bad("not base64url");
  }
  if (raw.size() < 1 + 16 + kMacBytes || raw[0] != kTargetsVersion) {
    return Bad("malformed");
  }
  const std::string_view payload(raw.data(), raw.size() - kMacBytes);
  const std::string mac = Mac(payload);
  if (CRYPTO_memcmp(mac.data(), raw.data() + payload.size(), kMacBytes) != 0) {
    return Bad("not issued by this server or altered");
  }
  TargetPageToken t;
  t.run_id = GetInt(payload.substr(1, 8));
  t.offset = GetInt(payload.substr(9, 8));
  t.campaign = std::string(payload.substr(17));
  if (t.campaign != campaign) {
    return Bad(absl::StrCat("issued for campaign '", t.campaign,
                            "', not '", std::string(campaign), "'"));
  }
  if (t.offset < 0 || t.run_id <= 0) return Bad("malformed");
  return t;
}

std::string PageTokenCodec::EncodeRuns(int64_t before_run_id) const {
  std::string payload(1, kRunsVersion);
  PutInt(before_run_id, &payload);
  std::string out;
  absl::WebSafeBase64Escape(payload + Mac(payload), &out);
  return out;
}

absl::StatusOr<int64_t> PageTokenCodec::DecodeRuns(std::string_view text) const {
  std::string raw;
  if (!absl::WebSafeBase64Unescape(absl::string_view(text.data(), text.size()),
                                   &raw)) {
    return Bad("not base64url");
  }
  if (raw.size() != 1 + 8 + kMacBytes || raw[0] != kRunsVersion) {
    return Bad("malformed");
  }
  const std::string_view payload(raw.data(), 9);
  const std::string mac = Mac(payload);
  if (CRYPTO_memcmp(mac.data(), raw.data() + 9, kMacBytes) != 0) {
    return Bad("not issued by this server or altered");
  }
  return GetInt(payload.substr(1, 8));
}

absl::StatusOr<std::string> LoadOrCreateSecret(const std::string& path) {
  {
    std::ifstream in(path, std::ios::binary);
    if (in) {
      std::stringstream ss;
      ss << in.rdbuf();
      std::string secret = ss.str();
      if (secret.size() >= 16) return secret;
    }
  }
  std::string secret(32, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(secret.data()),
                 static_cast<int>(secret.size())) != 1) {
    return absl::InternalError("cannot draw random bytes for the token secret");
  }
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0 ||
      ::write(fd, secret.data(), secret.size()) !=
          static_cast<ssize_t>(secret.size())) {
    if (fd >= 0) ::close(fd);
    return absl::UnavailableError(absl::StrCat(
        "cannot write the page-token secret '", path, "': ", std::strerror(errno)));
  }
  ::close(fd);
  return secret;
}

}  // namespace winback
