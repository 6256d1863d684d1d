#pragma once
// Verified TLS connections to one upstream (api.hubapi.com or api.hsforms.com), and a bounded
// pool of idle keep-alive connections to it. Each I/O thread has pools of its own: a pool and its
// connections are used on its io_context's thread only, so it takes no lock.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/options.hpp"
#include "io/executor.hpp"
#include "io/tcp_stream.hpp"
#include "io/tls_stream.hpp"

namespace hubgate::upstream {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace ssl = boost::asio::ssl;

// A TLS client context that always verifies: TLS 1.2 or newer, the peer's chain against `ca_file`
// (or the system trust store), and (per connection) the host name. There is no switch to turn
// verification off. Throws on an unreadable CA file: that is a startup error.
std::unique_ptr<ssl::context> make_tls_context(const std::optional<std::string>& ca_file);

// One TLS connection to an upstream, with the buffer its answers are read into. hubgate sends one
// request at a time, so bytes read past an answer answer nothing: exchange_done() then drops the
// connection rather than pool it.
class pool;

struct connection {
  connection(const io::executor& executor, ssl::context& context) : stream(executor, context) {}
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;
  ~connection(); // leaves its pool's lent list
  io::tls_stream stream; // beast::get_lowest_layer(stream) is its io::tcp_stream
  beast::flat_buffer buffer;
  // A head as written: the request's, then the answer's as relayed (by then the request is sent).
  // Kept to reuse its allocation.
  std::string head_bytes;
  std::chrono::steady_clock::time_point idle_since{};
  std::uint64_t requests = 0; // answered on this connection; 0 for a fresh one
  // While out of the pool (being made, or carrying an exchange): the pool that lent it, and its
  // place in that pool's lent_ list, so that a drain that timed out can cut it (pool::cut_lent).
  pool* lent_by = nullptr;
  std::size_t lent_at = 0;
};

// Why a connection could not be made; each maps to a 502 and a log line with `detail`.
enum class connect_failure { none, resolve, connect, timeout, tls };

struct connect_result {
  std::unique_ptr<connection> conn;
  connect_failure failure = connect_failure::none;
  std::string detail;
};

struct pool_settings {
  std::size_t max_idle = 64;
  std::chrono::milliseconds idle_timeout{30'000};
  std::chrono::milliseconds connect_timeout{5'000};
};

class pool {
 public:
  // Connections are made on `ioc`, which one thread runs: the thread that uses this pool.
  pool(net::io_context& ioc, ssl::context& tls, cli::upstream_url url, pool_settings settings);
  pool(const pool&) = delete;
  pool& operator=(const pool&) = delete;
  // Connections still lent out (in coroutines the io_context destroys after the pool) forget it.
  ~pool();

  const cli::upstream_url& url() const { return url_; }
  const std::string& host_header() const { return host_header_; }

  // The most recently used idle connection that is still open, or nullptr. Connections idle past
  // the idle timeout, or that the peer has closed (or sent anything to) while idle, are dropped:
  // the socket is asked (a system call), since bytes it holds would be read as the next answer.
  std::unique_ptr<connection> take_idle();

  // An exchange on `conn` ended with the whole answer read. The connection goes back to the pool
  // when `reusable` (it is dropped when the pool is full), and the TLS session of a connection's
  // first exchange is kept either way (see session_): an upstream that closes after every answer
  // is where resuming saves the most.
  void exchange_done(std::unique_ptr<connection> conn, bool reusable);

  // Closes the idle connections (the process is about to stop), and stops sweeping them.
  void close_idle();

  // The drain timed out: every connection lent out has its pending operations cancelled, so that
  // the requests still waiting on HubSpot end through their usual path (an answer to the client,
  // the access log, the audit trail, a budget settled) rather than with the process. No
  // connection is lent after it.
  void cut_lent();
  bool cut() const noexcept { return cut_; }

  // Resolves, connects and completes a verified TLS handshake (SNI + host name check), all within
  // the connect timeout.
  io::awaitable<connect_result> connect();

  std::size_t idle_count() const { return idle_count_.load(std::memory_order_relaxed); } // any thread
  std::uint64_t handshakes() const { return handshakes_.load(std::memory_order_relaxed); }
  // Of those, the ones that resumed an earlier connection's session.
  std::uint64_t resumed_handshakes() const { return resumed_handshakes_.load(std::memory_order_relaxed); }

 private:
  net::io_context& ioc_;
  ssl::context& tls_;
  cli::upstream_url url_;
  std::string host_header_;
  pool_settings settings_;
  std::vector<std::unique_ptr<connection>> idle_; // the oldest first
  std::atomic<std::size_t> idle_count_{0}; // idle_.size(), for /metrics on the control plane's thread
  // Idle connections are dropped when a request looks for one (take_idle), and by a sweep when the
  // oldest passes the idle timeout: after a burst, the connections it left would otherwise stay open
  // (and a peer's close in CLOSE_WAIT) until the next request. Armed while any is idle.
  io::steady_timer sweep_;
  bool sweep_armed_ = false;
  void arm_sweep();
  void sweep();
  // The connections out of the pool, each knowing its place (connection::lent_at): kept for
  // cut_lent(), at the cost of a push and a swap-remove per exchange.
  std::vector<connection*> lent_;
  bool cut_ = false;
  void lend(connection& conn);
  friend struct connection;
  void give_back(connection& conn) noexcept;
  std::atomic<std::uint64_t> handshakes_{0};
  std::atomic<std::uint64_t> resumed_handshakes_{0};
  // The session of the newest connection, taken once its first exchange is done (by then a TLS 1.3
  // server's tickets have been read), and offered by the next connection made: a resumed handshake
  // skips the certificate chain's verification and, on TLS 1.2, a round trip, as nginx's
  // proxy_ssl_session_reuse does. The name was checked on the connection that made it; a pool
  // serves one upstream host. A session the server no longer takes costs a full handshake.
  struct session_free {
    void operator()(SSL_SESSION* session) const noexcept { SSL_SESSION_free(session); }
  };
  std::unique_ptr<SSL_SESSION, session_free> session_;
};

} // namespace hubgate::upstream
