#pragma once
// Reads the access part of a rules.yaml: `auth`, `upstream_token` and `clients` (see
// access/policy.hpp), and, given a secret_reader, the secrets they refer to.

#include "hubgate/access/policy.hpp"
#include "yaml_reader.hpp"

#include <optional>

namespace hubgate::rules::detail {

struct access_fields {
  const std::optional<field>& auth;
  const std::optional<field>& upstream_token;
  const std::optional<field>& clients;
};

// `root_mark` is where to point when something is missing altogether.
access::access_policy read_access(const access_fields& fields, const YAML::Mark& root_mark,
                                  const access::secret_reader* secrets, diagnostics& diag);

} // namespace hubgate::rules::detail
