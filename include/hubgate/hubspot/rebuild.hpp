#pragma once
// Rebuild: the rule engine's per-record decisions applied to an extracted body, written back in
// the request's own wire shape (v3 map, v1 array, form fields, urlencoded pairs), item order kept.
// Dropping batch items alone splices the body's bytes, so kept items are forwarded exactly as
// sent; an edit re-serialises the JSON body (compact, escapes and numbers rewritten).

#include "hubgate/hubspot/extract.hpp"

#include <cstddef>
#include <span>
#include <string>
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
  std::vector<std::size_t> kept_items; // original item positions of the items sent, in order
  std::string error;                   // non-empty: the decisions cannot be applied

  bool ok() const noexcept { return error.empty(); }
};

// `keep[i]` and `edits[i]` belong to `extraction.records[i]`; `edits` may be empty (no edits).
// Items without a record (an event without email) are always kept. Dropping every item, or the
// single item of a non-batch body, is an error: the caller answers such a request itself.
rebuilt_body rebuild(const extraction& extraction, const std::vector<bool>& keep,
                     std::span<const record_edit> edits = {});

} // namespace hubgate::hubspot
