#include "hubgate/hubspot/text.hpp"

#include <gtest/gtest.h>

namespace hubgate::hubspot {
namespace {

TEST(text, equals_folded_is_java_equals_ignore_case_against_ascii) {
  EXPECT_TRUE(equals_folded("CONTACTS", "contacts"));
  EXPECT_TRUE(equals_folded("contact\xC5\xBF", "contacts"));       // long s
  EXPECT_TRUE(equals_folded("\xE2\x84\xAA", "k"));                 // Kelvin sign
  EXPECT_TRUE(equals_folded("\xC4\xB1ntegration", "integration")); // dotless i
  EXPECT_TRUE(equals_folded("\xC4\xB0ntegration", "integration")); // dotted capital I
  EXPECT_FALSE(equals_folded("contact", "contacts"));
  EXPECT_FALSE(equals_folded("contactss", "contacts"));
  EXPECT_FALSE(equals_folded("contact\xC5\xBF", "contactk"));
  EXPECT_FALSE(equals_folded("\xC3\xA9", "e"));
}

TEST(text, percent_codec_round_trips_and_rejects_bad_escapes) {
  std::string out;
  EXPECT_TRUE(percent_decode("a%40b%2Fc+d", out));
  EXPECT_EQ(out, "a@b/c+d");
  out.clear();
  EXPECT_TRUE(percent_decode("a+b", out, true));
  EXPECT_EQ(out, "a b");
  out.clear();
  EXPECT_FALSE(percent_decode("%4", out));
  EXPECT_FALSE(percent_decode("%zz", out));
  EXPECT_FALSE(percent_decode("abc%", out));
  EXPECT_EQ(percent_encode("a+b@c/d e~_.-"), "a%2Bb%40c%2Fd%20e~_.-");
  EXPECT_EQ(percent_encode("\xC3\xA9"), "%C3%A9");
  EXPECT_TRUE(has_percent_escape("a%2Fb"));
  EXPECT_FALSE(has_percent_escape("100%"));
  EXPECT_FALSE(has_percent_escape("100%zz"));
}

} // namespace
} // namespace hubgate::hubspot
