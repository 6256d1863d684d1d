#pragma once
// Sends one request upstream over a pooled connection and relays the answer to the client as it
// arrives: the response body is streamed, never held whole.

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <tuple>
#include <span>
#include <string>

#include "http/error_reply.hpp"
#include "http/request_body.hpp"
#include "upstream/pool.hpp"

namespace hubgate::upstream {

namespace bhttp = boost::beast::http;

struct client_side {
  io::tcp_stream& stream;
  unsigned version;  // 10 or 11: the answer is framed for it
  bool keep_alive;   // the client wants, and the server allows, another request on this connection
  std::chrono::milliseconds write_timeout;
  const std::atomic<bool>* draining = nullptr; // once set, the answer closes the connection
};

struct forward_outcome {
  unsigned upstream_status = 0;   // 0 when no answer came
  std::uint64_t body_bytes = 0;   // response body bytes relayed
  bool responded = false;         // something was written to the client
  bool client_reusable = false;   // the client connection may carry the next request
  std::optional<http::error_reply> failure; // nothing was written: the caller answers with this
  std::string detail;             // why it failed, for the log
  // The answer broke off after part of it reached the client (no `failure` then): the upstream's
  // fault, counted as one, though the client saw the answer's status.
  bool broke_off = false;
  bool broke_off_timed_out = false; // ... because it stalled past --upstream-response-timeout
};

// `request` must be ready to send: origin-form target, Host set, hop-by-hop headers removed, body
// framed. GET and HEAD that fail on a reused connection before any answer are retried once on a
// fresh one; other methods never are (a POST is never sent twice). `relay_buffer` (a TLS record's
// worth) stages a body that is not one run of bytes as received on its way out, then relays the
// answer. The outcome goes to `out` (fresh), which the caller keeps: a coroutine's result would be
// held in forward()'s frame and its callees' as well, and that frame must stay within the ~1 KB
// asio recycles per thread, or every request pays malloc's slow path for it (1,088 bytes did).
io::awaitable<void> forward(pool& upstream, http::request_message& request, client_side client,
                            std::chrono::milliseconds response_timeout, std::span<char> relay_buffer,
                            forward_outcome& out);

struct fetched_answer {
  bhttp::response<bhttp::string_body> answer; // hop-by-hop and framing headers removed
  std::optional<http::error_reply> failure;   // set when there is no answer to use
  std::string detail;
  unsigned upstream_status = 0; // HubSpot's status once its head was read, also when its body then failed
};

// Like forward(), but reads HubSpot's whole answer (up to `max_body_bytes`) instead of relaying it,
// for answers hubgate must change before the client sees them (a split batch's). The answer's
// string is made with `room` bytes of capacity beyond the body, for the caller's edits. `staging`
// (a record's worth: the session's relay buffer) is where a body that is not one run of bytes as
// received is gathered behind the head on its way out.
io::awaitable<fetched_answer> fetch(pool& upstream, http::request_message& request,
                                    std::chrono::milliseconds response_timeout, std::span<char> staging,
                                    std::size_t max_body_bytes, std::size_t room = 0);

} // namespace hubgate::upstream
