#include "admin/admin_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <dirent.h>
#include <unistd.h>

#include <array>
#include <fstream>
#include <stdexcept>
#include <system_error>
#include <utility>

#include <nlohmann/json.hpp>

#include "hubgate/audit/record.hpp"
#include "hubgate/version.hpp"
#include "logging/log.hpp"

namespace hubgate::admin {

namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
constexpr auto use_tuple = net::as_tuple(net::use_awaitable);
constexpr std::chrono::seconds exchange_timeout{10};
constexpr std::size_t max_connections = 32; // scrapers and probes, not traffic

constexpr std::string_view text_plain = "text/plain; charset=utf-8";
constexpr std::string_view application_json = "application/json";

double seconds_since_epoch(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

struct process_memory {
  std::uint64_t resident = 0;
  std::uint64_t virtual_size = 0;
};

// /proc/self/statm: sizes in pages, the first the whole address space, the second the resident set.
process_memory read_memory() {
  process_memory m;
  std::ifstream statm("/proc/self/statm");
  std::uint64_t pages = 0;
  std::uint64_t resident = 0;
  if (statm >> pages >> resident) {
    const auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
    m.virtual_size = pages * page;
    m.resident = resident * page;
  }
  return m;
}

std::uint64_t count_open_fds() {
  std::uint64_t n = 0;
  if (DIR* dir = ::opendir("/proc/self/fd")) {
    while (const dirent* entry = ::readdir(dir)) {
      n += entry->d_name[0] != '.' ? 1 : 0;
    }
    ::closedir(dir);
    n -= n > 0 ? 1 : 0; // the directory stream's own descriptor
  }
  return n;
}

void add_gauge(metrics::exposition& out, std::string_view name, std::string_view help, std::uint64_t value) {
  out.family(name, "gauge", help);
  out.sample(name, {}, value);
}

net::awaitable<void> serve_connection(beast::tcp_stream stream, const sources& from,
                                      std::shared_ptr<std::list<admin_connection>> connections) {
  // Listed while it lives, so that the listener can close it to make room (accept_loop).
  const auto self = connections->insert(connections->end(), {&stream, true, std::chrono::steady_clock::now()});
  struct unlist {
    std::shared_ptr<std::list<admin_connection>> connections;
    std::list<admin_connection>::iterator self;
    ~unlist() { connections->erase(self); }
  } unlist_on_exit{std::move(connections), self};
  beast::flat_buffer buffer;
  for (;;) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(8 * 1024);
    parser.body_limit(4 * 1024);
    stream.expires_after(exchange_timeout);
    self->waiting = true;
    self->since = std::chrono::steady_clock::now();
    auto [rec, read] = co_await bhttp::async_read(stream, buffer, parser, use_tuple);
    self->waiting = false;
    if (rec) {
      break; // closed, too slow, malformed or made room for another: nothing worth answering
    }
    const auto& request = parser.get();
    const bool head = request.method() == bhttp::verb::head;
    const bool host_accepted = request.count(bhttp::field::host) <= 1 &&
                               admin_host_accepted(request[bhttp::field::host], from.hosts);
    auto reply = host_accepted ? respond(from, request.method_string(), request.target())
                               : answer{421, text_plain, "this Host is not answered here: list it in --admin-hosts\n"};
    bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(reply.status), request.version()};
    res.set(bhttp::field::server, "hubgate");
    res.set(bhttp::field::content_type, reply.content_type);
    res.set(bhttp::field::cache_control, "no-store");
    if (reply.status == 405) {
      res.set(bhttp::field::allow, "GET, HEAD");
    }
    res.keep_alive(request.keep_alive());
    res.body() = std::move(reply.body);
    res.prepare_payload();
    if (head) {
      const auto length = res.body().size();
      res.body().clear();
      res.content_length(length);
    }
    auto [wec, written] = co_await bhttp::async_write(stream, res, use_tuple);
    if (wec || !res.keep_alive()) {
      break;
    }
  }
  boost::system::error_code ignored;
  stream.socket().shutdown(net::ip::tcp::socket::shutdown_send, ignored);
}

} // namespace

namespace {

// The clients of the rule set in force (auth: clients) and the callers refused before one was named.
void render_client_metrics(metrics::exposition& out, const reload::loaded_rules& in_force,
                           access::client_ledger& ledger) {
  const auto& access = in_force.rules->access();
  if (access.mode != access::auth_mode::clients) {
    return;
  }
  out.family("hubgate_auth_refused_total", "counter",
             "Requests refused before a client was named (no_credential, unknown_key, query_credential, "
             "several_credentials)");
  for (const auto& [why, label] : {std::pair{access::refusal::no_credential, "no_credential"},
                                   std::pair{access::refusal::unknown_key, "unknown_key"},
                                   std::pair{access::refusal::query_credential, "query_credential"},
                                   std::pair{access::refusal::several_credentials, "several_credentials"}}) {
    out.sample("hubgate_auth_refused_total", {{"reason", label}}, ledger.refusals(why));
  }
  std::vector<access::client_ledger::usage> usage;
  for (std::size_t i = 0; i < access.clients.size(); ++i) {
    usage.push_back(ledger.read(*in_force.accounts[i], access.clients[i].max_new_contacts));
  }
  out.family("hubgate_client_requests_total", "counter", "Requests by client");
  for (const auto& u : usage) {
    out.sample("hubgate_client_requests_total", {{"client", u.name}}, u.requests);
  }
  out.family("hubgate_client_new_contacts_total", "counter", "New contacts HubSpot reported created, by client");
  for (const auto& u : usage) {
    out.sample("hubgate_client_new_contacts_total", {{"client", u.name}}, u.new_contacts);
  }
  out.family("hubgate_client_budget_refused_total", "counter",
             "Requests refused because the client's max_new_contacts was spent");
  for (const auto& u : usage) {
    out.sample("hubgate_client_budget_refused_total", {{"client", u.name}}, u.budget_refusals);
  }
  out.family("hubgate_client_budget_remaining", "gauge",
             "New contacts the client may still create in the current window (clients with max_new_contacts)");
  for (std::size_t i = 0; i < usage.size(); ++i) {
    if (const auto& budget = access.clients[i].max_new_contacts) {
      const std::uint64_t used = usage[i].created_in_window + usage[i].reserved;
      out.sample("hubgate_client_budget_remaining", {{"client", usage[i].name}},
                 used >= budget->count ? 0 : budget->count - used);
    }
  }
}

// GET /clients: each client of the rule set in force, what it did, and its budget's window.
std::string describe_clients(const reload::loaded_rules& in_force, access::client_ledger& ledger) {
  const auto& access = in_force.rules->access();
  nlohmann::ordered_json clients = nlohmann::ordered_json::array();
  for (std::size_t i = 0; i < access.clients.size(); ++i) {
    const auto& client = access.clients[i];
    const auto u = ledger.read(*in_force.accounts[i], client.max_new_contacts);
    nlohmann::ordered_json entry{{"name", client.name},
                                 {"requests", u.requests},
                                 {"new_contacts", u.new_contacts},
                                 {"budget_refused", u.budget_refusals}};
    if (const auto& budget = client.max_new_contacts) {
      const std::uint64_t used = u.created_in_window + u.reserved;
      entry["max_new_contacts"] = {{"per", access::to_string(budget->per)},
                                   {"count", budget->count},
                                   {"created", u.created_in_window},
                                   {"in_flight", u.reserved},
                                   {"remaining", used >= budget->count ? 0 : budget->count - used},
                                   {"window_start", audit::format_time(u.window_start)},
                                   {"window_end", audit::format_time(u.window_end)}};
    }
    clients.push_back(std::move(entry));
  }
  nlohmann::ordered_json out{{"auth", access::to_string(access.mode)}, {"clients", std::move(clients)}};
  return out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

} // namespace

std::string render_metrics(const sources& from) {
  metrics::exposition out;
  from.metrics.render(out);

  add_gauge(out, "hubgate_client_connections", "Client connections open on the proxy port", from.proxy.session_count());
  constexpr std::array<std::pair<hubspot::upstream_id, std::string_view>, 2> upstreams{
      {{hubspot::upstream_id::api, "api"}, {hubspot::upstream_id::forms, "forms"}}};
  out.family("hubgate_upstream_pooled_connections", "gauge", "Idle keep-alive upstream connections in the pool");
  for (const auto& [upstream, name] : upstreams) {
    out.sample("hubgate_upstream_pooled_connections", {{"upstream", name}},
               static_cast<std::uint64_t>(from.proxy.pooled_connections(upstream)));
  }
  out.family("hubgate_upstream_handshakes_total", "counter",
             "Upstream TLS handshakes completed; resumed: with the session of an earlier connection");
  for (const auto& [upstream, name] : upstreams) {
    for (const bool resumed : {false, true}) {
      out.sample("hubgate_upstream_handshakes_total", {{"upstream", name}, {"resumed", resumed ? "true" : "false"}},
                 from.proxy.upstream_handshakes(upstream, resumed));
    }
  }
  add_gauge(out, "hubgate_draining", "1 once a drain (SIGTERM) began", from.proxy.draining.load() ? 1 : 0);

  const auto in_force = from.rules.current();
  add_gauge(out, "hubgate_rules_generation", "The rule set in force: 1 as started, +1 per reload",
            in_force->generation);
  out.family("hubgate_rules_loaded_timestamp_seconds", "gauge", "When the rule set in force was loaded (Unix time)");
  out.sample("hubgate_rules_loaded_timestamp_seconds", {}, seconds_since_epoch(in_force->loaded_at));
  add_gauge(out, "hubgate_rules", "Rules in the rule set in force", in_force->rules->rule_count());
  render_client_metrics(out, *in_force, from.proxy.sinks.clients);

  if (from.audit != nullptr) {
    const auto stats = from.audit->stats();
    out.family("hubgate_audit_records_total", "counter", "Audit entries written");
    out.sample("hubgate_audit_records_total", {}, stats.written);
    out.family("hubgate_audit_dropped_total", "counter",
               "Audit entries lost, by reason (queue_full: the writer fell behind; write_error: the write failed)");
    out.sample("hubgate_audit_dropped_total", {{"reason", "queue_full"}}, stats.dropped_full);
    out.sample("hubgate_audit_dropped_total", {{"reason", "write_error"}}, stats.dropped_failed);
    out.family("hubgate_audit_write_errors_total", "counter", "Failed writes to the audit file (a full disk, say)");
    out.sample("hubgate_audit_write_errors_total", {}, stats.write_errors);
  }

  out.family("hubgate_build_info", "gauge", "The running version");
  out.sample("hubgate_build_info", {{"version", hubgate::version}}, std::uint64_t{1});
  const auto memory = read_memory();
  add_gauge(out, "process_resident_memory_bytes", "Resident memory size in bytes (/proc/self/statm)", memory.resident);
  add_gauge(out, "process_virtual_memory_bytes", "Virtual memory size in bytes (/proc/self/statm)",
            memory.virtual_size);
  add_gauge(out, "process_open_fds", "Open file descriptors", count_open_fds());
  out.family("process_start_time_seconds", "gauge", "Start time of the process since the Unix epoch in seconds");
  out.sample("process_start_time_seconds", {}, seconds_since_epoch(from.started));
  return out.take();
}

bool admin_host_accepted(std::string_view host, std::span<const std::string> listed) {
  if (host.empty()) {
    return true;
  }
  std::string_view name = host;
  if (name.front() == '[') { // an IPv6 address, perhaps with a port
    const std::size_t close = name.find(']');
    return close != std::string_view::npos &&
           (close + 1 == name.size() || (name[close + 1] == ':' && close + 2 < name.size()));
  }
  if (const std::size_t colon = name.rfind(':'); colon != std::string_view::npos) {
    const std::string_view port = name.substr(colon + 1);
    if (port.empty() || port.find_first_not_of("0123456789") != std::string_view::npos) {
      return false;
    }
    name = name.substr(0, colon);
  }
  if (name.empty()) {
    return false;
  }
  boost::system::error_code ec;
  net::ip::make_address_v4(std::string(name), ec);
  if (!ec || name.find('.') == std::string_view::npos) {
    return true;
  }
  return std::any_of(listed.begin(), listed.end(), [name](const std::string& allowed) {
    return allowed.size() == name.size() &&
           std::equal(name.begin(), name.end(), allowed.begin(), [](char a, char b) {
             return (a >= 'A' && a <= 'Z' ? static_cast<char>(a - 'A' + 'a') : a) == b;
           });
  });
}

answer respond(const sources& from, std::string_view method, std::string_view target) {
  const std::string_view path = target.substr(0, target.find('?'));
  const bool known =
      path == "/healthz" || path == "/readyz" || path == "/metrics" || path == "/rules" || path == "/clients";
  if (!known) {
    return {404, text_plain, "not found: try /healthz, /readyz, /metrics, /rules or /clients\n"};
  }
  if (method != "GET" && method != "HEAD") {
    return {405, text_plain, "method not allowed\n"};
  }
  if (path == "/healthz") {
    return {200, text_plain, "ok\n"};
  }
  if (path == "/readyz") {
    if (from.proxy.draining.load()) {
      return {503, text_plain, "draining\n"};
    }
    return {200, text_plain, "ready\n"};
  }
  if (path == "/metrics") {
    return {200, metrics::exposition_content_type, render_metrics(from)};
  }
  if (path == "/clients") {
    return {200, application_json, describe_clients(*from.rules.current(), from.proxy.sinks.clients)};
  }
  return {200, application_json, reload::describe(*from.rules.current())};
}

admin_server::admin_server(net::io_context& ioc, const std::string& host, const std::string& port, sources from)
    : ioc_(ioc), acceptor_(ioc), from_(from) {
  boost::system::error_code ec;
  const auto address = net::ip::make_address(host, ec);
  if (ec) {
    throw std::runtime_error("--admin-listen: '" + host + "' is not an IP address");
  }
  try {
    const net::ip::tcp::endpoint endpoint(address, static_cast<unsigned short>(std::stoul(port)));
    acceptor_ = net::ip::tcp::acceptor(ioc, endpoint, true);
  } catch (const boost::system::system_error& e) {
    throw std::runtime_error("cannot listen on " + host + ":" + port + " (admin): " + e.code().message());
  }
}

void admin_server::start() {
  net::co_spawn(ioc_, accept_loop(), logging::log_uncaught("admin listener stopped by an unexpected error"));
}

net::awaitable<void> admin_server::accept_loop() {
  net::steady_timer backoff(ioc_);
  for (;;) {
    auto [ec, socket] = co_await acceptor_.async_accept(use_tuple);
    if (ec == net::error::operation_aborted || !acceptor_.is_open()) {
      co_return;
    }
    if (ec) {
      // Out of descriptors, say: wait a moment rather than spin on an accept that keeps failing.
      logging::warn("admin accept failed", {{"reason", ec.message()}});
      backoff.expires_after(std::chrono::milliseconds(50));
      co_await backoff.async_wait(use_tuple);
      continue;
    }
    if (connections_->size() >= max_connections) {
      // All slots taken: the connection that has waited longest for a request gives its slot up,
      // so idle connections (or slow ones) cannot keep probes and scrapers out. None waiting: the
      // new one is refused (the socket closes as it goes out of scope).
      auto oldest = connections_->end();
      for (auto it = connections_->begin(); it != connections_->end(); ++it) {
        if (it->waiting && (oldest == connections_->end() || it->since < oldest->since)) {
          oldest = it;
        }
      }
      if (oldest == connections_->end()) {
        continue;
      }
      boost::system::error_code ignored;
      oldest->stream->socket().close(ignored); // its read ends, and it leaves the list
      oldest->waiting = false;                 // until then, it is not the one to close again
    }
    net::co_spawn(ioc_, serve_connection(beast::tcp_stream(std::move(socket)), from_, connections_),
                  [](const std::exception_ptr& e) {
                    logging::log_exception("admin connection ended by an unexpected error", e);
                  });
  }
}

} // namespace hubgate::admin
