#pragma once
// The decision the rule engine returns for one request: a plain value the proxy acts on (forward,
// forward with edits, drop some batch items, or answer locally) and logs.
//
// Every std::string_view in here points into the rule_set that produced the evaluation: keep that
// snapshot (its shared_ptr) alive as long as the evaluation.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace hubgate::rules {

enum class verdict : std::uint8_t { allow, block };

constexpr std::string_view to_string(verdict v) { return v == verdict::block ? "block" : "allow"; }

// The name an outcome carries when the file's `default` decided it.
inline constexpr std::string_view default_rule_name = "default";

// One change a `rewrite` rule makes to a record's properties.
struct property_edit {
  std::string_view property;             // as written in rules.yaml
  std::optional<std::string_view> value; // `set` to this value; nullopt: `remove`
  std::string_view rule;                 // the rewrite rule that asked for it

  friend bool operator==(const property_edit&, const property_edit&) = default;
};

struct outcome {
  verdict decision = verdict::allow;
  // The rule that ended evaluation, or default_rule_name. Empty when neither decided: a request
  // outside the catalog that no rule matched, or a catalog request under a file in shadow mode.
  std::string_view rule;
  std::uint16_t status = 0; // block only: the HTTP status to answer with (403 unless the rule says)
  std::string_view message; // block only: the rule's message for the caller; may be empty
  std::vector<property_edit> edits; // allow only: apply in order; at most one edit per property

  bool rewritten() const { return decision == verdict::allow && !edits.empty(); }
  friend bool operator==(const outcome&, const outcome&) = default;
};

// "block", "rewrite" (allowed with edits) or "allow": how `test`, `explain` and the audit trail
// name an outcome.
inline std::string_view verdict_word(const outcome& o) {
  if (o.decision == verdict::block) {
    return "block";
  }
  return o.rewritten() ? "rewrite" : "allow";
}

struct record_decision {
  std::size_t index = 0; // the contact_record's index; 0 for a request-level decision
  outcome enforced;      // what happens
  // Present when the rule set has shadow rules (or is in shadow mode): what would happen if they
  // were enforced too. Report it; never act on it.
  std::optional<outcome> shadow;
};

struct evaluation {
  // Catalog requests: one entry per record, in record order (one entry when the request carried
  // no record). Requests outside the catalog: one entry when a rule matched, none when the request
  // passes untouched (the common case, which allocates nothing).
  std::vector<record_decision> records;

  bool untouched() const { return records.empty(); }
  bool any_blocked() const;
  bool all_blocked() const; // false when there is no record
  // The first blocked record: its outcome's status and message answer a request blocked whole.
  const record_decision* first_blocked() const;
};

} // namespace hubgate::rules
