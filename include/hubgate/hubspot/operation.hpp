#pragma once
// The vocabulary shared by the catalog (what a HubSpot call is), the extractors (which contacts it
// carries) and the rule engine (what to do about them). Plain value types: no I/O, no Boost.

#include <cstddef>
#include <cstdint>
#include <forward_list>
#include <memory>
#include <memory_resource>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hubgate::hubspot {

// Which HubSpot host serves a request: api.hubapi.com, or api.hsforms.com for form submissions.
enum class upstream_id { api, forms };

// How an operation creates contacts: `create` always does, `upsert` does when the contact is
// missing, `side_effect` may as part of doing something else (a send, an import, an event).
enum class operation_kind { create, upsert, side_effect };

constexpr std::string_view to_string(operation_kind kind) {
  switch (kind) {
    case operation_kind::create: return "create";
    case operation_kind::upsert: return "upsert";
    case operation_kind::side_effect: return "side_effect";
  }
  return "create";
}

// Text a record's views point at when it is not in the request body as sent: strings whose
// escapes were decoded, numbers as re-serialised, decoded form fields, normalised emails. It is
// node-based, so moving it (with the records) keeps every view valid.
// It also holds the arena the extractor builds the records' property lists in: a batch of 100
// inputs then costs a few allocations, not one per input. The records must be released while
// their arena lives: declare the records first (a move assignment then releases the old records
// before it replaces the old arena) and clear them in the owner's destructor.
class record_texts {
public:
  std::string_view keep(std::string text) { return texts_.emplace_front(std::move(text)); }

  std::pmr::memory_resource* arena() {
    if (!arena_) {
      arena_ = std::make_unique<std::pmr::monotonic_buffer_resource>(4096);
    }
    return arena_.get();
  }

private:
  std::forward_list<std::string> texts_;
  std::unique_ptr<std::pmr::monotonic_buffer_resource> arena_; // on the heap: moves keep it put
};

// One contact a request would create or update, as read from its body (or path). Views only: they
// point into the request body, into a record_texts the extraction (and then the gate's decision)
// owns, or at static text. Keep both alive as long as the record.
struct contact_record {
  using property = std::pair<std::string_view, std::string_view>;

  std::size_t index = 0;                 // position among the request's records (batch input index)
  std::optional<std::string_view> email; // as sent, not normalised; nullopt when the record has none
  // The email as HubSpot stores it (normalise_email), computed once by the extractor; nullopt when
  // the record has none or its maker did not compute it (then readers normalise `email` themselves).
  std::optional<std::string_view> normalised_email;
  // Wire names and values as sent; an extracted record's list lives in its record_texts' arena.
  std::pmr::vector<property> properties;
  std::optional<std::string_view> object_write_trace_id; // v3 batch inputs may carry one
  // How an upsert item names the contact it targets when not (only) by email: v3 `idProperty`/`id`,
  // v1 batch `vid`. nullopt when the item does not say.
  std::optional<std::string_view> id_property;
  std::optional<std::string_view> id;
};

// The wire shape of an operation's request body. Each shape has exactly one extractor (extract.hpp)
// and one rebuild rule (rebuild.hpp).
enum class body_shape : std::uint8_t {
  crm_object,           // {"properties":{name:value},"associations":[...]}
  crm_batch_create,     // {"inputs":[{"properties":{...},"objectWriteTraceId":"..."}]}
  crm_batch_upsert,     // {"inputs":[{"idProperty":"email","id":"...","properties":{...}}]}
  v1_properties,        // {"properties":[{"property":name,"value":value}]}
  v1_batch,             // [{"email"|"vid":...,"properties":[{"property","value"}]}]
  form_fields,          // forms v3: {"fields":[{"objectTypeId","name","value"}],"context":{...}}
  form_urlencoded,      // forms v2: email=...&firstname=...&hs_context={json}
  single_send,          // {"emailId",..,"message":{"to":email},"contactProperties":{...}|[{name,value}]}
  smtp_token,           // {"createContact":bool,"campaignName":str}
  event_attendance,     // {"inputs":[{"email","contactProperties":{...},"properties":{...}}]}
  email_event,          // one event object whose top-level `email` may name (and create) a contact
  email_event_batch,    // {"inputs":[email_event...]}
  email_event_wrappers, // legacy timeline batch: {"eventWrappers":[email_event...]}
  flat_contact,         // {"email","firstName","lastName",...} (visitor identification, meetings)
  channel_message,      // custom channel message: {"senders"|"recipients":[{"deliveryIdentifier":{"type","value"}}]}
  import_multipart,     // multipart/form-data import: rows are not visible to the proxy
  opaque,               // any body; the proxy cannot tell which contacts it creates
};

constexpr bool is_batch(body_shape shape) {
  switch (shape) {
    case body_shape::crm_batch_create:
    case body_shape::crm_batch_upsert:
    case body_shape::v1_batch:
    case body_shape::event_attendance:
    case body_shape::email_event_batch:
    case body_shape::email_event_wrappers: return true;
    default: return false;
  }
}

// Whether extraction reads contacts from the body at all: an import's rows and an opaque body's
// contacts are not seen, and such a call is decided as one record with no email and no properties.
constexpr bool yields_records(body_shape shape) {
  return shape != body_shape::import_multipart && shape != body_shape::opaque;
}

// One catalog entry (catalog.hpp): a HubSpot call that creates, or may create, contacts.
// Entries are static; compare them by address or by `name`.
struct operation {
  std::string_view name;   // stable, e.g. "contacts.batch_upsert"
  std::string_view method; // exact upper-case HTTP method
  operation_kind kind;
  upstream_id upstream; // which host serves it
  int success_status;   // the status the official SDK accepts as success (reference §4.2)
  body_shape shape;
  std::span<const std::string_view> paths; // path patterns, notation in catalog.hpp
  // A second method HubSpot's docs give for the same call, or empty: a request with either is
  // this operation.
  std::string_view other_method = {};

  bool takes(std::string_view m) const noexcept { return m == method || (!other_method.empty() && m == other_method); }
};

} // namespace hubgate::hubspot
