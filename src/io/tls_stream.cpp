#include "io/tls_stream.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>

#include <openssl/bio.h>
#include <openssl/err.h>

#include <sys/socket.h>

#include <cerrno>
#include <new>

namespace hubgate::io {

namespace {

// OpenSSL's own socket BIO (SSL_set_fd) writes with write(2), which raises SIGPIPE on a socket
// the peer has reset, and hubgate does not ignore SIGPIPE (asio sends with MSG_NOSIGNAL). This
// BIO is that socket BIO with send(MSG_NOSIGNAL) and recv, both MSG_DONTWAIT so that they never
// block whatever mode the fd is in. It reads the fd from the asio socket at every call, so a
// socket the deadline closed is never confused with a later socket given the same fd number.
// Errors are not put on OpenSSL's error queue: the errno is kept for tls_stream::attempt.

detail::tls_socket_state& state_of(BIO* bio) { return *static_cast<detail::tls_socket_state*>(BIO_get_data(bio)); }

int socket_read(BIO* bio, char* out, std::size_t size, std::size_t* read) {
  auto& state = state_of(bio);
  BIO_clear_retry_flags(bio);
  ssize_t n;
  do {
    n = ::recv(state.socket->native_handle(), out, size, MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR); // retried at once: waiting would need new bytes to wake up
  state.drained = n < 0 || static_cast<std::size_t>(n) < size; // see tls_stream::skip_attempt
  if (n > 0) {
    *read = static_cast<std::size_t>(n);
    return 1;
  }
  *read = 0;
  if (n == 0) {
    state.eof = true; // BIO_CTRL_EOF says so, and OpenSSL reports an EOF without close_notify
  } else if (errno == EAGAIN) {
    BIO_set_retry_read(bio);
  } else {
    state.error = errno;
  }
  return 0;
}

int socket_write(BIO* bio, const char* in, std::size_t size, std::size_t* written) {
  auto& state = state_of(bio);
  BIO_clear_retry_flags(bio);
  ssize_t n;
  do {
    n = ::send(state.socket->native_handle(), in, size, MSG_NOSIGNAL | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n >= 0) {
    *written = static_cast<std::size_t>(n);
    return 1;
  }
  *written = 0;
  if (errno == EAGAIN) {
    BIO_set_retry_write(bio);
  } else {
    state.error = errno;
  }
  return 0;
}

long socket_ctrl(BIO* bio, int command, long, void*) {
  switch (command) {
  case BIO_CTRL_FLUSH:
    return 1; // nothing is buffered here: writes go straight to the socket
  case BIO_CTRL_EOF:
    return state_of(bio).eof ? 1 : 0;
  default:
    return 0; // no kTLS, no pending bytes, nothing else to tell
  }
}

int socket_create(BIO*) { return 1; }
int socket_destroy(BIO*) { return 1; } // the state belongs to the stream, the fd to asio

const BIO_METHOD* socket_method() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "hubgate socket");
    if (m == nullptr || BIO_meth_set_read_ex(m, socket_read) != 1 || BIO_meth_set_write_ex(m, socket_write) != 1 ||
        BIO_meth_set_ctrl(m, socket_ctrl) != 1 || BIO_meth_set_create(m, socket_create) != 1 ||
        BIO_meth_set_destroy(m, socket_destroy) != 1) {
      throw std::bad_alloc();
    }
    return m;
  }();
  return method;
}

} // namespace

tls_stream::tls_stream(const executor& ex, boost::asio::ssl::context& context) : tcp_(ex) {
  socket_state_.socket = &tcp_.socket(); // tcp_stream keeps its socket on the heap: the address holds
  ssl_ = SSL_new(context.native_handle());
  BIO* bio = ssl_ != nullptr ? BIO_new(socket_method()) : nullptr;
  if (bio == nullptr) {
    SSL_free(ssl_);
    ERR_clear_error();
    throw std::bad_alloc();
  }
  BIO_set_data(bio, &socket_state_);
  BIO_set_init(bio, 1);
  SSL_set_bio(ssl_, bio, bio); // one BIO both ways: the SSL takes its one reference
  // Read-ahead: a recv takes whatever has arrived, up to the read buffer, instead of a record's
  // 5-byte header and then its body (two recvs per record). What it takes beyond the record
  // asked for stays in OpenSSL: has_buffered_input() sees it.
  SSL_set_read_ahead(ssl_, 1);
  // Partial writes stay off: SSL_write_ex returns once all of a buffer's records are sent (one
  // send each), so asio::async_write needs one operation per buffer, not one per 16 KB record.
  // After WANT_WRITE, OpenSSL wants the same call again, buffer and length included; tls_io_op
  // repeats exactly that call, so SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER is not needed either.
  // Release buffers, as nginx does: a connection waiting for HubSpot's answer, or idle in the
  // pool, holds no 17 KB record buffers. With 32 busy connections peak RSS fell 0.9 MB (16.2 ->
  // 15.3 MB); freeing and allocating them costs about 1,000 instructions per request.
  SSL_set_mode(ssl_, SSL_MODE_RELEASE_BUFFERS);
}

tls_stream::~tls_stream() {
  SSL_free(ssl_); // frees the BIO; the socket closes after this, with tcp_
}

tls_stream::step tls_stream::attempt(kind what, void* data, std::size_t size, boost::system::error_code& ec,
                                     std::size_t& bytes) noexcept {
  socket_state_.error = 0;
  int result = 0;
  switch (what) {
  case kind::read:
    if (size == 0) {
      return step::done;
    }
    result = SSL_read_ex(ssl_, data, size, &bytes);
    break;
  case kind::write:
    if (size == 0) {
      return step::done;
    }
    result = SSL_write_ex(ssl_, data, size, &bytes);
    break;
  case kind::handshake:
    result = SSL_connect(ssl_);
    if (result == 1) {
      // OpenSSL 3 may leave entries on the error queue after a successful handshake (failed
      // provider fetches and decoder attempts it recovered from). Cleared once per connection,
      // so that the first failure of this connection reports its own cause.
      ERR_clear_error();
    }
    break;
  }
  if (result == 1) {
    return step::done;
  }

  // Would block: the check SSL_get_error makes once the error queue is empty, made without
  // reading the queue. So the common WANT_READ costs no look-up of the thread's error state, and
  // an entry someone else left on the queue cannot turn a WANT_READ into a failure.
  if (SSL_want(ssl_) != SSL_NOTHING) {
    BIO* bio = SSL_get_rbio(ssl_);
    if (BIO_should_read(bio)) {
      return step::want_read;
    }
    if (BIO_should_write(bio)) {
      return step::want_write;
    }
  }

  // Failed. Errors are mapped as asio's ssl::stream maps them, so that the callers' checks (a
  // stale pooled connection, a truncated answer) read the same. A socket error first: ECONNRESET
  // and EPIPE compare equal to asio's connection_reset and broken_pipe.
  if (socket_state_.error != 0) {
    ec = boost::system::error_code(socket_state_.error, boost::system::system_category());
    ERR_clear_error(); // see below
    return step::done;
  }
  switch (SSL_get_error(ssl_, result)) {
  case SSL_ERROR_WANT_READ:
    return step::want_read;
  case SSL_ERROR_WANT_WRITE:
    return step::want_write;
  case SSL_ERROR_ZERO_RETURN: // the peer's close_notify
    ec = boost::asio::error::eof;
    break;
  case SSL_ERROR_SYSCALL:
    // No socket error: the peer closed without close_notify, which asio reports as
    // stream_truncated (OpenSSL 1.1's way to say it; 3 says it with SSL_ERROR_SSL, below).
    ec = boost::asio::ssl::error::stream_truncated;
    break;
  case SSL_ERROR_SSL: {
    const unsigned long error = ERR_peek_error(); // the first: the cause, as asio reports it
    if (ERR_GET_LIB(error) == ERR_LIB_SSL && ERR_GET_REASON(error) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
      ec = boost::asio::ssl::error::stream_truncated; // OpenSSL 3's word for the same close
    } else {
      ec = boost::system::error_code(static_cast<int>(error), boost::asio::error::get_ssl_category());
    }
    break;
  }
  default:
    ec = boost::asio::ssl::error::unexpected_result;
    break;
  }
  // The error queue is per thread and OpenSSL adds to it only when an operation fails; emptied
  // here, after each failure, rather than before every operation as asio does, it is empty when
  // the next operation on this thread starts, so a failure reports its own cause. (A successful
  // or would-block read or write adds nothing; SSL_connect empties the queue itself on entry,
  // and its leftovers on success are cleared above. Only the upstream side of hubgate uses
  // libssl; the hashing elsewhere leaves nothing behind unless it fails, and then throws.)
  ERR_clear_error();
  return step::done;
}

} // namespace hubgate::io
