#include "hubgate/hubspot/catalog.hpp"

#include <array>
#include <string_view>

namespace hubgate::hubspot {

namespace {

using namespace std::string_view_literals;
using kind = operation_kind;
using shape = body_shape;

// Success statuses are those the official SDK accepts (§4.2); where no SDK covers a call, the
// status is the one the reference or HubSpot's docs give for it, noted beside the entry.

// §2.1 rows 1-3, 9-10 and §2.2: v3 and date-versioned CRM paths, contacts by any type spelling.
constexpr std::array create_paths = {"/crm/v3/objects/{type}"sv, "/crm/objects/{date}/{type}"sv};
constexpr std::array batch_create_paths = {"/crm/v3/objects/{type}/batch/create"sv,
                                           "/crm/objects/{date}/{type}/batch/create"sv};
constexpr std::array batch_upsert_paths = {"/crm/v3/objects/{type}/batch/upsert"sv,
                                           "/crm/objects/{date}/{type}/batch/upsert"sv};
// §2.3 rows 11-13 (legacy v1).
constexpr std::array v1_create_paths = {"/contacts/v1/contact"sv};
constexpr std::array v1_create_or_update_paths = {"/contacts/v1/contact/createOrUpdate/email/{email+}"sv};
constexpr std::array v1_batch_paths = {"/contacts/v1/contact/batch"sv};
// §2.4 rows 15-18 (forms hosts).
// `async/submit` is the same submission answered before it is processed (third-party evidence).
// A form has nothing under it to post to: segments after its guid (`.../{guid}/x`), which a
// router that ignores them would take for the submission, are read as the submission too.
constexpr std::array forms_submit_paths = {"/submissions/v3/integration/submit/{portal_id}/{form_guid}"sv,
                                           "/submissions/v3/integration/async/submit/{portal_id}/{form_guid}"sv,
                                           "/submissions/v3/integration/submit/{portal_id}/{form_guid}/{...}"sv,
                                           "/submissions/v3/integration/async/submit/{portal_id}/{form_guid}/{...}"sv};
// The endpoint HubSpot's embedded forms post to (multipart fields, no authentication); whether
// api.hsforms.com also serves it is not established.
constexpr std::array forms_submit_embedded_paths = {
    "/submissions/v3/public/submit/formsnext/multipart/{portal_id}/{form_guid}"sv,
    "/submissions/v3/public/submit/formsnext/multipart/{portal_id}/{form_guid}/{...}"sv};
constexpr std::array forms_submit_secure_paths = {
    "/submissions/v3/integration/secure/submit/{portal_id}/{form_guid}"sv,
    "/submissions/v3/integration/secure/submit/{portal_id}/{form_guid}/{...}"sv};
constexpr std::array forms_submit_v2_paths = {"/uploads/form/v2/{portal_id}/{form_guid}"sv,
                                              "/uploads/form/v2/{portal_id}/{form_guid}/{...}"sv};
constexpr std::array forms_submit_v2_secure_paths = {
    "/submissions/v2/post/upload/secure/{portal_id}/{form_guid}"sv,
    "/submissions/v2/post/upload/secure/{portal_id}/{form_guid}/{...}"sv};
// §2.5 row 19.
constexpr std::array imports_paths = {"/crm/v3/imports"sv, "/crm/imports/{date}"sv};
// §2.6 rows 20-24.
constexpr std::array transactional_send_paths = {"/marketing/v3/transactional/single-email/send"sv,
                                                 "/marketing/transactional/{date}/single-email/send"sv};
constexpr std::array transactional_send_v1_paths = {"/email/public/v1/singleEmail/send"sv};
constexpr std::array marketing_send_paths = {"/marketing/v4/email/single-send"sv,
                                             "/marketing/email-campaigns/{date}/single-send"sv};
constexpr std::array smtp_token_paths = {"/marketing/v3/transactional/smtp-tokens"sv,
                                         "/marketing/transactional/{date}/smtp-tokens"sv};
// The two documented attendance paths first (they name their parameters), then any other path
// ending in email-create, as §3 matches them.
constexpr std::array email_create_paths = {
    "/marketing/v3/marketing-events/attendance/{external_event_id}/{subscriber_state}/email-create"sv,
    "/marketing/v3/marketing-events/{object_id}/attendance/{subscriber_state}/email-create"sv,
    "/marketing/marketing-events/{date}/attendance/{external_event_id}/{subscriber_state}/email-create"sv,
    "/marketing/marketing-events/{date}/{object_id}/attendance/{subscriber_state}/email-create"sv,
    "/marketing/v3/marketing-events/{...}/email-create"sv,
    "/marketing/marketing-events/{date}/{...}/email-create"sv};
// The reference says of email-upsert that the contact "must already exist" (§2.7, the row after
// 24), yet HubSpot's spec also says its contactProperties are "used only when creating a new
// contact", and the body is email-create's: in doubt, it is inspected like email-create.
constexpr std::array email_upsert_paths = {
    "/marketing/v3/marketing-events/events/{external_event_id}/{subscriber_state}/email-upsert"sv,
    "/marketing/marketing-events/{date}/events/{external_event_id}/{subscriber_state}/email-upsert"sv,
    "/marketing/v3/marketing-events/{...}/email-upsert"sv,
    "/marketing/marketing-events/{date}/{...}/email-upsert"sv};
// §2.7 row 33: creation "unknown" in the reference, but HubSpot's custom channels guide says the
// contacts write scope lets the inbox "create contacts automatically ... once they provide their
// email address" (email capture): in doubt, a message's addresses are inspected.
// HubSpot's conversations reference spells the dated paths two ways (`/conversations/custom-channels/
// {date}/...` in the spec, `/conversations/{date}/custom-channels/...` on its guide pages): both are matched.
constexpr std::array channel_message_paths = {"/conversations/v3/custom-channels/{channel_id}/messages"sv,
                                              "/conversations/custom-channels/{date}/{channel_id}/messages"sv,
                                              "/conversations/{date}/custom-channels/{channel_id}/messages"sv};
// A message sent into an inbox thread (an email reply, say) names its recipients by delivery
// identifiers too. No doc says such a send creates its recipients as contacts; the inbox's email
// capture is the same doubt as above, so they are inspected.
constexpr std::array thread_message_paths = {"/conversations/v3/conversations/threads/{thread_id}/messages"sv,
                                             "/conversations/conversations/{date}/threads/{thread_id}/messages"sv,
                                             "/conversations/{date}/conversations/threads/{thread_id}/messages"sv};
// §2.7 rows 25-30, 35. HubSpot's spec gives the v3 timeline events a second spelling,
// `/crm/v3/timeline/...`, which every official SDK release before the newest sends (the
// operation ids name the `integrators` one): both are matched, and the dated forms of each.
constexpr std::array timeline_event_paths = {"/integrators/timeline/v3/events"sv,
                                             "/integrators/timeline/{date}/events"sv,
                                             "/crm/v3/timeline/events"sv, "/crm/timeline/{date}/events"sv};
constexpr std::array timeline_batch_paths = {"/integrators/timeline/v3/events/batch/create"sv,
                                             "/integrators/timeline/{date}/events/batch"sv,
                                             "/integrators/timeline/{date}/events/batch/create"sv,
                                             "/crm/v3/timeline/events/batch/create"sv,
                                             "/crm/timeline/{date}/events/batch/create"sv,
                                             "/crm/timeline/{date}/events/batch"sv};
constexpr std::array app_event_paths = {"/integrators/timeline/v4/events"sv};
// The batch of the call above, read the same way: were it left opaque, an occurrence a rule
// refuses alone would pass in a batch.
constexpr std::array app_event_batch_paths = {"/integrators/timeline/v4/events/batch"sv};
constexpr std::array app_event_other_paths = {"/integrators/timeline/v4/events/{...}"sv};
constexpr std::array legacy_timeline_paths = {"/integrations/v1/{app_id}/timeline/event"sv};
constexpr std::array legacy_timeline_batch_paths = {"/integrations/v1/{app_id}/timeline/event/batch"sv};
// The live dated custom-event path is unknown (§2.2): both spellings are matched.
constexpr std::array events_send_paths = {"/events/v3/send"sv, "/events/{date}/send"sv, "/events/custom/{date}/send"sv};
constexpr std::array events_send_batch_paths = {"/events/v3/send/batch"sv, "/events/{date}/send/batch"sv,
                                                "/events/custom/{date}/send/batch"sv};
// The SDK's generateToken and HubSpot's API catalog spell it under /conversations/v3.
constexpr std::array visitor_token_paths = {"/visitor-identification/v3/tokens/create"sv,
                                            "/visitor-identification/{date}/tokens/create"sv,
                                            "/conversations/v3/visitor-identification/tokens/create"sv,
                                            "/conversations/visitor-identification/{date}/tokens/create"sv,
                                            "/conversations/{date}/visitor-identification/tokens/create"sv};
constexpr std::array meeting_book_paths = {"/scheduler/v3/meetings/meeting-links/book"sv,
                                           "/scheduler/{date}/meetings/meeting-links/book"sv};
constexpr std::array webhook_trigger_paths = {"/automation/v4/webhook-triggers/{portal_id}/{trigger_id}"sv};
constexpr std::array accounting_contact_sync_paths = {"/crm/v3/extensions/accounting/sync/{app_id}/contacts"sv};

constexpr auto api = upstream_id::api;
constexpr auto forms = upstream_id::forms;

// Integrity, side doors: every entry is inspected (its records read from path and body); the
// entries whose contacts cannot be seen (imports, opaque bodies) yield none, for rules to block
// whole. Order matters only where patterns overlap: classification takes the first entry that matches.
constexpr operation catalog[] = {
    {"contacts.create", "POST", kind::create, api, 201, shape::crm_object, create_paths},
    {"contacts.batch_create", "POST", kind::create, api, 201, shape::crm_batch_create, batch_create_paths},
    {"contacts.batch_upsert", "POST", kind::upsert, api, 200, shape::crm_batch_upsert, batch_upsert_paths},
    {"contacts.v1_create", "POST", kind::create, api, 200, shape::v1_properties, v1_create_paths},
    {"contacts.v1_create_or_update", "POST", kind::upsert, api, 200, shape::v1_properties, v1_create_or_update_paths},
    {"contacts.v1_batch", "POST", kind::upsert, api, 202, shape::v1_batch, v1_batch_paths},
    {"forms.submit", "POST", kind::upsert, forms, 200, shape::form_fields, forms_submit_paths},
    {"forms.submit_secure", "POST", kind::upsert, forms, 200, shape::form_fields, forms_submit_secure_paths},
    // v2 success is not in the reference (§2.4: unknown); HubSpot's legacy v2 docs answer 204.
    {"forms.submit_v2", "POST", kind::upsert, forms, 204, shape::form_urlencoded, forms_submit_v2_paths},
    {"forms.submit_v2_secure", "POST", kind::upsert, forms, 204, shape::form_urlencoded, forms_submit_v2_secure_paths},
    // Its multipart fields are not read: decided whole, like an opaque body.
    {"forms.submit_embedded", "POST", kind::upsert, forms, 200, shape::opaque, forms_submit_embedded_paths},
    {"imports.create", "POST", kind::side_effect, api, 200, shape::import_multipart, imports_paths},
    {"emails.transactional_send", "POST", kind::side_effect, api, 200, shape::single_send, transactional_send_paths},
    {"emails.transactional_send_v1", "POST", kind::side_effect, api, 200, shape::single_send,
     transactional_send_v1_paths},
    {"emails.marketing_send", "POST", kind::side_effect, api, 200, shape::single_send, marketing_send_paths},
    {"emails.smtp_token_create", "POST", kind::side_effect, api, 201, shape::smtp_token, smtp_token_paths},
    {"marketing_events.email_create", "POST", kind::side_effect, api, 200, shape::event_attendance, email_create_paths},
    // The SDK (upsertByContactEmail) reads no answer: any status; 204 assumed.
    {"marketing_events.email_upsert", "POST", kind::side_effect, api, 204, shape::event_attendance, email_upsert_paths},
    // §2.7 row 25. The SDK accepts 201 for one event, and 200, 201 or 207 for a batch (§4.2).
    {"timeline.event_create", "POST", kind::side_effect, api, 201, shape::email_event, timeline_event_paths},
    {"timeline.event_batch_create", "POST", kind::side_effect, api, 201, shape::email_event_batch,
     timeline_batch_paths},
    // §2.7 row 27: creation unknown, matched per §3; status from the 2026-03 spec (200/201).
    {"timeline.app_event_create", "POST", kind::side_effect, api, 201, shape::email_event, app_event_paths},
    {"timeline.app_event_batch_create", "POST", kind::side_effect, api, 201, shape::email_event_batch,
     app_event_batch_paths},
    {"timeline.app_event_other", "POST", kind::side_effect, api, 201, shape::opaque, app_event_other_paths},
    // §2.7 row 26: status unknown in the reference (200/204); HubSpot's v1 timeline docs answer 204.
    // They say PUT; HubSpot's newer generated reference says POST for the same call: both are read.
    {"timeline.legacy_event_create", "PUT", kind::side_effect, api, 204, shape::email_event, legacy_timeline_paths,
     "POST"},
    {"timeline.legacy_event_batch", "PUT", kind::side_effect, api, 204, shape::email_event_wrappers,
     legacy_timeline_batch_paths, "POST"},
    // §2.7 row 28: creation unknown, matched per §3; the SDK accepts only 204.
    {"events.send", "POST", kind::side_effect, api, 204, shape::email_event, events_send_paths},
    {"events.send_batch", "POST", kind::side_effect, api, 204, shape::email_event_batch, events_send_batch_paths},
    // §2.7 row 29: the contact is created later, by the chat widget; the email is known now.
    {"visitor_identification.token_create", "POST", kind::side_effect, api, 200, shape::flat_contact,
     visitor_token_paths},
    // §2.7 row 30: third-party evidence only that the booker becomes a contact.
    {"meetings.book", "POST", kind::side_effect, api, 200, shape::flat_contact, meeting_book_paths},
    {"conversations.channel_message", "POST", kind::side_effect, api, 201, shape::channel_message,
     channel_message_paths},
    // The SDK (threads messagesApi.createMessage) takes any 2xx; HubSpot's reference answers 201.
    {"conversations.thread_message", "POST", kind::side_effect, api, 201, shape::channel_message,
     thread_message_paths},
    // The accounting extension's contact sync (`syncAction: CREATE`) imports contacts; HubSpot
    // retired the API in 2023, and the SDK v11 still sends it. Decided whole.
    {"accounting.contact_sync", "POST", kind::side_effect, api, 200, shape::opaque, accounting_contact_sync_paths},
    // §2.7 row 35: whatever the workflow does, with an arbitrary body; status not established.
    {"automation.webhook_trigger", "POST", kind::side_effect, api, 200, shape::opaque, webhook_trigger_paths},
};

} // namespace

std::span<const operation> all_operations() noexcept { return catalog; }

const operation* find_operation(std::string_view name) noexcept {
  for (const operation& op : all_operations()) {
    if (op.name == name) {
      return &op;
    }
  }
  return nullptr;
}

} // namespace hubgate::hubspot
