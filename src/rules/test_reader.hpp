#pragma once
// Reads the `tests:` section of a rules.yaml (see test_case.hpp).

#include "hubgate/rules/test_case.hpp"
#include "yaml_reader.hpp"

#include <string>
#include <vector>

namespace hubgate::rules::detail {

// `rule_names` lets an expectation's `rule:` be checked against the file's rules, `client_names` a
// request's `client:` against its clients.
std::vector<test_case> read_tests(const field& tests, const std::vector<std::string>& rule_names,
                                  const std::vector<std::string>& client_names, diagnostics& diag);

} // namespace hubgate::rules::detail
