// Test that header file is self-contained.
#include "hubgate/access/policy.hpp"

#include <gtest/gtest.h>

namespace hubgate::access {
namespace {

TEST(BearerToken, ReadsTheTokenOfABearerCredentialOnly) {
  EXPECT_EQ(bearer_token("Bearer abc.def"), "abc.def");
  EXPECT_EQ(bearer_token("bearer    abc "), "abc");
  EXPECT_EQ(bearer_token("  BEARER\tabc"), "abc");
  EXPECT_EQ(bearer_token("Basic abc"), "");
  EXPECT_EQ(bearer_token("Bearer"), "");
  EXPECT_EQ(bearer_token("Bearer "), "");
  EXPECT_EQ(bearer_token("Bearerabc"), "");
  EXPECT_EQ(bearer_token(""), "");
}

TEST(QueryCredential, FindsHapikeyAndAccessTokenInAnySpelling) {
  EXPECT_TRUE(query_has_credential("/crm/v3/objects/contacts?hapikey=x"));
  EXPECT_TRUE(query_has_credential("/x?limit=1&HAPIKEY=x"));
  EXPECT_TRUE(query_has_credential("/x?limit=1;h%61pikey=x"));
  EXPECT_TRUE(query_has_credential("/x?access_token"));
  EXPECT_TRUE(query_has_credential("/x?a=1&%41ccess_token=x"));
  EXPECT_FALSE(query_has_credential("/x?hapikeys=x&my_access_token=1"));
  EXPECT_FALSE(query_has_credential("/x/hapikey=x"));
  EXPECT_FALSE(query_has_credential("/x?q=hapikey"));
  EXPECT_FALSE(query_has_credential("/x?#hapikey=x"));
  // Padding a server trims, escaped twice, and matrix parameters, as the log redacts them.
  EXPECT_TRUE(query_has_credential("/x?hapikey%C2%A0=x"));
  EXPECT_TRUE(query_has_credential("/x?%EF%BB%BFaccess_token=x"));
  EXPECT_TRUE(query_has_credential("/x?h%2541pikey=x"));
  EXPECT_TRUE(query_has_credential("/crm/v3/objects/deals;hapikey=abc"));
  EXPECT_TRUE(query_has_credential("/crm/v3/objects;v=1;ACCESS%5FTOKEN=x/deals?limit=1"));
  EXPECT_FALSE(query_has_credential("/crm/v3/objects;v=1/hapikey=x"));
}

access_policy two_clients() {
  access_policy policy;
  policy.mode = auth_mode::clients;
  policy.clients.push_back({"zapier", 1, {}, {}});
  policy.clients.push_back({"sync", 2, {}, new_contact_budget{budget_window::day, 5}});
  policy.keys.add(key_table::hash("zapier-key-one-0000"), 0);
  policy.keys.add(key_table::hash("zapier-key-two-0000"), 0);
  policy.keys.add(key_table::hash("sync-key-0000000000"), 1);
  return policy;
}

TEST(AccessPolicy, NamesTheClientOfEachOfItsKeys) {
  const auto policy = two_clients();
  EXPECT_EQ(policy.identify("Bearer zapier-key-one-0000", "/x").who, &policy.clients[0]);
  EXPECT_EQ(policy.identify("Bearer zapier-key-two-0000", "/x").who, &policy.clients[0]);
  EXPECT_EQ(policy.identify("Bearer sync-key-0000000000", "/x").who, &policy.clients[1]);
}

TEST(AccessPolicy, RefusesWhatNamesNoClient) {
  const auto policy = two_clients();
  const auto refused = [&](std::string_view authorization, std::string_view target) {
    const caller c = policy.identify(authorization, target);
    EXPECT_EQ(c.who, nullptr);
    return c.refused;
  };
  EXPECT_EQ(refused("", "/x"), refusal::no_credential);
  EXPECT_EQ(refused("Basic emFwaWVy", "/x"), refusal::no_credential);
  EXPECT_EQ(refused("Bearer zapier-key-one-000", "/x"), refusal::unknown_key) << "a prefix is not the key";
  EXPECT_EQ(refused("Bearer zapier-key-one-00000", "/x"), refusal::unknown_key);
  EXPECT_EQ(refused("Bearer ZAPIER-KEY-ONE-0000", "/x"), refusal::unknown_key) << "keys are compared exactly";
  EXPECT_EQ(refused("Bearer zapier-key-one-0000", "/x?hapikey=1"), refusal::query_credential);
  EXPECT_EQ(refused("Bearer zapier-key-one-0000", "/x?HAPIKEY%20=1"), refusal::query_credential);
  EXPECT_EQ(refused("Bearer zapier-key-one-0000", "/x?a=1;%09access_token+=1"), refusal::query_credential);
}

TEST(AccessPolicy, PassthroughNamesNobodyAndRefusesNothing) {
  auto policy = two_clients();
  policy.mode = auth_mode::passthrough;
  const caller c = policy.identify("", "/x?hapikey=1");
  EXPECT_EQ(c.who, nullptr);
  EXPECT_EQ(c.refused, refusal::none);
}

TEST(AccessPolicy, FindsClientsByName) {
  const auto policy = two_clients();
  EXPECT_EQ(policy.find("sync"), &policy.clients[1]);
  EXPECT_EQ(policy.find("Sync"), nullptr);
}

TEST(SecretRef, DescribesWhereTheSecretIsNeverWhatItHolds) {
  EXPECT_EQ((secret_ref{secret_ref::source::env, "ZAPIER_KEY"}.describe()), "environment variable ZAPIER_KEY");
  EXPECT_EQ((secret_ref{secret_ref::source::file, "/run/secrets/k"}.describe()), "file /run/secrets/k");
}

} // namespace
} // namespace hubgate::access
