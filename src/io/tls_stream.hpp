#pragma once
// TLS on the upstream socket itself, the way nginx does it: OpenSSL reads and writes the
// connected non-blocking socket, an operation is first tried at once, and only when OpenSSL
// answers SSL_ERROR_WANT_READ or WANT_WRITE does it wait for the socket's readiness
// (tcp_stream::async_wait, under the stream's deadline) and try again. (One exception, for
// syscalls: a read right after a recv that emptied the socket waits first; see skip_attempt.)
//
// Why not asio's ssl::stream: its engine puts OpenSSL on a memory BIO pair, so every byte is
// copied socket -> BIO -> SSL and back, and every step goes through engine::perform, which calls
// ERR_clear_error (costly in OpenSSL 3: it walks the thread's whole error queue) and BIO_ctrl
// several times, and its composed operations add scheduler hops. Here a read that finds its
// answer costs one SSL_read_ex, and one recv inside it.
//
// A Beast AsyncReadStream and AsyncWriteStream (get_executor, async_read_some, async_write_some),
// so Beast's HTTP reads and asio::async_write work on it; beast::get_lowest_layer gives the
// tcp_stream (deadlines, the socket). Like asio's streams, it must outlive its operations, and it
// runs one read and one write at a time at most. No close_notify is sent: a connection is
// dropped by destroying it (SSL_free, then the socket closes).

#include <boost/asio/append.hpp>
#include <boost/asio/associator.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/socket_base.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>

#include <openssl/ssl.h>

#include <cstddef>
#include <utility>

#include "io/executor.hpp"
#include "io/tcp_stream.hpp"

namespace hubgate::io {

namespace detail {

// What the stream's BIO knows about its last socket call (see tls_stream.cpp).
struct tls_socket_state {
  tcp_socket* socket = nullptr; // the fd is read at every call: a socket the deadline closed is -1
  int error = 0;                // errno of the last failed recv or send, 0 if none failed
  bool eof = false;             // the peer closed its side: recv returned 0
  bool drained = false;         // the last recv emptied the socket (it returned less than asked)
};

template <typename Handler, bool WithBytes>
struct tls_io_op;

} // namespace detail

class tls_stream {
 public:
  using executor_type = executor;
  using next_layer_type = tcp_stream;

  // A client connection with the settings of `context` (verification mode, trust store, protocol
  // versions). The caller connects next_layer(), sets the peer's name (SNI, host check) on
  // native_handle(), then calls async_handshake. Throws std::bad_alloc when OpenSSL cannot
  // allocate.
  tls_stream(const executor& ex, boost::asio::ssl::context& context);
  ~tls_stream();
  tls_stream(const tls_stream&) = delete; // OpenSSL's BIO points at this object
  tls_stream& operator=(const tls_stream&) = delete;

  executor_type get_executor() noexcept { return tcp_.get_executor(); }
  tcp_stream& next_layer() noexcept { return tcp_; }
  const tcp_stream& next_layer() const noexcept { return tcp_; }
  SSL* native_handle() noexcept { return ssl_; }

  // True when OpenSSL holds bytes from the peer that nobody read yet: decrypted data, or records
  // read ahead from the socket (with read-ahead on, a recv takes all it can).
  bool has_buffered_input() const noexcept { return SSL_has_pending(ssl_) == 1; }

  // The client handshake (SSL_connect) on the connected socket. Completes with void(error_code).
  template <typename Token>
  auto async_handshake(Token&& token) {
    return start<void(boost::system::error_code), false>(std::forward<Token>(token), kind::handshake, nullptr, 0);
  }

  // Reads into the first non-empty buffer of `buffers` (one SSL_read_ex).
  template <typename MutableBuffers, typename Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    const boost::asio::mutable_buffer into = first_non_empty<boost::asio::mutable_buffer>(buffers);
    return start<void(boost::system::error_code, std::size_t), true>(std::forward<Token>(token), kind::read,
                                                                     into.data(), into.size());
  }

  // Writes the first non-empty buffer of `buffers` whole (one SSL_write_ex: partial writes are
  // off, so a write ends when all its records are on the socket, or fails).
  template <typename ConstBuffers, typename Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    const boost::asio::const_buffer from = first_non_empty<boost::asio::const_buffer>(buffers);
    return start<void(boost::system::error_code, std::size_t), true>(
        std::forward<Token>(token), kind::write, const_cast<void*>(from.data()), from.size());
  }

 private:
  template <typename, bool>
  friend struct detail::tls_io_op;

  enum class kind { handshake, read, write };
  enum class step { done, want_read, want_write };

  // One try of the operation. `done`: `ec` and `bytes` hold its result. Otherwise OpenSSL needs
  // the socket to become readable or writable first, and the same call must then be repeated.
  step attempt(kind what, void* data, std::size_t size, boost::system::error_code& ec, std::size_t& bytes) noexcept;

  // True when trying first is sure to find nothing, so the operation waits for readability at
  // once: the socket is closed (the deadline passed: the wait fails at once, as a timeout), or a
  // read finds OpenSSL empty and its last recv emptied the socket. The try would then be a recv
  // that fails with EAGAIN, one syscall per answer for nothing: the upstream is far away, its
  // answer comes long after the request went out. nginx skips that recv the same way (its `ready`
  // flag); asio's own reads do not (only a read of 0 bytes marks a socket exhausted). Bytes that
  // came in the meantime wake the wait at once: async_wait re-arms epoll, which reports them.
  // That re-arming is one epoll_ctl a wait; waiting by an asio read instead would trade it for
  // the recv that fails with EAGAIN, and both cost about 0.4 µs here (measured in session 13).
  bool skip_attempt(kind what) noexcept {
    if (!tcp_.socket().is_open()) {
      return true;
    }
    return what == kind::read && socket_state_.drained && SSL_has_pending(ssl_) != 1;
  }

  template <typename Buffer, typename Buffers>
  static Buffer first_non_empty(const Buffers& buffers) {
    for (auto it = boost::asio::buffer_sequence_begin(buffers); it != boost::asio::buffer_sequence_end(buffers); ++it) {
      Buffer b(*it);
      if (b.size() != 0) {
        return b;
      }
    }
    return Buffer();
  }

  template <typename Signature, bool WithBytes, typename Token>
  auto start(Token&& token, kind what, void* data, std::size_t size) {
    return boost::asio::async_initiate<Token, Signature>(
        [this, what, data, size](auto handler) {
          using op = detail::tls_io_op<decltype(handler), WithBytes>;
          boost::system::error_code ec;
          std::size_t bytes = 0;
          const step next = skip_attempt(what) ? step::want_read : attempt(what, data, size, ec, bytes);
          if (next != step::done) {
            wait(next, op{this, what, data, size, std::move(handler)});
          } else if constexpr (WithBytes) {
            // Done at the first try, which is the common case for writes. The handler is not
            // called from inside this function (asio's own operations never do): with
            // use_awaitable it would resume the coroutine on top of this stack frame, and a loop
            // of such reads would grow the stack without bound. Posting costs about as much as
            // asio's own immediate completion (a queue push on this thread).
            boost::asio::post(tcp_.get_executor(), boost::asio::append(std::move(handler), ec, bytes));
          } else {
            boost::asio::post(tcp_.get_executor(), boost::asio::append(std::move(handler), ec));
          }
        },
        token);
  }

  template <typename Op>
  void wait(step next, Op&& op) {
    tcp_.async_wait(next == step::want_read ? boost::asio::socket_base::wait_read : boost::asio::socket_base::wait_write,
                    std::forward<Op>(op));
  }

  tcp_stream tcp_;
  SSL* ssl_ = nullptr;
  detail::tls_socket_state socket_state_;
};

namespace detail {

// An operation that waits for readiness between tries; the wait's error (beast::error::timeout
// once the deadline closed the socket) ends it.
template <typename Handler, bool WithBytes>
struct tls_io_op {
  tls_stream* stream;
  tls_stream::kind what;
  void* data;
  std::size_t size;
  Handler handler;

  void operator()(boost::system::error_code ec) {
    std::size_t bytes = 0;
    const tls_stream::step next = ec ? tls_stream::step::done : stream->attempt(what, data, size, ec, bytes);
    if (next != tls_stream::step::done) {
      stream->wait(next, std::move(*this));
    } else if constexpr (WithBytes) {
      std::move(handler)(ec, bytes);
    } else {
      std::move(handler)(ec);
    }
  }
};

} // namespace detail

} // namespace hubgate::io

// An operation keeps the caller's executor, allocator and cancellation slot.
template <template <typename, typename> class Associator, typename Handler, bool WithBytes, typename DefaultCandidate>
struct boost::asio::associator<Associator, hubgate::io::detail::tls_io_op<Handler, WithBytes>, DefaultCandidate>
    : Associator<Handler, DefaultCandidate> {
  static typename Associator<Handler, DefaultCandidate>::type
  get(const hubgate::io::detail::tls_io_op<Handler, WithBytes>& op) noexcept {
    return Associator<Handler, DefaultCandidate>::get(op.handler);
  }
  static auto get(const hubgate::io::detail::tls_io_op<Handler, WithBytes>& op, const DefaultCandidate& d) noexcept
      -> decltype(Associator<Handler, DefaultCandidate>::get(op.handler, d)) {
    return Associator<Handler, DefaultCandidate>::get(op.handler, d);
  }
};
