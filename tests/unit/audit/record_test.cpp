#include "hubgate/audit/record.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "../metrics/sample_rules.hpp"

namespace hubgate::audit {
namespace {

using json = nlohmann::json;

// A request decided by the real gate under the sample rules.
struct decided {
  std::shared_ptr<const rules::rule_set> rules;
  gate::decision decision;
};

decided decide(std::string_view target, std::string_view body) {
  decided out;
  out.rules = testing::load_rules();
  EXPECT_NE(out.rules, nullptr);
  const auto classification = hubspot::classify("POST", target);
  EXPECT_NE(classification.op, nullptr) << target;
  const gate::request_view view{"POST", target, body, "application/json", "", nullptr, {}};
  out.decision = gate::decide(*out.rules, classification, view, "corr-1");
  return out;
}

json line_of(const decided& d, unsigned status, unsigned upstream_status, std::string_view answer,
             const email_redactor* redactor) {
  request_summary s;
  s.time = std::chrono::system_clock::time_point(std::chrono::milliseconds(1'790'000'000'123));
  s.correlation_id = "corr-1";
  s.client = {"", "10.0.0.7", "hubspot-api-client-nodejs; 14.0.0", "3f9a2b1c"};
  s.op = d.decision.op;
  s.decision = "x";
  s.status = status;
  s.upstream_status = upstream_status;
  s.rules_hash = "9c1e4b2a7d30aaaaaaaa";
  s.gate = &d.decision;
  s.answer = answer;
  const auto line = audit_line(s, redactor);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  return json::parse(line);
}

TEST(audit_record, a_blocked_record_names_its_rule_and_no_id) {
  const email_redactor redactor("k");
  const auto d = decide("/crm/v3/objects/contacts", R"({"properties":{"email":"Jo@Test.com"}})");
  const auto line = line_of(d, 403, 0, "", &redactor);
  EXPECT_EQ(line["time"], "2026-09-21T14:13:20.123Z");
  EXPECT_EQ(line["correlation_id"], "corr-1");
  EXPECT_EQ(
      line["client"],
      json({{"address", "10.0.0.7"}, {"user_agent", "hubspot-api-client-nodejs; 14.0.0"}, {"token", "3f9a2b1c"}}));
  EXPECT_EQ(line["operation"], "contacts.create");
  EXPECT_EQ(line["status"], 403);
  EXPECT_FALSE(line.contains("upstream_status"));
  EXPECT_EQ(line["rules"], "9c1e4b2a7d30");
  ASSERT_EQ(line["records"].size(), 1u);
  const auto& record = line["records"][0];
  EXPECT_EQ(record["decision"], "block");
  EXPECT_EQ(record["rule"], "no-test");
  EXPECT_EQ(record["email"], redactor.redact("jo@test.com"));
  EXPECT_FALSE(record.contains("id"));
}

TEST(audit_record, a_rewritten_record_that_was_created_carries_its_id) {
  const auto d = decide("/crm/v3/objects/contacts", R"({"properties":{"email":"jo@corp.io"}})");
  const auto line = line_of(d, 201, 201, R"({"id":"51","properties":{"email":"jo@corp.io"}})", nullptr);
  const auto& record = line["records"][0];
  EXPECT_EQ(record["email"], "jo@corp.io") << "pii: full keeps the address";
  EXPECT_EQ(record["decision"], "rewrite");
  EXPECT_EQ(record["rule"], "default");
  EXPECT_EQ(record["edited_by"], json::array({"tag"}));
  EXPECT_EQ(record["id"], "51");
  EXPECT_EQ(record["created"], true);
  EXPECT_EQ(line["upstream_status"], 201);
}

TEST(audit_record, shadow_verdicts_that_differ_are_recorded) {
  const auto d = decide("/crm/v3/objects/contacts", R"({"properties":{"email":"jo@gmail.com"}})");
  const auto record = line_of(d, 201, 201, R"({"id":"52"})", nullptr)["records"][0];
  EXPECT_EQ(record["decision"], "rewrite");
  EXPECT_EQ(record["shadow"], json({{"decision", "block"}, {"rule", "free-mail"}}));
  EXPECT_EQ(record["id"], "52");
}

TEST(audit_record, a_split_batch_maps_results_back_by_email) {
  const auto d = decide("/crm/v3/objects/contacts/batch/create",
                        R"({"inputs":[{"properties":{"email":"a@corp.io"}},{"properties":{"email":"b@test.com"}},)"
                        R"({"properties":{"email":"C@corp.io"}}]})");
  ASSERT_EQ(d.decision.what, gate::action::split);
  // HubSpot does not promise input order.
  const auto answer = R"({"status":"COMPLETE","results":[{"id":"102","properties":{"email":"c@corp.io"}},)"
                      R"({"id":"101","properties":{"email":"a@corp.io"}}]})";
  const auto records = line_of(d, 207, 201, answer, nullptr)["records"];
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0]["id"], "101");
  EXPECT_EQ(records[1]["decision"], "block");
  EXPECT_FALSE(records[1].contains("id"));
  EXPECT_EQ(records[2]["id"], "102");
  EXPECT_EQ(records[2]["index"], 2);
}

TEST(audit_record, ids_by_trace_id_then_by_position) {
  const auto d = decide("/crm/v3/objects/contacts/batch/create",
                        R"({"inputs":[{"properties":{"firstname":"A"},"objectWriteTraceId":"t-a"},)"
                        R"({"properties":{"firstname":"B"}}]})");
  const auto ids = contact_ids(d.decision, 201, R"({"results":[{"id":"2","objectWriteTraceId":"t-a"},{"id":"3"}]})");
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_EQ(ids[0].record, 0u);
  EXPECT_EQ(ids[0].id, "2");
  EXPECT_EQ(ids[1].record, 1u);
  EXPECT_EQ(ids[1].id, "3");
}

// Results that name no record are only guessed by position when several are left: HubSpot does
// not promise them in input order. The guess serves counting; the audit names no id by it.
TEST(audit_record, ids_guessed_by_position_are_marked_so) {
  const auto d = decide("/crm/v3/objects/contacts/batch/create",
                        R"({"inputs":[{"properties":{"firstname":"A"}},{"properties":{"firstname":"B"}}]})");
  const auto ids = contact_ids(d.decision, 201, R"({"results":[{"id":"2"},{"id":"3"}]})");
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_TRUE(ids[0].by_position);
  EXPECT_TRUE(ids[1].by_position);
  const auto traced = decide("/crm/v3/objects/contacts/batch/create",
                             R"({"inputs":[{"properties":{"firstname":"A"},"objectWriteTraceId":"t-a"},)"
                             R"({"properties":{"firstname":"B"}}]})");
  const auto by_elimination = contact_ids(traced.decision, 201, R"({"results":[{"id":"3"},{"id":"2","objectWriteTraceId":"t-a"}]})");
  ASSERT_EQ(by_elimination.size(), 2u);
  EXPECT_FALSE(by_elimination[0].by_position);
  EXPECT_FALSE(by_elimination[1].by_position);
  EXPECT_EQ(by_elimination[1].id, "3");
}

TEST(audit_record, upserts_say_whether_the_contact_is_new) {
  const auto d = decide("/crm/v3/objects/contacts/batch/upsert",
                        R"({"inputs":[{"idProperty":"email","id":"a@corp.io","properties":{}},)"
                        R"({"idProperty":"email","id":"b@corp.io","properties":{}}]})");
  const auto ids = contact_ids(d.decision, 200,
                               R"({"results":[{"id":"7","new":false,"properties":{"email":"a@corp.io"}},)"
                               R"({"id":"8","new":true,"properties":{"email":"b@corp.io"}}]})");
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_EQ(ids[0].created, std::optional<bool>(false));
  EXPECT_EQ(ids[1].created, std::optional<bool>(true));
}

TEST(audit_record, the_legacy_api_answers_with_vid_and_is_new) {
  const auto d = decide("/contacts/v1/contact/createOrUpdate/email/jo@corp.io",
                        R"({"properties":[{"property":"firstname","value":"Jo"}]})");
  const auto ids = contact_ids(d.decision, 200, R"({"vid":3234574,"isNew":true})");
  ASSERT_EQ(ids.size(), 1u);
  EXPECT_EQ(ids[0].id, "3234574");
  EXPECT_EQ(ids[0].created, std::optional<bool>(true));
}

TEST(audit_record, no_ids_from_an_error_or_an_unreadable_answer) {
  const auto d = decide("/crm/v3/objects/contacts", R"({"properties":{"email":"jo@corp.io"}})");
  EXPECT_TRUE(contact_ids(d.decision, 409, R"({"id":"51"})").empty());
  EXPECT_TRUE(contact_ids(d.decision, 201, "not json").empty());
  EXPECT_TRUE(contact_ids(d.decision, 201, "").empty());
}

TEST(audit_record, a_request_refused_before_the_gate_has_no_records) {
  request_summary s;
  s.op = hubspot::classify("POST", "/crm/v3/objects/contacts").op;
  s.decision = "invalid";
  s.status = 413;
  const auto line = json::parse(audit_line(s, nullptr));
  EXPECT_EQ(line["operation"], "contacts.create");
  EXPECT_EQ(line["records"], json::array());
  EXPECT_EQ(line["client"], json::object());
}

} // namespace
} // namespace hubgate::audit
