#pragma once
// Everything that is not the request path, on a thread and io_context of its own, so that neither
// a scrape nor a reload ever runs on (or waits for) a proxy I/O thread: the admin listener, the
// rules watcher (inotify and SIGHUP) and, on SIGHUP, reopening the audit file.

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
  // Stops and joins the thread. Idempotent.
  void stop();

 private:
  net::io_context ioc_{1}; // first: destroyed last
  net::executor_work_guard<net::io_context::executor_type> work_{ioc_.get_executor()};
  std::unique_ptr<admin_server> admin_;
  std::unique_ptr<reload::watcher> watcher_;
  std::thread thread_;
};

} // namespace hubgate::admin
