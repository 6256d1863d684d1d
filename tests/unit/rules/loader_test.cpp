// Test that header file is self-contained.
#include "hubgate/rules/loader.hpp"

#include "rules_test_support.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace hubgate::rules {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::load;
using testing::load_errors;

TEST(RuleLoader, LoadsTheDocumentedExample) {
  // The shape documented as hubgate's interface, verbatim.
  const auto rules = load(R"yaml(version: 1
default: allow                  # contact-creating requests no rule decides: allow | block
rules:                          # top to bottom; allow and block end evaluation, rewrite goes on
  - name: no-test-domains       # unique
    description: Test addresses never become contacts.
    match:                      # every condition given must hold; omitted = any
      kind: [create, upsert]    # and/or operations: [contacts.create, forms.submit]
      email_domain: [example.com, test.com]     # domain or a subdomain of it, case-insensitive
    action: block
    status: 403                 # optional
    message: Test addresses are not created through the API   # optional, returned to the caller
  - name: require-email
    match: { kind: [create], email: { missing: true } }
    action: block
  - name: tag-api-contacts
    match: { operations: [contacts.create, contacts.batch_create] }
    action: rewrite
    set: { lifecyclestage: lead }
    remove: [hubspot_owner_id]
tests:                          # run by `hubgate test`
  - name: test domain blocked
    request: { method: POST, path: /crm/v3/objects/contacts, body: { properties: { email: Jo@Test.com } } }
    expect: block
  - name: batch keeps good items
    request: { method: POST, path: /crm/v3/objects/contacts/batch/create,
               body: { inputs: [ { properties: { email: a@corp.io } }, { properties: { email: b@test.com } } ] } }
    expect: { items: [allow, block] }
)yaml");
  ASSERT_NE(rules, nullptr);
  ASSERT_EQ(rules->rule_count(), 3U);
  EXPECT_EQ(rules->rule(0).description, "Test addresses never become contacts.");
  EXPECT_EQ(rules->rule(0).message, "Test addresses are not created through the API");
  EXPECT_EQ(rules->rule(2).set,
            (std::vector<std::pair<std::string, std::string>>{{"lifecyclestage", "lead"}}));
  ASSERT_EQ(rules->tests().size(), 2U);
  EXPECT_EQ(rules->tests()[1].line, 24U);
}

TEST(RuleLoader, UnknownKeySuggestsTheNearestOne) {
  EXPECT_THAT(load_errors(R"yaml(version: 1
rules:
  - name: no-test-domains
    match:
      emial_domain: [example.com]
    action: block
)yaml"),
              ElementsAre("rules.yaml:5:7: unknown key 'emial_domain' (did you mean "
                          "'email_domain'?)"));
}

TEST(RuleLoader, UnknownKeysAtEveryLevel) {
  EXPECT_THAT(load_errors(R"yaml(version: 1
defualt: block
rules:
  - name: a
    acton: block
    match: { header: { x-a: { regexp: a } } }
    frobnicate: 1
tests:
  - name: t
    request: { method: GET, path: /, header: { a: b } }
    expect: { verdikt: allow }
)yaml"),
              ElementsAre("rules.yaml:2:1: unknown key 'defualt' (did you mean 'default'?)",
                          "rules.yaml:4:5: a rule needs an 'action' (allow, block or rewrite)",
                          "rules.yaml:5:5: unknown key 'acton' (did you mean 'action'?)",
                          "rules.yaml:6:31: unknown key 'regexp' (did you mean 'regex'?)",
                          "rules.yaml:7:5: unknown key 'frobnicate' (expected name, "
                          "description, match, action, status, message, set, remove or mode)",
                          "rules.yaml:10:38: unknown key 'header' (did you mean 'headers'?)",
                          "rules.yaml:11:13: an expectation needs a 'verdict' (allow, block or "
                          "rewrite)",
                          "rules.yaml:11:15: unknown key 'verdikt' (did you mean 'verdict'?)"));
}

TEST(RuleLoader, SyntaxErrorHasAPosition) {
  EXPECT_THAT(load_errors("version: 1\nrules:\n  - name: a\n    match: { kind: [create }\n"),
              ElementsAre("rules.yaml:4:28: illegal flow end"));
  EXPECT_THAT(load_errors("version: 1\n  rules: []\n"),
              ElementsAre("rules.yaml:2:8: illegal map value"));
}

TEST(RuleLoader, ReportsEveryErrorInFileOrder) {
  EXPECT_THAT(load_errors(R"yaml(version: 2
default: deny
mode: dry-run
rules:
  - name: a
    match: { kind: craete, operations: [contacts.craete, deals.create] }
    action: blok
  - name: b
    match: { path: '^/crm/(v3' }
    action: block
    status: 200
  - name: b
    action: allow
    set: { x: y }
    status: 409
  - name: default
    action: rewrite
)yaml"),
              ElementsAre("rules.yaml:1:10: 'version' must be 1, got '2'",
                          "rules.yaml:2:10: unknown default 'deny' (expected allow or block)",
                          "rules.yaml:3:7: unknown mode 'dry-run' (expected enforce or shadow)",
                          "rules.yaml:6:20: unknown kind 'craete' (did you mean 'create'?)",
                          "rules.yaml:6:41: unknown operation 'contacts.craete' (did you mean "
                          "'contacts.create'?)",
                          "rules.yaml:6:58: unknown operation 'deals.create'",
                          "rules.yaml:7:13: unknown action 'blok' (did you mean 'block'?)",
                          "rules.yaml:9:20: invalid regex '^/crm/(v3': missing ): ^/crm/(v3",
                          "rules.yaml:11:13: 'status' must be from 400 to 599, got 200",
                          "rules.yaml:12:11: duplicate rule name 'b' (first on line 8)",
                          "rules.yaml:14:5: 'set' applies only to action 'rewrite'",
                          "rules.yaml:15:5: 'status' applies only to action 'block'",
                          "rules.yaml:16:11: the rule name 'default' is reserved for the file's "
                          "default",
                          "rules.yaml:17:13: a rewrite rule needs 'set' or 'remove'"));
}

// The address keys the contact and travels in upsert ids and v1 paths: removed from the
// properties it would still reach HubSpot, so a rewrite may no more remove it than set it.
TEST(RuleLoader, ARewriteCannotRemoveTheEmail) {
  EXPECT_THAT(load_errors(R"yaml(version: 1
rules:
  - name: strip
    action: rewrite
    remove: [Email]
)yaml"),
              ElementsAre(::testing::HasSubstr("rules.yaml:5:14: a rewrite cannot remove 'email'")));
  // Nor by another name that is read as it.
  EXPECT_THAT(load_errors(R"yaml(version: 1
rules:
  - name: strip
    action: rewrite
    remove: ['+email']
  - name: swap
    action: rewrite
    set: { '0-1/email': other@x.io }
)yaml"),
              ElementsAre(::testing::HasSubstr("rules.yaml:5:14: a rewrite cannot remove 'email'"),
                          ::testing::HasSubstr("rules.yaml:8:12: a rewrite cannot set 'email'")));
}

TEST(RuleLoader, DuplicateRuleNames) {
  EXPECT_THAT(load_errors(R"yaml(version: 1
rules:
  - name: a
    action: allow
  - name: b
    action: allow
  - name: a
    action: block
)yaml"),
              ElementsAre("rules.yaml:7:11: duplicate rule name 'a' (first on line 3)"));
}

TEST(RuleLoader, DuplicateRuleNameAfterAnInvalidRuleOfThatName) {
  // Every mistake at once: the first rule's own error does not hide the second's name.
  EXPECT_THAT(load_errors(R"yaml(version: 1
rules:
  - name: a
    action: alow
  - name: a
    action: block
)yaml"),
              ElementsAre(::testing::HasSubstr("rules.yaml:4:13: "),
                          "rules.yaml:5:11: duplicate rule name 'a' (first on line 3)"));
}

TEST(RuleLoader, DuplicateKeys) {
  EXPECT_THAT(load_errors(R"yaml(version: 1
rules:
  - name: a
    action: allow
    action: block
  - name: b
    match: { properties: { Company: x, company: y } }
    action: rewrite
    set: { a: "1", A: "2" }
)yaml"),
              ElementsAre("rules.yaml:5:5: duplicate key 'action' (first on line 4)",
                          "rules.yaml:7:40: duplicate key 'company' (first on line 7)",
                          "rules.yaml:9:20: duplicate key 'A' (first on line 9)"));
}

TEST(RuleLoader, WrongTypes) {
  EXPECT_THAT(load_errors(R"yaml(version: 1
rules:
  - name: [a]
    match: [kind]
    action: { block: true }
  - just a string
  - name: c
    action: block
    status: forbidden
    message:
)yaml"),
              ElementsAre("rules.yaml:3:11: 'name' must be a string, got a list",
                          "rules.yaml:4:12: 'match' must be a mapping, got a list",
                          "rules.yaml:5:13: 'action' must be a string, got a mapping",
                          "rules.yaml:6:5: a rule must be a mapping, got a string",
                          "rules.yaml:9:13: 'status' must be an integer from 400 to 599, got "
                          "'forbidden'",
                          "rules.yaml:10:5: 'message' must be a string, got nothing"));
  EXPECT_THAT(load_errors("version: 1\nrules: { a: b }\n"),
              ElementsAre("rules.yaml:2:8: 'rules' must be a list, got a mapping"));
  EXPECT_THAT(load_errors("- version: 1\n"),
              ElementsAre("rules.yaml:1:1: the top level must be a mapping, got a list"));
}

TEST(RuleLoader, PredicateShapes) {
  EXPECT_THAT(load_errors(R"yaml(version: 1
rules:
  - name: a
    match:
      email: [a@b.io, c@d.io]
      header: { x-a: { in: [a], regex: b }, "bad header": x, x-b: {} }
      properties: { email: x, p: { missing: false }, q: { present: yes }, r: { in: [] } }
    action: block
)yaml"),
              ElementsAre("rules.yaml:5:14: 'email' must be a string or a mapping with one of "
                          "in, regex, missing or present, got a list (for a list of values, "
                          "write {in: [...]})",
                          "rules.yaml:6:33: 'x-a' takes one of in, regex, missing or present, "
                          "not several",
                          "rules.yaml:6:45: 'bad header' is not a valid header name",
                          "rules.yaml:6:67: 'x-b' needs one of in, regex, missing or present",
                          "rules.yaml:7:21: use the 'email' condition for the email address (it "
                          "is trimmed and compared ignoring case), not 'properties'",
                          "rules.yaml:7:45: 'missing' only takes true (to require a value, use "
                          "'present: true')",
                          "rules.yaml:7:68: 'present' only takes true (to require no value, use "
                          "'missing: true')",
                          "rules.yaml:7:84: 'in' must not be an empty list (leave it out to "
                          "match any)"));
}

// A pattern for a header that carries credentials may hold one (`^Bearer pat-na1-…`): its error
// goes to stderr and the log, so it names the mistake and the place, never the pattern (RE2's
// message quotes the part it stopped at too).
TEST(RuleLoader, ARegexForACredentialHeaderIsNotQuotedInItsError) {
  const auto errors = load_errors(R"yaml(version: 1
rules:
  - name: a
    match:
      header: { authorization: { regex: "^Bearer pat-na1-SECRET(" }, Cookie: { regex: "sid=SECRET[" } }
    action: block
  - name: b
    match: { header: { X-HubSpot-API-Key: { regex: "SECRET\\" }, x-source: { regex: "^zap(" } } }
    action: block
)yaml");
  EXPECT_THAT(errors, ElementsAre("rules.yaml:5:41: invalid regex (not shown: 'authorization' carries "
                                  "credentials): missing )",
                                  "rules.yaml:5:87: invalid regex (not shown: 'Cookie' carries credentials): "
                                  "missing ]",
                                  "rules.yaml:8:52: invalid regex (not shown: 'X-HubSpot-API-Key' carries "
                                  "credentials): trailing \\",
                                  "rules.yaml:8:85: invalid regex '^zap(': missing ): ^zap("));
  for (const auto& error : errors) {
    EXPECT_THAT(error, ::testing::Not(HasSubstr("SECRET")));
  }
}

TEST(RuleLoader, ListsAndDomains) {
  EXPECT_THAT(load_errors(R"yaml(version: 1
rules:
  - name: a
    match:
      kind: []
      email_domain: [jo@example.com, .example.com, "", ok.io]
      method: [GET, "PO ST"]
      operations: [{ a: b }]
    action: block
)yaml"),
              ElementsAre("rules.yaml:5:13: 'kind' must not be an empty list (leave it out to "
                          "match any)",
                          "rules.yaml:6:22: 'email_domain' takes domains like example.com, got "
                          "'jo@example.com'",
                          "rules.yaml:6:38: 'email_domain' takes domains like example.com, got "
                          "'.example.com'",
                          "rules.yaml:6:52: 'email_domain' takes domains like example.com, got ''",
                          "rules.yaml:7:21: 'PO ST' is not an HTTP method",
                          "rules.yaml:8:20: items of 'operations' must be strings, got a mapping"));
}

TEST(RuleLoader, DomainsIdnaRefusesAreRefused) {
  EXPECT_THAT(load_errors(R"yaml(version: 1
rules:
  - name: a
    match:
      email_domain: [xn--example-.org, "ex\u2024ample.org", "b\u00fccher.de", xn--bcher-kva.de]
    action: block
)yaml"),
              ElementsAre("rules.yaml:5:22: 'email_domain' 'xn--example-.org' is not a domain IDNA accepts (UTS "
                          "#46), so no address could be in it",
                          "rules.yaml:5:40: 'email_domain' 'ex\u2024ample.org' is not a domain IDNA accepts (UTS "
                          "#46), so no address could be in it"));
}

TEST(RuleLoader, DomainsThatAreNoHostNamesAreRefused) {
  const auto errors = load_errors(R"yaml(version: 1
rules:
  - name: a
    match:
      email_domain: ["*.example.com", "http://example.org", example.net]
    action: block
)yaml");
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_THAT(errors[0], HasSubstr("rules.yaml:5:22: 'email_domain' '*.example.com' is not a host name"));
  EXPECT_THAT(errors[0], HasSubstr("for '*.example.com' write 'example.com'"));
  EXPECT_THAT(errors[1], HasSubstr("rules.yaml:5:39: 'email_domain' 'http://example.org' is not a host name"));
}

TEST(RuleLoader, ARewriteCannotSetTheEmail) {
  EXPECT_THAT(load_errors(R"yaml(version: 1
rules:
  - name: a
    action: rewrite
    set: { Email: someone@example.com, lifecyclestage: lead }
)yaml"),
              ElementsAre("rules.yaml:5:12: a rewrite cannot set 'email': the rules decided on the address sent"));
}

TEST(RuleLoader, RewrittenPropertyNamesHaveNoBlanksAround) {
  EXPECT_THAT(load_errors(R"yaml(version: 1
rules:
  - name: a
    action: rewrite
    set: { "city ": A }
    remove: [" state"]
)yaml"),
              ElementsAre("rules.yaml:5:12: the property name 'city ' has blanks around it",
                          "rules.yaml:6:14: the property name ' state' has blanks around it"));
}

TEST(RuleLoader, TheFileMustBeUtf8) {
  EXPECT_THAT(load_errors("version: 1\nrules:\n  - name: bl\xff" "ock\n    action: block\n"),
              ElementsAre("rules.yaml:3:13: the file is not UTF-8 text: a byte here is not UTF-8"));
  // An edit's value would otherwise pass, and every call the rule edits be refused.
  EXPECT_THAT(load_errors("version: 1\nrules:\n  - name: tag\n    action: rewrite\n    set: { city: \"M\xfcnchen\" }\n"),
              ElementsAre("rules.yaml:5:20: the file is not UTF-8 text: a byte here is not UTF-8"));
}

// A quote left open at the end of a file that ends with a line break, as editors end files, is an
// error: yaml-cpp took the rest of the file as the value, and the rules below it were gone.
TEST(RuleLoader, AQuoteOpenAtTheEndOfTheFileIsAnError) {
  for (const char* quote : {"\"", "'"}) {
    const auto errors = load_errors(std::string("version: 1\nrules:\n  - name: a\n    action: block\n    message: ") +
                                    quote + "Blocked\n  - name: b\n    action: block\n");
    EXPECT_THAT(errors, ElementsAre(::testing::HasSubstr("a quoted value is still open at the end of the file")))
        << quote;
    // Also when the last line holds only blanks, with no line break after them.
    const auto indented = load_errors(std::string("version: 1\nrules:\n  - name: a\n    action: block\n    message: ") +
                                      quote + "Blocked\n  - name: b\n    action: block\n   ");
    EXPECT_THAT(indented, ElementsAre(::testing::HasSubstr("a quoted value is still open at the end of the file")))
        << quote;
  }
  for (const char* quote : {"\"", "'"}) {
    const auto errors = load_errors(std::string("version: 1\nrules:\n  - name: a\n    action: block\n    message: ") +
                                    quote + "Blocked\n  - name: b\n    action: block\n");
    EXPECT_THAT(errors, ElementsAre(::testing::HasSubstr("a quoted value is still open at the end of the file")))
        << quote;
  }
  // Other things left open at the end are what they are.
  EXPECT_THAT(load_errors("version: 1\nx: {a: 1\n"), ElementsAre("rules.yaml:2:9: end of map flow not found"));
  // Block scalars at the end of a file keep their value.
  const auto rules = load("version: 1\nrules:\n  - name: a\n    action: block\n    message: |\n      Not here.\n");
  ASSERT_NE(rules, nullptr);
  EXPECT_EQ(rules->rule(0).message, "Not here.\n");
}

// Sizes that a rules file never needs, refused before they cost memory.
TEST(RuleLoader, DeepFlowNestingAndLongAliasedValuesAreRefusedEarly) {
  EXPECT_THAT(load_errors("version: 1\nx: " + std::string(5000, '[') + "\n"),
              ElementsAre("rules.yaml:2:1004: values are nested too deep to read (more than 1000 '[' or '{' open)"));
  const std::string long_value(1 << 20, 'a');
  std::string aliased = "version: 1\nrules:\n  - name: r\n    match: { properties: { firstname: { in: [&s " + long_value;
  for (int i = 0; i < 40; ++i) {
    aliased += ", *s";
  }
  aliased += "] } } }\n    action: block\n";
  EXPECT_THAT(load_errors(aliased),
              ElementsAre(::testing::HasSubstr("the file expands, through YAML aliases, to more than 32 MiB of values")));
}

TEST(RuleLoader, AliasesThatNeverEndOrExplodeAreRefused) {
  // An alias inside the value it names.
  const auto cycle = load_errors(R"yaml(version: 1
rules: []
tests:
  - name: rec
    request:
      method: POST
      path: /crm/v3/objects/contacts
      body: &a { properties: { email: jo@x.io }, more: *a }
    expect: allow
)yaml");
  ASSERT_EQ(cycle.size(), 1u);
  EXPECT_THAT(cycle[0], HasSubstr("nested deeper than 100 levels"));
  // Nine levels of ten aliases: 10^9 values in a few hundred bytes.
  std::string bomb = "version: 1\nx0: &a0 [lol]\n";
  for (int level = 1; level <= 9; ++level) {
    bomb += "x" + std::to_string(level) + ": &a" + std::to_string(level) + " [";
    for (int i = 0; i < 10; ++i) {
      bomb += (i == 0 ? "*a" : ", *a") + std::to_string(level - 1);
    }
    bomb += "]\n";
  }
  const auto exploded = load_errors(bomb);
  ASSERT_FALSE(exploded.empty());
  EXPECT_THAT(exploded[0], HasSubstr("expands, through YAML aliases, to more than 1000000 values"));
}

TEST(RuleLoader, ATestBodyWithAKeyGivenTwiceIsRefused) {
  // hubgate refuses such a body: a test must not pass with one.
  EXPECT_THAT(load_errors(R"yaml(version: 1
tests:
  - name: t
    request:
      method: POST
      path: /crm/v3/objects/contacts
      body: { properties: { email: jo@example.com, email: jo@acme.io } }
    expect: allow
)yaml"),
              ElementsAre("rules.yaml:7:52: key 'email' is given twice in this request body"));
}

TEST(RuleLoader, YamlErrorsSayWhatTheyUsuallyMean) {
  const auto tab = load_errors("version: 1\nrules:\n\t- name: a\n");
  ASSERT_EQ(tab.size(), 1u);
  EXPECT_THAT(tab[0], HasSubstr("(a tab in the indentation: YAML indents with spaces)"));
  EXPECT_THAT(load_errors(std::string("version: 1\nrules: [a\0b]\n", 22)),
              ElementsAre("rules.yaml:2:10: the file holds a NUL byte: it is not YAML text"));
  const auto deep = load_errors("version: 1\nrules: " + std::string(3000, '[') + std::string(3000, ']') + "\n");
  ASSERT_EQ(deep.size(), 1u);
  EXPECT_THAT(deep[0], HasSubstr("values are nested too deep to read"));
}

TEST(RuleLoader, RewriteFields) {
  EXPECT_THAT(load_errors(R"yaml(version: 1
rules:
  - name: a
    action: block
    remove: [x]
  - name: b
    action: rewrite
    set: { x: "1", y: ~, z: [1] }
    remove: [X, w, w]
)yaml"),
              ElementsAre("rules.yaml:5:5: 'remove' applies only to action 'rewrite'",
                          "rules.yaml:8:20: the value to set 'y' to must be a string, got nothing "
                          "(to clear it, use 'remove')",
                          "rules.yaml:8:29: the value to set 'z' to must be a string, got a list",
                          "rules.yaml:9:14: 'X' is both set and removed by this rule",
                          "rules.yaml:9:20: 'w' is listed twice"));
}

TEST(RuleLoader, VersionIsRequired) {
  EXPECT_THAT(load_errors("rules: []\n"), ElementsAre("rules.yaml:1:1: missing 'version: 1'"));
  EXPECT_THAT(load_errors(""),
              ElementsAre("rules.yaml:1:1: the file is empty: it needs at least 'version: 1'"));
  EXPECT_THAT(load_errors("# nothing but a comment\n"),
              ElementsAre("rules.yaml:1:1: the file is empty: it needs at least 'version: 1'"));
}

TEST(RuleLoader, OneDocumentOnly) {
  EXPECT_THAT(load_errors("version: 1\n---\nversion: 1\n"),
              ElementsAre("rules.yaml:3:1: unexpected content after the end of the document"));
}

TEST(RuleLoader, EmptyAndMissingMatchMeanAny) {
  const auto rules = load(R"yaml(version: 1
rules:
  - name: explicit
    match: {}
    action: rewrite
    set: { a: b }
  - name: omitted
    action: block
)yaml");
  ASSERT_NE(rules, nullptr);
  const auto o = testing::decide(*rules, testing::fake_request::create("a@b.io"));
  EXPECT_EQ(o.rule, "omitted");
  // Its conditions commented out, 'match:' would have matched every contact.
  EXPECT_THAT(load_errors("version: 1\nrules:\n  - name: allow-partners\n    match:\n"
                          "      # email_domain: [partner.com]\n    action: allow\n"),
              ElementsAre("rules.yaml:4:5: 'match' has no conditions (write 'match: {}', or leave it out, to "
                          "match any)"));
}

TEST(RuleLoader, AuditSectionSaysHowEmailsAreWritten) {
  EXPECT_EQ(load("version: 1\n")->audit_pii_mode(), audit_pii::redacted);
  EXPECT_EQ(load("version: 1\naudit: { pii: full }\n")->audit_pii_mode(), audit_pii::full);
  EXPECT_EQ(load("version: 1\naudit: { pii: redacted }\n")->audit_pii_mode(), audit_pii::redacted);
  EXPECT_THAT(load_errors("version: 1\naudit:\n  pii: none\n"),
              ElementsAre("rules.yaml:3:8: unknown pii 'none' (expected redacted or full)"));
  EXPECT_THAT(load_errors("version: 1\naudit: { pi: full }\n"),
              ElementsAre("rules.yaml:2:10: unknown key 'pi' (did you mean 'pii'?)"));
}

TEST(RuleLoader, BatchesSaysWhatABatchWithABlockedItemBecomes) {
  EXPECT_EQ(load("version: 1\n")->batches(), batch_policy::split);
  EXPECT_EQ(load("version: 1\nbatches: whole\n")->batches(), batch_policy::whole);
  EXPECT_EQ(load("version: 1\nbatches: split\n")->batches(), batch_policy::split);
  EXPECT_THAT(load_errors("version: 1\nbatches: atomic\n"),
              ElementsAre("rules.yaml:2:10: unknown batches 'atomic' (expected split or whole)"));
  EXPECT_THAT(load_errors("version: 1\nbatch: whole\n"),
              ElementsAre("rules.yaml:2:1: unknown key 'batch' (did you mean 'batches'?)"));
}

TEST(RuleLoader, ErrorsCarryTheFileName) {
  const auto result = load_rule_set("version: 1\nbogus: 1\n", "/etc/hubgate/rules.yaml",
                                    testing::fake_operations());
  ASSERT_FALSE(result);
  ASSERT_EQ(result.errors.size(), 1U);
  EXPECT_EQ(result.errors[0].file, "/etc/hubgate/rules.yaml");
  EXPECT_EQ(result.errors[0].line, 2U);
  EXPECT_EQ(result.errors[0].column, 1U);
  EXPECT_EQ(result.errors[0].to_string(), "/etc/hubgate/rules.yaml:2:1: unknown key 'bogus' "
                                          "(expected version, default, mode, batches, auth, upstream_token, clients, rules, tests or audit)");
}

TEST(RuleLoader, OperationsWithoutHints) {
  // A catalog that cannot list its names still gets its operations checked.
  struct only_create final : known_operations {
    bool contains(std::string_view name) const override { return name == "contacts.create"; }
  };
  const auto result = load_rule_set(
      "version: 1\nrules:\n  - name: a\n    match: { operations: contacts.creat }\n    action: "
      "block\n",
      "rules.yaml", only_create{});
  ASSERT_EQ(result.errors.size(), 1U);
  EXPECT_EQ(result.errors[0].to_string(), "rules.yaml:4:26: unknown operation 'contacts.creat'");
}

TEST(RuleLoader, TestSectionErrors) {
  EXPECT_THAT(load_errors(R"yaml(version: 1
rules:
  - name: no-test-domains
    match: { email_domain: test.com }
    action: block
tests:
  - name: a
    request: { method: POST, path: crm/v3/objects/contacts }
    expect: blocked
  - name: a
    request: { path: / }
    expect: { verdict: allow, status: 403, rule: no-test-domain }
  - name: c
    request: { method: POST, path: /x }
    expect: { items: [allow, { verdict: block, set: { a: b } }, [x]], verdict: block }
  - name: d
    expect: { items: [] }
  - request: { method: GET, path: /, body: ~ }
    expect: allow
)yaml"),
              ElementsAre("rules.yaml:8:36: 'path' must start with '/', got "
                          "'crm/v3/objects/contacts'",
                          "rules.yaml:9:13: unknown verdict 'blocked' (did you mean 'block'?)",
                          "rules.yaml:11:14: a test request needs a 'method'",
                          "rules.yaml:12:31: 'status' can only be expected of a blocked record",
                          "rules.yaml:12:50: unknown rule 'no-test-domain' (did you mean "
                          "'no-test-domains'?)",
                          "rules.yaml:15:48: a blocked record has no edits to expect",
                          "rules.yaml:15:65: 'item' must be one of allow, block or rewrite, or a "
                          "mapping, got a list",
                          "rules.yaml:15:71: 'verdict' cannot be given with 'items' (give it in "
                          "each item)",
                          "rules.yaml:16:5: a test needs a 'request'",
                          "rules.yaml:17:22: 'items' must be a non-empty list, one entry per "
                          "record, got a list",
                          "rules.yaml:18:5: a test needs a 'name'"));
}

TEST(RuleLoader, DuplicateTestNames) {
  EXPECT_THAT(load_errors(R"yaml(version: 1
tests:
  - name: t
    request: { method: GET, path: / }
    expect: allow
  - name: t
    request: { method: GET, path: / }
    expect: allow
)yaml"),
              ElementsAre("rules.yaml:6:11: duplicate test name 't' (first on line 3)"));
}

} // namespace
} // namespace hubgate::rules
