#include "tests/e2e_util.h"

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace winback::testing {

std::string UtcText(int64_t us, const char* format) {
  const std::time_t secs = static_cast<std::time_t>(
      us >= 0 ? us / 1'000'000 : (us - 999'999) / 1'000'000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof(buf), format, &tm);
  return buf;
}

TempDir::TempDir(const std::string& name) {
  const char* base = std::getenv("TEST_TMPDIR");
  path_ = std::filesystem::path(base ? base : "/tmp") /
          ("winback-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(path_);
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

int RunCommand(const std::string& command, std::string* output) {
  output->clear();
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return -1;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) {
    output->append(buf.data(), n);
  }
  const int status = ::pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void WriteFile(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

namespace {
std::vector<std::string> SplitLine(const std::string& line) {
  std::vector<std::string> out;
  std::string field;
  std::stringstream ss(line);
  while (std::getline(ss, field, ',')) out.push_back(field);
  if (!line.empty() && line.back() == ',') out.push_back("");
  return out;
}
}  // namespace

std::vector<TruthPurchase> ReadTruthPurchaseRows(
    const std::filesystem::path& data_dir) {
  std::ifstream in(data_dir / "truth" / "purchases.csv");
  if (!in) throw std::runtime_error("no truth/purchases.csv in " + data_dir.string());
  std::vector<TruthPurchase> out;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto f = SplitLine(line);
    out.push_back({std::stoll(f.at(0)), std::stoll(f.at(1)),
                   std::stoll(f.at(2)), f.at(3)});
  }
  return out;
}

std::map<int64_t, std::vector<int64_t>> ReadTruthPurchases(
    const std::filesystem::path& data_dir) {
  std::map<int64_t, std::vector<int64_t>> out;
  for (const TruthPurchase& p : ReadTruthPurchaseRows(data_dir)) {
    out[p.customer_id].push_back(p.created_at);
  }
  return out;
}

TruthSessions ReadTruthSessions(const std::filesystem::path& data_dir) {
  std::ifstream in(data_dir / "truth" / "sessions.csv");
  if (!in) throw std::runtime_error("no truth/sessions.csv in " + data_dir.string());
  TruthSessions t;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto f = SplitLine(line);
    const int64_t pieces = std::stoll(f.at(2));
    ++t.session_ids;
    t.pieces += pieces;
    if (!f.at(1).empty()) {
      t.linked_pieces += pieces;
      t.pieces_per_customer[std::stoll(f.at(1))] += pieces;
    }
  }
  return t;
}

std::string DatagenBinary() { return WINBACK_DATAGEN_BIN; }
std::string WinbackBinary() { return WINBACK_BIN; }

}  // namespace winback::testing
