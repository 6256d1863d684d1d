#include "access_reader.hpp"

#include "text.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace hubgate::rules::detail {

namespace {

// In the order of access::auth_mode.
constexpr std::array<std::string_view, 2> auth_words{"passthrough", "clients"};
constexpr std::array<std::string_view, 3> client_keys{"name", "keys", "max_new_contacts"};
// In the order of access::secret_ref::source.
constexpr std::array<std::string_view, 2> secret_keys{"env", "file"};
constexpr std::array<std::string_view, 2> budget_keys{"per", "count"};
// In the order of access::budget_window.
constexpr std::array<std::string_view, 2> window_words{"hour", "day"};

// Long enough that guessing is hopeless; `openssl rand -hex 32` gives 64.
constexpr std::size_t min_client_key_length = 16;

std::string quote(std::string_view text) { return "'" + std::string(text) + "'"; }

// What a shell (and Docker's --env-file, and envsubst) takes for a variable's name. Anything else
// in `env:` is more likely the secret itself, substituted where its name belonged.
bool is_env_name(std::string_view name) {
  const auto letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  return !name.empty() && letter(name.front()) &&
         std::all_of(name.begin(), name.end(), [&](char c) { return letter(c) || (c >= '0' && c <= '9'); });
}

// A secret goes into an Authorization header: visible ASCII only, so that a stray newline in a
// secret file can never split a header (the file's trailing newline is trimmed before this).
bool header_safe(std::string_view secret) {
  return std::all_of(secret.begin(), secret.end(), [](char c) { return c > ' ' && c < 0x7f; });
}

// `{env: NAME}` or `{file: PATH}`. A secret pasted here (`{ pat-na1-... }`, `{env: pat-na1-...}`)
// is refused without being quoted: the error goes to stderr and the log.
std::optional<access::secret_ref> read_secret_ref(const YAML::Node& node, const YAML::Mark& where,
                                                  std::string_view what, diagnostics& diag) {
  if (!node.IsMap()) {
    diag.error(where, std::string(what) + " must be {env: NAME} or {file: PATH}, got " +
                          std::string(describe(node)) + " (secrets never go in the rules file)");
    return std::nullopt;
  }
  const keyed_mapping m(node, where, what, secret_keys, diag, key_echo::hide);
  if (!m.valid()) {
    return std::nullopt;
  }
  const auto& env = m.get("env");
  const auto& file = m.get("file");
  if (env && file) {
    diag.error(file->key_mark, std::string(what) + " takes 'env' or 'file', not both");
    return std::nullopt;
  }
  if (!env && !file) {
    diag.error(where, std::string(what) + " needs 'env' or 'file'");
    return std::nullopt;
  }
  const field& f = env ? *env : *file;
  auto name = read_name(f, diag);
  if (!name) {
    return std::nullopt;
  }
  if (env && !is_env_name(*name)) {
    diag.error(f.mark, "the 'env' of " + std::string(what) +
                           " is not an environment variable name (letters, digits and _; not shown, as it may be "
                           "the secret itself: secrets go in the environment, never in the rules file)");
    return std::nullopt;
  }
  return access::secret_ref{env ? access::secret_ref::source::env : access::secret_ref::source::file,
                            std::move(*name)};
}

class access_reader {
 public:
  access_reader(const access::secret_reader* secrets, diagnostics& diag) : secrets_(secrets), diag_(diag) {}

  access::access_policy read(const access_fields& fields, const YAML::Mark& root_mark) {
    access::access_policy policy;
    if (fields.auth) {
      if (const auto i = read_choice(*fields.auth, auth_words, diag_)) {
        policy.mode = static_cast<access::auth_mode>(*i);
      }
    }
    const bool clients_mode = policy.mode == access::auth_mode::clients;
    const YAML::Mark auth_mark = fields.auth ? fields.auth->mark : root_mark;

    if (fields.upstream_token && !fields.upstream_token->value.IsNull()) {
      if (!clients_mode) {
        diag_.error(fields.upstream_token->key_mark,
                    "'upstream_token' applies only with 'auth: clients' (under passthrough each client "
                    "sends its own HubSpot token)");
      } else {
        policy.upstream_token = read_secret_ref(fields.upstream_token->value, fields.upstream_token->mark,
                                                "'upstream_token'", diag_);
      }
    } else if (clients_mode) {
      diag_.error(auth_mark, "'auth: clients' needs 'upstream_token' ({env: NAME} or {file: PATH}): the "
                             "HubSpot token hubgate sends in place of the client keys");
    }

    if (fields.clients && !fields.clients->value.IsNull()) {
      if (!clients_mode) {
        diag_.error(fields.clients->key_mark,
                    "'clients' applies only with 'auth: clients' (add 'auth: clients' to require client keys)");
      } else {
        read_clients(*fields.clients, policy);
      }
    } else if (clients_mode) {
      diag_.error(auth_mark, "'auth: clients' needs a 'clients' list: nobody could call through hubgate");
    }

    if (secrets_ != nullptr && clients_mode && !diag_.has_errors()) {
      read_secrets(policy, fields.upstream_token->mark);
    }
    return policy;
  }

 private:
  void read_clients(const field& f, access::access_policy& policy) {
    if (!f.value.IsSequence() || f.value.size() == 0) {
      diag_.error(f.mark, "'clients' must be a non-empty list of clients, got " + std::string(describe(f.value)));
      return;
    }
    for (const auto& node : f.value) {
      const YAML::Mark where = node.Mark();
      // Its keys unquoted too: a key pasted beside `keys` (`- { name: a, ck-... }`) is a secret.
      const keyed_mapping m(node, where, "a client", client_keys, diag_, key_echo::hide);
      if (!m.valid()) {
        continue;
      }
      access::client c;
      c.line = static_cast<std::size_t>(std::max(where.line, 0)) + 1;
      if (const auto& name = m.get("name")) {
        c.name = read_name(*name, diag_).value_or("");
        if (policy.find(c.name) != nullptr) {
          diag_.error(name->mark, "duplicate client name " + quote(c.name));
        }
      } else {
        diag_.error(where, "a client needs a 'name'");
      }
      if (const auto& keys = m.get("keys")) {
        read_key_refs(*keys, c);
      } else {
        diag_.error(where, "a client needs 'keys': a list of {env: NAME} or {file: PATH}");
      }
      if (const auto& budget = m.get("max_new_contacts"); budget && !budget->value.IsNull()) {
        c.max_new_contacts = read_budget(*budget);
      }
      policy.clients.push_back(std::move(c));
      key_marks_.emplace_back();
      key_marks_.back().swap(pending_marks_);
    }
  }

  void read_key_refs(const field& f, access::client& c) {
    if (!f.value.IsSequence() || f.value.size() == 0) {
      diag_.error(f.mark, "'keys' must be a non-empty list of {env: NAME} or {file: PATH} (several for "
                          "rotation), got " + std::string(describe(f.value)));
      return;
    }
    for (const auto& node : f.value) {
      if (auto ref = read_secret_ref(node, node.Mark(), "a key", diag_)) {
        c.keys.push_back(std::move(*ref));
        pending_marks_.push_back(node.Mark());
      }
    }
  }

  std::optional<access::new_contact_budget> read_budget(const field& f) {
    const keyed_mapping m(f.value, f.mark, quote(f.key), budget_keys, diag_);
    if (!m.valid()) {
      return std::nullopt;
    }
    access::new_contact_budget budget;
    bool ok = true;
    if (const auto& per = m.get("per")) {
      const auto i = read_choice(*per, window_words, diag_);
      ok = ok && i.has_value();
      budget.per = static_cast<access::budget_window>(i.value_or(1));
    } else {
      diag_.error(f.mark, quote(f.key) + " needs 'per' (" + join_choices(window_words) + ")");
      ok = false;
    }
    if (const auto& count = m.get("count")) {
      const auto n = read_integer(*count, 0, std::numeric_limits<int>::max(), diag_);
      ok = ok && n.has_value();
      budget.count = static_cast<std::uint64_t>(n.value_or(0));
    } else {
      diag_.error(f.mark, quote(f.key) + " needs 'count' (0 allows no new contacts)");
      ok = false;
    }
    return ok ? std::optional(budget) : std::nullopt;
  }

  std::optional<std::string> read_secret(const access::secret_ref& ref, const YAML::Mark& mark,
                                         std::string_view what) {
    std::string error;
    auto value = secrets_->read(ref, error);
    if (!value) {
      diag_.error(mark, "cannot read " + std::string(what) + " from " + ref.describe() + ": " + error);
      return std::nullopt;
    }
    if (value->empty() || !header_safe(*value)) {
      diag_.error(mark, std::string(what) + " from " + ref.describe() +
                            (value->empty() ? " is empty" : " holds spaces or control characters"));
      return std::nullopt;
    }
    return value;
  }

  void read_secrets(access::access_policy& policy, const YAML::Mark& upstream_mark) {
    std::optional<std::string> upstream;
    if (policy.upstream_token) {
      upstream = read_secret(*policy.upstream_token, upstream_mark, "the upstream token");
    }
    std::vector<std::pair<access::key_table::digest, std::string>> seen; // digest, owner
    for (std::size_t c = 0; c < policy.clients.size(); ++c) {
      const auto& client = policy.clients[c];
      for (std::size_t k = 0; k < client.keys.size(); ++k) {
        const YAML::Mark& mark = key_marks_[c][k];
        const auto key = read_secret(client.keys[k], mark, "the key of client " + quote(client.name));
        if (!key) {
          continue;
        }
        if (key->size() < min_client_key_length) {
          diag_.error(mark, "the key of client " + quote(client.name) + " from " + client.keys[k].describe() +
                                " is shorter than " + std::to_string(min_client_key_length) +
                                " characters (make one with `openssl rand -hex 32`)");
          continue;
        }
        if (upstream && *key == *upstream) {
          diag_.error(mark, "the key of client " + quote(client.name) +
                                " is the upstream token: clients must never hold the HubSpot token");
          continue;
        }
        const auto digest = access::key_table::hash(*key);
        const auto same = std::find_if(seen.begin(), seen.end(), [&](const auto& s) { return s.first == digest; });
        if (same != seen.end()) {
          diag_.error(mark, "the key of client " + quote(client.name) + " from " + client.keys[k].describe() +
                                " is also a key of " + same->second + ": a key must name one client");
          continue;
        }
        seen.emplace_back(digest, "client " + quote(client.name));
        policy.keys.add(digest, c);
      }
    }
    if (upstream) {
      policy.upstream_authorization = "Bearer " + *upstream;
    }
    policy.secrets_read = true;
  }

  const access::secret_reader* secrets_;
  diagnostics& diag_;
  std::vector<std::vector<YAML::Mark>> key_marks_; // per client, per key: where the reference is
  std::vector<YAML::Mark> pending_marks_;
};

} // namespace

access::access_policy read_access(const access_fields& fields, const YAML::Mark& root_mark,
                                  const access::secret_reader* secrets, diagnostics& diag) {
  access_reader reader(secrets, diag);
  return reader.read(fields, root_mark);
}

} // namespace hubgate::rules::detail
