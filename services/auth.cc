#include "services/auth.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace winback {
namespace {

std::vector<std::string_view> Fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && absl::ascii_isspace(s.front())) s.remove_prefix(1);
  while (!s.empty() && absl::ascii_isspace(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string_view RoleName(Role role) {
  return role == Role::kOperator ? "operator" : "reader";
}

std::optional<Role> ParseRole(std::string_view name) {
  if (name == "reader") return Role::kReader;
  if (name == "operator") return Role::kOperator;
  return std::nullopt;
}

bool Grants(Role have, Role need) {
  return have == Role::kOperator || need == Role::kReader;
}

absl::StatusOr<std::vector<ApiKey>> ParseKeyFile(std::string_view text,
                                                 std::string_view source) {
  std::vector<ApiKey> keys;
  int line_no = 0;
  for (absl::string_view piece :
       absl::StrSplit(absl::string_view(text.data(), text.size()), '\n')) {
    ++line_no;
    std::string_view line = Trim(std::string_view(piece.data(), piece.size()));
    if (line.empty() || line.front() == '#') continue;
    const std::vector<std::string_view> f = Fields(line);
    const auto where = [&] { return absl::StrCat(std::string(source), ":", line_no, ": "); };
    if (f.size() != 2) {
      return absl::InvalidArgumentError(absl::StrCat(
          where(), "expected '<role> <key>' (role reader or operator), got ",
          f.size(), " fields"));
    }
    const std::optional<Role> role = ParseRole(f[0]);
    if (!role.has_value()) {
      return absl::InvalidArgumentError(absl::StrCat(
          where(), "unknown role '", std::string(f[0]),
          "' (expected reader or operator)"));
    }
    keys.push_back({*role, std::string(f[1])});
  }
  return keys;
}

absl::StatusOr<std::vector<ApiKey>> ParseKeyList(std::string_view text,
                                                 std::string_view source) {
  std::vector<ApiKey> keys;
  for (absl::string_view piece :
       absl::StrSplit(absl::string_view(text.data(), text.size()), ',')) {
    std::string_view entry = Trim(std::string_view(piece.data(), piece.size()));
    if (entry.empty()) continue;
    const size_t colon = entry.find(':');
    const std::optional<Role> role =
        colon == std::string_view::npos ? std::nullopt
                                        : ParseRole(Trim(entry.substr(0, colon)));
    const std::string_view key =
        colon == std::string_view::npos ? "" : Trim(entry.substr(colon + 1));
    if (!role.has_value() || key.empty()) {
      // The entry itself is never echoed: it may hold a key.
      return absl::InvalidArgumentError(absl::StrCat(
          std::string(source), ": expected '<role>:<key>,...' with role reader or operator"));
    }
    keys.push_back({*role, std::string(key)});
  }
  return keys;
}

std::array<uint8_t, 32> Sha256(std::string_view bytes) {
  std::array<uint8_t, 32> out;
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
         out.data());
  return out;
}

bool DigestsEqual(const std::array<uint8_t, 32>& a,
                  const std::array<uint8_t, 32>& b) {
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

KeyRing::KeyRing(const std::vector<ApiKey>& keys) {
  entries_.reserve(keys.size());
  for (const ApiKey& k : keys) entries_.push_back({Sha256(k.key), k.role});
}

std::optional<Role> KeyRing::Lookup(std::string_view key) const {
  if (key.empty()) return std::nullopt;
  const std::array<uint8_t, 32> digest = Sha256(key);
  // Visit every entry whatever matches, so the time does not depend on which
  // (or whether any) key matched.
  int found = -1;
  for (size_t i = 0; i < entries_.size(); ++i) {
    const bool eq = DigestsEqual(digest, entries_[i].digest);
    found = eq ? static_cast<int>(i) : found;
  }
  if (found < 0) return std::nullopt;
  return entries_[found].role;
}

absl::StatusOr<std::vector<ApiKey>> LoadApiKeys(const std::string& file,
                                                const std::string& env_var) {
  std::vector<ApiKey> keys;
  if (!file.empty()) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      return absl::InvalidArgumentError(absl::StrCat(
          "service.api_keys_file: cannot read '", file, "'"));
    }
    std::stringstream ss;
    ss << in.rdbuf();
    absl::StatusOr<std::vector<ApiKey>> parsed = ParseKeyFile(ss.str(), file);
    if (!parsed.ok()) return parsed.status();
    keys = std::move(*parsed);
  }
  if (!env_var.empty()) {
    if (const char* value = std::getenv(env_var.c_str()); value != nullptr) {
      absl::StatusOr<std::vector<ApiKey>> parsed = ParseKeyList(value, env_var);
      if (!parsed.ok()) return parsed.status();
      keys.insert(keys.end(), parsed->begin(), parsed->end());
    }
  }
  return keys;
}

}  // namespace winback
