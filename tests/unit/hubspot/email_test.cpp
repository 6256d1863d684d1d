#include "hubgate/hubspot/email.hpp"

#include <gtest/gtest.h>

namespace hubgate::hubspot {
namespace {

TEST(email, normalise_trims_and_lower_cases) {
  EXPECT_EQ(normalise_email(" Jo@Test.COM "), "jo@test.com");
  EXPECT_EQ(normalise_email("\t\r\nJo@Test.com\x0B"), "jo@test.com");
  EXPECT_EQ(normalise_email("\xC2\xA0jo@test.com\xE3\x80\x80"), "jo@test.com");     // NBSP, ideographic space
  EXPECT_EQ(normalise_email("\xEF\xBB\xBFjo@test.com\xE2\x80\x8B"), "jo@test.com"); // BOM, zero-width space
  EXPECT_EQ(normalise_email("J o@test.com"), "j o@test.com");                       // inner spaces are data
  EXPECT_EQ(normalise_email("\xC3\x80NNE@\xC3\x89T\xC3\x89.FR"), "\xC3\xA0nne@xn--t-9fab.fr"); // ÀNNE@ÉTÉ.FR: été.fr in IDNA's form
  EXPECT_EQ(normalise_email("\xD0\x98\xD0\xA0@x.ru"), "\xD0\xB8\xD1\x80@x.ru");                       // ИР -> ир
  EXPECT_EQ(normalise_email("\xE2\x84\xAA@x.com"), "k@x.com");                                        // Kelvin sign
  EXPECT_EQ(normalise_email(""), "");
  EXPECT_EQ(normalise_email("   "), "");
}

// Spellings that NFKC, IDNA or Unicode case folding read as the same address compare as one.
TEST(email, normalise_folds_fullwidth_invisible_and_long_s_spellings) {
  EXPECT_EQ(normalise_email("\xEF\xBD\x82\xEF\xBC\xA0\xEF\xBD\x94.com"), "b@t.com");   // ｂ＠ｔ.com
  EXPECT_EQ(normalise_email("b@t\xE3\x80\x82" "com"), "b@t.com");                       // ideographic full stop
  EXPECT_EQ(normalise_email("b@te\xE2\x80\x8B" "st.c\xC2\xAD" "om"), "b@test.com");       // zero-width space, soft hyphen
  EXPECT_EQ(normalise_email("b@te\xE2\x80\xAE" "st.com"), "b@test.com");                // bidi override
  EXPECT_EQ(normalise_email("b@te\xC5\xBFt.com"), "b@test.com");                      // long s
}

// Every spelling IDNA (UTS #46) maps to one domain compares as that domain's ASCII form.
TEST(email, an_internationalised_domain_takes_its_idna_ascii_form) {
  EXPECT_EQ(normalise_email("Jo@B\xC3\x9C" "CHER.de"), "jo@xn--bcher-kva.de");             // BÜCHER.de
  EXPECT_EQ(normalise_email("jo@xn--bcher-kva.de"), "jo@xn--bcher-kva.de");
  EXPECT_EQ(normalise_email("jo@XN--Bcher-KVA.de."), "jo@xn--bcher-kva.de");
  EXPECT_EQ(normalise_email("jo@\xF0\x9D\x90\x9E" "xample.org"), "jo@example.org");     // 𝐞xample.org
  EXPECT_EQ(normalise_email("jo@\xE2\x93\x94" "xample.org"), "jo@example.org");         // ⓔxample.org
  EXPECT_EQ(normalise_email("jo@fa\xC3\x9F.de"), "jo@fass.de");                           // faß.de, transitional
  // The local part is not IDNA's: it keeps its characters.
  EXPECT_EQ(normalise_email("J\xC3\x96@b\xC3\xBC" "cher.de"), "j\xC3\xB6@xn--bcher-kva.de");
  EXPECT_EQ(email_domain("jo@M\xC3\x9CNCHEN.de"), "xn--mnchen-3ya.de");
  EXPECT_EQ(normalise_domain("B\xC3\x9C" "CHER.de"), "xn--bcher-kva.de");
  EXPECT_EQ(normalise_domain("Example.ORG"), "example.org");
}

TEST(email, a_domain_idna_refuses_is_not_readable) {
  for (const std::string_view domain : {"example.org", "xn--bcher-kva.de", "mail.xn--bcher-kva.de", "my-corp.io",
                                        "xn--bcher-kva.de.", "a_b.example"}) {
    EXPECT_TRUE(is_readable_domain(domain)) << domain;
  }
  // Refused domains are left as folded: their spelling is not IDNA's.
  for (const std::string_view address : {"jo@example\xE2\x80\xA4org",       // ONE DOT LEADER
                                         "jo@example\xEF\xB9\x92org",       // SMALL FULL STOP
                                         "jo@xn--example-.org", "jo@xn--.org", "jo@xn--a.org", "jo@-b\xC3\xBC.de"}) {
    EXPECT_FALSE(is_readable_domain(normalised_domain(normalise_email(address)))) << address;
  }
  // Longer than any domain can be: refused without asking IDNA.
  std::string long_domain;
  for (int i = 0; i < 300; ++i) {
    long_domain += "\xC3\xBC"; // ü
  }
  EXPECT_FALSE(is_readable_domain(long_domain + ".de"));
  EXPECT_TRUE(is_readable_domain(normalise_domain(long_domain.substr(0, 2 * 50) + ".de")));
}

TEST(email, a_full_stop_or_at_sign_spelt_otherwise_is_read_as_ascii) {
  // A trailing full stop counts once mapped: the same mailbox as without it.
  EXPECT_EQ(normalise_email("Jo@Example.com\xE3\x80\x82"), "jo@example.com");     // 。
  EXPECT_EQ(normalise_email("Jo@Example.com\xEF\xBC\x8E"), "jo@example.com");     // ．
  EXPECT_EQ(normalise_email("jo@example.com\xEF\xBD\xA1 "), "jo@example.com");    // ｡
  EXPECT_EQ(normalise_email("jo\xEF\xB9\xAB" "example.com"), "jo@example.com");   // ﹫
  EXPECT_EQ(normalise_email("jo\xEF\xBC\xA0" "example.com"), "jo@example.com");   // ＠
}

TEST(email, a_host_name_is_labels_of_letters_digits_and_hyphens) {
  for (const std::string_view domain : {"example.org", "Example.ORG", "my-corp.io", "xn--bcher-kva.de", "a.b.c.d",
                                        "localhost", "example.org.", "9.example"}) {
    EXPECT_TRUE(is_host_name(domain)) << domain;
  }
  for (const std::string_view domain : {"", ".", "example.com/extra", "exa_mple.com", "example..com", ".example.com",
                                        "example.com:80", "ex%41mple.com", "ex ample.com"}) {
    EXPECT_FALSE(is_host_name(domain)) << domain;
  }
  EXPECT_FALSE(is_host_name("b\xC3\xBC" "cher.de")); // not yet in IDNA's ASCII form
}

TEST(email, domain_is_normalised_after_the_last_at) {
  EXPECT_EQ(email_domain("a@Example.COM"), "example.com");
  EXPECT_EQ(email_domain(" a@example.com. "), "example.com");
  EXPECT_EQ(email_domain("\"a@b\"@example.org"), "example.org");
  EXPECT_EQ(email_domain("no-at-sign"), "");
  EXPECT_EQ(email_domain("a@"), "");
}

TEST(email, an_address_called_normal_is_one_normalising_leaves_as_it_is) {
  for (const std::string_view address : {"jo@test.com", "", "j o@test.com", "a.b+c@sub.example.org"}) {
    EXPECT_TRUE(is_normalised_email(address)) << address;
    EXPECT_EQ(normalise_email(address), address);
  }
  // Anything to trim or lower-case is not; nor, to be safe, is any non-ASCII address.
  for (const std::string_view address : {"Jo@test.com", " jo@test.com", "jo@test.com\t", "jo@test.com.", "jo@TEST.com",
                                         ".", "jo@test.com\xC2\xA0", "jo@t\xC3\xA9st.com"}) {
    EXPECT_FALSE(is_normalised_email(address)) << address;
  }
  EXPECT_EQ(normalised_domain("jo@sub.example.org"), "sub.example.org");
  EXPECT_EQ(normalised_domain("no-at-sign"), "");
}

} // namespace
} // namespace hubgate::hubspot
