#include "reload/watcher.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <sys/inotify.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <system_error>

#include "hubgate/config/rules_file.hpp"
#include "logging/log.hpp"

namespace hubgate::reload {

namespace {

constexpr auto use_tuple = net::as_tuple(net::use_awaitable);

// A change is acted on once the directory has been quiet this long: a Kubernetes volume update
// and some editors' saves are several events in a row.
constexpr std::chrono::milliseconds settle_time{100};

// Which directory events can mean new rules: a file written and closed, or an entry renamed in
// place. A file being created is not (it may be half written; its close follows).
constexpr std::uint32_t watched_events = IN_CLOSE_WRITE | IN_MOVED_TO;
// And the directory itself moved away (`mv conf conf.old; mv conf.new conf`): the watch follows
// the old directory, so the path is watched again.
constexpr std::uint32_t directory_events = IN_MOVE_SELF;

std::string errno_text(int error) {
  return std::error_code(error, std::generic_category()).message();
}

} // namespace

watcher::watcher(net::io_context& ioc, rules_in_force& rules, metrics::proxy_metrics& metrics,
                 access::client_ledger& clients, std::string rules_file, bool watch_file,
                 std::function<void()> on_sighup)
    : ioc_(ioc),
      rules_(rules),
      metrics_(metrics),
      clients_(clients),
      file_(std::move(rules_file)),
      on_sighup_(std::move(on_sighup)),
      signals_(ioc, SIGHUP),
      inotify_(ioc),
      settle_(ioc) {
  const auto slash = file_.rfind('/');
  directory_ = slash == std::string::npos ? "." : slash == 0 ? "/" : file_.substr(0, slash);
  base_name_ = slash == std::string::npos ? file_ : file_.substr(slash + 1);
  if (!watch_file) {
    return;
  }
  const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0 || ::inotify_add_watch(fd, directory_.c_str(), watched_events | directory_events) < 0) {
    const int error = errno;
    if (fd >= 0) {
      ::close(fd);
    }
    logging::warn("not watching the rules file: reload it with SIGHUP",
                  {{"directory", directory_}, {"reason", errno_text(error)}});
    return;
  }
  inotify_.assign(fd);
}

watcher::~watcher() = default;

void watcher::start() {
  net::co_spawn(ioc_, wait_for_signals(), logging::log_uncaught("SIGHUP handling stopped by an unexpected error"));
  if (inotify_.is_open()) {
    net::co_spawn(ioc_, watch_directory(), logging::log_uncaught("rules watcher stopped by an unexpected error"));
  }
}

bool watcher::names_the_rules(std::string_view entry) const {
  // The file itself, or Kubernetes' `..data` (and its `..<timestamp>` targets) that the file's
  // symlink resolves through.
  return entry == base_name_ || entry.starts_with("..");
}

watcher::scanned watcher::scan_events(std::string_view events) const {
  scanned out;
  for (std::size_t at = 0; at + sizeof(inotify_event) <= events.size();) {
    inotify_event event{};
    std::memcpy(&event, events.data() + at, sizeof event);
    const char* name = events.data() + at + sizeof event;
    const std::string_view entry(name, event.len == 0 ? 0 : ::strnlen(name, event.len));
    if ((event.mask & IN_MOVE_SELF) != 0) {
      out.directory_moved = true;
    } else if ((event.mask & IN_IGNORED) != 0) {
      // The old directory's watch ends when it is deleted (or, once moved, when it goes).
      out.watch_ended = true;
    } else if (names_the_rules(entry)) {
      out.relevant = true;
    }
    at += sizeof event + event.len;
  }
  return out;
}

net::awaitable<void> watcher::watch_path_again() {
  // A directory is usually moved into place right after the old one was moved away (`mv; mv`):
  // the path is tried again for a while before giving up.
  constexpr int attempts = 50;
  net::steady_timer retry(ioc_);
  int error = 0;
  for (int attempt = 0; attempt < attempts; ++attempt) {
    if (::inotify_add_watch(inotify_.native_handle(), directory_.c_str(), watched_events | directory_events) >= 0) {
      logging::info("the rules file's directory was replaced: watching the new one", {{"directory", directory_}});
      reload("directory replaced", false); // it may hold other rules
      co_return;
    }
    error = errno;
    retry.expires_after(settle_time);
    co_await retry.async_wait(use_tuple);
  }
  logging::warn("the rules file's directory was moved away, and its path holds none: reload with SIGHUP",
                {{"directory", directory_}, {"reason", errno_text(error)}});
}

net::awaitable<void> watcher::watch_directory() {
  std::array<char, 16 * 1024> events;
  for (;;) {
    auto [ec, n] = co_await inotify_.async_read_some(net::buffer(events), use_tuple);
    if (ec) {
      if (ec != net::error::operation_aborted) {
        logging::warn("rules watcher stopped: reload with SIGHUP", {{"reason", ec.message()}});
      }
      co_return;
    }
    const scanned seen = scan_events(std::string_view(events.data(), n));
    const bool relevant = seen.relevant;
    if (seen.directory_moved) {
      watching_moved_away_ = true;
      net::co_spawn(ioc_, watch_path_again(), logging::log_uncaught("rules watcher stopped by an unexpected error"));
    } else if (seen.watch_ended) {
      if (watching_moved_away_) {
        watching_moved_away_ = false; // the moved-away directory's watch, ended
      } else {
        logging::warn("the rules file's directory is gone: reload with SIGHUP", {{"directory", directory_}});
      }
    }
    if (!relevant) {
      continue;
    }
    // Wait for the directory to settle, then look once; a newer event re-arms the wait.
    settle_.expires_after(settle_time);
    settle_.async_wait([this](boost::system::error_code wait_ec) {
      if (!wait_ec) {
        reload("file change", false);
      }
    });
  }
}

net::awaitable<void> watcher::wait_for_signals() {
  for (;;) {
    auto [ec, signo] = co_await signals_.async_wait(use_tuple);
    if (ec) {
      co_return;
    }
    logging::info("signal received: reloading the rules", {{"signal", signo}});
    reload("SIGHUP", true);
    if (on_sighup_) {
      on_sighup_();
    }
  }
}

bool watcher::reload(std::string_view trigger, bool force) {
  const auto in_force = rules_.current();
  auto loaded = load_rules(file_, metrics_, clients_, in_force->generation + 1);
  if (!loaded.rules) {
    metrics_.count_reload(false);
    logging::error("rules reload failed: the rules in force stay", {{"file", file_},
                                                                    {"trigger", trigger},
                                                                    {"errors", loaded.errors.size()},
                                                                    {"generation", in_force->generation}});
    for (const auto& e : loaded.errors) {
      // The file's own text may quote an address (a test body, a value where a domain belongs).
      logging::error("rules file error", {{"error", logging::redact_emails(config::format_error(e))}});
    }
    return false;
  }
  if (!force && loaded.rules->sha256 == in_force->sha256) {
    logging::debug("rules file unchanged", {{"file", file_}, {"trigger", trigger}});
    return true;
  }
  // In force first, then said: whoever reads the line may rely on the new rules.
  const auto next = loaded.rules;
  rules_.install(next);
  metrics_.count_reload(true);
  logging::info("rules reloaded", {{"file", file_},
                                   {"trigger", trigger},
                                   {"generation", next->generation},
                                   {"rules", next->rules->rule_count()},
                                   {"sha256", std::string_view(next->sha256).substr(0, 12)}});
  log_notes(*next);
  return true;
}

} // namespace hubgate::reload
