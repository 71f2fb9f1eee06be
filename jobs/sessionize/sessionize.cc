#include "jobs/sessionize/sessionize.h"

#include <algorithm>
#include <thread>

#include "absl/strings/str_cat.h"

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

void AppendSession(uint32_t session, uint32_t piece, int64_t customer,
                   const Event* begin, const Event* end, SessionTable* out) {
  std::array<uint32_t, kEventTypeCount> counts{};
  for (const Event* e = begin; e != end; ++e) {
    ++counts[static_cast<int>(e->type)];
  }
  out->session.push_back(session);
  out->piece.push_back(piece);
  out->customer_id.push_back(customer);
  out->start.push_back(begin->time);
  out->end.push_back((end - 1)->time);
  out->event_count.push_back(static_cast<uint32_t>(end - begin));
  out->type_counts.push_back(counts);
  out->traffic_source.push_back(begin->source);
  out->last_event.push_back((end - 1)->type);
  out->has_booking.push_back(
      counts[static_cast<int>(EventType::kBooking)] > 0 ? 1 : 0);
}

// Sessionizes the session ids [first, last), whose events (in file order)
// are events[offsets[s] .. offsets[s + 1]); sorts each run in place.
void SessionizeRange(const ClickTable& clicks,
                     const std::vector<uint32_t>& offsets,
                     std::vector<Event>& events,
                     const std::vector<int64_t>& customer_of, Micros gap,
                     uint32_t first, uint32_t last, SessionTable* out) {
  const auto less = [&clicks](const Event& a, const Event& b) {
    if (a.time != b.time) return a.time < b.time;
    return clicks.event_id[a.row] < clicks.event_id[b.row];
  };
  for (uint32_t s = first; s < last; ++s) {
    Event* const begin = events.data() + offsets[s];
    Event* const end = events.data() + offsets[s + 1];
    if (begin == end) continue;
    std::sort(begin, end, less);
    uint32_t piece = 1;
    const Event* piece_begin = begin;
    for (const Event* ev = begin + 1; ev < end; ++ev) {
      if (ev->time - (ev - 1)->time > gap) {
        AppendSession(s, piece++, customer_of[s], piece_begin, ev, out);
        piece_begin = ev;
      }
    }
    AppendSession(s, piece, customer_of[s], piece_begin, end, out);
  }
}

template <typename T>
void AppendColumn(std::vector<T>* dst, std::vector<T>* src) {
  dst->insert(dst->end(), src->begin(), src->end());
  std::vector<T>().swap(*src);
}

void AppendTable(SessionTable* dst, SessionTable* src) {
  AppendColumn(&dst->session, &src->session);
  AppendColumn(&dst->piece, &src->piece);
  AppendColumn(&dst->customer_id, &src->customer_id);
  AppendColumn(&dst->start, &src->start);
  AppendColumn(&dst->end, &src->end);
  AppendColumn(&dst->event_count, &src->event_count);
  AppendColumn(&dst->type_counts, &src->type_counts);
  AppendColumn(&dst->traffic_source, &src->traffic_source);
  AppendColumn(&dst->last_event, &src->last_event);
  AppendColumn(&dst->has_booking, &src->has_booking);
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
  // Each worker scatters the events of its own session-id chunk (reading
  // the columns in file order, so the order within a session_id is stable)
  // and then sessionizes that chunk: no locks, no shared writes.
  std::vector<Event> events(used);
  const size_t rows = clicks.size();
  auto scatter = [&](int t) {
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
  };
  std::vector<SessionTable> parts(threads);
  auto sessionize = [&](int t) {
    SessionizeRange(clicks, offsets, events, customer_of, options.gap,
                    bounds[t], bounds[t + 1], &parts[t]);
  };
  auto on_every_thread = [threads](const auto& fn) {
    std::vector<std::thread> workers;
    for (int t = 1; t < threads; ++t) workers.emplace_back(fn, t);
    fn(0);
    for (std::thread& w : workers) w.join();
  };
  on_every_thread(scatter);
  if (consumed != nullptr) {
    // Scattered: only event_id (for event_time ties) is read from here on.
    std::vector<uint32_t>().swap(consumed->session);
    std::vector<Micros>().swap(consumed->event_time);
    std::vector<EventType>().swap(consumed->event_type);
    std::vector<TrafficSource>().swap(consumed->traffic_source);
  }
  on_every_thread(sessionize);
  SessionTable out = std::move(parts[0]);
  for (int t = 1; t < threads; ++t) AppendTable(&out, &parts[t]);

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
