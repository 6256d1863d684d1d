#include "hubgate/rules/loader.hpp"

#include "hubgate/hubspot/extract.hpp"

#include "compiled_rules.hpp"
#include "hubgate/hubspot/email.hpp"
#include "hubgate/hubspot/text.hpp"
#include "access_reader.hpp"
#include "test_reader.hpp"
#include "text.hpp"
#include "yaml_reader.hpp"

#include <algorithm>
#include <array>
#include <string>
#include <utility>
#include <vector>

namespace hubgate::rules {

bool operation_name_list::contains(std::string_view name) const {
  return std::find(names_.begin(), names_.end(), name) != names_.end();
}

std::string load_error::to_string() const {
  return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

namespace {

using detail::compiled_rule;
using detail::conditions;
using detail::diagnostics;
using detail::field;
using detail::keyed_mapping;
using detail::value_predicate;

constexpr std::array<std::string_view, 10> top_keys{"version", "default", "mode",  "batches", "auth", "upstream_token",
                                                    "clients", "rules",   "tests", "audit"};
constexpr std::array<std::string_view, 1> audit_keys{"pii"};
// In the order of audit_pii.
constexpr std::array<std::string_view, 2> pii_words{"redacted", "full"};
constexpr std::array<std::string_view, 9> rule_keys{
    "name", "description", "match", "action", "status", "message", "set", "remove", "mode"};
constexpr std::array<std::string_view, 9> match_keys{
    "kind", "operations", "email", "email_domain", "properties", "header", "method", "path", "client"};
constexpr std::array<std::string_view, 4> predicate_keys{"in", "regex", "missing", "present"};
constexpr std::array<std::string_view, 2> verdict_words{"allow", "block"};
constexpr std::array<std::string_view, 3> action_words{"allow", "block", "rewrite"};
constexpr std::array<std::string_view, 2> mode_words{"enforce", "shadow"};
// In the order of batch_policy.
constexpr std::array<std::string_view, 2> batch_words{"split", "whole"};
// In the order of hubspot::operation_kind.
constexpr std::array<std::string_view, 3> kind_words{"create", "upsert", "side_effect"};

std::string quote(std::string_view text) { return "'" + std::string(text) + "'"; }

// RFC 9110 token: what a method or a header name may be made of.
bool is_token(std::string_view text) {
  constexpr std::string_view extra = "!#$%&'*+-.^_`|~";
  return !text.empty() && std::all_of(text.begin(), text.end(), [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           extra.find(c) != std::string_view::npos;
  });
}

// Headers whose values are credentials: `Authorization: Bearer <token>`, cookies, API keys
// (`X-HubSpot-API-Key`), session and CSRF tokens, signatures. A pattern written for one may hold the
// credential itself (`^Bearer pat-na1-...$`), so errors about it do not quote it. By parts of the
// name rather than a list: a header missed here would leak, one caught needlessly only loses a quote.
bool carries_credentials(std::string_view header) {
  std::string name(header);
  std::transform(name.begin(), name.end(), name.begin(), detail::ascii_lower);
  constexpr std::array<std::string_view, 9> parts{"auth",    "cookie", "token",     "key",       "secret",
                                                  "session", "passw",  "signature", "credential"};
  return std::any_of(parts.begin(), parts.end(),
                     [&](std::string_view part) { return name.find(part) != std::string::npos; });
}

// The text of an RE2 error without the part of the pattern RE2 quotes after the colon
// ("missing ): <pattern>" is "missing )").
std::string regex_error_unquoted(const re2::RE2& re) {
  const std::string& error = re.error();
  const std::string& arg = re.error_arg();
  if (arg.empty()) {
    return error;
  }
  const std::string tail = ": " + arg;
  if (error.size() > tail.size() && error.ends_with(tail)) {
    return error.substr(0, error.size() - tail.size());
  }
  return "not a valid RE2 pattern"; // an error written otherwise: it may hold the pattern anywhere
}

// An error quotes the pattern, unless `hidden_because` says why it must not.
std::unique_ptr<const re2::RE2> compile_regex(const field& f, bool fold_case, diagnostics& diag,
                                              std::string_view hidden_because = {}) {
  const auto pattern = detail::read_string(f, diag);
  if (!pattern) {
    return nullptr;
  }
  re2::RE2::Options options;
  options.set_log_errors(false); // the error goes into the report, not to stderr
  options.set_case_sensitive(!fold_case);
  auto compiled = std::make_unique<const re2::RE2>(*pattern, options);
  if (!compiled->ok()) {
    diag.error(f.mark, hidden_because.empty()
                           ? "invalid regex " + quote(*pattern) + ": " + compiled->error()
                           : "invalid regex (not shown: " + std::string(hidden_because) + "): " +
                                 regex_error_unquoted(*compiled));
    return nullptr;
  }
  return compiled;
}

// A string (equals), or {in: [...]}, {regex: ...}, {missing: true}, {present: true}. Email
// predicates meet normalised addresses, so their values are normalised the same way and their
// regexes ignore case (a pattern written `^NoReply@` still matches). A predicate on a credential
// header (carries_credentials) is not quoted in errors.
std::optional<value_predicate> read_predicate(const field& f, bool email, diagnostics& diag,
                                              bool credentials = false) {
  const auto literal = [email](const std::string& text) {
    return email ? hubspot::normalise_email(text) : text;
  };
  if (f.value.IsScalar()) {
    detail::text_set values;
    values.insert(literal(f.value.Scalar()));
    return value_predicate::one_of(std::move(values));
  }
  if (!f.value.IsMap()) {
    diag.error(f.mark,
               quote(f.key) + " must be a string or a mapping with one of " +
                   detail::join_choices(predicate_keys) + ", got " +
                   std::string(detail::describe(f.value)) +
                   (f.value.IsSequence() ? " (for a list of values, write {in: [...]})" : ""));
    return std::nullopt;
  }
  const keyed_mapping spec(f.value, f.mark, quote(f.key), predicate_keys, diag,
                           credentials ? detail::key_echo::hide : detail::key_echo::quote);
  std::vector<const field*> given;
  for (const auto key : predicate_keys) {
    if (const auto& p = spec.get(key)) {
      given.push_back(&*p);
    }
  }
  if (given.empty()) {
    if (f.value.size() == 0) { // otherwise its unknown keys were reported already
      diag.error(f.mark, quote(f.key) + " needs one of " + detail::join_choices(predicate_keys));
    }
    return std::nullopt;
  }
  if (given.size() > 1) {
    diag.error(given[1]->key_mark, quote(f.key) + " takes one of " +
                                       detail::join_choices(predicate_keys) + ", not several");
    return std::nullopt;
  }
  const field& p = *given.front();
  if (p.key == "in") {
    const auto items = detail::read_string_list(p, diag);
    if (!items) {
      return std::nullopt;
    }
    detail::text_set values;
    for (const auto& item : *items) {
      values.insert(literal(item.text));
    }
    return value_predicate::one_of(std::move(values));
  }
  if (p.key == "regex") {
    auto compiled =
        compile_regex(p, email, diag, credentials ? quote(f.key) + " carries credentials" : std::string());
    return compiled ? std::optional(value_predicate::regex(std::move(compiled))) : std::nullopt;
  }
  if (p.key == "missing") {
    return detail::read_true(p, " (to require a value, use 'present: true')", diag)
               ? std::optional(value_predicate::missing())
               : std::nullopt;
  }
  return detail::read_true(p, " (to require no value, use 'missing: true')", diag)
             ? std::optional(value_predicate::present())
             : std::nullopt;
}

// name -> predicate, for `properties` and `header`; names compare ignoring case.
std::optional<detail::named_predicates> read_named_predicates(const field& f, bool header_names,
                                                              diagnostics& diag) {
  const auto entries = detail::read_entries(f.value, f.mark, quote(f.key), diag, true);
  if (!entries) {
    return std::nullopt;
  }
  if (entries->empty() && f.value.size() == 0) {
    diag.error(f.mark, quote(f.key) + " must not be empty (leave it out to match any)");
    return std::nullopt;
  }
  detail::named_predicates out;
  for (const auto& entry : *entries) {
    if (header_names && !is_token(entry.key)) {
      diag.error(entry.key_mark, quote(entry.key) + " is not a valid header name");
      continue;
    }
    if (!header_names && hubspot::names_email(entry.key)) {
      diag.error(entry.key_mark, "use the 'email' condition for the email address (it is "
                                 "trimmed and compared ignoring case), not 'properties'");
      continue;
    }
    if (!header_names && detail::trim(entry.key).empty()) {
      diag.error(entry.key_mark, "property names must not be blank");
      continue;
    }
    if (auto predicate = read_predicate(entry, false, diag, header_names && carries_credentials(entry.key))) {
      out.emplace_back(entry.key, std::move(*predicate));
    }
  }
  return out;
}

class rule_reader {
public:
  struct named_rule {
    std::string name;
    YAML::Mark mark; // of the name
    std::size_t line = 0; // 1-based line of the rule
  };

  rule_reader(const known_operations& operations, const std::vector<std::string>& client_names,
              diagnostics& diag)
      : operations_(operations), client_names_(client_names), diag_(diag) {}

  // `named` gets the rule's name as soon as it is read, also when the rule turns out invalid, so
  // that a later rule of the same name is still reported.
  std::optional<compiled_rule> read(const YAML::Node& node, std::optional<named_rule>& named) {
    const YAML::Mark where = node.Mark();
    const std::size_t errors_before = diag_.count();
    const keyed_mapping m(node, where, "a rule", rule_keys, diag_);
    if (!m.valid()) {
      return std::nullopt;
    }
    compiled_rule rule;
    rule.info.line = static_cast<std::size_t>(std::max(where.line, 0)) + 1;

    if (const auto& f = m.get("name")) {
      if (auto name = detail::read_name(*f, diag_)) {
        if (*name == default_rule_name) {
          diag_.error(f->mark, "the rule name 'default' is reserved for the file's default");
        }
        named = named_rule{*name, f->mark, static_cast<std::size_t>(std::max(where.line, 0)) + 1};
        rule.info.name = std::move(*name);
      }
    } else {
      diag_.error(where, "a rule needs a 'name'");
    }
    if (const auto& f = m.get("description")) {
      rule.info.description = detail::read_string(*f, diag_).value_or("");
    }
    if (const auto& f = m.get("mode")) {
      if (const auto mode = detail::read_choice(*f, mode_words, diag_)) {
        rule.info.mode = static_cast<enforcement_mode>(*mode);
      }
    }
    std::optional<rule_action> action;
    if (const auto& f = m.get("action")) {
      if (const auto i = detail::read_choice(*f, action_words, diag_)) {
        action = static_cast<rule_action>(*i);
        rule.info.action = *action;
      }
    } else {
      diag_.error(where, "a rule needs an 'action' (" + detail::join_choices(action_words) + ")");
    }
    if (const auto& f = m.get("match")) {
      // A 'match:' with nothing after it (its conditions commented out, say) matching every
      // contact would let an allow rule open the gate to all: refused. Written `match: {}`, or left
      // out, it says so on purpose.
      if (f->value.IsNull()) {
        diag_.error(f->mark, "'match' has no conditions (write 'match: {}', or leave it out, to match any)");
      } else {
        read_match(*f, rule.when);
      }
    }
    read_block_fields(m, action, rule.info);
    read_rewrite_fields(m, action, rule.info);

    if (diag_.count() != errors_before) {
      return std::nullopt;
    }
    const conditions& when = rule.when;
    rule.reaches_non_catalog = rule.info.action != rule_action::rewrite &&
                               !when.has_record_conditions() && when.kinds == 0 &&
                               !when.operations &&
                               (!when.methods.empty() || when.path || !when.headers.empty() ||
                                when.clients);
    return rule;
  }

private:
  void read_match(const field& f, conditions& when) {
    const keyed_mapping m(f.value, f.mark, quote(f.key), match_keys, diag_);
    if (const auto& kind = m.get("kind")) {
      for (const auto& item :
           detail::read_string_list(*kind, diag_).value_or(std::vector<detail::located_string>{})) {
        const auto it = std::find(kind_words.begin(), kind_words.end(), item.text);
        if (it != kind_words.end()) {
          when.kinds |= static_cast<std::uint8_t>(1U << (it - kind_words.begin()));
          continue;
        }
        std::string message = "unknown kind " + quote(item.text);
        if (const auto hint = detail::nearest(item.text, kind_words)) {
          message += " (did you mean " + quote(*hint) + "?)";
        } else {
          message += " (expected " + detail::join_choices(kind_words) + ")";
        }
        diag_.error(item.mark, std::move(message));
      }
    }
    if (const auto& ops = m.get("operations")) {
      if (const auto items = detail::read_string_list(*ops, diag_)) {
        when.operations.emplace();
        for (const auto& item : *items) {
          if (operations_.contains(item.text)) {
            when.operations->insert(item.text);
            continue;
          }
          std::string message = "unknown operation " + quote(item.text);
          if (const auto hint = detail::nearest(item.text, operations_.names())) {
            message += " (did you mean " + quote(*hint) + "?)";
          }
          diag_.error(item.mark, std::move(message));
        }
      }
    }
    if (const auto& email = m.get("email")) {
      when.email = read_predicate(*email, true, diag_);
    }
    if (const auto& domains = m.get("email_domain")) {
      if (const auto items = detail::read_string_list(*domains, diag_)) {
        when.email_domains.emplace();
        for (const auto& item : *items) {
          const std::string domain = hubspot::normalise_domain(item.text);
          const bool valid = !domain.empty() && domain.front() != '.' && domain.back() != '.' &&
                             std::none_of(domain.begin(), domain.end(),
                                          [](char c) { return c == '@' || detail::is_blank(c); });
          if (!valid) {
            diag_.error(item.mark,
                        "'email_domain' takes domains like example.com, got " + quote(item.text));
            continue;
          }
          if (!hubspot::is_readable_domain(domain)) {
            diag_.error(item.mark, "'email_domain' " + quote(item.text) +
                                       " is not a domain IDNA accepts (UTS #46), so no address could be in it");
            continue;
          }
          // hubgate refuses addresses whose domain is no host name: such an entry matches nothing.
          if (!hubspot::is_host_name(domain)) {
            diag_.error(item.mark, "'email_domain' " + quote(item.text) +
                                       " is not a host name (letters, digits and hyphens between dots), so no "
                                       "address could be in it; a domain already matches its subdomains (for "
                                       "'*.example.com' write 'example.com')");
            continue;
          }
          when.email_domains->insert(domain);
        }
      }
    }
    if (const auto& properties = m.get("properties")) {
      when.properties =
          read_named_predicates(*properties, false, diag_).value_or(detail::named_predicates{});
    }
    if (const auto& headers = m.get("header")) {
      when.headers =
          read_named_predicates(*headers, true, diag_).value_or(detail::named_predicates{});
    }
    if (const auto& methods = m.get("method")) {
      for (const auto& item : detail::read_string_list(*methods, diag_)
                                  .value_or(std::vector<detail::located_string>{})) {
        if (!is_token(item.text)) {
          diag_.error(item.mark, quote(item.text) + " is not an HTTP method");
          continue;
        }
        when.methods.push_back(item.text);
      }
    }
    if (const auto& path = m.get("path")) {
      // Letter case ignored, as it is in catalog paths: HubSpot may route `/CRM/...` too.
      when.path = compile_regex(*path, true, diag_);
    }
    if (const auto& clients = m.get("client")) {
      if (const auto items = detail::read_string_list(*clients, diag_)) {
        when.clients.emplace();
        for (const auto& item : *items) {
          if (client_names_.empty()) {
            diag_.error(item.mark, "'client' needs the clients of 'auth: clients' (this file has no 'clients')");
            break;
          }
          if (detail::check_known(item, "client", client_names_, diag_)) {
            when.clients->insert(item.text);
          }
        }
      }
    }
  }

  void read_block_fields(const keyed_mapping& m, std::optional<rule_action> action,
                         rule_info& info) {
    const auto misplaced = [&](const field& f) {
      if (action && *action != rule_action::block) {
        diag_.error(f.key_mark, quote(f.key) + " applies only to action 'block'");
        return true;
      }
      return false;
    };
    if (const auto& f = m.get("status"); f && !misplaced(*f)) {
      if (const auto status = detail::read_integer(*f, 400, 599, diag_)) {
        info.status = static_cast<std::uint16_t>(*status);
      }
    }
    if (const auto& f = m.get("message"); f && !misplaced(*f)) {
      info.message = detail::read_string(*f, diag_).value_or("");
    }
  }

  void read_rewrite_fields(const keyed_mapping& m, std::optional<rule_action> action,
                           rule_info& info) {
    const auto& set = m.get("set");
    const auto& remove = m.get("remove");
    if (action && *action != rule_action::rewrite) {
      for (const auto* f : {&set, &remove}) {
        if (*f) {
          diag_.error((*f)->key_mark, quote((*f)->key) + " applies only to action 'rewrite'");
        }
      }
      return;
    }
    if (action && !set && !remove) {
      diag_.error(m.get("action")->mark, "a rewrite rule needs 'set' or 'remove'");
      return;
    }
    if (set) {
      if (const auto entries = detail::read_entries(set->value, set->mark, "'set'", diag_, true)) {
        if (entries->empty() && set->value.size() == 0) {
          diag_.error(set->mark, "'set' must not be empty");
        }
        for (const auto& entry : *entries) {
          if (!entry.value.IsScalar()) {
            diag_.error(entry.mark,
                        "the value to set " + quote(entry.key) + " to must be a string, got " +
                            std::string(detail::describe(entry.value)) +
                            (entry.value.IsNull() ? " (to clear it, use 'remove')" : ""));
            continue;
          }
          if (hubspot::trim_name_padding(entry.key) != entry.key) {
            // The body's names are read with their padding trimmed: a padded name would be set
            // beside the property it names, and the body refused when read again.
            diag_.error(entry.key_mark, "the property name " + quote(entry.key) + " has blanks around it");
            continue;
          }
          if (hubspot::names_email(entry.key)) {
            // Rules decide on the address the client sent: one set afterwards would reach HubSpot
            // undecided (a blocked domain included).
            diag_.error(entry.key_mark, "a rewrite cannot set 'email': the rules decided on the address sent");
            continue;
          }
          info.set.emplace_back(entry.key, entry.value.Scalar());
        }
      }
    }
    if (remove) {
      for (const auto& item : detail::read_string_list(*remove, diag_)
                                  .value_or(std::vector<detail::located_string>{})) {
        const auto same = [&](std::string_view property) {
          return hubspot::iequals_ascii(property, item.text);
        };
        if (hubspot::names_email(item.text)) {
          // The address keys the contact and travels in upsert ids, v1 paths and batch items
          // as well: removed from the properties, it would still reach HubSpot.
          diag_.error(item.mark, "a rewrite cannot remove 'email': HubSpot keys contacts by it, and it is sent in "
                                 "other places than the properties (upsert ids, v1 paths)");
        } else if (std::any_of(info.set.begin(), info.set.end(),
                        [&](const auto& entry) { return same(entry.first); })) {
          diag_.error(item.mark, quote(item.text) + " is both set and removed by this rule");
        } else if (std::any_of(info.remove.begin(), info.remove.end(), same)) {
          diag_.error(item.mark, quote(item.text) + " is listed twice");
        } else {
          if (hubspot::trim_name_padding(item.text) != item.text) {
            diag_.error(item.mark, "the property name " + quote(item.text) + " has blanks around it");
            continue;
          }
          info.remove.push_back(item.text);
        }
      }
    }
  }

  const known_operations& operations_;
  const std::vector<std::string>& client_names_;
  diagnostics& diag_;
};

// yaml-cpp's message, with what it usually means where it says little.
std::string explain_yaml_error(std::string_view text, const YAML::Exception& e) {
  std::string message = e.msg;
  if (message == "bad file") { // its depth guard
    return "values are nested too deep to read";
  }
  // The line the error is on: a tab in its indentation is the usual cause of block errors.
  std::size_t start = 0;
  for (int line = 0; line < e.mark.line && start != std::string_view::npos; ++line) {
    start = text.find('\n', start);
    start = start == std::string_view::npos ? start : start + 1;
  }
  if (start != std::string_view::npos) {
    const std::string_view line = text.substr(start, text.find('\n', start) - start);
    const std::size_t indent_end = line.find_first_not_of(" \t");
    if (line.substr(0, indent_end).find('\t') != std::string_view::npos) {
      message += " (a tab in the indentation: YAML indents with spaces)";
    }
  }
  return message;
}

// YAML aliases make a node graph of a file, which may refer to itself (`&a {x: *a}`) or expand
// to far more than its bytes ("billion laughs": nine levels of ten aliases are 10^9 values in 642
// bytes). Everything later reads the graph as a tree, so it is walked first, as a tree, up to
// these bounds: no file within the 4 MiB limit needs more without aliases.
// An alias of a long value repeats its bytes as well: a 1 MiB value named 3,000 times is 3 GB
// once read.
constexpr std::size_t max_expanded_values = 1'000'000;
constexpr std::size_t max_expanded_bytes = 32 * 1024 * 1024; // eight times the file limit
constexpr std::size_t max_yaml_depth = 100; // a test body may nest 64 deep, as a request body may

bool within_expansion_limits(const YAML::Node& root, diagnostics& diag) {
  std::vector<std::pair<YAML::Node, std::size_t>> pending{{root, 1}};
  std::size_t values = 0;
  std::size_t bytes = 0;
  while (!pending.empty()) {
    auto [node, depth] = std::move(pending.back());
    pending.pop_back();
    if (++values > max_expanded_values) {
      diag.error(node.Mark(), "the file expands, through YAML aliases, to more than " +
                                  std::to_string(max_expanded_values) + " values");
      return false;
    }
    if (node.IsScalar() && (bytes += node.Scalar().size()) > max_expanded_bytes) {
      diag.error(node.Mark(), "the file expands, through YAML aliases, to more than " +
                                  std::to_string(max_expanded_bytes / (1024 * 1024)) + " MiB of values");
      return false;
    }
    if (depth > max_yaml_depth) {
      diag.error(node.Mark(), "values are nested deeper than " + std::to_string(max_yaml_depth) +
                                  " levels (a YAML alias inside the value it names repeats it without end)");
      return false;
    }
    if (node.IsMap()) {
      for (auto it = node.begin(); it != node.end(); ++it) {
        pending.emplace_back(it->first, depth + 1);
        pending.emplace_back(it->second, depth + 1);
      }
    } else if (node.IsSequence()) {
      for (const YAML::Node& item : node) {
        pending.emplace_back(item, depth + 1);
      }
    }
  }
  return true;
}

// yaml-cpp queues a token for every `[` and `{` before its depth guard refuses them (4 MiB of
// `[` held a gigabyte, which a failed reload left to the process), so a file nesting flow values
// deeper than any rules file could is refused first. Brackets are counted wherever they are,
// quoted or not; balanced ones (a regex's `[a-z]`) cancel out, and no file needs a thousand open.
constexpr std::size_t max_open_brackets = 1000;

std::optional<std::size_t> too_many_open_brackets(std::string_view text) {
  std::size_t open = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '[' || c == '{') {
      if (++open > max_open_brackets) {
        return i;
      }
    } else if ((c == ']' || c == '}') && open > 0) {
      --open;
    }
  }
  return std::nullopt;
}

YAML::Mark mark_at(std::string_view text, std::size_t offset) {
  YAML::Mark at;
  at.pos = static_cast<int>(offset);
  at.line = static_cast<int>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(offset), '\n'));
  const std::size_t line_start = offset == 0 ? std::string_view::npos : text.rfind('\n', offset - 1);
  at.column = static_cast<int>(line_start == std::string_view::npos ? offset : offset - line_start - 1);
  return at;
}

} // namespace

load_result load_rule_set(std::string_view yaml_text, std::string_view file_name,
                          const known_operations& operations, const access::secret_reader* secrets) {
  diagnostics diag(file_name);
  const auto failed = [&diag] { return load_result{nullptr, diag.take()}; };

  // A NUL byte would reach yaml-cpp as the end of the text, or as an odd escape.
  if (const std::size_t nul = yaml_text.find('\0'); nul != std::string_view::npos) {
    diag.error(mark_at(yaml_text, nul), "the file holds a NUL byte: it is not YAML text");
    return failed();
  }
  // YAML is Unicode text, and what the file says goes into edits HubSpot gets, JSON, log lines and
  // metric labels: a byte that is not UTF-8 (a `set:` value pasted from a Latin-1 file) would
  // pass the check and fail every call the rule edits.
  for (std::size_t i = 0; i < yaml_text.size();) {
    if (static_cast<unsigned char>(yaml_text[i]) < 0x80) {
      ++i;
    } else if (const std::size_t n = hubspot::utf8_sequence_length(yaml_text.substr(i)); n != 0) {
      i += n;
    } else {
      diag.error(mark_at(yaml_text, i), "the file is not UTF-8 text: a byte here is not UTF-8");
      return failed();
    }
  }
  if (const auto at = too_many_open_brackets(yaml_text)) {
    diag.error(mark_at(yaml_text, *at), "values are nested too deep to read (more than " +
                                            std::to_string(max_open_brackets) + " '[' or '{' open)");
    return failed();
  }
  std::vector<YAML::Node> documents;
  try {
    // yaml-cpp 0.7 ends a quoted value that is still open at the end of the file without a word
    // when the file ends with a line break, as editors end files: the rest of the file became the
    // value (a rule's message), and the rules below it were gone. A comment after that last line
    // break changes nothing in a valid file, and makes yaml-cpp see the quote still open.
    std::string text(yaml_text);
    // A last line of nothing but blanks, with no line break after it (an editor's auto-indent),
    // goes the same way: dropped, so that the text ends with the line break before it.
    if (const std::size_t last = text.find_last_of('\n');
        last != std::string::npos && text.find_first_not_of(" \t", last + 1) == std::string::npos) {
      text.resize(last + 1);
    }
    if (!text.empty() && text.back() == '\n') {
      text += '#';
    }
    documents = YAML::LoadAll(text);
  } catch (const YAML::Exception& e) {
    // An error found at the end of the text (at the comment added above, or past the last line)
    // is shown on the file's last line.
    const bool at_end = e.mark.pos >= 0 && static_cast<std::size_t>(e.mark.pos) >= yaml_text.size();
    const YAML::Mark where = (at_end || e.msg == YAML::ErrorMsg::EOF_IN_SCALAR) && !yaml_text.empty()
                                 ? mark_at(yaml_text, yaml_text.size() - 1)
                                 : e.mark;
    if (e.msg == YAML::ErrorMsg::EOF_IN_SCALAR) { // only ever at the end of the text
      diag.error(where, "a quoted value is still open at the end of the file: a quote (\" or ') is not closed");
    } else {
      diag.error(where, explain_yaml_error(yaml_text, e));
    }
    return failed();
  }
  if (documents.empty() || documents.front().IsNull()) {
    diag.error(YAML::Mark::null_mark(), "the file is empty: it needs at least 'version: 1'");
    return failed();
  }
  if (documents.size() > 1) {
    diag.error(documents[1].Mark(), "unexpected content after the end of the document");
  }

  const YAML::Node& root = documents.front();
  if (!within_expansion_limits(root, diag)) {
    return failed();
  }
  const keyed_mapping top(root, root.Mark(), "the top level", top_keys, diag);
  if (!top.valid()) {
    return failed();
  }
  auto state = std::make_unique<rule_set::state>();

  if (const auto& f = top.get("version")) {
    if (!f->value.IsScalar() || f->value.Scalar() != "1") {
      diag.error(f->mark, "'version' must be 1, got " +
                              (f->value.IsScalar() ? quote(f->value.Scalar())
                                                   : std::string(detail::describe(f->value))));
    }
  } else {
    diag.error(root.Mark(), "missing 'version: 1'");
  }
  if (const auto& f = top.get("default")) {
    if (const auto i = detail::read_choice(*f, verdict_words, diag)) {
      state->default_verdict = static_cast<verdict>(*i);
    }
  }
  if (const auto& f = top.get("mode")) {
    if (const auto i = detail::read_choice(*f, mode_words, diag)) {
      state->mode = static_cast<enforcement_mode>(*i);
    }
  }
  if (const auto& f = top.get("batches")) {
    if (const auto i = detail::read_choice(*f, batch_words, diag)) {
      state->batches = static_cast<batch_policy>(*i);
    }
  }
  if (const auto& f = top.get("audit"); f && !f->value.IsNull()) {
    const keyed_mapping audit(f->value, f->mark, "'audit'", audit_keys, diag);
    if (const auto& pii = audit.get("pii")) {
      if (const auto i = detail::read_choice(*pii, pii_words, diag)) {
        state->audit = static_cast<audit_pii>(*i);
      }
    }
  }

  state->access = detail::read_access({top.get("auth"), top.get("upstream_token"), top.get("clients")},
                                      root.Mark(), secrets, diag);
  std::vector<std::string> client_names;
  for (const auto& client : state->access.clients) {
    client_names.push_back(client.name);
  }

  std::vector<std::string> rule_names;
  if (const auto& f = top.get("rules"); f && !f->value.IsNull()) {
    if (!f->value.IsSequence()) {
      diag.error(f->mark, "'rules' must be a list, got " + std::string(detail::describe(f->value)));
    } else {
      rule_reader reader(operations, client_names, diag);
      std::vector<std::size_t> first_lines;
      for (const auto& node : f->value) {
        std::optional<rule_reader::named_rule> named;
        auto rule = reader.read(node, named);
        if (named) {
          const auto same = std::find(rule_names.begin(), rule_names.end(), named->name);
          if (same != rule_names.end()) {
            diag.error(named->mark, "duplicate rule name " + quote(named->name) + " (first on line " +
                                        std::to_string(first_lines[static_cast<std::size_t>(same - rule_names.begin())]) +
                                        ")");
            continue;
          }
          rule_names.push_back(named->name);
          first_lines.push_back(named->line);
        }
        if (rule) {
          state->rules.push_back(std::move(*rule));
        }
      }
    }
  }
  if (const auto& f = top.get("tests"); f && !f->value.IsNull()) {
    state->tests = detail::read_tests(*f, rule_names, client_names, diag);
  }

  if (diag.has_errors()) {
    return failed();
  }
  state->has_shadow = state->mode == enforcement_mode::shadow ||
                      std::any_of(state->rules.begin(), state->rules.end(), [](const auto& r) {
                        return r.info.mode == enforcement_mode::shadow;
                      });
  state->reads_email = std::any_of(state->rules.begin(), state->rules.end(), [](const auto& r) {
    return r.when.email.has_value() || r.when.email_domains.has_value();
  });
  state->reaches_non_catalog = std::any_of(state->rules.begin(), state->rules.end(),
                                           [](const auto& r) { return r.reaches_non_catalog; });
  state->reads_paths = std::any_of(state->rules.begin(), state->rules.end(),
                                   [](const auto& r) { return r.when.path != nullptr; });
  for (const auto& rule : state->rules) {
    for (const auto& condition : rule.when.properties) {
      const std::string& name = condition.first; // not a structured binding: clang 14 cannot capture one
      if (std::none_of(state->properties_read.begin(), state->properties_read.end(),
                       [&](const std::string& read) { return hubspot::iequals_ascii(read, name); })) {
        state->properties_read.push_back(name);
      }
      // Near misses of a shadow rule's values are not refused: a shadow rule changes nothing.
      const bool enforced = rule.info.mode != enforcement_mode::shadow && state->mode != enforcement_mode::shadow;
      if (const detail::text_set* values = condition.second.listed_values(); values != nullptr && enforced) {
        for (const std::string& value : *values) {
          state->compared_values.add(name, value);
        }
      }
    }
  }
  return load_result{std::make_shared<const rule_set>(std::move(state)), {}};
}

} // namespace hubgate::rules
