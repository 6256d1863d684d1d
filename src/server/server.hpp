#pragma once
// The proxy process: an acceptor, one coroutine per client connection, pooled upstreams, and the
// drain on SIGTERM/SIGINT. main() builds one and runs it; tests run the binary.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_set>

#include "cli/options.hpp"
#include "reload/rules_in_force.hpp"
#include "server/report.hpp"
#include "upstream/pool.hpp"

namespace hubgate::server {

namespace net = boost::asio;

struct session_slot; // a client connection, as the drain sees it (server.cpp)

// What every session shares. Immutable after start, but for the drain flag and the session set.
struct proxy_state {
  proxy_state(net::io_context& ioc, const cli::serve_options& opts, reload::rules_in_force& rules_in_force,
              report_sinks report_to, bool one_thread);

  net::io_context& ioc;
  const bool single_threaded; // one I/O thread: no strands needed
  const cli::serve_options& options;
  std::unique_ptr<net::ssl::context> tls;
  upstream::pool api;
  upstream::pool forms;
  std::atomic<bool> draining{false};
  reload::rules_in_force& rules; // each request keeps the snapshot it started with
  report_sinks sinks;            // metrics and the audit trail (server/report.hpp)

  // Sessions register so that a drain can close the idle ones; the last one out ends the drain.
  std::shared_ptr<session_slot> enter(net::any_io_executor session_executor);
  void leave(const std::shared_ptr<session_slot>& slot);
  void notify_if_drained();
  void close_idle_sessions();
  std::function<void()> on_last_session_left; // set while draining; called once
  std::size_t session_count() const;          // client connections open (for /metrics)

 private:
  mutable std::mutex mutex_; // guards sessions_; never held across I/O
  std::unordered_set<std::shared_ptr<session_slot>> sessions_;
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

  cli::serve_options options_;
  unsigned threads_;
  net::io_context ioc_;
  std::unique_ptr<proxy_state> state_;
  net::ip::tcp::acceptor acceptor_;
  net::signal_set signals_;
  net::steady_timer drain_timer_;
};

} // namespace hubgate::server
