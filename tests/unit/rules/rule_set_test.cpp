// Test that header file is self-contained.
#include "hubgate/rules/rule_set.hpp"

#include "rules_test_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace hubgate::rules {
namespace {

using testing::decide;
using testing::fake_request;
using testing::load;
using testing::verdict_of;

constexpr std::string_view domain_rules = R"yaml(version: 1
rules:
  - name: no-test-domains
    match: { email_domain: [example.com, Test.COM] }
    action: block
)yaml";

TEST(RuleEngine, EmailDomainMatchesTrimmedIgnoringCase) {
  const auto rules = load(domain_rules);
  ASSERT_NE(rules, nullptr);
  EXPECT_EQ(verdict_of(*rules, fake_request::create("jo@example.com")), "block by no-test-domains");
  EXPECT_EQ(verdict_of(*rules, fake_request::create(" Jo@Test.COM ")), "block by no-test-domains");
  EXPECT_EQ(verdict_of(*rules, fake_request::create("\tjo@EXAMPLE.com\n")),
            "block by no-test-domains");
}

TEST(RuleEngine, EmailsAreNormalisedAsHubSpotStoresThem) {
  const auto rules = load(R"yaml(version: 1
rules:
  - name: no-test-domains
    match: { email_domain: [example.com, kickbox.io] }
    action: block
  - name: boss
    match: { email: "\u00A0Boss@Corp.io" }
    action: block
)yaml");
  ASSERT_NE(rules, nullptr);
  // A no-break space or a zero-width space around the address, a trailing dot on the domain, a
  // Kelvin sign for `K`: HubSpot still stores the plain address, so the rules must see it too.
  EXPECT_EQ(verdict_of(*rules, fake_request::create("jo@example.com\u00A0")),
            "block by no-test-domains");
  EXPECT_EQ(verdict_of(*rules, fake_request::create("\u200Bjo@example.com")),
            "block by no-test-domains");
  EXPECT_EQ(verdict_of(*rules, fake_request::create("jo@EXAMPLE.com.")),
            "block by no-test-domains");
  EXPECT_EQ(verdict_of(*rules, fake_request::create("jo@\u212Aickbox.io")),
            "block by no-test-domains");
  EXPECT_EQ(verdict_of(*rules, fake_request::create("boss@corp.io")), "block by boss");
}

// A domain written in Unicode in the rules and sent as punycode, or the other way round, or in
// any other spelling IDNA maps to it, is the one domain.
TEST(RuleEngine, EmailDomainMeetsEveryIdnaSpellingOfItself) {
  const auto rules = load(R"yaml(version: 1
rules:
  - name: unicode-listed
    match: { email_domain: ["B\u00fccher.de"] }
    action: block
  - name: ascii-listed
    match: { email_domain: [xn--mnchen-3ya.de] }
    action: block
  - name: one-address
    match: { email: "jo@\u00e9t\u00e9.fr" }
    action: block
)yaml");
  ASSERT_NE(rules, nullptr);
  for (const char* email : {"jo@xn--bcher-kva.de", "jo@mx.b\u00fccher.de", "jo@B\u00dcCHER.DE", "jo@XN--BCHER-KVA.de."}) {
    EXPECT_EQ(verdict_of(*rules, fake_request::create(email)), "block by unicode-listed") << email;
  }
  for (const char* email : {"jo@m\u00fcnchen.de", "jo@M\u00dcNCHEN.de", "jo@xn--mnchen-3ya.de"}) {
    EXPECT_EQ(verdict_of(*rules, fake_request::create(email)), "block by ascii-listed") << email;
  }
  EXPECT_EQ(verdict_of(*rules, fake_request::create("Jo@xn--t-9fab.fr")), "block by one-address");
  EXPECT_EQ(verdict_of(*rules, fake_request::create("jo@buecher.de")), "allow by default");
  EXPECT_EQ(verdict_of(*rules, fake_request::create("jo@bucher.de")), "allow by default");
}

TEST(RuleEngine, EmailDomainCoversSubdomainsButNotLookAlikes) {
  const auto rules = load(domain_rules);
  ASSERT_NE(rules, nullptr);
  EXPECT_EQ(verdict_of(*rules, fake_request::create("jo@mail.eu.example.com")),
            "block by no-test-domains");
  EXPECT_EQ(verdict_of(*rules, fake_request::create("jo@notexample.com")), "allow by default");
  EXPECT_EQ(verdict_of(*rules, fake_request::create("jo@example.com.evil.io")), "allow by default");
  EXPECT_EQ(verdict_of(*rules, fake_request::create("example.com")), "allow by default");
  EXPECT_EQ(verdict_of(*rules, fake_request::create("jo@")), "allow by default");
  EXPECT_EQ(verdict_of(*rules, fake_request::create(std::nullopt)), "allow by default");
}

// Listed domains are looked up only for suffixes of a length some listed domain has: every
// length from 1 to 70 bytes (past the 63 where lengths share one bit), listed beside others.
TEST(RuleEngine, EmailDomainOfAnyLengthIsFound) {
  for (std::size_t length = 1; length <= 70; ++length) {
    const std::string label(length, 'd');
    const std::string yaml = "version: 1\nrules:\n  - name: listed\n    match: { email_domain: [" + label +
                             ", other-" + label + ".io, x.y] }\n    action: block\n";
    const auto rules = load(yaml);
    ASSERT_NE(rules, nullptr) << yaml;
    EXPECT_EQ(verdict_of(*rules, fake_request::create("jo@" + label)), "block by listed") << length;
    EXPECT_EQ(verdict_of(*rules, fake_request::create("jo@mail." + label)), "block by listed") << length;
    EXPECT_EQ(verdict_of(*rules, fake_request::create("jo@" + label + "d")), "allow by default") << length;
    EXPECT_EQ(verdict_of(*rules, fake_request::create("jo@a.other-" + label + ".io")), "block by listed") << length;
  }
}

// A parent domain is shorter than its domain: once shorter than every listed domain, the lookup
// stops. Around that size, and in a batch whose addresses are each normalised here (the records
// carry no normalised address), side by side.
TEST(RuleEngine, EmailDomainLookupStopsBelowTheShortestListedDomain) {
  for (std::size_t length = 1; length <= 20; ++length) {
    const std::string label(length, 'd');
    const auto rules = load("version: 1\nrules:\n  - name: listed\n    match: { email_domain: [" + label +
                            ".io] }\n    action: block\n");
    ASSERT_NE(rules, nullptr) << length;
    const auto result = fake_request::batch({"jo@" + label + ".io", "jo@" + label.substr(1) + ".io",
                                             " Jo@Sub." + label + ".IO ", "jo@" + label + ".io.x", "jo@io",
                                             "JO@" + label + "D.IO"})
                            .evaluate_with(*rules);
    ASSERT_EQ(result.records.size(), 6U) << length;
    const std::vector<std::string_view> expected = {"listed", "default", "listed", "default", "default", "default"};
    for (std::size_t i = 0; i < expected.size(); ++i) {
      EXPECT_EQ(result.records[i].enforced.rule, expected[i]) << length << " record " << i;
    }
  }
}

TEST(RuleEngine, EmailPredicates) {
  const auto rules = load(R"yaml(version: 1
rules:
  - name: equals
    match: { email: " Boss@Corp.io " }
    action: allow
  - name: listed
    match: { email: { in: [a@x.io, B@Y.IO] } }
    action: block
    status: 409
  - name: pattern
    match: { email: { regex: '^noreply@' } }
    action: block
  - name: no-email
    match: { email: { missing: true } }
    action: block
    status: 422
  - name: has-email
    match: { email: { present: true } }
    action: allow
default: block
)yaml");
  ASSERT_NE(rules, nullptr);
  EXPECT_EQ(verdict_of(*rules, fake_request::create("boss@CORP.io")), "allow by equals");
  EXPECT_EQ(verdict_of(*rules, fake_request::create("  b@y.io")), "block by listed");
  EXPECT_EQ(decide(*rules, fake_request::create("a@x.io")).status, 409);
  EXPECT_EQ(verdict_of(*rules, fake_request::create("NoReply@shop.io")), "block by pattern");
  EXPECT_EQ(verdict_of(*rules, fake_request::create("team-noreply@shop.io")), "allow by has-email");
  EXPECT_EQ(verdict_of(*rules, fake_request::create(std::nullopt)), "block by no-email");
  EXPECT_EQ(verdict_of(*rules, fake_request::create("   ")), "block by no-email");
  EXPECT_EQ(decide(*rules, fake_request::create("")).status, 422);
}

TEST(RuleEngine, PropertyPredicates) {
  const auto rules = load(R"yaml(version: 1
rules:
  - name: partner
    match: { properties: { LeadSource: partner } }
    action: allow
  - name: bad-stage
    match: { properties: { lifecyclestage: { in: [customer, evangelist] } } }
    action: block
  - name: vip-code
    match: { properties: { promo: { regex: '^VIP-[0-9]+$' } } }
    action: allow
  - name: needs-company
    match: { properties: { company: { missing: true } } }
    action: block
  - name: with-phone
    match: { properties: { phone: { present: true } } }
    action: allow
default: block
)yaml");
  ASSERT_NE(rules, nullptr);
  using props = std::vector<std::pair<std::string, std::string>>;
  // Property names ignore case; values compare as sent.
  EXPECT_EQ(verdict_of(*rules, fake_request::create("a@b.io", props{{"leadsource", "partner"}})),
            "allow by partner");
  EXPECT_EQ(verdict_of(*rules, fake_request::create(
                                   "a@b.io", props{{"leadsource", "Partner"}, {"company", "C"}})),
            "block by default");
  EXPECT_EQ(
      verdict_of(*rules, fake_request::create("a@b.io", props{{"LIFECYCLESTAGE", "customer"}})),
      "block by bad-stage");
  // ...and padding, which a trimming server would drop: it does not hide a property from a rule.
  EXPECT_EQ(verdict_of(*rules, fake_request::create("a@b.io", props{{"lifecyclestage\xC2\xA0", "customer"}})),
            "block by bad-stage");
  EXPECT_EQ(verdict_of(*rules, fake_request::create("a@b.io", props{{" lifecyclestage\t", "customer"}})),
            "block by bad-stage");
  EXPECT_EQ(verdict_of(*rules, fake_request::create("a@b.io", props{{"promo", "VIP-42"}})),
            "allow by vip-code");
  EXPECT_EQ(verdict_of(*rules, fake_request::create("a@b.io",
                                                    props{{"promo", "VIP-42x"}, {"company", "C"}})),
            "block by default");
  EXPECT_EQ(verdict_of(*rules, fake_request::create("a@b.io")), "block by needs-company");
  EXPECT_EQ(verdict_of(*rules, fake_request::create("a@b.io", props{{"company", " "}})),
            "block by needs-company");
  // A value of nothing but padding a server would trim is no value: missing, and not present.
  for (const char* padding : {"\xC2\xA0", "\xE2\x80\x8B", "\xEF\xBB\xBF \xE3\x80\x80"}) {
    EXPECT_EQ(verdict_of(*rules, fake_request::create("a@b.io", props{{"company", padding}})), "block by needs-company")
        << padding;
    EXPECT_EQ(verdict_of(*rules, fake_request::create("a@b.io", props{{"company", "C"}, {"phone", padding}})),
              "block by default")
        << padding;
  }
  EXPECT_EQ(verdict_of(*rules,
                       fake_request::create("a@b.io", props{{"company", "C"}, {"phone", "+33 6"}})),
            "allow by with-phone");
}

TEST(RuleEngine, HeaderPredicates) {
  const auto rules = load(R"yaml(version: 1
rules:
  - name: trusted-app
    match: { header: { X-App: importer } }
    action: allow
  - name: bot
    match: { header: { user-agent: { regex: '(?i)bot' } } }
    action: block
  - name: anonymous
    match: { header: { authorization: { missing: true } } }
    action: block
    status: 401
default: allow
)yaml");
  ASSERT_NE(rules, nullptr);
  auto request = fake_request::create("a@b.io");
  request.headers = {{"x-app", "importer"}};
  EXPECT_EQ(verdict_of(*rules, request), "allow by trusted-app");
  request.headers = {{"X-APP", "Importer"}, {"Authorization", "Bearer t"}};
  EXPECT_EQ(verdict_of(*rules, request), "allow by default");
  request.headers = {{"User-Agent", "SomeBot/1.0"}, {"Authorization", "Bearer t"}};
  EXPECT_EQ(verdict_of(*rules, request), "block by bot");
  request.headers = {};
  EXPECT_EQ(decide(*rules, request).status, 401);

  // No header lookup at all reads as no headers.
  const auto result = rules->evaluate(request_facts{
      "POST", "/crm/v3/objects/contacts",
      operation_ref{"contacts.create", hubspot::operation_kind::create}, request.records, nullptr, {}, {}});
  EXPECT_EQ(result.records.at(0).enforced.rule, "anonymous");
}

TEST(RuleEngine, MethodPathKindAndOperations) {
  const auto rules = load(R"yaml(version: 1
rules:
  - name: upserts
    match: { kind: upsert }
    action: block
  - name: forms
    match: { operations: [forms.submit] }
    action: block
    status: 451
  - name: v3-create-path
    match: { method: [put, POST], path: '^/crm/v3/objects/contacts$' }
    action: allow
default: block
)yaml");
  ASSERT_NE(rules, nullptr);
  auto request = fake_request::create("a@b.io");
  EXPECT_EQ(verdict_of(*rules, request), "allow by v3-create-path");
  request.path = "/crm/v3/objects/contacts/batch/create";
  EXPECT_EQ(verdict_of(*rules, request), "block by default");
  request.path = "/crm/v3/objects/contacts";
  request.method = "patch";
  EXPECT_EQ(verdict_of(*rules, request), "block by default");
  request.method = "put";
  EXPECT_EQ(verdict_of(*rules, request), "allow by v3-create-path");

  request.operation = operation_ref{"contacts.batch_upsert", hubspot::operation_kind::upsert};
  EXPECT_EQ(verdict_of(*rules, request), "block by upserts");
  request.operation = operation_ref{"forms.submit", hubspot::operation_kind::side_effect};
  EXPECT_EQ(decide(*rules, request).status, 451);
}

TEST(RuleEngine, PathIsSearchedUnlessAnchored) {
  const auto rules = load(R"yaml(version: 1
rules:
  - name: anything-about-imports
    match: { path: imports }
    action: block
)yaml");
  ASSERT_NE(rules, nullptr);
  auto request = fake_request::create("a@b.io");
  request.path = "/crm/v3/imports/123";
  EXPECT_EQ(verdict_of(*rules, request), "block by anything-about-imports");
}

TEST(RuleEngine, FirstDecidingRuleWins) {
  const auto rules = load(R"yaml(version: 1
rules:
  - name: vip
    match: { email: ceo@test.com }
    action: allow
  - name: no-test-domains
    match: { email_domain: test.com }
    action: block
  - name: allow-rest-of-test
    match: { email_domain: test.com }
    action: allow
default: block
)yaml");
  ASSERT_NE(rules, nullptr);
  EXPECT_EQ(verdict_of(*rules, fake_request::create("ceo@test.com")), "allow by vip");
  EXPECT_EQ(verdict_of(*rules, fake_request::create("cfo@test.com")), "block by no-test-domains");
  EXPECT_EQ(verdict_of(*rules, fake_request::create("cfo@corp.io")), "block by default");
}

constexpr std::string_view rewrite_rules = R"yaml(version: 1
rules:
  - name: tag
    match: {}
    action: rewrite
    set: { lifecyclestage: lead, source: api }
    remove: [hubspot_owner_id]
  - name: partner-stage
    match: { properties: { leadsource: partner } }
    action: rewrite
    set: { LifecycleStage: opportunity, hubspot_owner_id: "42" }
  - name: drop-source
    match: { properties: { leadsource: partner } }
    action: rewrite
    remove: [source]
  - name: no-test-domains
    match: { email_domain: test.com }
    action: block
    message: Test addresses are not created through the API
)yaml";

TEST(RuleEngine, RewritesAccumulateAndLaterEditsWin) {
  const auto rules = load(rewrite_rules);
  ASSERT_NE(rules, nullptr);
  const outcome plain = decide(*rules, fake_request::create("a@corp.io"));
  EXPECT_EQ(plain.decision, verdict::allow);
  EXPECT_EQ(plain.rule, "default");
  EXPECT_EQ(plain.edits, (std::vector<property_edit>{{"lifecyclestage", "lead", "tag"},
                                                     {"source", "api", "tag"},
                                                     {"hubspot_owner_id", std::nullopt, "tag"}}));

  const outcome partner =
      decide(*rules, fake_request::create("a@corp.io", {{"leadsource", "partner"}}));
  EXPECT_TRUE(partner.rewritten());
  EXPECT_EQ(partner.edits,
            (std::vector<property_edit>{{"LifecycleStage", "opportunity", "partner-stage"},
                                        {"hubspot_owner_id", "42", "partner-stage"},
                                        {"source", std::nullopt, "drop-source"}}));
}

TEST(RuleEngine, RewriteThenBlockDropsTheEdits) {
  const auto rules = load(rewrite_rules);
  ASSERT_NE(rules, nullptr);
  const outcome blocked = decide(*rules, fake_request::create("jo@test.com"));
  EXPECT_EQ(blocked.decision, verdict::block);
  EXPECT_EQ(blocked.rule, "no-test-domains");
  EXPECT_EQ(blocked.status, 403);
  EXPECT_EQ(blocked.message, "Test addresses are not created through the API");
  EXPECT_TRUE(blocked.edits.empty());
  EXPECT_FALSE(blocked.rewritten());
}

TEST(RuleEngine, ConditionsSeeTheRecordAsSent) {
  const auto rules = load(R"yaml(version: 1
rules:
  - name: make-lead
    match: {}
    action: rewrite
    set: { lifecyclestage: lead }
  - name: no-leads
    match: { properties: { lifecyclestage: lead } }
    action: block
)yaml");
  ASSERT_NE(rules, nullptr);
  EXPECT_EQ(verdict_of(*rules, fake_request::create("a@corp.io")), "allow by default");
}

TEST(RuleEngine, DefaultBlockAnswers403WithoutMessage) {
  const auto rules = load("version: 1\ndefault: block\n");
  ASSERT_NE(rules, nullptr);
  EXPECT_EQ(rules->default_verdict(), verdict::block);
  const outcome o = decide(*rules, fake_request::create("a@corp.io"));
  EXPECT_EQ(o.decision, verdict::block);
  EXPECT_EQ(o.rule, default_rule_name);
  EXPECT_EQ(o.status, 403);
  EXPECT_TRUE(o.message.empty());
}

TEST(RuleEngine, DefaultIsAllowWhenNotGiven) {
  const auto rules = load("version: 1\n");
  ASSERT_NE(rules, nullptr);
  EXPECT_EQ(verdict_of(*rules, fake_request::create("a@corp.io")), "allow by default");
}

TEST(RuleEngine, BatchItemsAreDecidedOneByOne) {
  const auto rules = load(R"yaml(version: 1
rules:
  - name: no-test-domains
    match: { email_domain: test.com }
    action: block
  - name: tag
    match: { method: POST }
    action: rewrite
    set: { lifecyclestage: lead }
)yaml");
  ASSERT_NE(rules, nullptr);
  const auto result = fake_request::batch({"a@corp.io", "b@test.com", std::nullopt, "c@TEST.com"})
                          .evaluate_with(*rules);
  ASSERT_EQ(result.records.size(), 4U);
  EXPECT_EQ(result.records[0].enforced.decision, verdict::allow);
  EXPECT_EQ(result.records[0].enforced.edits.size(), 1U);
  EXPECT_EQ(result.records[1].enforced.rule, "no-test-domains");
  EXPECT_EQ(result.records[2].enforced.decision, verdict::allow);
  EXPECT_EQ(result.records[3].enforced.decision, verdict::block);
  for (std::size_t i = 0; i < result.records.size(); ++i) {
    EXPECT_EQ(result.records[i].index, i);
    EXPECT_FALSE(result.records[i].shadow.has_value());
  }
  EXPECT_TRUE(result.any_blocked());
  EXPECT_FALSE(result.all_blocked());
  ASSERT_NE(result.first_blocked(), nullptr);
  EXPECT_EQ(result.first_blocked()->index, 1U);
}

TEST(RuleEngine, CatalogRequestWithoutRecordsIsDecidedOnce) {
  const auto rules = load(R"yaml(version: 1
rules:
  - name: require-email
    match: { kind: [side_effect], email: { missing: true } }
    action: block
)yaml");
  ASSERT_NE(rules, nullptr);
  fake_request import;
  import.path = "/crm/v3/imports";
  import.operation = operation_ref{"imports.create", hubspot::operation_kind::side_effect};
  const auto result = import.evaluate_with(*rules);
  ASSERT_EQ(result.records.size(), 1U);
  EXPECT_EQ(result.records[0].index, 0U);
  EXPECT_EQ(result.records[0].enforced.rule, "require-email");
  EXPECT_TRUE(result.all_blocked());
}

constexpr std::string_view mixed_rules = R"yaml(version: 1
default: block
rules:
  - name: internal-admin
    match: { method: DELETE, path: '^/crm/v3/objects/contacts/' }
    action: block
    status: 405
    message: Deleting contacts is not allowed here
  - name: no-test-domains
    match: { email_domain: test.com }
    action: block
  - name: by-kind
    match: { kind: create, method: GET }
    action: block
  - name: tag
    match: { method: GET }
    action: rewrite
    set: { x: y }
  - name: ok
    match: {}
    action: allow
)yaml";

TEST(RuleEngine, RequestsOutsideTheCatalogMeetOnlyRequestRules) {
  const auto rules = load(mixed_rules);
  ASSERT_NE(rules, nullptr);
  const auto deleted =
      fake_request::outside_catalog("DELETE", "/crm/v3/objects/contacts/12").evaluate_with(*rules);
  ASSERT_EQ(deleted.records.size(), 1U);
  EXPECT_EQ(deleted.records[0].enforced.rule, "internal-admin");
  EXPECT_EQ(deleted.records[0].enforced.status, 405);
  EXPECT_EQ(deleted.records[0].enforced.message, "Deleting contacts is not allowed here");
  EXPECT_TRUE(deleted.all_blocked());

  // kind, email_domain, an empty match, rewrites and `default: block` never touch them.
  const auto read =
      fake_request::outside_catalog("GET", "/crm/v3/objects/contacts/12").evaluate_with(*rules);
  EXPECT_TRUE(read.untouched());
  EXPECT_FALSE(read.any_blocked());
  EXPECT_EQ(read.first_blocked(), nullptr);
}

TEST(RuleEngine, RequestsOutsideTheCatalogAreUntouchedWithoutRequestRules) {
  const auto rules = load(R"yaml(version: 1
default: block
rules:
  - name: everything
    match: {}
    action: block
  - name: by-email
    match: { email: { missing: true } }
    action: block
  - name: by-operation
    match: { operations: [contacts.create], method: GET }
    action: block
)yaml");
  ASSERT_NE(rules, nullptr);
  EXPECT_TRUE(
      fake_request::outside_catalog("GET", "/crm/v3/owners").evaluate_with(*rules).untouched());
  EXPECT_TRUE(fake_request::outside_catalog("POST", "/crm/v3/objects/deals")
                  .evaluate_with(*rules)
                  .untouched());
}

TEST(RuleEngine, RequestRulesAlsoMatchCatalogRequests) {
  const auto rules = load(mixed_rules);
  ASSERT_NE(rules, nullptr);
  auto request = fake_request::create("a@corp.io");
  request.method = "DELETE";
  request.path = "/crm/v3/objects/contacts/12";
  EXPECT_EQ(verdict_of(*rules, request), "block by internal-admin");
}

constexpr std::string_view shadow_rules = R"yaml(version: 1
rules:
  - name: try-blocking-free-mail
    mode: shadow
    match: { email_domain: [gmail.com] }
    action: block
  - name: try-tagging
    mode: shadow
    match: {}
    action: rewrite
    set: { lifecyclestage: lead }
  - name: no-test-domains
    match: { email_domain: test.com }
    action: block
  - name: try-blocking-deletes
    mode: shadow
    match: { method: DELETE }
    action: block
)yaml";

TEST(RuleEngine, ShadowRulesReportWithoutActing) {
  const auto rules = load(shadow_rules);
  ASSERT_NE(rules, nullptr);
  const auto result =
      fake_request::batch({"a@gmail.com", "b@test.com", "c@corp.io"}).evaluate_with(*rules);
  ASSERT_EQ(result.records.size(), 3U);

  const auto& gmail = result.records[0];
  EXPECT_EQ(gmail.enforced.decision, verdict::allow);
  EXPECT_EQ(gmail.enforced.rule, "default");
  ASSERT_TRUE(gmail.shadow.has_value());
  EXPECT_EQ(gmail.shadow->decision, verdict::block);
  EXPECT_EQ(gmail.shadow->rule, "try-blocking-free-mail");

  const auto& test = result.records[1];
  EXPECT_EQ(test.enforced.rule, "no-test-domains");
  EXPECT_EQ(test.shadow->rule, "no-test-domains");

  const auto& corp = result.records[2];
  EXPECT_FALSE(corp.enforced.rewritten());
  EXPECT_TRUE(corp.shadow->rewritten());
  EXPECT_EQ(corp.shadow->edits.at(0).rule, "try-tagging");
}

TEST(RuleEngine, ShadowRulesReachRequestsOutsideTheCatalog) {
  const auto rules = load(shadow_rules);
  ASSERT_NE(rules, nullptr);
  const auto result =
      fake_request::outside_catalog("DELETE", "/crm/v3/objects/contacts/1").evaluate_with(*rules);
  ASSERT_EQ(result.records.size(), 1U);
  EXPECT_EQ(result.records[0].enforced.decision, verdict::allow);
  EXPECT_TRUE(result.records[0].enforced.rule.empty());
  EXPECT_EQ(result.records[0].shadow->rule, "try-blocking-deletes");
  EXPECT_FALSE(result.any_blocked());

  EXPECT_TRUE(fake_request::outside_catalog("GET", "/x").evaluate_with(*rules).untouched());
}

TEST(RuleEngine, FileInShadowModeEnforcesNothing) {
  const auto rules = load(R"yaml(version: 1
mode: shadow
default: block
rules:
  - name: vip
    mode: enforce
    match: { email: ceo@corp.io }
    action: allow
)yaml");
  ASSERT_NE(rules, nullptr);
  EXPECT_EQ(rules->mode(), enforcement_mode::shadow);
  const auto result = fake_request::batch({"ceo@corp.io", "jo@corp.io"}).evaluate_with(*rules);
  ASSERT_EQ(result.records.size(), 2U);
  for (const auto& record : result.records) {
    EXPECT_EQ(record.enforced.decision, verdict::allow);
    EXPECT_TRUE(record.enforced.rule.empty());
  }
  EXPECT_EQ(result.records[0].shadow->rule, "vip");
  EXPECT_EQ(result.records[1].shadow->decision, verdict::block);
  EXPECT_EQ(result.records[1].shadow->rule, "default");
}

TEST(RuleEngine, RuleInfoKeepsWhatWasWritten) {
  const auto rules = load(rewrite_rules);
  ASSERT_NE(rules, nullptr);
  ASSERT_EQ(rules->rule_count(), 4U);
  EXPECT_EQ(rules->rule(0).name, "tag");
  EXPECT_EQ(rules->rule(0).line, 3U);
  EXPECT_EQ(rules->rule(0).action, rule_action::rewrite);
  EXPECT_EQ(rules->rule(0).remove, std::vector<std::string>{"hubspot_owner_id"});
  EXPECT_EQ(rules->rule(3).line, 16U);
  EXPECT_EQ(rules->rule(3).status, 403);
  EXPECT_TRUE(rules->tests().empty());
}

// A rewrite that matches an event, a message or a visitor token cannot be made there (no contact
// properties, or only first and last name): the gate answers such a call 400. check names them.
TEST(RuleEngine, RewritesOfCallsThatCannotTakeTheEditsAreNamed) {
  const auto rules = load(R"yaml(version: 1
rules:
  - name: tag-everything
    match: {}
    action: rewrite
    set: { lifecyclestage: lead }
  - name: tag-creates
    match: { kind: [create, upsert] }
    action: rewrite
    set: { lifecyclestage: lead }
  - name: name-side-effects
    match: { kind: [side_effect] }
    action: rewrite
    set: { FirstName: Jo }
  - name: strip-flag
    match: { properties: { hs_marketable_status: { present: true } } }
    action: rewrite
    remove: [hs_marketable_status]
  - name: block-everything
    action: block
)yaml");
  ASSERT_NE(rules, nullptr);
  const auto unmade = rules->unmade_rewrites();
  ASSERT_EQ(unmade.size(), 3U);

  EXPECT_EQ(rules->rule(unmade[0].rule).name, "tag-everything");
  const auto& everything = unmade[0].operations;
  for (const std::string_view name : {"timeline.event_create", "events.send_batch", "conversations.thread_message",
                                      "visitor_identification.token_create", "meetings.book", "emails.smtp_token_create"}) {
    EXPECT_NE(std::find(everything.begin(), everything.end(), name), everything.end()) << name;
  }
  for (const std::string_view name : {"contacts.create", "contacts.batch_upsert", "forms.submit", "emails.single_send"}) {
    EXPECT_EQ(std::find(everything.begin(), everything.end(), name), everything.end()) << name;
  }

  // Of the creates and upserts, only the one whose contacts hubgate cannot read.
  EXPECT_EQ(rules->rule(unmade[1].rule).name, "tag-creates");
  EXPECT_EQ(unmade[1].operation_list(), "forms.submit_embedded");

  // First names can be set on visitor tokens and meetings; events, messages and SMTP tokens carry
  // none.
  EXPECT_EQ(rules->rule(unmade[2].rule).name, "name-side-effects");
  const auto& side_effects = unmade[2].operations;
  EXPECT_NE(std::find(side_effects.begin(), side_effects.end(), "timeline.event_create"), side_effects.end());
  EXPECT_NE(std::find(side_effects.begin(), side_effects.end(), "emails.smtp_token_create"), side_effects.end());
  EXPECT_EQ(std::find(side_effects.begin(), side_effects.end(), "meetings.book"), side_effects.end());
  EXPECT_EQ(unmade[2].operation_list().find("imports.create, emails.smtp_token_create, timeline.event_create, "), 0U);

  // A shadow rewrite is never made, and refuses nothing.
  const auto shadow = load("version: 1\nrules:\n  - name: r\n    mode: shadow\n    action: rewrite\n"
                           "    set: { lifecyclestage: lead }\n  - name: b\n    mode: shadow\n    action: block\n"
                           "    status: 503\n");
  ASSERT_NE(shadow, nullptr);
  EXPECT_TRUE(shadow->unmade_rewrites().empty());
  EXPECT_TRUE(shadow->notes().empty());

  // A method condition narrows it to the calls taking that method.
  const auto put_only = load("version: 1\nrules:\n  - name: r\n    match: { method: [put] }\n    action: rewrite\n"
                             "    set: { lifecyclestage: lead }\n");
  ASSERT_NE(put_only, nullptr);
  const auto put_unmade = put_only->unmade_rewrites();
  ASSERT_EQ(put_unmade.size(), 1U);
  EXPECT_EQ(put_unmade[0].operation_list(), "timeline.legacy_event_create, timeline.legacy_event_batch");
}

} // namespace
} // namespace hubgate::rules
