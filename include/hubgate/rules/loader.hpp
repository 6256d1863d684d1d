#pragma once
// Builds a rule_set from the text of a rules.yaml. The whole file is validated and every problem
// reported, each as `file:line:column: message` (1-based); a rule_set is built only from a file
// without any. No I/O: the caller reads the file and passes its name for the messages.

#include "hubgate/access/policy.hpp"
#include "hubgate/rules/rule_set.hpp"

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace hubgate::rules {

// The catalog's operation names, so `operations:` can be checked without depending on the catalog.
class known_operations {
public:
  virtual ~known_operations() = default;
  virtual bool contains(std::string_view name) const = 0;
  // Candidates for "did you mean" hints; none by default.
  virtual std::vector<std::string> names() const { return {}; }
};

// known_operations over a fixed list of names.
class operation_name_list final : public known_operations {
public:
  explicit operation_name_list(std::vector<std::string> names) : names_(std::move(names)) {}
  bool contains(std::string_view name) const override;
  std::vector<std::string> names() const override { return names_; }

private:
  std::vector<std::string> names_;
};

struct load_error {
  std::string file;
  std::size_t line = 0;   // 1-based
  std::size_t column = 0; // 1-based
  std::string message;

  std::string to_string() const; // "file:line:column: message"
};

struct load_result {
  std::shared_ptr<const rule_set> rules; // set exactly when errors is empty
  std::vector<load_error> errors;        // in file order

  explicit operator bool() const { return rules != nullptr; }
};

// `secrets` reads the client keys and the upstream token the file refers to; a secret that cannot
// be read is an error at its reference. Without a reader (`check`, `test`, `explain`) the references
// are checked for shape only and access_policy::secrets_read stays false.
load_result load_rule_set(std::string_view yaml_text, std::string_view file_name,
                          const known_operations& operations, const access::secret_reader* secrets = nullptr);

} // namespace hubgate::rules
