#pragma once
// Everything that is not the request path, on threads and io_contexts of its own, so that neither
// a scrape nor a reload ever runs on (or waits for) a proxy I/O thread: the admin listener on one,
// and on the other the rules watcher (inotify and SIGHUP) and, on SIGHUP, reopening the audit file.
// Two, because a reload of a large rules file takes seconds: /healthz and /readyz answer meanwhile,
// and a probe with a one-second timeout does not take the pod out of service for it.

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <memory>
#include <thread>

#include "admin/admin_server.hpp"
#include "cli/options.hpp"
#include "reload/watcher.hpp"

namespace hubgate::admin {

class control_plane {
 public:
  // Binds the admin address (unless --admin-listen off) and catches SIGHUP from here on; throws
  // std::runtime_error when the address cannot be bound.
  control_plane(const cli::serve_options& options, const server::proxy_state& proxy, reload::rules_in_force& rules,
                metrics::proxy_metrics& metrics, audit::trail* audit);
  control_plane(const control_plane&) = delete;
  control_plane& operator=(const control_plane&) = delete;
  ~control_plane(); // stop()

  // Logs "admin listening address=IP:PORT" and starts serving and watching. Call once the proxy
  // listens, so that its own "listening" line comes first.
  void start();
  // Stops and joins the threads. Idempotent.
  void stop();

 private:
  // An io_context run by a thread of its own until stop().
  struct worker {
    net::io_context ioc{1}; // first: destroyed last
    net::executor_work_guard<net::io_context::executor_type> work{ioc.get_executor()};
    std::thread thread;

    void start();
    void stop();
  };

  worker admin_thread_;
  worker reload_thread_;
  std::unique_ptr<admin_server> admin_;      // on admin_thread_
  std::unique_ptr<reload::watcher> watcher_; // on reload_thread_
};

} // namespace hubgate::admin
