#pragma once
// What the audit trail writes instead of personal data and secrets: email addresses with the local
// part replaced by a keyed hash (the domain kept, so the same address stays linkable from entry to
// entry without being readable), and a short fingerprint of the caller's token (which tells
// integrations apart without being usable as a token). Pure: hashing only (OpenSSL's libcrypto).

#include <string>
#include <string_view>

namespace hubgate::audit {

// Lower-case hex of SHA-256 over `data`.
std::string sha256_hex(std::string_view data);

class email_redactor {
 public:
  // `key` is the HMAC key (any bytes); the same key gives the same hash for the same address.
  explicit email_redactor(std::string key);
  // A key of 32 random bytes: hashes link entries of this process only.
  static email_redactor with_random_key();

  // "<16 hex>@domain": the first 16 hex digits of HMAC-SHA256(key, the normalised address) as the
  // local part, and the normalised domain (hubspot/email.hpp: trimmed, lower-cased, so spellings
  // HubSpot stores as one address hash alike). Without an `@` the whole is the 16 hex digits; an
  // empty address stays empty.
  std::string redact(std::string_view email) const;

 private:
  std::string key_;
};

// The first 8 hex digits of SHA-256 over the credential: the token of an `Authorization: Bearer`
// header (the whole header value for another scheme), else the value of a `hapikey` query
// parameter in `target`. Empty when the request carries neither.
std::string token_fingerprint(std::string_view authorization, std::string_view target);

} // namespace hubgate::audit
