#include "hubgate/hubspot/json_skim.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "hubgate/hubspot/json_scan.hpp"

namespace hubgate::hubspot {
namespace {

constexpr std::array<std::string_view, 3> names{"results", "errors", "numErrors"};
using found_values = std::array<std::optional<skimmed_value>, 3>;

// The text in a heap block of exactly its size, so that AddressSanitizer sees a read past its end.
struct exact_text {
  explicit exact_text(std::string_view text) : bytes(text.begin(), text.end()) {}
  std::string_view view() const { return {bytes.data(), bytes.size()}; }
  std::vector<char> bytes;
};

std::optional<skimmed_object> skim(std::string_view text, found_values& found) {
  const exact_text copy(text);
  return skim_object(copy.view(), names, found);
}

bool understood(std::string_view text) {
  found_values found;
  return skim(text, found).has_value();
}

// Every reader of containers in turn (the CPU's best, SSE2, a byte at a time), restored after.
template <typename Check>
void with_each_reader(Check check) {
  for (const auto reader : {detail::skim_reader::best, detail::skim_reader::sse2, detail::skim_reader::bytewise}) {
    detail::json_skim_force(reader);
    check();
  }
  detail::json_skim_force(detail::skim_reader::best);
}

TEST(json_skim, finds_the_root_members_and_their_spans) {
  const std::string_view text = R"( {"status":"COMPLETE", "results" : [{"id":"1"}], "numErrors":2,"errors":null} )";
  found_values found;
  const auto root = skim(text, found);
  ASSERT_TRUE(root);
  EXPECT_EQ(root->begin, 1U);
  EXPECT_EQ(root->end, text.size() - 1);
  ASSERT_TRUE(found[0] && found[1] && found[2]);
  EXPECT_EQ(found[0]->kind, skim_kind::array);
  EXPECT_EQ(text.substr(found[0]->begin, found[0]->end - found[0]->begin), R"([{"id":"1"}])");
  EXPECT_EQ(found[1]->kind, skim_kind::null);
  EXPECT_EQ(text.substr(found[1]->begin, found[1]->end - found[1]->begin), "null");
  EXPECT_EQ(found[2]->kind, skim_kind::number);
  EXPECT_EQ(text.substr(found[2]->begin, found[2]->end - found[2]->begin), "2");

  ASSERT_TRUE(skim(R"({"status":"x"})", found));
  EXPECT_FALSE(found[0] || found[1] || found[2]);
  ASSERT_TRUE(skim("{ }", found));
  ASSERT_TRUE(skim("\xEF\xBB\xBF{\"results\":[]}", found));
  EXPECT_EQ(found[0]->begin, 14U);
}

TEST(json_skim, keys_are_compared_decoded) {
  found_values found;
  ASSERT_TRUE(skim(R"({"res\u0075lts":[1],"\u0065rrors":[],"num\u0045rrors":0})", found));
  ASSERT_TRUE(found[0] && found[1] && found[2]);
  EXPECT_EQ(found[0]->kind, skim_kind::array);
  ASSERT_TRUE(skim(R"({"a\"b":1,"a\\b":2,"a\/b":3,"\ud83d\ude00":4,"\b\f\n\r\t":5,"results":[]})", found));
  EXPECT_TRUE(found[0]);
  // Two keys the same once decoded; a surrogate pair and the UTF-8 it names.
  EXPECT_FALSE(understood(R"({"results":[],"res\u0075lts":[]})"));
  EXPECT_FALSE(understood("{\"\\ud83d\\ude00\":1,\"\xF0\x9F\x98\x80\":2}"));
  // Escapes JSON does not have, and lone surrogates.
  EXPECT_FALSE(understood(R"({"\x41":1})"));
  EXPECT_FALSE(understood(R"({"\u12":1})"));
  EXPECT_FALSE(understood(R"({"\u12G4":1})"));
  EXPECT_FALSE(understood(R"({"\ud83d":1})"));
  EXPECT_FALSE(understood(R"({"\ud83dx":1})"));
  EXPECT_FALSE(understood(R"({"\ud83d\u0041":1})"));
  EXPECT_FALSE(understood(R"({"\ude00":1})"));
  // Keys that only look alike are not repeats.
  EXPECT_TRUE(understood(R"({"results":[],"Results":[],"results ":1})"));
}

TEST(json_skim, a_repeated_top_level_key_is_not_understood_a_nested_one_is_not_its_business) {
  EXPECT_FALSE(understood(R"({"status":"a","results":[],"status":"b"})"));
  EXPECT_FALSE(understood(R"({"results":[],"results":[]})"));
  EXPECT_TRUE(understood(R"({"results":[{"id":1,"id":2}],"x":{"a":1,"a":2}})"));
  // Past the keys compared pairwise, sorted.
  std::string many = "{";
  for (int i = 0; i < 200; ++i) {
    many += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + ",";
  }
  EXPECT_TRUE(understood(many + "\"results\":[]}"));
  EXPECT_FALSE(understood(many + "\"k17\":[]}"));
  EXPECT_FALSE(understood(many + "\"k\\u0031\":[],\"k1\":2}"));
}

TEST(json_skim, what_it_is_not_sure_about_is_not_understood) {
  for (const std::string_view text : {
           "", " ", "[]", "\"x\"", "1", "null", "{", "}", "{\"a\"", "{\"a\":", "{\"a\":1", "{\"a\":1,", "{\"a\":1,}",
           "{,}", "{\"a\" 1}", "{\"a\":1 \"b\":2}", "{a:1}", "{'a':1}", "{\"a\":1}x", "{\"a\":1}{}", "{\"a\":1}]",
           "{\"a\":tru}", "{\"a\":truex}", "{\"a\":nul}", "{\"a\":False}", "{\"a\":01}", "{\"a\":-}", "{\"a\":1.}",
           "{\"a\":.5}", "{\"a\":1e}", "{\"a\":1e+}", "{\"a\":+1}", "{\"a\":NaN}", "{\"a\":[}", "{\"a\":[[]}",
           "{\"a\":{\"b\":1}", "{\"a\":\"x}", "{\"a\":\"x\\\"}", "{\"a\":[\"]\"}", "{\"a\":]}", "{\"a\":}",
           "{\"a\"::1}", "{\"a\":1}\xEF\xBB\xBF", "\xEF\xBB{}"}) {
    with_each_reader([&] { EXPECT_FALSE(understood(text)) << text; });
  }
  with_each_reader([&] { EXPECT_FALSE(understood(std::string_view("{\"results\":[]}\0", 15))); });
  for (const std::string_view text :
       {"{}", " {\"a\":1} \n", "{\"a\":-0.5e+3,\"b\":true,\"c\":false,\"d\":null,\"e\":\"\",\"f\":[],\"g\":{}}",
        "{\"a\":\"]}\\\"[{\",\"b\":[\"]\",\"}\",{\"c\":\"[\"}]}", "{\"a\":\"\\\\\\\\\",\"b\":[\"\\\\\"]}",
        "\t{\r\n\"a\"\t:\n1\r}\r\n"}) {
    with_each_reader([&] { EXPECT_TRUE(understood(text)) << text; });
  }
}

TEST(json_skim, counts_an_array_s_elements) {
  const auto size_of = [](std::string_view text) -> std::optional<std::size_t> {
    found_values found;
    const exact_text copy(text);
    if (!skim_object(copy.view(), names, found) || !found[1]) {
      return std::nullopt;
    }
    return skim_array_size(copy.view(), *found[1]);
  };
  EXPECT_EQ(size_of(R"({"errors":[]})"), 0U);
  EXPECT_EQ(size_of(R"({"errors":[ ]})"), 0U);
  EXPECT_EQ(size_of(R"({"errors":[1]})"), 1U);
  EXPECT_EQ(size_of(R"({"errors":[ {"a":[1,2]} , "x,y" ,[3,4],null,true,-1.5e3 ]})"), 6U);
  EXPECT_EQ(size_of(R"({"errors":[1,]})"), std::nullopt);
  EXPECT_EQ(size_of(R"({"errors":[,1]})"), std::nullopt);
  EXPECT_EQ(size_of(R"({"errors":[1 2]})"), std::nullopt);
  EXPECT_EQ(size_of(R"({"errors":[tru]})"), std::nullopt);
  EXPECT_EQ(size_of(R"({"errors":[{]]})"), 1U); // brackets balance whatever their kind: not checked
  EXPECT_EQ(size_of(R"({"errors":{}})"), std::nullopt);
  EXPECT_EQ(skim_array_size("[1]", skimmed_value{skim_kind::array, 0, 5}), std::nullopt);
  EXPECT_EQ(skim_array_size("[1]", skimmed_value{skim_kind::object, 0, 3}), std::nullopt);
}

TEST(json_skim, nests_as_deep_as_the_strict_scanner_and_no_deeper) {
  const auto nested = [](std::size_t depth, std::string_view inner) {
    return "{\"results\":[],\"x\":" + std::string(depth, '[') + std::string(inner) + std::string(depth, ']') + "}";
  };
  for (const std::string_view inner : {"", "1", "\"[[[[\"", "[],[],{}"}) {
    with_each_reader([&] {
      for (std::size_t depth = 1; depth < 130; ++depth) {
        json_document document;
        const std::string text = nested(depth, inner);
        EXPECT_EQ(understood(text), document.scan(text)) << text;
      }
    });
  }
  with_each_reader([&] {
    EXPECT_TRUE(understood(nested(63, "")));
    EXPECT_FALSE(understood(nested(64, "")));
  });
  // Deep brackets spread over several blocks, then closed: the block readers' shortcut must not
  // miss a depth past the limit.
  std::string spread = "{\"x\":";
  for (int i = 0; i < 70; ++i) {
    spread += "[" + std::string(40, ' ');
  }
  spread += std::string(70, ']') + "}";
  with_each_reader([&] { EXPECT_FALSE(understood(spread)); });
}

TEST(json_skim, deep_nesting_neither_recurses_nor_runs_past_the_end) {
  const std::size_t depth = 1'000'000;
  std::string deep = "{\"results\":[],\"x\":" + std::string(depth, '[') + std::string(depth, ']') + "}";
  with_each_reader([&] { EXPECT_FALSE(understood(deep)); });
  std::string open = "{\"results\":[],\"x\":" + std::string(depth, '[') + "}";
  with_each_reader([&] { EXPECT_FALSE(understood(open)); });
  // A string of backslashes: an even run before a quote closes the string, an odd one escapes it.
  const auto backslashes = [](std::size_t run) {
    return "{\"x\":[\"" + std::string(run, '\\') + "\"],\"y\":\"" + std::string(run, '\\') + "\"}";
  };
  with_each_reader([&] { EXPECT_TRUE(understood(backslashes(100'000))); });
  with_each_reader([&] { EXPECT_FALSE(understood(backslashes(100'001))); });
  for (std::size_t run = 0; run < 140; ++run) {
    with_each_reader([&] { EXPECT_EQ(understood(backslashes(run)), run % 2 == 0) << run; });
  }
}

// The block readers agree with the byte-at-a-time reader on any text, wherever the container
// starts in a block: backslash runs across blocks, quotes, brackets of both kinds.
TEST(json_skim, block_readers_agree_with_the_bytewise_reader) {
  std::mt19937_64 random(20261128);
  constexpr std::string_view alphabet = "[]{}\"\\\\\\a ,:";
  std::size_t containers = 0;
  for (int round = 0; round < 1500; ++round) {
    std::string text(1 + random() % 300, ' ');
    for (char& c : text) {
      c = alphabet[random() % alphabet.size()];
    }
    // Some texts mostly plain, so that containers close across several blocks.
    if (round % 3 == 0) {
      for (char& c : text) {
        if (random() % 8 != 0) {
          c = 'x';
        }
      }
    }
    const exact_text copy(text);
    for (std::size_t open = 0; open < text.size(); ++open) {
      if (text[open] != '[' && text[open] != '{') {
        continue;
      }
      ++containers;
      const std::size_t limit = round % 2 == 0 ? ~std::size_t{0} : 1 + random() % 8;
      detail::json_skim_force(detail::skim_reader::bytewise);
      const auto expected = detail::json_skim_container_end(copy.view(), open, limit);
      for (const auto reader : {detail::skim_reader::sse2, detail::skim_reader::best}) {
        detail::json_skim_force(reader);
        ASSERT_EQ(detail::json_skim_container_end(copy.view(), open, limit), expected)
            << text << " from " << open << " limit " << limit;
      }
    }
  }
  detail::json_skim_force(detail::skim_reader::best);
  EXPECT_GT(containers, 5'000U);
}

std::string answer_like(std::mt19937_64& random) {
  std::string text = R"({"status":"COMPLETE","results":[)";
  const std::size_t items = random() % 6;
  for (std::size_t i = 0; i < items; ++i) {
    if (i != 0) {
      text += ',';
    }
    text += R"({"id":")" + std::to_string(random() % 100000) +
            R"(","properties":{"email":"a\"]}@b.io","note":"x\\\\","tags":["[",{"k":"}"}]},"archived":false})";
  }
  text += R"(],"errors":[{"status":"error","context":{"ids":["1","2"]}}],"numErrors":1,)";
  text += R"("startedAt":"2024-03-01T10:15:00.000Z","n":-1.25e-3,"t":true,"z":null})";
  return text;
}

// Garbled answers: the skim never reads past the text (AddressSanitizer would say), and whenever
// the strict scanner accepts one it finds the same members at the same offsets.
TEST(json_skim, garbled_answers_are_read_safely_and_agree_with_the_strict_scanner) {
  std::mt19937_64 random(7);
  constexpr std::string_view specials("[]{}\"\\,: 0a\x00\xFF", 13);
  std::size_t agreed = 0;
  for (int round = 0; round < 4000; ++round) {
    std::string text = answer_like(random);
    const int edits = static_cast<int>(random() % 4);
    for (int e = 0; e < edits && !text.empty(); ++e) {
      const std::size_t at = random() % text.size();
      switch (random() % 4) {
        case 0: text[at] = specials[random() % specials.size()]; break;
        case 1: text.erase(at, 1 + random() % 3); break;
        case 2: text.insert(at, 1, specials[random() % specials.size()]); break;
        default: text.resize(at); break;
      }
    }
    for (const auto reader : {detail::skim_reader::best, detail::skim_reader::bytewise}) {
      detail::json_skim_force(reader);
      found_values found;
      const auto root = skim(text, found);
      json_document document;
      if (!document.scan(text) || !document.root().is_object()) {
        continue;
      }
      ASSERT_TRUE(root) << text;
      EXPECT_EQ(root->begin, document.root().begin_offset());
      EXPECT_EQ(root->end, document.root().end_offset());
      for (std::size_t n = 0; n < names.size(); ++n) {
        std::optional<json_value> strict;
        for (const auto& [key, value] : document.root().members()) {
          if (key.string_equals(names[n])) {
            strict = value;
          }
        }
        ASSERT_EQ(found[n].has_value(), strict.has_value()) << text;
        if (strict) {
          EXPECT_EQ(found[n]->begin, strict->begin_offset()) << text;
          EXPECT_EQ(found[n]->end, strict->end_offset()) << text;
          EXPECT_EQ(found[n]->kind == skim_kind::array, strict->is_array()) << text;
          if (strict->is_array()) {
            EXPECT_EQ(skim_array_size(text, *found[n]), strict->size()) << text;
          }
        }
      }
      ++agreed;
    }
  }
  detail::json_skim_force(detail::skim_reader::best);
  EXPECT_GT(agreed, 1000U);
}

// Every proper prefix of an answer is truncated, and not understood.
TEST(json_skim, every_truncation_is_not_understood) {
  std::mt19937_64 random(3);
  const std::string text = answer_like(random);
  ASSERT_TRUE(understood(text));
  with_each_reader([&] {
    for (std::size_t size = 0; size < text.size(); ++size) {
      ASSERT_FALSE(understood(std::string_view(text).substr(0, size))) << size;
    }
  });
}

// Answers read whole as a DOM: one nested deeper than the scanner reads requests, or larger than
// the DOM may take, is discarded (never parsed), as one that is not JSON is.
TEST(json_skim, parse_answer_discards_what_it_must_not_build_a_dom_of) {
  const auto nested = [](std::size_t depth) {
    return R"({"results":)" + std::string(depth - 1, '[') + std::string(depth - 1, ']') + "}";
  };
  EXPECT_TRUE(parse_answer(nested(64)).is_object());
  EXPECT_TRUE(parse_answer(nested(65)).is_discarded());
  EXPECT_TRUE(parse_answer(nested(70000)).is_discarded());
  // Brackets inside strings are text.
  EXPECT_TRUE(parse_answer(R"({"x":")" + std::string(100, '[') + R"("})").is_object());
  EXPECT_TRUE(parse_answer("\xEF\xBB\xBF {\"id\":\"1\"}").is_object());
  EXPECT_TRUE(parse_answer("<html>").is_discarded());
  EXPECT_TRUE(parse_answer(R"({"id":"1"} x)").is_discarded());
  std::string large = R"({"x":")" + std::string(answer_dom_limit, 'a') + R"("})";
  EXPECT_TRUE(parse_answer(large).is_discarded());
  large.resize(answer_dom_limit - 2);
  large += "\"}";
  EXPECT_TRUE(parse_answer(large).is_object());
}

} // namespace
} // namespace hubgate::hubspot
