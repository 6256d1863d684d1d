#pragma once
// Header hygiene of a proxy, on Beast field sets (no sockets).

#include <boost/beast/http/fields.hpp>

#include <cstddef>

namespace hubgate::http {

// Drops the hop-by-hop headers of RFC 9110 §7.6.1 that must not be forwarded: Connection and every
// header it names, Keep-Alive, Proxy-*, TE, Trailer and Upgrade. Framing headers (Content-Length,
// Transfer-Encoding) are left for the caller, who re-frames the message it sends.
void remove_hop_by_hop(boost::beast::http::fields& fields);

// How many fields `fields` holds. Beast's parser appends a chunked body's trailer fields to its
// head's: the count taken before the body is read tells them apart.
std::size_t field_count(const boost::beast::http::fields& fields);

// Erases every field after the first `head_fields`: the trailers of a body read whole, which must
// not reach a client as headers of the re-framed message (a Set-Cookie or a Location the head
// never had).
void drop_trailers(std::size_t head_fields, boost::beast::http::fields& fields);

} // namespace hubgate::http
