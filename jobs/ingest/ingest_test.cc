#include "jobs/ingest/ingest.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "jobs/ingest/csv.h"

namespace winback {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A UUID text whose value the tests know: see UuidOf.
std::string U(uint32_t n) {
  return absl::StrFormat("%08x-0000-4000-8000-%012x", n, n);
}
Uuid UuidOf(uint32_t n) {
  return Uuid{(uint64_t{n} << 32) | 0x4000, (uint64_t{0x8000} << 48) | n};
}

constexpr Micros kT0 = 1655398410033496;  // 2022-06-16T16:53:30.033496Z
constexpr char kT0Text[] = "2022-06-16T16:53:30.033496Z";

IngestOptions Lenient() {
  IngestOptions o;
  o.max_bad_row_share = 1.0;
  return o;
}

// The reasons of a report as "reason:count@line,line".
std::vector<std::string> Reasons(const std::vector<FileReport::Reason>& rs) {
  std::vector<std::string> out;
  for (const auto& r : rs) {
    out.push_back(absl::StrCat(r.reason, ":", r.count, "@",
                               absl::StrJoin(r.first_lines, ",")));
  }
  return out;
}

// ----------------------------------------------------------------- options

TEST(IngestOptions, ValidateNamesTheField) {
  IngestOptions o;
  EXPECT_TRUE(o.Validate().ok());
  o.threads = 0;
  EXPECT_THAT(o.Validate().message(), HasSubstr("threads"));
  o = IngestOptions();
  o.max_bad_row_share = 1.5;
  EXPECT_THAT(o.Validate().message(), HasSubstr("max_bad_row_share"));
}

// ---------------------------------------------------------------- customers

std::string CustomerText(const std::vector<std::string>& rows) {
  return absl::StrCat(kCustomerHeader, "\n", absl::StrJoin(rows, "\n"), "\n");
}

TEST(ParseCustomers, ReadsColumnsAndInternsLocations) {
  const std::string text = CustomerText({
      "5868,Ann,Lee,u1,ann@x.com,F,1990-05-17,Android,d1,Android 2.2.1,"
      "-6.2,106.8,Jakarta Raya,Indonesia,2019-08-23",
      "7,Bo,Ng,u2,bo@x.com,M,,iOS,d2,\"iPhone; CPU iPhone OS 14_2_1 like Mac "
      "OS X\",-7.1,110.4,Jawa Barat,Indonesia,2019-08-23",
      "9,Cy,Ho,u3,cy@x.com,,1990-05-17,,d3,v,,,Jakarta Raya,Indonesia,"
      "2019-08-23",
  });
  CustomerTable t;
  FileReport report;
  ASSERT_TRUE(
      ParseCustomers(text, "customer.csv", IngestOptions(), &t, &report).ok());
  ASSERT_EQ(t.size(), 3u);
  EXPECT_THAT(t.customer_id, ElementsAre(5868, 7, 9));
  EXPECT_THAT(t.gender,
              ElementsAre(Gender::kFemale, Gender::kMale, Gender::kUnknown));
  EXPECT_THAT(t.birthdate, ElementsAre(7441, kNoDate, 7441));  // 1990-05-17
  EXPECT_THAT(t.device_type, ElementsAre(DeviceType::kAndroid, DeviceType::kIos,
                                         DeviceType::kUnknown));
  EXPECT_THAT(t.home_location, ElementsAre(0u, 1u, 0u));
  EXPECT_EQ(t.locations.Get(1), "Jawa Barat");
  EXPECT_THAT(t.first_join_date,
              ElementsAre(18131, 18131, 18131));  // 2019-08-23
  EXPECT_EQ(t.row_of.at(7), 1u);
  EXPECT_EQ(report.file, "customer.csv");
  EXPECT_EQ(report.rows_read, 3);
  EXPECT_EQ(report.rows_rejected, 0);
}

TEST(ParseCustomers, RejectsBadRowsWithReasons) {
  const std::string good_tail =
      ",d,v,-6.2,106.8,Jakarta Raya,Indonesia,2019-08-23";
  const std::string text = CustomerText({
      "1,A,B,u,e,F,1990-05-17,Android" + good_tail,   // line 2: good
      "x1,A,B,u,e,F,1990-05-17,Android" + good_tail,  // 3: bad_id
      "2,A,B,u,e,X,1990-05-17,Android" + good_tail,   // 4: bad_value gender
      "3,A,B,u,e,F,1990-02-30,Android" + good_tail,   // 5: bad_date
      "1,A,B,u,e,M,1990-05-17,iOS" + good_tail,       // 6: duplicate_id
      "4,A,B,u,e,F,1990-05-17,Android,d,v,-6.2,106.8,Jakarta Raya,Indonesia,",
      "5,A,B,u,e,F,1990-05-17,Android,d,v",          // 8: short
      "6,A,B,u,e,F,1990-05-17,Windows" + good_tail,  // 9: bad_value device
      "7,A,B,u,e,F,1990-05-17,iOS,d,v,north,106.8,Jakarta Raya,Indonesia,"
      "2019-08-23",  // 10: bad_value lat
  });
  CustomerTable t;
  FileReport report;
  ASSERT_TRUE(
      ParseCustomers(text, "customer.csv", Lenient(), &t, &report).ok());
  EXPECT_THAT(t.customer_id, ElementsAre(1));
  EXPECT_EQ(report.rows_read, 9);
  EXPECT_EQ(report.rows_rejected, 8);
  EXPECT_THAT(Reasons(report.rejects),
              ElementsAre("bad_date:2@5,7", "bad_id:1@3", "bad_value:3@4,9,10",
                          "duplicate_id:1@6", "wrong_field_count:1@8"));
}

// GetCustomer looks up positive ids only, and -1 means "no customer" to
// the later stages: 0 and negative ids are bad_id, in both files that name
// a customer.
TEST(ParseCustomers, NonPositiveIdIsBadId) {
  const std::string tail =
      ",A,B,u,e,F,1990-05-17,Android,d,v,-6.2,106.8,Jakarta Raya,Indonesia,"
      "2019-08-23";
  const std::string text = CustomerText({
      "1" + tail,                     // line 2: kept
      "0" + tail,                     // 3
      "-1" + tail,                    // 4
      "-9223372036854775808" + tail,  // 5
      "-0" + tail,                    // 6
      "9223372036854775807" + tail,   // 7: kept
  });
  CustomerTable t;
  FileReport report;
  ASSERT_TRUE(
      ParseCustomers(text, "customer.csv", Lenient(), &t, &report).ok());
  EXPECT_THAT(t.customer_id, ElementsAre(1, INT64_MAX));
  EXPECT_THAT(Reasons(report.rejects), ElementsAre("bad_id:4@3,4,5,6"));
}

// Coordinates must be a place: nan, inf and values past the poles or the
// antimeridian are bad_value; the bounds themselves and an empty value (a
// customer without a known home) are kept.
TEST(ParseCustomers, RejectsCoordinatesThatAreNoPlace) {
  const std::vector<std::pair<std::string, std::string>> lat_long = {
      {"90", "180"},       // line 2: kept
      {"-90", "-180"},     // 3: kept
      {"", ""},            // 4: kept
      {"-6.2", ""},        // 5: kept
      {"nan", "106.8"},    // 6
      {"-6.2", "inf"},     // 7
      {"-inf", "106.8"},   // 8
      {"NaN", "106.8"},    // 9
      {"90.000001", "1"},  // 10
      {"-90.5", "1"},      // 11
      {"1", "180.5"},      // 12
      {"1", "-181"},       // 13
      {"infinity", "1"},   // 14
      {"1e3", "1"},        // 15
      {"-6.2", "-nan"},    // 16
      {"-6.2", "106.8"},   // 17: kept
  };
  std::vector<std::string> rows;
  for (size_t i = 0; i < lat_long.size(); ++i) {
    rows.push_back(absl::StrCat(i + 1, ",A,B,u,e,F,1990-05-17,Android,d,v,",
                                lat_long[i].first, ",", lat_long[i].second,
                                ",Jakarta Raya,Indonesia,2019-08-23"));
  }
  CustomerTable t;
  FileReport report;
  ASSERT_TRUE(
      ParseCustomers(CustomerText(rows), "customer.csv", Lenient(), &t, &report)
          .ok());
  EXPECT_THAT(t.customer_id, ElementsAre(1, 2, 3, 4, 16));
  EXPECT_EQ(report.rows_read, 16);
  EXPECT_EQ(report.rows_rejected, 11);
  ASSERT_EQ(report.rejects.size(), 1u);
  EXPECT_EQ(report.rejects[0].reason, "bad_value");
  EXPECT_EQ(report.rejects[0].count, 11);
  EXPECT_THAT(report.rejects[0].first_lines, ElementsAre(6, 7, 8, 9, 10));
}

// Blank lines (an editor's trailing ones, a "\r" left by CRLF) are no rows:
// not read, not rejected, but later rows keep their file line numbers.
TEST(ParseCustomers, SkipsBlankLinesKeepingLineNumbers) {
  const std::string good_tail =
      ",d,v,-6.2,106.8,Jakarta Raya,Indonesia,2019-08-23";
  const std::string text = CustomerText({
      "1,A,B,u,e,F,1990-05-17,Android" + good_tail,   // line 2
      "",                                             // 3
      "\r",                                           // 4
      "x2,A,B,u,e,F,1990-05-17,Android" + good_tail,  // 5: bad_id
      "3,A,B,u,e,F,1990-05-17,Android" + good_tail,   // 6
      "",                                             // 7
      "",                                             // 8
  });
  CustomerTable t;
  FileReport report;
  ASSERT_TRUE(
      ParseCustomers(text, "customer.csv", Lenient(), &t, &report).ok());
  EXPECT_THAT(t.customer_id, ElementsAre(1, 3));
  EXPECT_EQ(report.rows_read, 3);
  EXPECT_EQ(report.rows_rejected, 1);
  EXPECT_THAT(Reasons(report.rejects), ElementsAre("bad_id:1@5"));
}

// ----------------------------------------------------------------- products

std::string ProductText(const std::vector<std::string>& rows) {
  return absl::StrCat(kProductHeader, "\n", absl::StrJoin(rows, "\n"), "\n");
}

TEST(ParseProducts, ReadsColumnsWithEmptyAsIdZero) {
  const std::string text = ProductText({
      "15970,Men,Apparel,Topwear,Shirts,Navy Blue,Fall,2011,Casual,Turtle "
      "Check Men Navy Blue Shirt",
      "39386,Men,Apparel,Bottomwear,Jeans,,Summer,,Casual,",
      "2,Women,Apparel,Topwear,Tops,Red,Summer,2012,Casual,\"Quoted, name\"",
  });
  ProductTable t;
  FileReport report;
  ASSERT_TRUE(
      ParseProducts(text, "product.csv", IngestOptions(), &t, &report).ok());
  ASSERT_EQ(t.size(), 3u);
  EXPECT_THAT(t.product_id, ElementsAre(15970, 39386, 2));
  EXPECT_EQ(t.values.Get(0), "");
  EXPECT_EQ(t.names.Get(0), "");
  EXPECT_EQ(t.values.Get(t.base_colour[0]), "Navy Blue");
  EXPECT_EQ(t.base_colour[1], 0u);
  EXPECT_EQ(t.values.Get(t.gender[2]), "Women");
  EXPECT_THAT(t.year, ElementsAre(2011, 0, 2012));
  EXPECT_EQ(t.names.Get(t.display_name[0]), "Turtle Check Men Navy Blue Shirt");
  EXPECT_EQ(t.display_name[1], 0u);
  EXPECT_EQ(t.names.Get(t.display_name[2]), "Quoted, name");
  EXPECT_EQ(report.rows_repaired, 0);  // a quoted comma needs no repair
}

TEST(ParseProducts, RejoinsUnquotedCommasInTheName) {
  const std::string text = ProductText({
      "9036,Men,Personal Care,Fragrance,Perfume and Body Mist,,Winter,2015,"
      "Casual,Boss Men Perfume, After Shave Balm and Shower Gel Set",  // 11
      "1,Women,Apparel,Topwear,Tops,Red,Summer,2012,Casual,A, B,C",    // 12
      "3,Women,Apparel,Topwear,Tops,Red,Summer,2012,Casual,Plain",
  });
  ProductTable t;
  FileReport report;
  ASSERT_TRUE(
      ParseProducts(text, "product.csv", IngestOptions(), &t, &report).ok());
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t.names.Get(t.display_name[0]),
            "Boss Men Perfume, After Shave Balm and Shower Gel Set");
  EXPECT_EQ(t.names.Get(t.display_name[1]), "A, B,C");
  EXPECT_EQ(t.values.Get(t.usage[0]), "Casual");
  EXPECT_THAT(t.year, ElementsAre(2015, 2012, 2012));
  EXPECT_EQ(report.rows_repaired, 2);
  EXPECT_EQ(report.rows_rejected, 0);
  EXPECT_THAT(Reasons(report.repairs),
              ElementsAre("joined_product_name:2@2,3"));
}

TEST(ParseProducts, RejectsBadRows) {
  const std::string text = ProductText({
      "x,Men,Apparel,Topwear,Shirts,Blue,Fall,2011,Casual,N",  // 2 bad_id
      "5,Men,Apparel,Topwear,Shirts,Blue,Fall,20x1,Casual,N",  // 3 bad_value
      "6,Men,Apparel,Topwear,Shirts,Blue,Fall,2011,Casual",    // 4 short
      "7,Men,Apparel,Topwear,Shirts,Blue,Fall,2011,Casual,N",  // 5 good
      "7,Men,Apparel,Topwear,Shirts,Blue,Fall,2011,Casual,M",  // 6 duplicate
  });
  ProductTable t;
  FileReport report;
  ASSERT_TRUE(ParseProducts(text, "product.csv", Lenient(), &t, &report).ok());
  EXPECT_THAT(t.product_id, ElementsAre(7));
  EXPECT_THAT(Reasons(report.rejects),
              ElementsAre("bad_id:1@2", "bad_value:1@3", "duplicate_id:1@6",
                          "wrong_field_count:1@4"));
}

// Product ids are positive as customer ids are: 0 and negative ids are
// bad_id, and such a row does not claim its id.
TEST(ParseProducts, NonPositiveIdIsBadId) {
  const std::string tail =
      ",Men,Apparel,Topwear,Shirts,Blue,Fall,2011,Casual,N";
  const std::string text = ProductText({
      "1" + tail,                     // line 2: kept
      "0" + tail,                     // 3
      "-1" + tail,                    // 4
      "-9223372036854775808" + tail,  // 5
      "-0" + tail,                    // 6
      "9223372036854775807" + tail,   // 7: kept
      "0" + tail,                     // 8: bad_id again, not duplicate_id
  });
  ProductTable t;
  FileReport report;
  ASSERT_TRUE(ParseProducts(text, "product.csv", Lenient(), &t, &report).ok());
  EXPECT_THAT(t.product_id, ElementsAre(1, INT64_MAX));
  EXPECT_EQ(report.rows_rejected, 5);
  EXPECT_THAT(Reasons(report.rejects), ElementsAre("bad_id:5@3,4,5,6,8"));
}

// ----------------------------------------------------------------- bookings

std::string Booking(const std::string& created, const std::string& customer,
                    const std::string& session, const std::string& metadata,
                    const std::string& method, const std::string& status,
                    const std::string& promo_amount,
                    const std::string& promo_code, const std::string& fee,
                    const std::string& total) {
  static uint32_t booking_id = 1000;  // a new id for every row
  return absl::StrCat(created, ",", customer, ",", U(booking_id++), ",",
                      session, ",\"", metadata, "\",", method, ",", status, ",",
                      promo_amount, ",", promo_code, ",", fee,
                      ",2022-06-18T07:43:39.033496Z,-6.2088,106.8456,", total);
}

std::string BookingText(const std::vector<std::string>& rows) {
  return absl::StrCat(kTransactionHeader, "\n", absl::StrJoin(rows, "\n"),
                      "\n");
}

constexpr char kTwoItems[] =
    "[{'product_id': 54728, 'quantity': 1, 'item_price': 191247}, "
    "{'product_id': 16193, 'quantity': 2, 'item_price': 155526}]";
constexpr char kOneItem[] =
    "[{'product_id': 7, 'quantity': 3, 'item_price': 1000}]";

TEST(ParseBookings, ReadsColumnsAndProductLines) {
  const std::string text = BookingText({
      Booking(kT0Text, "5868", U(1), kTwoItems, "Gopay", "Success", "0", "",
              "10000", "512299"),
      // total_amount disagrees with the lines: kept as written.
      Booking("2022-07-31T23:59:59.999999Z", "12", U(2), kOneItem,
              "Credit Card", "Failed", "500", "WEEKENDSERU", "0", "999"),
  });
  StringPool sessions;
  BookingTable t;
  FileReport report;
  ASSERT_TRUE(ParseBookings(text, "transactions.csv", IngestOptions(),
                            &sessions, &t, &report)
                  .ok());
  ASSERT_EQ(t.size(), 2u);
  EXPECT_THAT(t.created_at, ElementsAre(kT0, 1659311999999999));
  EXPECT_THAT(t.customer_id, ElementsAre(5868, 12));
  EXPECT_THAT(t.session, ElementsAre(0u, 1u));
  EXPECT_EQ(sessions.Get(1), U(2));
  EXPECT_EQ(t.payment_methods.Get(t.payment_method[1]), "Credit Card");
  EXPECT_THAT(t.success, ElementsAre(1, 0));
  EXPECT_THAT(t.promo_amount, ElementsAre(0, 500));
  EXPECT_EQ(t.promo_codes.Get(0), "");
  EXPECT_THAT(t.promo_code, ElementsAre(0u, 1u));
  EXPECT_EQ(t.promo_codes.Get(1), "WEEKENDSERU");
  EXPECT_THAT(t.shipment_fee, ElementsAre(10000, 0));
  EXPECT_THAT(t.total_amount, ElementsAre(512299, 999));
  EXPECT_THAT(t.line_begin, ElementsAre(0u, 2u, 3u));
  EXPECT_THAT(t.line_product_id, ElementsAre(54728, 16193, 7));
  EXPECT_THAT(t.line_quantity, ElementsAre(1, 2, 3));
  EXPECT_THAT(t.line_item_price, ElementsAre(191247, 155526, 1000));
}

TEST(ParseBookings, RejectsBadRowsWithReasons) {
  const std::string text = BookingText({
      Booking(kT0Text, "1", U(1), kOneItem, "OVO", "Success", "0", "", "0",
              "3000"),  // 2
      Booking("2022-06-16 16:53", "1", U(2), kOneItem, "OVO", "Success", "0",
              "", "0", "3000"),  // 3
      Booking(kT0Text, "abc", U(3), kOneItem, "OVO", "Success", "0", "", "0",
              "3000"),  // 4
      Booking(kT0Text, "1", "not-a-uuid", kOneItem, "OVO", "Success", "0", "",
              "0", "3000"),  // 5
      Booking(kT0Text, "1", U(4), "[{'product_id': 7, 'quantity': 3}]", "OVO",
              "Success", "0", "", "0", "3000"),  // 6
      Booking(kT0Text, "1", U(5), "[{'product_id': 7, 'quantity': 3", "OVO",
              "Success", "0", "", "0", "3000"),  // 7
      Booking(kT0Text, "1", U(6), kOneItem, "OVO", "Pending", "0", "", "0",
              "3000"),  // 8
      Booking(kT0Text, "1", U(7), kOneItem, "OVO", "Success", "0", "", "0",
              "3000.5"),                  // 9
      "2022-06-16T16:53:30.033496Z,1,x",  // 10
  });
  StringPool sessions;
  BookingTable t;
  FileReport report;
  ASSERT_TRUE(
      ParseBookings(text, "transactions.csv", Lenient(), &sessions, &t, &report)
          .ok());
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(sessions.size(), 1u);  // rejected rows intern nothing
  EXPECT_THAT(t.line_begin, ElementsAre(0u, 1u));
  EXPECT_THAT(
      Reasons(report.rejects),
      ElementsAre("bad_id:2@4,5", "bad_metadata:2@6,7", "bad_timestamp:1@3",
                  "bad_value:2@8,9", "wrong_field_count:1@10"));
}

TEST(ParseBookings, NonPositiveCustomerIdIsBadId) {
  std::vector<std::string> rows;
  for (const char* customer : {"1", "0", "-1", "-77", "5"}) {  // lines 2-6
    rows.push_back(Booking(kT0Text, customer, U(rows.size() + 1), kOneItem,
                           "OVO", "Success", "0", "", "0", "3000"));
  }
  StringPool sessions;
  BookingTable t;
  FileReport report;
  ASSERT_TRUE(ParseBookings(BookingText(rows), "transactions.csv", Lenient(),
                            &sessions, &t, &report)
                  .ok());
  EXPECT_THAT(t.customer_id, ElementsAre(1, 5));
  EXPECT_THAT(Reasons(report.rejects), ElementsAre("bad_id:3@3,4,5"));
  EXPECT_EQ(sessions.size(), 2u);  // rejected rows pool no session id
}

// An item's product_id, like product.csv's id, is positive: an item with 0
// or less makes its booking bad_metadata, as a quantity below 1 or a
// negative item_price does, whether the list is in the export's own form
// (read by the fast path) or not (read by the Literal parser), and whichever
// item of the list it is.
TEST(ParseBookings, NonPositiveItemProductIdIsBadMetadata) {
  const std::vector<std::string> metadata = {
      "[{'product_id': 1, 'quantity': 1, 'item_price': 1000}]",  // line 2: kept
      "[{'product_id': 0, 'quantity': 1, 'item_price': 1000}]",  // 3
      "[{'product_id': -5, 'quantity': 1, 'item_price': 1000}]",  // 4
      "[{'product_id': 7, 'quantity': 1, 'item_price': 1000}, "
      "{'product_id': 0, 'quantity': 1, 'item_price': 1000}]",   // 5
      "[{'quantity': 1, 'product_id': 0, 'item_price': 1000}]",  // 6
      "[{'product_id':-1,'quantity':1,'item_price':1000}]",      // 7
      "[{'quantity': 2, 'item_price': 5, 'product_id': 3}]",     // 8: kept
  };
  std::vector<std::string> rows;
  for (size_t i = 0; i < metadata.size(); ++i) {
    rows.push_back(Booking(kT0Text, absl::StrCat(i + 1), U(200 + i),
                           metadata[i], "OVO", "Success", "0", "", "0",
                           "3000"));
  }
  StringPool sessions;
  BookingTable t;
  FileReport report;
  ASSERT_TRUE(ParseBookings(BookingText(rows), "transactions.csv", Lenient(),
                            &sessions, &t, &report)
                  .ok());
  EXPECT_THAT(t.customer_id, ElementsAre(1, 7));
  EXPECT_THAT(t.line_product_id, ElementsAre(1, 3));
  EXPECT_THAT(Reasons(report.rejects), ElementsAre("bad_metadata:5@3,4,5,6,7"));
}

TEST(ParseBookings, RejectsShipmentCoordinatesThatAreNoPlace) {
  const std::vector<std::pair<std::string, std::string>> lat_long = {
      {"90", "180"},            // line 2: kept
      {"-90", "-180"},          // 3: kept
      {"nan", "106.8"},         // 4
      {"-6.2", "inf"},          // 5
      {"-inf", "106.8"},        // 6
      {"-6.2", "-180.000001"},  // 7
      {"91", "106.8"},          // 8
      {"", "106.8"},            // 9: a shipment has a destination
  };
  std::vector<std::string> rows;
  for (size_t i = 0; i < lat_long.size(); ++i) {
    std::string row = Booking(kT0Text, absl::StrCat(i + 1), U(100 + i),
                              kOneItem, "OVO", "Success", "0", "", "0", "3000");
    const std::string written = ",-6.2088,106.8456,";
    const size_t at = row.find(written);
    EXPECT_NE(at, std::string::npos);
    row.replace(
        at, written.size(),
        absl::StrCat(",", lat_long[i].first, ",", lat_long[i].second, ","));
    rows.push_back(row);
  }
  StringPool sessions;
  BookingTable t;
  FileReport report;
  ASSERT_TRUE(ParseBookings(BookingText(rows), "transactions.csv", Lenient(),
                            &sessions, &t, &report)
                  .ok());
  EXPECT_THAT(t.customer_id, ElementsAre(1, 2));
  EXPECT_THAT(Reasons(report.rejects), ElementsAre("bad_value:6@4,5,6,7,8"));
}

// The same order twice (a line exported twice, or its booking id again in
// any case) would count its revenue twice: the later row is duplicate_id,
// and a rejected row does not claim its id.
TEST(ParseBookings, RepeatedBookingIdIsDuplicate) {
  std::string first = Booking(kT0Text, "1", U(1), kOneItem, "OVO", "Success",
                              "0", "", "0", "3000");
  const size_t id_at = first.find(',', first.find(',') + 1) + 1;
  first.replace(id_at, 36, U(0xabcdef));
  std::string upper = first;
  for (size_t i = id_at; i < id_at + 36; ++i) {
    upper[i] = static_cast<char>(std::toupper(upper[i]));
  }
  ASSERT_NE(upper, first);
  std::string bad = first;  // the same id on a row rejected for its status
  bad.replace(bad.find("Success"), 7, "Pending");
  const std::string other = Booking(kT0Text, "2", U(2), kOneItem, "OVO",
                                    "Success", "0", "", "0", "3000");
  const std::string text =
      BookingText({bad, first, other, first, upper});  // lines 2-6
  StringPool sessions;
  BookingTable t;
  FileReport report;
  ASSERT_TRUE(
      ParseBookings(text, "transactions.csv", Lenient(), &sessions, &t, &report)
          .ok());
  EXPECT_THAT(t.customer_id, ElementsAre(1, 2));
  EXPECT_THAT(Reasons(report.rejects),
              ElementsAre("bad_value:1@2", "duplicate_id:2@5,6"));
}

// ------------------------------------------------------------------- clicks

std::string Click(const std::string& session, const std::string& name,
                  const std::string& time, const std::string& event_id,
                  const std::string& source, const std::string& metadata) {
  std::string meta(metadata);
  if (meta.find(',') != std::string::npos)
    meta = absl::StrCat("\"", meta, "\"");
  return absl::StrCat(session, ",", name, ",", time, ",", event_id, ",", source,
                      ",", meta);
}

std::string ClickText(const std::vector<std::string>& rows,
                      const std::string& eol = "\n") {
  return absl::StrCat(kClickHeader, eol, absl::StrJoin(rows, eol), eol);
}

TEST(ParseClicks, ReadsColumnsOfEveryEventType) {
  const std::string text = ClickText({
      Click(U(1), "HOMEPAGE", kT0Text, U(101), "MOBILE", ""),
      Click(U(2), "ADD_TO_CART", "2016-02-29T00:00:00.000001Z", U(102), "WEB",
            "{'product_id': 15315, 'quantity': 4, 'item_price': 313529}"),
      Click(U(1), "SEARCH", kT0Text, U(103), "MOBILE",
            "{'search_keywords': 'Dress Kondangan'}"),
      Click(U(1), "BOOKING", kT0Text, U(104), "MOBILE",
            "{'payment_status': 'Success'}"),
      Click(U(1), "ADD_PROMO", kT0Text, U(105), "MOBILE",
            "{'promo_code': 'WEEKENDSERU', 'promo_amount': 3640}"),
      Click(U(3), "PROMO_PAGE", kT0Text, U(106), "MOBILE", ""),
      Click(U(3), "CLICK", kT0Text, U(107), "MOBILE", ""),
      Click(U(3), "SCROLL", kT0Text, U(108), "MOBILE", ""),
      Click(U(3), "ITEM_DETAIL", kT0Text, U(109), "MOBILE", "{'any': True}"),
  });
  StringPool sessions;
  ClickTable t;
  FileReport report;
  ASSERT_TRUE(ParseClicks(text, "click_stream.csv", IngestOptions(), &sessions,
                          &t, &report)
                  .ok());
  ASSERT_EQ(t.size(), 9u);
  EXPECT_EQ(report.rows_rejected, 0);
  EXPECT_THAT(t.session, ElementsAre(0u, 1u, 0u, 0u, 0u, 2u, 2u, 2u, 2u));
  EXPECT_EQ(sessions.Get(2), U(3));
  EXPECT_EQ(t.event_time[0], kT0);
  EXPECT_EQ(t.event_time[1], 1456704000000001);  // 2016-02-29T00:00:00.000001Z
  EXPECT_EQ(t.event_id[4], UuidOf(105));
  EXPECT_THAT(
      t.event_type,
      ElementsAre(EventType::kHomepage, EventType::kAddToCart,
                  EventType::kSearch, EventType::kBooking, EventType::kAddPromo,
                  EventType::kPromoPage, EventType::kClick, EventType::kScroll,
                  EventType::kItemDetail));
  EXPECT_EQ(t.traffic_source[1], TrafficSource::kWeb);
  EXPECT_EQ(t.traffic_source[0], TrafficSource::kMobile);
}

TEST(ParseClicks, RejectsEachBadRowKind) {
  const std::string text = ClickText({
      Click(U(1), "HOMEPAGE", kT0Text, U(101), "MOBILE", ""),  // 2 good
      absl::StrCat(U(1), ",HOMEPAGE,", kT0Text, ",", U(102), ",MOBILE"),  // 3
      Click(U(1), "HOMEPAGE", "2022-06-16T25:00:00.000000Z", U(103), "MOBILE",
            ""),  // 4
      Click(U(1), "ADD_TO_CART", kT0Text, U(104), "MOBILE",
            "{'product_id': 1, 'quantity': 4}"),  // 5
      Click(U(1), "SEARCH", kT0Text, U(105), "MOBILE",
            "{'search_keywords': 'unterminated}"),                 // 6
      Click("12345", "HOMEPAGE", kT0Text, U(106), "MOBILE", ""),   // 7
      Click(U(1), "CHECKOUT", kT0Text, U(107), "MOBILE", ""),      // 8
      Click(U(1), "HOMEPAGE", kT0Text, "0000-bad", "MOBILE", ""),  // 9
      Click(U(1), "HOMEPAGE", kT0Text, U(110), "TABLET", ""),      // 10
      Click(U(1), "CLICK", kT0Text, U(111), "MOBILE", "{'a': "),   // 11
      Click(U(1), "BOOKING", kT0Text, U(112), "MOBILE", ""),       // 12
      // The first problem wins: bad time before bad event id.
      Click(U(1), "HOMEPAGE", "yesterday", "nope", "MOBILE", ""),  // 13
  });
  StringPool sessions;
  ClickTable t;
  FileReport report;
  ASSERT_TRUE(
      ParseClicks(text, "click_stream.csv", Lenient(), &sessions, &t, &report)
          .ok());
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(report.rows_read, 12);
  EXPECT_EQ(report.rows_rejected, 11);
  EXPECT_THAT(Reasons(report.rejects),
              ElementsAre("bad_id:2@7,9", "bad_metadata:4@5,6,11,12",
                          "bad_timestamp:2@4,13", "bad_value:2@8,10",
                          "wrong_field_count:1@3"));
}

TEST(ParseClicks, AcceptsCrLfAndQuotedFields) {
  const std::string text = ClickText(
      {
          Click(U(1), "ADD_TO_CART", kT0Text, U(101), "MOBILE",
                "{'product_id': 1, 'quantity': 4, 'item_price': 9}"),
          // A doubled quote inside a quoted field.
          absl::StrCat(U(1), ",SEARCH,", kT0Text, ",", U(102),
                       ",MOBILE,\"{'search_keywords': \"\"Men's, shoes\"\"}\""),
          Click(U(1), "HOMEPAGE", kT0Text, U(103), "MOBILE", ""),
      },
      "\r\n");
  StringPool sessions;
  ClickTable t;
  FileReport report;
  ASSERT_TRUE(ParseClicks(text, "click_stream.csv", IngestOptions(), &sessions,
                          &t, &report)
                  .ok());
  EXPECT_EQ(t.size(), 3u);
  EXPECT_EQ(report.rows_rejected, 0);
  EXPECT_EQ(t.traffic_source[2], TrafficSource::kMobile);  // no '\r' left
}

TEST(ParseClicks, ThrowsNoRowsAwayWithoutFinalLineEnd) {
  const std::string text =
      absl::StrCat(kClickHeader, "\n",
                   Click(U(1), "HOMEPAGE", kT0Text, U(101), "MOBILE", ""));
  for (int threads : {1, 2, 3}) {
    IngestOptions o;
    o.threads = threads;
    StringPool sessions;
    ClickTable t;
    FileReport report;
    ASSERT_TRUE(
        ParseClicks(text, "click_stream.csv", o, &sessions, &t, &report).ok());
    EXPECT_EQ(t.size(), 1u);
    EXPECT_EQ(report.rows_read, 1);
  }
}

TEST(ParseClicks, SkipsBlankLinesKeepingLineNumbersOnAnyThreadCount) {
  const std::string good =
      Click(U(1), "HOMEPAGE", kT0Text, U(101), "MOBILE", "");
  const std::string bad = Click(U(1), "NAP", kT0Text, U(102), "MOBILE", "");
  // Lines: 2 good, 3 blank, 4 good, 5 "\r", 6 bad, 7 good, 8-9 blank.
  const std::string text = absl::StrCat(kClickHeader, "\n", good, "\n\n", good,
                                        "\n\r\n", bad, "\n", good, "\n\n\n");
  for (int threads : {1, 2, 3}) {
    IngestOptions o = Lenient();
    o.threads = threads;
    StringPool sessions;
    ClickTable t;
    FileReport report;
    ASSERT_TRUE(
        ParseClicks(text, "click_stream.csv", o, &sessions, &t, &report).ok());
    EXPECT_EQ(t.size(), 3u) << threads;
    EXPECT_EQ(report.rows_read, 4) << threads;
    EXPECT_EQ(report.rows_rejected, 1) << threads;
    EXPECT_THAT(Reasons(report.rejects), ElementsAre("bad_value:1@6"))
        << threads;
  }
}

// A year typed wrong (0000, 2099, 9999) parses, but no export holds such
// an event: left in, it would become the default as-of time or add
// centuries of empty months. Bookings and clicks reject it as
// bad_timestamp; the bounds themselves are kept.
TEST(EventTimes, OutsideTheRangeAreBadTimestamps) {
  IngestOptions o = Lenient();
  o.latest_event_time = kT0;
  const std::vector<std::string> times = {
      "1999-12-31T23:59:59.999999Z",  // line 2: just before 2000
      "2000-01-01T00:00:00.000000Z",  // 3: the earliest kept
      kT0Text,                        // 4: the latest kept
      "2022-06-16T16:53:30.033497Z",  // 5: 1 us past latest_event_time
      "0000-01-01T00:00:00.000000Z",  // 6
      "9999-12-31T23:59:59.999999Z",  // 7
  };
  std::vector<std::string> bookings, clicks;
  for (size_t i = 0; i < times.size(); ++i) {
    bookings.push_back(Booking(times[i], "1", U(static_cast<uint32_t>(i + 1)),
                               kOneItem, "OVO", "Success", "0", "", "0",
                               "3000"));
    clicks.push_back(Click(U(1), "HOMEPAGE", times[i],
                           U(static_cast<uint32_t>(100 + i)), "MOBILE", ""));
  }
  StringPool sessions;
  BookingTable b;
  FileReport report;
  ASSERT_TRUE(ParseBookings(BookingText(bookings), "transactions.csv", o,
                            &sessions, &b, &report)
                  .ok());
  EXPECT_THAT(b.created_at, ElementsAre(946'684'800'000'000, kT0));
  EXPECT_THAT(Reasons(report.rejects), ElementsAre("bad_timestamp:4@2,5,6,7"));
  for (int threads : {1, 2}) {
    o.threads = threads;
    ClickTable c;
    ASSERT_TRUE(ParseClicks(ClickText(clicks), "click_stream.csv", o, &sessions,
                            &c, &report)
                    .ok());
    EXPECT_THAT(c.event_time, ElementsAre(946'684'800'000'000, kT0));
    EXPECT_THAT(Reasons(report.rejects),
                ElementsAre("bad_timestamp:4@2,5,6,7"));
  }
}

// Twelve rows of equal length, so that n threads get 12 / n rows each; bad
// rows sit at data rows 2, 6, 7 and 11 (lines 3, 7, 8 and 12), which puts
// one or more in every chunk for 2 and 3 threads.
std::string EqualRowsText() {
  std::vector<std::string> rows;
  for (int i = 1; i <= 12; ++i) {
    const uint32_t session = i % 2 == 0 ? 1 : 2;
    std::string row =
        Click(U(session), "HOMEPAGE", kT0Text, U(100 + i), "MOBILE", "");
    if (i == 2)
      row = Click(U(session), "HOMEPAGX", kT0Text, U(100 + i), "MOBILE", "");
    if (i == 6)
      row = Click(U(session), "HOMEPAGE", "2022-13-16T16:53:30.033496Z",
                  U(100 + i), "MOBILE", "");
    if (i == 7)
      row = Click("g" + U(session).substr(1), "HOMEPAGE", kT0Text, U(100 + i),
                  "MOBILE", "");
    if (i == 11)
      row = Click(U(session), "HOMEPAGE", kT0Text, U(100 + i), "MOBILX", "");
    rows.push_back(row);
  }
  return ClickText(rows);
}

TEST(ParseClicks, LineNumbersAreExactAcrossThreads) {
  const std::string text = EqualRowsText();
  // The fixture really splits as the comment says.
  const std::string_view body =
      std::string_view(text).substr(sizeof(kClickHeader));
  for (int n : {2, 3}) {
    for (std::string_view piece : ingest_internal::SplitAtLines(body, n)) {
      EXPECT_EQ(std::count(piece.begin(), piece.end(), '\n'), 12 / n);
    }
  }
  for (int threads : {1, 2, 3, 5, 16}) {
    SCOPED_TRACE(threads);
    IngestOptions o = Lenient();
    o.threads = threads;
    StringPool sessions;
    ClickTable t;
    FileReport report;
    ASSERT_TRUE(
        ParseClicks(text, "click_stream.csv", o, &sessions, &t, &report).ok());
    EXPECT_EQ(report.rows_read, 12);
    EXPECT_EQ(report.rows_rejected, 4);
    EXPECT_THAT(
        Reasons(report.rejects),
        ElementsAre("bad_id:1@8", "bad_timestamp:1@7", "bad_value:2@3,12"));
    // Rows 1, 3, 4, 5, 8, 9, 10, 12 in file order; session 2 appears first.
    ASSERT_EQ(t.size(), 8u);
    EXPECT_THAT(t.session, ElementsAre(0u, 0u, 1u, 0u, 1u, 0u, 1u, 1u));
    EXPECT_EQ(sessions.Get(0), U(2));
    EXPECT_EQ(t.event_id[0], UuidOf(101));
    EXPECT_EQ(t.event_id[7], UuidOf(112));
  }
}

// Rows found bad after ingest (repeated clicks, in sessionize) are
// reported at their file lines: each kept row knows its line, across
// rejected rows, blank lines and chunk boundaries.
TEST(ParseClicks, RowsKnowTheirFileLinesOnAnyThreadCount) {
  const std::string good =
      Click(U(1), "HOMEPAGE", kT0Text, U(101), "MOBILE", "");
  const std::string bad = Click(U(1), "NAP", kT0Text, U(102), "MOBILE", "");
  // Line 1 is the header; "" is a blank line.
  const std::vector<std::string> lines = {
      good, good, bad,  good, "",   good, bad,  bad,  good, "",   "",
      good, good, good, bad,  good, "",   good, good, bad,  good, good};
  std::vector<int64_t> want;  // the lines of the good rows
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i] == good) want.push_back(static_cast<int64_t>(i) + 2);
  }
  const std::string text =
      absl::StrCat(kClickHeader, "\n", absl::StrJoin(lines, "\n"), "\n");
  for (int threads : {1, 2, 3, 5}) {
    SCOPED_TRACE(threads);
    IngestOptions o = Lenient();
    o.threads = threads;
    StringPool sessions;
    ClickTable t;
    FileReport report;
    ASSERT_TRUE(
        ParseClicks(text, "click_stream.csv", o, &sessions, &t, &report).ok());
    ASSERT_EQ(t.size(), want.size());
    for (size_t row = 0; row < t.size(); ++row) {
      EXPECT_EQ(t.LineOf(row), want[row]) << row;
    }
  }
}

TEST(ParseClicks, CleanFileHasOneLineRun) {
  const std::string text = ClickText({
      Click(U(1), "HOMEPAGE", kT0Text, U(101), "MOBILE", ""),
      Click(U(1), "HOMEPAGE", kT0Text, U(102), "MOBILE", ""),
      Click(U(1), "HOMEPAGE", kT0Text, U(103), "MOBILE", ""),
  });
  for (int threads : {1, 2, 3}) {
    IngestOptions o;
    o.threads = threads;
    StringPool sessions;
    ClickTable t;
    FileReport report;
    ASSERT_TRUE(
        ParseClicks(text, "click_stream.csv", o, &sessions, &t, &report).ok());
    ASSERT_EQ(t.line_runs.size(), 1u) << threads;
    EXPECT_EQ(t.line_runs[0].row, 0u);
    EXPECT_EQ(t.line_runs[0].line, 2);
  }
}

TEST(ParseClicks, CountsOnlyTheFirstFiveLinesPerReasonAcrossThreads) {
  std::vector<std::string> rows;
  for (int i = 1; i <= 40; ++i) {
    rows.push_back(Click(U(1), i % 4 == 0 ? "NOPE" : "HOMEPAGE", kT0Text,
                         U(100 + i), "MOBILE", ""));
  }
  IngestOptions o = Lenient();
  o.threads = 3;
  StringPool sessions;
  ClickTable t;
  FileReport report;
  ASSERT_TRUE(ParseClicks(ClickText(rows), "click_stream.csv", o, &sessions, &t,
                          &report)
                  .ok());
  EXPECT_THAT(Reasons(report.rejects),
              ElementsAre("bad_value:10@5,9,13,17,21"));
  EXPECT_EQ(t.size(), 30u);
}

// ------------------------------------------------------- bad row threshold

std::string ClickTextWithBadRows(int rows, std::vector<int> bad_rows) {
  std::vector<std::string> out;
  for (int i = 1; i <= rows; ++i) {
    const bool bad =
        std::find(bad_rows.begin(), bad_rows.end(), i) != bad_rows.end();
    out.push_back(Click(U(1), "HOMEPAGE", bad ? "2022-06-16" : kT0Text, U(i),
                        "MOBILE", ""));
  }
  return ClickText(out);
}

TEST(BadRowShare, AtTheThresholdPassesWithCounts) {
  StringPool sessions;
  ClickTable t;
  FileReport report;
  // 1 of 100 rows is exactly the default 1%: not above it.
  ASSERT_TRUE(ParseClicks(ClickTextWithBadRows(100, {40}), "click_stream.csv",
                          IngestOptions(), &sessions, &t, &report)
                  .ok());
  EXPECT_EQ(t.size(), 99u);
  EXPECT_THAT(Reasons(report.rejects), ElementsAre("bad_timestamp:1@41"));
}

TEST(BadRowShare, AboveTheThresholdFailsNamingFileAndLines) {
  StringPool sessions;
  ClickTable t;
  FileReport report;
  IngestOptions o;
  o.threads = 2;
  const absl::Status s =
      ParseClicks(ClickTextWithBadRows(100, {4, 90}), "click_stream.csv", o,
                  &sessions, &t, &report);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "click_stream.csv: 2 of 100 rows rejected (2.0000%), above "
            "max_bad_row_share 1.0000%; first bad rows: line 5 "
            "(bad_timestamp), line 91 (bad_timestamp)");
  EXPECT_EQ(report.rows_rejected, 2);  // the report is still filled in
}

TEST(BadRowShare, AppliesToEveryFile) {
  const std::string text = CustomerText({
      "1,A,B,u,e,F,1990-05-17,Android,d,v,1,1,L,Indonesia,2019-08-23",
      "2,A,B,u,e,F,1990-05-17,Android,d,v,1,1,L,Indonesia,bad",
  });
  IngestOptions o;
  o.max_bad_row_share = 0.49;
  CustomerTable t;
  FileReport report;
  const absl::Status s = ParseCustomers(text, "customer.csv", o, &t, &report);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("customer.csv: 1 of 2 rows rejected"));
  EXPECT_THAT(s.message(), HasSubstr("line 3 (bad_date)"));
  o.max_bad_row_share = 0.5;
  CustomerTable t2;
  EXPECT_TRUE(ParseCustomers(text, "customer.csv", o, &t2, &report).ok());
  EXPECT_EQ(t2.size(), 1u);
}

// Repeated click rows are found by sessionize, after ingest: they join the
// file's rejects as duplicate_id and count toward its bad-row share.
TEST(AddDuplicateRows, CountsThemAsDuplicateIdRejects) {
  FileReport report;
  report.file = "click_stream.csv";
  report.rows_read = 1000;
  report.rows_rejected = 3;
  report.rejects = {{"bad_id", 2, {7, 9}}, {"wrong_field_count", 1, {4}}};
  IngestOptions o;  // max_bad_row_share 1%
  ASSERT_TRUE(AddDuplicateRows(0, {}, o, &report).ok());
  EXPECT_EQ(report.rows_rejected, 3);
  EXPECT_EQ(report.rejects.size(), 2u);
  ASSERT_TRUE(AddDuplicateRows(4, {50, 60, 70, 80}, o, &report).ok());
  EXPECT_EQ(report.rows_read, 1000);
  EXPECT_EQ(report.rows_rejected, 7);
  EXPECT_THAT(Reasons(report.rejects),
              ElementsAre("bad_id:2@7,9", "duplicate_id:4@50,60,70,80",
                          "wrong_field_count:1@4"));
  // More of them: the first five lines overall are kept.
  ASSERT_TRUE(AddDuplicateRows(2, {5, 65}, o, &report).ok());
  EXPECT_THAT(Reasons(report.rejects),
              ElementsAre("bad_id:2@7,9", "duplicate_id:6@5,50,60,65,70",
                          "wrong_field_count:1@4"));
  EXPECT_EQ(report.rows_rejected, 9);
}

TEST(AddDuplicateRows, AboveTheShareFailsNamingFileAndLines) {
  FileReport report;
  report.file = "click_stream.csv";
  report.rows_read = 100;
  report.rows_rejected = 1;
  report.rejects = {{"bad_value", 1, {30}}};
  const absl::Status s =
      AddDuplicateRows(1, {12}, IngestOptions(), &report);  // 2 of 100 > 1%
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "click_stream.csv: 2 of 100 rows rejected (2.0000%), above "
            "max_bad_row_share 1.0000%; first bad rows: line 12 "
            "(duplicate_id), line 30 (bad_value)");
  EXPECT_EQ(report.rows_rejected, 2);  // the report is still filled in
}

// ------------------------------------------------------------------ headers

TEST(Header, MustMatchExactly) {
  StringPool sessions;
  ClickTable t;
  FileReport report;
  const absl::Status s =
      ParseClicks("session_id,event_name,event_time,event_id,traffic_source\n",
                  "click_stream.csv", IngestOptions(), &sessions, &t, &report);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            absl::StrCat("click_stream.csv:1: expected header '", kClickHeader,
                         "', found "
                         "'session_id,event_name,event_time,event_id,traffic_"
                         "source'"));
  BookingTable b;
  EXPECT_THAT(ParseBookings("", "transactions.csv", IngestOptions(), &sessions,
                            &b, &report)
                  .message(),
              HasSubstr("transactions.csv:1: expected header"));
}

TEST(Header, AcceptsBomAndCrLf) {
  const std::string text =
      absl::StrCat("\xEF\xBB\xBF", kProductHeader, "\r\n",
                   "1,Men,Apparel,Topwear,Shirts,Blue,Fall,2011,Casual,N\r\n");
  ProductTable t;
  FileReport report;
  ASSERT_TRUE(
      ParseProducts(text, "product.csv", IngestOptions(), &t, &report).ok());
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(t.names.Get(t.display_name[0]), "N");
}

// A file cut off after its header is an error, not an empty table: an
// export with no clicks or no customers would publish empty lists.
TEST(Header, HeaderOnlyFileFailsNamingIt) {
  StringPool sessions;
  FileReport report;
  const auto expect_failure = [&report](const absl::Status& s,
                                        const std::string& file) {
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << file;
    EXPECT_EQ(s.message(), file +
                               ":2: no data rows after the header (an "
                               "empty or truncated export?)");
    EXPECT_EQ(report.file, file);
    EXPECT_EQ(report.rows_read, 0);
  };
  {
    CustomerTable t;
    expect_failure(ParseCustomers(absl::StrCat(kCustomerHeader, "\n"),
                                  "customer.csv", IngestOptions(), &t, &report),
                   "customer.csv");
  }
  {
    ProductTable t;
    expect_failure(ParseProducts(kProductHeader, "product.csv", IngestOptions(),
                                 &t, &report),
                   "product.csv");
  }
  {
    BookingTable t;
    expect_failure(ParseBookings(absl::StrCat(kTransactionHeader, "\r\n"),
                                 "transactions.csv", IngestOptions(), &sessions,
                                 &t, &report),
                   "transactions.csv");
  }
  {
    ClickTable t;
    expect_failure(
        ParseClicks(absl::StrCat(kClickHeader, "\n"), "click_stream.csv",
                    IngestOptions(), &sessions, &t, &report),
        "click_stream.csv");
  }
}

// -------------------------------------------------------- shared session ids

TEST(SessionIds, AreSharedBetweenBookingsAndClicks) {
  StringPool sessions;
  BookingTable b;
  ClickTable c;
  FileReport report;
  ASSERT_TRUE(
      ParseBookings(BookingText({Booking(kT0Text, "1", U(7), kOneItem, "OVO",
                                         "Success", "0", "", "0", "3000")}),
                    "transactions.csv", IngestOptions(), &sessions, &b, &report)
          .ok());
  IngestOptions o;
  o.threads = 2;
  ASSERT_TRUE(ParseClicks(ClickText({
                              Click(U(8), "HOMEPAGE", kT0Text, U(1), "WEB", ""),
                              Click(U(7), "HOMEPAGE", kT0Text, U(2), "WEB", ""),
                              Click(U(8), "HOMEPAGE", kT0Text, U(3), "WEB", ""),
                              Click(U(7), "HOMEPAGE", kT0Text, U(4), "WEB", ""),
                          }),
                          "click_stream.csv", o, &sessions, &c, &report)
                  .ok());
  EXPECT_THAT(b.session, ElementsAre(0u));
  EXPECT_THAT(c.session, ElementsAre(1u, 0u, 1u, 0u));
  EXPECT_EQ(sessions.size(), 2u);
  EXPECT_EQ(sessions.Get(1), U(8));
}

TEST(SessionIds, FollowFirstAppearanceOnAnyThreadCount) {
  // Bookings name sessions 0-9; clicks use sessions 0-29 in a scrambled
  // order, so every chunk holds sessions already pooled, sessions new to
  // the file and sessions an earlier chunk pooled first.
  std::vector<std::string> booking_rows;
  for (uint32_t s = 0; s < 10; ++s) {
    booking_rows.push_back(Booking(kT0Text, "1", U(500 + s), kOneItem, "OVO",
                                   "Success", "0", "", "0", "3000"));
  }
  std::vector<std::string> click_rows;
  std::vector<uint32_t> session_of_row;
  for (uint32_t i = 0; i < 90; ++i) {
    const uint32_t s = (i * 7 + i / 30) % 30;
    click_rows.push_back(
        Click(U(500 + s), "HOMEPAGE", kT0Text, U(1000 + i), "WEB", ""));
    session_of_row.push_back(s);
  }
  // The expected ids: bookings' sessions first, then clicks' new ones, by
  // first appearance.
  std::map<uint32_t, uint32_t> want_id;
  for (uint32_t s = 0; s < 10; ++s) want_id[s] = s;
  std::vector<uint32_t> want;
  for (uint32_t s : session_of_row) {
    want_id.emplace(s, static_cast<uint32_t>(want_id.size()));
    want.push_back(want_id[s]);
  }
  for (int threads : {1, 2, 3, 5}) {
    SCOPED_TRACE(threads);
    StringPool sessions;
    BookingTable b;
    ClickTable c;
    FileReport report;
    ASSERT_TRUE(ParseBookings(BookingText(booking_rows), "transactions.csv",
                              IngestOptions(), &sessions, &b, &report)
                    .ok());
    IngestOptions o;
    o.threads = threads;
    ASSERT_TRUE(ParseClicks(ClickText(click_rows), "click_stream.csv", o,
                            &sessions, &c, &report)
                    .ok());
    EXPECT_EQ(c.session, want);
    ASSERT_EQ(sessions.size(), 30u);
    for (const auto& [s, id] : want_id) EXPECT_EQ(sessions.Get(id), U(500 + s));
  }
}

// A session_id is a UUID: the same value in another case is the same
// session_id, pooled once as its lowercase text.
TEST(SessionIds, AreMatchedByUuidValueWhateverTheCase) {
  const std::string lower = "abcdef01-0000-4000-8000-00000000000a";
  const std::string upper = "ABCDEF01-0000-4000-8000-00000000000A";
  const std::string mixed = "AbCdEf01-0000-4000-8000-00000000000a";
  const std::string other = "abcdef02-0000-4000-8000-00000000000b";
  for (int threads : {1, 2, 3}) {
    SCOPED_TRACE(threads);
    IngestOptions o;
    o.threads = threads;
    StringPool sessions;
    ClickTable c;
    FileReport report;
    ASSERT_TRUE(
        ParseClicks(ClickText({
                        Click(upper, "HOMEPAGE", kT0Text, U(1), "WEB", ""),
                        Click(other, "HOMEPAGE", kT0Text, U(2), "WEB", ""),
                        Click(lower, "HOMEPAGE", kT0Text, U(3), "WEB", ""),
                        Click(mixed, "HOMEPAGE", kT0Text, U(4), "WEB", ""),
                        Click(upper, "HOMEPAGE", kT0Text, U(5), "WEB", ""),
                        Click(lower, "HOMEPAGE", kT0Text, U(6), "WEB", ""),
                    }),
                    "click_stream.csv", o, &sessions, &c, &report)
            .ok());
    EXPECT_THAT(c.session, ElementsAre(0u, 1u, 0u, 0u, 0u, 0u));
    ASSERT_EQ(sessions.size(), 2u);
    EXPECT_EQ(sessions.Get(0), lower);
    EXPECT_EQ(sessions.Get(1), other);
  }
}

// The audit's case: transactions.csv wrote a booking's session_id in
// uppercase, the click stream in lowercase. The booking must link to the
// click session exactly as the lowercase spelling does.
TEST(SessionIds, AnUppercaseBookingSessionIdLinksAsItsLowercaseFormDoes) {
  const std::string lower = "abcdef01-0000-4000-8000-00000000000a";
  const std::string upper = "ABCDEF01-0000-4000-8000-00000000000A";
  const std::string other = "abcdef02-0000-4000-8000-00000000000b";
  const std::string unbooked = "abcdef03-0000-4000-8000-00000000000c";
  const std::vector<std::string> clicks = {
      Click(unbooked, "HOMEPAGE", kT0Text, U(1), "WEB", ""),
      Click(lower, "HOMEPAGE", kT0Text, U(2), "WEB", ""),
      Click(other, "HOMEPAGE", kT0Text, U(3), "WEB", ""),
      Click(lower, "SCROLL", kT0Text, U(4), "WEB", ""),
      Click(unbooked, "HOMEPAGE", kT0Text, U(5), "WEB", ""),
  };
  for (const std::string& booked : {lower, upper}) {
    for (int threads : {1, 2, 3}) {
      SCOPED_TRACE(booked + " threads " + std::to_string(threads));
      StringPool sessions;
      BookingTable b;
      ClickTable c;
      FileReport report;
      ASSERT_TRUE(
          ParseBookings(
              BookingText({Booking(kT0Text, "1", booked, kOneItem, "OVO",
                                   "Success", "0", "", "0", "3000"),
                           Booking(kT0Text, "2", other, kOneItem, "OVO",
                                   "Success", "0", "", "0", "3000")}),
              "transactions.csv", IngestOptions(), &sessions, &b, &report)
              .ok());
      IngestOptions o;
      o.threads = threads;
      ASSERT_TRUE(ParseClicks(ClickText(clicks), "click_stream.csv", o,
                              &sessions, &c, &report)
                      .ok());
      // Booking 0's session is the one of click rows 1 and 3; the unbooked
      // session_id is new to the pool.
      EXPECT_THAT(b.session, ElementsAre(0u, 1u));
      EXPECT_THAT(c.session, ElementsAre(2u, 0u, 1u, 0u, 2u));
      ASSERT_EQ(sessions.size(), 3u);
      EXPECT_EQ(sessions.Get(0), lower);
      EXPECT_EQ(sessions.Get(1), other);
      EXPECT_EQ(sessions.Get(2), unbooked);
    }
  }
}

TEST(ParseBookings, PoolsSessionIdsByUuidValue) {
  const std::string lower = "abcdef01-0000-4000-8000-00000000000a";
  const std::string upper = "ABCDEF01-0000-4000-8000-00000000000A";
  StringPool sessions;
  BookingTable b;
  FileReport report;
  ASSERT_TRUE(
      ParseBookings(BookingText({Booking(kT0Text, "1", upper, kOneItem, "OVO",
                                         "Success", "0", "", "0", "3000"),
                                 Booking(kT0Text, "1", lower, kOneItem, "OVO",
                                         "Success", "0", "", "0", "3000")}),
                    "transactions.csv", IngestOptions(), &sessions, &b, &report)
          .ok());
  EXPECT_THAT(b.session, ElementsAre(0u, 0u));
  ASSERT_EQ(sessions.size(), 1u);
  EXPECT_EQ(sessions.Get(0), lower);
}

// The text of a UUID with its hex letters in uppercase.
std::string Upper(std::string uuid) {
  for (char& ch : uuid) {
    ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  }
  return uuid;
}

// A kept row whose session_id is written in another case than its
// canonical lowercase text is counted as a session_id_case repair at its
// line. A UUID without hex letters has no other case, and a rejected row
// is counted as rejected only.
TEST(ParseBookings, CountsSessionIdsInAnotherCaseAsRepairs) {
  const std::string lower = "abcdef01-0000-4000-8000-00000000000a";
  const std::string digits = "12345678-0000-4000-8000-000000000001";
  const std::string upper_row = Booking(kT0Text, "2", Upper(lower), kOneItem,
                                        "OVO", "Success", "0", "", "0", "3000");
  ASSERT_NE(Upper(lower), lower);
  ASSERT_EQ(Upper(digits), digits);
  const std::string text = BookingText({
      Booking(kT0Text, "1", lower, kOneItem, "OVO", "Success", "0", "", "0",
              "3000"),  // line 2: kept as written
      upper_row,        // 3: repaired
      Booking(kT0Text, "3", "AbCdEf01-0000-4000-8000-00000000000a", kOneItem,
              "OVO", "Success", "0", "", "0", "3000"),  // 4: repaired
      Booking(kT0Text, "4", Upper(digits), kOneItem, "OVO", "Success", "0", "",
              "0", "3000"),  // 5: kept as written
      Booking(kT0Text, "5", Upper(U(0xabc)), kOneItem, "OVO", "Pending", "0",
              "", "0", "3000"),  // 6: bad_value
      upper_row,                 // 7: duplicate_id
      Booking(kT0Text, "6", Upper(U(0xabd)), kOneItem, "OVO", "Success", "0",
              "", "0", "3000"),  // 8: repaired
  });
  StringPool sessions;
  BookingTable b;
  FileReport report;
  ASSERT_TRUE(
      ParseBookings(text, "transactions.csv", Lenient(), &sessions, &b, &report)
          .ok());
  EXPECT_THAT(b.customer_id, ElementsAre(1, 2, 3, 4, 6));
  EXPECT_THAT(b.session, ElementsAre(0u, 0u, 0u, 1u, 2u));
  EXPECT_EQ(sessions.Get(2), U(0xabd));
  EXPECT_EQ(report.rows_repaired, 3);
  EXPECT_THAT(Reasons(report.repairs), ElementsAre("session_id_case:3@3,4,8"));
  EXPECT_EQ(report.rows_rejected, 2);
  EXPECT_THAT(Reasons(report.rejects),
              ElementsAre("bad_value:1@6", "duplicate_id:1@7"));
}

// Click rows are parsed in chunks: every kept row whose session_id is not
// in canonical lowercase is counted at its file line, across rejected rows,
// blank lines and chunk boundaries, and the first lines kept are the file's
// first, on any thread count.
TEST(ParseClicks, CountsSessionIdsInAnotherCaseAsRepairsOnAnyThreadCount) {
  std::vector<std::string> lines;  // line k + 2 of the file; "" is blank
  std::vector<int64_t> want;       // the lines of kept uppercase rows
  int64_t bad_rows = 0;
  for (int i = 0; i < 40; ++i) {
    if (i % 11 == 5) lines.push_back("");
    const std::string session = U(0xabc0 + i % 4);
    const bool upper = i % 3 == 1;
    const bool bad = i % 7 == 3;
    lines.push_back(Click(upper ? Upper(session) : session,
                          bad ? "NAP" : "HOMEPAGE", kT0Text, U(100 + i),
                          "MOBILE", ""));
    bad_rows += bad;
    if (upper && !bad) want.push_back(static_cast<int64_t>(lines.size()) + 1);
  }
  ASSERT_EQ(want.size(), 11u);  // 13 uppercase rows, 2 of them bad
  const std::string body = absl::StrCat(absl::StrJoin(lines, "\n"), "\n");
  const std::string text = absl::StrCat(kClickHeader, "\n", body);
  // Each of three chunks holds repaired rows.
  for (std::string_view piece : ingest_internal::SplitAtLines(body, 3)) {
    EXPECT_NE(piece.find("0000ABC"), std::string_view::npos) << piece;
  }
  const std::string first_lines =
      absl::StrJoin(std::vector<int64_t>(want.begin(), want.begin() + 5), ",");
  for (int threads : {1, 2, 3, 5}) {
    SCOPED_TRACE(threads);
    IngestOptions o = Lenient();
    o.threads = threads;
    StringPool sessions;
    ClickTable t;
    FileReport report;
    ASSERT_TRUE(
        ParseClicks(text, "click_stream.csv", o, &sessions, &t, &report).ok());
    EXPECT_EQ(report.rows_rejected, bad_rows);
    EXPECT_EQ(report.rows_repaired, static_cast<int64_t>(want.size()));
    EXPECT_THAT(Reasons(report.repairs),
                ElementsAre(absl::StrCat("session_id_case:", want.size(), "@",
                                         first_lines)));
    ASSERT_EQ(sessions.size(), 4u);
    for (uint32_t i = 0; i < 4; ++i) EXPECT_EQ(sessions.Get(i), U(0xabc0 + i));
  }
}

// Repaired rows are kept: they do not count toward the bad-row share, even
// when every row needed the repair and no bad row is allowed.
TEST(BadRowShare, SessionIdCaseRepairsDoNotCount) {
  IngestOptions o;
  o.max_bad_row_share = 0.0;
  StringPool sessions;
  BookingTable b;
  FileReport report;
  ASSERT_TRUE(
      ParseBookings(
          BookingText({Booking(kT0Text, "1", Upper(U(0xabc)), kOneItem, "OVO",
                               "Success", "0", "", "0", "3000"),
                       Booking(kT0Text, "2", Upper(U(0xabd)), kOneItem, "OVO",
                               "Success", "0", "", "0", "3000")}),
          "transactions.csv", o, &sessions, &b, &report)
          .ok());
  EXPECT_EQ(report.rows_repaired, 2);
  EXPECT_EQ(report.rows_rejected, 0);
  for (int threads : {1, 2, 3}) {
    SCOPED_TRACE(threads);
    o.threads = threads;
    ClickTable c;
    ASSERT_TRUE(
        ParseClicks(
            ClickText(
                {Click(Upper(U(0xabc)), "HOMEPAGE", kT0Text, U(1), "WEB", ""),
                 Click(Upper(U(0xabe)), "HOMEPAGE", kT0Text, U(2), "WEB", ""),
                 Click(Upper(U(0xabd)), "HOMEPAGE", kT0Text, U(3), "WEB", "")}),
            "click_stream.csv", o, &sessions, &c, &report)
            .ok());
    EXPECT_EQ(report.rows_repaired, 3);
    EXPECT_EQ(report.rows_rejected, 0);
  }
}

// ---------------------------------------------------------------- directory

class IngestDirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           absl::StrCat("ingest_test_", ::getpid());
    std::filesystem::create_directories(dir_);
    Write("customer.csv",
          CustomerText({"1,A,B,u,e,F,1990-05-17,Android,d,v,1,1,L,Indonesia,"
                        "2019-08-23"}));
    Write("product.csv",
          ProductText(
              {"7,Men,Apparel,Topwear,Shirts,Blue,Fall,2011,Casual,A, B"}));
    Write("transactions.csv",
          BookingText({Booking(kT0Text, "1", U(7), kOneItem, "OVO", "Success",
                               "0", "", "0", "3000")}));
    Write("click_stream.csv",
          ClickText({Click(U(7), "HOMEPAGE", kT0Text, U(1), "WEB", ""),
                     Click(U(9), "HOMEPAGE", kT0Text, U(2), "WEB", "")}));
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary) << text;
  }

  std::filesystem::path dir_;
};

TEST_F(IngestDirectoryTest, ReadsAllFourFiles) {
  absl::StatusOr<Dataset> data =
      IngestDirectory(dir_.string(), IngestOptions());
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->customers.size(), 1u);
  EXPECT_EQ(data->products.size(), 1u);
  EXPECT_EQ(data->bookings.size(), 1u);
  EXPECT_EQ(data->clicks.size(), 2u);
  EXPECT_THAT(data->clicks.session, ElementsAre(0u, 1u));
  ASSERT_EQ(data->report.files.size(), 4u);
  EXPECT_EQ(data->report.files[0].file, "customer.csv");
  EXPECT_EQ(data->report.files[1].rows_repaired, 1);
  EXPECT_EQ(data->report.files[3].file, "click_stream.csv");
  EXPECT_EQ(data->report.files[3].rows_read, 2);
}

TEST_F(IngestDirectoryTest, BookingSessionIdsAreNumberedBeforeClickOnes) {
  // The small files are parsed alongside the clicks; the pool must still
  // number the bookings' session ids first, in file order, whatever the
  // timing (many bookings make a late finish likely).
  std::vector<std::string> bookings;
  for (int i = 0; i < 3000; ++i) {
    bookings.push_back(Booking(kT0Text, "1", U(100 + i), kOneItem, "OVO",
                               "Success", "0", "", "0", "3000"));
  }
  Write("transactions.csv", BookingText(bookings));
  Write("click_stream.csv",
        ClickText({Click(U(7), "HOMEPAGE", kT0Text, U(1), "WEB", ""),
                   Click(U(100), "HOMEPAGE", kT0Text, U(2), "WEB", ""),
                   Click(U(3099), "HOMEPAGE", kT0Text, U(3), "WEB", "")}));
  for (int threads : {1, 2, 4}) {
    IngestOptions o;
    o.threads = threads;
    absl::StatusOr<Dataset> data = IngestDirectory(dir_.string(), o);
    ASSERT_TRUE(data.ok()) << data.status();
    ASSERT_EQ(data->session_ids.size(), 3001u);
    EXPECT_EQ(data->session_ids.Get(0), U(100));
    EXPECT_EQ(data->session_ids.Get(2999), U(3099));
    EXPECT_EQ(data->session_ids.Get(3000), U(7));
    EXPECT_THAT(data->clicks.session, ElementsAre(3000u, 0u, 2999u));
  }
}

TEST_F(IngestDirectoryTest, UppercaseBookingSessionIdLinksToItsClicks) {
  std::string upper = U(0xabcd);
  for (char& ch : upper) ch = static_cast<char>(std::toupper(ch));
  ASSERT_NE(upper, U(0xabcd));
  Write("transactions.csv",
        BookingText({Booking(kT0Text, "1", upper, kOneItem, "OVO", "Success",
                             "0", "", "0", "3000")}));
  Write("click_stream.csv",
        ClickText({Click(U(0xabcd), "HOMEPAGE", kT0Text, U(1), "WEB", ""),
                   Click(U(9), "HOMEPAGE", kT0Text, U(2), "WEB", "")}));
  for (int threads : {1, 2, 3}) {
    IngestOptions o;
    o.threads = threads;
    absl::StatusOr<Dataset> data = IngestDirectory(dir_.string(), o);
    ASSERT_TRUE(data.ok()) << data.status();
    // Click rows: the booked session, then U(9).
    EXPECT_THAT(data->bookings.session, ElementsAre(0u)) << threads;
    EXPECT_THAT(data->clicks.session, ElementsAre(0u, 1u)) << threads;
    ASSERT_EQ(data->session_ids.size(), 2u);
    EXPECT_EQ(data->session_ids.Get(0), U(0xabcd));
  }
}

TEST_F(IngestDirectoryTest, TheFirstFilesErrorWinsOverALaterOne) {
  Write("transactions.csv", "not,a,header\n");
  std::filesystem::remove(dir_ / "click_stream.csv");
  absl::StatusOr<Dataset> data =
      IngestDirectory(dir_.string(), IngestOptions());
  EXPECT_EQ(data.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(data.status().message(), HasSubstr("transactions.csv:1:"));
}

TEST_F(IngestDirectoryTest, MissingFileIsNotFoundNamingIt) {
  std::filesystem::remove(dir_ / "click_stream.csv");
  absl::StatusOr<Dataset> data =
      IngestDirectory(dir_.string(), IngestOptions());
  EXPECT_EQ(data.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(data.status().message(), HasSubstr("click_stream.csv"));
}

// A named pipe in place of a file (a half-set-up export job) is refused at
// once rather than waiting forever for a writer.
TEST_F(IngestDirectoryTest, FifoIsRefusedWithoutWaitingForAWriter) {
  std::filesystem::remove(dir_ / "product.csv");
  ASSERT_EQ(::mkfifo((dir_ / "product.csv").c_str(), 0600), 0);
  absl::StatusOr<Dataset> data =
      IngestDirectory(dir_.string(), IngestOptions());
  EXPECT_EQ(data.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(data.status().message(),
              HasSubstr("product.csv: not a regular file"));
}

// An export cut short while it is read fails the ingest naming the file,
// whatever its remaining text parses to, and the files read before it keep
// their reports.
TEST_F(IngestDirectoryTest, AClickFileCutShortWhileReadFailsNamingIt) {
  std::vector<std::string> rows;
  for (int i = 0; i < 3000; ++i) {
    rows.push_back(Click(U(7), "HOMEPAGE", kT0Text, U(10 + i), "WEB", ""));
  }
  Write("click_stream.csv", ClickText(rows));
  const std::filesystem::path clicks = dir_ / "click_stream.csv";
  const auto size = std::filesystem::file_size(clicks);
  ASSERT_GT(size, 4u * 65536);  // many pages past the cut, on any page size
  for (int threads : {1, 2}) {
    Write("click_stream.csv", ClickText(rows));
    IngestOptions o;
    o.threads = threads;
    o.after_mapping = [&] { std::filesystem::resize_file(clicks, 100); };
    IngestReport report;
    absl::StatusOr<Dataset> data = IngestDirectory(dir_.string(), o, &report);
    EXPECT_EQ(data.status().code(), absl::StatusCode::kAborted) << threads;
    EXPECT_THAT(data.status().message(),
                HasSubstr(absl::StrCat("click_stream.csv: '", clicks.string(),
                                       "' shrank while it was being read: it "
                                       "had ",
                                       size, " bytes")));
    EXPECT_THAT(data.status().message(), HasSubstr("(it now has 100)"));
    ASSERT_EQ(report.files.size(), 4u);
    EXPECT_EQ(report.files[2].file, "transactions.csv");
    EXPECT_EQ(report.files[2].rows_read, 1);
    EXPECT_EQ(report.files[3].file, "click_stream.csv");
    EXPECT_EQ(report.files[3].rows_read, 0);
    EXPECT_EQ(report.files[3].rows_rejected, 0);
    EXPECT_TRUE(report.files[3].rejects.empty());
  }
}

TEST_F(IngestDirectoryTest,
       ABookingFileRewrittenInPlaceWhileReadFailsNamingIt) {
  const std::filesystem::path bookings = dir_ / "transactions.csv";
  IngestOptions o;
  o.after_mapping = [&] {
    // Another night's export written over this one: a later time.
    std::filesystem::last_write_time(
        bookings,
        std::filesystem::last_write_time(bookings) + std::chrono::seconds(5));
  };
  IngestReport report;
  absl::StatusOr<Dataset> data = IngestDirectory(dir_.string(), o, &report);
  EXPECT_EQ(data.status().code(), absl::StatusCode::kAborted);
  EXPECT_THAT(data.status().message(),
              HasSubstr(absl::StrCat("transactions.csv: '", bookings.string(),
                                     "' was rewritten in place while it was "
                                     "being read")));
  EXPECT_EQ(report.files[0].rows_read, 1);
  EXPECT_EQ(report.files[2].file, "transactions.csv");
  EXPECT_EQ(report.files[2].rows_read, 0);
}

// The way to deliver an export: files renamed into place once ingest has
// begun are not read, so a run never mixes two nights' files.
TEST_F(IngestDirectoryTest, AnExportRenamedIntoPlaceDuringIngestIsNotRead) {
  IngestOptions o;
  o.after_mapping = [&] {
    for (const char* name : {"customer.csv", "transactions.csv"}) {
      std::filesystem::rename(dir_ / name, dir_ / absl::StrCat(name, ".old"));
    }
    Write("customer.csv.new",
          CustomerText({"1,A,B,u,e,F,1990-05-17,Android,d,v,1,1,L,Indonesia,"
                        "2019-08-23",
                        "2,C,D,u,e,M,1991-05-17,iOS,d,v,1,1,L,Indonesia,"
                        "2019-08-24"}));
    Write("transactions.csv.new", "not,the,header\n");
    for (const char* name : {"customer.csv", "transactions.csv"}) {
      std::filesystem::rename(dir_ / absl::StrCat(name, ".new"), dir_ / name);
    }
  };
  absl::StatusOr<Dataset> data = IngestDirectory(dir_.string(), o);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->customers.size(), 1u);
  EXPECT_EQ(data->bookings.size(), 1u);
  EXPECT_EQ(data->clicks.size(), 2u);
}

TEST_F(IngestDirectoryTest, EmptyFileFailsTheHeaderCheck) {
  Write("product.csv", "");
  absl::StatusOr<Dataset> data =
      IngestDirectory(dir_.string(), IngestOptions());
  EXPECT_EQ(data.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(data.status().message(), HasSubstr("product.csv:1:"));
}

}  // namespace
}  // namespace winback
