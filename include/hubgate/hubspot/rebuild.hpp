#pragma once
// Rebuild: the rule engine's per-record decisions applied to an extracted body, written back in
// the request's own wire shape (v3 map, v1 array, form fields, urlencoded pairs), item order kept.
// Dropping batch items alone splices the body's bytes, so kept items are forwarded exactly as
// sent; an edit writes the edited items' objects anew (compact, every member not edited as it was
// sent, keys and numbers included) and keeps every other byte of the body. No JSON DOM: the cost
// is linear in the body, however many members an object has.

#include "hubgate/hubspot/extract.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hubgate::hubspot {

// Changes to one record's contact properties. Names match wire names ignoring case (as the
// extractor does); `remove` applies first, then `set`, which replaces the first matching entry,
// drops its repeats, or appends a new entry. On an smtp token, `createContact` takes "true"/"false".
struct record_edit {
  std::vector<std::pair<std::string, std::string>> set;
  std::vector<std::string> remove;

  bool empty() const noexcept { return set.empty() && remove.empty(); }
};

struct rebuilt_body {
  bool unchanged = false;              // nothing to change: forward the original bytes
  std::string body;                    // the new body when !unchanged (same Content-Type)
  // Or, with rebuilt_form::pieces and only items dropped, the new body as the pieces it is made of
  // in order: views into the body extract() read (and of static separators), `body` left empty.
  std::vector<std::string_view> pieces;
  std::vector<std::size_t> kept_items; // original item positions of the items sent, in order
  std::string error;                   // non-empty: the decisions cannot be applied

  bool ok() const noexcept { return error.empty(); }
};

// How a body that only drops items comes back: written out whole, or as pieces of the body as
// received, which a proxy sends without a copy of the kept items living beside the original.
enum class rebuilt_form : std::uint8_t { text, pieces };

// `keep[i]` and `edits[i]` belong to `extraction.records[i]`; `edits` may be empty (no edits).
// Items without a record (an event without email) are always kept. Dropping every item, or the
// single item of a non-batch body, is an error: the caller answers such a request itself.
rebuilt_body rebuild(const extraction& extraction, const std::vector<bool>& keep,
                     std::span<const record_edit> edits = {}, rebuilt_form form = rebuilt_form::text);

// The pieces joined: the body they make.
std::string join_pieces(std::span<const std::string_view> pieces);

} // namespace hubgate::hubspot
