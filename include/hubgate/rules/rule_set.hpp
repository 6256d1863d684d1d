#pragma once
// A loaded rules.yaml: immutable, shared between requests as std::shared_ptr<const rule_set>, and
// the engine that decides contact-creating requests. A reload builds a new rule_set; requests keep
// the snapshot they started with.
//
// Semantics of evaluate():
// - Each record (batch item) is decided on its own. Request conditions (method, path, header, kind,
//   operations) hold or fail for all records alike; record conditions (email, email_domain,
//   properties) are checked against each record as sent: a rewrite's edits are not seen by later
//   rules. A catalog request with no record is decided once, as one record with no email and no
//   properties.
// - Rules run top to bottom. `allow` and `block` end evaluation for the record; `rewrite` adds its
//   `set`/`remove` edits and goes on. A record no rule decided gets the file's `default`. Edits are
//   reported only for records that end allowed; a later edit of a property replaces an earlier one.
// - Requests outside the catalog are matched only by `allow`/`block` rules whose conditions are all
//   about the request (method, path, header, client) and that name at least one; an empty `match`, `kind`,
//   `operations` and record conditions never match them, and `default` does not apply: they pass
//   unless such a rule blocks them.
// - Shadow: rules with `mode: shadow` are left out of the enforced outcome; the shadow outcome is
//   computed with every rule enforced. A file with top-level `mode: shadow` enforces nothing (even
//   its `default`); its rules and default show only in the shadow outcome.
// - `client` names clients of the file's `clients:` (auth: clients); it never matches a request
//   that no client made.
// - Matching: method names ignore case; `path` is an RE2 regex searched in the canonical path
//   (anchor it with ^ and $ for a whole match); header names and property names ignore case; header
//   and property values compare exactly as sent. Emails, and the emails and domains written in the
//   rules, are compared as HubSpot stores them (hubspot::normalise_email: trimmed, lower-cased),
//   and email regexes ignore case; `email_domain` matches the domain or any subdomain of it
//   (`example.com` matches `a.example.com`, not `notexample.com`). `missing` holds when the value
//   is absent or blank, `present` when it is not; every other predicate fails on an absent value.

#include "hubgate/access/policy.hpp"
#include "hubgate/hubspot/extract.hpp"
#include "hubgate/rules/evaluation.hpp"
#include "hubgate/rules/request_facts.hpp"
#include "hubgate/rules/test_case.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hubgate::rules {

enum class rule_action : std::uint8_t { allow, block, rewrite };
enum class enforcement_mode : std::uint8_t { enforce, shadow };

constexpr std::string_view to_string(rule_action a) {
  return a == rule_action::block ? "block" : a == rule_action::rewrite ? "rewrite" : "allow";
}
constexpr std::string_view to_string(enforcement_mode m) {
  return m == enforcement_mode::shadow ? "shadow" : "enforce";
}
// How the audit trail writes contacts' email addresses (`audit: {pii: redacted | full}`).
enum class audit_pii : std::uint8_t { redacted, full };
// What a v3 batch with a blocked item becomes (`batches: split | whole`): its other items
// forwarded and the blocked ones reported in a 207 (split), or the whole batch blocked (whole),
// as HubSpot fails a whole batch create over one existing email.
enum class batch_policy : std::uint8_t { split, whole };
constexpr std::string_view to_string(batch_policy b) { return b == batch_policy::whole ? "whole" : "split"; }

// What a rule does, as written (its conditions are compiled and stay private).
struct rule_info {
  std::string name;
  std::string description;
  std::size_t line = 0; // 1-based line of the rule in its file
  rule_action action = rule_action::allow;
  enforcement_mode mode = enforcement_mode::enforce;
  std::uint16_t status = 403;                           // block only
  std::string message;                                  // block only
  std::vector<std::pair<std::string, std::string>> set; // rewrite only, in file order
  std::vector<std::string> remove;                      // rewrite only, in file order
};

class rule_set {
public:
  struct state; // the compiled rules; defined in src/rules

  // Built by load_rule_set(); not meant to be called elsewhere.
  explicit rule_set(std::unique_ptr<const state> compiled);
  rule_set(const rule_set&) = delete;
  rule_set& operator=(const rule_set&) = delete;
  ~rule_set();

  // Pure and thread-safe; allocates only the returned value.
  evaluation evaluate(const request_facts& request) const;

  verdict default_verdict() const;
  enforcement_mode mode() const;
  audit_pii audit_pii_mode() const;
  batch_policy batches() const;
  // `auth`, `upstream_token` and `clients`: who may call and with which HubSpot credential.
  const access::access_policy& access() const;
  std::size_t rule_count() const;
  const rule_info& rule(std::size_t index) const; // in file order
  std::span<const test_case> tests() const;       // the file's `tests:`, for `hubgate test`
  // Whether any rule can decide a request outside the catalog; when none can, such requests
  // need no evaluation (and no canonical path) at all.
  bool reaches_non_catalog() const;
  // Whether any rule has a `path` condition: only then does a catalog call need its other path
  // spellings (request_facts::other_paths).
  bool reads_paths() const;
  // The property names the rules' conditions read (ignoring case, each once): the only properties
  // evaluate() looks up in a record.
  std::span<const std::string> properties_read() const;
  // Rewrite rules that may match catalog calls whose bodies cannot take their edits (events and
  // messages carry no contact properties; visitor tokens and meetings only a few): such a call a
  // rule matches is refused with a 400 rather than forwarded unedited. Said by `hubgate check` and
  // at load, so a rule written for creates can be narrowed before it refuses an event.
  struct unmade_rewrite {
    std::size_t rule = 0;                     // index, in file order
    std::vector<std::string_view> operations; // catalog names, in catalog order

    std::string operation_list() const; // "a, b, c"
  };
  std::vector<unmade_rewrite> unmade_rewrites() const;
  // The calls with extra recipients (a send's cc and bcc, a booking's guests) whose extra
  // recipients rule `rule_index`, a rewrite, may match: such a call is refused with a 400.
  std::vector<std::string_view> extra_recipient_rewrites(std::size_t rule_index) const;

  // What `hubgate check` notes about a valid file (and serve logs when it loads one): rules that
  // may not do what they look like they do. The unmade rewrites above, and block rules answering a
  // 5xx, which SDKs retry. In file order.
  struct note {
    std::size_t rule = 0; // index, in file order
    std::string text;     // a sentence about the rule, without its name
  };
  std::vector<note> notes() const;
  // The values `properties:` conditions compare with, for extraction to refuse near misses
  // (hubspot::property_selection::compared).
  const hubspot::compared_values& compared_values() const;

private:
  std::unique_ptr<const state> state_;
};

} // namespace hubgate::rules
