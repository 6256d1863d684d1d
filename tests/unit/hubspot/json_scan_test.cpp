#include "hubgate/hubspot/json_scan.hpp"

#include "json_scan_reference.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <random>
#include <set>
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
  // With several repeats, the one the text reaches first is told, whatever order sorting put them in.
  EXPECT_EQ(scan_error(many + "\"k5\":0,\"k3\":0,\"k5\":1}"), "duplicate key \"k5\"");
  EXPECT_EQ(scan_error(many + "\"k3\":0,\"k5\":0,\"k3\":1}"), "duplicate key \"k3\"");
  EXPECT_EQ(scan_error(many + "\"k\\u0035\":0,\"k3\":0}"), "duplicate key \"k5\"");
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

// nlohmann's reader plus the refusals hubgate adds (repeated keys, nesting deeper than 64): the
// scanner must accept exactly what this accepts.
class reference_reader : public nlohmann::json_sax<nlohmann::json> {
public:
  bool null() override { return true; }
  bool boolean(bool /*value*/) override { return true; }
  bool number_integer(number_integer_t /*value*/) override { return true; }
  bool number_unsigned(number_unsigned_t /*value*/) override { return true; }
  bool number_float(number_float_t /*value*/, const string_t& /*text*/) override { return true; }
  bool string(string_t& /*value*/) override { return true; }
  bool binary(binary_t& /*value*/) override { return false; }
  bool start_object(std::size_t /*elements*/) override { return open(true); }
  bool start_array(std::size_t /*elements*/) override { return open(false); }
  bool end_object() override { return close(); }
  bool end_array() override { return close(); }
  bool key(string_t& name) override { return keys_.back().insert(name).second; }
  bool parse_error(std::size_t /*position*/, const std::string& /*token*/,
                   const nlohmann::detail::exception& /*error*/) override {
    return false;
  }

private:
  bool open(bool /*object*/) {
    keys_.emplace_back();
    return keys_.size() <= 64;
  }
  bool close() {
    keys_.pop_back();
    return true;
  }
  std::vector<std::set<std::string>> keys_;
};

bool reference_accepts(std::string_view text) {
  // nlohmann's lexer takes a NUL byte for the end of its input and ignores what follows; no JSON
  // holds a raw NUL, and the scanner refuses it (and the bytes after it) like any stray byte.
  if (text.find('\0') != std::string_view::npos) {
    return false;
  }
  reference_reader reader;
  return nlohmann::json::sax_parse(text.begin(), text.end(), &reader, nlohmann::json::input_format_t::json, true, false);
}

// Random edits of documents, with the bytes that matter to the grammar, to UTF-8 and to escapes.
class mutator {
public:
  explicit mutator(std::uint32_t seed) : random_(seed) {}

  std::size_t pick(std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(random_); }

  // One to three edits; with `backslash_runs`, some insert up to 20 backslashes at once.
  void edit(std::string& text, bool backslash_runs) {
    static constexpr char alphabet_bytes[] = "{}[],:\"\\ \t\n0123456789-+.eEtrufalsnu"
                                             "\x00\x1F\x7F\x80\xBF\xC0\xC3\xA9\xED\xA0\xF0\xF4\x90\xFF"
                                             "dDaA/bfx";
    const std::string_view alphabet(alphabet_bytes, sizeof alphabet_bytes - 1);
    for (std::size_t edits = 1 + pick(3); edits > 0 && !text.empty(); --edits) {
      const std::size_t at = pick(text.size());
      switch (pick(backslash_runs ? 5 : 4)) {
        case 0: text.insert(at, 1, alphabet[pick(alphabet.size())]); break;
        case 1: text.erase(at, 1); break;
        case 2: text[at] = alphabet[pick(alphabet.size())]; break;
        case 4: text.insert(at, 1 + pick(20), '\\'); break;
        default: text.insert(at, text.substr(pick(text.size()), 1 + pick(8))); break;
      }
    }
  }

private:
  std::mt19937 random_;
};

TEST(json_scan, agrees_with_nlohmann_and_the_strict_rules_on_mutated_documents) {
  const std::string_view seeds[] = {
      R"({"properties":{"email":"a@b.com","n":-1.5e3,"ok":true,"none":null},"associations":[{"to":{"id":"1"}}]})",
      R"([{"email":"a\u00e9@b.com","vid":12,"properties":[{"property":"x","value":"\ud83d\ude00"}]}])",
      "\xEF\xBB\xBF{\"a\":[[],{},\"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\"]}",
      R"({"a":{"b":{"c":[0,1e2,-0,0.5,"\/\b\f\n\r\t\"\\"]}},"em\u0061il":"x"})",
  };
  mutator mutate(20261127);
  int disagreements = 0;
  int accepted = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string text(seeds[mutate.pick(std::size(seeds))]);
    mutate.edit(text, false);
    const bool expected = reference_accepts(text);
    accepted += expected ? 1 : 0;
    if (scans(text) != expected && ++disagreements <= 10) {
      ADD_FAILURE() << (expected ? "refused: " : "accepted: ") << ::testing::PrintToString(text);
    }
  }
  EXPECT_EQ(disagreements, 0);
  EXPECT_GT(accepted, 1000) << "the mutations should leave many documents valid";
}

// Documents that probe where a fast scanner cuts corners: strings whose escapes, quotes and
// multi-byte characters fall on every offset of a 16- or 64-byte block, backslash runs, keys past
// the one-by-one limit, repeats spelled with escapes, nesting at the limit and long arrays.
std::vector<std::string> block_edge_seeds() {
  std::vector<std::string> seeds;
  const std::string_view pieces[] = {R"(\")", R"(\\)", R"(\\\")", R"(\u00e9)", R"(\ud83d\ude00)", "\xC3\xA9",
                                     "\xE2\x82\xAC", "\xF0\x9F\x98\x80", R"(\/)", R"(\n)"};
  for (std::size_t pad = 0; pad < 70; ++pad) {
    const std::string_view piece = pieces[pad % std::size(pieces)];
    const std::string filler(pad, 'x');
    seeds.push_back(R"({")" + filler + std::string(piece) + R"(":")" + std::string(piece) + filler + R"(","k":[)" +
                    std::to_string(pad) + "]}");
  }
  std::string many = "{";
  for (int i = 0; i < 40; ++i) {
    many += (i == 0 ? "\"" : ",\"") + std::string(i % 7 == 0 ? "k\\u0030" : "k") + std::to_string(i) + "\":" +
            std::to_string(i);
  }
  seeds.push_back(many + "}");
  std::string long_array = "[";
  for (int i = 0; i < 100; ++i) {
    long_array += (i == 0 ? "" : ",") + std::string(i % 3 == 0 ? "\"s\"" : i % 3 == 1 ? "{}" : "-1.5");
  }
  seeds.push_back(long_array + "]");
  seeds.push_back(std::string(63, '[') + R"({"a":1,"\u0061":2})" + std::string(63, ']'));
  seeds.push_back(R"({"a":{"b":"c","\u0062":"d"},"a ":[true,false,null,-0.5e-3]})");
  return seeds;
}

// What differs between the scanner and the one before its rewrite (tests/reference) on `text`:
// the verdict, the error or the tokens; empty when nothing does.
std::string difference_from_reference(std::string_view text) {
  std::vector<json_token> expected_tokens;
  std::string expected_error;
  const bool expected = reference::json_scan(text, expected_tokens, expected_error);
  json_document document;
  const bool actual = document.scan(text);
  bool same = actual == expected && document.error() == expected_error && document.token_count() == expected_tokens.size();
  for (std::uint32_t i = 0; same && i < expected_tokens.size(); ++i) {
    same = std::memcmp(&document.token(i), &expected_tokens[i], offsetof(json_token, escaped) + 1) == 0;
  }
  if (same) {
    const std::string flaw = reference::plain_members_flaw(document);
    return flaw.empty() ? flaw : flaw + ": " + ::testing::PrintToString(std::string(text));
  }
  return "reference " + (expected ? std::string("accepts") : "refuses (" + expected_error + ")") + ", scanner " +
         (actual ? std::string("accepts") : "refuses (" + document.error() + ")") + ": " +
         ::testing::PrintToString(std::string(text));
}

// Runs `check` with the scanner reading blocks as the CPU allows (AVX2 on most), then with SSE2.
template <typename Check>
void on_each_block_reader(Check check) {
  for (const bool force_sse2 : {false, true}) {
    SCOPED_TRACE(force_sse2 ? "SSE2 forced" : "the CPU's block reader");
    detail::json_scan_force_sse2(force_sse2);
    check();
  }
  detail::json_scan_force_sse2(false);
}

// The scanner before its rewrite (tests/reference) on the same documents: the same verdict, the
// same error and the same tokens.
TEST(json_scan, gives_the_reference_scanners_verdicts_and_tokens) {
  std::vector<std::string> seeds = block_edge_seeds();
  seeds.emplace_back(R"({"properties":{"email":"a@b.com","n":-1.5e3,"ok":true,"none":null},"associations":[{"to":{"id":"1"}}]})");
  seeds.emplace_back("\xEF\xBB\xBF{\"a\":[[],{},\"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\"]}");
  on_each_block_reader([&] {
    mutator mutate(20261128);
    int disagreements = 0;
    int accepted = 0;
    for (int round = 0; round < 60000; ++round) {
      // Each seed once as it is, then mutated ones.
      std::string text = seeds[static_cast<std::size_t>(round) < seeds.size() ? static_cast<std::size_t>(round)
                                                                              : mutate.pick(seeds.size())];
      if (static_cast<std::size_t>(round) >= seeds.size()) {
        mutate.edit(text, true);
      }
      json_document document;
      accepted += document.scan(text) ? 1 : 0;
      const std::string difference = difference_from_reference(text);
      if (!difference.empty() && ++disagreements <= 10) {
        ADD_FAILURE() << difference;
      }
    }
    EXPECT_EQ(disagreements, 0);
    EXPECT_GT(accepted, 5000) << "the mutations should leave many documents valid";
  });
}

// Documents for the scanner's bitmap of special string bytes, 64 bytes to a word, and its loop
// for plain members: strings, escapes, backslash runs and multi-byte characters across word
// boundaries, strings longer than a word, keys near the end of the text, repeated keys of every
// length, space around members, and every length of text (the last word's 0 to 63 bytes).
std::vector<std::string> block_boundary_documents() {
  std::vector<std::string> documents;
  const std::string_view pieces[] = {R"(")",   R"(\)",     R"(\")",  R"(\\)", R"(\\")", R"(é)", "\xC3\xA9",
                                     "\xE2\x82\xAC", "\xF0\x9F\x98\x80", "\xF0\x9F\x98", "\x1F",   "\x7F",     "\xFF"};
  for (std::size_t shift = 0; shift < 130; ++shift) {
    const std::string_view piece = pieces[shift % std::size(pieces)];
    const std::string filler(shift, 'x');
    documents.push_back(R"({"a":")" + filler + std::string(piece) + R"(","b":"c","d":")" + std::string(piece) + filler +
                        R"(","e":["f",")" + std::string(100 + shift, 'y') + R"("],"g":{"h":"i"},"j":"k"})");
    documents.push_back(std::string(shift, ' ') + R"({"k":")" + filler + R"(","l":"m" , "n" :"o","p": "q"})" +
                        std::string(shift % 17, '\n'));
  }
  for (std::size_t run = 1; run < 10; ++run) {
    for (std::size_t shift = 56; shift < 72; ++shift) {
      documents.push_back(R"({"a":")" + std::string(shift, 'x') + std::string(run, '\\') + R"(","b":"c"})");
    }
  }
  // Repeated keys of every length, read as plain text with room after them, as plain text at the
  // end of the body, and decoded from escapes.
  for (std::size_t length = 0; length < 20; ++length) {
    const std::string key(length, 'k');
    const std::string escaped = length == 0 ? key : R"(k)" + key.substr(1);
    documents.push_back(R"({")" + key + R"(":"1",")" + key + R"(":"2","z":"3"})");
    documents.push_back(R"({")" + key + R"(":"1",")" + key + R"(":2})");
    documents.push_back(R"({")" + key + R"(":"1",")" + escaped + R"(":"2"})");
    documents.push_back(R"({")" + escaped + R"(":"1",")" + key + R"(":2})");
    documents.push_back(R"({")" + key + R"(x":"1",")" + key + R"(y":2})");
  }
  // Every prefix of a body with each kind of member.
  const std::string body = R"({"inputs":[{"properties":{"email":"a@b.co","n":"1","\u0061":"\u00e9","x":[1,-2.5e3,true,)"
                           R"(null,{}],"y":{"z":"w"},"long":")" +
                           std::string(150, 'v') + R"("}},{"properties":{"email":"c@d.co","email":"e@f.co"}}]})";
  for (std::size_t length = 0; length <= body.size(); ++length) {
    documents.push_back(body.substr(0, length));
  }
  return documents;
}

TEST(json_scan, gives_the_reference_scanners_verdicts_and_tokens_across_blocks) {
  const std::vector<std::string> documents = block_boundary_documents();
  on_each_block_reader([&] {
    int disagreements = 0;
    for (const std::string& text : documents) {
      const std::string difference = difference_from_reference(text);
      if (!difference.empty() && ++disagreements <= 10) {
        ADD_FAILURE() << difference;
      }
    }
    EXPECT_EQ(disagreements, 0);
  });
}

// Documents for the plain-member loop, which takes a member's four quotes as the first four special
// bytes of the bitmap's 64 from its key on: space that holds control bytes (tab, line feed,
// carriage return) in each place a member may have it, moved across word boundaries; members whose
// quotes fall on either side of the 64 bytes, strings that span several words and words with no
// special byte; runs that stop at every place of a member around the object's 32nd
// key (where the key filter hands over to the sort on close) and repeats on either side of it;
// buffers that fill in the middle of a run (the inline key list, the token buffer); and every
// prefix of an indented body.
std::vector<std::string> plain_member_documents() {
  std::vector<std::string> documents;
  const std::string_view spaces[] = {" ", "\t", "\n", "\r\n", " \t\r\n ", "\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n"};
  for (std::size_t shift = 0; shift < 70; ++shift) {
    const std::string_view space = spaces[shift % std::size(spaces)];
    const std::string filler(shift, 'x');
    // Space before the key, before the value, after the colon's key, after the value: one place at a time.
    for (int place = 0; place < 4; ++place) {
      const auto at = [&](int where) { return place == where ? std::string(space) : std::string(); };
      documents.push_back(R"({"a":")" + filler + R"(",)" + at(0) + R"("b")" + at(2) + ":" + at(1) + R"("c")" + at(3) +
                          R"(,"d":")" + filler + R"(","e":"f"})");
    }
    // Space everywhere a plain member may have it, as indented JSON has it.
    documents.push_back("{" + std::string(space) + R"("a":)" + std::string(space) + R"(")" + filler + R"(",)" +
                        std::string(space) + R"("b":)" + std::string(space) + R"("c")" + std::string(space) + "}");
    // A control byte or a non-ASCII byte that is not space, in a key or a value, after space.
    documents.push_back(R"({"a": ")" + filler + "\t" + R"(","b":"c"})");
    documents.push_back("{\n\"" + filler + "\xC3\xA9\":\n\"" + filler + "\",\"b\":\"c\"}");
    // Strings of one to three words and more, and words without a special byte.
    documents.push_back(R"({"k":")" + std::string(shift * 3, 'v') + R"(",")" + std::string(shift * 2, 'k') +
                        R"(":"v","z":")" + std::string(200 + shift, 'w') + R"("})");
  }
  // Keys and values of every length up to past 64 bytes, so that a member's closing quotes fall on
  // each side of the end of the 64 bytes from its key on, and (odd value lengths) a repeat of the key.
  for (std::size_t key_length = 0; key_length < 68; ++key_length) {
    for (std::size_t value_length = 0; value_length < 68; ++value_length) {
      const std::string name(key_length, 'k');
      documents.push_back(R"({"a":"b",")" + name + R"(":")" + std::string(value_length, 'v') + R"(",")" + name +
                          (value_length % 2 == 0 ? "x" : "") + R"(":"c"})");
    }
  }
  // Runs that stop at each place of a member, and repeats, around the 32nd key.
  // K stands for the key's name.
  const std::string_view stops[] = {R"("K":"v")", R"("K":1)", R"("K":"\u0076")", R"("\u006bK":"v")", R"("K" :"v")",
                                    R"("K":"v" )", R"("K":{"k":"v"})", R"("K":["v"])"};
  for (std::size_t keys = 28; keys < 38; ++keys) {
    for (std::size_t stop = 0; stop < std::size(stops); ++stop) {
      for (std::size_t repeat : {std::size_t{0}, keys / 2, keys - 1, keys + 1}) {
        std::string object = "{";
        for (std::size_t key = 0; key < keys; ++key) {
          std::string member(stops[key == keys - 2 ? stop : 0]);
          const std::string name = "k" + std::to_string(key);
          member.replace(member.find('K'), 1, name);
          object += (key == 0 ? "" : ",") + member;
        }
        if (repeat <= keys) {
          object += R"(,"k)" + std::to_string(repeat) + R"(":"again")";
        }
        documents.push_back(object + "}");
      }
    }
  }
  // Open objects holding more than the inline key list (64 keys), and tiny members, two tokens in
  // seven bytes, that outgrow the token buffer's first guess in the middle of a run.
  std::string keys_outgrown = "{";
  for (int depth = 0; depth < 3; ++depth) {
    for (int key = 0; key < 40; ++key) {
      keys_outgrown += "\"k" + std::to_string(key) + "\":\"v\",";
    }
    keys_outgrown += "\"o\":{";
  }
  documents.push_back(keys_outgrown + R"("k0":"v"}}}})");
  documents.push_back(keys_outgrown + R"("k0":"v","k39":"v","k0":"v"}}}})");
  std::string tiny = "{";
  for (int key = 0; key < 3000; ++key) {
    tiny += (key == 0 ? "\"" : ",\"") + std::to_string(key) + "\":\"\"";
  }
  documents.push_back(tiny + "}");
  documents.push_back(tiny + R"(,"2999":""})");
  // Every prefix of an indented body.
  const std::string body = "{\n  \"inputs\": [\n    {\n      \"properties\": {\n        \"email\": \"a@b.co\",\n"
                           "        \"firstname\":\t\"Jane\",\r\n        \"\": \"\",\n        \"x\": \"" +
                           std::string(70, 'y') + "\"\n      }\n    }\n  ]\n}\n";
  for (std::size_t length = 0; length <= body.size(); ++length) {
    documents.push_back(body.substr(0, length));
  }
  return documents;
}

TEST(json_scan, gives_the_reference_scanners_verdicts_and_tokens_for_plain_members) {
  const std::vector<std::string> documents = plain_member_documents();
  on_each_block_reader([&] {
    int disagreements = 0;
    int accepted = 0;
    for (const std::string& text : documents) {
      accepted += scans(text) ? 1 : 0;
      const std::string difference = difference_from_reference(text);
      if (!difference.empty() && ++disagreements <= 10) {
        ADD_FAILURE() << difference;
      }
    }
    EXPECT_EQ(disagreements, 0);
    EXPECT_GT(accepted, 2500) << "many of these documents are JSON";
  });
}

TEST(json_scan, reads_plain_members_after_space_with_control_bytes) {
  for (std::size_t shift = 0; shift < 70; ++shift) {
    const std::string filler(shift, 'x');
    json_document document;
    const std::string text = "{\n\t\"a\":\t\"" + filler + "\",\r\n\t\"b\":\n\"c\",\n\"a\\u0062\": \"d\"}";
    ASSERT_TRUE(document.scan(text)) << document.error();
    std::vector<std::string> read;
    for (const auto& [key, value] : document.root().members()) {
      read.push_back(key.string_value() + "=" + value.string_value());
    }
    EXPECT_EQ(read, (std::vector<std::string>{"a=" + filler, "b=c", "ab=d"}));
    EXPECT_EQ(scan_error("{\n\t\"a\":\t\"" + filler + "\",\n\t\"a\":\n\"c\"}"), "duplicate key \"a\"");
  }
}

// Readers walk an object flagged plain_members as key and string-value pairs (the differential
// tests check that every flagged object is one); the usual objects are flagged, so that they do.
TEST(json_scan, flags_objects_whose_members_are_all_plain) {
  const auto flagged = [](const std::string& text) {
    json_document document;
    EXPECT_TRUE(document.scan(text)) << text << ": " << document.error();
    EXPECT_EQ(reference::plain_members_flaw(document), "") << text;
    return document.token_count() > 0 && document.root().is_object() && document.token(0).plain_members;
  };
  on_each_block_reader([&] {
    for (std::size_t length = 0; length < 150; ++length) {
      const std::string value(length, 'v');
      EXPECT_TRUE(flagged(R"({"a":")" + value + R"(","b":"c"})")) << length;
      EXPECT_TRUE(flagged("{ \"a\":\"" + value + "\" ,\n \"b\":\"c\"\n}")) << length;
      EXPECT_TRUE(flagged(R"({"a":"b",")" + value + R"(":"c"})")) << length;
      EXPECT_FALSE(flagged(R"({"a":")" + value + R"(","b":1})")) << length;
      EXPECT_FALSE(flagged(R"({"a":")" + value + R"(","b":{}})")) << length;
      EXPECT_FALSE(flagged(R"({"a":")" + value + R"(","b":"\u0063"})")) << length;
      EXPECT_FALSE(flagged(R"({"a":")" + value + R"(","\u0062":"c"})")) << length;
      EXPECT_FALSE(flagged(R"({"a":")" + value + R"(","b":"\u00e9"})")) << length;
      EXPECT_FALSE(flagged(R"({"a":")" + value + R"(","b":"é"})")) << length;
      EXPECT_FALSE(flagged(R"({"a":")" + value + R"(","b" :"c"})")) << length;
      EXPECT_FALSE(flagged(R"({"a":[")" + value + R"("],"b":"c"})")) << length;
    }
    EXPECT_TRUE(flagged("{}"));
    EXPECT_FALSE(flagged(R"(["a","b"])"));
    EXPECT_FALSE(flagged(R"({"a":{"b":"c"}})"));
  });
}

TEST(json_scan, finds_repeated_keys_however_they_are_read) {
  for (std::size_t length = 0; length < 20; ++length) {
    const std::string key(length, 'k');
    EXPECT_FALSE(scans(R"({")" + key + R"(":"1",")" + key + R"(":"2","z":"3"})")) << length;
    EXPECT_FALSE(scans(R"({")" + key + R"(":"1",")" + key + R"(":2})")) << length;
    EXPECT_TRUE(scans(R"({")" + key + R"(x":"1",")" + key + R"(y":2})")) << length;
    if (length > 0) {
      EXPECT_FALSE(scans(R"({")" + key + R"(":"1","\u006b)" + key.substr(1) + R"(":2})")) << length;
    }
  }
}

// The caller bounds the token buffer (20 bytes a value and key) and so the memory a body of tiny
// values takes: one value and key more than it lets the scan hold is refused, whichever part of the
// scanner (the loop for plain members, or the general one) meets it.
TEST(json_scan, refuses_a_document_of_more_values_and_keys_than_the_caller_lets_it_hold) {
  const std::string_view cases[] = {
      "[1,2,3]",                   // 4: the array and three numbers
      R"({"a":"b","c":"d"})",      // 5: the object, two keys, two values (plain members)
      R"({"a":[true,null],"c":{}})", // 7
      R"("text")",                 // 1
  };
  for (const std::string_view text : cases) {
    json_document document;
    ASSERT_TRUE(document.scan(text)) << text;
    const auto needed = static_cast<std::uint32_t>(document.token_count());
    EXPECT_TRUE(document.scan(text, needed)) << text << ": " << document.error();
    EXPECT_FALSE(document.over_token_limit());
    if (needed > 1) {
      EXPECT_FALSE(document.scan(text, needed - 1)) << text;
      EXPECT_TRUE(document.over_token_limit()) << text;
      EXPECT_EQ(document.error(), "the JSON body holds more than " + std::to_string(needed - 1) + " values and keys");
    }
    // Another scan forgets it.
    EXPECT_TRUE(document.scan(text, needed));
    EXPECT_FALSE(document.over_token_limit());
  }
  // Other errors are not this one.
  json_document document;
  EXPECT_FALSE(document.scan("[1,2,", 100));
  EXPECT_FALSE(document.over_token_limit());

  // A large document of tiny values, its buffer grown step by step up to the bound and no further.
  std::string tiny = "[";
  for (int i = 0; i < 100000; ++i) {
    tiny += i == 0 ? "1" : ",1";
  }
  tiny += "]";
  EXPECT_TRUE(document.scan(tiny, 100001));
  EXPECT_FALSE(document.scan(tiny, 100000));
  EXPECT_TRUE(document.over_token_limit());

  // The caller's allowance is asked each time the buffer is allocated or grown, and refusing fails
  // the scan the same way; a buffer already held is not asked for again.
  struct recorded final : token_allowance {
    explicit recorded(std::uint32_t limit) : most(limit) {}
    bool allow(std::uint32_t tokens) noexcept override {
      asked.push_back(tokens);
      return tokens <= most;
    }
    void replaced() noexcept override { ++replacements; }
    std::uint32_t most;
    std::vector<std::uint32_t> asked;
    std::size_t replacements = 0;
  };
  json_document fresh;
  recorded generous(1u << 20);
  EXPECT_TRUE(fresh.scan(tiny, json_document::no_token_limit, &generous));
  ASSERT_GE(generous.asked.size(), 2U);
  EXPECT_TRUE(std::is_sorted(generous.asked.begin(), generous.asked.end()));
  EXPECT_GE(generous.asked.back(), 100001U);
  EXPECT_EQ(generous.replacements, generous.asked.size()); // each buffer allowed took the last one's place
  recorded none(1u << 20);
  EXPECT_TRUE(fresh.scan(tiny, json_document::no_token_limit, &none));
  EXPECT_TRUE(none.asked.empty());
  // Near the end of the text the buffer grows by what the rest can hold, not by doubling: 140,001
  // values need a buffer of about that many, not 200,128.
  std::string longer = "[";
  for (int i = 0; i < 140000; ++i) {
    longer += i == 0 ? "1" : ",1";
  }
  longer += "]";
  json_document sized;
  recorded measured(1u << 20);
  EXPECT_TRUE(sized.scan(longer, json_document::no_token_limit, &measured));
  EXPECT_GE(measured.asked.back(), 140001U);
  EXPECT_LE(measured.asked.back(), 140001U + 16);
  json_document other;
  recorded stingy(50000);
  EXPECT_FALSE(other.scan(tiny, json_document::no_token_limit, &stingy));
  EXPECT_TRUE(other.over_token_limit());
  EXPECT_LE(stingy.asked.back(), 65536U * 2);
}

} // namespace
} // namespace hubgate::hubspot
