#include "upstream/pool.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string_view>

namespace hubgate::upstream {

namespace {

using io::use_tuple;

bool is_ip_literal(const std::string& host) {
  boost::system::error_code ec;
  (void)net::ip::make_address(host, ec);
  return !ec;
}

// True when an idle connection's socket has nothing to read and is not closed. A pooled
// connection the upstream closed meanwhile shows up readable (EOF or a TLS close_notify); sending
// a request there would fail after the fact, and a POST must never be sent twice, so such
// connections are dropped before use rather than retried after. (Bytes OpenSSL read ahead past the
// last answer are looked at first, by take_idle: the socket may look empty while OpenSSL holds a
// close_notify.)
bool still_open(connection& conn) {
  auto& socket = beast::get_lowest_layer(conn.stream).socket();
  char byte = 0;
  ssize_t n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  int error = errno;
  return n < 0 && error == EAGAIN; // EWOULDBLOCK is the same value on Linux
}

std::string tls_failure_detail(connection& conn, const boost::system::error_code& ec) {
  long verify = SSL_get_verify_result(conn.stream.native_handle());
  if (verify != X509_V_OK) {
    return std::string("certificate verification failed: ") + X509_verify_cert_error_string(verify);
  }
  return ec.message();
}

// True when the directory holds a certificate named by its subject hash ("1a2b3c4d.0"), as
// `openssl rehash` (Debian's update-ca-certificates) leaves them.
bool has_hashed_certificates(const std::string& dir) {
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const std::size_t dot = name.find('.');
    if (dot == 8 && name.size() > 9 &&
        name.find_first_not_of("0123456789abcdef") == 8 &&
        name.find_first_not_of("0123456789", 9) == std::string::npos) {
      return true;
    }
  }
  return false;
}

// The system's trust store. Debian keeps it twice: a bundle file, which OpenSSL parses whole when
// it is loaded (some 140 certificates, 0.6 MB that stay in memory, most of them never used), and a
// directory of the same certificates named by subject hash, from which OpenSSL reads a
// certificate only when a chain needs it. The directory is used when it has hashed names and
// SSL_CERT_FILE names no bundle; otherwise OpenSSL's defaults (the bundle and the directory).
void use_system_trust_store(ssl::context& ctx) {
  if (std::getenv(X509_get_default_cert_file_env()) == nullptr) {
    const char* dirs = std::getenv(X509_get_default_cert_dir_env());
    const std::string first_dir = dirs != nullptr ? std::string(std::string_view(dirs).substr(0, std::string_view(dirs).find(':')))
                                                  : std::string(X509_get_default_cert_dir());
    X509_LOOKUP* lookup = has_hashed_certificates(first_dir)
                              ? X509_STORE_add_lookup(SSL_CTX_get_cert_store(ctx.native_handle()), X509_LOOKUP_hash_dir())
                              : nullptr;
    // X509_FILETYPE_DEFAULT: every directory SSL_CERT_DIR lists, or the default one.
    if (lookup != nullptr && X509_LOOKUP_add_dir(lookup, nullptr, X509_FILETYPE_DEFAULT) == 1) {
      return;
    }
    ERR_clear_error();
  }
  ctx.set_default_verify_paths();
}

// OpenSSL fills in a certificate's cached extensions (its key identifiers, among others) the first
// time a chain uses it, under a lock that readers on other threads do not take: the first
// handshakes of two I/O threads can read a field while it is written (ThreadSanitizer saw it). The
// certificates loaded up front get theirs filled in now, before any I/O thread starts.
void fill_in_cached_extensions(ssl::context& ctx) {
  STACK_OF(X509_OBJECT)* objects = X509_STORE_get0_objects(SSL_CTX_get_cert_store(ctx.native_handle()));
  for (int i = 0; i < sk_X509_OBJECT_num(objects); ++i) {
    if (X509* cert = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objects, i)); cert != nullptr) {
      X509_check_purpose(cert, -1, 0);
    }
  }
}

} // namespace

std::unique_ptr<ssl::context> make_tls_context(const std::optional<std::string>& ca_file) {
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_compression);
  ctx->set_verify_mode(ssl::verify_peer);
  if (ca_file) {
    boost::system::error_code ec;
    ctx->load_verify_file(*ca_file, ec);
    if (ec) {
      throw std::runtime_error("cannot load CA file " + *ca_file + ": " + ec.message());
    }
  } else {
    use_system_trust_store(*ctx);
  }
  fill_in_cached_extensions(*ctx);
  return ctx;
}

pool::pool(net::io_context& ioc, ssl::context& tls, cli::upstream_url url, pool_settings settings)
    : ioc_(ioc), tls_(tls), url_(std::move(url)), host_header_(url_.host_header()), settings_(settings),
      sweep_(ioc.get_executor()) {}

pool::~pool() {
  for (connection* conn : lent_) {
    conn->lent_by = nullptr;
  }
}

connection::~connection() {
  if (lent_by != nullptr) {
    lent_by->give_back(*this);
  }
}

void pool::lend(connection& conn) {
  conn.lent_by = this;
  conn.lent_at = lent_.size();
  lent_.push_back(&conn);
}

void pool::give_back(connection& conn) noexcept {
  connection* const last = lent_.back();
  lent_[conn.lent_at] = last;
  last->lent_at = conn.lent_at;
  lent_.pop_back();
  conn.lent_by = nullptr;
}

void pool::cut_lent() {
  cut_ = true;
  for (connection* conn : lent_) {
    // A cancel ends only what is waiting now: an answer still streaming in would go on, its reads
    // completing at once. Shut both ways, every later read and write on it fails too.
    auto& tcp = beast::get_lowest_layer(conn->stream);
    tcp.cancel();
    boost::system::error_code ignored;
    tcp.socket().shutdown(net::ip::tcp::socket::shutdown_both, ignored);
  }
}

std::unique_ptr<connection> pool::take_idle() {
  if (cut_) {
    return nullptr; // connect() refuses
  }
  auto now = std::chrono::steady_clock::now();
  while (!idle_.empty()) {
    auto conn = std::move(idle_.back());
    idle_.pop_back();
    idle_count_.store(idle_.size(), std::memory_order_relaxed);
    if (now - conn->idle_since < settings_.idle_timeout && !conn->stream.has_buffered_input() &&
        still_open(*conn)) {
      lend(*conn);
      return conn;
    }
    // Dropped without a TLS close_notify: the peer may be gone, and waiting for its answer would
    // stall the caller. The socket closes as the connection is destroyed.
  }
  return nullptr;
}

void pool::exchange_done(std::unique_ptr<connection> conn, bool reusable) {
  give_back(*conn);
  // Bytes read past the end of the answer answer nothing hubgate asked: a connection holding them
  // would hand them to the next request as its answer (another client's, perhaps).
  reusable = reusable && conn->buffer.size() == 0;
  if (++conn->requests == 1) {
    // A copy: OpenSSL marks a connection's session unresumable when the connection is freed
    // without a close_notify sent, as every one of ours is.
    if (const SSL_SESSION* session = SSL_get0_session(conn->stream.native_handle());
        session != nullptr && SSL_SESSION_is_resumable(session) == 1) {
      session_.reset(SSL_SESSION_dup(session));
    }
  }
  if (reusable && idle_.size() < settings_.max_idle) {
    conn->idle_since = std::chrono::steady_clock::now();
    idle_.push_back(std::move(conn));
    idle_count_.store(idle_.size(), std::memory_order_relaxed);
    if (!sweep_armed_) {
      arm_sweep();
    }
  }
}

void pool::close_idle() {
  idle_.clear();
  idle_count_.store(0, std::memory_order_relaxed);
  sweep_.cancel(); // the thread ends once it has no work left: an armed sweep is work
}

void pool::arm_sweep() {
  sweep_armed_ = true;
  sweep_.expires_at(idle_.front()->idle_since + settings_.idle_timeout);
  // The pool outlives the wait: it is destroyed after its thread's io_context stops running, and
  // close_idle() cancels the wait before a drain lets the thread end.
  sweep_.async_wait([this](const boost::system::error_code& ec) {
    sweep_armed_ = false;
    if (ec) {
      return;
    }
    sweep();
    if (!idle_.empty()) {
      arm_sweep();
    }
  });
}

void pool::sweep() {
  const auto now = std::chrono::steady_clock::now();
  std::erase_if(idle_, [&](const std::unique_ptr<connection>& conn) {
    return now - conn->idle_since >= settings_.idle_timeout || !still_open(*conn);
  });
  idle_count_.store(idle_.size(), std::memory_order_relaxed);
}

io::awaitable<connect_result> pool::connect() {
  auto conn = std::make_unique<connection>(ioc_.get_executor(), tls_);
  auto& tcp = beast::get_lowest_layer(conn->stream);
  tcp.expires_after(settings_.connect_timeout);
  lend(*conn); // a drain's cut ends its connect or handshake too

  net::ip::basic_resolver<net::ip::tcp, io::executor> resolver(conn->stream.get_executor());
  auto [rec, endpoints] = co_await resolver.async_resolve(url_.host, url_.port, use_tuple);
  if (cut_) { // before or while resolving: the socket had nothing to cancel
    co_return connect_result{nullptr, connect_failure::connect, "not connecting: the drain timed out"};
  }
  if (rec) {
    co_return connect_result{nullptr, connect_failure::resolve, "resolving " + url_.host + ": " + rec.message()};
  }
  auto [cec, endpoint] = co_await tcp.async_connect(endpoints, use_tuple);
  if (cec) {
    auto failure = cec == beast::error::timeout ? connect_failure::timeout : connect_failure::connect;
    co_return connect_result{nullptr, failure, "connecting to " + url_.host + ":" + url_.port + ": " + cec.message()};
  }
  tcp.socket().set_option(net::ip::tcp::no_delay(true));

  SSL* ssl_handle = conn->stream.native_handle();
  // The chain is verified against the context's trust store (make_tls_context), and the leaf
  // certificate must name the host: OpenSSL's own check during the handshake, whose failure
  // shows in SSL_get_verify_result (tls_failure_detail). Set on the connection as well as the
  // context, so that no context setting can turn it off.
  SSL_set_verify(ssl_handle, SSL_VERIFY_PEER, nullptr);
  bool named = false;
  if (is_ip_literal(url_.host)) {
    named = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_handle), url_.host.c_str()) == 1;
  } else {
    // SNI: HubSpot's edge serves many names; without it the handshake gets the wrong certificate.
    // (SSL_set_tlsext_host_name, spelled out: the macro's C cast trips -Wold-style-cast.)
    named = SSL_ctrl(ssl_handle, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                     const_cast<char*>(url_.host.c_str())) == 1 &&
            SSL_set1_host(ssl_handle, url_.host.c_str()) == 1;
  }
  if (!named) {
    ERR_clear_error();
    co_return connect_result{nullptr, connect_failure::tls, "TLS handshake with " + url_.host + ": cannot check that name"};
  }
  if (session_) {
    // A copy again, so that this connection's fate cannot spoil the one kept.
    SSL_SESSION* offered = SSL_SESSION_dup(session_.get());
    if (offered == nullptr || SSL_set_session(ssl_handle, offered) != 1) {
      ERR_clear_error(); // nothing offered: a full handshake
    }
    SSL_SESSION_free(offered); // SSL_set_session took its own reference
  }
  auto [hec] = co_await conn->stream.async_handshake(use_tuple);
  if (hec) {
    auto failure = hec == beast::error::timeout ? connect_failure::timeout : connect_failure::tls;
    co_return connect_result{nullptr, failure, "TLS handshake with " + url_.host + ": " + tls_failure_detail(*conn, hec)};
  }
  handshakes_.fetch_add(1, std::memory_order_relaxed);
  if (SSL_session_reused(ssl_handle) == 1) {
    resumed_handshakes_.fetch_add(1, std::memory_order_relaxed);
  }
  co_return connect_result{std::move(conn), connect_failure::none, {}};
}

} // namespace hubgate::upstream
