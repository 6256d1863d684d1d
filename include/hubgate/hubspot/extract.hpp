#pragma once
// Extractors: read the body of a classified request (classify.hpp) into the contacts it would
// create or update, noting where its items lie so that rebuild.hpp can write an edited copy.
// JSON bodies are read by the strict scanner of json_scan.hpp, without building a DOM.
// Fail closed: whatever HubSpot might read differently from us is an error value (the caller
// refuses the request), never a guess:
//   * invalid JSON, duplicate keys at any depth (compared unescaped), nesting deeper than 64, a
//     number beyond a double's range, a non-UTF-8 charset (json_scan.hpp has the full list);
//   * a Content-Type the shape does not take (JSON shapes: application/json or application/*+json;
//     forms v2: application/x-www-form-urlencoded; imports: multipart/form-data);
//   * a structural member of the wrong type, or spelled in another case (`Properties`);
//   * an array or object where HubSpot expects a string. Numbers and booleans are read as their
//     JSON text (a float as re-serialised: `1e2` reads "100.0"), null as "" that is never an email;
//   * one item naming two different emails (EMAIL and email, v1 `email` twice, path email and body
//     email, upsert id and property), compared normalised; or, outside form fields (where a
//     repeated name is a multi-value field), the same property twice with different values.
//   * an email that is not one plain address (a list, a display name, inner spaces or control
//     bytes), and a JSON document sent as a v2 form body.
// Property names count as `email` in any case and with padding (`EMAIL `); a batch upsert item
// without idProperty whose id holds `@` names that email. Further recipients of one item (a
// send's cc/bcc, a booking's guestEmails) are extra records with the item's index and no
// properties. Imports and opaque bodies yield no records: the caller treats them as creates it
// cannot see into.

#include "hubgate/hubspot/classify.hpp"
#include "hubgate/hubspot/compared_values.hpp"
#include "hubgate/hubspot/json_scan.hpp"
#include "hubgate/hubspot/operation.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hubgate::hubspot {

// One `name=value` pair of a form-urlencoded body.
struct form_pair {
  std::string raw;   // as sent, still encoded: forwarded untouched unless edited
  std::string name;  // decoded
  std::string value; // decoded
};

// The parsed body and where its records live, everything rebuild() needs.
struct parsed_body {
  // How an item holds its contact properties.
  enum class container : std::uint8_t {
    none,             // events: no contact properties to edit
    object_map,       // item[properties_key] is {name: value}
    name_value_array, // item[properties_key] is [{entry_name_key: name, "value": value}]
    top_level,        // the item's own members listed in `editable`
    form_pairs,       // `form`
  };

  // A range of the body's bytes, [begin, end).
  struct byte_range {
    std::uint32_t begin = 0;
    std::uint32_t end = 0;
  };

  // JSON shapes: the body as extract() read it. A view: the body must outlive rebuild().
  std::string_view text;
  std::vector<form_pair> form; // form_urlencoded
  std::size_t item_count = 0;  // wire items: batch entries, or 1 for a single-item body
  std::string_view items_key;  // member holding the items ("inputs"); empty: the body itself is
                               // the item, or (a v1 batch) the top-level array's elements are
  byte_range item_list;              // batches: the array holding the items, `[` to `]`
  std::vector<byte_range> item_bytes; // batches: each item's bytes, in order
  container properties = container::none;
  std::string_view properties_key;
  std::string_view entry_name_key;
  std::span<const std::string_view> editable;
  bool form_field_names = false; // forms and name/value arrays: `0-1/email` names `email` (form_field_property)
};

struct extraction {
  const operation* op = nullptr;
  // In item order; record.index is the item's position. Views into the body and into `texts`,
  // and property lists in its arena: hence the order, and the destructor (record_texts says why).
  std::vector<contact_record> records;
  record_texts texts;
  std::string error;                   // non-empty: refuse the request
  bool too_many_values = false;        // error: the allowance refused the memory to read the JSON body
  parsed_body body;

  bool ok() const noexcept { return error.empty(); }

  extraction() = default;
  extraction(extraction&&) = default;
  extraction& operator=(extraction&&) = default;
  ~extraction() { records.clear(); }
};

// Which properties extract() lists in the records. Every property is read and checked all the
// same (its type, the spellings of `email`, repeats in another case); this says only which ones
// the caller will look at, since listing each property of a 100-input batch is most of the cost
// of reading it when the rules look at none.
struct property_selection {
  bool all = true;                    // list every property (the default)
  std::span<const std::string> names; // otherwise: list these, matched ignoring ASCII case; records
                                      // may leave the others out
  // The values rules compare properties with. A record whose value differs from each of its
  // property's values but only in ASCII letter case or padding (`TRUE` where a rule says `true`,
  // `customer\u00a0`), or that lists one of them among other options (`lead;customer`, as
  // multi-select values do), is refused: a server that folds case or trims, as Java's
  // `Boolean.parseBoolean` folds `TRUE`, or splits options, may read it as the value the rule names.
  // nullptr: none.
  const compared_values* compared = nullptr;
};

// The contact properties a rewrite can edit in a record of a shape. `all`: any (the record has a
// map or list of properties). Otherwise only `names`, members of the body itself (visitor tokens,
// meetings, SMTP tokens); none for events and messages, which name a contact by email and carry
// none of its properties, nor for imports and opaque bodies, whose contacts are not read at all.
// An edit of another name is refused with a 400, never forwarded unmade.
struct editable_properties {
  bool all = true;
  std::span<const std::string_view> names;

  bool can_edit(std::string_view name) const noexcept; // as rebuild() matches names: any case, padded
};

editable_properties editable_properties_of(body_shape shape) noexcept;

// True when a property of this name is read as the contact's email: `email` in any case, padded,
// with `+` at its ends, or named with the contact type (`0-1/email`), as the extractor reads it.
bool names_email(std::string_view name);

// A Content-Type for a body hubgate rewrote: `charset=us-ascii` becomes `charset=utf-8` (a rule's
// value may add UTF-8, of which US-ASCII is a part); any other header is returned as it is.
std::string rewritten_content_type(std::string_view content_type);

// `request` must be a successful classification with an operation; `content_type` is the raw
// Content-Type header value (empty when absent). A JSON body whose reading `allowance` refuses
// memory for is refused (too_many_values): the memory a body of tiny values takes to read
// (json_document::scan) is the caller's to bound.
extraction extract(const classification& request, std::string_view body, std::string_view content_type,
                   const property_selection& listed = {}, token_allowance* allowance = nullptr);

} // namespace hubgate::hubspot
