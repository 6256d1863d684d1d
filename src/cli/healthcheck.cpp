#include "cli/healthcheck.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <chrono>
#include <exception>
#include <string>
#include <string_view>
#include <utility>

namespace hubgate::cli {

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
constexpr auto use_tuple = net::as_tuple(net::use_awaitable);

// /healthz answers are a word or a small JSON document; more is not worth waiting for.
constexpr std::size_t answer_limit = 16 * 1024;
// How much of an unhealthy answer's body goes into the one-line reason.
constexpr std::size_t reason_body_chars = 200;

struct probe_result {
  bool healthy = false;
  std::string line; // what to print, without the "hubgate healthcheck: URL: " prefix
};

std::string describe(const boost::system::error_code& ec, std::chrono::milliseconds timeout) {
  if (ec == beast::error::timeout) {
    return "no answer within " + std::to_string(timeout.count()) + " ms";
  }
  return ec.message();
}

// The body flattened to one printable line, cut at reason_body_chars.
std::string one_line(std::string_view body) {
  std::string line;
  for (const char c : body.substr(0, reason_body_chars)) {
    const auto u = static_cast<unsigned char>(c);
    line += (u < 0x20 || u == 0x7f) ? ' ' : c;
  }
  while (!line.empty() && line.back() == ' ') {
    line.pop_back();
  }
  return body.size() > reason_body_chars ? line + "..." : line;
}

// One GET on a fresh connection. The stream's deadline, set once, covers connect, write and read.
net::awaitable<probe_result> probe(tcp::endpoint endpoint, std::string host_header, std::chrono::milliseconds timeout) {
  auto executor = co_await net::this_coro::executor;
  beast::tcp_stream stream(executor);
  stream.expires_after(timeout);
  auto [connect_ec] = co_await stream.async_connect(endpoint, use_tuple);
  if (connect_ec) {
    co_return probe_result{false, describe(connect_ec, timeout)};
  }

  bhttp::request<bhttp::empty_body> request(bhttp::verb::get, "/healthz", 11);
  request.set(bhttp::field::host, host_header);
  request.set(bhttp::field::user_agent, "hubgate-healthcheck");
  request.set(bhttp::field::connection, "close");
  auto [write_ec, written] = co_await bhttp::async_write(stream, request, use_tuple);
  if (write_ec) {
    co_return probe_result{false, describe(write_ec, timeout)};
  }

  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.header_limit(answer_limit);
  parser.body_limit(answer_limit);
  auto [read_ec, read] = co_await bhttp::async_read_header(stream, buffer, parser, use_tuple);
  if (read_ec) {
    co_return probe_result{false, read_ec == bhttp::error::end_of_stream
                                      ? std::string("connection closed without an answer")
                                      : describe(read_ec, timeout)};
  }
  const auto& head = parser.get();
  std::string status = std::to_string(head.result_int());
  if (!head.reason().empty()) {
    status += " " + std::string(head.reason());
  }
  if (head.result_int() == 200) {
    co_return probe_result{true, status};
  }
  // The body usually says why (draining, a failed check); without it the status still does.
  auto [body_ec, body_read] = co_await bhttp::async_read(stream, buffer, parser, use_tuple);
  const std::string body = body_ec ? std::string() : one_line(parser.get().body());
  co_return probe_result{false, body.empty() ? status : status + ": " + body};
}

} // namespace

int run_healthcheck(const healthcheck_command& check, std::ostream& out, std::ostream& err) {
  const bool v6 = check.host.find(':') != std::string::npos;
  const std::string authority = (v6 ? "[" + check.host + "]" : check.host) + ":" + check.port;
  const std::string url = "http://" + authority + "/healthz";

  boost::system::error_code ec;
  const auto address = net::ip::make_address(check.host, ec);
  if (ec) {
    err << "hubgate healthcheck: '" << check.host << "' is not an IP address\n";
    return 1;
  }
  const tcp::endpoint endpoint(address, static_cast<unsigned short>(std::stoul(check.port)));

  net::io_context ioc(1);
  probe_result result{false, "the check did not finish"};
  net::co_spawn(ioc, probe(endpoint, authority, check.timeout), [&result](std::exception_ptr failure, probe_result r) {
    if (failure) {
      try {
        std::rethrow_exception(failure);
      } catch (const std::exception& e) {
        r = {false, e.what()};
      } catch (...) {
        r = {false, "unknown error"};
      }
    }
    result = std::move(r);
  });
  ioc.run(); // returns when the probe does: every step of it has the stream's deadline

  (result.healthy ? out : err) << "hubgate healthcheck: " << url << ": " << result.line << "\n";
  return result.healthy ? 0 : 1;
}

} // namespace hubgate::cli
