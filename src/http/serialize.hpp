#pragma once
// A message head written out as bytes. Beast's serializer walks a long chain of buffer views for
// every write; for the common case (a head and one body buffer) writing a flat head is much
// cheaper, and lets the head and the first body bytes leave in one write.

#include <boost/beast/http/message.hpp>

#include <string>

namespace hubgate::http {

// Appends "METHOD target HTTP/1.x\r\n", the fields and the blank line.
void append_head(std::string& out, const boost::beast::http::request_header<>& head);

// Appends "HTTP/1.x status reason\r\n", the fields and the blank line.
void append_head(std::string& out, const boost::beast::http::response_header<>& head);

} // namespace hubgate::http
