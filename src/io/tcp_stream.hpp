#pragma once
// The request path's TCP stream: a socket whose reads, writes, waits and connects fail with
// beast::error::timeout once a deadline has passed (the socket is closed then), like
// beast::tcp_stream, which it replaces there.
//
// Why not basic_stream: it arms a timer when each read or write starts and cancels it when the
// read or write ends, which runs the cancelled wait through the scheduler too; about 3k
// instructions per proxied request (issue #2). Here a stream's one timer stays armed while
// operations are pending and wakes at most once a second to compare the clock with the deadline,
// so moving the deadline costs a clock read. The deadline is still exact: the timer is re-armed
// when a deadline comes before its next wake-up.

#include <boost/asio/associator.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detail/handler_cont_helpers.hpp>
#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>

#include <chrono>
#include <memory>
#include <utility>

#include "io/executor.hpp"

namespace hubgate::io {

namespace detail {

struct tcp_stream_state {
  using clock = std::chrono::steady_clock;
  explicit tcp_stream_state(const executor& ex) : socket(ex), timer(ex) {}
  explicit tcp_stream_state(tcp_socket&& s) : socket(std::move(s)), timer(socket.get_executor()) {}

  tcp_socket socket;
  steady_timer timer;
  clock::time_point deadline = clock::time_point::max();
  clock::time_point wake_up = clock::time_point::max(); // when the armed timer fires
  bool timer_armed = false;
  unsigned timer_generation = 0; // a re-armed timer's earlier wait is ignored
  unsigned pending = 0;          // operations in progress
  bool timed_out = false;        // the deadline closed the socket
};

// Completes an operation: the error is beast::error::timeout once the deadline closed the socket.
template <typename Handler>
struct deadline_completion {
  Handler handler;
  std::shared_ptr<tcp_stream_state> on;

  template <typename... Results>
  void operator()(boost::system::error_code ec, Results&&... results) {
    --on->pending;
    if (on->timed_out) {
      ec = boost::beast::error::timeout;
    }
    std::move(handler)(ec, std::forward<Results>(results)...);
  }

  friend bool asio_handler_is_continuation(deadline_completion* c) {
    return boost_asio_handler_cont_helpers::is_continuation(c->handler);
  }
};

} // namespace detail

class tcp_stream {
  using clock = std::chrono::steady_clock;
  using state = detail::tcp_stream_state;
  template <typename Handler>
  using completion = detail::deadline_completion<Handler>;
  static constexpr clock::duration wake_up_interval = std::chrono::seconds(1);

 public:
  using executor_type = executor;
  using lowest_layer_type = tcp_socket; // for asio's ssl::stream
  using socket_type = tcp_socket;

  explicit tcp_stream(const executor& ex) : state_(std::make_shared<state>(ex)) {}
  explicit tcp_stream(tcp_socket&& socket) : state_(std::make_shared<state>(std::move(socket))) {}
  tcp_stream(tcp_stream&&) noexcept = default;
  tcp_stream& operator=(tcp_stream&&) = delete;
  ~tcp_stream() {
    if (state_) {
      // A pending wait holds the state: end it now rather than at its next wake-up.
      state_->timer.cancel();
    }
  }

  executor_type get_executor() noexcept { return state_->socket.get_executor(); }
  tcp_socket& socket() noexcept { return state_->socket; }
  const tcp_socket& socket() const noexcept { return state_->socket; }
  tcp_socket& lowest_layer() noexcept { return state_->socket; }
  const tcp_socket& lowest_layer() const noexcept { return state_->socket; }

  // Operations started from now on fail with beast::error::timeout once `timeout` has passed.
  // Not while an operation is pending.
  void expires_after(clock::duration timeout) { state_->deadline = clock::now() + timeout; }
  void expires_never() { state_->deadline = clock::time_point::max(); }

  // Cancels the pending operations (they end with operation_aborted).
  void cancel() {
    boost::system::error_code ignored;
    state_->socket.cancel(ignored);
  }
  void close() {
    boost::system::error_code ignored;
    state_->socket.close(ignored);
  }

  template <typename MutableBuffers, typename Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return start<void(boost::system::error_code, std::size_t)>(
        std::forward<Token>(token), [buffers](tcp_socket& socket, auto handler) { socket.async_read_some(buffers, std::move(handler)); });
  }

  template <typename ConstBuffers, typename Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return start<void(boost::system::error_code, std::size_t)>(
        std::forward<Token>(token), [buffers](tcp_socket& socket, auto handler) { socket.async_write_some(buffers, std::move(handler)); });
  }

  // Waits until the socket is readable or writable (socket_base::wait_read or wait_write), as
  // tcp_socket::async_wait does: for a layer above that does its own reads and writes on the
  // non-blocking socket (tls_stream) and must wait for readiness when they would block.
  template <typename Token>
  auto async_wait(boost::asio::socket_base::wait_type what, Token&& token) {
    return start<void(boost::system::error_code)>(
        std::forward<Token>(token), [what](tcp_socket& socket, auto handler) { socket.async_wait(what, std::move(handler)); });
  }

  // Connects to the first of `endpoints` that accepts, as asio::async_connect does.
  template <typename Endpoints, typename Token>
  auto async_connect(const Endpoints& endpoints, Token&& token) {
    return start<void(boost::system::error_code, boost::asio::ip::tcp::endpoint)>(
        std::forward<Token>(token), [endpoints](tcp_socket& socket, auto handler) {
          boost::asio::async_connect(socket, endpoints, std::move(handler));
        });
  }

 private:
  // Starts `operation(socket, handler)` under the deadline.
  template <typename Signature, typename Token, typename Operation>
  auto start(Token&& token, Operation operation) {
    return boost::asio::async_initiate<Token, Signature>(
        [this](auto handler, Operation op) {
          begin_operation();
          op(state_->socket, completion<decltype(handler)>{std::move(handler), state_});
        },
        token, std::move(operation));
  }

  void begin_operation() {
    auto& s = *state_;
    ++s.pending;
    if (s.deadline == clock::time_point::max()) {
      return;
    }
    if (!s.timer_armed || s.deadline < s.wake_up) {
      arm(state_, clock::now());
    }
  }

  // Wakes at the deadline, or sooner to see whether it has moved.
  static void arm(const std::shared_ptr<state>& on, clock::time_point now) {
    auto& s = *on;
    s.wake_up = std::min(s.deadline, now + wake_up_interval);
    s.timer_armed = true;
    const unsigned generation = ++s.timer_generation;
    s.timer.expires_at(s.wake_up);
    s.timer.async_wait([on, generation](boost::system::error_code ec) { on_wake_up(on, generation, ec); });
  }

  static void on_wake_up(const std::shared_ptr<state>& on, unsigned generation, boost::system::error_code ec) {
    auto& s = *on;
    if (generation != s.timer_generation) {
      return; // re-armed since: a later wait is on its way
    }
    s.timer_armed = false;
    if (ec || s.pending == 0 || s.deadline == clock::time_point::max()) {
      return; // cancelled, or nothing to time out: the next operation arms the timer again
    }
    const auto now = clock::now();
    if (s.deadline <= now) {
      s.timed_out = true;
      boost::system::error_code ignored;
      s.socket.close(ignored);
      return;
    }
    arm(on, now);
  }

  std::shared_ptr<state> state_;
};

} // namespace hubgate::io

// The completion handler of an operation keeps the caller's executor, allocator and cancellation
// slot.
template <template <typename, typename> class Associator, typename Handler, typename DefaultCandidate>
struct boost::asio::associator<Associator, hubgate::io::detail::deadline_completion<Handler>, DefaultCandidate>
    : Associator<Handler, DefaultCandidate> {
  static typename Associator<Handler, DefaultCandidate>::type
  get(const hubgate::io::detail::deadline_completion<Handler>& c) noexcept {
    return Associator<Handler, DefaultCandidate>::get(c.handler);
  }
  static auto get(const hubgate::io::detail::deadline_completion<Handler>& c, const DefaultCandidate& d) noexcept
      -> decltype(Associator<Handler, DefaultCandidate>::get(c.handler, d)) {
    return Associator<Handler, DefaultCandidate>::get(c.handler, d);
  }
};
