#pragma once
// The admin listener: plain HTTP on its own address (never the proxy's), for operators and
// orchestrators.
//   GET /healthz  200 while the process serves
//   GET /readyz   200 with rules loaded; 503 once a drain (SIGTERM) began
//   GET /metrics  Prometheus text: proxy_metrics' counters plus the gauges read at scrape time
//   GET /rules    the rule set in force as JSON (reload::describe)
//   GET /clients  the clients of the rules in force (auth: clients): requests, new contacts, budgets
// Requests are small and bounded (8 KiB head, 10 s per exchange); anything but GET and HEAD is 405.
// A request whose Host is a name with a dot not listed in --admin-hosts gets 421: a web page whose
// name an attacker points at this address (DNS rebinding) would otherwise read /rules and
// /clients from a browser on the same network.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <list>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "audit/trail.hpp"
#include "hubgate/metrics/proxy_metrics.hpp"
#include "reload/rules_in_force.hpp"
#include "server/server.hpp"

namespace hubgate::admin {

namespace net = boost::asio;
namespace beast = boost::beast;

// What the endpoints read; owned elsewhere, outliving the admin server.
struct sources {
  const server::proxy_state& proxy;
  const reload::rules_in_force& rules;
  const metrics::proxy_metrics& metrics;
  const audit::trail* audit = nullptr; // nullptr: no audit trail
  std::chrono::system_clock::time_point started;
  std::span<const std::string> hosts; // --admin-hosts
};

// Whether the admin listener answers a request with this Host header: none (HTTP/1.0), an IP
// address, a name without a dot (localhost, a Compose service), or one `listed` (lower case), each
// with or without a port.
bool admin_host_accepted(std::string_view host, std::span<const std::string> listed);

struct answer {
  unsigned status = 200;
  std::string_view content_type;
  std::string body;
};

// The answer to one admin request; `target` may carry a query, which is ignored.
answer respond(const sources& from, std::string_view method, std::string_view target);

// The whole /metrics page.
std::string render_metrics(const sources& from);

// An open admin connection, as the listener sees it.
struct admin_connection {
  beast::tcp_stream* stream = nullptr;
  bool waiting = true; // for (the rest of) a request, not answering one
  std::chrono::steady_clock::time_point since;
};

class admin_server {
 public:
  // Binds `host:port`; throws std::runtime_error when it cannot (a start-up error).
  admin_server(net::io_context& ioc, const std::string& host, const std::string& port, sources from);

  net::ip::tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }
  // Starts accepting (on the io_context's thread).
  void start();

 private:
  net::awaitable<void> accept_loop();

  net::io_context& ioc_;
  net::ip::tcp::acceptor acceptor_;
  sources from_;
  // The open connections, each marked while it waits for a request (all on the io_context's
  // thread): when all slots are taken, the one waiting longest makes room for a new one.
  // Shared with the connections' coroutines, which the io_context may destroy after this object.
  std::shared_ptr<std::list<admin_connection>> connections_ = std::make_shared<std::list<admin_connection>>();
};

} // namespace hubgate::admin
