// gate::decide with rules that read properties: the records list only what the rules read
// (extract.hpp's property_selection), and the rules still see it in whatever case it was sent.

#include "hubgate/gate/gate.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <string_view>

#include "../metrics/sample_rules.hpp"

namespace hubgate::gate {
namespace {

constexpr std::string_view stage_rules = R"(version: 1
rules:
  - name: no-customers
    match: { kind: [create], properties: { LifecycleStage: customer } }
    action: block
  - name: no-unconsented
    mode: shadow
    match: { kind: [create], properties: { hs_legal_basis: { missing: true } } }
    action: block
)";

constexpr std::string_view batch_target = "/crm/v3/objects/contacts/batch/create";
constexpr std::string_view batch_body =
    R"({"inputs":[{"properties":{"email":"a@corp.io","lifecyclestage":"lead","firstname":"A","hs_legal_basis":"x"}},)"
    R"({"properties":{"email":"b@corp.io","LIFECYCLESTAGE":"customer","lastname":"B"}},)"
    R"({"properties":{"email":"c@corp.io","lifecyclestage":"customer","LifecycleStage":"customer"}}]})";

decision decide_batch(const rules::rule_set& rules, record_detail detail) {
  const auto classification = hubspot::classify("POST", batch_target);
  EXPECT_NE(classification.op, nullptr);
  const request_view view{"POST", batch_target, batch_body, "application/json", "", nullptr, {}};
  return decide(rules, classification, view, "corr-1", detail);
}

TEST(gate_decide, rules_see_the_properties_they_read_in_any_case) {
  const auto rules = testing::load_rules(stage_rules);
  ASSERT_NE(rules, nullptr);
  ASSERT_EQ(rules->properties_read().size(), 2U);
  const decision d = decide_batch(*rules, record_detail::rules_read);
  ASSERT_EQ(d.what, action::split) << d.reason;
  EXPECT_EQ(d.kept_items, (std::vector<std::size_t>{0}));
  ASSERT_EQ(d.blocked.size(), 2U);
  EXPECT_EQ(d.blocked[0].index, 1U);
  EXPECT_EQ(d.blocked[1].index, 2U);
  EXPECT_EQ(d.blocked[0].rule, "no-customers");
  // The shadow rule read hs_legal_basis: present on the first input only.
  ASSERT_EQ(d.evaluation.records.size(), 3U);
  ASSERT_TRUE(d.evaluation.records[0].shadow.has_value());
  EXPECT_EQ(d.evaluation.records[0].shadow->decision, rules::verdict::allow);

  // Only what the rules read is listed; `hubgate explain` asks for every property.
  using listed = std::pmr::vector<std::pair<std::string_view, std::string_view>>;
  ASSERT_EQ(d.records.size(), 3U);
  EXPECT_EQ(d.records[0].properties, (listed{{"lifecyclestage", "lead"}, {"hs_legal_basis", "x"}}));
  EXPECT_EQ(d.records[1].properties, (listed{{"LIFECYCLESTAGE", "customer"}}));
  const decision every = decide_batch(*rules, record_detail::every_property);
  ASSERT_EQ(every.records.size(), 3U);
  EXPECT_EQ(every.records[0].properties.size(), 4U);
  EXPECT_EQ(every.records[1].properties.size(), 3U);
  EXPECT_EQ(every.blocked.size(), 2U);
}

TEST(gate_decide, batches_whole_blocks_a_batch_with_a_blocked_item_naming_every_one) {
  std::string whole_rules(stage_rules);
  whole_rules.insert(whole_rules.find("rules:"), "batches: whole\n");
  const auto rules = testing::load_rules(whole_rules);
  ASSERT_NE(rules, nullptr);
  const decision d = decide_batch(*rules, record_detail::rules_read);
  ASSERT_EQ(d.what, action::answer) << d.reason;
  EXPECT_TRUE(d.kept_items.empty());
  EXPECT_TRUE(d.body_pieces.empty());
  EXPECT_EQ(d.answer.status, 403U);
  const auto body = nlohmann::json::parse(d.answer.body);
  EXPECT_EQ(body["category"], "POLICY_BLOCKED");
  EXPECT_EQ(body["correlationId"], "corr-1");
  EXPECT_EQ(body["context"]["inputIndex"], nlohmann::json::array({"1", "2"}));
  EXPECT_EQ(body["context"]["rule"], nlohmann::json::array({"no-customers"}));
  EXPECT_NE(body["message"].get<std::string>().find("2 of 3 items blocked"), std::string::npos) << body["message"];

  // Every item allowed: the batch goes through as it came, whatever the policy.
  const auto allowed_rules = testing::load_rules("version: 1\nbatches: whole\ndefault: allow\n");
  ASSERT_NE(allowed_rules, nullptr);
  const decision allowed = decide_batch(*allowed_rules, record_detail::rules_read);
  EXPECT_EQ(allowed.what, action::forward) << allowed.reason;
  EXPECT_TRUE(allowed.blocked.empty());
}

TEST(gate_decide, a_path_condition_sees_every_spelling_of_a_catalog_call) {
  // Written against one spelling; HubSpot runs the same create under the others.
  const auto rules = testing::load_rules(R"(version: 1
rules:
  - name: no-creates-by-path
    match: { method: POST, path: '^/crm/v3/objects/contacts$' }
    action: block
)");
  ASSERT_NE(rules, nullptr);
  constexpr std::string_view body = R"({"properties":{"email":"a@corp.io"}})";
  for (const std::string_view target : {"/crm/v3/objects/contacts", "/crm/v3/objects/0-1", "/crm/v3/objects/contact",
                                        "/CRM/v3/objects/Contacts", "/crm/objects/2025-09/contacts",
                                        "/crm/objects/2026-03/0-1"}) {
    const auto classification = hubspot::classify("POST", target);
    ASSERT_NE(classification.op, nullptr) << target;
    const request_view view{"POST", target, body, "application/json", "", nullptr, {}};
    const decision d = decide(*rules, classification, view, "corr-1", record_detail::rules_read);
    EXPECT_EQ(d.what, action::answer) << target;
  }
  // Another call is not one of them.
  const auto batch = hubspot::classify("POST", "/crm/v3/objects/0-1/batch/create");
  const request_view view{"POST", "/crm/v3/objects/0-1/batch/create", R"({"inputs":[{"properties":{}}]})",
                          "application/json", "", nullptr, {}};
  EXPECT_NE(decide(*rules, batch, view, "corr-1", record_detail::rules_read).what, action::answer);
}

TEST(gate_decide, a_path_condition_with_a_date_pattern_meets_the_undated_call_too) {
  const auto rules = testing::load_rules(R"(version: 1
rules:
  - name: no-creates-by-dated-path
    match: { method: POST, path: '^/crm/objects/[^/]+/contacts?$' }
    action: block
)");
  ASSERT_NE(rules, nullptr);
  constexpr std::string_view body = R"({"properties":{"email":"a@corp.io"}})";
  for (const std::string_view target : {"/crm/v3/objects/contacts", "/crm/v3/objects/0-1", "/crm/objects/2025-09/0-1"}) {
    const auto classification = hubspot::classify("POST", target);
    ASSERT_NE(classification.op, nullptr) << target;
    const request_view view{"POST", target, body, "application/json", "", nullptr, {}};
    EXPECT_EQ(decide(*rules, classification, view, "corr-1", record_detail::rules_read).what, action::answer) << target;
  }
  // A rule naming one date (the version an integration was moved to) meets that version only.
  const auto one_version = testing::load_rules(R"(version: 1
rules:
  - name: the-migrated-one
    match: { method: POST, path: '^/crm/objects/2026-03/contacts$' }
    action: block
)");
  ASSERT_NE(one_version, nullptr);
  for (const auto& [target, blocked] : {std::pair{"/crm/objects/2026-03/0-1", true}, std::pair{"/crm/v3/objects/contacts", false},
                                        std::pair{"/crm/objects/2025-09/contacts", false}}) {
    const std::string_view path = target;
    const auto classification = hubspot::classify("POST", path);
    const request_view view{"POST", path, body, "application/json", "", nullptr, {}};
    EXPECT_EQ(decide(*one_version, classification, view, "corr-1", record_detail::rules_read).what == action::answer,
              blocked)
        << path;
  }
}

// A rewrite that matches a call whose contacts hubgate does not read (an import, an opaque body)
// cannot be made: the call is refused with a 400, never forwarded unedited.
TEST(gate_decide, a_rewrite_of_a_call_whose_contacts_are_unread_is_refused) {
  const auto rules = testing::load_rules(R"(version: 1
rules:
  - name: tag-upserts
    match: { kind: [upsert] }
    action: rewrite
    set: { lifecyclestage: lead }
)");
  ASSERT_NE(rules, nullptr);
  constexpr std::string_view target = "/submissions/v3/public/submit/formsnext/multipart/1/abc";
  const auto classification = hubspot::classify("POST", target);
  ASSERT_NE(classification.op, nullptr);
  const request_view view{"POST", target, "--x\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\na@b.io\r\n--x--\r\n",
                          "multipart/form-data; boundary=x", "", nullptr, {}};
  const decision d = decide(*rules, classification, view, "corr-1", record_detail::rules_read);
  EXPECT_EQ(d.what, action::answer);
  EXPECT_EQ(d.answer.status, 400);
  EXPECT_NE(d.reason.find("no contact properties to edit"), std::string::npos) << d.reason;
  EXPECT_FALSE(d.body);

  // An empty batch has no contact to edit, and nothing to refuse: it goes as it came.
  const auto empty = hubspot::classify("POST", "/crm/v3/objects/contacts/batch/upsert");
  const request_view empty_view{"POST", "/crm/v3/objects/contacts/batch/upsert", R"({"inputs":[]})", "application/json",
                                "", nullptr, {}};
  const decision forwarded = decide(*rules, empty, empty_view, "corr-1", record_detail::rules_read);
  EXPECT_EQ(forwarded.what, action::forward);
  EXPECT_FALSE(forwarded.body);
}

// A shadow rule changes nothing, so a near miss of its value is not refused either.
TEST(gate_decide, near_misses_of_a_shadow_rules_values_pass) {
  constexpr std::string_view target = "/crm/v3/objects/contacts";
  const auto classification = hubspot::classify("POST", target);
  const request_view view{"POST", target, R"({"properties":{"email":"a@b.io","score":"0123","stage":"Lead"}})",
                          "application/json", "", nullptr, {}};
  for (const std::string_view yaml : {std::string_view(R"(version: 1
rules:
  - name: try-it
    mode: shadow
    match: { properties: { score: "123", stage: lead } }
    action: block
)"),
                                      std::string_view(R"(version: 1
mode: shadow
rules:
  - name: try-it
    match: { properties: { score: "123", stage: lead } }
    action: block
)")}) {
    const auto rules = testing::load_rules(yaml);
    ASSERT_NE(rules, nullptr);
    EXPECT_EQ(decide(*rules, classification, view, "corr-1", record_detail::rules_read).what, action::forward) << yaml;
  }
}

// The server bounds the memory reading a JSON body takes (json_allowance): refused, the body is
// refused with a 413 that says why, and nothing is forwarded.
TEST(gate_decide, a_body_whose_reading_the_server_refuses_memory_for_gets_413) {
  struct up_to final : hubspot::token_allowance {
    explicit up_to(std::uint32_t limit) : most(limit) {}
    bool allow(std::uint32_t tokens) noexcept override {
      asked = std::max(asked, tokens);
      return tokens <= most;
    }
    void replaced() noexcept override {}
    std::uint32_t most;
    std::uint32_t asked = 0;
  };
  const auto rules = testing::load_rules(stage_rules);
  ASSERT_NE(rules, nullptr);
  const auto classification = hubspot::classify("POST", batch_target);
  // Large enough (20,000 tokens) to outgrow the buffer a thread keeps between bodies (8,192).
  std::string body = R"({"inputs":[{"properties":{"email":"a@corp.io")";
  for (int i = 0; i < 10000; ++i) {
    body += ",\"p" + std::to_string(i) + "\":\"v\"";
  }
  body += "}}]}";
  request_view view{"POST", batch_target, body, "application/json", "", nullptr, {}};
  up_to enough(1u << 20);
  view.json_allowance = &enough;
  const decision read = decide(*rules, classification, view, "corr-1");
  EXPECT_EQ(read.what, action::forward) << read.reason;
  EXPECT_FALSE(read.too_many_values);

  EXPECT_GE(enough.asked, 20000U);
  up_to too_little(16384);
  view.json_allowance = &too_little;
  const decision refused = decide(*rules, classification, view, "corr-1");
  ASSERT_EQ(refused.what, action::answer);
  EXPECT_TRUE(refused.too_many_values);
  EXPECT_EQ(refused.answer.status, 413U);
  const auto error = nlohmann::json::parse(refused.answer.body);
  EXPECT_EQ(error["category"], "VALIDATION_ERROR");
  EXPECT_NE(error["message"].get<std::string>().find("--max-body-memory"), std::string::npos) << error;
}

} // namespace
} // namespace hubgate::gate
