#include "hubgate/access/policy.hpp"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>

#include "hubgate/hubspot/text.hpp"

namespace hubgate::access {

namespace {

// Whether one of `params` (`a=1&b=2;c=3`, split on `&` and `;` as servlet containers split them)
// is named `hapikey` or `access_token`, read as a forgiving server reads names (and as the log
// redacts them): `H%41PIKEY`, `hapikey%20` and `hapikey%C2%A0` are `hapikey`.
bool names_credential(std::string_view params, std::string& scratch) {
  while (true) {
    const auto end = params.find_first_of("&;");
    const std::string_view pair = params.substr(0, end);
    const std::string_view name = hubspot::read_lenient_name(pair.substr(0, pair.find('=')), scratch);
    if (name == "hapikey" || name == "access_token") {
      return true;
    }
    if (end == std::string_view::npos) {
      return false;
    }
    params.remove_prefix(end + 1);
  }
}

} // namespace

std::string secret_ref::describe() const {
  if (from == source::env) {
    return "environment variable " + name; // read_secret_ref refused a name that is not one
  }
  // A path names a folder or an extension. A name with neither may be the secret itself, pasted
  // where its file's path belongs (`file: pat-na1-...`): errors and /clients do not repeat it (an
  // error's line and column point at it).
  if (name.find_first_of("/.") == std::string::npos) {
    return "the file its 'file' names (not shown: with no '/' or '.', it may be the secret itself)";
  }
  return "file " + name;
}

key_table::digest key_table::hash(std::string_view key) {
  digest out{};
  SHA256(reinterpret_cast<const unsigned char*>(key.data()), key.size(), out.data());
  return out;
}

void key_table::add(const digest& key, std::size_t client) { entries_.push_back({key, client}); }

std::optional<std::size_t> key_table::find(std::string_view presented) const noexcept {
  const digest wanted = hash(presented);
  std::optional<std::size_t> found;
  for (const auto& e : entries_) {
    // Every entry is compared, whatever matched before: no early exit.
    const bool same = CRYPTO_memcmp(e.key.data(), wanted.data(), wanted.size()) == 0;
    if (same) {
      found = e.client;
    }
  }
  return found;
}

std::string_view bearer_token(std::string_view authorization) noexcept {
  constexpr std::string_view scheme = "bearer";
  const auto is_space = [](char c) { return c == ' ' || c == '\t'; };
  while (!authorization.empty() && is_space(authorization.front())) {
    authorization.remove_prefix(1);
  }
  if (authorization.size() <= scheme.size() || !hubspot::iequals_ascii(authorization.substr(0, scheme.size()), scheme) ||
      !is_space(authorization[scheme.size()])) {
    return {};
  }
  authorization.remove_prefix(scheme.size());
  while (!authorization.empty() && is_space(authorization.front())) {
    authorization.remove_prefix(1);
  }
  while (!authorization.empty() && is_space(authorization.back())) {
    authorization.remove_suffix(1);
  }
  return authorization;
}

bool query_has_credential(std::string_view target) {
  std::string scratch;
  const auto question = target.find('?');
  std::string_view path = target.substr(0, question);
  // Matrix parameters (`/contacts;hapikey=X/1`): a server that reads them reads a credential there.
  for (auto semicolon = path.find(';'); semicolon != std::string_view::npos; semicolon = path.find(';')) {
    path.remove_prefix(semicolon + 1);
    if (names_credential(path.substr(0, path.find('/')), scratch)) {
      return true;
    }
  }
  if (question == std::string_view::npos) {
    return false;
  }
  std::string_view query = target.substr(question + 1);
  return names_credential(query.substr(0, query.find('#')), scratch);
}

caller access_policy::identify(std::string_view authorization, std::string_view target) const {
  caller out;
  if (mode == auth_mode::passthrough) {
    return out;
  }
  if (query_has_credential(target)) {
    out.refused = refusal::query_credential;
    return out;
  }
  const std::string_view key = bearer_token(authorization);
  if (key.empty()) {
    out.refused = refusal::no_credential;
    return out;
  }
  const auto index = keys.find(key);
  if (!index || *index >= clients.size()) {
    out.refused = refusal::unknown_key;
    return out;
  }
  out.who = &clients[*index];
  return out;
}

const client* access_policy::find(std::string_view name) const noexcept {
  const auto it = std::find_if(clients.begin(), clients.end(), [&](const client& c) { return c.name == name; });
  return it == clients.end() ? nullptr : &*it;
}

} // namespace hubgate::access
