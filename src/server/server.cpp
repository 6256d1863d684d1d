#include "server/server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <csignal>
#include <stdexcept>
#include <thread>
#include <vector>

#include "logging/log.hpp"
#include "server/session.hpp"

namespace hubgate::server {

namespace {

constexpr auto use_tuple = net::as_tuple(net::use_awaitable);

upstream::pool_settings pool_settings_from(const cli::serve_options& o) {
  return {o.upstream_pool_size, o.upstream_idle_timeout, o.upstream_connect_timeout};
}

net::awaitable<void> accept_loop(net::ip::tcp::acceptor& acceptor, proxy_state& state) {
  net::steady_timer backoff(acceptor.get_executor());
  for (;;) {
    // With several I/O threads each connection gets a strand; with one, the thread is the strand
    // and a real one would only cost (a strand hop on every completion).
    net::any_io_executor executor = state.single_threaded ? net::any_io_executor(state.ioc.get_executor())
                                                          : net::any_io_executor(net::make_strand(state.ioc));
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
    boost::system::error_code ignored;
    socket.set_option(net::ip::tcp::no_delay(true), ignored);
    auto slot = state.enter(executor);
    net::co_spawn(executor, run_session(boost::beast::tcp_stream(std::move(socket)), state, std::move(slot)),
                  [](const std::exception_ptr& e) {
                    if (e) {
                      try {
                        std::rethrow_exception(e);
                      } catch (const std::exception& ex) {
                        logging::error("session ended by an unexpected error", {{"reason", ex.what()}});
                      }
                    }
                  });
  }
}

} // namespace

proxy_state::proxy_state(net::io_context& io, const cli::serve_options& opts, reload::rules_in_force& rules_in_force,
                         report_sinks report_to, bool one_thread)
    : ioc(io),
      single_threaded(one_thread),
      options(opts),
      tls(upstream::make_tls_context(opts.ca_file)),
      api(io, *tls, opts.upstream, pool_settings_from(opts), one_thread),
      forms(io, *tls, opts.forms_upstream, pool_settings_from(opts), one_thread),
      rules(rules_in_force),
      sinks(report_to) {}

std::shared_ptr<session_slot> proxy_state::enter(net::any_io_executor session_executor) {
  auto slot = std::make_shared<session_slot>(std::move(session_executor));
  std::unique_lock lock(mutex_);
  sessions_.insert(slot);
  return slot;
}

void proxy_state::leave(const std::shared_ptr<session_slot>& slot) {
  {
    std::unique_lock lock(mutex_);
    sessions_.erase(slot);
  }
  notify_if_drained();
}

void proxy_state::notify_if_drained() {
  std::function<void()> last;
  {
    std::unique_lock lock(mutex_);
    if (sessions_.empty() && draining.load() && on_last_session_left) {
      last = std::exchange(on_last_session_left, nullptr);
    }
  }
  if (last) {
    last();
  }
}

std::size_t proxy_state::session_count() const {
  std::unique_lock lock(mutex_);
  return sessions_.size();
}

void proxy_state::close_idle_sessions() {
  std::unique_lock lock(mutex_);
  for (const auto& slot : sessions_) {
    // On the session's own strand, where its stream may be touched.
    net::post(slot->executor, [slot] {
      if (slot->stream != nullptr && slot->idle) {
        slot->stream->cancel();
      }
    });
  }
}

server::server(cli::serve_options options, reload::rules_in_force& rules, report_sinks report_to)
    : options_(std::move(options)),
      threads_(options_.threads != 0 ? options_.threads : std::max(1u, std::thread::hardware_concurrency())),
      ioc_(static_cast<int>(threads_)),
      state_(std::make_unique<proxy_state>(ioc_, options_, rules, report_to, threads_ == 1)),
      acceptor_(ioc_),
      signals_(ioc_, SIGINT, SIGTERM),
      drain_timer_(ioc_) {
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
  if (state_->draining.exchange(true)) {
    return;
  }
  logging::info("draining: no new connections, finishing requests in flight",
                {{"timeout_ms", static_cast<std::uint64_t>(options_.drain_timeout.count())}});
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  state_->on_last_session_left = [this] {
    net::post(ioc_, [this] {
      drain_timer_.cancel();
      signals_.cancel();
    });
  };
  state_->close_idle_sessions();
  // With no session open, nobody else would end the drain.
  state_->notify_if_drained();

  drain_timer_.expires_after(options_.drain_timeout);
  drain_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) {
      logging::warn("drain timeout: closing the connections still open");
      ioc_.stop();
    }
  });
}

int server::run(const std::function<void()>& on_listening) {
  auto local = acceptor_.local_endpoint();
  net::co_spawn(ioc_, accept_loop(acceptor_, *state_), net::detached);

  std::function<void(boost::system::error_code, int)> on_signal = [&](boost::system::error_code ec, int signo) {
    if (ec) {
      return;
    }
    if (state_->draining.load()) {
      logging::warn("second signal: stopping now", {{"signal", signo}});
      ioc_.stop();
      return;
    }
    logging::info("signal received", {{"signal", signo}});
    begin_drain();
    signals_.async_wait(on_signal);
  };
  signals_.async_wait(on_signal);

  const unsigned threads = threads_;
  logging::info("listening", {{"address", local.address().to_string() + ":" + std::to_string(local.port())},
                              {"upstream", options_.upstream.host + ":" + options_.upstream.port},
                              {"forms_upstream", options_.forms_upstream.host + ":" + options_.forms_upstream.port},
                              {"threads", threads}});
  if (on_listening) {
    on_listening();
  }
  std::vector<std::thread> workers;
  for (unsigned i = 1; i < threads; ++i) {
    workers.emplace_back([this] { ioc_.run(); });
  }
  ioc_.run();
  for (auto& t : workers) {
    t.join();
  }
  logging::info("stopped");
  return 0;
}

} // namespace hubgate::server
