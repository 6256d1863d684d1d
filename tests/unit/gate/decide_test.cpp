// gate::decide with rules that read properties: the records list only what the rules read
// (extract.hpp's property_selection), and the rules still see it in whatever case it was sent.

#include "hubgate/gate/gate.hpp"

#include <gtest/gtest.h>

#include <memory>
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

} // namespace
} // namespace hubgate::gate
