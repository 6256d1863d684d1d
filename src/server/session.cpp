#include "server/session.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

#include <array>
#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <utility>

#include "http/appending_string_body.hpp"
#include "http/error_reply.hpp"
#include "http/header_lookup.hpp"
#include "http/headers.hpp"
#include "http/request_body.hpp"
#include "http/request_head.hpp"
#include "http/serialize.hpp"
#include "hubgate/gate/gate.hpp"
#include "hubgate/hubspot/classify.hpp"
#include "hubgate/hubspot/error_shape.hpp"
#include "hubgate/hubspot/extract.hpp"
#include "hubgate/hubspot/operation.hpp"
#include "hubgate/hubspot/text.hpp"
#include "hubgate/access/new_contacts.hpp"
#include "logging/log.hpp"
#include "server/client_access.hpp"
#include "server/report.hpp"
#include "upstream/forward.hpp"

namespace hubgate::server {

namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using io::use_tuple;

// The memory reading a JSON body takes (hubspot::json_document), taken from what bodies may hold
// as the reader's buffer grows: 20 bytes a token, the old buffer's given back once the new one
// has taken its place. All of it given back when it goes, once the body is decided.
class reading_allowance final : public hubspot::token_allowance {
 public:
  // `body_bytes`: what the body itself holds of the same memory.
  reading_allowance(http::body_memory& memory, std::size_t body_bytes) noexcept
      : hold_(memory), room_(memory.limit() - std::min(body_bytes, memory.limit())) {}

  bool allow(std::uint32_t tokens) noexcept override {
    const std::size_t bytes = std::size_t{tokens} * sizeof(hubspot::json_token);
    if (hold_.take(bytes)) {
      next_ = bytes;
      return true;
    }
    others_held_it_ = hold_.bytes() + bytes <= room_;
    return false;
  }
  void replaced() noexcept override {
    hold_.give(current_); // 0 for a buffer the thread kept from an earlier body, never taken here
    current_ = std::exchange(next_, 0);
  }
  // A refusal that would not have been one had no other body held memory: worth a retry.
  bool short_of_what_others_hold() const noexcept { return others_held_it_; }

 private:
  http::body_hold hold_;
  std::size_t room_;
  std::size_t current_ = 0; // taken for the buffer in use
  std::size_t next_ = 0;    // taken for the one allowed, until it replaces it
  bool others_held_it_ = false;
};

// "0,2,5": a header value listing a batch's item indexes.
std::string index_list(const std::vector<std::size_t>& indexes) {
  std::string out;
  for (const std::size_t i : indexes) {
    if (!out.empty()) {
      out += ',';
    }
    out += std::to_string(i);
  }
  return out;
}

std::string_view to_string(gate::action a) {
  switch (a) {
    case gate::action::pass:
      return "pass";
    case gate::action::forward:
      return "forward";
    case gate::action::answer:
      return "answer";
    case gate::action::split:
      return "split";
  }
  return "pass";
}

struct request_log {
  std::string method;
  std::string_view operation; // the catalog's name for it, when it is a contact-creating call
  std::string_view decision;  // what the gate did
  std::string_view client;    // the client its key named (auth: clients)
  std::string target;
  unsigned status = 0;
  unsigned upstream_status = 0;
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  std::chrono::steady_clock::time_point started;
  std::string correlation_id;
  std::string detail;
  request_report report; // for metrics and the audit trail (server/report.hpp)
};

void write_access_log(const proxy_state& state, const request_log& entry) {
  // Every answered request comes through here exactly once: the place to count it.
  const auto now = std::chrono::steady_clock::now();
  report_request(state.sinks, entry.report, entry.status, entry.upstream_status, entry.correlation_id, now);
  if (!state.options.access_log) {
    return;
  }
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(now - entry.started);
  std::string redacted_detail;
  std::string_view detail = entry.detail;
  if (logging::may_hold_email(detail)) {
    redacted_detail = logging::redact_emails(detail);
    detail = redacted_detail;
  }
  logging::info("request", {{"method", entry.method},
                            {"path", entry.target},
                            {"operation", entry.operation},
                            {"client", entry.client},
                            {"decision", entry.decision},
                            {"status", entry.status},
                            {"upstream_status", entry.upstream_status},
                            {"bytes_in", entry.bytes_in},
                            {"bytes_out", entry.bytes_out},
                            {"duration_us", static_cast<std::uint64_t>(micros.count())},
                            {"correlation_id", entry.correlation_id},
                            {"detail", detail}});
}

// Answers a request hubgate itself rejects or cannot serve, and logs it. Returns whether the
// connection may carry another request. (Callers pass named objects, never temporaries: g++ 12
// destroys temporaries of a co_await expression twice.)
io::awaitable<bool> send_response(io::tcp_stream& stream, const proxy_state& state,
                                  bhttp::response<bhttp::string_body>& res, request_log& entry) {
  // A flat head and the body in one gathered write: Beast's serializer costs more than the bytes.
  std::string head;
  head.reserve(256); // one allocation: an error's head is about 200 bytes
  http::append_head(head, res.base());
  // An answer to HEAD has no body, whatever its Content-Length says: a client reads none, and a
  // body sent anyway would be read as the next answer on the connection.
  const bool head_only = entry.method == "HEAD";
  const std::array<net::const_buffer, 2> wire{net::buffer(head),
                                              head_only ? net::const_buffer() : net::buffer(res.body())};
  stream.expires_after(state.options.client_body_timeout);
  auto [ec, n] = co_await net::async_write(stream, wire, use_tuple);
  entry.status = res.result_int();
  entry.bytes_out = head_only ? 0 : res.body().size();
  write_access_log(state, entry);
  co_return !ec && res.keep_alive();
}

// `retry_after`: when waiting helps (a budget's window rolls), how long.
io::awaitable<bool> send_error(io::tcp_stream& stream, const proxy_state& state, const http::error_reply& reply,
                               unsigned version, bool keep_alive, request_log& entry,
                               std::chrono::seconds retry_after = std::chrono::seconds(0)) {
  if (entry.correlation_id.empty()) {
    entry.correlation_id = hubspot::make_correlation_id();
  }
  // A drain that began while the request was in flight closes the connection after it.
  auto res = http::make_error_response(reply, entry.correlation_id, version, keep_alive && !state.draining.load());
  if (retry_after.count() > 0) {
    res.set(bhttp::field::retry_after, std::to_string(retry_after.count()));
  }
  if (entry.detail.empty()) {
    entry.detail = reply.message;
  }
  co_return co_await send_response(stream, state, res, entry);
}

} // namespace

io::awaitable<void> run_session(io::tcp_stream stream, proxy_state& state, io_thread& thread,
                                std::shared_ptr<session_slot> slot) {
  const auto& opts = state.options;
  slot->stream = &stream;
  // Bounded: Beast's parser bounds neither a chunk's extensions nor trailer fields, and a client
  // sending either without end would grow an unbounded buffer without end. A head (64 KiB) and a
  // read behind it fit; a read that would pass the bound fails, and the request is refused.
  beast::flat_buffer buffer(http::request_header_limit + 2 * 64 * 1024);
  bool unread_input = false; // the session ends with client bytes it has not read
  // The rules in force as this session last saw them; refreshed only after a reload.
  std::shared_ptr<const reload::loaded_rules> rules_cache;

  std::size_t blank_lines = 0; // bytes of empty lines skipped before the next request
  for (;;) {
    // Between requests the idle timeout applies; once a request's first byte is in, the client
    // has the header timeout to send the rest of its head (slow clients are cut off).
    if (buffer.size() == 0) {
      slot->idle_since.store(std::chrono::steady_clock::now().time_since_epoch().count(), std::memory_order_relaxed);
      slot->idle.store(true, std::memory_order_release);
      if (state.draining.load()) {
        break;
      }
      stream.expires_after(opts.client_idle_timeout);
      auto [ec, n] = co_await stream.async_read_some(buffer.prepare(4096), use_tuple);
      slot->idle.store(false, std::memory_order_release);
      if (ec) {
        break; // closed, idle too long, or closed by the drain: nothing to answer
      }
      buffer.commit(n);
    }
    // An empty line before a request line is skipped (RFC 9112 §2.2: some clients end a body
    // with an extra CRLF), a few bytes of it at most: the rest reaches the parser, which refuses it.
    if (const auto* bytes = static_cast<const char*>(buffer.data().data());
        blank_lines < 4 && (bytes[0] == '\r' || bytes[0] == '\n')) {
      buffer.consume(1);
      ++blank_lines;
      continue;
    }
    blank_lines = 0;
    request_log entry;
    entry.started = std::chrono::steady_clock::now();

    bhttp::request_parser<bhttp::empty_body> head_parser;
    head_parser.header_limit(http::request_header_limit);
    head_parser.body_limit(opts.max_body_bytes);
    stream.expires_after(opts.client_header_timeout);
    // The whole head usually came in the read above (or behind a pipelined request): parse it in
    // place, and read only when the parser asks for more.
    boost::system::error_code hec;
    std::size_t head_bytes = head_parser.put(buffer.data(), hec);
    buffer.consume(head_bytes);
    if (hec == bhttp::error::need_more) {
      hec = {};
    }
    if (!hec && !head_parser.is_header_done()) {
      std::size_t more = 0;
      std::tie(hec, more) = co_await bhttp::async_read_header(stream, buffer, head_parser, use_tuple);
      head_bytes += more;
    }
    if (hec) {
      entry.method = "-";
      if (hec == beast::error::timeout) {
        // The stream closed the socket when its deadline passed: there is nobody to answer.
        entry.status = 408;
        entry.detail = "client sent its request head too slowly";
        write_access_log(state, entry);
      } else if (hec == bhttp::error::header_limit) {
        const http::error_reply reply{bhttp::status::request_header_fields_too_large, "VALIDATION_ERROR",
                                      "Request head is larger than 64 KiB"};
        co_await send_error(stream, state, reply, 11, false, entry);
        unread_input = true;
      } else if (hec == bhttp::error::body_limit) {
        // Content-Length above the limit, known from the head alone.
        const http::error_reply reply{bhttp::status::payload_too_large, "VALIDATION_ERROR",
                                      "Request body is larger than " + std::to_string(opts.max_body_bytes) + " bytes"};
        co_await send_error(stream, state, reply, 11, false, entry);
        unread_input = true;
      } else if (hec != bhttp::error::end_of_stream && hec != net::error::eof && hec != net::error::connection_reset &&
                 hec != net::error::operation_aborted) {
        entry.detail = hec.message();
        const http::error_reply reply{bhttp::status::bad_request, "VALIDATION_ERROR", "Malformed HTTP request"};
        co_await send_error(stream, state, reply, 11, false, entry);
        unread_input = true;
      }
      break;
    }

    auto& head = head_parser.get();
    const unsigned version = head.version();
    bool keep_alive = head_parser.keep_alive();
    entry.method = head.method_string();
    if (opts.access_log) {
      entry.target = logging::redact_target(head.target());
    }
    entry.bytes_in = head_bytes;

    // What the call is, from its head alone (CONNECT, target form, classification, framing,
    // method overrides: http/request_head.hpp, shared with the fuzz target).
    auto checked = http::check_request_head(head, head_parser.chunked());
    if (checked.refusal) {
      co_await send_error(stream, state, *checked.refusal, version, false, entry);
      unread_input = true;
      break;
    }
    auto& classification = checked.classification;
    const std::optional<std::size_t> target_offset = checked.target_offset;
    if (classification.op != nullptr) {
      entry.operation = classification.op->name;
    }
    entry.report.classified(classification.op, stream);

    // Who is calling. Under auth: clients an unknown caller is refused here, before its body is read.
    const reload::loaded_rules& rules_in_force = state.rules.refresh(rules_cache); // kept for this request
    const access::access_policy& access = rules_in_force.rules->access();
    const access::client* client = nullptr;
    access::client_ledger::account* account = nullptr;
    if (access.mode == access::auth_mode::clients) {
      const auto [first_authorization, no_more] = head.equal_range(bhttp::field::authorization);
      const bool several = first_authorization != no_more && std::next(first_authorization) != no_more;
      const access::caller caller = several ? access::caller{nullptr, access::refusal::several_credentials}
                                            : access.identify(head[bhttp::field::authorization], head.target());
      if (caller.who == nullptr) {
        state.sinks.clients.count_refusal(caller.refused);
        entry.report.refused(metrics::request_decision::unauthorized);
        const bool body_pending = !head_parser.is_done();
        http::error_reply refusal = access_refusal_reply(caller.refused);
        refusal.forms_shape = classification.upstream == hubspot::upstream_id::forms;
        if (!co_await send_error(stream, state, refusal, version, keep_alive && !body_pending, entry) ||
            body_pending) {
          unread_input = body_pending;
          break;
        }
        continue;
      }
      client = caller.who;
      account = rules_in_force.accounts[static_cast<std::size_t>(client - access.clients.data())];
      account->requests.fetch_add(1, std::memory_order_relaxed);
      entry.client = client->name;
      entry.report.identified(client->name);
    }

    if (auto length = head_parser.content_length(); length && *length > opts.max_body_bytes) {
      const http::error_reply reply{bhttp::status::payload_too_large, "VALIDATION_ERROR",
                                    "Request body is larger than " + std::to_string(opts.max_body_bytes) + " bytes"};
      co_await send_error(stream, state, reply, version, false, entry);
      unread_input = true;
      break;
    }

    // The body's bytes are taken from what all sessions may hold as they arrive, a step ahead at
    // most (the first step before a client waiting for 100 Continue is told to send them); past
    // that, 503, and the rest of the body is left unread. Given back when this request is done:
    // `hold` goes after `request`.
    constexpr std::size_t hold_step = 64 * 1024;
    http::body_hold hold(state.bodies);
    const auto too_many_bodies = [&] {
      return http::error_reply{bhttp::status::service_unavailable, "SERVICE_UNAVAILABLE",
                               "hubgate holds as many request bodies as it may (--max-body-memory): retry shortly",
                               true};
    };
    if (const auto length = head_parser.content_length();
        length && !hold.hold_at_least(std::min(static_cast<std::size_t>(*length), hold_step))) {
      const http::error_reply reply = too_many_bodies();
      co_await send_error(stream, state, reply, version, false, entry, std::chrono::seconds(1));
      unread_input = true;
      break;
    }
    // A client waiting for 100 Continue gets it before its body is read.
    if (!head_parser.is_done() && version >= 11 &&
        hubspot::iequals_ascii(head[bhttp::field::expect], "100-continue")) {
      static constexpr std::string_view continue_line = "HTTP/1.1 100 Continue\r\n\r\n";
      stream.expires_after(opts.client_body_timeout);
      auto [ec, n] = co_await net::async_write(stream, net::buffer(continue_line), use_tuple);
      if (ec) {
        break;
      }
    }
    // The body, read whole (bounded by the body limit, checked above for a Content-Length). One
    // with a length is read straight into the message's storage, which nothing writes before
    // (http/request_body.hpp): what came behind the head, then the rest from the socket. A chunked
    // one goes through Beast's parser.
    const std::size_t head_fields = head_parser.chunked() ? http::field_count(head) : 0; // for trailers
    http::request_message request;
    boost::system::error_code bec;
    if (head_parser.chunked()) {
      bhttp::request_parser<http::appending_string_body> body_parser{std::move(head_parser)};
      body_parser.body_limit(opts.max_body_bytes);
      http::reserve_each_chunk reserve{body_parser.get().body()};
      body_parser.on_chunk_header(reserve);
      stream.expires_after(opts.client_body_timeout);
      // A read at a time (the connection's buffer bounds each), the bytes held once they are in.
      while (!bec && !body_parser.is_done()) {
        std::size_t body_bytes = 0;
        std::tie(bec, body_bytes) = co_await bhttp::async_read_some(stream, buffer, body_parser, use_tuple);
        entry.bytes_in += body_bytes;
        if (!bec && !hold.hold_at_least(body_parser.get().body().size())) {
          bec = bhttp::error::buffer_overflow;
        }
      }
      auto read = body_parser.release();
      request.base() = std::move(read.base());
      if (!bec) {
        request.body().receive(read.body()); // a failed read's bytes are not used
      }
    } else {
      const std::size_t length = head_parser.content_length().value_or(0);
      request.base() = std::move(head_parser.release().base());
      const std::span<char> body = request.body().overwrite(length);
      std::size_t got = net::buffer_copy(net::buffer(body.data(), body.size()), buffer.data());
      buffer.consume(got);
      entry.bytes_in += got;
      if (!hold.hold_at_least(got)) {
        bec = bhttp::error::buffer_overflow;
      }
      stream.expires_after(opts.client_body_timeout);
      while (!bec && got < length) {
        const std::size_t want = std::min(length - got, hold_step);
        if (!hold.hold_at_least(got + want)) {
          bec = bhttp::error::buffer_overflow;
          break;
        }
        std::size_t body_bytes = 0;
        std::tie(bec, body_bytes) =
            co_await net::async_read(stream, net::mutable_buffer(body.data() + got, want), use_tuple);
        entry.bytes_in += body_bytes;
        got += body_bytes;
        if (bec == net::error::eof) {
          bec = bhttp::error::partial_message; // a body cut short, as Beast's parser reports it
        }
      }
    }
    if (bec) {
      if (slot->cut) {
        // Nothing was sent on: the client may send it again, to another replica.
        const http::error_reply reply{bhttp::status::service_unavailable, "SERVICE_UNAVAILABLE",
                                      "hubgate is stopping: its drain timed out before the request's body arrived "
                                      "(nothing was sent to HubSpot)",
                                      true};
        co_await send_error(stream, state, reply, version, false, entry);
      } else if (hold.refused()) {
        const http::error_reply reply = too_many_bodies();
        co_await send_error(stream, state, reply, version, false, entry, std::chrono::seconds(1));
      } else if (bec == bhttp::error::body_limit) {
        const http::error_reply reply{bhttp::status::payload_too_large, "VALIDATION_ERROR",
                                      "Request body is larger than " + std::to_string(opts.max_body_bytes) + " bytes"};
        co_await send_error(stream, state, reply, version, false, entry);
      } else if (bec == beast::error::timeout) {
        entry.status = 408; // the socket is closed already: nobody to answer
        entry.detail = "client sent its request body too slowly";
        write_access_log(state, entry);
      } else if (bec != bhttp::error::end_of_stream && bec != net::error::eof && bec != net::error::connection_reset) {
        entry.detail = bec.message();
        const http::error_reply reply{bhttp::status::bad_request, "VALIDATION_ERROR", "Malformed request body"};
        co_await send_error(stream, state, reply, version, false, entry);
      }
      unread_input = true;
      break;
    }
    if (auto trailers = http::check_trailers(head_fields, request)) {
      co_await send_error(stream, state, *trailers, version, false, entry);
      unread_input = true;
      break;
    }
    keep_alive = keep_alive && !state.draining.load();

    if (*target_offset != 0) {
      request.target(std::string(request.target().substr(*target_offset)));
    }

    // The gate. Requests outside the catalog skip it unless a rule is about such requests.
    const auto& rule_snapshot = rules_in_force.rules;
    gate::decision decision;
    bool retry_reading = false;
    entry.report.decided(decision, rules_in_force, request);
    if (classification.op != nullptr || rule_snapshot->reaches_non_catalog()) {
      http::fields_header_lookup headers(request);
      gate::request_view view =
          http::gate_view(request, headers, client != nullptr ? std::string_view(client->name) : std::string_view());
      // Reading a JSON body takes memory too: 20 bytes a value and key (hubspot::json_document),
      // 10 times the size of a body of tiny values. For a large body it is taken from what bodies
      // may hold as the reader's buffer grows, and given back once the body is decided; what it
      // cannot take fails the reading: a 413, or a 503 when other bodies held what it lacked.
      std::optional<reading_allowance> reading;
      if (classification.op != nullptr && view.body.size() > hold_step) {
        view.json_allowance = &reading.emplace(state.bodies, hold.bytes());
      }
      entry.correlation_id = hubspot::make_correlation_id();
      decision = gate::decide(*rule_snapshot, classification, view, entry.correlation_id);
      entry.decision = to_string(decision.what);
      entry.detail = decision.reason;
      retry_reading = decision.too_many_values && reading && reading->short_of_what_others_hold();
    }
    if (retry_reading) {
      const http::error_reply reply = too_many_bodies();
      if (!co_await send_error(stream, state, reply, version, keep_alive, entry, std::chrono::seconds(1))) {
        break;
      }
      continue;
    }
    // A client's new-contact budget: reserved before anything is forwarded, settled by the answer.
    // A client without a budget holds one that is never refused, so that what it creates is counted.
    access::client_ledger::reservation budget;
    if (client != nullptr && client->max_new_contacts) {
      if (auto refused = reserve_budget(state.sinks.clients, *account, *client, decision, budget)) {
        refused->reply.forms_shape = classification.upstream == hubspot::upstream_id::forms;
        entry.decision = "answer";
        entry.detail = refused->reply.message;
        entry.report.refused(metrics::request_decision::over_budget);
        if (!co_await send_error(stream, state, refused->reply, version, keep_alive, entry, refused->retry_after)) {
          break;
        }
        continue;
      }
    } else if (client != nullptr) {
      if (const auto potential = access::potential_new_contacts(decision); potential && *potential > 0) {
        state.sinks.clients.track(*account, *potential, budget);
      }
    }

    if (decision.what == gate::action::answer) {
      auto res = http::make_json_response(decision.answer.status, std::move(decision.answer.body), entry.correlation_id,
                                          version, keep_alive, decision.answer.retry_can_help);
      if (!co_await send_response(stream, state, res, entry)) {
        break;
      }
      continue;
    }
    if (decision.what == gate::action::split && decision.kept_items.empty()) {
      auto stitched = gate::stitch(decision, 0, {});
      auto res = http::make_json_response(stitched.status, std::move(stitched.body), entry.correlation_id, version,
                                          keep_alive, false);
      if (!co_await send_response(stream, state, res, entry)) {
        break;
      }
      continue;
    }
    if (decision.what == gate::action::forward || decision.what == gate::action::split) {
      // What was checked is what is sent: the canonical target, and the body as decided.
      request.target(decision.forward_target);
      // The body as received stays alive with the request: the decision's records point into
      // it, the audit entry reads them after the answer, and a spliced body is made of it.
      if (decision.body) {
        request.body().assign(std::move(*decision.body));
        if (const auto type = request.find(bhttp::field::content_type); type != request.end()) {
          request.set(bhttp::field::content_type, hubspot::rewritten_content_type(type->value()));
        }
      } else if (!decision.body_pieces.empty()) {
        request.body().splice(std::move(decision.body_pieces));
      }
    }

    // The request as it goes upstream: the upstream's Host, no hop-by-hop headers, and framing
    // re-made for the buffered body.
    const auto upstream_id = classification.upstream;
    upstream::pool& pool = thread.pool_of(upstream_id);
    http::remove_hop_by_hop(request);
    if (access.mode == access::auth_mode::clients) {
      // The client's key stays here; HubSpot sees only the token hubgate holds.
      request.set(bhttp::field::authorization, access.upstream_authorization);
    }
    request.erase(bhttp::field::expect);
    request.erase(bhttp::field::content_length);
    request.erase(bhttp::field::transfer_encoding);
    request.set(bhttp::field::host, pool.host_header());
    request.version(11);
    request.prepare_payload();

    // Stages a rewritten or spliced body on its way upstream, then relays a streamed answer: lent
    // by the thread for this request (relay_buffers.hpp).
    auto relay = thread.relays.take();
    const std::span<char> relay_buffer = relay.span();
    if (decision.what == gate::action::split || budget || wants_answer(state.sinks, decision)) {
      // The answer read whole: to merge the blocked items of a split batch into it before the
      // client sees it, or for the audit entry to name the contacts HubSpot created. Read, so
      // asked for as text: the SDKs accept gzip, and a compressed answer would be relayed with
      // the blocked items missing and every contact counted as new.
      request.set(bhttp::field::accept_encoding, "identity");
      entry.report.upstream_begin(upstream_id);
      const std::size_t stitch_room = decision.what == gate::action::split ? gate::stitch_room(decision) : 0;
      auto fetched =
          co_await upstream::fetch(pool, request, opts.upstream_response_timeout, relay_buffer, 64 * 1024 * 1024, stitch_room);
      entry.report.upstream_end(fetched.failure);
      if (fetched.failure) {
        // Nothing reached HubSpot when it could not be connected to; otherwise it may have created
        // what it was sent, and the budget says so.
        const auto kind = metrics::classify_upstream_failure(static_cast<unsigned>(fetched.failure->status),
                                                             fetched.failure->message);
        const bool unsent = kind == metrics::upstream_error::connect || kind == metrics::upstream_error::tls;
        budget.settle(unsent ? 0 : budget.contacts());
        entry.detail = fetched.detail;
        entry.upstream_status = fetched.upstream_status; // HubSpot answered, when its answer broke off
        if (!co_await send_error(stream, state, *fetched.failure, version, keep_alive, entry)) {
          break;
        }
        continue;
      }
      entry.upstream_status = fetched.answer.result_int();
      auto& res = fetched.answer;
      if (const auto coding = res[bhttp::field::content_encoding];
          !coding.empty() && !hubspot::iequals_ascii(coding, "identity")) {
        logging::warn("upstream answered compressed though asked for text: blocked items and new contacts not read from it",
                      {{"content_encoding", std::string_view(coding.data(), coding.size())}});
      }
      if (budget) {
        budget.settle(access::reported_new_contacts(decision, res.result_int(), res.body(), budget.contacts()));
      }
      if (decision.what == gate::action::split) {
        auto stitched = gate::stitch(decision, res.result_int(), std::move(res.body()));
        if (res.result_int() / 100 == 2 && !stitched.merged) {
          // HubSpot's success could not be read as a batch answer: it goes to the client as it
          // came (what HubSpot made stays said), the blocked items named in a header only.
          logging::warn("a split batch's answer could not be read: blocked items named in x-hubgate-blocked-items only",
                        {{"correlation_id", entry.correlation_id}, {"upstream_status", res.result_int()}});
        }
        res.result(stitched.status);
        const bool merged = stitched.merged;
        res.body() = std::move(stitched.body);
        if (!merged) {
          // HubSpot refused the items it got (a 409 over one existing email, a 400), or answered
          // what is not a batch result: its answer is relayed as it came, as the SDKs read it.
          // These say which of the caller's items it was about (an index in its message counts in
          // the batch HubSpot got) and which hubgate blocked, so that a fix and a retry do not
          // meet the blocked ones by surprise.
          res.set("x-hubgate-forwarded-items", index_list(decision.kept_items));
          std::vector<std::size_t> blocked;
          for (const auto& item : decision.blocked) {
            blocked.push_back(item.index);
          }
          res.set("x-hubgate-blocked-items", index_list(blocked));
        }
      }
      entry.report.answered(res.body());
      res.version(version);
      res.keep_alive(keep_alive && !state.draining.load());
      res.prepare_payload();
      if (res.result_int() == 204) {
        res.erase(bhttp::field::content_length); // a 204 says no length at all (RFC 9110 §8.6)
      }
      if (!co_await send_response(stream, state, res, entry)) {
        break;
      }
      continue;
    }

    entry.report.upstream_begin(upstream_id);
    upstream::forward_outcome outcome;
    co_await upstream::forward(
        pool, request, upstream::client_side{stream, version, keep_alive, opts.client_body_timeout, &state.draining},
        opts.upstream_response_timeout, relay_buffer, outcome);
    entry.report.upstream_end(outcome.failure);
    entry.upstream_status = outcome.upstream_status;
    if (outcome.failure) {
      entry.detail = outcome.detail;
      logging::warn("upstream request failed", {{"upstream", pool.url().host}, {"reason", outcome.detail}});
      if (!co_await send_error(stream, state, *outcome.failure, version, keep_alive, entry)) {
        break;
      }
      continue;
    }
    if (outcome.broke_off) {
      entry.report.upstream_broke_off(outcome.broke_off_timed_out);
      logging::warn("upstream answer broke off after its head reached the client",
                    {{"upstream", pool.url().host}, {"reason", outcome.detail}});
    }
    entry.status = outcome.upstream_status;
    entry.bytes_out = outcome.body_bytes;
    entry.detail = outcome.detail;
    write_access_log(state, entry);
    if (!outcome.client_reusable) {
      break;
    }
  }

  // A clean close: our FIN after the last answer, so the client reads it all.
  boost::system::error_code ignored;
  stream.socket().shutdown(net::ip::tcp::socket::shutdown_send, ignored);
  if (unread_input && stream.socket().is_open()) {
    // Closing with unread bytes in the receive queue makes the kernel send a reset, which can
    // destroy our error answer before the client reads it. So read and drop what the client still
    // sends, bounded in bytes and time, until it closes (nginx's "lingering close"). A client
    // that sends a body whole before it reads the answer (Node's fetch) gets its 413 for a body
    // of tens of MiB too, rather than a reset.
    std::array<char, 4096> sink;
    std::size_t dropped = 0;
    stream.expires_after(std::chrono::seconds(5));
    while (dropped < 64 * 1024 * 1024) {
      auto [ec, n] = co_await stream.async_read_some(net::buffer(sink), use_tuple);
      dropped += n;
      if (ec) {
        break;
      }
    }
  }
  slot->stream = nullptr;
  state.leave(slot);
}

} // namespace hubgate::server
