#pragma once
// A model of the most forgiving HubSpot imaginable, for the integrity suite: it reads a request
// that reached the fake HubSpot in every way a lenient server might, and says which contact
// emails would then be created. It is deliberately written apart from hubgate's own catalog and
// extractors (regexes over a loosened path, a SAX scan of the body), so that it does not share
// their blind spots.
//
// What it forgives, all at once (the readings are united, never chosen between):
//   * method: any case, and X-HTTP-Method-Override / X-HTTP-Method / X-Method-Override (also
//     with `_` for `-`) or a `_method` query parameter replacing it;
//   * path: absolute-form, percent-decoding until nothing changes, `\` as `/`, `;params`, empty
//     and dot segments, padding, trailing dots and file suffixes on fixed segments, Java's case
//     folding, `contact`/`0-1` (leading zeros too), any `YYYY-M(M)` version with any suffix;
//   * body: every Content-Encoding undone (gzip, zlib and raw deflate) and also left as is, a
//     BOM stripped, UTF-16 and Latin-1 transcoded, JSON with comments sniffed whatever the
//     Content-Type, form fields, multipart CSV rows;
//   * JSON: both values of a duplicate key, property names in any case and padding, v1
//     name/value arrays anywhere, arrays where a string belongs, upsert ids that look like emails,
//     cc/bcc/guest recipients;
//   * emails: trimmed, lower-cased, fullwidth and invisible characters folded, a display name's
//     address, each address of a list, the part before a NUL, inner spaces removed.

#include <set>
#include <string>
#include <vector>

#include "support/fake_hubspot.hpp"

namespace hubgate::test {

// The emails (normalised as above) a lenient HubSpot creates for one request. A token that makes
// later SMTP sends create contacts is reported as "<smtp-token-creates-contacts>".
std::set<std::string> lenient_creates(const recorded_request& request);

// Everything a set of requests would create.
std::set<std::string> lenient_creates(const std::vector<recorded_request>& requests);

// An answer shaped like HubSpot's success for a request the model recognises (batch results with
// one entry per input, 201 for creates, 204 for event sends), so hubgate's stitching sees real
// answers; 200 `{}` for anything else.
fake_response lenient_answer(const recorded_request& request);

} // namespace hubgate::test
