// Test that header file is self-contained.
#include "hubgate/rules/test_case.hpp"

#include "rules_test_support.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace hubgate::rules {
namespace {

using testing::fake_request;
using testing::load;

constexpr std::string_view file_with_tests = R"yaml(version: 1
rules:
  - name: no-test-domains
    match: { email_domain: test.com }
    action: block
    status: 409
  - name: tag
    match: { kind: create }
    action: rewrite
    set: { lifecyclestage: lead }
    remove: [hubspot_owner_id]
  - name: try-free-mail
    mode: shadow
    match: { email_domain: gmail.com }
    action: block
tests:
  - name: single
    request:
      method: POST
      path: /crm/v3/objects/contacts?validate=true
      headers: { X-App: importer }
      body: { properties: { email: Jo@Test.com, zip: 02134, phone: +3361234, age: 42, ok: true,
                            note: '42', none: ~, ratio: 1.5e3, huge: 1e999 } }
    expect: { verdict: block, status: 409, rule: no-test-domains }
  - name: batch
    request:
      method: POST
      path: /crm/v3/objects/contacts/batch/create
      body: { inputs: [ { properties: { email: a@corp.io } }, { properties: { email: b@test.com } } ] }
    expect: { items: [ { set: { lifecyclestage: lead }, remove: [hubspot_owner_id] }, block ] }
  - name: form
    request: { method: POST, path: /uploads/form/v2/1/2, body: "email=a%40b.io&firstname=A" }
    expect: rewrite
  - name: shadow
    request: { method: POST, path: /crm/v3/objects/contacts }
    expect: { verdict: allow, shadow: block, rule: default }
)yaml";

TEST(RuleTests, ParsesRequestsIntoValues) {
  const auto rules = load(file_with_tests);
  ASSERT_NE(rules, nullptr);
  const auto tests = rules->tests();
  ASSERT_EQ(tests.size(), 4U);

  const test_case& single = tests[0];
  EXPECT_EQ(single.name, "single");
  EXPECT_EQ(single.line, 17U);
  EXPECT_EQ(single.request.method, "POST");
  EXPECT_EQ(single.request.path, "/crm/v3/objects/contacts?validate=true");
  EXPECT_EQ(single.request.headers,
            (std::vector<std::pair<std::string, std::string>>{{"X-App", "importer"}}));
  // Only what reads as a JSON number becomes one: a zip code or a phone number keeps its text.
  EXPECT_EQ(nlohmann::json::parse(single.request.body), nlohmann::json::parse(R"json(
    {"properties": {"email": "Jo@Test.com", "zip": "02134", "phone": "+3361234", "age": 42,
                    "ok": true, "note": "42", "none": null, "ratio": 1.5e3,
                    "huge": "1e999"}})json"));

  EXPECT_EQ(tests[2].request.body, "email=a%40b.io&firstname=A");
  EXPECT_TRUE(tests[3].request.body.empty());
  EXPECT_TRUE(tests[3].request.headers.empty());
}

TEST(RuleTests, ParsesExpectations) {
  const auto rules = load(file_with_tests);
  ASSERT_NE(rules, nullptr);
  const auto tests = rules->tests();
  ASSERT_EQ(tests.size(), 4U);

  const expectation& single = tests[0].expect;
  EXPECT_FALSE(single.per_item);
  ASSERT_EQ(single.outcomes.size(), 1U);
  EXPECT_EQ(single.outcomes[0].verdict, expected_verdict::block);
  EXPECT_EQ(single.outcomes[0].status, 409);
  EXPECT_EQ(single.outcomes[0].rule, "no-test-domains");

  const expectation& batch = tests[1].expect;
  EXPECT_TRUE(batch.per_item);
  ASSERT_EQ(batch.outcomes.size(), 2U);
  EXPECT_EQ(batch.outcomes[0].verdict, expected_verdict::rewrite);
  EXPECT_EQ(batch.outcomes[0].set,
            (std::vector<std::pair<std::string, std::string>>{{"lifecyclestage", "lead"}}));
  EXPECT_EQ(batch.outcomes[0].remove, std::vector<std::string>{"hubspot_owner_id"});
  EXPECT_EQ(batch.outcomes[1].verdict, expected_verdict::block);

  EXPECT_EQ(tests[2].expect.outcomes.at(0).verdict, expected_verdict::rewrite);
  EXPECT_EQ(tests[3].expect.outcomes.at(0).shadow, expected_verdict::block);
}

// What the catalog and extractors will do for these tests, done by hand here.
TEST(RuleTests, PassWhenTheEvaluationMeetsThem) {
  const auto rules = load(file_with_tests);
  ASSERT_NE(rules, nullptr);
  const auto tests = rules->tests();

  EXPECT_EQ(check_expectation(tests[0], fake_request::create("Jo@Test.com").evaluate_with(*rules)),
            std::nullopt);
  EXPECT_EQ(check_expectation(
                tests[1], fake_request::batch({"a@corp.io", "b@test.com"}).evaluate_with(*rules)),
            std::nullopt);
  auto form = fake_request::create("a@b.io");
  form.operation = operation_ref{"forms.submit", hubspot::operation_kind::create};
  EXPECT_EQ(check_expectation(tests[2], form.evaluate_with(*rules)), std::nullopt);
  EXPECT_EQ(check_expectation(tests[3], fake_request::create("x@gmail.com").evaluate_with(*rules)),
            std::nullopt);
}

TEST(RuleTests, SayWhyTheyFail) {
  const auto rules = load(file_with_tests);
  ASSERT_NE(rules, nullptr);
  const auto tests = rules->tests();

  EXPECT_EQ(check_expectation(tests[0], fake_request::create("jo@corp.io").evaluate_with(*rules)),
            "expected block, got rewrite (default, set lifecyclestage=lead by 'tag', remove "
            "hubspot_owner_id by 'tag')");
  EXPECT_EQ(check_expectation(
                tests[1], fake_request::batch({"a@test.com", "b@test.com"}).evaluate_with(*rules)),
            "items[0] of 2: expected rewrite, got block (rule 'no-test-domains', status 409)");
  EXPECT_EQ(check_expectation(tests[1], fake_request::batch({"a@corp.io"}).evaluate_with(*rules)),
            "expected 2 items, the request has 1");
  EXPECT_EQ(check_expectation(tests[3], fake_request::create("x@corp.io").evaluate_with(*rules)),
            "expected shadow block, got shadow rewrite (default, set lifecyclestage=lead by 'tag', "
            "remove hubspot_owner_id by 'tag')");

  // An upsert is no `create`: the tag rule does not run.
  auto upsert = fake_request::create("a@b.io");
  upsert.operation = operation_ref{"contacts.batch_upsert", hubspot::operation_kind::upsert};
  EXPECT_EQ(check_expectation(tests[2], upsert.evaluate_with(*rules)),
            "expected rewrite, got allow (default)");
}

TEST(RuleTests, CheckRuleStatusAndEdits) {
  const auto rules = load(R"yaml(version: 1
rules:
  - name: no-test-domains
    match: { email_domain: test.com }
    action: block
  - name: tag
    match: {}
    action: rewrite
    set: { lifecyclestage: lead }
tests:
  - name: wrong rule
    request: { method: POST, path: /crm/v3/objects/contacts }
    expect: { verdict: block, rule: default }
  - name: wrong status
    request: { method: POST, path: /crm/v3/objects/contacts }
    expect: { verdict: block, status: 409 }
  - name: wrong value
    request: { method: POST, path: /crm/v3/objects/contacts }
    expect: { set: { lifecyclestage: customer } }
  - name: missing removal
    request: { method: POST, path: /crm/v3/objects/contacts }
    expect: { remove: [lifecyclestage] }
  - name: untouched outside the catalog
    request: { method: GET, path: /crm/v3/owners }
    expect: { verdict: allow, shadow: allow }
)yaml");
  ASSERT_NE(rules, nullptr);
  const auto tests = rules->tests();
  ASSERT_EQ(tests.size(), 5U);
  const auto blocked = fake_request::create("a@test.com").evaluate_with(*rules);
  const auto tagged = fake_request::create("a@corp.io").evaluate_with(*rules);

  EXPECT_EQ(check_expectation(tests[0], blocked),
            "expected rule 'default' to decide, got block (rule 'no-test-domains', status 403)");
  EXPECT_EQ(check_expectation(tests[1], blocked),
            "expected status 409, got block (rule 'no-test-domains', status 403)");
  EXPECT_EQ(check_expectation(tests[2], tagged),
            "expected set lifecyclestage=customer, got rewrite (default, set lifecyclestage=lead "
            "by 'tag')");
  EXPECT_EQ(check_expectation(tests[3], tagged),
            "expected remove lifecyclestage, got rewrite (default, set lifecyclestage=lead by "
            "'tag')");
  const auto get = fake_request::outside_catalog("GET", "/crm/v3/owners").evaluate_with(*rules);
  ASSERT_TRUE(get.untouched());
  EXPECT_EQ(check_expectation(tests[4], get), std::nullopt);
  EXPECT_EQ(check_expectation(tests[1], get), "expected block, got allow (no rule)");
}

// A plain verdict is about the request: one blocked contact refuses a call decided whole, and a
// rewrite that edits one item of a batch rewrites the request.
TEST(RuleTests, PlainVerdictIsTheRequests) {
  const auto rules = load(R"yaml(version: 1
rules:
  - name: no-test-domains
    match: { email_domain: test.com }
    action: block
    status: 409
  - name: tag-corp
    match: { email_domain: corp.io }
    action: rewrite
    set: { lifecyclestage: lead }
tests:
  - name: refused
    request: { method: POST, path: /crm/v3/objects/contacts }
    expect: { verdict: block, rule: no-test-domains, status: 409 }
  - name: wrong status
    request: { method: POST, path: /crm/v3/objects/contacts }
    expect: { verdict: block, status: 403 }
  - name: edited
    request: { method: POST, path: /crm/v3/objects/contacts }
    expect: { verdict: rewrite, set: { lifecyclestage: lead } }
  - name: all pass
    request: { method: POST, path: /crm/v3/objects/contacts }
    expect: allow
)yaml");
  ASSERT_NE(rules, nullptr);
  const auto tests = rules->tests();
  ASSERT_EQ(tests.size(), 4U);
  const auto mixed = fake_request::batch({"a@gmail.com", "b@test.com"}).evaluate_with(*rules);

  // Decided whole (a v1 batch, `batches: whole`): the request is refused, and the blocked item
  // carries the rule and status expected.
  EXPECT_EQ(check_expectation(tests[0], mixed, request_fate::refused), std::nullopt);
  EXPECT_EQ(check_expectation(tests[1], mixed, request_fate::refused),
            "items[1] of 2: expected status 403, got block (rule 'no-test-domains', status 409)");
  // Split: the allowed item went through, so the request was not blocked.
  EXPECT_EQ(check_expectation(tests[0], mixed, request_fate::split),
            "items[0] of 2: expected block, got allow (default); the batch was forwarded without its "
            "blocked items (expect each item's outcome with 'items')");
  EXPECT_EQ(check_expectation(tests[3], mixed, request_fate::refused),
            "items[1] of 2: expected allow, got block (rule 'no-test-domains', status 409)");

  const auto one_edited = fake_request::batch({"a@gmail.com", "b@corp.io"}).evaluate_with(*rules);
  EXPECT_EQ(check_expectation(tests[2], one_edited, request_fate::forwarded), std::nullopt);
  EXPECT_EQ(check_expectation(tests[3], one_edited, request_fate::forwarded), std::nullopt);
  const auto none_edited = fake_request::batch({"a@gmail.com", "b@gmail.com"}).evaluate_with(*rules);
  EXPECT_EQ(check_expectation(tests[2], none_edited, request_fate::forwarded),
            "items[0] of 2: expected rewrite, got allow (default)");
  EXPECT_EQ(check_expectation(tests[2], mixed, request_fate::split),
            "items[1] of 2: expected rewrite, got block (rule 'no-test-domains', status 409)");
}

} // namespace
} // namespace hubgate::rules
