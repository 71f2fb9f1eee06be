// Numbers as people read them in reports.
#ifndef WINBACK_JOBS_COMMON_NUMBER_FORMAT_H_
#define WINBACK_JOBS_COMMON_NUMBER_FORMAT_H_

#include <cstdint>
#include <string>

namespace winback {

// 1234567 -> "1,234,567"; -1234 -> "-1,234".
std::string WithThousands(int64_t v);

}  // namespace winback

#endif  // WINBACK_JOBS_COMMON_NUMBER_FORMAT_H_
