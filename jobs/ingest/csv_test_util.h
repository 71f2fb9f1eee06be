// Test helper shared by the ingest tests.
#ifndef WINBACK_JOBS_INGEST_CSV_TEST_UTIL_H_
#define WINBACK_JOBS_INGEST_CSV_TEST_UTIL_H_

#include <string>
#include <string_view>
#include <vector>

#include "jobs/ingest/csv.h"

namespace winback::ingest_internal {

// The fields FieldSplitter finds in `line` (up to 16), or {"<malformed>"}.
inline std::vector<std::string> SplitAllFields(std::string_view line) {
  FieldSplitter splitter;
  std::string_view f[16];
  const int n = splitter.Split(line, f, 16);
  if (n < 0) return {"<malformed>"};
  return std::vector<std::string>(f, f + n);
}

}  // namespace winback::ingest_internal

#endif  // WINBACK_JOBS_INGEST_CSV_TEST_UTIL_H_
