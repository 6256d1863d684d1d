#pragma once
// Reading YAML with positions: every helper reports what is wrong with a node to `diagnostics`
// and returns nullopt, so the loader goes on and reports every problem of the file in one run.

#include "hubgate/rules/loader.hpp"

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hubgate::rules::detail {

class diagnostics {
public:
  explicit diagnostics(std::string_view file) : file_(file) {}
  void error(const YAML::Mark& where, std::string message);
  bool has_errors() const { return !errors_.empty(); }
  std::size_t count() const { return errors_.size(); }
  std::vector<load_error> take(); // in file order

private:
  std::string file_;
  std::vector<load_error> errors_;
};

// A value found under a key, with the place to point at: the value's, or the key's when the value
// is empty (yaml-cpp marks an empty value at whatever token follows it).
struct field {
  std::string key;
  YAML::Node value;
  YAML::Mark mark;
  YAML::Mark key_mark;
};

// "a mapping", "a list", "a string", "nothing": for "must be X, got Y" messages.
std::string_view describe(const YAML::Node& node);

// The known word nearest to `word`, if it is close enough to be a typo.
std::optional<std::string_view> nearest(std::string_view word,
                                        std::span<const std::string_view> known);
std::optional<std::string> nearest(std::string_view word, const std::vector<std::string>& known);

// "a, b or c"
std::string join_choices(std::span<const std::string_view> choices);

// Whether messages about a mapping's keys quote them. `hide` where a secret may have been written in
// place of a key (`upstream_token: { pat-na1-... }`): errors reach stderr and the log, and the
// position alone finds the key ("an unknown key", "a duplicate key").
enum class key_echo { quote, hide };

// The entries of a mapping in file order. Reports a node that is not a mapping, keys that are not
// strings, and repeated keys (ignoring case when fold_case_keys). `what` names the node in
// messages: "'match'", "a rule".
std::optional<std::vector<field>> read_entries(const YAML::Node& node, const YAML::Mark& where,
                                               std::string_view what, diagnostics& diag,
                                               bool fold_case_keys = false,
                                               key_echo echo = key_echo::quote);

// A mapping with a fixed set of keys: unknown ones are reported, with the nearest known key.
class keyed_mapping {
public:
  keyed_mapping(const YAML::Node& node, const YAML::Mark& where, std::string_view what,
                std::span<const std::string_view> known, diagnostics& diag,
                key_echo echo = key_echo::quote);
  bool valid() const { return valid_; }
  const std::optional<field>& get(std::string_view key) const;
  const YAML::Mark& mark() const { return mark_; }

private:
  std::span<const std::string_view> known_;
  std::vector<std::optional<field>> values_; // parallel to known_
  YAML::Mark mark_;
  bool valid_ = false;
};

// A string (any scalar). Reports lists, mappings and empty values.
std::optional<std::string> read_string(const field& f, diagnostics& diag);
// A non-empty string after trimming.
std::optional<std::string> read_name(const field& f, diagnostics& diag);
// One of `choices`; reports anything else with the nearest choice.
std::optional<std::size_t> read_choice(const field& f, std::span<const std::string_view> choices,
                                       diagnostics& diag);
// An integer in [low, high].
std::optional<long> read_integer(const field& f, long low, long high, diagnostics& diag);
// `true`; anything else is reported with `hint`.
bool read_true(const field& f, std::string_view hint, diagnostics& diag);

struct located_string {
  std::string text;
  YAML::Mark mark;
};
// A string or a non-empty list of strings.
std::optional<std::vector<located_string>> read_string_list(const field& f, diagnostics& diag);

// Whether `item` is one of `known`; if not, reports "unknown <what> 'x'" with the nearest as a hint.
bool check_known(const located_string& item, std::string_view what, const std::vector<std::string>& known,
                 diagnostics& diag);

} // namespace hubgate::rules::detail
