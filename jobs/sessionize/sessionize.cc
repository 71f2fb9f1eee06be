#include "jobs/sessionize/sessionize.h"

#include <algorithm>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "jobs/common/parallel.h"

namespace winback {
namespace {

// One event, scattered from the columns into its session_id's slot so that
// sorting a session_id's events touches one contiguous buffer. 16 bytes: the
// event_id that breaks event_time ties is looked up by row only on a tie.
struct Event {
  Micros time;
  uint32_t row;
  EventType type;
  TrafficSource source;
};
static_assert(sizeof(Event) == 16);

// Appends to `cuts` how the session at `row`, made of the sorted events
// [begin, end), was at each month end it runs past.
void CutAtMonthEnds(size_t row, const Event* begin, const Event* end,
                    std::vector<SessionTable::MonthEndCut>* cuts) {
  const MonthIndex first = MonthOf(begin->time),
                   last = MonthOf((end - 1)->time);
  for (MonthIndex m = first; m < last; ++m) {
    const Micros tau = MonthStart(m + 1) - 1;
    // The last event at or before tau; the first event is one.
    const Event* at = std::upper_bound(
        begin, end, tau, [](Micros t, const Event& e) { return t < e.time; });
    --at;
    cuts->push_back({static_cast<uint32_t>(row), tau, at->time, at->type});
  }
}

uint16_t Bit(EventType type) {
  return static_cast<uint16_t>(1u << static_cast<int>(type));
}

// Writes the session made of the sorted events [begin, end) at `row`, and
// its counts at `*repeat` (then advanced) when it holds some event type more
// than once.
void PutSession(size_t row, uint32_t session, uint32_t piece, int64_t customer,
                const Event* begin, const Event* end, SessionTable* out,
                SessionTable::RepeatedTypes** repeat) {
  uint16_t types = Bit(begin->type);
  bool repeated = false;
  for (const Event* e = begin + 1; e < end; ++e) {
    repeated |= (types & Bit(e->type)) != 0;
    types |= Bit(e->type);
  }
  if (repeated) {  // *repeat was zeroed by ResizeColumns
    SessionTable::RepeatedTypes& r = *(*repeat)++;
    r.row = static_cast<uint32_t>(row);
    for (const Event* e = begin; e < end; ++e) {
      ++r.count[static_cast<int>(e->type)];
    }
  }
  out->session[row] = session;
  out->piece[row] = piece;
  out->customer_id[row] = customer;
  out->start[row] = begin->time;
  out->end[row] = (end - 1)->time;
  out->event_count[row] = static_cast<uint32_t>(end - begin);
  out->event_types[row] = types;
  out->traffic_source[row] = begin->source;
  out->last_event[row] = (end - 1)->type;
}

// Dropped duplicate events of one worker: how many, and the first rows.
struct Dropped {
  int64_t count = 0;
  std::vector<uint32_t> first_rows;  // ascending

  void Add(uint32_t row) {
    ++count;
    if (first_rows.size() == FileReport::kMaxLinesPerReason &&
        row > first_rows.back()) {
      return;
    }
    first_rows.insert(
        std::upper_bound(first_rows.begin(), first_rows.end(), row), row);
    if (first_rows.size() > FileReport::kMaxLinesPerReason) {
      first_rows.pop_back();
    }
  }
};

// Drops from the sorted, non-empty [begin, end) of one session id every
// event with the time and event_id of the event before it: copies of one
// row tie in the order, so they are adjacent (in no particular order); of
// each set the earliest row is kept, and the others are counted in
// `dropped`. Returns the new end. Different events share a time rarely, so
// the ids are read (a cache miss each) only then.
Event* DropRepeats(Event* begin, Event* end, const std::vector<Uuid>& event_id,
                   Dropped* dropped) {
  const auto repeats = [&event_id](const Event& before, const Event& e) {
    return e.time == before.time && event_id[e.row] == event_id[before.row];
  };
  Event* e = begin + 1;
  while (e < end && !repeats(e[-1], *e)) ++e;
  if (e >= end) return end;
  Event* kept_end = e;
  for (; e < end; ++e) {
    if (repeats(kept_end[-1], *e)) {
      if (e->row < kept_end[-1].row) std::swap(*e, kept_end[-1]);
      dropped->Add(e->row);
    } else {
      *kept_end++ = *e;
    }
  }
  return kept_end;
}

// What the sorted, non-empty [begin, end) of one session id splits into.
struct PieceCounts {
  size_t pieces = 1;
  size_t repeated = 0;       // pieces that hold some event type more than once
  bool shared_time = false;  // some event has its predecessor's time
};

PieceCounts CountPieces(const Event* begin, const Event* end, Micros gap) {
  PieceCounts c;
  uint16_t types = Bit(begin->type);
  bool repeated = false;
  for (const Event* ev = begin + 1; ev < end; ++ev) {
    const Micros since = ev->time - (ev - 1)->time;
    const bool cut = since > gap;
    c.pieces += cut;
    c.repeated += cut && repeated;
    c.shared_time |= since == 0;
    types = cut ? 0 : types;
    repeated = !cut && repeated;
    repeated |= (types & Bit(ev->type)) != 0;
    types |= Bit(ev->type);
  }
  c.repeated += repeated;
  return c;
}

// Calls cut(ev) for every event of the sorted, non-empty [begin, end) that
// starts a new piece, i.e. follows its predecessor by more than `gap`.
template <typename Cut>
void ForEachCut(const Event* begin, const Event* end, Micros gap, Cut cut) {
  for (const Event* ev = begin + 1; ev < end; ++ev) {
    if (ev->time - (ev - 1)->time > gap) cut(ev);
  }
}

// Sizes every column of `out` to `rows`, and its repeated_types to
// `repeated`, in two halves of about equal bytes on two threads: the first
// touch of fresh pages is most of the cost.
void ResizeColumns(size_t rows, size_t repeated, int threads,
                   SessionTable* out) {
  ParallelFor(2, threads, [&](size_t part) {
    if (part == 0) {
      out->repeated_types.resize(repeated);
      out->customer_id.resize(rows);
      out->start.resize(rows);
      out->event_types.resize(rows);
      out->traffic_source.resize(rows);
      return;
    }
    out->session.resize(rows);
    out->piece.resize(rows);
    out->end.resize(rows);
    out->event_count.resize(rows);
    out->last_event.resize(rows);
  });
}

}  // namespace

absl::Status SessionizeOptions::Validate() const {
  if (gap <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("sessionize gap must be positive, got ", gap, "us"));
  }
  if (threads < 1) {
    return absl::InvalidArgumentError("sessionize threads must be >= 1");
  }
  return absl::OkStatus();
}

namespace {

// `consumed`, when set, is `clicks` itself, whose columns other than
// event_id are freed once the events are scattered.
absl::StatusOr<SessionTable> SessionizeImpl(const ClickTable& clicks,
                                            ClickTable* consumed,
                                            const BookingTable& bookings,
                                            size_t session_id_count,
                                            const SessionizeOptions& options,
                                            SessionizeStats* stats) {
  if (absl::Status s = options.Validate(); !s.ok()) return s;
  if (clicks.size() > std::numeric_limits<uint32_t>::max()) {
    return absl::ResourceExhaustedError("more than 2^32 click events");
  }
  SessionizeStats local;
  stats = stats != nullptr ? stats : &local;
  *stats = SessionizeStats{};

  // Customer of each session id: its earliest booking at or before as_of.
  std::vector<int64_t> customer_of(session_id_count, kNoCustomer);
  std::vector<Micros> linked_at(session_id_count, 0);
  for (size_t i = 0; i < bookings.size(); ++i) {
    if (bookings.created_at[i] > options.as_of) continue;
    const uint32_t s = bookings.session[i];
    if (s >= session_id_count) {
      return absl::InvalidArgumentError(absl::StrCat(
          "booking row ", i, " has session id ", s, " outside the pool of ",
          session_id_count));
    }
    if (customer_of[s] == kNoCustomer || bookings.created_at[i] < linked_at[s]) {
      if (customer_of[s] != kNoCustomer &&
          customer_of[s] != bookings.customer_id[i]) {
        ++stats->conflicting_links;
      }
      customer_of[s] = bookings.customer_id[i];
      linked_at[s] = bookings.created_at[i];
    } else if (customer_of[s] != bookings.customer_id[i]) {
      ++stats->conflicting_links;
    }
  }

  // Counting sort of event rows by session id (stable: file order kept).
  std::vector<uint32_t> offsets(session_id_count + 1, 0);
  for (size_t i = 0; i < clicks.size(); ++i) {
    const uint32_t s = clicks.session[i];
    if (s >= session_id_count) {
      return absl::InvalidArgumentError(absl::StrCat(
          "click row ", i, " has session id ", s, " outside the pool of ",
          session_id_count));
    }
    if (clicks.event_time[i] > options.as_of) {
      ++stats->events_after_as_of;
      continue;
    }
    ++offsets[s + 1];
  }
  for (size_t s = 0; s < session_id_count; ++s) offsets[s + 1] += offsets[s];
  stats->events_used = offsets[session_id_count];
  const uint32_t used = offsets[session_id_count];
  // Split the session-id range into chunks of about equal event counts.
  const int threads = std::max(
      1, std::min<int>(options.threads, static_cast<int>(session_id_count)));
  std::vector<uint32_t> bounds{0};
  for (int t = 1; t < threads; ++t) {
    const uint64_t target = uint64_t{used} * static_cast<uint64_t>(t) / threads;
    const auto it = std::lower_bound(offsets.begin(), offsets.end(), target);
    bounds.push_back(std::max<uint32_t>(
        bounds.back(), static_cast<uint32_t>(it - offsets.begin())));
  }
  bounds.push_back(static_cast<uint32_t>(session_id_count));
  // Each worker scatters the events of its own session-id chunk, reading
  // the columns in file order so the order within a session_id is stable:
  // no locks, no shared writes. The buffer is left uninitialised; the
  // workers' writes are its first touch.
  const std::unique_ptr<Event[]> events(new Event[used]);
  const size_t rows = clicks.size();
  ParallelFor(threads, threads, [&](size_t t) {
    const uint32_t first = bounds[t], last = bounds[t + 1];
    std::vector<uint32_t> cursor(offsets.begin() + first,
                                 offsets.begin() + last);
    for (size_t i = 0; i < rows; ++i) {
      const uint32_t s = clicks.session[i];
      if (s < first || s >= last || clicks.event_time[i] > options.as_of) {
        continue;
      }
      events[cursor[s - first]++] = {clicks.event_time[i],
                                     static_cast<uint32_t>(i),
                                     clicks.event_type[i],
                                     clicks.traffic_source[i]};
    }
  });
  if (consumed != nullptr) {
    // Scattered: only event_id (for event_time ties) is read from here on.
    std::vector<uint32_t>().swap(consumed->session);
    std::vector<Micros>().swap(consumed->event_time);
    std::vector<EventType>().swap(consumed->event_type);
    std::vector<TrafficSource>().swap(consumed->traffic_source);
  }
  // Each worker sorts its chunk's runs, drops repeated rows and counts the
  // pieces, so that the output is sized once and every worker writes its
  // rows in place: no growing columns, no copy to join the chunks.
  const auto less = [&clicks](const Event& a, const Event& b) {
    if (a.time != b.time) return a.time < b.time;
    return clicks.event_id[a.row] < clicks.event_id[b.row];
  };
  std::vector<size_t> first_row(threads + 1, 0);
  std::vector<size_t> first_repeated(threads + 1, 0);
  // Per worker: the session ids that lost events, with their new end (an
  // index into `events`), in session id order.
  struct Trim {
    uint32_t session;
    uint32_t end;
  };
  std::vector<std::vector<Trim>> trims(threads);
  std::vector<Dropped> dropped(threads);
  ParallelFor(threads, threads, [&](size_t t) {
    size_t pieces = 0, repeated = 0;
    for (uint32_t s = bounds[t]; s < bounds[t + 1]; ++s) {
      Event* const begin = events.get() + offsets[s];
      Event* const end = events.get() + offsets[s + 1];
      if (begin == end) continue;
      std::sort(begin, end, less);
      // The pieces are counted in the pass that looks for events sharing a
      // time: only those can be copies. Dropping an event whose time equals
      // its predecessor's moves no cut, so the count holds after that; the
      // pieces holding a type more than once are counted again.
      PieceCounts c = CountPieces(begin, end, options.gap);
      pieces += c.pieces;
      if (c.shared_time) {
        Event* const kept_end =
            DropRepeats(begin, end, clicks.event_id, &dropped[t]);
        if (kept_end != end) {
          trims[t].push_back(
              {s, static_cast<uint32_t>(kept_end - events.get())});
          c = CountPieces(begin, kept_end, options.gap);
        }
      }
      repeated += c.repeated;
    }
    first_row[t + 1] = pieces;
    first_repeated[t + 1] = repeated;
  });
  std::vector<uint32_t> dropped_rows;
  for (const Dropped& d : dropped) {
    stats->duplicate_events += d.count;
    dropped_rows.insert(dropped_rows.end(), d.first_rows.begin(),
                        d.first_rows.end());
  }
  std::sort(dropped_rows.begin(), dropped_rows.end());
  if (dropped_rows.size() > FileReport::kMaxLinesPerReason) {
    dropped_rows.resize(FileReport::kMaxLinesPerReason);
  }
  for (uint32_t row : dropped_rows) {
    stats->duplicate_lines.push_back(clicks.LineOf(row));
  }
  for (int t = 0; t < threads; ++t) {
    first_row[t + 1] += first_row[t];
    first_repeated[t + 1] += first_repeated[t];
  }
  SessionTable out;
  ResizeColumns(first_row[threads], first_repeated[threads], threads, &out);
  std::vector<std::vector<SessionTable::MonthEndCut>> cuts(threads);
  std::vector<uint8_t> miscounted(threads, 0);
  ParallelFor(threads, threads, [&](size_t t) {
    size_t row = first_row[t];
    SessionTable::RepeatedTypes* repeat =
        out.repeated_types.data() + first_repeated[t];
    size_t trim = 0;
    const auto put = [&](uint32_t s, uint32_t piece, const Event* b,
                         const Event* e) {
      CutAtMonthEnds(row, b, e, &cuts[t]);
      PutSession(row++, s, piece, customer_of[s], b, e, &out, &repeat);
    };
    for (uint32_t s = bounds[t]; s < bounds[t + 1]; ++s) {
      const Event* const begin = events.get() + offsets[s];
      const Event* end = events.get() + offsets[s + 1];
      if (begin == end) continue;
      if (trim < trims[t].size() && trims[t][trim].session == s) {
        end = events.get() + trims[t][trim++].end;
      }
      uint32_t piece = 1;
      const Event* piece_begin = begin;
      ForEachCut(begin, end, options.gap, [&](const Event* cut) {
        put(s, piece++, piece_begin, cut);
        piece_begin = cut;
      });
      put(s, piece, piece_begin, end);
    }
    // CountPieces and PutSession apply one rule to the same events.
    miscounted[t] = repeat != out.repeated_types.data() + first_repeated[t + 1];
  });
  if (std::find(miscounted.begin(), miscounted.end(), 1) != miscounted.end()) {
    return absl::InternalError(
        "sessionize: sessions with a repeated event type miscounted");
  }
  // The workers' rows are consecutive ranges in worker order.
  for (const auto& c : cuts) {
    out.month_end_cuts.insert(out.month_end_cuts.end(), c.begin(), c.end());
  }

  stats->events_used -= stats->duplicate_events;
  for (size_t s = 0; s < session_id_count; ++s) {
    if (offsets[s + 1] > offsets[s]) ++stats->session_ids;
  }
  stats->sessions = static_cast<int64_t>(out.size());
  for (int64_t c : out.customer_id) stats->sessions_linked += c != kNoCustomer;
  return out;
}

}  // namespace

absl::StatusOr<SessionTable> Sessionize(const ClickTable& clicks,
                                        const BookingTable& bookings,
                                        size_t session_id_count,
                                        const SessionizeOptions& options,
                                        SessionizeStats* stats) {
  return SessionizeImpl(clicks, nullptr, bookings, session_id_count, options,
                        stats);
}

absl::StatusOr<SessionTable> Sessionize(ClickTable&& clicks,
                                        const BookingTable& bookings,
                                        size_t session_id_count,
                                        const SessionizeOptions& options,
                                        SessionizeStats* stats) {
  absl::StatusOr<SessionTable> out = SessionizeImpl(
      clicks, &clicks, bookings, session_id_count, options, stats);
  clicks = ClickTable();
  return out;
}

}  // namespace winback
