#pragma once
// The values rules compare properties with (`properties: {name: value}` or `{in: [...]}`), kept
// so that extract() can refuse a near miss of one: a value a server that folds case, trims or
// splits multi-select options may read as a value a rule names, though it is not that value.
// Pure, no I/O; built once per rule set, read on every request that lists a compared property.

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace hubgate::hubspot {

class compared_values {
public:
  // `name` and `value` as the rule spells them.
  void add(std::string_view name, std::string_view value);

  bool empty() const noexcept { return properties_.empty(); }

  // Whether property `name` compares any value (its name matched trimmed, as equals_names matches).
  bool compares(std::string_view name) const noexcept { return find(name) != nullptr; }

  // True when `value` of property `name` is no value the rules compare `name` with, but reads as
  // one of them once letter case (as equals_names reads it) and padding are set aside, or once it
  // is split into its `;`-separated options: `Customer`, `customer\u00a0`, `lead;customer` for a
  // rule that names `customer`. A rule value that itself lists options (`a;b`) is met loosely by
  // a value listing each of them (`B; a`). Looks each option up once, whatever the number of values.
  // A number is also a near miss of one a rule names when a lenient Java reader (Long.parseLong,
  // BigDecimal) takes it for the same number: `0123`, `+123`, `123.0`, `1.23e2`, `１２３` for `123`.
  // Only a rule value written as a plain number (`123`, `-2.5`) is one; `00123` or `+15551234567`
  // is a string (a zip code, a phone number) and compares exactly.
  bool is_near_miss(std::string_view name, std::string_view value) const;

private:
  // Transparent, so that a std::string_view is looked up without building a std::string.
  struct text_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  using string_set = std::unordered_set<std::string, text_hash, std::equal_to<>>;
  struct property {
    std::string name;                             // trimmed, as the first rule spells it
    string_set exact;                             // the values as rules spell them
    string_set loose;                             // each single-option value, trimmed and lower-cased
    std::vector<std::vector<std::string>> listed; // each value of several options, as its loose options
    string_set numbers;                           // each value that is a number, in canonical form
  };
  const property* find(std::string_view name) const noexcept;

  std::vector<property> properties_; // few: one per property a rule compares
};

// `option` with its padding removed, folded as property names are (fold_name), written into `out`.
void loose_option(std::string_view option, std::string& out);

} // namespace hubgate::hubspot
