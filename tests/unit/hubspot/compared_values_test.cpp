#include "hubgate/hubspot/compared_values.hpp"

#include <gtest/gtest.h>

#include <string>

namespace hubgate::hubspot {
namespace {

TEST(compared_values, a_single_value_is_met_loosely_by_its_case_padding_and_option_spellings) {
  compared_values compared;
  compared.add("lifecyclestage", "customer");
  EXPECT_FALSE(compared.is_near_miss("lifecyclestage", "customer")); // the value itself
  for (const char* near : {"Customer", " customer", "customer\xC2\xA0", "lead;customer", ";CUSTOMER", "customer;",
                           "cu\xC5\xBFtomer"}) {
    EXPECT_TRUE(compared.is_near_miss("lifecyclestage", near)) << near;
    EXPECT_TRUE(compared.is_near_miss(" LifecycleStage", near)) << near; // the name read as rules read it
    EXPECT_TRUE(compared.is_near_miss("l\xC4\xB1" "fecyclestage", near)) << near;
  }
  for (const char* other : {"lead", "customers", "lead;opportunity", "cust omer", ""}) {
    EXPECT_FALSE(compared.is_near_miss("lifecyclestage", other)) << other;
  }
  EXPECT_FALSE(compared.is_near_miss("firstname", "Customer")); // no rule compares firstname
  EXPECT_TRUE(compared.compares("LIFECYCLESTAGE"));
  EXPECT_FALSE(compared.compares("firstname"));
}

// A number a rule names is met by every spelling a lenient Java reader takes for it: a server
// storing a number property may read any of them as that number.
TEST(compared_values, a_number_is_met_by_every_spelling_of_it) {
  compared_values compared;
  compared.add("hubspot_owner_id", "123");
  compared.add("score", "-2.50");
  for (const char* near : {"0123", "+123", "123.0", "123.", "1.23e2", "1230E-1", "12300e-2", " 123 ",
                           "\xEF\xBC\x91\xEF\xBC\x92\xEF\xBC\x93", "\xD9\xA1\xD9\xA2\xD9\xA3", "00000123.000"}) {
    EXPECT_TRUE(compared.is_near_miss("hubspot_owner_id", near)) << near;
  }
  // Java's readers skip an exponent's leading zeros before they count its digits.
  for (const char* near : {"123e0000000000", "123e+0000000000", "1.23e00000000002", "12300000000000e-0000000000011"}) {
    EXPECT_TRUE(compared.is_near_miss("hubspot_owner_id", near)) << near;
  }
  EXPECT_FALSE(compared.is_near_miss("hubspot_owner_id", "123e1000000000"));
  // Double.parseDouble's type suffixes and hexadecimal form (its binary exponent required).
  for (const char* near : {"123d", "123D", "123f", "123F", "1.23e2d", "0x7Bp0", "0X7BP0", "0x7B.0p0", "0x1.ECp6",
                           "0x3D8p-3F", "+0x7Bp+0", "0x0000007Bp0d"}) {
    EXPECT_TRUE(compared.is_near_miss("hubspot_owner_id", near)) << near;
  }
  for (const char* near : {"-0x1.4p1", "-0x5p-1", "-2.5d"}) {
    EXPECT_TRUE(compared.is_near_miss("score", near)) << near;
  }
  for (const char* other : {"123L", "123dd", "0x7B", "0x7Bp", "0xp0", "0x7Cp0", "0x7Bq0", "0x1p1001", "123 d"}) {
    EXPECT_FALSE(compared.is_near_miss("hubspot_owner_id", other)) << other;
  }
  for (const char* near : {"-2.5", "-02.5", "-25e-1", "-2.500"}) {
    EXPECT_TRUE(compared.is_near_miss("score", near)) << near;
  }
  for (const char* other : {"124", "1234", "12.3", "123abc", "0x7B", "-123", "1 23", "123e", "e2", ".", "+", "2.5"}) {
    EXPECT_FALSE(compared.is_near_miss("hubspot_owner_id", other)) << other;
    EXPECT_FALSE(compared.is_near_miss("score", other)) << other;
  }
  EXPECT_FALSE(compared.is_near_miss("hubspot_owner_id", "123")); // the value itself

  // A rule value not written as a plain number is a string: a zip code, a phone number.
  compared_values strings;
  strings.add("zip", "00123");
  strings.add("phone", "+15551234567");
  strings.add("phone", "0044123456");
  for (const auto& [name, value] : {std::pair{"zip", "123"}, std::pair{"zip", "0123"}, std::pair{"phone", "15551234567"},
                                    std::pair{"phone", "44123456"}, std::pair{"phone", "+44123456"}}) {
    EXPECT_FALSE(strings.is_near_miss(name, value)) << name << "=" << value;
  }

  compared_values zero;
  zero.add("n", "0");
  for (const char* near : {"-0", "0.000", "+0e9", "00"}) {
    EXPECT_TRUE(zero.is_near_miss("n", near)) << near;
  }
}

// A rule value that lists options (`a;b`) is met by a value that lists each of them, in any
// order, case or padding; a value listing only some of them is another value.
TEST(compared_values, a_value_of_several_options_is_met_by_any_listing_of_all_of_them) {
  compared_values compared;
  compared.add("interests", "golf;Tennis");
  EXPECT_FALSE(compared.is_near_miss("interests", "golf;Tennis"));
  for (const char* near : {"Tennis;golf", "GOLF; tennis", "golf;tennis;chess", ";golf;;Tennis", "golf;Tennis;"}) {
    EXPECT_TRUE(compared.is_near_miss("interests", near)) << near;
  }
  for (const char* other : {"golf", "Tennis", "golf;chess", "golftennis"}) {
    EXPECT_FALSE(compared.is_near_miss("interests", other)) << other;
  }
}

// Every value of a long `in:` list is found, and a value the rules spell in two ways is exact in
// both (the rules compare `true` and `TRUE`: neither is a near miss of the other).
TEST(compared_values, every_value_of_a_long_list_is_exact_and_each_near_miss_found) {
  compared_values compared;
  for (int i = 0; i < 2000; ++i) {
    compared.add("country", "country-" + std::to_string(i));
  }
  compared.add("hs_marketable_status", "true");
  compared.add("HS_MARKETABLE_STATUS", "TRUE");
  for (int i = 0; i < 2000; i += 97) {
    const std::string value = "country-" + std::to_string(i);
    EXPECT_FALSE(compared.is_near_miss("country", value)) << value;
    EXPECT_TRUE(compared.is_near_miss("country", "COUNTRY-" + std::to_string(i))) << value;
    EXPECT_TRUE(compared.is_near_miss("country", "x;" + value + " ")) << value;
  }
  EXPECT_FALSE(compared.is_near_miss("country", "country-2000"));
  EXPECT_FALSE(compared.is_near_miss("hs_marketable_status", "true"));
  EXPECT_FALSE(compared.is_near_miss("hs_marketable_status", "TRUE"));
  EXPECT_TRUE(compared.is_near_miss("hs_marketable_status", "True"));
}

// A rule value of only separators or padding compares with "no value": options that are empty
// once trimmed meet it, and only those.
TEST(compared_values, a_rule_value_of_no_option_is_met_by_empty_options) {
  compared_values compared;
  compared.add("status", ";");
  EXPECT_FALSE(compared.is_near_miss("status", ";"));
  EXPECT_TRUE(compared.is_near_miss("status", ""));
  EXPECT_TRUE(compared.is_near_miss("status", " ;x"));
  EXPECT_FALSE(compared.is_near_miss("status", "x"));
}

} // namespace
} // namespace hubgate::hubspot
