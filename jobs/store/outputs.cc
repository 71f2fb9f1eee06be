#include "jobs/store/outputs.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"

namespace winback {

std::string EncodeReasons(const std::vector<Reason>& reasons) {
  nlohmann::json array = nlohmann::json::array();
  for (const Reason& r : reasons) {
    array.push_back({{"feature", r.feature}, {"contribution", r.contribution}});
  }
  return array.dump();
}

absl::StatusOr<std::vector<Reason>> DecodeReasons(std::string_view json) {
  std::vector<Reason> out;
  if (json.empty()) return out;
  const nlohmann::json parsed = nlohmann::json::parse(json, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_array()) {
    return absl::DataLossError(
        absl::StrCat("reasons are not a JSON array: ", std::string(json)));
  }
  for (const nlohmann::json& item : parsed) {
    if (!item.is_object() || !item.contains("feature") ||
        !item["feature"].is_string() || !item.contains("contribution") ||
        !item["contribution"].is_number()) {
      return absl::DataLossError(
          absl::StrCat("malformed reason in: ", std::string(json)));
    }
    out.push_back({item["feature"].get<std::string>(),
                   item["contribution"].get<double>()});
  }
  return out;
}

}  // namespace winback
