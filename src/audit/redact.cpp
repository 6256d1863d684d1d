#include "hubgate/audit/redact.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <array>
#include <stdexcept>

#include "hubgate/hubspot/email.hpp"
#include "hubgate/hubspot/text.hpp"

namespace hubgate::audit {

namespace {

std::string to_hex(const unsigned char* data, std::size_t size) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    out += digits[data[i] >> 4];
    out += digits[data[i] & 0xf];
  }
  return out;
}

// The value of the query parameter `name` (case-insensitive name), undecoded; empty when absent.
std::string_view query_parameter(std::string_view target, std::string_view name) {
  const auto q = target.find('?');
  if (q == std::string_view::npos) {
    return {};
  }
  std::string_view query = target.substr(q + 1);
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view param = query.substr(0, amp);
    const auto eq = param.find('=');
    if (eq != std::string_view::npos && hubspot::iequals_ascii(param.substr(0, eq), name)) {
      return param.substr(eq + 1);
    }
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
  }
  return {};
}

} // namespace

std::string sha256_hex(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), digest.data(), &size, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("SHA-256 failed");
  }
  return to_hex(digest.data(), size);
}

email_redactor::email_redactor(std::string key) : key_(std::move(key)) {}

email_redactor email_redactor::with_random_key() {
  std::string key(32, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), static_cast<int>(key.size())) != 1) {
    throw std::runtime_error("no random bytes for the audit key");
  }
  return email_redactor(std::move(key));
}

std::string email_redactor::redact(std::string_view email) const {
  const std::string normalised = hubspot::normalise_email(email);
  if (normalised.empty()) {
    return {};
  }
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int size = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
       reinterpret_cast<const unsigned char*>(normalised.data()), normalised.size(), mac.data(), &size);
  std::string out = to_hex(mac.data(), 8);
  if (normalised.find('@') != std::string::npos) {
    out += '@';
    out += hubspot::email_domain(email);
  }
  return out;
}

std::string token_fingerprint(std::string_view authorization, std::string_view target) {
  std::string_view credential = hubspot::trim_ows(authorization);
  constexpr std::string_view bearer = "bearer ";
  if (credential.size() > bearer.size() && hubspot::iequals_ascii(credential.substr(0, bearer.size()), bearer)) {
    credential = hubspot::trim_ows(credential.substr(bearer.size()));
  }
  if (credential.empty()) {
    credential = query_parameter(target, "hapikey");
  }
  if (credential.empty()) {
    return {};
  }
  return sha256_hex(credential).substr(0, 8);
}

} // namespace hubgate::audit
