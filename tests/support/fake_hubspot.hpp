#pragma once

// A fake HubSpot API: an HTTP/1.1 server over TLS on 127.0.0.1 that records every request and
// answers through a handler the test sets. Asio and Beast stay in the .cpp, so tests that only
// drive the hubgate process do not pay for them.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "support/test_pki.hpp"

namespace hubgate::test {

using header_list = std::vector<std::pair<std::string, std::string>>;

/** One request as it reached the fake, after TLS and chunked decoding. */
struct recorded_request {
  std::string method;          ///< As sent, e.g. "POST".
  std::string target;          ///< Request target as sent, e.g. "/crm/v3/objects/contacts?a=b".
  unsigned version = 11;       ///< 11 for HTTP/1.1, 10 for HTTP/1.0.
  header_list headers;         ///< Every header field, in wire order, names as sent.
  std::string body;            ///< The whole body, chunked encoding removed.
  std::size_t connection = 0;  ///< 1-based number of the TCP (and TLS) connection it came on.

  /** Value of the first header named `name` (case-insensitive), if any. */
  std::optional<std::string> header(std::string_view name) const;
  /** Values of every header named `name` (case-insensitive), in wire order. */
  std::vector<std::string> header_values(std::string_view name) const;
};

/** What the fake does once it has read a request. */
enum class fake_action {
  respond,               ///< Answer, keep the connection if the request allows it.
  reset_connection,      ///< Answer nothing: close the TCP socket with SO_LINGER 0 (RST).
  close_after_response,  ///< Answer with `Connection: close`, then close_notify and TCP close.
};

/** The answer a handler returns. */
struct fake_response {
  unsigned status = 200;
  /** Sent in this order. The fake sets Content-Length or Transfer-Encoding itself. */
  header_list headers;
  std::string body;
  /** Send the body with Transfer-Encoding: chunked, in several chunks, each its own write. */
  bool chunked = false;
  /** Chunk size when `chunked`; 0 splits the body into three chunks (fewer if it is shorter). */
  std::size_t chunk_size = 0;
  /** Pause between two chunks, so a test can see a proxy forward the first before the last. */
  std::chrono::milliseconds chunk_delay{0};
  /** Wait before answering (an Asio timer: other connections keep being served). */
  std::chrono::milliseconds delay{0};
  fake_action action = fake_action::respond;
  // (Members below were added last: tests initialise the ones above by position.)
  /** With `chunked`: all chunks and the last chunk in one write, so a proxy reads many at once. */
  bool chunks_in_one_write = false;
  /** With `chunked`: the last chunk is never sent; the fake closes (close_notify) after the body. */
  bool break_off = false;
  /** Neither Content-Length nor chunked: the body ends where the fake closes (close_notify). */
  bool unframed = false;
  /** Bytes sent after the answer in the same write (a misbehaving server: a second answer no one
      asked for). With `chunked`, needs `chunks_in_one_write`. */
  std::string trailing_bytes;
  /** Bytes sent `late_delay` after the answer, on its own, while the proxy holds the connection
      idle (a server that answers twice, or says 408 before it closes an idle connection). */
  std::string late_bytes;
  std::chrono::milliseconds late_delay{0};
  /** With `chunked` and `chunks_in_one_write`: trailer fields after the last chunk, each line
      "Name: value\r\n". */
  std::string trailer_fields;
  /** When not empty: written as the whole answer, byte for byte (no head is made), after which the
      fake closes the connection (close_notify). For answers no well-behaved server sends. */
  std::string raw_answer;
  /** With `raw_answer`: the connection is left open after it (until the proxy closes it), as a
      server that has more to send would leave it. */
  bool raw_answer_stays_open = false;
};

/** A response with `Content-Type: application/json;charset=utf-8`, as HubSpot sends. */
fake_response json_response(unsigned status, std::string body);

/**
 * The fake server. It listens from construction on and serves from its own thread; the destructor
 * abandons every connection and pending delay, and joins without waiting for peers.
 *
 * Behaviour: keep-alive with any number of sequential requests per connection; the request body
 * is read completely before the handler runs; `Expect: 100-continue` is answered; a request with
 * `Connection: close` (or HTTP/1.0 without keep-alive) gets `Connection: close` and the fake then
 * closes. Limits: 64 KiB of headers, 64 MiB of body.
 *
 * @par Thread safety
 * Every public member may be called from any thread, except from inside a handler where only
 * the const observers may be used (`close_idle_connections` would deadlock and throws instead).
 */
class fake_hubspot {
 public:
  using handler = std::function<fake_response(const recorded_request&)>;

  /** Starts serving with `server` as certificate and key (e.g. `shared_test_pki().server`). */
  explicit fake_hubspot(const key_pair_pem& server);
  ~fake_hubspot();
  fake_hubspot(const fake_hubspot&) = delete;
  fake_hubspot& operator=(const fake_hubspot&) = delete;

  std::uint16_t port() const;
  /** "https://127.0.0.1:<port>". */
  std::string url() const;

  /**
   * Replaces the handler for requests read from now on. It runs on the fake's thread and must
   * not block; throwing answers 500 with the exception text. The default answers
   * `json_response(200, "{}")`.
   */
  void set_handler(handler h);
  /**
   * When not empty: every request is answered with these bytes as soon as its head is read, and
   * its body is never read (the connection stays open), as a server refusing a body too large to
   * take (an early 413) may do.
   */
  void set_early_answer(std::string raw);

  /** Copy of every request recorded so far, in the order they were read. */
  std::vector<recorded_request> requests() const;
  /** TCP connections accepted so far. */
  std::size_t connections() const;
  /** TLS handshakes completed so far. */
  std::size_t handshakes() const;
  /** Of those, the ones that resumed an earlier session (a ticket this fake issued). */
  std::size_t resumed_handshakes() const;
  /** SNI host name the client sent in the last completed handshake; empty if none was sent. */
  std::string last_sni() const;

  /** Blocks until at least `n` requests were recorded; false on timeout. */
  bool wait_for_requests(std::size_t n, std::chrono::milliseconds timeout) const;
  /** Blocks until at least `n` responses' `late_bytes` were written; false on timeout. */
  bool wait_for_late_writes(std::size_t n, std::chrono::milliseconds timeout) const;
  /** Blocks until at least `n` TCP connections were accepted; false on timeout. */
  bool wait_for_connections(std::size_t n, std::chrono::milliseconds timeout) const;

  /**
   * Closes every connection that is waiting for its next request (TLS close_notify, then TCP
   * close), as a server whose keep-alive timeout fired would. Connections in the middle of a
   * handshake or a request are left alone. Returns when all of them are closed.
   * @return how many connections were closed.
   * @throws std::logic_error if called from a handler.
   */
  std::size_t close_idle_connections();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace hubgate::test
