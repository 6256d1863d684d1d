#pragma once
// The proxy process: an acceptor, one coroutine per client connection, pooled upstreams, and the
// drain on SIGTERM/SIGINT. main() builds one and runs it; tests run the binary.
//
// Each I/O thread runs an io_context of its own with upstream pools of its own; the acceptor hands
// connections to the threads in turn, and a session stays on its thread for its whole life.

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_set>
#include <vector>

#include "http/body_memory.hpp"
#include "cli/options.hpp"
#include "hubgate/hubspot/operation.hpp"
#include "io/executor.hpp"
#include "reload/rules_in_force.hpp"
#include "server/relay_buffers.hpp"
#include "server/report.hpp"
#include "upstream/pool.hpp"

namespace hubgate::server {

namespace net = boost::asio;

struct session_slot; // a client connection, as the drain sees it (server.cpp)

// One I/O thread: its io_context, and the upstream connections that only its sessions use.
struct io_thread {
  io_thread(const cli::serve_options& opts, net::ssl::context& tls, upstream::pool_settings pools);

  // Lent to this thread's sessions, a request at a time. Before the io_context: sessions that a
  // drain's timeout left unfinished give their buffers back when the io_context destroys them.
  relay_buffers relays;
  net::io_context ioc{1}; // destroyed after everything that uses it
  upstream::pool api;
  upstream::pool forms;

  upstream::pool& pool_of(hubspot::upstream_id upstream) {
    return upstream == hubspot::upstream_id::forms ? forms : api;
  }
  const upstream::pool& pool_of(hubspot::upstream_id upstream) const {
    return upstream == hubspot::upstream_id::forms ? forms : api;
  }
};

// What every session shares. Immutable after start, but for the drain flag and the session set.
struct proxy_state {
  proxy_state(unsigned thread_count, const cli::serve_options& opts, reload::rules_in_force& rules_in_force,
              report_sinks report_to);
  ~proxy_state();
  proxy_state(const proxy_state&) = delete;
  proxy_state& operator=(const proxy_state&) = delete;

  const cli::serve_options& options;
  std::unique_ptr<net::ssl::context> tls;
  std::vector<std::unique_ptr<io_thread>> threads; // at least one; the first also runs the acceptor
  std::atomic<bool> draining{false};
  http::body_memory bodies; // request bodies held, all sessions (--max-body-memory)
  reload::rules_in_force& rules; // each request keeps the snapshot it started with
  report_sinks sinks;            // metrics and the audit trail (server/report.hpp)

  // Sessions register so that a drain can close the idle ones; the last one out ends the drain.
  std::shared_ptr<session_slot> enter(io::executor session_executor);
  void leave(const std::shared_ptr<session_slot>& slot);
  void notify_if_drained();
  void close_idle_sessions();
  // The drain timed out: every session's pending client I/O and every upstream connection lent
  // out is cancelled, so that each request still in flight ends through its usual path (a 502 to
  // its client if it can still get one, the access log, the audit trail, a budget settled).
  // Returns the sessions open.
  std::size_t cut_in_flight();
  // At the connection limit: closes the client connection that has waited longest (a second at
  // least) for its next request, as nginx reuses idle keep-alive connections, so that idle clients
  // cannot keep new ones out. One at a time: false while one is being closed, or when none may be.
  bool close_longest_idle_session();
  bool has_evictable_session() const;
  // Starts the drain: `on_last_session_left` is called once, when no session is left. Installed
  // with `draining` set under the session set's lock, so that a session leaving on another thread
  // sees both or neither. False when a drain had already begun.
  bool begin_draining(std::function<void()> on_last_session_left);
  std::size_t session_count() const;          // client connections open (for /metrics)
  std::size_t pooled_connections(hubspot::upstream_id upstream) const; // idle, all threads (for /metrics)
  // Upstream TLS handshakes completed, all threads: the resumed ones, or the full ones.
  std::uint64_t upstream_handshakes(hubspot::upstream_id upstream, bool resumed) const;

 private:
  mutable std::mutex mutex_; // guards sessions_, on_last_session_left_ and eviction_; never held across I/O
  std::unordered_set<std::shared_ptr<session_slot>> sessions_;
  std::function<void()> on_last_session_left_; // set while draining; called once
  const session_slot* eviction_ = nullptr;      // the session being closed to make room, if any
};

class server {
 public:
  // Binds the listener and loads the TLS trust store; throws std::runtime_error on failure.
  server(cli::serve_options options, reload::rules_in_force& rules, report_sinks report_to);
  ~server();

  // Serves until SIGTERM/SIGINT, drains, and returns the exit code (0). `on_listening` runs once
  // the "listening" line is logged, before serving starts.
  int run(const std::function<void()>& on_listening = {});
  const proxy_state& state() const { return *state_; }

 private:
  void begin_drain();

  void stop_all_threads();

  cli::serve_options options_;
  std::unique_ptr<proxy_state> state_;
  net::io_context& main_ioc_; // the first I/O thread's: the acceptor, the signals and the drain run there
  io::tcp_acceptor acceptor_;
  net::signal_set signals_;
  io::steady_timer drain_timer_;
  // Each io_context runs until the drain ends, though it may have no connection for a while.
  std::vector<net::executor_work_guard<io::executor>> keep_running_;
};

} // namespace hubgate::server
