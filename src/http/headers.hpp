#pragma once
// Header hygiene of a proxy, on Beast field sets (no sockets).

#include <boost/beast/http/fields.hpp>

namespace hubgate::http {

// Drops the hop-by-hop headers of RFC 9110 §7.6.1 that must not be forwarded: Connection and every
// header it names, Keep-Alive, Proxy-*, TE, Trailer and Upgrade. Framing headers (Content-Length,
// Transfer-Encoding) are left for the caller, who re-frames the message it sends.
void remove_hop_by_hop(boost::beast::http::fields& fields);

} // namespace hubgate::http
