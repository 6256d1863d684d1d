#pragma once
// An endpoint as IP:PORT, as --listen and --admin-listen take it: an IPv6 address in brackets
// ([::1]:8080), where `:::8080` would not read back.

#include <boost/asio/ip/tcp.hpp>

#include <string>

namespace hubgate::io {

inline std::string endpoint_text(const boost::asio::ip::tcp::endpoint& endpoint) {
  const auto address = endpoint.address();
  const std::string ip = address.to_string();
  return (address.is_v6() ? "[" + ip + "]" : ip) + ":" + std::to_string(endpoint.port());
}

} // namespace hubgate::io
