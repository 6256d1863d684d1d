#pragma once
// The `tests:` of a rules.yaml, parsed into values, and the check of one expectation against an
// evaluation. Running a test needs the catalog (classify the request, extract its records); the
// caller does that, evaluates, then asks check_expectation() whether the result is the expected
// one.

#include "hubgate/rules/evaluation.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace hubgate::rules {

struct test_request {
  std::string method;
  std::string path; // as written; may carry a query string
  // JSON text when the test gave a mapping or a list; the text itself when it gave a string (a
  // form-encoded body, say); empty when it gave none.
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers; // in file order
  std::string client; // the client making the request (one of the file's `clients:`); empty: none
};

// `allow` passes whether or not a rewrite edited the record; `rewrite` passes only if one did.
// `reject` is about the whole request, never one record: the gate refuses it (400) before any rule
// runs, because its target or body cannot be read safely (fail closed). It is written only as
// `expect: reject` or `expect: {verdict: reject}`, alone. The caller, which classifies and
// extracts, checks it; check_expectation() never sees it met, as an evaluation means the request
// was read.
enum class expected_verdict : std::uint8_t { allow, block, rewrite, reject };

struct expected_outcome {
  expected_verdict verdict = expected_verdict::allow;
  std::optional<std::string> rule;                      // name of the deciding rule, or "default"
  std::optional<std::uint16_t> status;                  // block status
  std::vector<std::pair<std::string, std::string>> set; // edits that must be among the record's
  std::vector<std::string> remove;                      // removals that must be among the record's
  std::optional<expected_verdict> shadow; // checked against the shadow outcome when given
};

struct expectation {
  // One outcome for the request (`expect: block`; see check_expectation), or, when per_item, one
  // per record in record order (`expect: {items: [allow, block]}`).
  std::vector<expected_outcome> outcomes;
  bool per_item = false;
};

struct test_case {
  std::string name;
  std::size_t line = 0; // 1-based line of the test in its file
  test_request request;
  expectation expect;
};

// What the gate did with the request as a whole, which a plain verdict is about: a call decided
// whole (a v1 batch, a send, a batch under `batches: whole`) is refused by one blocked contact,
// while a v3 batch is split, its other items forwarded.
enum class request_fate : std::uint8_t {
  forwarded, // with or without edits
  refused,   // by a rule: nothing forwarded
  split,     // a batch forwarded without its blocked items
};

// nullopt when the evaluation meets the expectation; otherwise why not, in one line
// (e.g. "items[1] of 2: expected block, got allow (default)", items counted from 0 as HubSpot's
// inputIndex counts them). A plain verdict is the request's: `block` is met when the request is
// refused (its rule, status and shadow are those of each blocked contact), `rewrite` when it is
// forwarded and some contact was edited (the edits expected are each edited contact's), `allow`
// when every contact passes. Without `fate` it is read from the records: refused when all are
// blocked.
std::optional<std::string> check_expectation(const test_case& test, const evaluation& result,
                                             std::optional<request_fate> fate = std::nullopt);

} // namespace hubgate::rules
