#include "yaml_reader.hpp"

#include "hubgate/hubspot/text.hpp"
#include "text.hpp"

#include <algorithm>
#include <charconv>
#include <unordered_map>
#include <utility>

namespace hubgate::rules::detail {

namespace {

std::size_t one_based(int zero_based) {
  // yaml-cpp uses -1 for "no position"; point at the start rather than at a wrapped-around number.
  return zero_based < 0 ? 1 : static_cast<std::size_t>(zero_based) + 1;
}

// Optimal string alignment distance: a swap of two letters ("emial") counts as one typo.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) {
    d[i][0] = i;
  }
  for (std::size_t j = 0; j <= b.size(); ++j) {
    d[0][j] = j;
  }
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = ascii_lower(a[i - 1]) == ascii_lower(b[j - 1]) ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

template <typename Words>
std::optional<std::size_t> nearest_index(std::string_view word, const Words& known) {
  std::optional<std::size_t> best;
  std::size_t best_distance = 0;
  for (std::size_t i = 0; i < known.size(); ++i) {
    const std::string_view candidate = known[i];
    // More than two letters apart in length is more than two typos: no table to fill (a name of a
    // megabyte would cost seconds, and a table of its length times the candidate's).
    if (std::max(word.size(), candidate.size()) - std::min(word.size(), candidate.size()) > 2) {
      continue;
    }
    const std::size_t distance = edit_distance(word, candidate);
    // Two typos at most, and fewer than half the letters: "mode" is no typo of "name".
    if (distance <= 2 && distance * 2 < std::max(word.size(), candidate.size()) &&
        (!best || distance < best_distance)) {
      best = i;
      best_distance = distance;
    }
  }
  return best;
}

std::string quote(std::string_view text) {
  std::string out = "'";
  out += text;
  out += '\'';
  return out;
}

} // namespace

void diagnostics::error(const YAML::Mark& where, std::string message) {
  errors_.push_back(
      load_error{file_, one_based(where.line), one_based(where.column), std::move(message)});
}

std::vector<load_error> diagnostics::take() {
  std::stable_sort(errors_.begin(), errors_.end(), [](const load_error& a, const load_error& b) {
    return std::pair(a.line, a.column) < std::pair(b.line, b.column);
  });
  return std::move(errors_);
}

std::string_view describe(const YAML::Node& node) {
  switch (node.Type()) {
  case YAML::NodeType::Map: return "a mapping";
  case YAML::NodeType::Sequence: return "a list";
  case YAML::NodeType::Scalar: return "a string";
  case YAML::NodeType::Null:
  case YAML::NodeType::Undefined: return "nothing";
  }
  return "nothing";
}

std::optional<std::string_view> nearest(std::string_view word,
                                        std::span<const std::string_view> known) {
  if (const auto i = nearest_index(word, known)) {
    return known[*i];
  }
  return std::nullopt;
}

std::optional<std::string> nearest(std::string_view word, const std::vector<std::string>& known) {
  if (const auto i = nearest_index(word, known)) {
    return known[*i];
  }
  return std::nullopt;
}

std::string join_choices(std::span<const std::string_view> choices) {
  std::string out;
  for (std::size_t i = 0; i < choices.size(); ++i) {
    if (i > 0) {
      out += i + 1 == choices.size() ? " or " : ", ";
    }
    out += choices[i];
  }
  return out;
}

std::optional<std::vector<field>> read_entries(const YAML::Node& node, const YAML::Mark& where,
                                               std::string_view what, diagnostics& diag,
                                               bool fold_case_keys, key_echo echo) {
  if (!node.IsMap()) {
    diag.error(where, std::string(what) + " must be a mapping, got " + std::string(describe(node)));
    return std::nullopt;
  }
  std::vector<field> entries;
  // Each key's entry, to find a duplicate at once: a linear search made a mapping of 400,000 keys
  // (a 3.5 MB file) take a quarter of an hour to read.
  std::unordered_map<std::string, std::size_t> seen;
  for (auto it = node.begin(); it != node.end(); ++it) {
    // Copies: `it->first` lives in a temporary the iterator hands out (and Nodes are handles).
    const YAML::Node key = it->first;
    if (!key.IsScalar()) {
      diag.error(key.Mark(), "keys in " + std::string(what) + " must be strings, got " +
                                 std::string(describe(key)));
      continue;
    }
    std::string seen_as = key.Scalar();
    if (fold_case_keys) {
      std::transform(seen_as.begin(), seen_as.end(), seen_as.begin(), ascii_lower);
    }
    if (const auto [first, added] = seen.try_emplace(std::move(seen_as), entries.size()); !added) {
      diag.error(key.Mark(), (echo == key_echo::quote ? "duplicate key " + quote(key.Scalar()) : "a duplicate key") +
                                 " (first on line " +
                                 std::to_string(one_based(entries[first->second].key_mark.line)) + ")");
      continue;
    }
    const YAML::Node value = it->second;
    const bool empty = value.IsNull() || value.Mark().is_null();
    entries.push_back(field{key.Scalar(), value, empty ? key.Mark() : value.Mark(), key.Mark()});
  }
  return entries;
}

keyed_mapping::keyed_mapping(const YAML::Node& node, const YAML::Mark& where, std::string_view what,
                             std::span<const std::string_view> known, diagnostics& diag, key_echo echo)
    : known_(known), values_(known.size()), mark_(where) {
  auto entries = read_entries(node, where, what, diag, false, echo);
  if (!entries) {
    return;
  }
  valid_ = true;
  for (auto& entry : *entries) {
    const auto it = std::find(known.begin(), known.end(), entry.key);
    if (it == known.end()) {
      // The hint quotes only a known key.
      std::string message = echo == key_echo::quote ? "unknown key " + quote(entry.key) : "an unknown key";
      if (const auto hint = nearest(entry.key, known)) {
        message += " (did you mean " + quote(*hint) + "?)";
      } else {
        message += " (expected " + join_choices(known) + ")";
      }
      diag.error(entry.key_mark, std::move(message));
      continue;
    }
    values_[static_cast<std::size_t>(it - known.begin())] = std::move(entry);
  }
}

const std::optional<field>& keyed_mapping::get(std::string_view key) const {
  static const std::optional<field> absent;
  const auto it = std::find(known_.begin(), known_.end(), key);
  return it == known_.end() ? absent : values_[static_cast<std::size_t>(it - known_.begin())];
}

std::optional<std::string> read_string(const field& f, diagnostics& diag) {
  if (!f.value.IsScalar()) {
    diag.error(f.mark, quote(f.key) + " must be a string, got " + std::string(describe(f.value)));
    return std::nullopt;
  }
  return f.value.Scalar();
}

std::optional<std::string> read_name(const field& f, diagnostics& diag) {
  auto text = read_string(f, diag);
  if (text && trim(*text).empty()) {
    diag.error(f.mark, quote(f.key) + " must not be blank");
    return std::nullopt;
  }
  // Names go into metric labels, log lines and JSON: text Prometheus refuses would fail a scrape.
  if (text && !hubspot::is_utf8(*text)) {
    diag.error(f.mark, quote(f.key) + " must be UTF-8 text");
    return std::nullopt;
  }
  return text;
}

std::optional<std::size_t> read_choice(const field& f, std::span<const std::string_view> choices,
                                       diagnostics& diag) {
  const auto text = read_string(f, diag);
  if (!text) {
    return std::nullopt;
  }
  if (const auto it = std::find(choices.begin(), choices.end(), *text); it != choices.end()) {
    return static_cast<std::size_t>(it - choices.begin());
  }
  std::string message = "unknown " + f.key + " " + quote(*text);
  if (const auto hint = nearest(*text, choices)) {
    message += " (did you mean " + quote(*hint) + "?)";
  } else {
    message += " (expected " + join_choices(choices) + ")";
  }
  diag.error(f.mark, std::move(message));
  return std::nullopt;
}

std::optional<long> read_integer(const field& f, long low, long high, diagnostics& diag) {
  const std::string range = std::to_string(low) + " to " + std::to_string(high);
  if (f.value.IsScalar()) {
    const std::string& text = f.value.Scalar();
    long value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec == std::errc{} && end == text.data() + text.size()) {
      if (value >= low && value <= high) {
        return value;
      }
      diag.error(f.mark, quote(f.key) + " must be from " + range + ", got " + text);
      return std::nullopt;
    }
  }
  diag.error(f.mark,
             quote(f.key) + " must be an integer from " + range + ", got " +
                 (f.value.IsScalar() ? quote(f.value.Scalar()) : std::string(describe(f.value))));
  return std::nullopt;
}

bool read_true(const field& f, std::string_view hint, diagnostics& diag) {
  if (f.value.IsScalar() && hubspot::iequals_ascii(f.value.Scalar(), "true")) {
    return true;
  }
  diag.error(f.mark, quote(f.key) + " only takes true" + std::string(hint));
  return false;
}

std::optional<std::vector<located_string>> read_string_list(const field& f, diagnostics& diag) {
  if (f.value.IsScalar()) {
    return std::vector<located_string>{{f.value.Scalar(), f.mark}};
  }
  if (!f.value.IsSequence()) {
    diag.error(f.mark, quote(f.key) + " must be a string or a list of strings, got " +
                           std::string(describe(f.value)));
    return std::nullopt;
  }
  if (f.value.size() == 0) {
    diag.error(f.mark, quote(f.key) + " must not be an empty list (leave it out to match any)");
    return std::nullopt;
  }
  std::vector<located_string> items;
  bool ok = true;
  for (const auto& item : f.value) {
    if (!item.IsScalar()) {
      diag.error(item.Mark().is_null() ? f.mark : item.Mark(), "items of " + quote(f.key) +
                                                                   " must be strings, got " +
                                                                   std::string(describe(item)));
      ok = false;
      continue;
    }
    items.push_back({item.Scalar(), item.Mark()});
  }
  if (!ok) {
    return std::nullopt;
  }
  return items;
}

bool check_known(const located_string& item, std::string_view what, const std::vector<std::string>& known,
                 diagnostics& diag) {
  if (std::find(known.begin(), known.end(), item.text) != known.end()) {
    return true;
  }
  std::string message = "unknown " + std::string(what) + " " + quote(item.text);
  if (const auto hint = nearest(item.text, known)) {
    message += " (did you mean " + quote(*hint) + "?)";
  }
  diag.error(item.mark, std::move(message));
  return false;
}

} // namespace hubgate::rules::detail
