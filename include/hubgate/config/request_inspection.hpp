#pragma once
// One request read the way the gate reads it, before any rule runs: classified against the catalog
// (hubspot/classify.hpp), its body extracted into contact records (hubspot/extract.hpp), and the
// rule engine's facts (rules/request_facts.hpp) built from that. Shared by the proxy, `hubgate
// test` and `hubgate explain`, so that all three see a request the same way.
//
// Fail closed: a target or a body that cannot be read safely is an error value, and the request
// is refused whole (answered 400) without asking the rules. `hubgate test` and `explain` call that
// outcome `reject`.

#include "hubgate/hubspot/classify.hpp"
#include "hubgate/hubspot/extract.hpp"
#include "hubgate/hubspot/operation.hpp"
#include "hubgate/rules/request_facts.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace hubgate::config {

struct inspected_request {
  hubspot::classification classification; // .op: the catalog operation, nullptr outside it
  hubspot::extraction extraction;         // catalog operations only: records and parsed body
  std::string path;                       // outside the catalog: the canonical path, when asked for (see below)
  std::vector<std::string> other_paths;   // catalog calls: the other spellings of the path (path_spellings)
  std::string error;                      // non-empty: refuse the request (400); facts() is not meaningful

  bool ok() const noexcept { return error.empty(); }
  const hubspot::operation* operation() const noexcept { return classification.op; }

  // The facts to evaluate. They point into *this, and at `method` and `headers`, all of which must
  // outlive the evaluate() call; do not move *this in between.
  rules::request_facts facts(std::string_view method, const rules::header_lookup* headers,
                             std::string_view client = {}) const;
};

// A request as received: views the caller keeps alive for the inspect_request() call.
struct request_text {
  std::string_view method;
  std::string_view target; // origin-form (or absolute-form) as received
  std::string_view body;
  std::string_view content_type;     // the raw header value; empty when absent
  std::string_view content_encoding; // empty when absent
};

// Outside the catalog the body is not read, and the canonical path is computed only when
// `canonicalise_outside_catalog`: a caller whose rules cannot reach such requests
// (rule_set::reaches_non_catalog) saves that work on the common path. A catalog request fails
// without a Content-Type (the extractor needs one) and with a Content-Encoding other than
// `identity` (a compressed body cannot be checked).
inspected_request inspect_request(const request_text& request, bool canonicalise_outside_catalog = true);

} // namespace hubgate::config
