#include "hubgate/access/policy.hpp"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>

#include "hubgate/hubspot/text.hpp"

namespace hubgate::access {

namespace {

char lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return lower(x) == lower(y);
         });
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  c = lower(c);
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

// A query parameter's name with %XX escapes and `+` decoded, lower-cased: `H%41PIKEY` is `hapikey`
// to a forgiving server, so it is to us.
std::string decoded_name(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '%' && i + 2 < raw.size()) {
      const int hi = hex_value(raw[i + 1]);
      const int lo = hex_value(raw[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(lower(static_cast<char>(hi * 16 + lo)));
        i += 2;
        continue;
      }
    }
    out.push_back(raw[i] == '+' ? ' ' : lower(raw[i]));
  }
  return out;
}

} // namespace

std::string secret_ref::describe() const {
  return (from == source::env ? "environment variable " : "file ") + name;
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
  if (authorization.size() <= scheme.size() || !iequals(authorization.substr(0, scheme.size()), scheme) ||
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

bool query_has_credential(std::string_view target) noexcept {
  const auto question = target.find('?');
  if (question == std::string_view::npos) {
    return false;
  }
  std::string_view query = target.substr(question + 1);
  if (const auto hash = query.find('#'); hash != std::string_view::npos) {
    query = query.substr(0, hash);
  }
  while (!query.empty()) {
    const auto amp = query.find_first_of("&;");
    const std::string_view pair = query.substr(0, amp);
    // Trimmed, as a server that trims parameter names reads `hapikey%20` as `hapikey`.
    const std::string decoded = decoded_name(pair.substr(0, pair.find('=')));
    const std::string_view name = hubspot::trim_name_padding(decoded);
    if (name == "hapikey" || name == "access_token") {
      return true;
    }
    if (amp == std::string_view::npos) {
      break;
    }
    query.remove_prefix(amp + 1);
  }
  return false;
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
