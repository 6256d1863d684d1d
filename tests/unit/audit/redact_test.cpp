#include "hubgate/audit/redact.hpp"

#include <gtest/gtest.h>

#include <regex>

namespace hubgate::audit {
namespace {

TEST(redact, sha256_is_the_standard_digest) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(redact, an_email_keeps_its_domain_and_hashes_its_local_part) {
  const email_redactor r("key-1");
  const auto redacted = r.redact("Jo.Smith@Corp.IO");
  EXPECT_TRUE(std::regex_match(redacted, std::regex("[0-9a-f]{16}@corp\\.io"))) << redacted;
  EXPECT_EQ(redacted.find("jo"), std::string::npos);
  EXPECT_EQ(redacted.find("smith"), std::string::npos);
}

TEST(redact, the_same_address_links_as_hubspot_would_store_it) {
  const email_redactor r("key-1");
  EXPECT_EQ(r.redact("jo@corp.io"), r.redact("  JO@Corp.io "));
  EXPECT_NE(r.redact("jo@corp.io"), r.redact("jo@corp.org"));
  EXPECT_NE(r.redact("jo@corp.io").substr(0, 16), r.redact("jo@corp.org").substr(0, 16))
      << "the hash covers the whole address, not only its local part";
  EXPECT_NE(r.redact("jo@corp.io"), r.redact("al@corp.io"));
}

TEST(redact, the_key_decides_the_hash) {
  EXPECT_NE(email_redactor("key-1").redact("jo@corp.io"), email_redactor("key-2").redact("jo@corp.io"));
  EXPECT_EQ(email_redactor("key-1").redact("jo@corp.io"), email_redactor("key-1").redact("jo@corp.io"));
  EXPECT_NE(email_redactor::with_random_key().redact("jo@corp.io"),
            email_redactor::with_random_key().redact("jo@corp.io"));
}

TEST(redact, odd_addresses) {
  const email_redactor r("k");
  EXPECT_EQ(r.redact(""), "");
  EXPECT_EQ(r.redact("   "), "");
  EXPECT_TRUE(std::regex_match(r.redact("not-an-address"), std::regex("[0-9a-f]{16}")));
}

TEST(redact, a_token_is_fingerprinted_never_kept) {
  const std::string token = "pat-na1-11111111-2222-3333-4444-555555555555";
  const auto print = token_fingerprint("Bearer " + token, "/crm/v3/objects/contacts");
  EXPECT_EQ(print, sha256_hex(token).substr(0, 8));
  EXPECT_EQ(token_fingerprint("bearer  " + token + " ", "/"), print);
  EXPECT_EQ(token.find(print), std::string::npos);
  EXPECT_EQ(token_fingerprint("", "/contacts/v1/contact?hapikey=abc-123&x=1"), sha256_hex("abc-123").substr(0, 8));
  EXPECT_EQ(token_fingerprint("Basic dXNlcjpwYXNz", "/"), sha256_hex("Basic dXNlcjpwYXNz").substr(0, 8));
  EXPECT_EQ(token_fingerprint("", "/crm/v3/objects/contacts?archived=false"), "");
}

} // namespace
} // namespace hubgate::audit
