#pragma once
// The secrets a rules.yaml refers to (client keys, the upstream token), read from the process
// environment or from files (Docker and Kubernetes secrets mount as files). A file's trailing line
// break is not part of the secret; nothing else is trimmed. Secrets are never logged: errors name
// where a secret should be, never what it holds.

#include "hubgate/access/policy.hpp"

#include <cstddef>

namespace hubgate::config {

// A secret is a token; anything larger is not one and is not read into memory.
inline constexpr std::size_t max_secret_bytes = 64 * 1024;

class process_secrets final : public access::secret_reader {
 public:
  std::optional<std::string> read(const access::secret_ref& ref, std::string& error) const override;
};

} // namespace hubgate::config
