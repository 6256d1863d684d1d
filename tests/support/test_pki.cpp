#include "support/test_pki.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <utility>

namespace hubgate::test {
namespace {

template <class T, void (*Free)(T*)>
struct openssl_deleter {
  void operator()(T* p) const noexcept { Free(p); }
};
template <class T, void (*Free)(T*)>
using openssl_ptr = std::unique_ptr<T, openssl_deleter<T, Free>>;

using pkey_ptr = openssl_ptr<EVP_PKEY, EVP_PKEY_free>;
using pkey_ctx_ptr = openssl_ptr<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;
using x509_ptr = openssl_ptr<X509, X509_free>;
using x509_ext_ptr = openssl_ptr<X509_EXTENSION, X509_EXTENSION_free>;
using bignum_ptr = openssl_ptr<BIGNUM, BN_free>;
using bio_ptr = openssl_ptr<BIO, BIO_free_all>;

constexpr long one_day_seconds = 24L * 60 * 60;

[[noreturn]] void fail(std::string_view what) {
  std::string message{what};
  if (const unsigned long code = ERR_get_error(); code != 0) {
    char text[256];
    ERR_error_string_n(code, text, sizeof text);
    message += ": ";
    message += text;
  }
  ERR_clear_error();
  throw std::runtime_error("test_pki: " + message);
}

void check(int ok, std::string_view what) {
  if (ok != 1) fail(what);
}

pkey_ptr generate_p256_key() {
  const pkey_ctx_ptr ctx{EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr)};
  if (!ctx) fail("EVP_PKEY_CTX_new_from_name");
  check(EVP_PKEY_keygen_init(ctx.get()), "EVP_PKEY_keygen_init");
  check(EVP_PKEY_CTX_set_group_name(ctx.get(), "P-256"), "EVP_PKEY_CTX_set_group_name");
  EVP_PKEY* key = nullptr;
  check(EVP_PKEY_generate(ctx.get(), &key), "EVP_PKEY_generate");
  return pkey_ptr{key};
}

std::string read_bio(BIO* bio) {
  std::string out(BIO_ctrl_pending(bio), '\0');
  if (!out.empty() &&
      BIO_read(bio, out.data(), static_cast<int>(out.size())) != static_cast<int>(out.size())) {
    fail("BIO_read");
  }
  return out;
}

std::string to_pem(X509* cert) {
  const bio_ptr bio{BIO_new(BIO_s_mem())};
  if (!bio) fail("BIO_new");
  check(PEM_write_bio_X509(bio.get(), cert), "PEM_write_bio_X509");
  return read_bio(bio.get());
}

std::string to_pem(EVP_PKEY* key) {
  const bio_ptr bio{BIO_new(BIO_s_mem())};
  if (!bio) fail("BIO_new");
  check(PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr),
        "PEM_write_bio_PrivateKey");
  return read_bio(bio.get());
}

x509_ptr cert_from_pem(const std::string& pem) {
  const bio_ptr bio{BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()))};
  if (!bio) fail("BIO_new_mem_buf");
  x509_ptr cert{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)};
  if (!cert) fail("PEM_read_bio_X509");
  return cert;
}

pkey_ptr key_from_pem(const std::string& pem) {
  const bio_ptr bio{BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()))};
  if (!bio) fail("BIO_new_mem_buf");
  pkey_ptr key{PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr)};
  if (!key) fail("PEM_read_bio_PrivateKey");
  return key;
}

// A certificate with everything but the extensions and the signature: v3, random serial,
// valid now +-1 day, subject CN, the subject's public key.
x509_ptr new_cert(EVP_PKEY* subject_key, const std::string& common_name) {
  x509_ptr cert{X509_new()};
  if (!cert) fail("X509_new");
  check(X509_set_version(cert.get(), X509_VERSION_3), "X509_set_version");

  // Random serials: two CAs made in one run must not issue look-alike certificates, or a
  // verifier's cache could confuse them.
  const bignum_ptr serial{BN_new()};
  if (!serial) fail("BN_new");
  check(BN_rand(serial.get(), 64, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY), "BN_rand");
  if (BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) == nullptr) {
    fail("BN_to_ASN1_INTEGER");
  }

  if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), -one_day_seconds) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), one_day_seconds) == nullptr) {
    fail("X509_gmtime_adj");
  }

  X509_NAME* name = X509_get_subject_name(cert.get());
  check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                                   -1, 0),
        "X509_NAME_add_entry_by_txt");
  check(X509_set_pubkey(cert.get(), subject_key), "X509_set_pubkey");
  return cert;
}

// `issuer` may be `cert` itself (self-signed CA): the key identifiers need both in the context.
void add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  const x509_ext_ptr ext{X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str())};
  if (!ext) fail("X509V3_EXT_conf_nid " + value);
  check(X509_add_ext(cert, ext.get(), -1), "X509_add_ext");
}

void sign(X509* cert, EVP_PKEY* issuer_key) {
  if (X509_sign(cert, issuer_key, EVP_sha256()) == 0) fail("X509_sign");
}

key_pair_pem make_ca() {
  const pkey_ptr key = generate_p256_key();
  const x509_ptr cert = new_cert(key.get(), "hubgate test CA");
  check(X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get())),
        "X509_set_issuer_name");
  add_extension(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE");
  add_extension(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
  add_extension(cert.get(), cert.get(), NID_subject_key_identifier, "hash");
  sign(cert.get(), key.get());
  return {to_pem(cert.get()), to_pem(key.get())};
}

std::string subject_alt_names(const std::vector<std::string>& dns_names,
                              const std::vector<std::string>& ips) {
  std::string out;
  const auto append = [&out](std::string_view kind, const std::string& value) {
    // The value goes through OpenSSL's config syntax, where a comma starts the next entry.
    if (value.empty() || value.find(',') != std::string::npos) {
      throw std::runtime_error("test_pki: invalid subjectAltName entry '" + value + "'");
    }
    if (!out.empty()) out += ',';
    out += kind;
    out += value;
  };
  for (const auto& name : dns_names) append("DNS:", name);
  for (const auto& ip : ips) append("IP:", ip);
  return out;
}

// "<subject hash>.0": the name `openssl rehash` gives a certificate in a trust store directory.
std::string subject_hash_name(const std::string& cert_pem) {
  x509_ptr cert = cert_from_pem(cert_pem);
  const unsigned long hash = X509_subject_name_hash(cert.get());
  char name[32];
  std::snprintf(name, sizeof name, "%08lx.0", hash);
  return name;
}

}  // namespace

key_pair_pem issue_server_cert(const key_pair_pem& ca, const std::vector<std::string>& dns_names,
                               const std::vector<std::string>& ips) {
  const x509_ptr ca_cert = cert_from_pem(ca.cert_pem);
  const pkey_ptr ca_key = key_from_pem(ca.key_pem);
  const pkey_ptr key = generate_p256_key();
  const x509_ptr cert = new_cert(
      key.get(), dns_names.empty() ? std::string{"hubgate test server"} : dns_names.front());
  check(X509_set_issuer_name(cert.get(), X509_get_subject_name(ca_cert.get())),
        "X509_set_issuer_name");
  add_extension(cert.get(), ca_cert.get(), NID_basic_constraints, "critical,CA:FALSE");
  add_extension(cert.get(), ca_cert.get(), NID_key_usage, "critical,digitalSignature");
  add_extension(cert.get(), ca_cert.get(), NID_ext_key_usage, "serverAuth");
  add_extension(cert.get(), ca_cert.get(), NID_authority_key_identifier, "keyid:always");
  if (const std::string sans = subject_alt_names(dns_names, ips); !sans.empty()) {
    add_extension(cert.get(), ca_cert.get(), NID_subject_alt_name, sans);
  }
  sign(cert.get(), ca_key.get());
  return {to_pem(cert.get()), to_pem(key.get())};
}

test_pki::test_pki(key_pair_pem ca_pair, key_pair_pem server_pair)
    : ca{std::move(ca_pair)}, server{std::move(server_pair)} {
  const char* tmp = std::getenv("TMPDIR");
  std::string dir_template =
      std::string{tmp != nullptr && *tmp != '\0' ? tmp : "/tmp"} + "/hubgate-pki-XXXXXX";
  if (::mkdtemp(dir_template.data()) == nullptr) {
    throw std::system_error(errno, std::generic_category(), "test_pki: mkdtemp " + dir_template);
  }
  dir_ = std::move(dir_template);
  ca_file = dir_ + "/ca.pem";
  std::ofstream out{ca_file, std::ios::binary};
  out << ca.cert_pem;
  out.close();
  ca_hashed_dir = dir_ + "/hashed";
  std::error_code made;
  std::filesystem::create_directory(ca_hashed_dir, made);
  std::ofstream hashed{ca_hashed_dir + "/" + subject_hash_name(ca.cert_pem), std::ios::binary};
  hashed << ca.cert_pem;
  hashed.close();
  if (!out || made || !hashed) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
    throw std::runtime_error("test_pki: cannot write " + ca_file + " and its hashed copy");
  }
}

test_pki::~test_pki() {
  if (!dir_.empty()) {
    std::error_code ignored;  // a leftover file in /tmp must not fail a test
    std::filesystem::remove_all(dir_, ignored);
  }
}

test_pki::test_pki(test_pki&& other) noexcept
    : ca{std::move(other.ca)},
      server{std::move(other.server)},
      ca_file{std::move(other.ca_file)},
      ca_hashed_dir{std::move(other.ca_hashed_dir)},
      dir_{std::exchange(other.dir_, {})} {}

test_pki& test_pki::operator=(test_pki&& other) noexcept {
  if (this != &other) {
    test_pki old{std::move(*this)};  // removes our directory when it goes out of scope
    ca = std::move(other.ca);
    server = std::move(other.server);
    ca_file = std::move(other.ca_file);
    ca_hashed_dir = std::move(other.ca_hashed_dir);
    dir_ = std::exchange(other.dir_, {});
  }
  return *this;
}

test_pki make_test_pki(std::vector<std::string> dns_names, std::vector<std::string> ips) {
  key_pair_pem ca = make_ca();
  key_pair_pem server = issue_server_cert(ca, dns_names, ips);
  return test_pki{std::move(ca), std::move(server)};
}

const test_pki& shared_test_pki() {
  static const test_pki pki = make_test_pki();
  return pki;
}

}  // namespace hubgate::test
