#include "reload/watcher.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstring>
#include <optional>
#include <system_error>

#include "hubgate/config/rules_file.hpp"
#include "logging/log.hpp"

namespace hubgate::reload {

namespace {

constexpr auto use_tuple = net::as_tuple(net::use_awaitable);

// A change is acted on once the directory has been quiet this long: a Kubernetes volume update
// and some editors' saves are several events in a row.
constexpr std::chrono::milliseconds settle_time{100};

// Which directory events can mean new rules: a file written and closed, an entry renamed in
// place, its mode changed (a file hubgate could not read, made readable), or a symlink made (`rm`
// then `ln -s`: made whole at once). A file being created is not (it may be half written; its
// close follows): scan_events drops a creation that is not a symlink's.
constexpr std::uint32_t watched_events = IN_CLOSE_WRITE | IN_MOVED_TO | IN_ATTRIB | IN_CREATE;
// And the directory itself moved away (`mv conf conf.old; mv conf.new conf`): the watch follows
// the old directory, so the path is watched again.
constexpr std::uint32_t directory_events = IN_MOVE_SELF;

// How often the rules' path is looked at when no event says it changed (see watch_path).
constexpr std::chrono::seconds recheck_period{1};
// After an event, the path is looked at every settle_time this many times before going back to
// recheck_period: a directory moved away is usually replaced at once.
constexpr int fast_rechecks = 50;

bool is_symlink(const std::string& path) {
  struct stat info {};
  return ::lstat(path.c_str(), &info) == 0 && S_ISLNK(info.st_mode);
}

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
      settle_(ioc),
      recheck_(ioc) {
  const auto slash = file_.rfind('/');
  directory_ = slash == std::string::npos ? "." : slash == 0 ? "/" : file_.substr(0, slash);
  base_name_ = slash == std::string::npos ? file_ : file_.substr(slash + 1);
  if (!watch_file) {
    return;
  }
  const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) {
    logging::warn("not watching the rules file: reload it with SIGHUP",
                  {{"directory", directory_}, {"reason", errno_text(errno)}});
    return;
  }
  inotify_.assign(fd);
  if (watch_path() == path_state::missing) {
    logging::warn("the rules file's directory cannot be watched: looking for it every second, or reload with SIGHUP",
                  {{"directory", directory_}, {"reason", errno_text(errno)}});
    said_missing_ = true;
    reload_owed_ = true;
  }
}

watcher::~watcher() = default;

void watcher::start() {
  net::co_spawn(ioc_, wait_for_signals(), logging::log_uncaught("SIGHUP handling stopped by an unexpected error"));
  if (inotify_.is_open()) {
    net::co_spawn(ioc_, watch_directory(), logging::log_uncaught("rules watcher stopped by an unexpected error"));
    arm_recheck(recheck_period);
  }
}

watcher::path_state watcher::watch_path() {
  struct stat info {};
  if (::stat(directory_.c_str(), &info) != 0) {
    return path_state::missing;
  }
  if (watch_ >= 0 && info.st_dev == watched_dev_ && info.st_ino == watched_ino_) {
    return path_state::same;
  }
  const int watch = ::inotify_add_watch(inotify_.native_handle(), directory_.c_str(), watched_events | directory_events);
  if (watch < 0) {
    return path_state::missing;
  }
  if (watch_ >= 0 && watch != watch_) {
    ::inotify_rm_watch(inotify_.native_handle(), watch_); // the old directory's, if it is still there
  }
  const bool first = !watched_before_;
  watched_before_ = true;
  watch_ = watch;
  watched_dev_ = info.st_dev;
  watched_ino_ = info.st_ino;
  return first ? path_state::same : path_state::replaced;
}

void watcher::arm_recheck(std::chrono::milliseconds after) {
  recheck_.expires_after(after);
  recheck_.async_wait([this](boost::system::error_code ec) {
    if (ec) {
      return; // re-armed sooner, or stopping
    }
    const path_state state = watch_path();
    if (state == path_state::replaced) {
      logging::info("the rules file's directory was replaced: watching the new one", {{"directory", directory_}});
      reload_owed_ = true; // it may hold other rules
    } else if (state == path_state::missing) {
      reload_owed_ = true; // whatever changed meanwhile is read once the path holds a directory again
      if (fast_rechecks_left_ <= 1 && !said_missing_) {
        logging::warn("the rules file's directory is gone: looking for it every second, or reload with SIGHUP",
                      {{"directory", directory_}});
        said_missing_ = true;
      }
    }
    if (state != path_state::missing) {
      if (said_missing_ && state == path_state::same) { // (a replaced one was said above)
        logging::info("watching the rules file's directory", {{"directory", directory_}});
        said_missing_ = false;
      }
      fast_rechecks_left_ = 0;
      if (reload_owed_) {
        pay_owed_reload();
      }
    }
    if (fast_rechecks_left_ > 0) {
      --fast_rechecks_left_;
    }
    arm_recheck(fast_rechecks_left_ > 0 ? settle_time : std::chrono::milliseconds(recheck_period));
  });
}

void watcher::pay_owed_reload() {
  // Not while the file is missing or being written (a directory made again, then filled): its
  // close or rename into place is an event the new watch sees. An open for writing is found by
  // asking for a read lease, which the kernel refuses while anyone has the file open to write.
  const int fd = ::open(file_.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      return; // still owed
    }
  } else {
    const bool being_written = ::fcntl(fd, F_SETLEASE, F_RDLCK) != 0 && errno == EAGAIN;
    if (!being_written) {
      ::fcntl(fd, F_SETLEASE, F_UNLCK); // a lease refused otherwise (not the file's owner) is no answer
    }
    ::close(fd);
    if (being_written) {
      return;
    }
  }
  reload_owed_ = false;
  reload("directory replaced", false);
}

std::vector<std::string> watcher::rules_entries() const {
  std::vector<std::string> names{base_name_};
  std::string at = directory_ + "/" + base_name_;
  for (int hop = 0; hop < 8; ++hop) {
    std::array<char, 4096> target{};
    const ssize_t n = ::readlink(at.c_str(), target.data(), target.size() - 1);
    if (n <= 0) {
      break;
    }
    std::string_view link(target.data(), static_cast<std::size_t>(n));
    while (link.starts_with("./")) {
      link.remove_prefix(2);
    }
    if (const auto slash = link.rfind('/'); slash != std::string_view::npos) {
      // A path to this directory, written another way (absolute): its entry is named.
      std::array<char, PATH_MAX> theirs{};
      std::array<char, PATH_MAX> ours{};
      const std::string parent(link.substr(0, slash == 0 ? 1 : slash));
      if (::realpath(parent.c_str(), theirs.data()) == nullptr || ::realpath(directory_.c_str(), ours.data()) == nullptr ||
          std::string_view(theirs.data()) != std::string_view(ours.data())) {
        break; // another directory: its own watch would be needed (README)
      }
      link.remove_prefix(slash + 1);
    }
    names.emplace_back(link);
    at = directory_ + "/" + std::string(link);
  }
  return names;
}

bool watcher::names_the_rules(std::string_view entry) const {
  // The file itself, or Kubernetes' `..data` (and its `..<timestamp>` targets) that the file's
  // symlink resolves through.
  return entry == base_name_ || entry.starts_with("..");
}

watcher::scanned watcher::scan_events(std::string_view events) const {
  scanned out;
  std::optional<std::vector<std::string>> entries; // read once, when an entry is not the file's name
  for (std::size_t at = 0; at + sizeof(inotify_event) <= events.size();) {
    inotify_event event{};
    std::memcpy(&event, events.data() + at, sizeof event);
    const char* name = events.data() + at + sizeof event;
    const std::string_view entry(name, event.len == 0 ? 0 : ::strnlen(name, event.len));
    at += sizeof event + event.len;
    if ((event.mask & IN_Q_OVERFLOW) != 0) {
      out.relevant = true; // events were lost: the rules' among them, perhaps
      out.path_changed = true;
    } else if ((event.mask & (IN_MOVE_SELF | IN_IGNORED)) != 0) {
      // Moved away, or (IN_IGNORED) the watch ended: its directory deleted, or the old directory's
      // once replaced. A directory made again at the path may have the old one's inode number.
      out.path_changed = true;
      out.watch_lost = out.watch_lost || ((event.mask & IN_IGNORED) != 0 && event.wd == watch_);
    } else if ((event.mask & IN_CREATE) != 0 && !is_symlink(directory_ + "/" + std::string(entry))) {
      continue; // a file or directory being made: its close, or its rename into place, follows
    } else if (names_the_rules(entry)) {
      out.relevant = true;
    } else if (!entry.empty()) {
      if (!entries) {
        entries = rules_entries();
      }
      out.relevant = out.relevant || std::find(entries->begin() + 1, entries->end(), entry) != entries->end();
    }
  }
  return out;
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
    if (seen.watch_lost) {
      watch_ = -1;
    }
    if (seen.path_changed) {
      reload_owed_ = true; // moved away and back as it was, the directory may hold other rules
      fast_rechecks_left_ = fast_rechecks;
      arm_recheck(settle_time);
    }
    if (!seen.relevant) {
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
  auto in_force = rules_.current();
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
  in_force.reset();
  rules_.install(next);
  // The rules put out of force are freed here, unless a request in flight still holds them (it
  // frees them as it ends): given back as load_rules gives back what loading took.
  ::malloc_trim(0);
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
