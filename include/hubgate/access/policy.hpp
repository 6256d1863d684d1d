#pragma once
// Who may call through hubgate, and with which HubSpot credential (rules.yaml `auth`,
// `upstream_token`, `clients`). Under `auth: clients` integrations never hold the HubSpot token:
// each presents its own client key (`Authorization: Bearer <client key>`, so SDKs work unchanged
// with `accessToken: <client key>`), hubgate names the client from it and forwards the request with
// the upstream token in its place. Under `auth: passthrough` (the default) the client's own
// credential goes to HubSpot as sent and no client is named.
//
// Pure: secrets are read by a secret_reader the caller provides (config/secrets.hpp reads the
// process environment and files); keys are kept only as SHA-256 digests.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hubgate::access {

enum class auth_mode : std::uint8_t { passthrough, clients };

constexpr std::string_view to_string(auth_mode mode) {
  return mode == auth_mode::clients ? "clients" : "passthrough";
}

// Where a secret lives: `{env: NAME}` or `{file: /run/secrets/name}`. Never the secret itself.
struct secret_ref {
  enum class source : std::uint8_t { env, file };
  source from = source::env;
  std::string name; // the variable's name or the file's path

  std::string describe() const; // "environment variable ZAPIER_KEY", "file /run/secrets/key"
};

// Reads secrets. nullopt with `error` set ("is not set", "No such file or directory") when it cannot.
class secret_reader {
 public:
  virtual ~secret_reader() = default;
  virtual std::optional<std::string> read(const secret_ref& ref, std::string& error) const = 0;
};

// `max_new_contacts: {per: day, count: N}`: windows are fixed and aligned to UTC (a day rolls at
// midnight UTC, an hour on the hour).
enum class budget_window : std::uint8_t { hour, day };

constexpr std::string_view to_string(budget_window w) { return w == budget_window::hour ? "hour" : "day"; }
constexpr std::int64_t window_seconds(budget_window w) { return w == budget_window::hour ? 3600 : 86400; }

struct new_contact_budget {
  budget_window per = budget_window::day;
  std::uint64_t count = 0;

  friend bool operator==(const new_contact_budget&, const new_contact_budget&) = default;
};

struct client {
  std::string name;
  std::size_t line = 0; // 1-based line of the client in its file
  std::vector<secret_ref> keys;
  std::optional<new_contact_budget> max_new_contacts;
};

// Client keys by their SHA-256 digest. Looking a key up compares its digest with every entry in
// constant time (CRYPTO_memcmp) and never stops early, so the time taken says nothing about how
// much of a key was right.
class key_table {
 public:
  using digest = std::array<unsigned char, 32>;

  static digest hash(std::string_view key);
  void add(const digest& key, std::size_t client);
  // The client index the key belongs to.
  std::optional<std::size_t> find(std::string_view presented) const noexcept;
  std::size_t size() const noexcept { return entries_.size(); }

 private:
  struct entry {
    digest key;
    std::size_t client;
  };
  std::vector<entry> entries_;
};

// Why a request was refused before anything else was looked at.
enum class refusal : std::uint8_t {
  none,
  no_credential,    // no `Authorization: Bearer …` header
  unknown_key,      // a bearer key no client holds
  query_credential, // `hapikey`/`access_token` in the query: hubgate holds the HubSpot credential
  several_credentials, // more than one Authorization header: which one counts is any reader's guess
};

struct caller {
  const client* who = nullptr; // auth: clients, once identified
  refusal refused = refusal::none;
};

struct access_policy {
  auth_mode mode = auth_mode::passthrough;
  std::vector<client> clients; // in file order
  std::optional<secret_ref> upstream_token;
  // Filled when the secrets were read (the proxy reads them; `check`, `test` and `explain` do not).
  bool secrets_read = false;
  key_table keys;
  std::string upstream_authorization; // "Bearer <upstream token>", the header value forwarded

  // Names the caller from its Authorization header value and request target. Under passthrough
  // it names nobody and refuses nothing.
  caller identify(std::string_view authorization, std::string_view target) const;
  const client* find(std::string_view name) const noexcept;
};

// The token of an `Authorization: Bearer <token>` value (scheme in any case); empty when the value
// is not one.
std::string_view bearer_token(std::string_view authorization) noexcept;

// Whether a request target's query, or a path segment's matrix parameters, carry a HubSpot
// credential (`hapikey`, `access_token`) in any spelling a forgiving server reads as one.
bool query_has_credential(std::string_view target);

} // namespace hubgate::access
