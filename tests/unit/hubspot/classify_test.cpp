#include "hubgate/hubspot/classify.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>

namespace hubgate::hubspot {
namespace {

struct request_case {
  std::string_view method;
  std::string_view target;
  std::string_view op;      // empty: not a catalog operation
  std::string_view forward; // expected forward target when op is set
};

void expect_case(const request_case& rc) {
  SCOPED_TRACE(std::string(rc.method) + " " + std::string(rc.target));
  const classification c = classify(rc.method, rc.target);
  ASSERT_TRUE(c.ok()) << c.error;
  if (rc.op.empty()) {
    EXPECT_EQ(c.op, nullptr) << "classified as " << c.op->name;
    EXPECT_TRUE(c.forward_target.empty());
    return;
  }
  ASSERT_NE(c.op, nullptr);
  EXPECT_EQ(c.op->name, rc.op);
  EXPECT_EQ(c.forward_target, rc.forward);
}

// Requests as the reference shows them (Appendix A captures, §2 tables).
TEST(classify, reference_requests_classify_to_their_operation) {
  const request_case cases[] = {
      {"POST", "/crm/v3/objects/contacts", "contacts.create", "/crm/v3/objects/contacts"},
      {"POST", "/crm/v3/objects/0-1", "contacts.create", "/crm/v3/objects/0-1"},
      {"POST", "/crm/v3/objects/contact", "contacts.create", "/crm/v3/objects/contact"},
      {"POST", "/crm/v3/objects/contacts/batch/create", "contacts.batch_create",
       "/crm/v3/objects/contacts/batch/create"},
      {"POST", "/crm/v3/objects/0-1/batch/create", "contacts.batch_create", "/crm/v3/objects/0-1/batch/create"},
      {"POST", "/crm/v3/objects/contacts/batch/upsert", "contacts.batch_upsert",
       "/crm/v3/objects/contacts/batch/upsert"},
      {"POST", "/crm/objects/2025-09/contacts", "contacts.create", "/crm/objects/2025-09/contacts"},
      {"POST", "/crm/objects/2026-03/contacts/batch/create", "contacts.batch_create",
       "/crm/objects/2026-03/contacts/batch/create"},
      {"POST", "/crm/objects/2026-09-beta/contacts/batch/upsert", "contacts.batch_upsert",
       "/crm/objects/2026-09-beta/contacts/batch/upsert"},
      {"POST", "/crm/objects/2031-04-beta/0-1", "contacts.create", "/crm/objects/2031-04-beta/0-1"},
      {"POST", "/contacts/v1/contact", "contacts.v1_create", "/contacts/v1/contact"},
      {"POST", "/contacts/v1/contact/?hapikey=KEY", "contacts.v1_create", "/contacts/v1/contact?hapikey=KEY"},
      {"POST", "/contacts/v1/contact/createOrUpdate/email/a@b.com", "contacts.v1_create_or_update",
       "/contacts/v1/contact/createOrUpdate/email/a%40b.com"},
      {"POST", "/contacts/v1/contact/batch/?auditId=x", "contacts.v1_batch", "/contacts/v1/contact/batch?auditId=x"},
      {"POST", "/submissions/v3/integration/submit/123/0a1b-guid", "forms.submit",
       "/submissions/v3/integration/submit/123/0a1b-guid"},
      {"POST", "/submissions/v3/integration/submit/123/0a1b-guid/extra/x", "forms.submit",
       "/submissions/v3/integration/submit/123/0a1b-guid/extra/x"},
      {"POST", "/uploads/form/v2/123/0a1b-guid/x", "forms.submit_v2", "/uploads/form/v2/123/0a1b-guid/x"},
      {"POST", "/submissions/v3/integration/secure/submit/123/guid", "forms.submit_secure",
       "/submissions/v3/integration/secure/submit/123/guid"},
      {"POST", "/uploads/form/v2/123/guid", "forms.submit_v2", "/uploads/form/v2/123/guid"},
      {"POST", "/submissions/v2/post/upload/secure/123/guid", "forms.submit_v2_secure",
       "/submissions/v2/post/upload/secure/123/guid"},
      {"POST", "/crm/v3/imports", "imports.create", "/crm/v3/imports"},
      {"POST", "/crm/v3/imports/", "imports.create", "/crm/v3/imports"},
      {"POST", "/crm/imports/2026-03", "imports.create", "/crm/imports/2026-03"},
      {"POST", "/marketing/v3/transactional/single-email/send", "emails.transactional_send",
       "/marketing/v3/transactional/single-email/send"},
      {"POST", "/marketing/transactional/2026-03/single-email/send", "emails.transactional_send",
       "/marketing/transactional/2026-03/single-email/send"},
      {"POST", "/email/public/v1/singleEmail/send", "emails.transactional_send_v1",
       "/email/public/v1/singleEmail/send"},
      {"POST", "/marketing/v4/email/single-send", "emails.marketing_send", "/marketing/v4/email/single-send"},
      {"POST", "/marketing/email-campaigns/2026-03/single-send", "emails.marketing_send",
       "/marketing/email-campaigns/2026-03/single-send"},
      {"POST", "/marketing/v3/transactional/smtp-tokens", "emails.smtp_token_create",
       "/marketing/v3/transactional/smtp-tokens"},
      {"POST", "/marketing/v3/marketing-events/attendance/ev1/attend/email-create", "marketing_events.email_create",
       "/marketing/v3/marketing-events/attendance/ev1/attend/email-create"},
      {"POST", "/marketing/v3/marketing-events/999/attendance/register/email-create", "marketing_events.email_create",
       "/marketing/v3/marketing-events/999/attendance/register/email-create"},
      {"POST", "/marketing/marketing-events/2026-03/attendance/ev1/attend/email-create",
       "marketing_events.email_create", "/marketing/marketing-events/2026-03/attendance/ev1/attend/email-create"},
      {"POST", "/marketing/v3/marketing-events/events/ev1/register/email-create", "marketing_events.email_create",
       "/marketing/v3/marketing-events/events/ev1/register/email-create"},
      {"POST", "/marketing/v3/marketing-events/events/ev1/register/email-upsert", "marketing_events.email_upsert",
       "/marketing/v3/marketing-events/events/ev1/register/email-upsert"},
      {"POST", "/marketing/marketing-events/2026-03/events/ev1/attend/email-upsert", "marketing_events.email_upsert",
       "/marketing/marketing-events/2026-03/events/ev1/attend/email-upsert"},
      {"POST", "/integrators/timeline/v3/events", "timeline.event_create", "/integrators/timeline/v3/events"},
      {"POST", "/conversations/v3/custom-channels/c1/messages", "conversations.channel_message",
       "/conversations/v3/custom-channels/c1/messages"},
      {"POST", "/conversations/custom-channels/2026-03/c1/messages", "conversations.channel_message",
       "/conversations/custom-channels/2026-03/c1/messages"},
      {"POST", "/conversations/2026-03/custom-channels/c1/messages", "conversations.channel_message",
       "/conversations/2026-03/custom-channels/c1/messages"},
      {"POST", "/conversations/conversations/2026-09-beta/threads/77/messages", "conversations.thread_message",
       "/conversations/conversations/2026-09-beta/threads/77/messages"},
      {"POST", "/conversations/2026-09/conversations/threads/77/messages", "conversations.thread_message",
       "/conversations/2026-09/conversations/threads/77/messages"},
      {"POST", "/conversations/2026-03/visitor-identification/tokens/create", "visitor_identification.token_create",
       "/conversations/2026-03/visitor-identification/tokens/create"},
      {"POST", "/integrators/timeline/v3/events/batch/create", "timeline.event_batch_create",
       "/integrators/timeline/v3/events/batch/create"},
      {"POST", "/integrators/timeline/2026-03/events/batch", "timeline.event_batch_create",
       "/integrators/timeline/2026-03/events/batch"},
      {"POST", "/integrators/timeline/v4/events", "timeline.app_event_create", "/integrators/timeline/v4/events"},
      {"POST", "/integrators/timeline/v4/events/batch", "timeline.app_event_batch_create",
       "/integrators/timeline/v4/events/batch"},
      {"POST", "/integrators/timeline/v4/events/occurrences", "timeline.app_event_other",
       "/integrators/timeline/v4/events/occurrences"},
      // The spelling the SDKs send (HubSpot's spec gives both).
      {"POST", "/crm/v3/timeline/events", "timeline.event_create", "/crm/v3/timeline/events"},
      {"POST", "/CRM/v3/Timeline/events/batch/create", "timeline.event_batch_create",
       "/crm/v3/timeline/events/batch/create"},
      {"POST", "/crm/timeline/2026-03/events/batch", "timeline.event_batch_create",
       "/crm/timeline/2026-03/events/batch"},
      {"PUT", "/integrations/v1/77/timeline/event", "timeline.legacy_event_create",
       "/integrations/v1/77/timeline/event"},
      {"POST", "/integrations/v1/77/timeline/event", "timeline.legacy_event_create",
       "/integrations/v1/77/timeline/event"},
      {"POST", "/integrations/v1/77/timeline/event/batch", "timeline.legacy_event_batch",
       "/integrations/v1/77/timeline/event/batch"},
      {"PUT", "/integrations/v1/77/timeline/event/batch", "timeline.legacy_event_batch",
       "/integrations/v1/77/timeline/event/batch"},
      {"POST", "/events/v3/send", "events.send", "/events/v3/send"},
      {"POST", "/events/2026-03/send/batch", "events.send_batch", "/events/2026-03/send/batch"},
      {"POST", "/events/custom/2026-03/send", "events.send", "/events/custom/2026-03/send"},
      {"POST", "/visitor-identification/v3/tokens/create", "visitor_identification.token_create",
       "/visitor-identification/v3/tokens/create"},
      {"POST", "/conversations/v3/visitor-identification/tokens/create", "visitor_identification.token_create",
       "/conversations/v3/visitor-identification/tokens/create"},
      {"POST", "/scheduler/v3/meetings/meeting-links/book?timezone=UTC", "meetings.book",
       "/scheduler/v3/meetings/meeting-links/book?timezone=UTC"},
      {"POST", "/automation/v4/webhook-triggers/123/456", "automation.webhook_trigger",
       "/automation/v4/webhook-triggers/123/456"},
      {"POST", "/submissions/v3/integration/async/submit/123/0a1b-guid", "forms.submit",
       "/submissions/v3/integration/async/submit/123/0a1b-guid"},
      {"POST", "/submissions/v3/public/submit/formsnext/multipart/123/0a1b-guid", "forms.submit_embedded",
       "/submissions/v3/public/submit/formsnext/multipart/123/0a1b-guid"},
      {"POST", "/crm/v3/extensions/accounting/sync/42/contacts", "accounting.contact_sync",
       "/crm/v3/extensions/accounting/sync/42/contacts"},
  };
  for (const request_case& rc : cases) {
    expect_case(rc);
  }
}

// §2 rows that do not create, and paths that merely resemble catalog ones.
TEST(classify, look_alikes_are_not_catalog_operations) {
  const request_case cases[] = {
      {"GET", "/crm/v3/objects/contacts/123?properties=email", {}, {}},
      {"GET", "/crm/v3/objects/contacts", {}, {}},
      {"POST", "/crm/v3/objects/contacts/123", {}, {}},
      {"PATCH", "/crm/v3/objects/contacts/a%40b.com?idProperty=email", {}, {}},
      {"POST", "/crm/v3/objects/contacts/search", {}, {}},
      {"POST", "/crm/v3/objects/contacts/batch/update", {}, {}},
      {"POST", "/crm/v3/objects/contacts/batch/read", {}, {}},
      {"POST", "/crm/v3/objects/contacts/batch/archive", {}, {}},
      {"POST", "/crm/v3/objects/contacts/merge", {}, {}},
      {"POST", "/crm/v3/objects/contacts/gdpr-delete", {}, {}},
      {"DELETE", "/crm/v3/objects/contacts/123", {}, {}},
      {"POST", "/crm/v3/objects/companies", {}, {}},
      {"POST", "/crm/v3/objects/companies/batch/create", {}, {}},
      {"POST", "/crm/v3/objects/0-2/batch/create", {}, {}},
      {"POST", "/crm/v3/objects/0-10", {}, {}},
      {"POST", "/crm/v3/objects/leads", {}, {}},
      {"POST", "/crm/v3/objects/contactsx", {}, {}},
      {"POST", "/crm/objects/v3/contacts", {}, {}},
      {"POST", "/crm/v4/objects/contacts", {}, {}},
      {"POST", "/contacts/v1/contact/vid/123/profile", {}, {}},
      {"POST", "/contacts/v1/contact/email/a@b.com/profile", {}, {}},
      {"POST", "/contacts/v1/contact/createOrUpdate/email", {}, {}},
      {"POST", "/contacts/v1/lists/5/add", {}, {}},
      {"POST", "/marketing/v3/marketing-events/attendance/ev1/attend/create", {}, {}},
      {"POST", "/communication-preferences/v3/subscribe", {}, {}},
      {"POST", "/automation/v4/sequences/enrollments", {}, {}},
      {"POST", "/submissions/v3/integration/submit/123", {}, {}},
      {"PUT", "/crm/v3/objects/contacts", {}, {}},
      {"PATCH", "/integrations/v1/77/timeline/event", {}, {}},
      {"GET", "/submissions/v3/integration/submit/123/guid", {}, {}},
      {"OPTIONS", "*", {}, {}},
      {"POST", "/", {}, {}},
  };
  for (const request_case& rc : cases) {
    expect_case(rc);
  }
}

TEST(classify, canonicalisation_makes_spellings_equivalent) {
  const request_case cases[] = {
      // Case of literal segments; the catalog's spelling is forwarded.
      {"POST", "/CRM/V3/Objects/CONTACTS", "contacts.create", "/crm/v3/objects/contacts"},
      {"POST", "/contacts/v1/contact/createorupdate/EMAIL/a@b.com", "contacts.v1_create_or_update",
       "/contacts/v1/contact/createOrUpdate/email/a%40b.com"},
      // Percent-encoded letters and slashes.
      {"POST", "/crm/v3/objects/%63ontacts", "contacts.create", "/crm/v3/objects/contacts"},
      {"POST", "/crm/v3/objects%2Fcontacts%2fbatch%2Fcreate", "contacts.batch_create",
       "/crm/v3/objects/contacts/batch/create"},
      // Repeated slashes (an SDK basePath ending in `/` sends `//crm/...`, §5.1), trailing slash.
      {"POST", "//crm//v3/objects///contacts/", "contacts.create", "/crm/v3/objects/contacts"},
      // Dot segments, also encoded; `;params`, also on `..;`.
      {"POST", "/crm/v3/./objects/companies/../contacts", "contacts.create", "/crm/v3/objects/contacts"},
      {"POST", "/crm/v3/objects/x/%2e%2E/contacts/batch/create", "contacts.batch_create",
       "/crm/v3/objects/contacts/batch/create"},
      {"POST", "/crm/v3/objects/x/..;/contacts", "contacts.create", "/crm/v3/objects/contacts"},
      {"POST", "/crm/v3/objects/contacts;jsessionid=1/batch;x/upsert;", "contacts.batch_upsert",
       "/crm/v3/objects/contacts/batch/upsert"},
      {"POST", "/crm/v3/objects/contacts/.", "contacts.create", "/crm/v3/objects/contacts"},
      {"POST", "/../../crm/v3/objects/contacts", "contacts.create", "/crm/v3/objects/contacts"},
      // Absolute-form: the authority is ignored, the query kept byte for byte.
      {"POST", "https://api.hubapi.com/crm/v3/objects/contacts?a=1&b=%zz", "contacts.create",
       "/crm/v3/objects/contacts?a=1&b=%zz"},
      {"POST", "HTTP://evil.example/crm/v3/objects/contacts", "contacts.create", "/crm/v3/objects/contacts"},
      {"POST", "https://api.hsforms.com/submissions/v3/integration/submit/1/g", "forms.submit",
       "/submissions/v3/integration/submit/1/g"},
      // An empty query is kept as sent.
      {"POST", "/crm/v3/objects/contacts?", "contacts.create", "/crm/v3/objects/contacts?"},
      // Object type and version spellings.
      {"POST", "/crm/v3/objects/Contact", "contacts.create", "/crm/v3/objects/contact"},
      {"POST", "/crm/v3/objects/00-01", "contacts.create", "/crm/v3/objects/0-1"},
      {"POST", "/crm/objects/2026-09-BETA/contacts", "contacts.create", "/crm/objects/2026-09-beta/contacts"},
      // Java's equalsIgnoreCase equates U+017F (long s) with s and U+212A (Kelvin) with k.
      {"POST", "/crm/v3/objects/contact\xC5\xBF", "contacts.create", "/crm/v3/objects/contacts"},
      {"POST", "/crm/v3/objects/contact%C5%BF/batch/create", "contacts.batch_create",
       "/crm/v3/objects/contacts/batch/create"},
  };
  for (const request_case& rc : cases) {
    expect_case(rc);
  }
}

TEST(classify, variable_segments_are_captured_decoded_and_reencoded) {
  const classification raw_at = classify("POST", "/contacts/v1/contact/createOrUpdate/email/a@b.com/");
  ASSERT_NE(raw_at.op, nullptr);
  EXPECT_EQ(raw_at.param("email"), "a@b.com");
  EXPECT_EQ(raw_at.forward_target, "/contacts/v1/contact/createOrUpdate/email/a%40b.com");

  const classification plus = classify("POST", "/contacts/v1/contact/createOrUpdate/email/a+tag%40b.com");
  EXPECT_EQ(plus.param("email"), "a+tag@b.com");
  EXPECT_EQ(plus.forward_target, "/contacts/v1/contact/createOrUpdate/email/a%2Btag%40b.com");

  // An email holding `/`, raw or encoded, stays one value and is forwarded as one segment.
  for (const std::string_view target : {"/contacts/v1/contact/createOrUpdate/email/a%2Fb@c.com",
                                        "/contacts/v1/contact/createOrUpdate/email/a/b@c.com"}) {
    const classification c = classify("POST", target);
    ASSERT_NE(c.op, nullptr) << target;
    EXPECT_EQ(c.param("email"), "a/b@c.com");
    EXPECT_EQ(c.forward_target, "/contacts/v1/contact/createOrUpdate/email/a%2Fb%40c.com");
  }

  // `;` cuts a segment (Servlet path parameter) but `%3B` is data.
  EXPECT_EQ(classify("POST", "/contacts/v1/contact/createOrUpdate/email/a@b.com;x").param("email"), "a@b.com");
  const classification semi = classify("POST", "/contacts/v1/contact/createOrUpdate/email/a%3Bb@c.com");
  EXPECT_EQ(semi.param("email"), "a;b@c.com");
  EXPECT_EQ(semi.forward_target, "/contacts/v1/contact/createOrUpdate/email/a%3Bb%40c.com");

  const classification form = classify("POST", "/submissions/v3/integration/submit/123/ab-cd?x=1");
  EXPECT_EQ(form.param("portal_id"), "123");
  EXPECT_EQ(form.param("form_guid"), "ab-cd");
  EXPECT_EQ(form.param("email"), std::nullopt);

  const classification dated = classify("POST", "/crm/objects/2026-09-beta/CONTACTS/batch/create");
  EXPECT_EQ(dated.param("date_version"), "2026-09-beta");
  EXPECT_EQ(dated.param("object_type"), "contacts");
  EXPECT_EQ(dated.canonical_path, "/crm/objects/2026-09-beta/contacts/batch/create");

  EXPECT_EQ(classify("PUT", "/integrations/v1/77/timeline/event").param("app_id"), "77");
  EXPECT_EQ(classify("POST", "/marketing/v3/marketing-events/attendance/e%201/attend/email-create").forward_target,
            "/marketing/v3/marketing-events/attendance/e%201/attend/email-create");
}

TEST(classify, batch_upsert_reads_id_property_from_the_query) {
  const classification c = classify("POST", "/crm/v3/objects/contacts/batch/upsert?idProperty=email&x=1");
  ASSERT_NE(c.op, nullptr);
  EXPECT_EQ(c.param("id_property"), "email");
  EXPECT_EQ(c.forward_target, "/crm/v3/objects/contacts/batch/upsert?idProperty=email&x=1");
  EXPECT_EQ(classify("POST", "/crm/v3/objects/contacts/batch/upsert?IDPROPERTY=e%6Dail").param("id_property"), "email");
  EXPECT_EQ(classify("POST", "/crm/v3/objects/contacts/batch/upsert").param("id_property"), std::nullopt);

  const classification conflict =
      classify("POST", "/crm/v3/objects/contacts/batch/upsert?idProperty=email&idProperty=hs_object_id");
  EXPECT_FALSE(conflict.ok());
  EXPECT_EQ(conflict.op, nullptr);
  EXPECT_FALSE(classify("POST", "/crm/v3/objects/contacts/batch/upsert?idProperty=%zz").ok());
  // A name with padding is the name.
  EXPECT_EQ(classify("POST", "/crm/v3/objects/contacts/batch/upsert?%00idProperty+=email").param("id_property"), "email");
  EXPECT_FALSE(
      classify("POST", "/crm/v3/objects/contacts/batch/upsert?idProperty%C2%A0=email&idProperty=hs_object_id").ok());
  // A name only a lenient server reads as idProperty counts when it says email (either reading
  // then keys the id by email); otherwise a strict server reads no idProperty, so neither does hubgate.
  EXPECT_EQ(classify("POST", "/crm/v3/objects/contacts/batch/upsert?IDPROPERTY=hs_object_id").param("id_property"),
            std::nullopt);
  EXPECT_EQ(classify("POST", "/crm/v3/objects/contacts/batch/upsert?idProperty+=hs_object_id").param("id_property"),
            std::nullopt);
  // `;` separates parameters too.
  EXPECT_FALSE(classify("POST", "/crm/v3/objects/contacts/batch/upsert?idProperty=hs_object_id;idProperty=email").ok());
}

TEST(classify, unreadable_targets_are_errors) {
  const std::string nul_target = std::string("/crm/v3/objects/contacts\0x", 26);
  const std::pair<std::string_view, std::string_view> cases[] = {
      {"POST", ""},
      {"POST", "/crm/v3/objects/contacts%zz"},
      {"POST", "/crm/v3/objects/contacts%4"},
      {"GET", "/crm/v3/objects/contacts/%G1"},
      {"POST", "/crm/v3/objects/contacts%00"},
      {"GET", "/crm/v3/objects/contacts/%0a"},
      {"POST", nul_target},
      {"POST", "/crm/v3/objects/contacts x"},
      {"POST", "/crm/v3/objects/contacts\r\nX: y"},
      {"POST", "/crm/v3/objects/contacts#frag"},
      {"POST", "/crm/v3/objects\\contacts"},
      {"POST", "api.hubapi.com:443"},
      {"POST", "ftp://host/crm/v3/objects/contacts"},
  };
  for (const auto& [method, target] : cases) {
    const classification c = classify(method, target);
    EXPECT_FALSE(c.ok()) << method << " " << target;
    EXPECT_EQ(c.op, nullptr) << target;
    EXPECT_TRUE(c.forward_target.empty()) << target;
  }
}

// A server decoding twice would read `%252F` as `/`: on a catalog path (under either reading)
// that is refused; elsewhere it is not our business.
TEST(classify, double_encoding_on_catalog_paths_is_an_error) {
  EXPECT_FALSE(classify("POST", "/crm/v3/objects/contacts%252Fbatch%252Fcreate").ok());
  EXPECT_FALSE(classify("POST", "/crm/v3/objects/%2563ontacts").ok());
  EXPECT_FALSE(classify("POST", "/contacts/v1/contact/createOrUpdate/email/a%2541@b.com").ok());
  EXPECT_FALSE(classify("post", "/crm/v3/objects/%2563ontacts").ok());

  const classification elsewhere = classify("POST", "/files/v3/files/a%252Fb");
  EXPECT_TRUE(elsewhere.ok()) << elsewhere.error;
  EXPECT_EQ(elsewhere.op, nullptr);
  EXPECT_TRUE(classify("GET", "/crm/v3/objects/contacts%252Fbatch%252Fcreate").ok());
  // A literal `%` that does not form an escape after decoding is fine.
  EXPECT_EQ(classify("POST", "/contacts/v1/contact/createOrUpdate/email/100%25off@b.com").param("email"),
            "100%off@b.com");
}

// A path that is a catalog path only in a forgiving server's looser reading is refused: hubgate
// cannot know that HubSpot does not route it there.
TEST(classify, loose_spellings_of_catalog_paths_are_errors) {
  for (const std::string_view target :
       {"/crm/v3/objects/contacts.json", "/crm/v3/objects/contacts%20", "/crm/v3/objects/contacts+",
        "/crm/v3/objects/contacts.", "/crm/v3/objects/%20contacts/batch/create", "/crm/v3/objects/0-1.xml",
        "/crm/v3/objects/contacts/batch/upsert.json", "/crm/objects/2026-3/contacts", "/crm/objects/2026-09.1/contacts",
        "/crm/objects/2026-09_beta/contacts", "/contacts/v1/contact.json", "/crm/v3/objects/contacts%252Ejson"}) {
    const classification c = classify("POST", target);
    EXPECT_FALSE(c.ok()) << target;
    EXPECT_EQ(c.op, nullptr) << target;
  }
  // Captured values are not loosened: an email keeps its dots, a padded literal elsewhere is fine.
  EXPECT_EQ(classify("POST", "/contacts/v1/contact/createOrUpdate/email/a@b.com.").param("email"), "a@b.com.");
  EXPECT_TRUE(classify("POST", "/crm/v3/objects/companies.json").ok());
  EXPECT_TRUE(classify("GET", "/crm/v3/objects/contacts.json").ok());
}

TEST(classify, methods_are_case_sensitive_and_lower_case_is_refused_on_catalog_paths) {
  const classification lower = classify("post", "/crm/v3/objects/contacts");
  EXPECT_FALSE(lower.ok());
  EXPECT_EQ(lower.op, nullptr);
  EXPECT_FALSE(classify("Post", "/contacts/v1/contact").ok());
  EXPECT_FALSE(classify("put", "/integrations/v1/1/timeline/event").ok());

  const classification elsewhere = classify("post", "/crm/v3/objects/contacts/search");
  EXPECT_TRUE(elsewhere.ok());
  EXPECT_EQ(elsewhere.op, nullptr);
  EXPECT_TRUE(classify("get", "/crm/v3/objects/contacts").ok());
  EXPECT_EQ(classify("get", "/crm/v3/objects/contacts").op, nullptr);
}

TEST(classify, upstream_for_path_routes_forms_paths_after_canonicalisation) {
  EXPECT_EQ(upstream_for_path("/submissions/v3/integration/submit/1/g"), upstream_id::forms);
  EXPECT_EQ(upstream_for_path("/uploads/form/v2/1/g?x=1"), upstream_id::forms);
  EXPECT_EQ(upstream_for_path("//Submissions/v3/x"), upstream_id::forms);
  EXPECT_EQ(upstream_for_path("/%75ploads/form/v2/1/g"), upstream_id::forms);
  EXPECT_EQ(upstream_for_path("/crm/../submissions/v3/x"), upstream_id::forms);
  EXPECT_EQ(upstream_for_path("https://api.hsforms.com/submissions/v3/x"), upstream_id::forms);
  EXPECT_EQ(upstream_for_path("/crm/v3/objects/contacts"), upstream_id::api);
  EXPECT_EQ(upstream_for_path("/uploads/formx/v2"), upstream_id::api);
  EXPECT_EQ(upstream_for_path("/uploads/form"), upstream_id::api);
  EXPECT_EQ(upstream_for_path("/submissions"), upstream_id::api);
  EXPECT_EQ(upstream_for_path("/crm/v3/submissions/x"), upstream_id::api);
  EXPECT_EQ(upstream_for_path("/submissions/%zz"), upstream_id::api);
  EXPECT_EQ(upstream_for_path("/SUBMISSIONS/v3/x"), upstream_id::forms);
  EXPECT_EQ(upstream_for_path("/Uploads/Form/v2/1"), upstream_id::forms);
  EXPECT_EQ(upstream_for_path("/uploads/form/"), upstream_id::api);
  EXPECT_EQ(upstream_for_path("/submissions/"), upstream_id::api);
}

// The session routes by the classification: it must name the same host as upstream_for_path, for
// requests in the catalog (the operation's host) and outside it (the path's).
TEST(classify, a_classification_names_the_host_that_serves_it) {
  for (const std::string_view target :
       {"/submissions/v3/integration/submit/1/g", "/uploads/form/v2/1/g?x=1", "//Submissions/v3/x",
        "/%75ploads/form/v2/1/g", "/crm/../submissions/v3/x", "https://api.hsforms.com/submissions/v3/x",
        "/crm/v3/objects/contacts", "/crm/v3/objects/contacts/batch/create", "/uploads/formx/v2", "/submissions",
        "/submissions/%zz", "/SUBMISSIONS/v3/x", "/submissions/v3/integration/secure/submit/1/g",
        "/contacts/v1/contact", "/crm/v3/objects/contacts/1?properties=email"}) {
    for (const std::string_view method : {"GET", "POST", "PATCH", "post"}) {
      const classification c = classify(method, target);
      EXPECT_EQ(c.upstream, upstream_for_path(target)) << method << " " << target;
      if (c.op != nullptr) {
        EXPECT_EQ(c.upstream, c.op->upstream) << method << " " << target;
      }
    }
  }
  EXPECT_EQ(classify("POST", "/submissions/v3/integration/submit/1/g").upstream, upstream_id::forms);
  EXPECT_EQ(classify("GET", "/Uploads/Form/v2/1").upstream, upstream_id::forms);
}

TEST(classify, canonicalise_reads_any_target_keeping_variable_spelling) {
  EXPECT_EQ(canonicalise("//CRM/v3/./objects/contacts/a%40b.com/?idProperty=email").path,
            "/CRM/v3/objects/contacts/a%40b.com");
  EXPECT_EQ(canonicalise("https://h/a;x/b%2Fc/..").path, "/a/b");
  EXPECT_EQ(canonicalise("/").path, "/");
  EXPECT_EQ(canonicalise("/a/../..").path, "/");
  EXPECT_FALSE(canonicalise("/a%zz").error.empty());
}

TEST(classify, long_and_deep_paths_spill_to_the_heap_correctly) {
  std::string deep;
  for (int i = 0; i < 100; ++i) {
    deep += "/x";
  }
  for (int i = 0; i < 100; ++i) {
    deep += "/..";
  }
  deep += "/crm/v3/objects/contacts";
  const classification c = classify("POST", deep);
  ASSERT_NE(c.op, nullptr);
  EXPECT_EQ(c.forward_target, "/crm/v3/objects/contacts");

  const std::string long_email(2000, 'a');
  const classification l = classify("POST", "/contacts/v1/contact/createOrUpdate/email/" + long_email + "@b.com");
  ASSERT_NE(l.op, nullptr);
  EXPECT_EQ(l.param("email"), long_email + "@b.com");
}

TEST(classify, path_spellings_name_the_same_call_every_way_it_is_written) {
  using list = std::vector<std::string>;
  // An undated (v3) call: its dated spellings with a date no rule names, so that a date pattern
  // meets it and a rule naming one date does not.
  EXPECT_EQ(path_spellings(classify("POST", "/crm/v3/objects/0-1")),
            (list{"/crm/objects/0000-00/0-1", "/crm/objects/0000-00/contact", "/crm/objects/0000-00/contacts",
                  "/crm/v3/objects/contact", "/crm/v3/objects/contacts"}));
  // A dated path: its own date in each spelling, and the v3 ones.
  EXPECT_EQ(path_spellings(classify("POST", "/crm/objects/2025-09/contacts")),
            (list{"/crm/objects/2025-09/0-1", "/crm/objects/2025-09/contact", "/crm/v3/objects/0-1",
                  "/crm/v3/objects/contact", "/crm/v3/objects/contacts"}));
  // Captures are written back (encoded as in the canonical path); patterns with other captures are not.
  const list v1 = path_spellings(classify("POST", "/contacts/v1/contact/createOrUpdate/email/a@b.com"));
  EXPECT_TRUE(v1.empty()) << v1.size();
  const list visitor = path_spellings(classify("POST", "/visitor-identification/v3/tokens/create"));
  EXPECT_EQ(visitor, (list{"/conversations/0000-00/visitor-identification/tokens/create",
                            "/conversations/v3/visitor-identification/tokens/create",
                            "/conversations/visitor-identification/0000-00/tokens/create",
                            "/visitor-identification/0000-00/tokens/create"}));
  EXPECT_TRUE(path_spellings(classify("GET", "/crm/v3/objects/contacts/1")).empty());
}

} // namespace
} // namespace hubgate::hubspot
