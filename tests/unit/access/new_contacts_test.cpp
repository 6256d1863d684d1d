// What a client's new-contact budget reserves before a call is forwarded (potential_new_contacts)
// and what HubSpot's answer settles it at (reported_new_contacts), on decisions the gate makes as
// the proxy does (only the properties the rules read listed).

#include "hubgate/access/new_contacts.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "../metrics/sample_rules.hpp"

namespace hubgate::access {
namespace {

constexpr std::string_view no_rules = "version: 1\nrules:\n  - name: no-test\n    match: { email_domain: [test.com] }\n    action: block\n";

gate::decision decide(const rules::rule_set& rules, std::string_view target, std::string_view body) {
  const auto classification = hubspot::classify("POST", target);
  EXPECT_NE(classification.op, nullptr) << target;
  const gate::request_view view{"POST", target, body, "application/json", "", nullptr, {}};
  return gate::decide(rules, classification, view, "corr-1", gate::record_detail::rules_read);
}

// An SMTP token made with createContact: true creates contacts through HubSpot's relay, which
// hubgate never sees: it cannot be counted, so a budget refuses it (nullopt). One that says false
// (or nothing) creates none, also when a rewrite made it say so.
TEST(new_contacts, an_smtp_token_that_creates_contacts_cannot_be_counted) {
  const auto rules = testing::load_rules(no_rules);
  ASSERT_NE(rules, nullptr);
  constexpr std::string_view tokens = "/marketing/v3/transactional/smtp-tokens";
  EXPECT_EQ(potential_new_contacts(decide(*rules, tokens, R"({"createContact":true,"campaignName":"c"})")), std::nullopt);
  EXPECT_EQ(potential_new_contacts(decide(*rules, tokens, R"({"createContact":"TRUE","campaignName":"c"})")), std::nullopt);
  // Without the flag, HubSpot (a JVM binder) reads false.
  EXPECT_EQ(potential_new_contacts(decide(*rules, tokens, R"({"campaignName":"c"})")), 0U);
  EXPECT_EQ(potential_new_contacts(decide(*rules, tokens, R"({"createContact":false,"campaignName":"c"})")), 0U);

  const auto turned_off = testing::load_rules(R"(version: 1
rules:
  - name: no-contacts-from-smtp
    match: { operations: [emails.smtp_token_create] }
    action: rewrite
    set: { createContact: "false" }
)");
  ASSERT_NE(turned_off, nullptr);
  EXPECT_EQ(potential_new_contacts(decide(*turned_off, tokens, R"({"createContact":true,"campaignName":"c"})")), 0U);
}

// A v1 batch item named by its vid alone updates that contact or fails; with an email, HubSpot
// might create one. Blocked items are not forwarded.
TEST(new_contacts, a_v1_batch_item_named_by_its_vid_alone_creates_none) {
  const auto rules = testing::load_rules(no_rules);
  ASSERT_NE(rules, nullptr);
  constexpr std::string_view v1_batch = "/contacts/v1/contact/batch";
  EXPECT_EQ(potential_new_contacts(decide(*rules, v1_batch, R"([{"vid":1000,"properties":[{"property":"firstname","value":"x"}]}])")),
            0U);
  EXPECT_EQ(potential_new_contacts(decide(*rules, v1_batch,
                                          R"([{"vid":1000,"properties":[]},{"email":"a@corp.io","properties":[]},)"
                                          R"({"vid":7,"email":"b@corp.io","properties":[]}])")),
            2U);
  EXPECT_EQ(potential_new_contacts(decide(*rules, "/crm/v3/objects/contacts/batch/create",
                                          R"({"inputs":[{"properties":{"email":"a@corp.io"}},{"properties":{"email":"b@test.com"}}]})")),
            1U);
}

// Each contact sent counts unless HubSpot's answer says otherwise.
TEST(new_contacts, an_answer_lowers_the_count_only_where_it_says_so) {
  const auto rules = testing::load_rules(no_rules);
  ASSERT_NE(rules, nullptr);
  const gate::decision batch = decide(*rules, "/crm/v3/objects/contacts/batch/create",
                                      R"({"inputs":[{"properties":{"email":"a@corp.io"}},{"properties":{"email":"b@corp.io"}},)"
                                      R"({"properties":{"email":"c@corp.io"}}]})");
  const std::string all = R"({"status":"COMPLETE","results":[{"id":"1","properties":{"email":"a@corp.io"}},)"
                          R"({"id":"2","properties":{"email":"b@corp.io"}},{"id":"3","properties":{"email":"c@corp.io"}}]})";
  EXPECT_EQ(reported_new_contacts(batch, 201, all, 3), 3U);
  // Results left out of the answer count: it does not say they were not made.
  EXPECT_EQ(reported_new_contacts(batch, 201, R"({"status":"COMPLETE","results":[{"id":"1","properties":{"email":"a@corp.io"}}]})", 3),
            3U);
  // The errors of a 207 are inputs that failed.
  EXPECT_EQ(reported_new_contacts(batch, 207, R"({"status":"COMPLETE","results":[],"numErrors":3,"errors":[{},{},{}]})", 3), 0U);
  EXPECT_EQ(reported_new_contacts(batch, 207,
                                  R"({"status":"COMPLETE","results":[{"id":"1","properties":{"email":"a@corp.io"}},)"
                                  R"({"id":"3","properties":{"email":"c@corp.io"}}],"numErrors":1,"errors":[{"message":"x"}]})",
                                  3),
            2U);
  // A refusal made nothing; a gateway's 5xx may come after HubSpot made them.
  EXPECT_EQ(reported_new_contacts(batch, 409, R"({"status":"error"})", 3), 0U);
  EXPECT_EQ(reported_new_contacts(batch, 504, "", 3), 3U);

  const gate::decision upsert = decide(*rules, "/crm/v3/objects/contacts/batch/upsert",
                                       R"({"inputs":[{"idProperty":"email","id":"a@corp.io","properties":{}},)"
                                       R"({"idProperty":"email","id":"b@corp.io","properties":{}}]})");
  EXPECT_EQ(reported_new_contacts(upsert, 200,
                                  R"({"status":"COMPLETE","results":[{"id":"1","new":true,"properties":{"email":"a@corp.io"}},)"
                                  R"({"id":"2","new":false,"properties":{"email":"b@corp.io"}}]})",
                                  2),
            1U);
}

} // namespace
} // namespace hubgate::access
