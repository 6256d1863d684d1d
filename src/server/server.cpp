#include "server/server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <limits>
#include <chrono>
#include <csignal>
#include <stdexcept>
#include <thread>
#include <vector>

#include "io/endpoint_text.hpp"
#include "logging/log.hpp"
#include "server/session.hpp"

namespace hubgate::server {

namespace {

using io::use_tuple;

// --upstream-pool-size bounds the idle connections of the whole process: each thread keeps its
// share (rounded up).
upstream::pool_settings pool_settings_from(const cli::serve_options& o, unsigned thread_count) {
  const std::size_t per_thread = (o.upstream_pool_size + thread_count - 1) / thread_count;
  return {per_thread, o.upstream_idle_timeout, o.upstream_connect_timeout};
}

// --max-connections by default: half the open-file limit (each client connection may hold an
// upstream one), less a reserve for the listeners, the log and the rules file, at most 10000.
std::size_t default_max_connections() {
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) != 0 || files.rlim_cur == RLIM_INFINITY) {
    return 10000;
  }
  const auto usable = files.rlim_cur > 64 ? static_cast<std::size_t>(files.rlim_cur - 64) : 0;
  return std::clamp<std::size_t>(usable / 2, 16, 10000);
}

io::awaitable<void> accept_loop(io::tcp_acceptor& acceptor, proxy_state& state, std::size_t max_connections) {
  io::steady_timer backoff(acceptor.get_executor());
  std::size_t next_thread = 0;
  std::chrono::steady_clock::time_point last_full_warning{};
  for (;;) {
    // At the limit, a connection that waits for its next request makes room for a new one: the
    // new connection is accepted, then the connection idle longest is closed (the limit is then
    // passed by one for a moment). Without an idle one, new connections wait in the listen
    // backlog: looked at again every 10 ms (sessions end on other threads; a poll while full
    // costs less than waking this one each time).
    bool make_room = false;
    while (state.session_count() >= max_connections && acceptor.is_open()) {
      if (state.has_evictable_session()) {
        make_room = true;
        break;
      }
      if (const auto now = std::chrono::steady_clock::now(); now - last_full_warning >= std::chrono::minutes(1)) {
        last_full_warning = now;
        logging::warn("connection limit reached: new connections wait to be accepted",
                      {{"max_connections", max_connections}});
      }
      backoff.expires_after(std::chrono::milliseconds(10));
      co_await backoff.async_wait(use_tuple);
    }
    io_thread& thread = *state.threads[next_thread];
    next_thread = (next_thread + 1) % state.threads.size();
    const io::executor executor = thread.ioc.get_executor();
    auto [ec, socket] = co_await acceptor.async_accept(executor, use_tuple);
    if (ec == net::error::operation_aborted || !acceptor.is_open()) {
      co_return;
    }
    if (ec) {
      // Out of file descriptors and the like: say so and give the system a moment, rather than
      // spinning on an accept that keeps failing.
      logging::warn("accept failed", {{"reason", ec.message()}});
      backoff.expires_after(std::chrono::milliseconds(50));
      co_await backoff.async_wait(use_tuple);
      continue;
    }
    // The connection seen idle may have begun a request meanwhile: then this one waits here, as
    // it would have in the backlog, until one is idle (or closes).
    while (make_room && state.session_count() >= max_connections && !state.close_longest_idle_session() &&
           acceptor.is_open()) {
      backoff.expires_after(std::chrono::milliseconds(10));
      co_await backoff.async_wait(use_tuple);
    }
    boost::system::error_code ignored;
    socket.set_option(net::ip::tcp::no_delay(true), ignored);
    auto slot = state.enter(executor);
    net::co_spawn(executor, run_session(io::tcp_stream(std::move(socket)), state, thread, std::move(slot)),
                  logging::log_uncaught("session ended by an unexpected error"));
  }
}

} // namespace

io_thread::io_thread(const cli::serve_options& opts, net::ssl::context& tls, upstream::pool_settings pools)
    : api(ioc, tls, opts.upstream, pools), forms(ioc, tls, opts.forms_upstream, pools) {}

proxy_state::proxy_state(unsigned thread_count, const cli::serve_options& opts, reload::rules_in_force& rules_in_force,
                         report_sinks report_to)
    : options(opts), tls(upstream::make_tls_context(opts.ca_file)), bodies(opts.max_body_memory), rules(rules_in_force),
      sinks(report_to) {
  thread_count = std::max(1u, thread_count);
  for (unsigned i = 0; i < thread_count; ++i) {
    threads.push_back(std::make_unique<io_thread>(opts, *tls, pool_settings_from(opts, thread_count)));
  }
}

proxy_state::~proxy_state() {
  // The threads go first. Destroying an io_context destroys the sessions that a drain's timeout
  // stopped unfinished, and each gives back its body memory, reports, and leaves the session set:
  // all members declared after `threads`, which would otherwise be gone by then. Nothing is left
  // to wake when the last of them leaves.
  {
    std::unique_lock lock(mutex_);
    on_last_session_left_ = nullptr;
  }
  threads.clear();
}

std::shared_ptr<session_slot> proxy_state::enter(io::executor session_executor) {
  auto slot = std::make_shared<session_slot>(session_executor);
  std::unique_lock lock(mutex_);
  sessions_.insert(slot);
  return slot;
}

void proxy_state::leave(const std::shared_ptr<session_slot>& slot) {
  {
    std::unique_lock lock(mutex_);
    sessions_.erase(slot);
    if (eviction_ == slot.get()) {
      eviction_ = nullptr;
    }
  }
  notify_if_drained();
}

void proxy_state::notify_if_drained() {
  std::function<void()> last;
  {
    std::unique_lock lock(mutex_);
    if (sessions_.empty() && draining.load() && on_last_session_left_) {
      last = std::exchange(on_last_session_left_, nullptr);
    }
  }
  if (last) {
    last();
  }
}

bool proxy_state::begin_draining(std::function<void()> on_last_session_left) {
  std::unique_lock lock(mutex_);
  if (draining.load()) {
    return false;
  }
  on_last_session_left_ = std::move(on_last_session_left);
  draining.store(true);
  return true;
}

std::size_t proxy_state::session_count() const {
  std::unique_lock lock(mutex_);
  return sessions_.size();
}

std::size_t proxy_state::pooled_connections(hubspot::upstream_id upstream) const {
  std::size_t idle = 0;
  for (const auto& thread : threads) {
    idle += thread->pool_of(upstream).idle_count();
  }
  return idle;
}

std::uint64_t proxy_state::upstream_handshakes(hubspot::upstream_id upstream, bool resumed) const {
  std::uint64_t count = 0;
  for (const auto& thread : threads) {
    const upstream::pool& pool = thread->pool_of(upstream);
    // Read apart from the pool's thread: the two counts may be a handshake apart.
    const std::uint64_t resumed_ones = pool.resumed_handshakes();
    const std::uint64_t all = pool.handshakes();
    count += resumed ? resumed_ones : all - std::min(resumed_ones, all);
  }
  return count;
}

void proxy_state::close_idle_sessions() {
  std::unique_lock lock(mutex_);
  for (const auto& slot : sessions_) {
    // On the session's own thread, where its stream may be touched.
    net::post(slot->executor, [slot] {
      if (slot->stream != nullptr && slot->idle.load(std::memory_order_acquire)) {
        slot->stream->cancel();
      }
    });
  }
}

std::size_t proxy_state::cut_in_flight() {
  std::size_t open = 0;
  {
    std::unique_lock lock(mutex_);
    open = sessions_.size();
    for (const auto& slot : sessions_) {
      net::post(slot->executor, [slot] {
        slot->cut = true;
        if (slot->stream != nullptr) {
          // A cancel ends only what is waiting now; a receive side shut makes every later read
          // end too (a body still arriving, the lingering close), where the client would hold
          // the session past the grace.
          slot->stream->cancel();
          boost::system::error_code ignored;
          slot->stream->socket().shutdown(net::ip::tcp::socket::shutdown_receive, ignored);
        }
      });
    }
  }
  for (const auto& thread : threads) {
    net::post(thread->ioc, [&t = *thread] {
      t.api.cut_lent();
      t.forms.cut_lent();
    });
  }
  return open;
}

namespace {

// A connection must have waited this long for its next request before a new one may take its
// place: a client that just connected, or just got an answer, is likely about to send, and a
// request sent on a connection being closed is lost (a POST is not retried).
constexpr std::chrono::seconds evictable_after(1);

// How long the requests a drain's timeout cut have to end (their answers written, logged and
// audited) before the threads are stopped whatever they are doing.
constexpr std::chrono::seconds cut_grace(2);

bool evictable(const session_slot& slot, std::int64_t now) {
  return slot.idle.load(std::memory_order_acquire) &&
         now - slot.idle_since.load(std::memory_order_relaxed) >=
             std::chrono::duration_cast<std::chrono::steady_clock::duration>(evictable_after).count();
}

} // namespace

bool proxy_state::has_evictable_session() const {
  const std::int64_t now = std::chrono::steady_clock::now().time_since_epoch().count();
  std::unique_lock lock(mutex_);
  return eviction_ == nullptr &&
         std::any_of(sessions_.begin(), sessions_.end(), [now](const auto& slot) { return evictable(*slot, now); });
}

bool proxy_state::close_longest_idle_session() {
  const std::int64_t now = std::chrono::steady_clock::now().time_since_epoch().count();
  std::shared_ptr<session_slot> longest;
  {
    std::unique_lock lock(mutex_);
    if (eviction_ != nullptr) {
      return false; // one at a time: a burst of new connections must not close every idle one
    }
    std::int64_t since = std::numeric_limits<std::int64_t>::max();
    for (const auto& slot : sessions_) {
      if (evictable(*slot, now) && slot->idle_since.load(std::memory_order_relaxed) < since) {
        since = slot->idle_since.load(std::memory_order_relaxed);
        longest = slot;
      }
    }
    if (!longest) {
      return false;
    }
    eviction_ = longest.get(); // until it leaves, or turns out busy
  }
  // Still idle on its own thread: closed. A request began meanwhile: left alone, and the eviction
  // given up.
  net::post(longest->executor, [this, longest] {
    if (longest->stream != nullptr && longest->idle.load(std::memory_order_acquire)) {
      longest->stream->cancel();
      return;
    }
    std::unique_lock lock(mutex_);
    if (eviction_ == longest.get()) {
      eviction_ = nullptr;
    }
  });
  return true;
}

server::server(cli::serve_options options, reload::rules_in_force& rules, report_sinks report_to)
    : options_(std::move(options)),
      state_(std::make_unique<proxy_state>(
          options_.threads != 0 ? options_.threads : std::max(1u, std::thread::hardware_concurrency()), options_,
          rules, report_to)),
      main_ioc_(state_->threads.front()->ioc),
      acceptor_(main_ioc_.get_executor()),
      signals_(main_ioc_, SIGINT, SIGTERM),
      drain_timer_(main_ioc_.get_executor()) {
  for (const auto& thread : state_->threads) {
    keep_running_.emplace_back(thread->ioc.get_executor());
  }
  boost::system::error_code ec;
  auto address = net::ip::make_address(options_.listen_host, ec);
  if (ec) {
    throw std::runtime_error("--listen: '" + options_.listen_host + "' is not an IP address");
  }
  net::ip::tcp::endpoint endpoint(address, static_cast<unsigned short>(std::stoul(options_.listen_port)));
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) {
    acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  }
  if (!ec) {
    acceptor_.bind(endpoint, ec);
  }
  if (!ec) {
    acceptor_.listen(net::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    throw std::runtime_error("cannot listen on " + options_.listen_host + ":" + options_.listen_port + ": " +
                             ec.message());
  }
}

server::~server() = default;

void server::begin_drain() {
  const bool began = state_->begin_draining([this] {
    net::post(main_ioc_, [this] {
      drain_timer_.cancel();
      signals_.cancel();
    });
    // Each thread ends once it has nothing left to do: no session, and no pooled connection
    // whose deadline timer is still armed.
    for (std::size_t i = 0; i < state_->threads.size(); ++i) {
      net::post(state_->threads[i]->ioc, [this, i] {
        state_->threads[i]->api.close_idle();
        state_->threads[i]->forms.close_idle();
        keep_running_[i].reset();
      });
    }
  });
  if (!began) {
    return;
  }
  logging::info("draining: no new connections, finishing requests in flight",
                {{"timeout_ms", static_cast<std::uint64_t>(options_.drain_timeout.count())}});
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  state_->close_idle_sessions();
  // With no session open, nobody else would end the drain.
  state_->notify_if_drained();

  drain_timer_.expires_after(options_.drain_timeout);
  drain_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) {
      return; // the last session left
    }
    const std::size_t open = state_->cut_in_flight();
    logging::warn("drain timeout: cutting the requests still in flight", {{"connections", open}});
    // A session the cut does not end (one writing to a client that reads nothing, say) is
    // stopped with the rest after a little while; the last session out cancels this wait.
    drain_timer_.expires_after(cut_grace);
    drain_timer_.async_wait([this](boost::system::error_code grace_ec) {
      if (!grace_ec) {
        logging::warn("requests the drain cut did not end: stopping now");
        stop_all_threads();
      }
    });
  });
}

void server::stop_all_threads() {
  for (const auto& thread : state_->threads) {
    thread->ioc.stop();
  }
}

int server::run(const std::function<void()>& on_listening) {
  auto local = acceptor_.local_endpoint();
  const std::size_t max_connections =
      options_.max_connections != 0 ? options_.max_connections : default_max_connections();
  net::co_spawn(main_ioc_, accept_loop(acceptor_, *state_, max_connections), net::detached);

  std::function<void(boost::system::error_code, int)> on_signal = [&](boost::system::error_code ec, int signo) {
    if (ec) {
      return;
    }
    if (state_->draining.load()) {
      logging::warn("second signal: stopping now", {{"signal", signo}});
      stop_all_threads();
      return;
    }
    logging::info("signal received", {{"signal", signo}});
    begin_drain();
    signals_.async_wait(on_signal);
  };
  signals_.async_wait(on_signal);

  const auto threads = static_cast<unsigned>(state_->threads.size());
  logging::info("listening", {{"address", io::endpoint_text(local)},
                              {"upstream", options_.upstream.host + ":" + options_.upstream.port},
                              {"forms_upstream", options_.forms_upstream.host + ":" + options_.forms_upstream.port},
                              {"threads", threads},
                              {"max_connections", max_connections}});
  if (on_listening) {
    on_listening();
  }
  std::vector<std::thread> workers;
  for (unsigned i = 1; i < threads; ++i) {
    workers.emplace_back([&ioc = state_->threads[i]->ioc] { ioc.run(); });
  }
  main_ioc_.run();
  for (auto& t : workers) {
    t.join();
  }
  logging::info("stopped");
  return 0;
}

} // namespace hubgate::server
