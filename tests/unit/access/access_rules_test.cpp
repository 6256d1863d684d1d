// The access part of rules.yaml (`auth`, `upstream_token`, `clients`), `client:` conditions, and the
// secrets they refer to, read through a fake secret_reader.

#include "hubgate/rules/loader.hpp"

#include "../rules/rules_test_support.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

namespace hubgate::rules {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class fake_secrets final : public access::secret_reader {
 public:
  std::map<std::string, std::string> values; // "env:NAME" or "file:PATH" -> secret
  std::optional<std::string> read(const access::secret_ref& ref, std::string& error) const override {
    const auto key = (ref.from == access::secret_ref::source::env ? "env:" : "file:") + ref.name;
    if (const auto it = values.find(key); it != values.end()) {
      return it->second;
    }
    error = "it is not set";
    return std::nullopt;
  }
};

// The shape documented in the issue, verbatim.
constexpr std::string_view documented = R"yaml(version: 1
auth: clients                       # or passthrough (the default)
upstream_token: { env: HUBSPOT_TOKEN }          # or { file: /run/secrets/hubspot_token }
clients:
  - name: zapier
    keys: [ { env: ZAPIER_KEY }, { file: /run/secrets/zapier_key_next } ]
    max_new_contacts: { per: day, count: 500 }
rules:
  - name: zapier-updates-only
    match: { client: zapier, kind: [create] }
    action: block
)yaml";

fake_secrets documented_secrets() {
  fake_secrets s;
  s.values = {{"env:HUBSPOT_TOKEN", "pat-na1-upstream-token"},
              {"env:ZAPIER_KEY", "zapier-key-0123456789"},
              {"file:/run/secrets/zapier_key_next", "zapier-key-next-0123456789"}};
  return s;
}

std::vector<std::string> errors_with(std::string_view yaml, const access::secret_reader* secrets) {
  auto result = load_rule_set(yaml, "rules.yaml", testing::fake_operations(), secrets);
  EXPECT_EQ(result.rules, nullptr);
  std::vector<std::string> out;
  for (const auto& e : result.errors) {
    out.push_back(e.to_string());
  }
  return out;
}

TEST(AccessRules, LoadsTheDocumentedShapeWithoutReadingSecrets) {
  const auto rules = testing::load(documented);
  ASSERT_TRUE(rules);
  const auto& access = rules->access();
  EXPECT_EQ(access.mode, access::auth_mode::clients);
  ASSERT_EQ(access.clients.size(), 1u);
  EXPECT_EQ(access.clients[0].name, "zapier");
  EXPECT_EQ(access.clients[0].line, 5u);
  ASSERT_EQ(access.clients[0].keys.size(), 2u);
  EXPECT_EQ(access.clients[0].keys[1].describe(), "file /run/secrets/zapier_key_next");
  EXPECT_EQ(access.clients[0].max_new_contacts, (access::new_contact_budget{access::budget_window::day, 500}));
  EXPECT_EQ(access.upstream_token->describe(), "environment variable HUBSPOT_TOKEN");
  EXPECT_FALSE(access.secrets_read);
  EXPECT_EQ(access.keys.size(), 0u);
}

TEST(AccessRules, WithAReaderTheKeysAndTheUpstreamTokenAreRead) {
  const auto secrets = documented_secrets();
  auto result = load_rule_set(documented, "rules.yaml", testing::fake_operations(), &secrets);
  ASSERT_TRUE(result.rules) << (result.errors.empty() ? "" : result.errors[0].to_string());
  const auto& access = result.rules->access();
  EXPECT_TRUE(access.secrets_read);
  EXPECT_EQ(access.upstream_authorization, "Bearer pat-na1-upstream-token");
  EXPECT_EQ(access.identify("Bearer zapier-key-0123456789", "/").who, &access.clients[0]);
  EXPECT_EQ(access.identify("Bearer zapier-key-next-0123456789", "/").who, &access.clients[0]);
  EXPECT_EQ(access.identify("Bearer pat-na1-upstream-token", "/").refused, access::refusal::unknown_key);
}

TEST(AccessRules, PassthroughIsTheDefault) {
  const auto rules = testing::load("version: 1\n");
  EXPECT_EQ(rules->access().mode, access::auth_mode::passthrough);
  EXPECT_TRUE(rules->access().clients.empty());
}

TEST(AccessRules, SecretsThatCannotBeReadOrAreUnfitAreErrorsAtTheirReference) {
  auto secrets = documented_secrets();
  secrets.values.erase("file:/run/secrets/zapier_key_next");
  EXPECT_THAT(errors_with(documented, &secrets),
              ElementsAre("rules.yaml:6:34: cannot read the key of client 'zapier' from file "
                          "/run/secrets/zapier_key_next: it is not set"));
  secrets = documented_secrets();
  secrets.values["env:ZAPIER_KEY"] = "short";
  EXPECT_THAT(errors_with(documented, &secrets),
              ElementsAre(HasSubstr("rules.yaml:6:13: the key of client 'zapier' from environment variable "
                                    "ZAPIER_KEY is shorter than 16 characters")));
  secrets = documented_secrets();
  secrets.values["env:HUBSPOT_TOKEN"] = "pat-na1\r\nX-Injected: 1";
  EXPECT_THAT(errors_with(documented, &secrets),
              ElementsAre("rules.yaml:3:17: the upstream token from environment variable HUBSPOT_TOKEN holds spaces "
                          "or control characters"));
  secrets = documented_secrets();
  secrets.values["env:HUBSPOT_TOKEN"] = "zapier-key-0123456789";
  EXPECT_THAT(errors_with(documented, &secrets), ElementsAre(HasSubstr("is the upstream token")));
  secrets = documented_secrets();
  secrets.values["file:/run/secrets/zapier_key_next"] = "zapier-key-0123456789";
  EXPECT_THAT(errors_with(documented, &secrets), ElementsAre(HasSubstr("is also a key of client 'zapier'")));
}

TEST(AccessRules, ShapeErrorsPointAtTheirPlace) {
  EXPECT_THAT(testing::load_errors("version: 1\nauth: client\n"),
              ElementsAre(HasSubstr("rules.yaml:2:7: unknown auth 'client' (did you mean 'clients'?)")));
  EXPECT_THAT(testing::load_errors("version: 1\nauth: clients\nclients:\n  - name: a\n    keys: [ { env: A } ]\n"),
              ElementsAre(HasSubstr("rules.yaml:2:7: 'auth: clients' needs 'upstream_token'")));
  EXPECT_THAT(testing::load_errors("version: 1\nauth: clients\nupstream_token: { env: T }\n"),
              ElementsAre(HasSubstr("rules.yaml:2:7: 'auth: clients' needs a 'clients' list")));
  EXPECT_THAT(testing::load_errors("version: 1\nupstream_token: { env: T }\n"),
              ElementsAre(HasSubstr("rules.yaml:2:1: 'upstream_token' applies only with 'auth: clients'")));
  EXPECT_THAT(testing::load_errors("version: 1\nclients: []\n"),
              ElementsAre(HasSubstr("rules.yaml:2:1: 'clients' applies only with 'auth: clients'")));
  EXPECT_THAT(testing::load_errors("version: 1\nauth: clients\nupstream_token: pat-na1-123\nclients: []\n"),
              ElementsAre(HasSubstr("rules.yaml:3:17: 'upstream_token' must be {env: NAME} or {file: PATH}, got a "
                                    "string (secrets never go in the rules file)"),
                          HasSubstr("rules.yaml:4:10: 'clients' must be a non-empty list")));
  EXPECT_THAT(
      testing::load_errors("version: 1\nauth: clients\nupstream_token: { env: T, file: /t }\nclients:\n"
                           "  - name: a\n    keys: [ { env: A } ]\n  - name: a\n    keys: []\n"
                           "    max_new_contacts: { per: week, count: -1 }\n"),
      ElementsAre(HasSubstr("rules.yaml:3:27: 'upstream_token' takes 'env' or 'file', not both"),
                  HasSubstr("rules.yaml:7:11: duplicate client name 'a'"),
                  HasSubstr("rules.yaml:8:11: 'keys' must be a non-empty list"),
                  HasSubstr("rules.yaml:9:30: unknown per 'week' (expected hour or day)"),
                  HasSubstr("rules.yaml:9:43: 'count' must be from 0 to")));
}

// A secret written where the name of its variable or a key belongs (envsubst run over the file, a
// paste): the error that refuses it goes to stderr and the log, so it points at the place and
// never quotes what is there.
TEST(AccessRules, ASecretWrittenInPlaceOfANameOrAKeyIsNeverQuoted) {
  const auto secrets = documented_secrets();
  const auto expect_unquoted = [](const std::vector<std::string>& errors) {
    for (const auto& error : errors) {
      EXPECT_THAT(error, ::testing::Not(HasSubstr("INLINE"))) << error;
    }
  };
  // Read with the secrets, as serve does (once refused at reading), and without, as check does.
  const std::string env_yaml = "version: 1\nauth: clients\nupstream_token: { env: pat-na1-INLINETOKEN-AAAA }\n"
                               "clients:\n  - name: zapier\n    keys: [ { env: ZAPIER_KEY } ]\n";
  for (const access::secret_reader* reader : {static_cast<const access::secret_reader*>(&secrets),
                                              static_cast<const access::secret_reader*>(nullptr)}) {
    const auto errors = errors_with(env_yaml, reader);
    EXPECT_THAT(errors, ElementsAre("rules.yaml:3:24: the 'env' of 'upstream_token' is not an environment "
                                    "variable name (letters, digits and _; not shown, as it may be the secret "
                                    "itself: secrets go in the environment, never in the rules file)"));
    expect_unquoted(errors);
  }
  auto errors = testing::load_errors(
      "version: 1\nauth: clients\nupstream_token: { pat-na1-INLINETOKEN-AAAA }\nclients:\n"
      "  - name: zapier\n    keys: [ { ck-INLINEKEY-0123456789 }, { env: ZAPIER_KEY, INLINE-B: x, INLINE-B: y } ]\n"
      "  - { name: b, keys: [ { env: 9INLINE } ], INLINE-C: 1 }\n");
  EXPECT_THAT(errors, ElementsAre("rules.yaml:3:17: 'upstream_token' needs 'env' or 'file'",
                                  "rules.yaml:3:19: an unknown key (expected env or file)",
                                  "rules.yaml:6:13: a key needs 'env' or 'file'",
                                  "rules.yaml:6:15: an unknown key (expected env or file)",
                                  "rules.yaml:6:61: an unknown key (expected env or file)",
                                  "rules.yaml:6:74: a duplicate key (first on line 6)",
                                  "rules.yaml:7:31: the 'env' of a key is not an environment variable name "
                                  "(letters, digits and _; not shown, as it may be the secret itself: secrets "
                                  "go in the environment, never in the rules file)",
                                  "rules.yaml:7:44: an unknown key (expected name, keys or max_new_contacts)"));
  expect_unquoted(errors);
  // A secret pasted where its file's path belongs: the path reads as no file, and is not repeated.
  errors = errors_with("version: 1\nauth: clients\nupstream_token: { file: pat-na1-INLINETOKEN-AAAA }\n"
                       "clients:\n  - name: zapier\n    keys: [ { file: INLINEKEY0123456789abcdef } ]\n",
                       &secrets);
  EXPECT_THAT(errors, ElementsAre(HasSubstr("rules.yaml:3:17: cannot read the upstream token from the file its "
                                            "'file' names (not shown"),
                                  HasSubstr("rules.yaml:6:13: cannot read the key of client 'zapier' from the file "
                                            "its 'file' names (not shown")));
  expect_unquoted(errors);
  // A path is named, so that the file can be found.
  EXPECT_THAT(errors_with("version: 1\nauth: clients\nupstream_token: { file: /run/secrets/hs }\n"
                          "clients:\n  - name: zapier\n    keys: [ { file: zapier.key } ]\n",
                          &secrets),
              ElementsAre(HasSubstr("from file /run/secrets/hs:"), HasSubstr("from file zapier.key:")));
  // A typo of a known key is still named.
  EXPECT_THAT(testing::load_errors("version: 1\nauth: clients\nupstream_token: { evn: T }\nclients:\n"
                                   "  - name: a\n    keys: [ { env: A } ]\n"),
              ElementsAre("rules.yaml:3:17: 'upstream_token' needs 'env' or 'file'",
                          "rules.yaml:3:19: an unknown key (did you mean 'env'?)"));
}

TEST(AccessRules, ClientConditionsNameKnownClientsAndMatchOnlyThem) {
  const auto rules = testing::load(documented);
  const auto decide_for = [&](std::string client) {
    auto create = testing::fake_request::create("a@b.co");
    create.client = std::move(client);
    return testing::decide(*rules, create);
  };
  EXPECT_EQ(decide_for("zapier").decision, verdict::block);
  EXPECT_EQ(decide_for("").decision, verdict::allow) << "a request of no client";
  EXPECT_EQ(decide_for("sync").decision, verdict::allow);

  EXPECT_THAT(testing::load_errors(std::string(documented) + "  - name: other\n    match: { client: zapiar }\n"
                                                             "    action: block\n"),
              ElementsAre("rules.yaml:13:22: unknown client 'zapiar' (did you mean 'zapier'?)"));
  EXPECT_THAT(testing::load_errors("version: 1\nrules:\n  - name: r\n    match: { client: zapier }\n    action: block\n"),
              ElementsAre(HasSubstr("rules.yaml:4:22: 'client' needs the clients of 'auth: clients'")));
}

TEST(AccessRules, AClientOnlyRuleReachesRequestsOutsideTheCatalog) {
  const auto rules = testing::load("version: 1\nauth: clients\nupstream_token: { env: T }\nclients:\n"
                                   "  - name: agent\n    keys: [ { env: A } ]\nrules:\n"
                                   "  - name: agent-reads-nothing\n    match: { client: agent }\n    action: block\n");
  ASSERT_TRUE(rules);
  EXPECT_TRUE(rules->reaches_non_catalog());
}

TEST(AccessRules, TestsMayNameTheClientMakingTheRequest) {
  const auto rules = testing::load(std::string(documented) + R"yaml(tests:
  - name: zapier cannot create
    request: { method: POST, path: /crm/v3/objects/contacts, client: zapier, body: { properties: { email: a@b.co } } }
    expect: block
)yaml");
  ASSERT_TRUE(rules);
  EXPECT_EQ(rules->tests()[0].request.client, "zapier");
  EXPECT_THAT(testing::load_errors(std::string(documented) + R"yaml(tests:
  - name: nobody
    request: { method: GET, path: /, client: nobody }
    expect: allow
)yaml"),
              ElementsAre(HasSubstr("rules.yaml:14:46: unknown client 'nobody'")));
}

} // namespace
} // namespace hubgate::rules
