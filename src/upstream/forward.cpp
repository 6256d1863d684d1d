#include "upstream/forward.hpp"

#include <boost/asio/ssl/error.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>

#include "http/appending_string_body.hpp"
#include "http/headers.hpp"
#include "http/response_head.hpp"
#include "http/serialize.hpp"
#include "hubgate/hubspot/text.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <limits>
#include <span>
#include <utility>

namespace hubgate::upstream {

namespace {

using io::use_tuple;

// Errors that mean a reused connection had been closed by the upstream before our request arrived.
bool is_stale_connection_error(const boost::system::error_code& ec) {
  return ec == bhttp::error::end_of_stream || ec == net::error::eof || ec == net::error::connection_reset ||
         ec == net::error::broken_pipe || ec == ssl::error::stream_truncated;
}

http::error_reply bad_gateway(std::string message) {
  return {bhttp::status::bad_gateway, "BAD_GATEWAY", std::move(message), true};
}

http::error_reply gateway_timeout(std::string message = "HubSpot did not answer in time") {
  return {bhttp::status::gateway_timeout, "GATEWAY_TIMEOUT", std::move(message), true};
}

// Whether a call may be sent again without doing twice what it does (RFC 9110 §9.2.2): a POST
// or PATCH that reached HubSpot may have made a contact, and a PUT makes a legacy timeline event.
bool repeatable(bhttp::verb method) {
  return method == bhttp::verb::get || method == bhttp::verb::head || method == bhttp::verb::options ||
         method == bhttp::verb::delete_;
}

// The answer for an exchange that failed with `ec` before anything reached the client: 504 when
// HubSpot took too long, else a 502 saying `message`, or that the drain's timeout cut it
// (pool::cut_lent). `may_have_acted`: HubSpot had the whole request of a call that is not
// repeatable, and may have acted on it; the answer then says so, with `x-should-retry: false`,
// since the SDKs retry a 5xx (a direct call that broke off is a network error, which they do not).
http::error_reply failed_exchange(const pool& upstream, const boost::system::error_code& ec, std::string message,
                                  bool may_have_acted) {
  http::error_reply reply = upstream.cut() ? bad_gateway("hubgate is stopping: its drain timed out before HubSpot "
                                                         "answered")
                            : ec == beast::error::timeout ? gateway_timeout()
                                                          : bad_gateway(std::move(message));
  if (may_have_acted) {
    reply.retry_can_help = false;
    reply.message += " (the call may have been made: check before sending it again)";
  }
  return reply;
}

bool has_no_body(unsigned status, bool head) {
  return head || (status >= 100 && status < 200) || status == 204 || status == 304;
}

constexpr std::size_t response_head_limit = 64 * 1024;

// Whether the upstream connection may carry another request after this answer: as the parser
// says, unless a 204 declared a body (RFC 9110 §8.6 forbids it), which it may send in a later read,
// where it would be the start of the next request's answer (response_head.cpp does the same).
template <class Body>
bool reusable_after(const bhttp::response_parser<Body>& parser) {
  return parser.keep_alive() &&
         !(parser.get().result_int() == 204 && (parser.chunked() || parser.content_length().value_or(0) > 0));
}

// Bytes an answer's framing may hold unread (a chunk size line with its extensions, trailer
// fields): Beast's parser bounds neither, and an upstream sending either without end would grow
// the connection's buffer without end.
constexpr std::size_t framing_limit = 64 * 1024;

// No transfer coding but chunked, which hubgate takes off and re-makes: any other would reach the
// client still applied, with its name gone.
template <class Fields>
bool plain_framing(const bhttp::response_header<Fields>& head) {
  const auto coding = head[bhttp::field::transfer_encoding];
  return coding.empty() || hubspot::iequals_ascii(hubspot::trim_ows({coding.data(), coding.size()}), "chunked");
}

// The most plaintext one TLS record carries.
constexpr std::size_t tls_record_payload = 16 * 1024;

std::string_view buffered(const beast::flat_buffer& buffer) {
  return {static_cast<const char*>(buffer.data().data()), buffer.size()};
}

// An LF that no CR comes right before: a line end Beast's parser never accepts.
bool holds_bare_lf(std::string_view bytes) {
  for (std::size_t lf = bytes.find('\n'); lf != std::string_view::npos; lf = bytes.find('\n', lf + 1)) {
    if (lf == 0 || bytes[lf - 1] != '\r') {
      return true;
    }
  }
  return false;
}

// The most pieces of an answer's body relayed in one gathered write.
constexpr std::size_t max_relayed_pieces = 16;

// A Beast Body for relaying: its reader notes where the body's next piece lies in the bytes the
// parser is given instead of copying it (buffer_body copied each piece into the relay buffer: 27 KB
// of a batch's answer, one more copy than nginx makes). The piece is valid until those bytes are
// consumed from the connection's buffer.
struct piece_body {
  using value_type = std::string_view;

  class reader {
   public:
    template <bool IsRequest, class Fields>
    reader(bhttp::header<IsRequest, Fields>&, value_type& piece) : piece_(piece) {}

    void init(const boost::optional<std::uint64_t>&, beast::error_code& ec) { ec = {}; }

    template <class ConstBufferSequence>
    std::size_t put(const ConstBufferSequence& buffers, beast::error_code& ec) {
      if (!piece_.empty()) {
        ec = bhttp::error::need_buffer; // one piece at a time: the relay takes it first
        return 0;
      }
      ec = {};
      const net::const_buffer first = *net::buffer_sequence_begin(buffers);
      piece_ = {static_cast<const char*>(first.data()), first.size()};
      return first.size();
    }

    void finish(beast::error_code& ec) { ec = {}; }

   private:
    value_type& piece_;
  };
};

// A request sent and the head of its answer read, on a connection that is now ours.
struct exchange_start {
  std::unique_ptr<connection> conn;
  // kind::simple: the head is at the start of conn->buffer, read by the fast scan only.
  http::response_head fast;
  // Otherwise Beast's parser has read the head.
  std::unique_ptr<bhttp::response_parser<piece_body>> parser; // parsers do not move
  std::optional<http::error_reply> failure;
  std::string detail;
  bool repeatable = true; // the request's method is (see repeatable())
};

// A request's bytes on their way upstream, one buffer per write, since the TLS stream encrypts one
// buffer per write (SSL_write_ex takes no buffer sequence), and the head shares its record with the
// body's first bytes:
// * a body read from the client has room for the head in front of it and goes out whole with it
//   (and a request without a body is its head alone);
// * any other body (rewritten by the gate, or spliced from a split batch's kept items) is copied
//   behind the head into `staging` (the session's relay buffer, idle until the answer comes) a
//   record at a time, except that a run of at least a record within one piece, or the body's
//   last piece, is written from where it lies once the staged bytes are out.
// Nothing is kept per connection but the head: a connection's string does not grow to a record.
// Not a coroutine of its own: a frame per request cost more than the writes it orders.
class request_writes {
public:
  request_writes(std::string& head, http::request_message& request, std::span<char> staging)
      : staging_(staging) {
    head.clear();
    http::append_head(head, request.base());
    whole_ = request.body().with_head(head);
    if (!whole_.empty()) {
      return;
    }
    if (request.body().empty()) {
      whole_ = head;
      return;
    }
    one_run_ = request.body().view();
    pieces_ = request.body().spliced() ? request.body().pieces() : std::span<const std::string_view>(&one_run_, 1);
    if (head.size() <= staging_.size()) {
      std::memcpy(staging_.data(), head.data(), head.size());
      staged_ = head.size();
    } else {
      whole_ = head; // alone, then the body staged
    }
  }
  request_writes(const request_writes&) = delete;
  request_writes& operator=(const request_writes&) = delete;

  // The next bytes to write; empty once all are written.
  std::string_view next() noexcept {
    if (!whole_.empty()) {
      return std::exchange(whole_, {});
    }
    while (staged_ < staging_.size() && piece_ < pieces_.size()) {
      const std::string_view rest = pieces_[piece_].substr(offset_);
      if (rest.empty()) { // an empty piece may have no address to copy from
        advance();
        continue;
      }
      if (staged_ == 0 && (rest.size() >= staging_.size() || piece_ + 1 == pieces_.size())) {
        break; // written from where it lies
      }
      const std::size_t n = std::min(rest.size(), staging_.size() - staged_);
      std::memcpy(staging_.data() + staged_, rest.data(), n);
      staged_ += n;
      offset_ += n;
      if (offset_ == pieces_[piece_].size()) {
        advance();
      }
    }
    if (staged_ != 0) {
      return {staging_.data(), std::exchange(staged_, 0)};
    }
    while (piece_ < pieces_.size()) {
      const std::string_view rest = pieces_[piece_].substr(offset_);
      advance();
      if (!rest.empty()) {
        return rest;
      }
    }
    return {};
  }

private:
  void advance() noexcept {
    ++piece_;
    offset_ = 0;
  }

  std::span<char> staging_;
  std::string_view whole_;                 // written as it is, before anything staged
  std::string_view one_run_;               // a body that is one run of bytes, as its only piece
  std::span<const std::string_view> pieces_;
  std::size_t piece_ = 0;                  // the body's next unsent byte: in pieces_[piece_] ...
  std::size_t offset_ = 0;                 // ... at this offset
  std::size_t staged_ = 0;                 // bytes in staging_ not yet written
};

// Takes a pooled connection (or makes one), sends the request and reads the answer's head. GET
// and HEAD that fail on a reused connection before any answer are retried once on a fresh one.
// `fast_head`: try the fast scan of the answer's head first (see response_head.hpp).
// (`out` is the caller's: a coroutine's result is held in its caller's frame as well, and forward()'s
// frame must stay small; see relay_parsed.)
io::awaitable<void> start_exchange(pool& upstream, http::request_message& request,
                                   std::chrono::milliseconds response_timeout, bool fast_head,
                                   std::span<char> staging, exchange_start& out) {
  const bool idempotent = request.method() == bhttp::verb::get || request.method() == bhttp::verb::head;
  const bool head = request.method() == bhttp::verb::head;
  out.repeatable = repeatable(request.method());
  // Once the whole request is written, a failure may follow HubSpot acting on it.
  const bool may_have_acted = !out.repeatable;

  for (int attempt = 0;; ++attempt) {
    // Every reuse asks the socket first (one system call): bytes that came while the connection
    // was idle (an answer nobody asked for, a 408 before a close) would be read as this request's
    // answer, another client's perhaps, and a closed connection would cost a POST its only try.
    auto conn = upstream.take_idle();
    const bool reused = conn != nullptr;
    if (!conn) {
      auto made = co_await upstream.connect();
      if (!made.conn) {
        out.failure = failed_exchange(upstream, {},
                                      made.failure == connect_failure::tls ? "TLS handshake with HubSpot failed"
                                                                           : "HubSpot could not be reached",
                                      false);
        out.detail = std::move(made.detail);
        co_return;
      }
      conn = std::move(made.conn);
    }
    auto& upstream_tcp = beast::get_lowest_layer(conn->stream);
    const bool may_retry = reused && idempotent && attempt == 0;

    upstream_tcp.expires_after(response_timeout);
    request_writes writes(conn->head_bytes, request, staging);
    boost::system::error_code wec;
    for (std::string_view bytes = writes.next(); !wec && !bytes.empty(); bytes = writes.next()) {
      std::tie(wec, std::ignore) = co_await net::async_write(conn->stream, net::buffer(bytes), use_tuple);
    }
    if (wec) {
      if (may_retry && is_stale_connection_error(wec)) {
        continue;
      }
      // A part of a request is not acted on. A write that timed out: HubSpot stopped reading
      // the request (it may have answered early, a 413 say, which is not read while writing).
      out.failure = wec == beast::error::timeout && !upstream.cut()
                        ? gateway_timeout("HubSpot did not take the whole request in time")
                        : failed_exchange(upstream, wec, "sending to HubSpot failed", false);
      out.detail = "write: " + wec.message();
      co_return;
    }

    // The common answer is read by the fast scan as the bytes arrive; an informational answer
    // (a 100 Continue we did not ask for) precedes the real one and is skipped.
    boost::system::error_code rec;
    while (fast_head) {
      out.fast = http::scan_response_head(buffered(conn->buffer), head, response_head_limit);
      if (out.fast.what == http::response_head::kind::simple && out.fast.status / 100 == 1 && out.fast.status != 101) {
        conn->buffer.consume(out.fast.size);
        continue;
      }
      if (out.fast.what != http::response_head::kind::incomplete) {
        break;
      }
      std::size_t n = 0;
      std::tie(rec, n) = co_await conn->stream.async_read_some(conn->buffer.prepare(16 * 1024), use_tuple);
      conn->buffer.commit(n);
      if (rec) {
        break;
      }
    }
    if (rec) {
      if (may_retry && conn->buffer.size() == 0 && is_stale_connection_error(rec)) {
        continue;
      }
      out.failure = failed_exchange(upstream, rec, "HubSpot's answer was unreadable", may_have_acted);
      out.detail = "read header: " + rec.message();
      co_return;
    }
    if (out.fast.what == http::response_head::kind::simple) {
      if (out.fast.status == 101) { // a protocol switch answers nothing hubgate asked
        out.failure = failed_exchange(upstream, {}, "HubSpot's answer could not be relayed", may_have_acted);
        out.detail = "101 Switching Protocols";
        co_return;
      }
      out.conn = std::move(conn);
      co_return;
    }

    // Beast's parser reads what the fast scan would not (from the bytes already buffered). It is
    // re-made for each head read: an informational answer precedes the real one.
    auto& parser_slot = out.parser;
    do {
      parser_slot = std::make_unique<bhttp::response_parser<piece_body>>();
      auto& p = *parser_slot;
      p.body_limit(boost::none); // streamed, so no size limit applies
      p.header_limit(64 * 1024);
      p.skip(head);
      std::tie(rec, std::ignore) = co_await bhttp::async_read_header(conn->stream, conn->buffer, p, use_tuple);
    } while (!rec && parser_slot->get().result_int() / 100 == 1 && parser_slot->get().result_int() != 101);
    if (rec) {
      if (may_retry && !parser_slot->got_some() && conn->buffer.size() == 0 && is_stale_connection_error(rec)) {
        continue;
      }
      out.failure = failed_exchange(upstream, rec, "HubSpot's answer was unreadable", may_have_acted);
      out.detail = "read header: " + rec.message();
      co_return;
    }
    if (const unsigned status = parser_slot->get().result_int();
        status < 100 || status == 101 || !plain_framing(parser_slot->get())) {
      // A protocol switch answers nothing hubgate asked; a transfer coding other than chunked
      // would reach the client coded, its name dropped with the framing hubgate re-makes; a
      // status under 100 (which Beast reads) is no HTTP status at all.
      out.failure = failed_exchange(upstream, {}, "HubSpot's answer could not be relayed", may_have_acted);
      out.detail = status == 101  ? "101 Switching Protocols"
                   : status < 100 ? "status " + std::to_string(status) + " under 100"
                                  : "transfer coding other than chunked";
      co_return;
    }
    out.conn = std::move(conn);
    co_return;
  }
}


// Relays an answer the fast scan read (Content-Length framed, or bodyless) from its bytes: the
// head as the client gets it and the first body bytes in one write, then the rest as it arrives.
io::awaitable<void> relay_simple(pool& upstream, exchange_start& started, client_side client,
                                  std::chrono::milliseconds response_timeout, std::span<char> relay_buffer,
                                  forward_outcome& out) {
  auto conn = std::move(started.conn);
  const http::response_head& fast = started.fast;
  out.upstream_status = fast.status;
  auto& upstream_tcp = beast::get_lowest_layer(conn->stream);
  auto& client_tcp = client.stream;
  // Read as late as possible: a drain that began while HubSpot was answering closes this one.
  const bool client_keep_alive = client.keep_alive && !(client.draining != nullptr && client.draining->load());

  std::string& response_head = conn->head_bytes;
  response_head.clear();
  const std::string_view bytes = buffered(conn->buffer);
  http::append_client_head(response_head, bytes, fast, client.version, client_keep_alive);
  std::uint64_t remaining = fast.has_body ? fast.content_length : 0;
  const std::size_t first = static_cast<std::size_t>(std::min<std::uint64_t>(remaining, bytes.size() - fast.size));
  const std::array<net::const_buffer, 2> wire{net::buffer(response_head),
                                              net::buffer(bytes.data() + fast.size, first)};
  client_tcp.expires_after(client.write_timeout);
  auto [wec, wn] = co_await net::async_write(client_tcp, wire, use_tuple);
  out.responded = true;
  if (wec) {
    out.detail = "write to client: " + wec.message();
    co_return;
  }
  conn->buffer.consume(fast.size + first);
  remaining -= first;
  out.body_bytes = first;

  while (remaining > 0) {
    upstream_tcp.expires_after(response_timeout);
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(remaining, relay_buffer.size()));
    auto [rec, n] = co_await conn->stream.async_read_some(net::buffer(relay_buffer.data(), want), use_tuple);
    if (rec) {
      // Part of the answer reached the client: closing its connection is the only honest signal.
      out.detail = "read body: " + rec.message();
      out.broke_off = true;
      out.broke_off_timed_out = rec == beast::error::timeout;
      co_return;
    }
    client_tcp.expires_after(client.write_timeout);
    auto [ec, written] = co_await net::async_write(client_tcp, net::buffer(relay_buffer.data(), n), use_tuple);
    if (ec) {
      out.detail = "write to client: " + ec.message();
      co_return;
    }
    remaining -= n;
    out.body_bytes += n;
  }
  out.client_reusable = client_keep_alive;
  // Bytes past the answer would be an answer nobody asked for: such a connection is not reused.
  upstream.exchange_done(std::move(conn), fast.keep_alive);
  co_return;
}

// Relays an answer whose head Beast's parser read (chunked, delimited by the upstream's close, or a
// head the fast scan leaves to Beast), framed anew for the client. The body goes out from where the
// upstream's bytes were read (piece_body): each pass parses what the connection's buffer holds into
// pieces, writes them, and only then consumes those bytes and reads more. A coroutine of its own so
// that forward()'s frame stays under the size asio recycles per thread (about 1 KB) instead of going
// to malloc on every request.
io::awaitable<void> relay_parsed(pool& upstream, exchange_start& started, bool head, client_side client,
                                  std::chrono::milliseconds response_timeout, forward_outcome& out) {
  auto conn = std::move(started.conn);
  auto& upstream_tcp = beast::get_lowest_layer(conn->stream);
  auto& parser = *started.parser;
  auto& res = parser.get();
  out.upstream_status = res.result_int();
  const bool upstream_keep_alive = reusable_after(parser);
  const bool bodyless = has_no_body(out.upstream_status, head);
  http::remove_hop_by_hop(res);
  // The framing is made anew from what the parser read: a length given twice (or as a list) goes
  // out once, and a 204 says no length at all (RFC 9110 §8.6).
  const auto length = parser.content_length();
  res.erase(bhttp::field::content_length);
  res.erase(bhttp::field::transfer_encoding);
  if (length && out.upstream_status != 204) {
    res.content_length(*length);
  }

  // Frame the answer for this client. A body whose end is the upstream closing (no length, not
  // chunked) is chunked for an HTTP/1.1 client; an HTTP/1.0 client learns its end by our close.
  // Read as late as possible: a drain that began while HubSpot was answering closes this one.
  bool client_keep_alive = client.keep_alive && !(client.draining != nullptr && client.draining->load());
  if (!bodyless && !length) {
    if (client.version >= 11) {
      res.chunked(true);
    } else {
      res.chunked(false);
      client_keep_alive = false;
    }
  }
  res.version(client.version);
  res.keep_alive(client_keep_alive);
  const bool chunked = !bodyless && res.chunked();
  std::string& response_head = conn->head_bytes;
  response_head.clear();
  http::append_head(response_head, res.base());

  // Fails the relay: before anything reached the client it gets an error reply; after, the only
  // honest signal left is closing its connection mid-body.
  auto broke_off = [&](const boost::system::error_code& ec) {
    out.detail = "read body: " + ec.message();
    if (!out.responded) {
      out.failure = failed_exchange(upstream, ec,
                                    "HubSpot answered " + std::to_string(out.upstream_status) + ", but its answer broke off",
                                    !started.repeatable);
    } else {
      out.broke_off = true;
      out.broke_off_timed_out = ec == beast::error::timeout;
    }
  };

  parser.eager(false); // one piece (or chunk header) per put: each piece is taken before the next
  auto& client_tcp = client.stream;
  bool head_sent = false;
  for (;;) {
    // The pieces the buffered bytes hold, up to as many as one gathered write takes. Those of a
    // chunked answer go out as one chunk: a size line for all of them, then their bytes. The write's
    // buffers are gathered in place: the head and the size line (those there are) go in the two
    // slots before the pieces, the chunk's end and the last chunk after them. (One array rather than
    // the pieces' own and a copy: the frame stays under the ~1 KB asio recycles, see forward.hpp.)
    std::array<net::const_buffer, max_relayed_pieces + 4> wire;
    constexpr std::size_t first_piece = 2;
    std::size_t count = 0;
    std::size_t data = 0;
    std::size_t used = 0;
    const std::string_view bytes = buffered(conn->buffer);
    while (!bodyless && !parser.is_done() && count < max_relayed_pieces && used < bytes.size()) {
      res.body() = {};
      boost::system::error_code ec;
      const std::size_t parsed = parser.put(net::const_buffer(bytes.data() + used, bytes.size() - used), ec);
      used += parsed;
      if (ec == bhttp::error::need_more) {
        break;
      }
      if (ec) {
        broke_off(ec);
        co_return;
      }
      if (!res.body().empty()) {
        wire[first_piece + count++] = net::buffer(res.body());
        data += res.body().size();
      }
      if (parsed == 0) {
        break;
      }
    }
    const bool done = bodyless || parser.is_done();
    if (data > 0 || done) { // the head waits for the body's first bytes, to go out with them
      std::array<char, 20> size_line{};
      std::size_t size_line_length = 0;
      if (chunked && data > 0) {
        char* end = std::to_chars(size_line.data(), size_line.data() + 16, data, 16).ptr;
        end[0] = '\r';
        end[1] = '\n';
        size_line_length = static_cast<std::size_t>(end + 2 - size_line.data());
      }
      static constexpr std::string_view chunk_end = "\r\n";
      static constexpr std::string_view last_chunk = "0\r\n\r\n";
      // Head, size line, the pieces, chunk end, last chunk: those there are, and no empty ones (the
      // write walks every buffer it is given).
      std::size_t first = first_piece;
      if (size_line_length > 0) {
        wire[--first] = net::buffer(size_line.data(), size_line_length);
      }
      if (!head_sent) {
        wire[--first] = net::buffer(response_head);
      }
      std::size_t buffers = first_piece + count;
      if (size_line_length > 0) {
        wire[buffers++] = net::buffer(chunk_end);
      }
      if (chunked && done) {
        wire[buffers++] = net::buffer(last_chunk);
      }
      client_tcp.expires_after(client.write_timeout);
      const std::span<const net::const_buffer> gathered(wire.data() + first, buffers - first);
      auto [ec, n] = co_await net::async_write(client_tcp, gathered, use_tuple);
      out.responded = true;
      head_sent = true;
      if (ec) {
        out.detail = "write to client: " + ec.message();
        co_return;
      }
      out.body_bytes += data;
    }
    conn->buffer.consume(used);
    if (done) {
      break;
    }
    if (count == max_relayed_pieces) {
      continue; // more pieces may be buffered
    }
    if (conn->buffer.size() >= framing_limit) { // the parser needs more, and has this much unread
      broke_off(bhttp::error::header_limit);
      co_return;
    }
    // The parser waits for the CRLF that ends a chunk's size line (or a trailer): a line ended by
    // a bare LF never gets one, as Beast reads only CRLF. Refused now, not at the response timeout.
    if (holds_bare_lf(buffered(conn->buffer))) {
      broke_off(bhttp::error::bad_line_ending);
      co_return;
    }
    upstream_tcp.expires_after(response_timeout);
    auto [rec, n] = co_await conn->stream.async_read_some(conn->buffer.prepare(tls_record_payload), use_tuple);
    conn->buffer.commit(n);
    if (rec == net::error::eof) {
      rec = {};
      parser.put_eof(rec); // the end of a body delimited by the close; a cut one otherwise
    }
    if (rec) {
      broke_off(rec);
      co_return;
    }
  }

  out.client_reusable = client_keep_alive;
  if (parser.is_done()) {
    upstream.exchange_done(std::move(conn), upstream_keep_alive);
  }
  co_return;
}

} // namespace

io::awaitable<void> forward(pool& upstream, http::request_message& request, client_side client,
                            std::chrono::milliseconds response_timeout, std::span<char> relay_buffer,
                            forward_outcome& out) {
  const bool head = request.method() == bhttp::verb::head;
  exchange_start started;
  co_await start_exchange(upstream, request, response_timeout, true, relay_buffer, started);
  if (started.failure) {
    out.failure = std::move(started.failure);
    out.detail = std::move(started.detail);
    co_return;
  }
  if (started.fast.what == http::response_head::kind::simple) {
    co_await relay_simple(upstream, started, client, response_timeout, relay_buffer, out);
  } else {
    co_await relay_parsed(upstream, started, head, client, response_timeout, out);
  }
}

io::awaitable<fetched_answer> fetch(pool& upstream, http::request_message& request,
                                    std::chrono::milliseconds response_timeout, std::span<char> staging,
                                    std::size_t max_body_bytes, std::size_t room) {
  fetched_answer out;
  exchange_start started;
  co_await start_exchange(upstream, request, response_timeout, false, staging, started);
  if (started.failure) {
    out.failure = std::move(started.failure);
    out.detail = std::move(started.detail);
    co_return out;
  }
  auto conn = std::move(started.conn);
  // The head was read without a body; the body is read by a parser of its own, straight into the
  // answer's string.
  bhttp::response_parser<http::appending_string_body> parser{std::move(*started.parser)};
  out.upstream_status = parser.get().result_int();
  auto too_large = [&] {
    out.failure = failed_exchange(upstream, {}, "HubSpot's answer was too large to merge", !started.repeatable);
    out.detail = "answer larger than " + std::to_string(max_body_bytes) + " bytes";
  };
  // The head was read with no body limit (forward() streams), so the parser has not held its
  // Content-Length against this one, and its reader would reserve room for whatever it says
  // (an exception that ended the session without an answer).
  if (const auto length = parser.content_length(); length && *length > max_body_bytes) {
    too_large();
    co_return out;
  }
  parser.body_limit(max_body_bytes);
  if (const auto length = parser.content_length()) {
    parser.get().body().reserve(static_cast<std::size_t>(*length) + room); // the reader then reserves nothing more
  }
  http::reserve_each_chunk reserve{parser.get().body(), room};
  parser.on_chunk_header(reserve);
  const bool upstream_keep_alive = reusable_after(parser);
  const std::size_t head_fields = http::field_count(parser.get().base());
  parser.eager(true);
  boost::system::error_code ec;
  while (!parser.is_done()) {
    // What is buffered is parsed before more is read. (Not Beast's async_read_some, which reads
    // on while its parser makes no progress: a line ended by a bare LF waited for the timeout.)
    if (const std::string_view bytes = buffered(conn->buffer); !bytes.empty()) {
      conn->buffer.consume(parser.put(net::buffer(bytes.data(), bytes.size()), ec));
      if (ec == bhttp::error::need_more) {
        ec = {};
      } else if (ec || parser.is_done()) {
        break;
      }
    }
    // More than this left unparsed is framing without end (a chunk size line's extensions,
    // trailer fields: 100 MB of one extension was once read and kept); a bare LF where the parser
    // waits for a line's CRLF never gets one.
    if (conn->buffer.size() >= framing_limit) {
      ec = bhttp::error::header_limit;
      break;
    }
    if (holds_bare_lf(buffered(conn->buffer))) {
      ec = bhttp::error::bad_line_ending;
      break;
    }
    beast::get_lowest_layer(conn->stream).expires_after(response_timeout); // for each read, as relayed answers
    auto [rec, n] = co_await conn->stream.async_read_some(conn->buffer.prepare(tls_record_payload), use_tuple);
    conn->buffer.commit(n);
    if (rec == net::error::eof) {
      parser.put_eof(ec); // the end of a body delimited by the close; a cut one otherwise
      break;
    }
    if (rec) {
      ec = rec;
      break;
    }
  }
  if (ec == bhttp::error::body_limit) {
    too_large();
    co_return out;
  }
  if (ec) {
    out.failure = failed_exchange(upstream, ec,
                                  "HubSpot answered " + std::to_string(parser.get().result_int()) +
                                      ", but its answer broke off",
                                  !started.repeatable);
    out.detail = "read body: " + ec.message();
    co_return out;
  }
  auto read = parser.release();
  http::drop_trailers(head_fields, read.base());
  out.answer.base() = std::move(read.base());
  out.answer.body() = std::move(read.body());
  out.answer.reason({}); // the client gets the standard reason phrase, not HubSpot's
  http::remove_hop_by_hop(out.answer);
  out.answer.erase(bhttp::field::content_length);
  out.answer.erase(bhttp::field::transfer_encoding);
  upstream.exchange_done(std::move(conn), upstream_keep_alive);
  co_return out;
}

} // namespace hubgate::upstream
