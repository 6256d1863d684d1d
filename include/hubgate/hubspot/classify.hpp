#pragma once
// Classification of a request line: which catalog operation (catalog.hpp), if any, a request is,
// and the exact target to forward when it is one. Pure and allocation-light: it runs on every
// request. No exceptions; errors are values.
//
// How a target is read (the most lenient reading a server might apply, so that no spelling of a
// contact-creating call slips through unrecognised — reference §3, §8):
//   * origin-form `/p?q`, absolute-form `http(s)://authority/p?q` (authority ignored), `*`;
//   * per segment: `;params` cut, percent-decoded once, `%2F` then splits the segment in two;
//   * empty segments (`//`, trailing `/`) dropped, `.` and `..` resolved;
//   * literal segments compared ignoring case (catalog.hpp, text.hpp equals_folded).
// A matched request is forwarded as `canonical_path` (the catalog's spelling of literals, variables
// percent-encoded) plus the original `?query`: what was checked is what is sent.
//
// Errors (the caller answers 400): control bytes, spaces, `#` or `\` in the target; a malformed
// `%` escape in the path; a decoded control byte; on a catalog path, a method in the wrong case
// (`post`) and a path that is still percent-encoded after one decoding (`%252F`), because a server
// that decodes twice would read it differently; a path that is a catalog path only in a looser
// reading (segments padded with spaces or `+`, trailing dots, a file suffix such as
// `contacts.json`, a version such as `2026-9`), because a forgiving server might route it there;
// on batch upsert, conflicting `idProperty` queries.

#include "hubgate/hubspot/operation.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hubgate::hubspot {

struct path_param {
  std::string_view name; // from the catalog pattern: object_type, date_version, email, portal_id, ...
  std::string value;     // decoded
};

struct classification {
  const operation* op = nullptr; // nullptr: not a catalog operation; forward the request unchanged
  std::string canonical_path;    // set when op != nullptr
  std::string forward_target;    // canonical_path + the original `?query`, when op != nullptr
  // Path captures, plus `id_property` from the query of a batch upsert (§2.1 row 3: HubSpot's own
  // description mentions an idProperty query parameter).
  std::vector<path_param> params;
  std::string error; // non-empty: the target cannot be read safely; op is nullptr
  upstream_id upstream = upstream_id::api; // the host that serves it: op's, else upstream_for_path's

  bool ok() const noexcept { return error.empty(); }
  std::optional<std::string_view> param(std::string_view name) const noexcept;
};

classification classify(std::string_view method, std::string_view target);

// The other paths that name the same call as a classified one: every pattern of its operation
// written with its captures, the object type in each of its spellings (`contacts`, `contact`,
// `0-1`), a dated pattern with the date the request named, or 0000-00 for a call sent undated
// (v3): a date pattern meets it, a rule naming one date does not (nor is a request naming one
// date spelled with others).
// For `path` conditions, which
// would otherwise tell `/crm/v3/objects/0-1` from `/crm/v3/objects/contacts`. Without the
// canonical path itself; empty outside the catalog.
std::vector<std::string> path_spellings(const classification& c);

// Which host serves a target: forms for paths under /submissions/ and /uploads/form/ (after
// canonicalisation), api otherwise (also when the target is unreadable; classify reports that).
upstream_id upstream_for_path(std::string_view target);

// The canonical path of any target, for path conditions on requests outside the catalog: read as
// above, each segment percent-encoded, its case kept. `error` as for classify.
struct canonical_target {
  std::string path;
  std::string error;
};
canonical_target canonicalise(std::string_view target);

} // namespace hubgate::hubspot
