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
#include <vector>

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
  // The names in the rules' directory that a change to may change the rules: the file, Kubernetes'
  // `..` entries, and the same-directory entries a symlink at the file's name resolves through.
  std::vector<std::string> rules_entries() const;
  // What a read of inotify events says.
  struct scanned {
    bool relevant = false;     // the rules may have changed
    bool path_changed = false; // the watched directory was moved away, deleted or its watch lost
    bool watch_lost = false;   // the watch in use ended (watch_)
  };
  scanned scan_events(std::string_view events) const;

  // The directory at the rules' path, watched: a directory replaced (moved, deleted and made
  // again, a symlink to it re-pointed, a ConfigMap's nested path swapped) is a new inode the
  // old watch does not see. Its path is looked at again soon after an event says the watch
  // moved or ended, and every `recheck_period` whatever happens, so that a change is never
  // missed for good.
  enum class path_state { same, replaced, missing };
  path_state watch_path();
  void arm_recheck(std::chrono::milliseconds after);
  // Reloads for a path that changed under the watch (replaced, gone and back, or watched only
  // now), unless the file is missing or being written: then its own event will.
  void pay_owed_reload();

  net::io_context& ioc_;
  rules_in_force& rules_;
  metrics::proxy_metrics& metrics_;
  access::client_ledger& clients_;
  const std::string file_;
  std::string directory_;
  std::string base_name_;
  std::function<void()> on_sighup_;
  net::signal_set signals_;
  net::posix::stream_descriptor inotify_;
  net::steady_timer settle_;
  net::steady_timer recheck_;
  int watch_ = -1;             // the directory's watch descriptor; -1 once it ended
  bool watched_before_ = false; // a directory at the path was watched (a new one is then news)
  std::uint64_t watched_dev_ = 0; // and the directory it watches
  std::uint64_t watched_ino_ = 0;
  int fast_rechecks_left_ = 0; // after an event, the path is looked at every settle_time a while
  bool said_missing_ = false;  // the directory's absence was logged
  bool reload_owed_ = false;   // the path changed under the watch: the rules there are to be read
};

} // namespace hubgate::reload
