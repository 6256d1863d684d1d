#pragma once
// The checks a request head passes before its body is read, on Beast's parsed head (no sockets).
// Shared by the session (server/session.cpp) and the fuzz target (tests/fuzz), so that what is
// fuzzed is what runs. A refusal is answered in HubSpot's error shape and the connection closed.

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>

#include <cstddef>
#include <optional>

#include "http/error_reply.hpp"
#include "http/headers.hpp"
#include "hubgate/gate/gate.hpp"
#include "hubgate/hubspot/classify.hpp"

namespace hubgate::http {

// The largest request head read (a larger one is answered 431).
inline constexpr std::size_t request_header_limit = 64 * 1024;

// The most header fields a request may have (more are answered 431): each costs a parsed field's
// memory, 64 KiB of empty fields about 1.3 MB, held while the body is awaited. An SDK sends ten.
inline constexpr std::size_t request_field_limit = 256;

struct checked_head {
  std::size_t target_offset = 0; // where the origin-form (path and query) starts in the target
  hubspot::classification classification;
  std::optional<error_reply> refusal; // set: answer it and close; the members above are then unset
};

// `chunked`: whether the parser reads the body as chunked. Refuses more than request_field_limit
// fields, CONNECT, targets that are not
// origin- or absolute-form, targets classify() cannot read, ambiguous framing (Content-Length with
// Transfer-Encoding, codings other than chunked), method overrides, header names that read as a
// framing or body header once `_` is taken for `-`, and on contact-creating calls a repeated
// Content-Type or Content-Encoding.
checked_head check_request_head(const boost::beast::http::request_header<>& head, bool chunked);

// Chunked trailer fields join the headers when the body is read, after check_request_head() has
// run: a request that had any is refused. `head_fields` is field_count() (http/headers.hpp) of the
// head before the body was read, or 0 for a body that is not chunked (nothing to check).
std::optional<error_reply> check_trailers(std::size_t head_fields, const boost::beast::http::fields& fields);

// The gate's view of a request read whole (target already in origin-form): views into `request`
// and `headers`, which must outlive it.
// (Any body read as a std::string_view: the session's request_body, the fuzz target's string_body.)
template <typename Body>
gate::request_view gate_view(const boost::beast::http::request<Body>& request, const rules::header_lookup& headers,
                             std::string_view client = {}) {
  namespace bhttp = boost::beast::http;
  return {request.method_string(),
          request.target(),
          std::string_view(request.body()),
          request[bhttp::field::content_type],
          request[bhttp::field::content_encoding],
          &headers,
          client};
}

} // namespace hubgate::http
