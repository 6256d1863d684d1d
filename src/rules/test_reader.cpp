#include "test_reader.hpp"

#include "text.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <utility>

namespace hubgate::rules::detail {

namespace {

constexpr std::array<std::string_view, 3> test_keys{"name", "request", "expect"};
constexpr std::array<std::string_view, 5> request_keys{"method", "path", "body", "headers", "client"};
constexpr std::array<std::string_view, 7> expect_keys{"verdict", "items",  "set",   "remove",
                                                      "rule",    "status", "shadow"};
constexpr std::array<std::string_view, 6> item_keys{"verdict", "set",    "remove",
                                                    "rule",    "status", "shadow"};
// In the order of expected_verdict. A record's outcome is one of the first three; `reject` is about
// the whole request (test_case.hpp).
constexpr std::array<std::string_view, 3> verdict_words{"allow", "block", "rewrite"};
constexpr std::array<std::string_view, 4> request_verdict_words{"allow", "block", "rewrite",
                                                                  "reject"};

std::string quote(std::string_view text) { return "'" + std::string(text) + "'"; }

// Plain scalars that read as JSON numbers become numbers; everything else stays a string. Stricter
// than YAML's own rules on purpose: `zip: 02134` and `phone: +3361234` must reach HubSpot as the
// strings the user typed, not as 2134 and 3361234.
bool is_json_number(std::string_view s) {
  std::size_t i = 0;
  const auto digits = [&] {
    const std::size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      ++i;
    }
    return i > start;
  };
  if (i < s.size() && s[i] == '-') {
    ++i;
  }
  if (i < s.size() && s[i] == '0') {
    ++i;
  } else if (!digits()) {
    return false;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!digits()) {
      return false;
    }
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
      ++i;
    }
    if (!digits()) {
      return false;
    }
  }
  return i == s.size();
}

nlohmann::json to_json(const YAML::Node& node, diagnostics& diag) {
  switch (node.Type()) {
  case YAML::NodeType::Map: {
    auto object = nlohmann::json::object();
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (!it->first.IsScalar()) {
        diag.error(it->first.Mark(), "keys in a request body must be strings");
        continue;
      }
      if (object.contains(it->first.Scalar())) {
        // hubgate refuses a body with a key given twice: a test must not pass with one.
        diag.error(it->first.Mark(), "key '" + it->first.Scalar() + "' is given twice in this request body");
        continue;
      }
      object[it->first.Scalar()] = to_json(it->second, diag);
    }
    return object;
  }
  case YAML::NodeType::Sequence: {
    auto array = nlohmann::json::array();
    for (const auto& item : node) {
      array.push_back(to_json(item, diag));
    }
    return array;
  }
  case YAML::NodeType::Scalar: {
    const std::string& text = node.Scalar();
    if (node.Tag() != "?") { // quoted, or tagged: the user asked for a string
      return text;
    }
    if (text == "~" || text == "null" || text == "Null" || text == "NULL") {
      return nullptr;
    }
    if (text == "true" || text == "True" || text == "TRUE") {
      return true;
    }
    if (text == "false" || text == "False" || text == "FALSE") {
      return false;
    }
    if (is_json_number(text)) {
      // Out of double's range (1e999): nlohmann refuses it, and the text is what the user wrote.
      auto number = nlohmann::json::parse(text, nullptr, false);
      return number.is_discarded() ? nlohmann::json(text) : number;
    }
    return text;
  }
  case YAML::NodeType::Null:
  case YAML::NodeType::Undefined: return nullptr;
  }
  return nullptr;
}

std::vector<std::pair<std::string, std::string>> read_string_map(const field& f,
                                                                 diagnostics& diag) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& entry :
       read_entries(f.value, f.mark, quote(f.key), diag, true).value_or(std::vector<field>{})) {
    if (auto value = read_string(entry, diag)) {
      out.emplace_back(entry.key, std::move(*value));
    }
  }
  return out;
}

class test_reader {
public:
  test_reader(const std::vector<std::string>& rule_names, const std::vector<std::string>& client_names,
              diagnostics& diag)
      : rule_names_(rule_names), client_names_(client_names), diag_(diag) {}

  std::optional<test_case> read(const YAML::Node& node) {
    const YAML::Mark where = node.Mark();
    const std::size_t errors_before = diag_.count();
    const keyed_mapping m(node, where, "a test", test_keys, diag_);
    if (!m.valid()) {
      return std::nullopt;
    }
    test_case test;
    test.line = static_cast<std::size_t>(std::max(where.line, 0)) + 1;
    if (const auto& f = m.get("name")) {
      test.name = read_name(*f, diag_).value_or("");
    } else {
      diag_.error(where, "a test needs a 'name'");
    }
    if (const auto& f = m.get("request")) {
      read_request(*f, test.request);
    } else {
      diag_.error(where, "a test needs a 'request'");
    }
    if (const auto& f = m.get("expect")) {
      read_expectation(*f, test.expect);
    } else {
      diag_.error(where, "a test needs an 'expect'");
    }
    if (diag_.count() != errors_before) {
      return std::nullopt;
    }
    return test;
  }

private:
  void read_request(const field& f, test_request& request) {
    const keyed_mapping m(f.value, f.mark, quote(f.key), request_keys, diag_);
    if (!m.valid()) {
      return;
    }
    if (const auto& method = m.get("method")) {
      request.method = read_name(*method, diag_).value_or("");
    } else {
      diag_.error(f.mark, "a test request needs a 'method'");
    }
    if (const auto& path = m.get("path")) {
      request.path = read_string(*path, diag_).value_or("/");
      if (request.path.empty() || request.path.front() != '/') {
        diag_.error(path->mark, "'path' must start with '/', got " + quote(request.path));
      }
    } else {
      diag_.error(f.mark, "a test request needs a 'path'");
    }
    if (const auto& body = m.get("body")) {
      if (body->value.IsScalar()) {
        request.body = body->value.Scalar();
      } else if (!body->value.IsNull()) {
        request.body = to_json(body->value, diag_).dump();
      }
    }
    if (const auto& headers = m.get("headers")) {
      request.headers = read_string_map(*headers, diag_);
    }
    if (const auto& client = m.get("client")) {
      if (auto name = read_name(*client, diag_);
          name && check_known({*name, client->mark}, "client", client_names_, diag_)) {
        request.client = std::move(*name);
      }
    }
  }

  void read_expectation(const field& f, expectation& expect) {
    if (f.value.IsMap()) {
      const keyed_mapping m(f.value, f.mark, quote(f.key), expect_keys, diag_);
      if (const auto& items = m.get("items")) {
        for (const auto key : item_keys) {
          if (const auto& other = m.get(key)) {
            diag_.error(other->key_mark,
                        quote(key) + " cannot be given with 'items' (give it in each item)");
          }
        }
        read_items(*items, expect);
        return;
      }
      if (m.valid()) {
        expect.outcomes.push_back(read_outcome_fields(m, f.mark, true));
      }
      return;
    }
    if (auto outcome = read_outcome(f, true)) {
      expect.outcomes.push_back(std::move(*outcome));
    }
  }

  void read_items(const field& f, expectation& expect) {
    expect.per_item = true;
    if (!f.value.IsSequence() || f.value.size() == 0) {
      diag_.error(f.mark, "'items' must be a non-empty list, one entry per record, got " +
                              std::string(describe(f.value)));
      return;
    }
    for (const auto& item : f.value) {
      const field entry{"item", item, item.Mark().is_null() ? f.mark : item.Mark(), f.key_mark};
      if (auto outcome = read_outcome(entry, false)) {
        expect.outcomes.push_back(std::move(*outcome));
      }
    }
  }

  // `whole_request`: the expectation of the whole test, where `reject` may be written, rather than
  // one of its `items`.
  std::optional<expected_verdict> read_verdict(const field& f, bool whole_request) {
    if (!whole_request && f.value.IsScalar() && f.value.Scalar() == "reject") {
      diag_.error(f.mark, "a request is rejected whole: write 'expect: reject', not per item");
      return std::nullopt;
    }
    const auto i = whole_request ? read_choice(f, request_verdict_words, diag_)
                                 : read_choice(f, verdict_words, diag_);
    return i ? std::optional(static_cast<expected_verdict>(*i)) : std::nullopt;
  }

  // `block`, or {verdict: block, status: 409, ...}
  std::optional<expected_outcome> read_outcome(const field& f, bool whole_request) {
    if (f.value.IsMap()) {
      const keyed_mapping m(f.value, f.mark, quote(f.key), item_keys, diag_);
      return m.valid() ? std::optional(read_outcome_fields(m, f.mark, whole_request))
                       : std::nullopt;
    }
    if (!f.value.IsScalar()) {
      diag_.error(f.mark, quote(f.key) + " must be one of " +
                              (whole_request ? join_choices(request_verdict_words)
                                             : join_choices(verdict_words)) +
                              ", or a mapping, got " + std::string(describe(f.value)));
      return std::nullopt;
    }
    const field as_verdict{"verdict", f.value, f.mark, f.key_mark};
    if (const auto verdict = read_verdict(as_verdict, whole_request)) {
      expected_outcome out;
      out.verdict = *verdict;
      return out;
    }
    return std::nullopt;
  }

  expected_outcome read_outcome_fields(const keyed_mapping& m, const YAML::Mark& where,
                                       bool whole_request) {
    expected_outcome out;
    const auto& set = m.get("set");
    const auto& remove = m.get("remove");
    if (const auto& f = m.get("verdict")) {
      if (const auto verdict = read_verdict(*f, whole_request)) {
        out.verdict = *verdict;
      }
      if (out.verdict == expected_verdict::reject) {
        // No rule runs on a rejected request: there is nothing else to expect of it.
        for (const auto key : item_keys) {
          if (const auto& other = m.get(key); other && key != "verdict") {
            diag_.error(other->key_mark, quote(key) + " cannot be expected of a rejected request "
                                                      "(no rule runs on it)");
          }
        }
        return out;
      }
    } else if (set || remove) {
      out.verdict = expected_verdict::rewrite;
    } else {
      diag_.error(where, "an expectation needs a 'verdict' (" + join_choices(verdict_words) + ")");
    }
    if (set) {
      out.set = read_string_map(*set, diag_);
    }
    if (remove) {
      for (auto& item : read_string_list(*remove, diag_).value_or(std::vector<located_string>{})) {
        out.remove.push_back(std::move(item.text));
      }
    }
    if (out.verdict == expected_verdict::block) {
      for (const auto* f : {&set, &remove}) {
        if (*f) {
          diag_.error((*f)->key_mark, "a blocked record has no edits to expect");
        }
      }
    }
    if (const auto& f = m.get("rule")) {
      if (auto name = read_name(*f, diag_)) {
        const bool known =
            *name == default_rule_name ||
            std::find(rule_names_.begin(), rule_names_.end(), *name) != rule_names_.end();
        if (!known) {
          std::string message = "unknown rule " + quote(*name);
          if (const auto hint = nearest(*name, rule_names_)) {
            message += " (did you mean " + quote(*hint) + "?)";
          }
          diag_.error(f->mark, std::move(message));
        }
        out.rule = std::move(*name);
      }
    }
    if (const auto& f = m.get("status")) {
      if (out.verdict != expected_verdict::block) {
        diag_.error(f->key_mark, "'status' can only be expected of a blocked record");
      } else if (const auto status = read_integer(*f, 400, 599, diag_)) {
        out.status = static_cast<std::uint16_t>(*status);
      }
    }
    if (const auto& f = m.get("shadow")) {
      if (const auto i = read_choice(*f, verdict_words, diag_)) {
        out.shadow = static_cast<expected_verdict>(*i);
      }
    }
    return out;
  }

  const std::vector<std::string>& rule_names_;
  const std::vector<std::string>& client_names_;
  diagnostics& diag_;
};

} // namespace

std::vector<test_case> read_tests(const field& tests, const std::vector<std::string>& rule_names,
                                  const std::vector<std::string>& client_names,
                                  diagnostics& diag) {
  std::vector<test_case> out;
  if (!tests.value.IsSequence()) {
    diag.error(tests.mark, "'tests' must be a list, got " + std::string(describe(tests.value)));
    return out;
  }
  test_reader reader(rule_names, client_names, diag);
  for (const auto& node : tests.value) {
    auto test = reader.read(node);
    if (!test) {
      continue;
    }
    const auto same = std::find_if(out.begin(), out.end(),
                                   [&](const test_case& t) { return t.name == test->name; });
    if (same != out.end()) {
      diag.error(node["name"].Mark(), "duplicate test name " + quote(test->name) +
                                          " (first on line " + std::to_string(same->line) + ")");
      continue;
    }
    out.push_back(std::move(*test));
  }
  return out;
}

} // namespace hubgate::rules::detail
