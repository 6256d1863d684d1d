#pragma once
// One client connection: read a request (head first, bounded in time and size), decide where it
// goes, forward it, relay the answer; repeat while the connection is kept alive. Requests on one
// connection are handled one after the other, so pipelined requests are answered in order.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <memory>

#include "server/server.hpp"

namespace hubgate::server {

// A session as the drain sees it. Touched only on the session's strand.
struct session_slot {
  explicit session_slot(net::any_io_executor ex) : executor(std::move(ex)) {}
  net::any_io_executor executor;
  boost::beast::tcp_stream* stream = nullptr; // null once the session has ended
  bool idle = false;                          // waiting for the next request's first byte
};

net::awaitable<void> run_session(boost::beast::tcp_stream stream, proxy_state& state, std::shared_ptr<session_slot> slot);

} // namespace hubgate::server
