#include "hubgate/gate/gate.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <string>

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
                                            R"("objectWriteTraceId":["t-1"]},"errors":[],"links":{},"subCategory":{}})"));
  EXPECT_EQ(body["errors"][1]["context"]["inputIndex"], json::array({"3"}));
  EXPECT_FALSE(body["errors"][1]["context"].contains("objectWriteTraceId"));
  std::vector<std::string> keys;
  for (const auto& item : body.items()) {
    keys.push_back(item.key());
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"status", "results", "startedAt", "note", "numErrors", "errors"}));
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

TEST(stitch, answers_it_cannot_read_strictly_take_the_slow_way_or_pass_unchanged) {
  // Repeated keys: the strict scanner refuses them, nlohmann's reader keeps the last one.
  const json repeated =
      json::parse(stitch(split_with_two_blocked(), 201, R"({"results":{},"results":[{"id":"1"}]})").body);
  EXPECT_EQ(repeated["results"].size(), 1U);
  EXPECT_EQ(repeated["numErrors"], 2);

  const std::string_view no_results = R"({"status":"COMPLETE"})";
  EXPECT_EQ(stitch(split_with_two_blocked(), 201, no_results).body, no_results);
  EXPECT_EQ(stitch(split_with_two_blocked(), 201, no_results).status, 201U);
  EXPECT_EQ(stitch(split_with_two_blocked(), 201, "not json").body, "not json");
  const stitched_answer failed = stitch(split_with_two_blocked(), 400, R"({"results":[]})");
  EXPECT_EQ(failed.status, 400U);
  EXPECT_EQ(failed.body, R"({"results":[]})");
}

} // namespace
} // namespace hubgate::gate
