// Stage 2: re-split session_ids into real sessions at an inactivity gap.
#ifndef WINBACK_JOBS_SESSIONIZE_SESSIONIZE_H_
#define WINBACK_JOBS_SESSIONIZE_SESSIONIZE_H_

#include <cstdint>
#include <limits>
#include <vector>

#include "absl/status/statusor.h"
#include "jobs/tables/tables.h"

namespace winback {

struct SessionizeOptions {
  // A gap strictly greater than this starts a new session; a gap of exactly
  // `gap` does not.
  Micros gap = 30 * kMicrosPerMinute;
  // Events after this time, and bookings created after it, are ignored.
  Micros as_of = std::numeric_limits<Micros>::max();
  int threads = 2;

  absl::Status Validate() const;
};

struct SessionizeStats {
  // Click events at or before as_of in the sessions (duplicates not
  // counted).
  int64_t events_used = 0;
  int64_t events_after_as_of = 0;
  // Click events at or before as_of dropped as copies of an earlier row
  // with the same session_id, event_time and event_id (a line exported
  // twice), with the file lines (ClickTable::LineOf) of the first
  // FileReport::kMaxLinesPerReason of them, ascending.
  int64_t duplicate_events = 0;
  std::vector<int64_t> duplicate_lines;
  int64_t session_ids = 0;        // distinct session_ids with a used event
  int64_t sessions = 0;           // after re-splitting
  int64_t sessions_linked = 0;    // with a known customer
  // session_ids whose bookings name different customers; the earliest
  // booking's customer is used.
  int64_t conflicting_links = 0;
};

// Groups `clicks` by session id, orders each group by (event_time, event_id)
// and cuts it wherever the gap to the previous event exceeds `options.gap`.
// A row with the session id, event_time and event_id of an earlier row (the
// same click exported twice) is dropped and counted in `stats`: it would
// add an event to its session. An event_id that repeats with another time
// or session id is not looked for (that needs a set of all event ids).
// Piece k (from 1) of a session_id is the session "<session_id>#<k>". The
// customer of a session is the customer of its session_id's booking in
// `bookings` (kNoCustomer when it has none). `session_id_count` is the size of
// the pool the session ids index. Rows come out ordered by (session, piece).
absl::StatusOr<SessionTable> Sessionize(const ClickTable& clicks,
                                        const BookingTable& bookings,
                                        size_t session_id_count,
                                        const SessionizeOptions& options,
                                        SessionizeStats* stats = nullptr);

// The same, consuming `clicks` (left empty): all columns but event_id are
// freed as soon as the events are gathered per session id, which lowers the
// peak memory of a run by ~14 bytes per event.
absl::StatusOr<SessionTable> Sessionize(ClickTable&& clicks,
                                        const BookingTable& bookings,
                                        size_t session_id_count,
                                        const SessionizeOptions& options,
                                        SessionizeStats* stats = nullptr);

}  // namespace winback

#endif  // WINBACK_JOBS_SESSIONIZE_SESSIONIZE_H_
