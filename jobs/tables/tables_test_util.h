// Test helpers shared by the stage tests that build tables in memory.
#ifndef WINBACK_JOBS_TABLES_TABLES_TEST_UTIL_H_
#define WINBACK_JOBS_TABLES_TABLES_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>

#include "jobs/common/time_util.h"
#include "jobs/tables/tables.h"

namespace winback::table_test {

// The time of an ISO-8601 UTC text such as "2022-06-01T00:00:00Z"; a text
// that does not parse fails the test and gives 0.
inline Micros At(const std::string& iso) {
  const std::optional<Micros> t = ParseTimestamp(iso);
  EXPECT_TRUE(t.has_value()) << iso;
  return t.value_or(0);
}

// One bookings row; what it leaves out is 0 (and it has no product lines).
struct TestBooking {
  int64_t customer = 0;
  Micros at = 0;
  int64_t total = 0;
  bool success = true;
  uint32_t promo_code = 0;  // id in BookingTable::promo_codes
  int64_t promo_amount = 0;
};

// Appends `b` to every column of `table`.
inline void AppendBooking(const TestBooking& b, BookingTable* table) {
  table->created_at.push_back(b.at);
  table->customer_id.push_back(b.customer);
  table->session.push_back(0);
  table->payment_method.push_back(0);
  table->success.push_back(b.success ? 1 : 0);
  table->promo_amount.push_back(b.promo_amount);
  table->promo_code.push_back(b.promo_code);
  table->shipment_fee.push_back(0);
  table->total_amount.push_back(b.total);
  table->line_begin.push_back(table->line_begin.back());
}

}  // namespace winback::table_test

#endif  // WINBACK_JOBS_TABLES_TABLES_TEST_UTIL_H_
