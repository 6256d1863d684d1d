#pragma once
// The I/O types of the request path. Every I/O thread runs an io_context of its own, and every
// socket, timer and coroutine of the request path lives on one of them, so they all name the
// io_context's executor type: the type-erased any_io_executor cost a few thousand instructions per
// proxied request in copies alone (issue #2), and no strand is needed where one thread runs it all.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/basic_socket_acceptor.hpp>
#include <boost/asio/basic_stream_socket.hpp>
#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>

namespace hubgate::io {

using executor = boost::asio::io_context::executor_type;

template <typename T>
using awaitable = boost::asio::awaitable<T, executor>;

// The completion token of the request path: errors as values, in a coroutine on `executor`.
inline constexpr auto use_tuple = boost::asio::as_tuple(boost::asio::use_awaitable_t<executor>{});

using tcp_socket = boost::asio::basic_stream_socket<boost::asio::ip::tcp, executor>;
using tcp_acceptor = boost::asio::basic_socket_acceptor<boost::asio::ip::tcp, executor>;
using steady_timer = boost::asio::basic_waitable_timer<std::chrono::steady_clock,
                                                       boost::asio::wait_traits<std::chrono::steady_clock>, executor>;

} // namespace hubgate::io
