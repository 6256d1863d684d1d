#pragma once
// Hot reload: the rules file is loaded again when it changes (inotify on its directory, which also
// sees it replaced by a rename, as editors do, and Kubernetes' ConfigMap volumes swapping their
// `..data` symlink) and on SIGHUP. A file that loads is put in force at once (rules_in_force);
// one that does not is refused with its file:line:column errors in the log and a metric, and the
// rules in force stay. Runs on the control plane's io_context, never on the proxy's I/O threads.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <functional>
#include <string>
#include <string_view>

#include "hubgate/metrics/proxy_metrics.hpp"
#include "reload/rules_in_force.hpp"

namespace hubgate::reload {

namespace net = boost::asio;

class watcher {
 public:
  // Catches SIGHUP from construction on (so that an early one is not fatal); watches the file's
  // directory when `watch_file`. `on_sighup` runs on each SIGHUP as well (the audit file reopens).
  watcher(net::io_context& ioc, rules_in_force& rules, metrics::proxy_metrics& metrics,
          access::client_ledger& clients, std::string rules_file,
          bool watch_file, std::function<void()> on_sighup);
  watcher(const watcher&) = delete;
  watcher& operator=(const watcher&) = delete;
  ~watcher();

  // Starts waiting for changes and signals (on the io_context's thread).
  void start();

  // Loads the file and puts it in force when it loaded and (unless `force`) differs from the
  // rules in force. Returns whether the file loaded.
  bool reload(std::string_view trigger, bool force);

 private:
  net::awaitable<void> watch_directory();
  net::awaitable<void> wait_for_signals();
  bool names_the_rules(std::string_view entry) const;
  // What a read of inotify events says.
  struct scanned {
    bool relevant = false;        // the rules may have changed
    bool directory_moved = false; // the watched directory itself was renamed
    bool watch_ended = false;     // a watch ended (its directory deleted)
  };
  scanned scan_events(std::string_view events) const;
  // Watches the directory now at the rules' path once there is one, and reads the rules there.
  net::awaitable<void> watch_path_again();

  net::io_context& ioc_;
  rules_in_force& rules_;
  metrics::proxy_metrics& metrics_;
  access::client_ledger& clients_;
  const std::string file_;
  std::string directory_;
  std::string base_name_;
  // A watched directory was moved away: its watch ending later is no news.
  bool watching_moved_away_ = false;
  std::function<void()> on_sighup_;
  net::signal_set signals_;
  net::posix::stream_descriptor inotify_;
  net::steady_timer settle_;
};

} // namespace hubgate::reload
