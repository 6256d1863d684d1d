#pragma once
// A rules file with each kind of verdict a record can get (block, a shadow block, a rewrite by a
// rule setting two properties), loaded against the real catalog: shared by the metrics and audit
// unit tests.

#include <gtest/gtest.h>

#include <memory>
#include <string_view>

#include "hubgate/config/rules_file.hpp"

namespace hubgate::testing {

inline constexpr std::string_view sample_rules_yaml = R"(version: 1
rules:
  - name: no-test
    match: { email_domain: [test.com] }
    action: block
  - name: free-mail
    mode: shadow
    match: { email_domain: [gmail.com] }
    action: block
  - name: tag
    match: { kind: [create] }
    action: rewrite
    set: { lifecyclestage: lead, hs_lead_status: NEW }
)";

inline std::shared_ptr<const rules::rule_set> load_rules(std::string_view yaml = sample_rules_yaml) {
  auto result = config::load_rules_text(yaml, "rules.yaml");
  for (const auto& e : result.errors) {
    ADD_FAILURE() << e.to_string();
  }
  return result.rules;
}

} // namespace hubgate::testing
