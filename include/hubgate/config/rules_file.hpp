#pragma once
// A rules.yaml on disk: read whole, checked against the HubSpot catalog, loaded into a rule_set
// (rules/loader.hpp). The one place that ties the rule loader to the catalog, shared by `hubgate
// serve` (start and reload), `check`, `test` and `explain`. Errors are values; nothing throws.

#include "hubgate/rules/loader.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hubgate::config {

// The catalog's operation names (hubspot::all_operations()), for `operations:` and its
// did-you-mean hints.
class catalog_operations final : public rules::known_operations {
 public:
  bool contains(std::string_view name) const override;
  std::vector<std::string> names() const override;
};

// A rules file is a page of YAML; anything this large is not one, and is not read into memory.
inline constexpr std::size_t max_rules_file_bytes = 4U * 1024 * 1024;

// The whole text of `path`, or nullopt with `error` set ("No such file or directory").
std::optional<std::string> read_rules_text(const std::string& path, std::string& error);

// The whole text of a file expected to be small: more than `max_bytes` is an error ("larger than
// 64 KiB, <what_else>") and is not read into memory.
std::optional<std::string> read_small_file(const std::string& path, std::size_t max_bytes, std::string_view what_else,
                                           std::string& error);

// `text` loaded as the file `path` (which names it in every message). `secrets`, when given, reads
// the secrets it refers to (serve); without, they are not read (check, test, explain).
rules::load_result load_rules_text(std::string_view text, const std::string& path,
                                   const access::secret_reader* secrets = nullptr);

// read_rules_text + load_rules_text. A file that cannot be read is one load_error at line 0,
// column 0: an error about the file as a whole. `text`, when given, receives the bytes read (a
// reload hashes them, so that what is hashed is what was loaded).
rules::load_result load_rules_file(const std::string& path, std::string* text = nullptr,
                                   const access::secret_reader* secrets = nullptr);

// How a load error is shown to people: "file:line:column: message", or "file: message" for an
// error about the whole file (line 0), which editors would otherwise jump to a line that is not
// there for.
std::string format_error(const rules::load_error& error);

} // namespace hubgate::config
