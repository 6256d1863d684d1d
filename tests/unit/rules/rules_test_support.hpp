#pragma once
// Helpers shared by the rules unit tests: load YAML inline, build requests, read outcomes.

#include "hubgate/rules/loader.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hubgate::rules::testing {

// The operations the catalog would know, enough for these tests.
inline const operation_name_list& fake_operations() {
  static const operation_name_list ops({"contacts.create", "contacts.batch_create",
                                        "contacts.batch_upsert", "forms.submit", "imports.create"});
  return ops;
}

inline std::shared_ptr<const rule_set> load(std::string_view yaml) {
  auto result = load_rule_set(yaml, "rules.yaml", fake_operations());
  for (const auto& error : result.errors) {
    ADD_FAILURE() << error.to_string();
  }
  return result.rules;
}

inline std::vector<std::string> load_errors(std::string_view yaml) {
  auto result = load_rule_set(yaml, "rules.yaml", fake_operations());
  EXPECT_EQ(result.rules, nullptr);
  std::vector<std::string> out;
  for (const auto& error : result.errors) {
    out.push_back(error.to_string());
  }
  return out;
}

// A record as the extractor would make it. Records are views: the text they point at is kept for
// the whole test program.
inline hubspot::contact_record
contact(std::optional<std::string> email,
        std::vector<std::pair<std::string, std::string>> properties = {}, std::size_t index = 0) {
  static hubspot::record_texts texts;
  hubspot::contact_record record;
  record.index = index;
  if (email) {
    record.email = texts.keep(std::move(*email));
  }
  for (auto& [name, value] : properties) {
    record.properties.emplace_back(texts.keep(std::move(name)), texts.keep(std::move(value)));
  }
  return record;
}

// A request as the catalog and extractors would describe it; owns what request_facts points at.
struct fake_request {
  std::string method = "POST";
  std::string path = "/crm/v3/objects/contacts";
  std::vector<std::string> other_paths; // the path's other spellings (hubspot::path_spellings)
  std::optional<operation_ref> operation =
      operation_ref{"contacts.create", hubspot::operation_kind::create};
  std::vector<hubspot::contact_record> records;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string client; // auth: clients: the client making it

  static fake_request outside_catalog(std::string method, std::string path) {
    fake_request r;
    r.method = std::move(method);
    r.path = std::move(path);
    r.operation.reset();
    return r;
  }

  static fake_request create(std::optional<std::string> email,
                             std::vector<std::pair<std::string, std::string>> properties = {}) {
    fake_request r;
    r.records.push_back(contact(std::move(email), std::move(properties)));
    return r;
  }

  static fake_request batch(std::vector<std::optional<std::string>> emails) {
    fake_request r;
    r.path = "/crm/v3/objects/contacts/batch/create";
    r.operation = operation_ref{"contacts.batch_create", hubspot::operation_kind::create};
    for (std::size_t i = 0; i < emails.size(); ++i) {
      r.records.push_back(contact(emails[i], {}, i));
    }
    return r;
  }

  evaluation evaluate_with(const rule_set& rules) const {
    const header_list lookup(headers);
    return rules.evaluate(request_facts{method, path, operation, records, &lookup, client, other_paths});
  }
};

// The enforced outcome of a request with one record.
inline outcome decide(const rule_set& rules, const fake_request& request) {
  auto result = request.evaluate_with(rules);
  EXPECT_EQ(result.records.size(), 1U);
  return result.records.empty() ? outcome{} : result.records.front().enforced;
}

inline std::string verdict_of(const rule_set& rules, const fake_request& request) {
  const outcome o = decide(rules, request);
  return std::string(to_string(o.decision)) + " by " + std::string(o.rule);
}

} // namespace hubgate::rules::testing
