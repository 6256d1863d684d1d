#include "hubgate/rules/rule_set.hpp"

#include "compiled_rules.hpp"
#include "hubgate/hubspot/catalog.hpp"
#include "hubgate/hubspot/email.hpp"
#include "hubgate/hubspot/text.hpp"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

namespace hubgate::rules {
namespace detail {

value_predicate value_predicate::one_of(text_set values) {
  value_predicate p(test::one_of);
  p.values_ = std::move(values);
  return p;
}

value_predicate value_predicate::regex(std::unique_ptr<const re2::RE2> compiled) {
  value_predicate p(test::regex);
  p.regex_ = std::move(compiled);
  return p;
}

value_predicate value_predicate::missing() { return value_predicate(test::missing); }
value_predicate value_predicate::present() { return value_predicate(test::present); }

bool value_predicate::matches(std::optional<std::string_view> value) const {
  switch (test_) {
  // A value of nothing but padding (spaces, zero-width spaces, a BOM) is no value.
  case test::missing: return !value || hubspot::trim_name_padding(*value).empty();
  case test::present: return value && !hubspot::trim_name_padding(*value).empty();
  case test::one_of: return value && values_.contains(*value);
  case test::regex: return value && re2::RE2::PartialMatch(*value, *regex_);
  }
  return false;
}

namespace {

std::uint8_t kind_bit(hubspot::operation_kind kind) {
  return static_cast<std::uint8_t>(1U << static_cast<unsigned>(kind));
}

// The first property named `name`, in any ASCII case and with any padding: extraction refuses
// a record whose spellings of one name disagree.
std::optional<std::string_view> property_value(const hubspot::contact_record& record,
                                               std::string_view name) {
  for (const auto& [property, value] : record.properties) {
    if (hubspot::equals_names(hubspot::trim_name_padding(property), name)) {
      return value;
    }
  }
  return std::nullopt;
}

} // namespace

bool conditions::request_matches(const request_facts& request) const {
  if (kinds != 0 || operations) {
    if (!request.operation) {
      return false;
    }
    if (kinds != 0 && (kinds & kind_bit(request.operation->kind)) == 0) {
      return false;
    }
    if (operations && !operations->contains(request.operation->name)) {
      return false;
    }
  }
  if (!methods.empty() && std::none_of(methods.begin(), methods.end(), [&](const std::string& m) {
        return hubspot::iequals_ascii(m, request.method);
      })) {
    return false;
  }
  if (clients && !clients->contains(request.client)) {
    return false;
  }
  for (const auto& [name, predicate] : headers) {
    const auto value = request.headers != nullptr ? request.headers->header(name) : std::nullopt;
    if (!predicate.matches(value)) {
      return false;
    }
  }
  return !path || re2::RE2::PartialMatch(request.path, *path) ||
         std::any_of(request.other_paths.begin(), request.other_paths.end(),
                     [this](const std::string& other) { return re2::RE2::PartialMatch(other, *path); });
}

bool conditions::record_matches(const record_view& record) const {
  if (email && !email->matches(record.email)) {
    return false;
  }
  if (email_domains && (record.domain.empty() || !email_domains->covers(record.domain))) {
    return false;
  }
  for (const auto& [name, predicate] : properties) {
    if (!predicate.matches(property_value(*record.record, name))) {
      return false;
    }
  }
  return true;
}

} // namespace detail

namespace {

enum class pass : std::uint8_t { enforced, shadow };

void decide(outcome& out, const rule_info& rule) {
  out.rule = rule.name;
  if (rule.action == rule_action::block) {
    out.decision = verdict::block;
    out.status = rule.status;
    out.message = rule.message;
    out.edits.clear();
  } else {
    out.decision = verdict::allow;
  }
}

void apply_default(outcome& out, verdict fallback) {
  out.rule = default_rule_name;
  out.decision = fallback;
  if (fallback == verdict::block) {
    out.status = 403;
    out.edits.clear();
  }
}

void add_edits(outcome& out, const rule_info& rule) {
  const auto put = [&](std::string_view property, std::optional<std::string_view> value) {
    std::erase_if(out.edits, [&](const property_edit& edit) {
      return hubspot::iequals_ascii(edit.property, property);
    });
    out.edits.push_back(property_edit{property, value, rule.name});
  };
  for (const auto& [property, value] : rule.set) {
    put(property, value);
  }
  for (const auto& property : rule.remove) {
    put(property, std::nullopt);
  }
}

bool skipped(const detail::compiled_rule& rule, pass which) {
  return which == pass::enforced && rule.info.mode == enforcement_mode::shadow;
}

// Rule-major so each rule's request conditions (a path regex, header look-ups) are checked once per
// request rather than once per batch item; records stay independent, so the order of the loops
// does not change any record's outcome.
void decide_records(const rule_set::state& state, const request_facts& request,
                    std::span<const detail::record_view> records,
                    std::vector<record_decision>& decisions, pass which) {
  const auto slot = [which](record_decision& d) -> outcome& {
    return which == pass::enforced ? d.enforced : *d.shadow;
  };
  std::size_t undecided = records.size();
  for (const auto& rule : state.rules) {
    if (undecided == 0) {
      break;
    }
    if (skipped(rule, which) || !rule.when.request_matches(request)) {
      continue;
    }
    for (std::size_t i = 0; i < records.size(); ++i) {
      outcome& out = slot(decisions[i]);
      if (!out.rule.empty() || !rule.when.record_matches(records[i])) {
        continue;
      }
      if (rule.info.action == rule_action::rewrite) {
        add_edits(out, rule.info);
      } else {
        decide(out, rule.info);
        --undecided;
      }
    }
  }
  for (auto& decision : decisions) {
    if (outcome& out = slot(decision); out.rule.empty()) {
      apply_default(out, state.default_verdict);
    }
  }
}

outcome decide_request(const rule_set::state& state, const request_facts& request, pass which) {
  outcome out;
  for (const auto& rule : state.rules) {
    if (rule.reaches_non_catalog && !skipped(rule, which) && rule.when.request_matches(request)) {
      decide(out, rule.info);
      break;
    }
  }
  return out;
}

// Stands for the one record of a catalog request the extractor found none in (an import whose
// file cannot be read, say), so such a request is still decided.
const hubspot::contact_record no_record{};

} // namespace

rule_set::rule_set(std::unique_ptr<const state> compiled) : state_(std::move(compiled)) {}
rule_set::~rule_set() = default;

evaluation rule_set::evaluate(const request_facts& request) const {
  const state& s = *state_;
  const bool enforcing = s.mode == enforcement_mode::enforce;
  evaluation result;

  if (!request.operation) {
    if (!s.reaches_non_catalog) {
      return result;
    }
    outcome enforced = enforcing ? decide_request(s, request, pass::enforced) : outcome{};
    std::optional<outcome> shadow;
    if (s.has_shadow) {
      shadow = decide_request(s, request, pass::shadow);
    }
    if (!enforced.rule.empty() || (shadow && !shadow->rule.empty())) {
      result.records.push_back(record_decision{0, std::move(enforced), std::move(shadow)});
    }
    return result;
  }

  const std::span<const hubspot::contact_record> records =
      request.records.empty() ? std::span<const hubspot::contact_record>(&no_record, 1)
                              : request.records;
  std::vector<detail::record_view> views(records.size());
  // Emails the extractor did not normalise, normalised here: reserved whole at the first, so that
  // the views into them stay put.
  std::vector<std::string> normalised;
  result.records.resize(records.size());
  for (std::size_t i = 0; i < records.size(); ++i) {
    views[i].record = &records[i];
    // The same normalisation HubSpot applies before it stores an address (see email.hpp), so
    // ` Jo@Test.COM\u00A0` meets `email_domain: test.com` as HubSpot would store it.
    if (s.reads_email && records[i].email) {
      if (records[i].normalised_email) {
        views[i].email = *records[i].normalised_email; // the extractor's
      } else {
        normalised.reserve(records.size());
        views[i].email = normalised.emplace_back(hubspot::normalise_email(*records[i].email));
      }
      views[i].domain = hubspot::normalised_domain(*views[i].email);
    }
    result.records[i].index = records[i].index;
    if (s.has_shadow) {
      result.records[i].shadow.emplace();
    }
  }
  if (enforcing) {
    decide_records(s, request, views, result.records, pass::enforced);
  }
  if (s.has_shadow) {
    decide_records(s, request, views, result.records, pass::shadow);
  }
  return result;
}

verdict rule_set::default_verdict() const { return state_->default_verdict; }
enforcement_mode rule_set::mode() const { return state_->mode; }
audit_pii rule_set::audit_pii_mode() const { return state_->audit; }
batch_policy rule_set::batches() const { return state_->batches; }
const access::access_policy& rule_set::access() const { return state_->access; }
std::size_t rule_set::rule_count() const { return state_->rules.size(); }
const rule_info& rule_set::rule(std::size_t index) const { return state_->rules.at(index).info; }
std::span<const test_case> rule_set::tests() const { return state_->tests; }

bool rule_set::reaches_non_catalog() const { return state_->reaches_non_catalog; }
bool rule_set::reads_paths() const { return state_->reads_paths; }
std::span<const std::string> rule_set::properties_read() const { return state_->properties_read; }
const hubspot::compared_values& rule_set::compared_values() const { return state_->compared_values; }

std::string rule_set::unmade_rewrite::operation_list() const {
  std::string list;
  for (const std::string_view name : operations) {
    list.append(list.empty() ? "" : ", ").append(name);
  }
  return list;
}

namespace {

// Whether a rule's request conditions (kind, operations, method) may hold on a call of `op`.
bool may_reach(const detail::conditions& when, const hubspot::operation& op) {
  return (when.kinds == 0 || (when.kinds & detail::kind_bit(op.kind)) != 0) &&
         (!when.operations || when.operations->contains(op.name)) &&
         (when.methods.empty() || std::any_of(when.methods.begin(), when.methods.end(), [&op](const std::string& m) {
            return hubspot::iequals_ascii(m, op.method) || (!op.other_method.empty() && hubspot::iequals_ascii(m, op.other_method));
          }));
}

// Calls that may name contacts beyond the one they carry properties for: a send's cc and bcc
// recipients, a booking's guests. An edit decided for one of those cannot be made.
bool names_extra_recipients(const hubspot::operation& op) {
  return op.shape == hubspot::body_shape::single_send || op.name == "meetings.book";
}

} // namespace

std::vector<std::string_view> rule_set::extra_recipient_rewrites(std::size_t rule_index) const {
  std::vector<std::string_view> found;
  const detail::compiled_rule& rule = state_->rules[rule_index];
  if (rule.info.action != rule_action::rewrite || rule.info.mode == enforcement_mode::shadow ||
      state_->mode == enforcement_mode::shadow) {
    return found;
  }
  // A recipient's record has an email and no properties: property conditions must hold on none.
  const bool recipient_may_match =
      std::all_of(rule.when.properties.begin(), rule.when.properties.end(),
                  [](const auto& condition) { return condition.second.matches(std::nullopt); });
  for (const hubspot::operation& op : hubspot::all_operations()) {
    if (recipient_may_match && names_extra_recipients(op) && may_reach(rule.when, op)) {
      found.push_back(op.name);
    }
  }
  return found;
}

std::vector<rule_set::unmade_rewrite> rule_set::unmade_rewrites() const {
  std::vector<unmade_rewrite> found;
  for (std::size_t i = 0; i < state_->rules.size(); ++i) {
    const detail::compiled_rule& rule = state_->rules[i];
    // A shadow rule's edits are never made: it refuses nothing.
    if (rule.info.action != rule_action::rewrite || rule.info.mode == enforcement_mode::shadow ||
        state_->mode == enforcement_mode::shadow) {
      continue;
    }
    const detail::conditions& when = rule.when;
    unmade_rewrite unmade{i, {}};
    for (const hubspot::operation& op : hubspot::all_operations()) {
      const hubspot::editable_properties editable = hubspot::editable_properties_of(op.shape);
      const auto can_edit = [&editable](const std::string& name) { return editable.can_edit(name); };
      const bool edits_fit = std::all_of(rule.info.remove.begin(), rule.info.remove.end(), can_edit) &&
                             std::all_of(rule.info.set.begin(), rule.info.set.end(),
                                         [&can_edit](const auto& entry) { return can_edit(entry.first); });
      const bool request_may_match = may_reach(when, op);
      // A property condition holds on a record of this call only for a property it carries, or
      // for a predicate that holds on no value (`missing`).
      // A call whose contacts are not read is one record with no email: an email condition must
      // hold on none.
      const bool record_may_match =
          std::all_of(when.properties.begin(), when.properties.end(), [&editable](const auto& condition) {
            return editable.can_edit(condition.first) || condition.second.matches(std::nullopt);
          }) &&
          (hubspot::yields_records(op.shape) ||
           ((!when.email || when.email->matches(std::nullopt)) && !when.email_domains));
      if (!edits_fit && request_may_match && record_may_match) {
        unmade.operations.push_back(op.name);
      }
    }
    if (!unmade.operations.empty()) {
      found.push_back(std::move(unmade));
    }
  }
  return found;
}

std::vector<rule_set::note> rule_set::notes() const {
  std::vector<note> found;
  const std::vector<unmade_rewrite> unmade = unmade_rewrites();
  auto next_unmade = unmade.begin();
  for (std::size_t i = 0; i < state_->rules.size(); ++i) {
    const rule_info& rule = state_->rules[i].info;
    if (next_unmade != unmade.end() && next_unmade->rule == i) {
      found.push_back({i, "rewrites calls that cannot take its edits, and each of them it matches is refused with a 400: " +
                              next_unmade->operation_list() + ". Name the calls it is for with operations: or kind:."});
      ++next_unmade;
    }
    if (const auto sends = extra_recipient_rewrites(i); !sends.empty()) {
      std::string list;
      for (const std::string_view name : sends) {
        list.append(list.empty() ? "" : ", ").append(name);
      }
      found.push_back({i, "may match a send's cc or bcc recipient or a booking's guest, who carry no properties to edit: "
                          "such a call is refused with a 400 (" + list + "). Name the calls it is for with operations: "
                          "if those are not among them."});
    }
    if (rule.action == rule_action::block && rule.status >= 500 && rule.mode != enforcement_mode::shadow &&
        state_->mode != enforcement_mode::shadow) {
      found.push_back({i, "blocks with status " + std::to_string(rule.status) +
                              ", which clients take for a failure of the server: the official SDKs retry 5xx answers "
                              "(x-should-retry: false notwithstanding). A 4xx is not retried."});
    }
  }
  return found;
}

} // namespace hubgate::rules
