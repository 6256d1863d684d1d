#include "hubgate/hubspot/json_scan.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace hubgate::hubspot {
namespace {

bool scans(std::string_view text) {
  json_document document;
  return document.scan(text);
}

std::string scan_error(std::string_view text) {
  json_document document;
  EXPECT_FALSE(document.scan(text)) << text;
  return document.error();
}

// The decoded value of the only string in `["..."]`.
std::string decoded(std::string_view array_text) {
  json_document document;
  EXPECT_TRUE(document.scan(array_text)) << array_text << ": " << document.error();
  if (document.token_count() < 2) {
    return "<none>";
  }
  return (*document.root().elements().begin()).string_value();
}

std::string nested(int depth) { return std::string(static_cast<std::size_t>(depth), '[') + std::string(static_cast<std::size_t>(depth), ']'); }

TEST(json_scan, accepts_the_grammar) {
  const std::string_view documents[] = {
      "{}",  "[]",   "0",    "-0",       "1.5e-3", "1E+2", "-12.0", "true", "false", "null", R"("")",
      R"({"a":[1,{"b":null}],"c":"d"})", " \t\r\n{ \"a\" : [ 1 , 2 ] } \n", "\xEF\xBB\xBF{}", R"(["\u00e9\ud83d\ude00"])",
  };
  for (const std::string_view text : documents) {
    EXPECT_TRUE(scans(text)) << text;
  }
}

TEST(json_scan, refuses_what_is_not_json) {
  const std::string_view documents[] = {
      "",          " ",          "{",          "}",       "[1,]",       R"({"a":1,})", R"({'a':1})",   "{a:1}",
      R"({"a" 1})", R"({"a":})",  "[01]",       "[1.]",    "[.5]",       "[1e]",        "[1e+]",       "[-]",
      "[+1]",      "[NaN]",      "[Infinity]", "[tru]",   "[nul]",      "[True]",      "[0x10]",      "{} {}",
      "{} x",      "[1] ]",      "/*c*/{}",    "{}//c",   "[\"a\"\"b\"]", "[1 2]",      "{\"a\":1 \"b\":2}",
      "\xEF\xBB{}", "\xEF\xBB\xBF\xEF\xBB\xBF{}", "[\"unterminated]", "[\"a\\\"]",
  };
  for (const std::string_view text : documents) {
    EXPECT_FALSE(scans(text)) << text;
  }
}

TEST(json_scan, refuses_duplicate_keys_at_any_depth) {
  EXPECT_EQ(scan_error(R"({"email":"a","email":"b"})"), "duplicate key \"email\"");
  EXPECT_FALSE(scans(R"({"a":{"b":{"c":[{"d":1,"d":1}]}}})"));
  EXPECT_FALSE(scans(R"([[[{"x":{},"y":[],"x":null}]]])"));
  // Compared decoded: an escaped spelling repeats the plain one, in either order.
  EXPECT_EQ(scan_error(R"({"email":"a","em\u0061il":"b"})"), "duplicate key \"email\"");
  EXPECT_FALSE(scans(R"({"em\u0061il":"a","email":"b"})"));
  EXPECT_FALSE(scans(R"({"\/":1,"/":2})"));
  EXPECT_FALSE(scans(R"({"\u00e9":1,"é":2})"));
  // Keys of sibling and nested objects are separate; case differs is a different key here.
  EXPECT_TRUE(scans(R"({"a":{"a":{"a":1}},"b":{"a":2},"A":3})"));
  EXPECT_TRUE(scans(R"([{"a":1},{"a":1}])"));
  EXPECT_TRUE(scans(R"({"em\u0061il":{"email":1}})"));
  // Large objects (checked by sorting) too, wherever the repeat sits.
  std::string many = "{";
  for (int i = 0; i < 200; ++i) {
    many += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + ",";
  }
  EXPECT_TRUE(scans(many + "\"last\":0}"));
  EXPECT_EQ(scan_error(many + "\"k199\":0}"), "duplicate key \"k199\"");
  EXPECT_FALSE(scans(many + "\"k\\u0030\":0}")) << "k\\u0030 is k0";
  EXPECT_FALSE(scans("[" + many + "\"x\":{\"y\":1,\"y\":2}}]"));
}

TEST(json_scan, nests_at_most_64_deep) {
  EXPECT_TRUE(scans(nested(64)));
  EXPECT_FALSE(scans(nested(65)));
  std::string objects;
  for (int i = 0; i < 64; ++i) {
    objects += "{\"a\":";
  }
  objects += "1" + std::string(64, '}');
  EXPECT_TRUE(scans(objects));
  EXPECT_FALSE(scans("[" + objects + "]"));
  // Depth is how many are open at once, not how many there are.
  std::string siblings = "[";
  for (int i = 0; i < 100; ++i) {
    siblings += (i == 0 ? "" : ",") + nested(60);
  }
  EXPECT_TRUE(scans(siblings + "]"));
}

TEST(json_scan, refuses_invalid_utf8) {
  const std::string_view strings[] = {
      "[\"\xFF\"]",             // never UTF-8
      "[\"\x80\"]",             // a continuation byte alone
      "[\"\xC3\"]",             // a truncated sequence
      "[\"\xC0\xAF\"]",         // overlong `/`
      "[\"\xC1\xBF\"]",         // overlong
      "[\"\xE0\x80\xAF\"]",     // overlong `/` in three bytes
      "[\"\xF0\x80\x80\xAF\"]", // overlong in four
      "[\"\xED\xA0\x80\"]",     // U+D800 encoded
      "[\"\xED\xBF\xBF\"]",     // U+DFFF encoded
      "[\"\xF4\x90\x80\x80\"]", // above U+10FFFF
      "[\"\xF5\x80\x80\x80\"]",
      "[\"\xE2\x82\"]",         // truncated inside the string
      "{\"\xFF\":1}",           // in a key
      "[\xC3\xA9]",             // outside a string
  };
  for (const std::string_view text : strings) {
    EXPECT_FALSE(scans(text)) << ::testing::PrintToString(std::string(text));
  }
  EXPECT_TRUE(scans("[\"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\xED\x9F\xBF\xEE\x80\x80\xF4\x8F\xBF\xBF\x7F\"]"));
}

TEST(json_scan, refuses_raw_control_bytes_and_bad_escapes) {
  EXPECT_FALSE(scans("[\"a\nb\"]"));
  EXPECT_FALSE(scans(std::string_view("[\"a\0b\"]", 7)));
  EXPECT_FALSE(scans("[\"\x1F\"]"));
  const std::string_view escapes[] = {
      R"(["\a"])",      R"(["\x41"])",   R"(["\u12"])",   R"(["\u12G4"])",        R"(["\U0041"])",
      R"(["\ud800"])",  R"(["\udc00"])", R"(["\ud800x"])", R"(["\ud800\u0041"])", R"(["\ud800\ud800"])",
      R"(["\udfff\ud800"])", R"(["\'"])", "[\"\\",
  };
  for (const std::string_view text : escapes) {
    EXPECT_FALSE(scans(text)) << text;
  }
}

TEST(json_scan, decodes_every_escape) {
  EXPECT_EQ(decoded(R"(["\"\\\/\b\f\n\r\t"])"), "\"\\/\b\f\n\r\t");
  EXPECT_EQ(decoded(R"(["\u0041\u00e9\u20AC\uD83D\uDE00"])"), "A\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
  EXPECT_EQ(decoded(R"(["a\u0000b"])"), std::string("a\0b", 3));
  EXPECT_EQ(decoded(R"(["plain"])"), "plain");
  EXPECT_EQ(decoded(R"(["\u0040"])"), "@");
  // The same as nlohmann's reading, for a mixed string.
  const std::string text = R"(["x\u00e9\"y\ud834\udd1e\/z\n"])";
  EXPECT_EQ(decoded(text), nlohmann::json::parse(text)[0].get<std::string>());
}

TEST(json_scan, records_spans_kinds_and_sizes) {
  json_document document;
  const std::string_view text = R"( {"a" : [1, "two", {"x":true}], "b":"\u0041", "c":{}} )";
  ASSERT_TRUE(document.scan(text)) << document.error();
  const json_value root = document.root();
  ASSERT_TRUE(root.is_object());
  EXPECT_EQ(root.size(), 3U);
  EXPECT_EQ(root.raw(), text.substr(1, text.size() - 2));
  std::vector<std::string> keys;
  for (const auto& [key, value] : root.members()) {
    keys.push_back(key.string_value());
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"a", "b", "c"}));
  const json_value a = (*root.members().begin()).value;
  ASSERT_TRUE(a.is_array());
  EXPECT_EQ(a.size(), 3U);
  EXPECT_EQ(a.raw(), R"([1, "two", {"x":true}])");
  std::vector<std::string_view> raws;
  for (const json_value element : a.elements()) {
    raws.push_back(element.raw());
  }
  EXPECT_EQ(raws, (std::vector<std::string_view>{"1", R"("two")", R"({"x":true})"}));
  const json_value b = (*++root.members().begin()).value;
  EXPECT_TRUE(b.escaped());
  EXPECT_EQ(b.string_bytes(), R"(\u0041)");
  EXPECT_TRUE(b.string_equals("A"));
  EXPECT_FALSE(b.string_equals(R"(\u0041)"));
  EXPECT_EQ(root.elements().begin(), root.elements().end()) << "an object has no elements";
}

TEST(json_scan, numbers_read_as_nlohmann_writes_them) {
  const std::string_view numbers[] = {
      "0",      "-0",     "7",       "-7",      "9223372036854775807", "-9223372036854775808", "18446744073709551615",
      "18446744073709551616", "-9223372036854775809", "1e2", "1E2",      "1.50",  "-0.0", "0.1",   "1e-7",
      "123456789012345678901234567890", "1e-400", "2.5e+3", "100.0", "1.7976931348623157e308",
  };
  for (const std::string_view number : numbers) {
    EXPECT_EQ(json_number_text(number), nlohmann::json::parse(number).dump()) << number;
  }
  EXPECT_EQ(json_number_text("1e2"), "100.0");
  EXPECT_EQ(json_number_text("-0"), "0");
  EXPECT_EQ(json_number_text("1e-400"), "0.0");
  EXPECT_EQ(json_number_value("0.0"), 0.0);
  EXPECT_EQ(json_number_value("-2.5e1"), -25.0);
}

TEST(json_scan, refuses_numbers_beyond_a_double) {
  EXPECT_FALSE(scans("[1e400]"));
  EXPECT_FALSE(scans("[-1e400]"));
  EXPECT_FALSE(scans("[1.8e308]"));
  EXPECT_FALSE(scans("[" + std::string(400, '9') + "]"));
  EXPECT_TRUE(scans("[" + std::string(300, '9') + "]"));
  EXPECT_TRUE(scans("[1e-400]"));
  EXPECT_TRUE(scans("[1.7976931348623157e308]"));
}

TEST(json_scan, a_failed_scan_can_be_followed_by_a_good_one) {
  json_document document;
  EXPECT_FALSE(document.scan(R"({"a":1,"a":2})"));
  EXPECT_FALSE(document.error().empty());
  ASSERT_TRUE(document.scan(R"({"a":1})"));
  EXPECT_TRUE(document.error().empty());
  EXPECT_EQ(document.root().size(), 1U);
}

} // namespace
} // namespace hubgate::hubspot
