// Fast paths for the export's own shapes: click_stream.csv rows, booking
// product lines and UUIDs.
//
// SplitPlainClickRow, CanonicalClickMetadata and CanonicalProductLines only
// ever say "yes, certainly": what they accept gets exactly the fields, values
// and verdict the general path (FieldSplitter and the Literal parser) would
// give it, and anything they do not recognise is left to the general path.
// FastUuid and FastTimestamp give ParseUuid's and ParseTimestamp's answer for
// every text. So they change speed, never results.
#ifndef WINBACK_JOBS_INGEST_FAST_PATH_H_
#define WINBACK_JOBS_INGEST_FAST_PATH_H_

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

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

// One item of a booking's product_metadata.
struct ProductLine {
  int64_t product_id;
  int64_t quantity;
  int64_t item_price;
  friend bool operator==(const ProductLine&, const ProductLine&) = default;
};

// True when `text` is a product_metadata list exactly as the export prints
// it (`[{'product_id': 51441, 'quantity': 1, 'item_price': 439417}, ...]`,
// or `[]`), with its items in `*lines`; the values are not range-checked.
// False means "ask the Literal parser", not "invalid".
bool CanonicalProductLines(std::string_view text,
                           std::vector<ProductLine>* lines);

// ParseUuid, for the hot loops: the canonical 8-4-4-4-12 form in either
// case. `*lowercase` (when given) tells whether the text is the canonical
// lowercase form, in which case equal UUIDs mean equal texts.
std::optional<Uuid> FastUuid(std::string_view text, bool* lowercase = nullptr);

// ParseTimestamp, for the hot loops: the export's own form
// (YYYY-MM-DDTHH:MM:SS.ffffffZ) is read with vector compares; anything else,
// and any date or time out of range, goes to ParseTimestamp.
std::optional<Micros> FastTimestamp(std::string_view text);

}  // namespace winback::ingest_internal

#endif  // WINBACK_JOBS_INGEST_FAST_PATH_H_
