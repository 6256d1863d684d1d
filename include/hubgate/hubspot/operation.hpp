#pragma once
// The vocabulary shared by the catalog (what a HubSpot call is), the extractors (which contacts it
// carries) and the rule engine (what to do about them). Plain value types: no I/O, no Boost.

#include <cstddef>
#include <optional>
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

// One contact a request would create or update, as read from its body (or path).
struct contact_record {
  std::size_t index = 0;            // position among the request's records (batch input index)
  std::optional<std::string> email; // as sent, not normalised; nullopt when the record has none
  std::vector<std::pair<std::string, std::string>> properties; // wire names and values as sent
  std::optional<std::string> object_write_trace_id;            // v3 batch inputs may carry one
};

} // namespace hubgate::hubspot
