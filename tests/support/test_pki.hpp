#pragma once

// A throwaway PKI made at test time: a CA and server certificates signed by it, so TLS tests never
// depend on files checked into the tree or on the machine's trust store.

#include <string>
#include <vector>

namespace hubgate::test {

/** A certificate and its private key, both PEM. */
struct key_pair_pem {
  std::string cert_pem;
  std::string key_pem;
};

/**
 * A CA, one server certificate it signed, and the CA certificate written to a file for consumers
 * that take a path (hubgate's upstream CA option). The file lives in a private temporary directory
 * removed by the destructor; a moved-from object owns no directory.
 */
class test_pki {
 public:
  test_pki(key_pair_pem ca_pair, key_pair_pem server_pair);
  ~test_pki();
  test_pki(test_pki&& other) noexcept;
  test_pki& operator=(test_pki&& other) noexcept;
  test_pki(const test_pki&) = delete;
  test_pki& operator=(const test_pki&) = delete;

  key_pair_pem ca;      ///< Self-signed, P-256, CA:TRUE.
  key_pair_pem server;  ///< Signed by `ca`, P-256, serverAuth, with the SANs asked for.
  std::string ca_file;  ///< `ca.cert_pem` on disk.
  /// A directory holding `ca.cert_pem` named by its subject hash (`1a2b3c4d.0`), as a system
  /// trust store's certificate directory does (SSL_CERT_DIR).
  std::string ca_hashed_dir;

 private:
  std::string dir_;
};

/**
 * Issues a server certificate (P-256, valid from one day ago to one day ahead, extendedKeyUsage
 * serverAuth) signed by `ca`. Use it with an existing CA for "trusted CA, wrong hostname" cases.
 * @param dns_names subjectAltName DNS entries; the first one is also the subject CN.
 * @param ips subjectAltName IP entries, textual IPv4 or IPv6.
 * @throws std::runtime_error if OpenSSL fails or a name contains a comma.
 */
key_pair_pem issue_server_cert(const key_pair_pem& ca, const std::vector<std::string>& dns_names,
                               const std::vector<std::string>& ips);

/**
 * Makes a fresh CA and a server certificate for the given SANs. Each call makes a new CA, so a
 * second call is the "certificate from an untrusted CA" case. Key generation takes milliseconds;
 * prefer `shared_test_pki()` when the default SANs suffice.
 */
test_pki make_test_pki(std::vector<std::string> dns_names = {"api.hubapi.com", "localhost"},
                       std::vector<std::string> ips = {"127.0.0.1"});

/**
 * One PKI with the default SANs for the whole test binary, made on first use (thread-safe) and
 * kept until exit, when its temporary directory is removed.
 */
const test_pki& shared_test_pki();

}  // namespace hubgate::test
