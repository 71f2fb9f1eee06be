// Text that quotes an input file's bytes (an error naming a bad header, say)
// goes into gRPC strings, JSON and SQLite text, which must be UTF-8.
#ifndef WINBACK_JOBS_COMMON_UTF8_H_
#define WINBACK_JOBS_COMMON_UTF8_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace winback {

// `text` with every byte that is not part of a valid UTF-8 sequence written
// as \xNN (so a Latin-1 'é' reads \xE9). With `max_bytes`, only that many
// bytes of `text` are kept, cut at a character boundary, and "..." marks
// the cut.
std::string EscapeInvalidUtf8(std::string_view text,
                              size_t max_bytes = std::string_view::npos);

// The offset of the first byte of `text` that is not part of a valid UTF-8
// sequence, or npos when all of it is valid.
size_t FirstInvalidUtf8(std::string_view text);

}  // namespace winback

#endif  // WINBACK_JOBS_COMMON_UTF8_H_
