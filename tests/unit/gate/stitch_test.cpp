#include "hubgate/gate/gate.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "hubgate/hubspot/json_scan.hpp"
#include "hubgate/hubspot/text.hpp"

namespace hubgate::gate {
namespace {

using json = nlohmann::ordered_json;

decision split_with_two_blocked() {
  decision d;
  d.what = action::split;
  d.kept_items = {0, 2};
  d.blocked = {{1, "no-test-domains", "", 403, std::string_view("t-1")}, {3, "no-test-domains", "", 403, std::nullopt}};
  return d;
}

constexpr std::string_view results = R"([{"id":"1","properties":{"email":"a@corp.io"}},{"id":"2"}])";

TEST(stitch, edits_the_answer_where_it_lies_given_the_room) {
  const decision d = split_with_two_blocked();
  // numErrors and errors in the middle of the answer, so that bytes after each edit move.
  const std::string original = std::string(R"({"status":"COMPLETE","numErrors":1,"errors":[{"id":"e"}],"results":)") +
                               std::string(results) + R"(,"completedAt":"2024-03-01T10:15:00.000Z"})";
  std::string answer = original;
  answer.reserve(answer.size() + stitch_room(d));
  const char* storage = answer.data();
  const stitched_answer s = stitch(d, 201, std::move(answer));
  EXPECT_EQ(s.status, 207U);
  EXPECT_EQ(s.body.data(), storage) << "the answer was copied";
  const json body = json::parse(s.body);
  EXPECT_EQ(body["numErrors"], 3);
  ASSERT_EQ(body["errors"].size(), 3U);
  EXPECT_EQ(body["errors"][0]["id"], "e");
  EXPECT_EQ(body["errors"][2]["context"]["inputIndex"], json::array({"3"}));
  EXPECT_EQ(body["results"], json::parse(results));
  EXPECT_EQ(body["completedAt"], "2024-03-01T10:15:00.000Z");
  // The same bytes as from a copy of the answer without room.
  EXPECT_EQ(stitch(d, 201, original).body, s.body);
}

TEST(stitch, appends_errors_and_keeps_the_answer_s_own_bytes) {
  const std::string upstream = std::string(R"({"status":"COMPLETE", "results":)") + std::string(results) +
                               R"(,"startedAt":"2024-03-01T10:15:00.000Z","note":"caf\u00e9"})";
  const stitched_answer s = stitch(split_with_two_blocked(), 201, upstream);
  EXPECT_EQ(s.status, 207U);
  // Everything HubSpot sent is there as sent; the new members follow it.
  ASSERT_TRUE(s.body.starts_with(upstream.substr(0, upstream.size() - 1))) << s.body;
  const json body = json::parse(s.body);
  EXPECT_EQ(body["results"], json::parse(results));
  EXPECT_EQ(body["numErrors"], 2);
  ASSERT_EQ(body["errors"].size(), 2U);
  EXPECT_EQ(body["errors"][0]["category"], "POLICY_BLOCKED");
  EXPECT_EQ(body["errors"][0]["context"]["inputIndex"], json::array({"1"}));
  EXPECT_EQ(body["errors"][0]["context"]["objectWriteTraceId"], json::array({"t-1"}));
  EXPECT_EQ(body["errors"][0], json::parse(R"({"status":"error","category":"POLICY_BLOCKED",)"
                                            R"("message":"Blocked by hubgate rule 'no-test-domains'",)"
                                            R"("context":{"inputIndex":["1"],"rule":["no-test-domains"],)"
                                            R"("objectWriteTraceId":["t-1"]},"errors":[],"links":{}})"));
  EXPECT_EQ(body["errors"][1]["context"]["inputIndex"], json::array({"3"}));
  EXPECT_FALSE(body["errors"][1]["context"].contains("objectWriteTraceId"));
  std::vector<std::string> keys;
  for (const auto& item : body.items()) {
    keys.push_back(item.key());
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"status", "results", "startedAt", "note", "numErrors", "errors"}));
}

// Every item blocked: nothing was forwarded, and the whole 207 is hubgate's, one error an item in
// the items' order, however many there are.
TEST(stitch, answers_a_batch_with_every_item_blocked_on_its_own) {
  for (const std::size_t items : {std::size_t{1}, std::size_t{3}, std::size_t{20000}}) {
    decision d;
    d.what = action::split;
    for (std::size_t i = 0; i < items; ++i) {
      d.blocked.push_back({i, i % 2 == 0 ? "no-test-domains" : "no \"quoted\" rule", "", 403,
                           i == 1 ? std::optional<std::string_view>("t-1") : std::nullopt});
    }
    const stitched_answer s = stitch(d, 0, {});
    EXPECT_EQ(s.status, 207U);
    const json body = json::parse(s.body);
    EXPECT_EQ(body["status"], "COMPLETE");
    EXPECT_EQ(body["results"], json::array());
    EXPECT_EQ(body["startedAt"], body["completedAt"]);
    EXPECT_EQ(body["numErrors"], items);
    ASSERT_EQ(body["errors"].size(), items);
    for (std::size_t i = 0; i < items; i += 997) {
      const json& error = body["errors"][i];
      EXPECT_EQ(error["category"], "POLICY_BLOCKED");
      EXPECT_EQ(error["context"]["inputIndex"], json::array({std::to_string(i)}));
      EXPECT_EQ(error["context"]["rule"], json::array({i % 2 == 0 ? "no-test-domains" : "no \"quoted\" rule"}));
    }
    if (items > 1) {
      EXPECT_EQ(body["errors"][1]["context"]["objectWriteTraceId"], json::array({"t-1"}));
    }
  }
}

TEST(stitch, error_texts_are_escaped) {
  decision d = split_with_two_blocked();
  d.blocked[0].message = "say \"no\"\n\\ \x01";
  d.blocked[0].rule = "r\"1";
  d.blocked[0].trace_id = "t\t1";
  const json body = json::parse(stitch(d, 201, R"({"results":[]})").body);
  EXPECT_EQ(body["errors"][0]["message"], "say \"no\"\n\\ \x01");
  EXPECT_EQ(body["errors"][0]["context"]["rule"], json::array({"r\"1"}));
  EXPECT_EQ(body["errors"][0]["context"]["objectWriteTraceId"], json::array({"t\t1"}));
}

TEST(stitch, adds_to_hubspot_s_own_errors_and_count) {
  const std::string upstream = std::string(R"({"status":"COMPLETE","numErrors":1,"errors":[{"status":"error",)") +
                               R"("category":"VALIDATION_ERROR"}],"results":)" + std::string(results) + "}";
  const json body = json::parse(stitch(split_with_two_blocked(), 207, upstream).body);
  EXPECT_EQ(body["numErrors"], 3);
  ASSERT_EQ(body["errors"].size(), 3U);
  EXPECT_EQ(body["errors"][0]["category"], "VALIDATION_ERROR");
  EXPECT_EQ(body["errors"][2]["context"]["inputIndex"], json::array({"3"}));
  EXPECT_EQ(body.begin().key(), "status");

  const json empty = json::parse(
      stitch(split_with_two_blocked(), 201, R"({"errors": [ ],"results":[],"numErrors":0})").body);
  EXPECT_EQ(empty["numErrors"], 2);
  EXPECT_EQ(empty["errors"].size(), 2U);

  const json not_a_list =
      json::parse(stitch(split_with_two_blocked(), 201, R"({"errors":null,"results":[]})").body);
  EXPECT_EQ(not_a_list["errors"].size(), 2U);
  EXPECT_EQ(not_a_list["numErrors"], 2);
}


// stitch() as it was before the answer was skimmed: the strict scanner over the whole answer, the
// error texts built one by one. The skim must give the same bytes on any answer the strict scanner
// reads (and the same slow way or unchanged answer on the rest that neither reads).
namespace before_skim {

std::string block_message(const blocked_item& item) {
  if (!item.message.empty()) {
    return std::string(item.message);
  }
  if (item.rule == rules::default_rule_name) {
    return "Creating contacts through the API is not allowed here (hubgate's default rule)";
  }
  return "Blocked by hubgate rule '" + std::string(item.rule) + "'";
}

void append_blocked_error(const blocked_item& b, std::string& out) {
  out += R"({"status":"error","category":")";
  out += "POLICY_BLOCKED";
  out += R"(","message":)";
  hubspot::append_json_string(out, block_message(b));
  out += R"(,"context":{"inputIndex":[")";
  out += std::to_string(b.index);
  out += R"("],"rule":[)";
  hubspot::append_json_string(out, b.rule);
  out += "]";
  if (b.trace_id) {
    out += R"(,"objectWriteTraceId":[)";
    hubspot::append_json_string(out, *b.trace_id);
    out += "]";
  }
  out += R"(},"errors":[],"links":{}})";
}

std::string blocked_errors_text(const decision& split) {
  std::string out;
  for (const auto& b : split.blocked) {
    if (!out.empty()) {
      out.push_back(',');
    }
    append_blocked_error(b, out);
  }
  return out;
}

std::optional<std::string> splice_errors(const decision& split, std::string_view upstream_body) {
  hubspot::json_document document;
  if (!document.scan(upstream_body) || !document.root().is_object()) {
    return std::nullopt;
  }
  const hubspot::json_value root = document.root();
  std::optional<hubspot::json_value> results;
  std::optional<hubspot::json_value> errors;
  std::optional<hubspot::json_value> num_errors;
  for (const auto& [key, value] : root.members()) {
    if (key.string_equals("results")) {
      results = value;
    } else if (key.string_equals("errors")) {
      errors = value;
    } else if (key.string_equals("numErrors")) {
      num_errors = value;
    }
  }
  if (!results || !results->is_array()) {
    return std::nullopt;
  }
  struct splice {
    std::uint32_t begin;
    std::uint32_t end;
    std::string text;
  };
  const std::string added = blocked_errors_text(split);
  const std::size_t upstream_errors = errors && errors->is_array() ? errors->size() : 0;
  const std::string count = std::to_string(upstream_errors + split.blocked.size());
  std::vector<splice> splices;
  if (errors && errors->is_array()) {
    const std::uint32_t close = errors->end_offset() - 1;
    splices.push_back({close, close, (upstream_errors > 0 ? "," : "") + added});
  } else if (errors) {
    splices.push_back({errors->begin_offset(), errors->end_offset(), "[" + added + "]"});
  }
  if (num_errors) {
    splices.push_back({num_errors->begin_offset(), num_errors->end_offset(), count});
  }
  std::string appended;
  if (!num_errors) {
    appended += ",\"numErrors\":" + count;
  }
  if (!errors) {
    appended += ",\"errors\":[" + added + "]";
  }
  if (!appended.empty()) {
    const std::uint32_t close = root.end_offset() - 1;
    splices.push_back({close, close, std::move(appended)});
  }
  std::sort(splices.begin(), splices.end(), [](const splice& a, const splice& b) { return a.begin < b.begin; });
  std::string out;
  std::uint32_t at = 0;
  for (const splice& s : splices) {
    out.append(upstream_body.substr(at, s.begin - at));
    out += s.text;
    at = s.end;
  }
  out.append(upstream_body.substr(at));
  return out;
}

// Only the kept-items path (the every-item-blocked answer carries the time).
stitched_answer stitch(const decision& split, unsigned upstream_status, std::string_view upstream_body) {
  if (upstream_status < 200 || upstream_status > 299) {
    return {upstream_status, std::string(upstream_body)};
  }
  if (auto spliced = splice_errors(split, upstream_body)) {
    return {207, std::move(*spliced)};
  }
  nlohmann::ordered_json answer = nlohmann::ordered_json::parse(upstream_body, nullptr, false);
  if (answer.is_discarded() || !answer.is_object() || !answer.contains("results") || !answer["results"].is_array()) {
    return {upstream_status, std::string(upstream_body)};
  }
  auto errors =
      answer.contains("errors") && answer["errors"].is_array() ? answer["errors"] : nlohmann::ordered_json::array();
  for (const auto& b : split.blocked) {
    std::string text;
    append_blocked_error(b, text);
    errors.push_back(nlohmann::ordered_json::parse(text));
  }
  answer["numErrors"] = errors.size();
  answer["errors"] = std::move(errors);
  return {207, answer.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
}

} // namespace before_skim

// Decisions whose blocked items vary: one rule or several, rule messages, the default rule,
// texts to escape, trace ids or none.
std::vector<decision> split_decisions() {
  std::vector<decision> out;
  out.push_back(split_with_two_blocked());
  decision one;
  one.what = action::split;
  one.kept_items = {1};
  one.blocked = {{0, rules::default_rule_name, "", 403, std::nullopt}};
  out.push_back(std::move(one));
  decision many;
  many.what = action::split;
  many.kept_items = {0};
  for (std::size_t i = 1; i < 60; ++i) {
    const std::string_view rule = i % 7 == 0 ? std::string_view("r\"\\\x01\xC3\xA9\xFF") : std::string_view("one-rule");
    const std::string_view message = i % 5 == 0 ? std::string_view("No \"test\"\tdomains, caf\xC3\xA9") : std::string_view();
    many.blocked.push_back({i * 3, rule, message, 403,
                            i % 2 == 0 ? std::optional<std::string_view>("trace-\"1\"") : std::nullopt});
  }
  out.push_back(std::move(many));
  return out;
}

// HubSpot answers of many shapes: members present or not and in any order, `errors` and
// `numErrors` of every kind, whitespace and pretty printing, escapes and unicode, brackets and
// backslash runs inside strings, escaped keys, a byte order mark.
std::vector<std::string> answer_shapes() {
  const std::vector<std::string> results_values = {
      "[]", "[ ]", R"([{"id":"1","properties":{"email":"a@b.io"}}])",
      R"([{"id":"1","note":"]}],\"[{","tail":"\\\\"},{"id":"2","list":[[],[{}],"\\\"]"],"x":"caf\u00e9 \ud83d\ude00 é"}])",
      "[" + std::string(300, ' ') + R"({"long":")" + std::string(200, 'x') + R"(\\\"]}\\"})" + "]"};
  const std::vector<std::string> errors_values = {
      "", "[]", "[ ]", "[\n]", R"([{"status":"error","category":"VALIDATION_ERROR","context":{"ids":["1"]}}])",
      R"([{"a":"]"},{"b":["}"]},3])", "null", "{}", R"({"status":"x"})", R"("errors")", "0", "true"};
  const std::vector<std::string> count_values = {"", "0", "1", "12", "-1", "1.5e2", R"("2")", "null", "[1]"};
  std::vector<std::string> out;
  std::size_t variant = 0;
  for (const auto& results_value : results_values) {
    for (const auto& errors : errors_values) {
      for (const auto& count : count_values) {
        std::vector<std::pair<std::string, std::string>> members = {
            {"status", R"("COMPLETE")"}, {"results", results_value}, {"startedAt", R"("2024-03-01T10:15:00.000Z")"}};
        if (!errors.empty()) {
          members.emplace_back("errors", errors);
        }
        if (!count.empty()) {
          members.emplace_back("numErrors", count);
        }
        members.emplace_back("links", R"({"x":"a\"b}"})");
        // A different order each time, and key spellings with escapes.
        std::rotate(members.begin(), members.begin() + static_cast<std::ptrdiff_t>(variant % members.size()),
                    members.end());
        if (variant % 3 == 1) {
          std::reverse(members.begin(), members.end());
        }
        const auto key = [&](const std::string& name) {
          if (variant % 4 == 2 && name == "results") {
            return std::string(R"("res\u0075lts")");
          }
          if (variant % 4 == 3 && name == "numErrors") {
            return std::string(R"("num\u0045rrors")");
          }
          if (variant % 5 == 4 && name == "errors") {
            return std::string(R"("\u0065rrors")");
          }
          return "\"" + name + "\"";
        };
        std::string compact = "{";
        std::string spaced = " {\n";
        for (std::size_t m = 0; m < members.size(); ++m) {
          compact += (m == 0 ? "" : ",") + key(members[m].first) + ":" + members[m].second;
          spaced += (m == 0 ? "  " : " ,\r\n\t") + key(members[m].first) + " : " + members[m].second;
        }
        compact += "}";
        spaced += "\n}\n";
        out.push_back(compact);
        out.push_back(spaced);
        if (variant % 6 == 0) {
          out.push_back("\xEF\xBB\xBF" + compact);
        }
        ++variant;
      }
    }
  }
  // Pretty printed by nlohmann, as a server might.
  const std::size_t compact_count = out.size();
  for (std::size_t i = 0; i < compact_count; i += 5) {
    const auto parsed = json::parse(out[i], nullptr, false);
    if (!parsed.is_discarded()) {
      out.push_back(parsed.dump(2));
      out.push_back(parsed.dump(1, '\t', true));
    }
  }
  return out;
}

TEST(stitch, gives_the_bytes_the_strict_scan_gave_on_every_answer_shape) {
  const auto decisions = split_decisions();
  const auto answers = answer_shapes();
  std::size_t spliced = 0;
  for (const auto& answer : answers) {
    hubspot::json_document document;
    const bool strict = document.scan(answer);
    for (const auto& d : decisions) {
      const stitched_answer expected = before_skim::stitch(d, 201, answer);
      const stitched_answer got = stitch(d, 201, answer);
      ASSERT_EQ(got.status, expected.status) << answer;
      ASSERT_EQ(got.body, expected.body) << answer;
      if (strict && expected.status == 207) {
        ++spliced;
      }
    }
  }
  EXPECT_GT(spliced, 1000U);
}

// Garbled answers: wherever the strict scanner reads one, the same bytes; elsewhere no crash and no
// read past the answer (AddressSanitizer would say).
TEST(stitch, garbled_answers_give_the_strict_scan_s_bytes_wherever_it_reads_them) {
  const auto decisions = split_decisions();
  const auto answers = answer_shapes();
  std::mt19937_64 random(11);
  constexpr std::string_view specials("[]{}\",:\\ 0an\x00", 13);
  std::size_t compared = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string answer = answers[random() % answers.size()];
    const int edits = 1 + static_cast<int>(random() % 3);
    for (int e = 0; e < edits && !answer.empty(); ++e) {
      const std::size_t at = random() % answer.size();
      switch (random() % 4) {
        case 0: answer[at] = specials[random() % specials.size()]; break;
        case 1: answer.erase(at, 1 + random() % 4); break;
        case 2: answer.insert(at, 1, specials[random() % specials.size()]); break;
        default: answer.resize(at); break;
      }
    }
    const decision& d = decisions[random() % decisions.size()];
    const stitched_answer got = stitch(d, 200, answer);
    hubspot::json_document document;
    if (document.scan(answer)) {
      const stitched_answer expected = before_skim::stitch(d, 200, answer);
      ASSERT_EQ(got.status, expected.status) << answer;
      ASSERT_EQ(got.body, expected.body) << answer;
      ++compared;
    }
  }
  EXPECT_GT(compared, 300U);
}

TEST(stitch, answers_it_cannot_read_strictly_take_the_slow_way_or_pass_unchanged) {
  // Repeated keys: the strict scanner refuses them, nlohmann's reader keeps the last one.
  const json repeated =
      json::parse(stitch(split_with_two_blocked(), 201, R"({"results":{},"results":[{"id":"1"}]})").body);
  EXPECT_EQ(repeated["results"].size(), 1U);
  EXPECT_EQ(repeated["numErrors"], 2);

  const std::string_view no_results = R"({"status":"COMPLETE"})";
  EXPECT_EQ(stitch(split_with_two_blocked(), 201, std::string(no_results)).body, no_results);
  EXPECT_EQ(stitch(split_with_two_blocked(), 201, std::string(no_results)).status, 201U);
  EXPECT_EQ(stitch(split_with_two_blocked(), 201, "not json").body, "not json");
  const stitched_answer failed = stitch(split_with_two_blocked(), 400, R"({"results":[]})");
  EXPECT_EQ(failed.status, 400U);
  EXPECT_EQ(failed.body, R"({"results":[]})");
}

} // namespace
} // namespace hubgate::gate
