// Helpers for cross-component tests: temp dirs, running the real binaries,
// reading the generator's truth files. Paths of the binaries come from CMake.
#ifndef WINBACK_TESTS_E2E_UTIL_H_
#define WINBACK_TESTS_E2E_UTIL_H_

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace winback::testing {

// A fresh directory under the test temp dir, removed at destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& name);
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Runs a shell command; returns its exit code and fills `output` with its
// combined stdout and stderr.
int RunCommand(const std::string& command, std::string* output);

// A UTC microsecond time formatted by strftime(`format`), through the C
// library rather than the code under test; the time is rounded down to
// whole seconds.
std::string UtcText(int64_t us, const char* format);

// Writes `text` to `path`.
void WriteFile(const std::filesystem::path& path, const std::string& text);
std::string ReadFile(const std::filesystem::path& path);

// One row of truth/purchases.csv: a valid successful booking.
struct TruthPurchase {
  int64_t customer_id = 0;
  int64_t created_at = 0;  // µs
  int64_t total_amount = 0;
  std::string promo_code;  // "" when none
};
std::vector<TruthPurchase> ReadTruthPurchaseRows(
    const std::filesystem::path& data_dir);

// truth/purchases.csv: customer_id -> purchase times (µs), unsorted.
std::map<int64_t, std::vector<int64_t>> ReadTruthPurchases(
    const std::filesystem::path& data_dir);

// truth/sessions.csv summed: total pieces and pieces with a customer.
struct TruthSessions {
  int64_t session_ids = 0;
  int64_t pieces = 0;
  int64_t linked_pieces = 0;
  std::map<int64_t, int64_t> pieces_per_customer;
};
TruthSessions ReadTruthSessions(const std::filesystem::path& data_dir);

// The `winback-datagen` and `winback` binaries.
std::string DatagenBinary();
std::string WinbackBinary();

}  // namespace winback::testing

#endif  // WINBACK_TESTS_E2E_UTIL_H_
