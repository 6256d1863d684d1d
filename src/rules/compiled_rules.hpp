#pragma once
// The compiled form of a rules.yaml, private to the engine and the loader: predicates with their
// regexes compiled and their lists hashed, so evaluating a request only reads.

#include "hubgate/rules/rule_set.hpp"
#include "text.hpp"

#include <re2/re2.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hubgate::rules::detail {

class value_predicate {
public:
  enum class test : std::uint8_t { one_of, regex, missing, present };

  static value_predicate one_of(text_set values);
  static value_predicate regex(std::unique_ptr<const re2::RE2> compiled);
  static value_predicate missing();
  static value_predicate present();

  // `value` is nullopt when absent; emails come normalised, other values as sent.
  bool matches(std::optional<std::string_view> value) const;
  // The values of a `one_of` predicate (a plain string or `{in: [...]}`); nullptr for the others.
  const text_set* listed_values() const { return test_ == test::one_of ? &values_ : nullptr; }

private:
  explicit value_predicate(test kind) : test_(kind) {}

  test test_;
  text_set values_;
  std::unique_ptr<const re2::RE2> regex_;
};

using named_predicates = std::vector<std::pair<std::string, value_predicate>>;

// The domains an `email_domain` condition lists. An email's domain is looked up with each parent
// of it (`a.b.com`, `b.com`, `com`); most of those have a length no listed domain has, and a bit
// per length turns them away before they are hashed.
class domain_set {
public:
  void insert(std::string domain) {
    lengths_ |= length_bit(domain.size());
    shortest_ = std::min(shortest_, domain.size());
    names_.insert(std::move(domain));
  }
  // The domain or a parent domain of it is listed: "a.example.com" is covered by "example.com",
  // while "notexample.com" is not, because only whole labels are stripped.
  bool covers(std::string_view domain) const {
    while (true) {
      // A parent is shorter still: none is listed.
      if (domain.size() < shortest_) {
        return false;
      }
      if ((lengths_ & length_bit(domain.size())) != 0 && names_.contains(domain)) {
        return true;
      }
      const auto dot = domain.find('.');
      if (dot == std::string_view::npos) {
        return false;
      }
      domain.remove_prefix(dot + 1);
    }
  }

private:
  static std::uint64_t length_bit(std::size_t length) { return std::uint64_t{1} << (length < 63 ? length : 63); }

  text_set names_;
  std::uint64_t lengths_ = 0; // bit n: a listed domain of n bytes (bit 63: of 63 or more)
  std::size_t shortest_ = std::numeric_limits<std::size_t>::max(); // the shortest listed domain's size
};

// A record with its email normalised once per request rather than once per rule.
// Trivial, so that a batch's hundred views cost no string each: an email normalised here rather than
// by the extractor lives in a list of evaluate()'s own.
struct record_view {
  const hubspot::contact_record* record = nullptr;
  std::optional<std::string_view> email; // hubspot::normalise_email; nullopt when the record has none
  std::string_view domain;               // hubspot::normalised_domain; empty without an `@`
};

struct conditions {
  // About the request: hold or fail for every record alike.
  std::vector<std::string> methods;     // empty: any
  std::unique_ptr<const re2::RE2> path; // nullptr: any
  named_predicates headers;             // by header name
  std::uint8_t kinds = 0;               // bit per operation_kind; 0: any
  std::optional<text_set> operations;   // nullopt: any
  std::optional<text_set> clients;      // client names; nullopt: any (and requests of no client)
  // About a record.
  std::optional<value_predicate> email;
  std::optional<domain_set> email_domains; // normalised like emails
  named_predicates properties;           // by property name

  bool request_matches(const request_facts& request) const;
  bool record_matches(const record_view& record) const;
  bool has_record_conditions() const {
    return email.has_value() || email_domains.has_value() || !properties.empty();
  }
};

struct compiled_rule {
  rule_info info;
  conditions when;
  // Whether the rule can decide a request outside the catalog (see rule_set.hpp).
  bool reaches_non_catalog = false;
};

} // namespace hubgate::rules::detail

namespace hubgate::rules {

struct rule_set::state {
  verdict default_verdict = verdict::allow;
  enforcement_mode mode = enforcement_mode::enforce;
  audit_pii audit = audit_pii::redacted;
  batch_policy batches = batch_policy::split;
  access::access_policy access;
  std::vector<detail::compiled_rule> rules;
  std::vector<test_case> tests;
  bool has_shadow = false;          // a shadow rule, or the file in shadow mode
  bool reads_email = false;         // some rule has an `email` or `email_domain` condition
  bool reaches_non_catalog = false; // any rule reaches requests outside the catalog
  bool reads_paths = false;         // some rule has a `path` condition
  std::vector<std::string> properties_read; // every property a rule's conditions name, once
  hubspot::compared_values compared_values; // what `properties:` conditions compare with
};

} // namespace hubgate::rules
