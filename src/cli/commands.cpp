#include "cli/commands.hpp"

#include "hubgate/config/request_inspection.hpp"
#include "hubgate/config/rules_file.hpp"
#include "hubgate/gate/gate.hpp"
#include "hubgate/hubspot/catalog.hpp"
#include "hubgate/hubspot/text.hpp"
#include "hubgate/rules/test_case.hpp"

#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace hubgate::cli {

namespace {

using ordered_json = nlohmann::ordered_json;
using header_pairs = std::vector<std::pair<std::string, std::string>>;

// Put into the error bodies explain shows: a real one is random per request.
constexpr std::string_view explain_correlation_id = "00000000-0000-0000-0000-000000000000";
// A body file larger than this is not a request anyone means to explain.
constexpr std::size_t max_body_file_bytes = 256U * 1024 * 1024;

void print_errors(const rules::load_result& result, std::ostream& err) {
  for (const auto& error : result.errors) {
    err << config::format_error(error) << '\n';
  }
}

std::string counted(std::size_t n, std::string_view noun) {
  return std::to_string(n) + " " + std::string(noun) + (n == 1 ? "" : "s");
}

std::string quote(std::string_view text) {
  return "'" + std::string(text) + "'";
}

std::optional<std::string> read_body_file(const std::string& path, std::string& error) {
  struct closer {
    void operator()(std::FILE* file) const noexcept { std::fclose(file); }
  };
  errno = 0;
  const std::unique_ptr<std::FILE, closer> file(std::fopen(path.c_str(), "rb"));
  if (!file) {
    error = std::error_code(errno, std::generic_category()).message();
    return std::nullopt;
  }
  std::string text;
  char buffer[64 * 1024];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, file.get())) > 0) {
    text.append(buffer, n);
    if (text.size() > max_body_file_bytes) {
      error = "larger than " + std::to_string(max_body_file_bytes / (1024 * 1024)) + " MiB";
      return std::nullopt;
    }
  }
  if (std::ferror(file.get()) != 0) { // a directory opens, and fails to read (EISDIR)
    error = std::error_code(errno != 0 ? errno : EIO, std::generic_category()).message();
    return std::nullopt;
  }
  return text;
}

const std::string* find_header(const header_pairs& headers, std::string_view name) {
  for (const auto& [header, value] : headers) {
    if (hubspot::iequals_ascii(header, name)) {
      return &value;
    }
  }
  return nullptr;
}

std::string_view assumed_content_type(const hubspot::operation& op) {
  switch (op.shape) {
    case hubspot::body_shape::form_urlencoded:
      return "application/x-www-form-urlencoded";
    case hubspot::body_shape::import_multipart:
      return "multipart/form-data";
    default:
      return "application/json";
  }
}

// A request as `test` and `explain` run it. Owns every text the facts and the inspection point at.
struct simulated_request {
  std::string method;
  std::string target;
  std::string body;
  header_pairs headers; // as given, plus the assumed Content-Type
  bool content_type_assumed = false;
  config::inspected_request inspected;
  std::string client; // the client making it (auth: clients); empty: none

  std::string_view header(std::string_view name) const {
    const std::string* value = find_header(headers, name);
    return value == nullptr ? std::string_view{} : std::string_view(*value);
  }

  rules::evaluation evaluate(const rules::rule_set& rules) const {
    const rules::header_list lookup(headers);
    return rules.evaluate(inspected.facts(method, &lookup, client));
  }

  // What the proxy would do with it: the gate's decision, rules applied (edits made, near misses
  // refused). `inspected` must have a classification.
  gate::decision decide(const rules::rule_set& rules) const;
};

simulated_request simulate(std::string method, std::string target, std::string body, header_pairs headers,
                           std::string client) {
  simulated_request r{std::move(method), std::move(target), std::move(body), std::move(headers), false, {},
                      std::move(client)};
  // Tests and command lines leave the Content-Type out; a client sends the one the call takes.
  const hubspot::classification classified = hubspot::classify(r.method, r.target);
  if (classified.op != nullptr && find_header(r.headers, "Content-Type") == nullptr) {
    r.headers.emplace_back("Content-Type", assumed_content_type(*classified.op));
    r.content_type_assumed = true;
  }
  r.inspected =
      config::inspect_request({r.method, r.target, r.body, r.header("Content-Type"), r.header("Content-Encoding")});
  return r;
}

// --- test

std::string_view expected_word(rules::expected_verdict v) {
  switch (v) {
    case rules::expected_verdict::allow:
      return "allow";
    case rules::expected_verdict::block:
      return "block";
    case rules::expected_verdict::rewrite:
      return "rewrite";
    case rules::expected_verdict::reject:
      return "reject";
  }
  return "allow";
}

// "block by 'no-test-domains'", "allow by default", "rewrite by 'tag-api-contacts'"
std::string summary(const rules::outcome& o) {
  std::string out(rules::verdict_word(o));
  out += " by ";
  if (o.rewritten()) {
    std::vector<std::string_view> editors;
    for (const auto& edit : o.edits) {
      if (std::find(editors.begin(), editors.end(), edit.rule) == editors.end()) {
        editors.push_back(edit.rule);
      }
    }
    for (std::size_t i = 0; i < editors.size(); ++i) {
      out += (i == 0 ? "" : ", ") + quote(editors[i]);
    }
  } else if (o.rule.empty()) {
    out += "no rule";
  } else if (o.rule == rules::default_rule_name) {
    out += "default";
  } else {
    out += quote(o.rule);
  }
  return out;
}

// " [shadow: allow by default, block by 'free-mail']": what shadow rules would do, record by record,
// when that differs from what happens (otherwise every line of a file with one shadow rule says so).
std::string shadow_note(const rules::evaluation& result) {
  const bool differs = std::any_of(result.records.begin(), result.records.end(),
                                   [](const auto& d) { return d.shadow && *d.shadow != d.enforced; });
  if (!differs) {
    return {};
  }
  std::string note = " [shadow: ";
  for (std::size_t i = 0; i < result.records.size(); ++i) {
    const auto& d = result.records[i];
    note += (i == 0 ? "" : ", ") + summary(d.shadow ? *d.shadow : d.enforced);
  }
  return note + "]";
}

std::string describe_expectation(const rules::expectation& expect) {
  if (expect.outcomes.empty()) {
    return "nothing";
  }
  if (!expect.per_item) {
    return std::string(expected_word(expect.outcomes.front().verdict));
  }
  std::string out = "items [";
  for (std::size_t i = 0; i < expect.outcomes.size(); ++i) {
    out += (i == 0 ? "" : ", ") + std::string(expected_word(expect.outcomes[i].verdict));
  }
  return out + "]";
}

// A request refused before any rule ran passes only a test that expects exactly that.
std::optional<std::string> check_rejected(const rules::test_case& test, std::string_view reason) {
  const rules::expectation& expect = test.expect;
  if (!expect.per_item && expect.outcomes.size() == 1 &&
      expect.outcomes.front().verdict == rules::expected_verdict::reject) {
    return std::nullopt;
  }
  return "expected " + describe_expectation(expect) + ", got reject (" + std::string(reason) + ")";
}

// --- explain

// For each rule, the file's rule set cut down to that rule alone (enforced, `default: allow`), so
// that the engine itself says whether the rule matches a record; rule_set::evaluate reports only
// the rule that decided. A probe is null when it cannot be built, and its rule's `matched` null.
std::vector<std::shared_ptr<const rules::rule_set>> build_probes(const std::string& text, const std::string& file,
                                                                 std::size_t rule_count) {
  std::vector<std::shared_ptr<const rules::rule_set>> probes(rule_count);
  try {
    const YAML::Node root = YAML::Load(text);
    const YAML::Node list = root["rules"];
    if (!list.IsSequence() || list.size() != rule_count) {
      return probes;
    }
    for (std::size_t i = 0; i < rule_count; ++i) {
      YAML::Node rule = YAML::Clone(list[i]);
      rule.remove("mode");
      YAML::Node probe(YAML::NodeType::Map);
      probe["version"] = 1;
      probe["default"] = "allow";
      probe["rules"].push_back(rule);
      YAML::Emitter emitter;
      emitter << probe;
      probes[i] = config::load_rules_text(emitter.c_str(), file).rules;
    }
  } catch (const YAML::Exception&) {
    // The file loaded, so this does not happen; explain then shows `matched: null`.
  }
  return probes;
}

ordered_json nullable(std::string_view text) {
  return text.empty() ? ordered_json(nullptr) : ordered_json(text);
}

ordered_json record_json(const hubspot::contact_record& record) {
  ordered_json properties = ordered_json::object();
  for (const auto& [name, value] : record.properties) {
    const auto it = properties.find(name);
    if (it == properties.end()) {
      properties[name] = value;
    } else { // a form field sent more than once (a multi-value field)
      if (!it->is_array()) {
        *it = ordered_json::array({*it});
      }
      it->push_back(value);
    }
  }
  ordered_json out{{"index", record.index},
                   {"email", record.email ? ordered_json(*record.email) : ordered_json(nullptr)}};
  // The address the rules compared, where it is not the one sent (trimmed, lower-cased, an
  // internationalised domain in IDNA's form): why `Jo@BÜCHER.de` met `email_domain: bücher.de`.
  if (record.email && record.normalised_email && *record.normalised_email != *record.email) {
    out["email_compared"] = *record.normalised_email;
  }
  out["properties"] = std::move(properties);
  if (record.id_property) {
    out["id_property"] = *record.id_property;
  }
  if (record.id) {
    out["id"] = *record.id;
  }
  return out;
}

ordered_json outcome_json(const rules::outcome& o) {
  ordered_json out{{"verdict", rules::verdict_word(o)}, {"rule", nullable(o.rule)}};
  if (o.decision == rules::verdict::block) {
    out["status"] = o.status;
    if (!o.message.empty()) {
      out["message"] = o.message;
    }
  }
  if (o.rewritten()) {
    ordered_json edits = ordered_json::array();
    for (const auto& edit : o.edits) {
      ordered_json e{{"property", edit.property}};
      if (edit.value) {
        e["set"] = *edit.value;
      } else {
        e["remove"] = true;
      }
      e["rule"] = edit.rule;
      edits.push_back(std::move(e));
    }
    out["edits"] = std::move(edits);
  }
  return out;
}

// Every rule of the file against decision `d` (record `slot` of the evaluation): whether it
// matched, and what that did.
ordered_json rules_json(const rules::rule_set& rules, const std::vector<std::optional<rules::evaluation>>& probed,
                        const rules::record_decision& d, std::size_t slot) {
  const std::size_t count = rules.rule_count();
  std::size_t decider = count;
  for (std::size_t j = 0; j < count; ++j) {
    if (rules.rule(j).name == d.enforced.rule) {
      decider = j;
    }
  }
  ordered_json out = ordered_json::array();
  for (std::size_t j = 0; j < count; ++j) {
    const rules::rule_info& info = rules.rule(j);
    const bool shadow = rules.mode() == rules::enforcement_mode::shadow || info.mode == rules::enforcement_mode::shadow;
    ordered_json entry{{"name", info.name}, {"action", rules::to_string(info.action)}};
    if (shadow) {
      entry["mode"] = "shadow";
    }
    std::optional<bool> matched;
    if (j == decider) {
      matched = true;
    } else if (probed[j]) {
      const auto& records = probed[j]->records;
      matched =
          slot < records.size() && (records[slot].enforced.rule == info.name || !records[slot].enforced.edits.empty());
    }
    entry["matched"] = matched ? ordered_json(*matched) : ordered_json(nullptr);
    if (matched.value_or(false)) {
      if (shadow) {
        entry["effect"] = "shadow only";
      } else if (j == decider) {
        entry["effect"] = "decided";
      } else if (j > decider) {
        entry["effect"] = "not reached";
      } else { // only a rewrite matches without deciding
        entry["effect"] = d.enforced.decision == rules::verdict::block ? "edits dropped (blocked)" : "edited";
      }
    }
    out.push_back(std::move(entry));
  }
  return out;
}

// A body as JSON when it reads as JSON (easier to read in the document), else as its text.
ordered_json body_json(std::string_view body) {
  ordered_json parsed = ordered_json::parse(body, nullptr, false);
  return parsed.is_discarded() ? ordered_json(body) : parsed;
}

// What the proxy does with the request: gate::decide, the code the proxy runs.
gate::decision simulated_request::decide(const rules::rule_set& rules) const {
  const rules::header_list lookup(headers);
  const gate::request_view view{method, target, body, header("Content-Type"), header("Content-Encoding"), &lookup, client};
  return gate::decide(rules, inspected.classification, view, explain_correlation_id, gate::record_detail::every_property);
}

ordered_json overall_json(const rules::rule_set& rules, const simulated_request& r) {
  const config::inspected_request& in = r.inspected;
  if (!in.classification.ok() || (in.operation() == nullptr && !in.ok())) {
    return {{"verdict", "reject"}, {"action", "answer"}, {"reason", in.error}, {"answer", {{"status", 400}}}};
  }
  const gate::decision d = r.decide(rules);
  ordered_json out{{"verdict", "allow"}};
  switch (d.what) {
    case gate::action::pass:
      out["action"] = "pass";
      break;
    case gate::action::forward:
      out["verdict"] = d.body ? "rewrite" : "allow";
      out["action"] = "forward";
      break;
    case gate::action::answer:
      out["verdict"] = d.blocked.empty() ? "reject" : "block";
      out["action"] = "answer";
      break;
    case gate::action::split:
      // Every item blocked: hubgate answers the batch itself and nothing reaches HubSpot.
      out["verdict"] = d.kept_items.empty() ? "block" : "rewrite";
      out["action"] = "split";
      break;
  }
  if (!d.reason.empty()) {
    out["reason"] = d.reason;
  }
  if (d.what == gate::action::forward || d.what == gate::action::split) {
    out["forward_target"] = d.forward_target;
  }
  if (const auto forwarded = gate::forwarded_body(d)) {
    out["forwarded_body"] = body_json(*forwarded);
  }
  if (d.what == gate::action::split) {
    ordered_json blocked = ordered_json::array();
    for (const auto& b : d.blocked) {
      blocked.push_back(b.index);
    }
    out["blocked_items"] = std::move(blocked);
  }
  if (d.what == gate::action::answer) {
    out["answer"] = {{"status", d.answer.status}, {"body", body_json(d.answer.body)}};
  }
  return out;
}

ordered_json explain_json(const rules::rule_set& rules,
                          const std::vector<std::shared_ptr<const rules::rule_set>>& probes,
                          const simulated_request& r) {
  const config::inspected_request& in = r.inspected;
  const hubspot::operation* op = in.operation();
  ordered_json request{
      {"method", r.method}, {"target", r.target}, {"content_type", nullable(r.header("Content-Type"))}};
  if (r.content_type_assumed) {
    request["content_type_assumed"] = true;
  }
  if (!r.client.empty()) {
    request["client"] = r.client;
  }
  ordered_json doc{{"request", std::move(request)}};
  doc["operation"] =
      op != nullptr ? ordered_json{{"name", op->name}, {"kind", hubspot::to_string(op->kind)}} : ordered_json(nullptr);
  if (op != nullptr) {
    doc["canonical_path"] = in.classification.canonical_path;
  } else {
    doc["canonical_path"] = in.ok() ? ordered_json(in.path) : ordered_json(nullptr);
  }
  doc["records"] = ordered_json::array();
  doc["decisions"] = ordered_json::array();
  if (in.ok()) {
    for (const auto& record : in.extraction.records) {
      doc["records"].push_back(record_json(record));
    }
    const rules::header_list lookup(r.headers);
    const rules::request_facts facts = in.facts(r.method, &lookup, r.client);
    const rules::evaluation result = rules.evaluate(facts);
    std::vector<std::optional<rules::evaluation>> probed(probes.size());
    for (std::size_t j = 0; j < probes.size(); ++j) {
      if (probes[j]) {
        probed[j] = probes[j]->evaluate(facts);
      }
    }
    for (std::size_t i = 0; i < result.records.size(); ++i) {
      const rules::record_decision& d = result.records[i];
      ordered_json entry{{"index", op != nullptr ? ordered_json(d.index) : ordered_json(nullptr)},
                         {"rules", rules_json(rules, probed, d, i)},
                         {"decision", outcome_json(d.enforced)}};
      if (d.shadow) {
        entry["shadow"] = outcome_json(*d.shadow);
      }
      doc["decisions"].push_back(std::move(entry));
    }
  }
  doc["decision"] = overall_json(rules, r);
  return doc;
}

// The commands never let an exception out: main prints it as one line and exits 1.
template <class body>
int guarded(std::ostream& err, body&& run) {
  try {
    return run();
  } catch (const std::exception& e) {
    err << "hubgate: " << e.what() << '\n';
    return 1;
  }
}

} // namespace

int run_check(const check_command& check, std::ostream& out, std::ostream& err) {
  return guarded(err, [&] {
    const rules::load_result loaded = config::load_rules_file(check.file);
    if (!loaded) {
      print_errors(loaded, err);
      return 1;
    }
    const rules::rule_set& rules = *loaded.rules;
    out << check.file << ": OK (" << counted(rules.rule_count(), "rule") << ", "
        << counted(rules.tests().size(), "test")
        << (rules.mode() == rules::enforcement_mode::shadow ? "; mode: shadow, nothing is enforced" : "")
        // check reads no secret (config/rules_file.hpp): serve reads the keys and the token, and
        // refuses a file whose secrets are missing, short or reused.
        << (rules.access().mode == access::auth_mode::clients ? "; client keys and the token not read: serve checks them"
                                                                : "")
        << ")\n";
    for (const rules::rule_set::note& note : rules.notes()) {
      const rules::rule_info& rule = rules.rule(note.rule);
      out << check.file << ':' << rule.line << ": note: rule '" << rule.name << "' " << note.text << '\n';
    }
    return 0;
  });
}

// What the proxy does with the request as a whole, for an `expect: block` about it.
rules::request_fate fate_of(const gate::decision& d) {
  switch (d.what) {
    case gate::action::answer: return rules::request_fate::refused;
    case gate::action::split: return d.kept_items.empty() ? rules::request_fate::refused : rules::request_fate::split;
    case gate::action::pass:
    case gate::action::forward: break;
  }
  return rules::request_fate::forwarded;
}

int run_test(const test_command& test_file, std::ostream& out, std::ostream& err) {
  return guarded(err, [&] {
    const rules::load_result loaded = config::load_rules_file(test_file.file);
    if (!loaded) {
      print_errors(loaded, err);
      return 1;
    }
    const rules::rule_set& rules = *loaded.rules;
    std::size_t passed = 0;
    std::size_t failed = 0;
    for (const rules::test_case& test : rules.tests()) {
      const simulated_request r =
          simulate(test.request.method, test.request.path, test.request.body, test.request.headers, test.request.client);
      std::optional<std::string> failure;
      std::string note;
      if (!r.inspected.ok()) {
        failure = check_rejected(test, r.inspected.error);
      } else if (const gate::decision d = r.decide(rules); d.what == gate::action::answer && d.blocked.empty()) {
        // Readable, but refused once the rules apply (a near miss of a rule's value, an edit that
        // cannot be made): the proxy answers 400, and so does the test.
        failure = check_rejected(test, d.reason);
      } else {
        const rules::evaluation result = r.evaluate(rules);
        failure = rules::check_expectation(test, result, fate_of(d));
        note = shadow_note(result);
      }
      if (failure) {
        out << "FAIL " << test.name << ": " << *failure << note << '\n';
        ++failed;
      } else {
        out << "PASS " << test.name << note << '\n';
        ++passed;
      }
    }
    out << passed << " passed, " << failed << " failed\n";
    return failed == 0 ? 0 : 1;
  });
}

int run_explain(const explain_command& explain, std::ostream& out, std::ostream& err) {
  return guarded(err, [&] {
    std::string error;
    const auto text = config::read_rules_text(explain.file, error);
    if (!text) {
      err << explain.file << ": cannot read the rules file: " << error << '\n';
      return 1;
    }
    const rules::load_result loaded = config::load_rules_text(*text, explain.file);
    if (!loaded) {
      print_errors(loaded, err);
      return 1;
    }
    std::string body;
    if (explain.body_file) {
      auto read = read_body_file(*explain.body_file, error);
      if (!read) {
        err << *explain.body_file << ": cannot read the body file: " << error << '\n';
        return 1;
      }
      body = std::move(*read);
    }
    const rules::rule_set& rules = *loaded.rules;
    if (explain.client && rules.access().find(*explain.client) == nullptr) {
      err << explain.file << ": --client: no client '" << *explain.client << "' in the file's clients\n";
      return 1;
    }
    const simulated_request r =
        simulate(explain.method, explain.path, std::move(body), explain.headers, explain.client.value_or(""));
    const auto probes = build_probes(*text, explain.file, rules.rule_count());
    // Invalid UTF-8 in a body or a header is shown replaced rather than failing the whole report.
    out << explain_json(rules, probes, r).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
    return 0;
  });
}

int run_catalog(std::ostream& out) {
  const auto column = [&out](std::string_view text, std::size_t width) {
    out << text << std::string(text.size() < width ? width - text.size() : 1, ' ');
  };
  column("OPERATION", 40);
  column("KIND", 13);
  column("METHOD", 10);
  column("HOST", 7);
  out << "PATHS\n";
  for (const hubspot::operation& op : hubspot::all_operations()) {
    column(op.name, 40);
    column(hubspot::to_string(op.kind), 13);
    column(op.other_method.empty() ? std::string(op.method) : std::string(op.method) + "|" + std::string(op.other_method), 10);
    column(op.upstream == hubspot::upstream_id::forms ? "forms" : "api", 7);
    for (std::size_t i = 0; i < op.paths.size(); ++i) {
      if (i > 0) {
        out << std::string(40 + 13 + 10 + 7, ' ');
      }
      out << op.paths[i] << '\n';
    }
  }
  return 0;
}

} // namespace hubgate::cli
