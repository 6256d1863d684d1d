#pragma once
// What the rule engine is told about one request: the facts the catalog and extractors derived
// from it. Views only: the caller owns the text and keeps it alive for the evaluation call.

#include "hubgate/hubspot/operation.hpp"

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hubgate::rules {

// Header access for `header` conditions, so the engine never copies the header map. Names compare
// case-insensitively; when a header repeats, which value is returned is the implementer's choice
// (the HTTP glue returns the first).
class header_lookup {
public:
  virtual ~header_lookup() = default;
  virtual std::optional<std::string_view> header(std::string_view name) const = 0;
};

// A header_lookup over a list of name/value pairs (tests, `hubgate test`). Linear search: fine
// for the handful of headers a test declares.
class header_list final : public header_lookup {
public:
  explicit header_list(std::span<const std::pair<std::string, std::string>> headers)
      : headers_(headers) {}
  std::optional<std::string_view> header(std::string_view name) const override;

private:
  std::span<const std::pair<std::string, std::string>> headers_;
};

// The catalog operation a request was classified as.
struct operation_ref {
  std::string_view name; // catalog name, e.g. "contacts.create"
  hubspot::operation_kind kind = hubspot::operation_kind::create;
};

struct request_facts {
  std::string_view method; // as received; compared case-insensitively
  std::string_view path;   // canonical path as the catalog computes it, without the query string
  std::optional<operation_ref> operation;           // nullopt: the request is outside the catalog
  std::span<const hubspot::contact_record> records; // what the extractor found; may be empty
  const header_lookup* headers = nullptr;           // nullptr: the request has no headers
  std::string_view client; // the client named by its key (auth: clients); empty when none
  // The other spellings of a catalog call's path (hubspot::path_spellings): a `path` condition
  // matching any of them matches. Filled only when a rule reads paths (rule_set::reads_paths).
  std::span<const std::string> other_paths;
};

} // namespace hubgate::rules
