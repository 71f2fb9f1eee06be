// Fast paths for the export's own shapes: click_stream.csv rows and UUIDs.
//
// SplitPlainClickRow and CanonicalClickMetadata only ever say "yes,
// certainly": a row they accept gets exactly the fields and the verdict the
// general path (FieldSplitter and the Literal parser) would give it, and
// anything they do not recognise is left to the general path. FastUuid
// gives ParseUuid's answer for every text. So they change speed, never
// results.
#ifndef WINBACK_JOBS_INGEST_CLICK_FAST_PATH_H_
#define WINBACK_JOBS_INGEST_CLICK_FAST_PATH_H_

#include <optional>
#include <string_view>

#include "jobs/tables/tables.h"

namespace winback::ingest_internal {

inline constexpr int kClickFields = 6;

// Splits a click row whose first five fields are unquoted and whose last
// field is empty or one quoted field, storing the six fields in `fields`
// (the last without its quotes). Returns false, leaving `fields`
// unspecified, for any other row. The last field may still hold a quote;
// CanonicalClickMetadata rejects that.
bool SplitPlainClickRow(std::string_view line, std::string_view* fields);

// True when `text` is the metadata of an event of `type` exactly as the
// export prints it, e.g. `{'product_id': 56641, 'quantity': 2,
// 'item_price': 200805}` for ADD_TO_CART and the empty text for the types
// without metadata: keys in the export's order, one space after ':' and
// ',', integers of at most 18 digits, strings without quotes, backslashes
// or line breaks. Every such text is valid click metadata; false means
// "ask the Literal parser", not "invalid".
bool CanonicalClickMetadata(EventType type, std::string_view text);

// ParseUuid, for the hot loops: the canonical 8-4-4-4-12 form in either
// case. `*lowercase` (when given) tells whether the text is the canonical
// lowercase form, in which case equal UUIDs mean equal texts.
std::optional<Uuid> FastUuid(std::string_view text, bool* lowercase = nullptr);

}  // namespace winback::ingest_internal

#endif  // WINBACK_JOBS_INGEST_CLICK_FAST_PATH_H_
