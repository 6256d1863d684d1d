#include "hubgate/hubspot/text.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include <string>

#include "hubgate/hubspot/error_shape.hpp"

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

// Property names compare as Java's equalsIgnoreCase reads them, aliases on either side, and sort
// so that the spellings of one name sit together.
TEST(text, names_compare_with_folding_aliases_on_either_side) {
  EXPECT_TRUE(equals_names("lifecyclestage", "LifeCycleStage"));
  EXPECT_TRUE(equals_names("l\xC4\xB1" "fecyclestage", "lifecyclestage"));          // dotless i
  EXPECT_TRUE(equals_names("LIFECYCLESTAGE", "l\xC4\xB0" "fecyclestage"));          // I with dot above
  EXPECT_TRUE(equals_names("hs_marketable_\xC5\xBFtatus", "HS_MARKETABLE_STATUS")); // long s
  EXPECT_TRUE(equals_names("\xE2\x84\xAA" "ey", "key"));                          // Kelvin sign
  EXPECT_TRUE(equals_names("\xC4\xB1s", "i\xC5\xBF"));                          // aliases on both sides
  EXPECT_FALSE(equals_names("lifecyclestage", "lifecyclestages"));
  EXPECT_FALSE(equals_names("l\xC3\xAF" "fecyclestage", "lifecyclestage")); // i with diaeresis: another letter
  EXPECT_FALSE(equals_names("l\xC4\xB1", "l"));
  EXPECT_EQ(compare_names("a", "b"), -1);
  EXPECT_EQ(compare_names("B", "a"), 1);
  EXPECT_EQ(compare_names("ab", "a"), 1);
  EXPECT_EQ(compare_names("\xC5\xBF", "S"), 0);
  std::string folded;
  fold_name("Cu\xC5\xBFTOMER \xC3\xA9", folded);
  EXPECT_EQ(folded, "customer \xC3\xA9");
}

// iequals_ascii compares eight bytes at a time: every pair of byte values, at every place of names
// from 1 to 20 bytes long, agrees with a byte-by-byte comparison. Only 'A'-'Z' and 'a'-'z' pair
// across case: '@' and '`', '[' and '{', or 0xC1 and 0xE1 differ by the same bit and must not.
TEST(text, name_padding_is_trimmed_as_any_runtime_might_trim_it) {
  EXPECT_EQ(trim_name_padding("email"), "email");
  EXPECT_EQ(trim_name_padding(" \t\r\nemail\n"), "email");
  EXPECT_EQ(trim_name_padding(std::string_view("email\0\x1f", 7)), "email"); // Java's trim: every byte up to 0x20
  EXPECT_EQ(trim_name_padding("\xEF\xBB\xBF" "email"), "email");              // U+FEFF
  EXPECT_EQ(trim_name_padding("email\xC2\xA0\xE2\x80\x8B\xE3\x80\x80"), "email"); // nbsp, zero-width, ideographic
  EXPECT_EQ(trim_name_padding("\xC2\x85\xE2\x81\xA0" "email\xE2\x80\xAF"), "email");
  EXPECT_EQ(trim_name_padding("e mail"), "e mail"); // only the ends
  EXPECT_EQ(trim_name_padding("\xC2\xA0"), "");
  EXPECT_EQ(trim_name_padding("caf\xC3\xA9"), "caf\xC3\xA9"); // other non-ASCII ends stay
  EXPECT_EQ(trim_name_padding("\xE2\x82\xAC"), "\xE2\x82\xAC"); // U+20AC is not padding
  EXPECT_EQ(trim_name_padding("x\x7F"), "x\x7F");                // nor is DEL
}

TEST(text, iequals_ascii_pairs_only_ascii_letters_across_case) {
  const auto lower = [](unsigned char c) { return c >= 'A' && c <= 'Z' ? c + 32 : static_cast<int>(c); };
  std::size_t equal_pairs = 0;
  for (std::size_t size = 1; size <= 20; ++size) {
    for (std::size_t at = 0; at < size; at += (size > 9 ? 7 : 1)) {
      std::string a(size, 'k');
      std::string b(size, 'K');
      for (int x = 0; x < 256; ++x) {
        for (int y = 0; y < 256; ++y) {
          a[at] = static_cast<char>(x);
          b[at] = static_cast<char>(y);
          const bool expected = lower(static_cast<unsigned char>(x)) == lower(static_cast<unsigned char>(y));
          ASSERT_EQ(iequals_ascii(a, b), expected) << "size " << size << " at " << at << ": " << x << " vs " << y;
          equal_pairs += expected ? 1 : 0;
        }
      }
    }
  }
  EXPECT_GT(equal_pairs, 0U);
  EXPECT_TRUE(iequals_ascii("Content-Length", "content-length"));
  EXPECT_FALSE(iequals_ascii("Content-Length", "content-lengtH "));
  EXPECT_FALSE(iequals_ascii("content-length", "content-lengti"));
  EXPECT_TRUE(iequals_ascii("", ""));
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
  // Plain runs between escapes, an escape last, and what `out` held before kept.
  out = "x=";
  EXPECT_TRUE(percent_decode("first%20name++last%2Bname%41", out, true));
  EXPECT_EQ(out, "x=first name  last+nameA");
  out.clear();
  EXPECT_TRUE(percent_decode("properties=email,firstname", out, true));
  EXPECT_EQ(out, "properties=email,firstname");
  EXPECT_EQ(percent_encode("a+b@c/d e~_.-"), "a%2Bb%40c%2Fd%20e~_.-");
  EXPECT_EQ(percent_encode("\xC3\xA9"), "%C3%A9");
  EXPECT_TRUE(has_percent_escape("a%2Fb"));
  EXPECT_FALSE(has_percent_escape("100%"));
  EXPECT_FALSE(has_percent_escape("100%zz"));
}

// What a JSON reader makes of append_json_string's output.
std::string read_back(std::string_view s) {
  std::string text;
  append_json_string(text, s);
  return nlohmann::json::parse(text).get<std::string>();
}

TEST(text, json_strings_escape_what_json_requires_and_keep_utf8) {
  std::string out;
  append_json_string(out, "say \"hi\"\\\n\t\x01\x7F");
  EXPECT_EQ(out, R"("say \"hi\"\\\n\t\u0001\u007f")");
  EXPECT_EQ(read_back("\xC3\xA9t\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"), "\xC3\xA9t\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");
  EXPECT_EQ(read_back(""), "");
}

// Plain bytes are skipped eight at a time: each byte that needs care, at every position of a
// longer plain run, is still escaped (or checked as UTF-8) and reads back as it was.
TEST(text, json_strings_escape_a_special_byte_wherever_it_is) {
  for (const std::string_view special : {"\"", "\\", "\n", "\x01", "\x1F", "\x7F", "\xC3\xA9", "\xE2\x82\xAC"}) {
    for (std::size_t at = 0; at <= 24; ++at) {
      std::string s(24, 'a');
      s.insert(at, special);
      std::string out;
      append_json_string(out, s);
      EXPECT_EQ(read_back(s), s) << at;
      EXPECT_TRUE(std::none_of(out.begin(), out.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7F; }))
          << out;
    }
  }
  std::string invalid(20, 'a');
  invalid[11] = '\xFF';
  EXPECT_EQ(read_back(invalid), std::string(11, 'a') + "\xEF\xBF\xBD" + std::string(8, 'a'));
}

TEST(text, json_strings_replace_bytes_that_are_not_utf8) {
  // A lone continuation byte, a truncated sequence, an overlong `/`, an encoded surrogate.
  EXPECT_EQ(read_back("a\x80" "b"), "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(read_back("a\xE2\x82"), "a\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(read_back("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(read_back("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(utf8_sequence_length("\xF4\x8F\xBF\xBF"), 4u);
  EXPECT_EQ(utf8_sequence_length("\xF4\x90\x80\x80"), 0u) << "above U+10FFFF";
}

TEST(error_shape, bodies_are_hubspots_shape_in_its_field_order) {
  const std::string body =
      error_body("Blocked by \"x\"", "POLICY_BLOCKED", "c-1", {{"rule", {"a", "b"}}, {"inputIndex", {"3"}}});
  EXPECT_EQ(body, R"({"status":"error","message":"Blocked by \"x\"","correlationId":"c-1","category":"POLICY_BLOCKED",)"
                  R"("context":{"rule":["a","b"],"inputIndex":["3"]}})");
  EXPECT_EQ(nlohmann::json::parse(error_body("m", "VALIDATION_ERROR", "c-2")),
            nlohmann::json::parse(R"({"status":"error","message":"m","correlationId":"c-2","category":"VALIDATION_ERROR"})"));
  // A message quoting a form field hubgate could not decode is still valid JSON.
  const auto forms = nlohmann::json::parse(forms_error_body("bad \xFF field", "INVALID_REQUEST", "c-3"));
  EXPECT_EQ(forms["message"], "The request is not valid");
  EXPECT_EQ(forms["correlationId"], "c-3");
  EXPECT_EQ(forms["errors"][0]["message"], "bad \xEF\xBF\xBD field");
  EXPECT_EQ(forms["errors"][0]["errorType"], "INVALID_REQUEST");
}

} // namespace
} // namespace hubgate::hubspot
