#include "integration/proxy_client.hpp"

#include <poll.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <regex>
#include <stdexcept>

namespace hubgate::test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;

std::optional<std::string> http_answer::header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (beast::iequals(n, name)) {
      return v;
    }
  }
  return std::nullopt;
}

struct proxy_connection::impl {
  net::io_context ioc;
  net::ip::tcp::socket socket{ioc};
  beast::flat_buffer buffer;
};

proxy_connection::proxy_connection(std::uint16_t port, std::chrono::milliseconds read_timeout)
    : impl_(std::make_unique<impl>()) {
  impl_->socket.connect({net::ip::address_v4::loopback(), port});
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(read_timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((read_timeout.count() % 1000) * 1000);
  ::setsockopt(impl_->socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

proxy_connection::~proxy_connection() = default;

void proxy_connection::send(std::string_view bytes) { net::write(impl_->socket, net::buffer(bytes)); }

std::optional<http_answer> proxy_connection::read_answer(bool head_request) {
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  parser.skip(head_request);
  boost::system::error_code ec;
  bhttp::read(impl_->socket, impl_->buffer, parser, ec);
  if (ec) {
    return std::nullopt;
  }
  const auto& res = parser.get();
  http_answer answer;
  answer.status = res.result_int();
  answer.version = res.version();
  for (const auto& f : res) {
    answer.headers.emplace_back(f.name_string(), f.value());
  }
  answer.body = res.body();
  answer.keep_alive = res.keep_alive();
  answer.chunked = res.chunked();
  return answer;
}

std::string proxy_connection::read_until_close() {
  std::string out(static_cast<const char*>(impl_->buffer.data().data()), impl_->buffer.size());
  impl_->buffer.consume(impl_->buffer.size());
  char chunk[4096];
  for (;;) {
    boost::system::error_code ec;
    std::size_t n = impl_->socket.read_some(net::buffer(chunk), ec);
    out.append(chunk, n);
    if (ec) {
      return out;
    }
  }
}

bool proxy_connection::closed_by_peer() {
  if (impl_->buffer.size() != 0) {
    return false;
  }
  char byte = 0;
  boost::system::error_code ec;
  impl_->socket.read_some(net::buffer(&byte, 1), ec);
  return ec == net::error::eof || ec == net::error::connection_reset;
}

bool proxy_connection::has_unread_bytes() {
  pollfd fd{impl_->socket.native_handle(), POLLIN, 0};
  return impl_->buffer.size() != 0 || ::poll(&fd, 1, 0) == 1;
}

std::optional<http_answer> exchange(std::uint16_t port, std::string_view raw_request) {
  proxy_connection c(port);
  c.send(raw_request);
  return c.read_answer(raw_request.starts_with("HEAD "));
}

std::string make_request(std::string_view method, std::string_view target,
                         const std::vector<std::pair<std::string, std::string>>& headers, std::string_view body) {
  std::string r = std::string(method) + " " + std::string(target) + " HTTP/1.1\r\nHost: hubgate.test\r\n";
  for (const auto& [n, v] : headers) {
    r += n + ": " + v + "\r\n";
  }
  if (!body.empty() || (method != "GET" && method != "HEAD")) {
    r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  r += "\r\n";
  r += body;
  return r;
}

running_proxy::running_proxy(std::vector<std::string> flags, const env_list& env) {
  std::vector<std::string> argv{hubgate_binary(), "serve"};
  const bool admin_named =
      std::any_of(flags.begin(), flags.end(), [](const std::string& f) { return f.starts_with("--admin-listen"); }) ||
      std::any_of(env.begin(), env.end(), [](const auto& kv) { return kv.first == "HUBGATE_ADMIN_LISTEN"; });
  if (!admin_named) {
    argv.insert(argv.end(), {"--admin-listen", "127.0.0.1:0"});
  }
  argv.insert(argv.end(), flags.begin(), flags.end());
  process_ = std::make_unique<child_process>(argv, env);
  if (!process_->wait_for_output("listening", std::chrono::seconds(20))) {
    throw std::runtime_error("hubgate did not start listening; its output:\n" + process_->output());
  }
  // The port it chose for --listen 127.0.0.1:0, from its "listening address=IP:PORT" line (or
  // "address":"IP:PORT" in JSON).
  static const std::regex address(R"(listening.*address"?[=:]"?[0-9.]+:([0-9]+))");
  std::smatch m;
  std::string out = process_->output();
  if (!std::regex_search(out, m, address)) {
    throw std::runtime_error("no listening address in hubgate's output:\n" + out);
  }
  port_ = static_cast<std::uint16_t>(std::stoul(m[1].str()));
}

std::uint16_t running_proxy::admin_port() {
  if (admin_port_ != 0) {
    return admin_port_;
  }
  if (!process_->wait_for_output("admin listening", std::chrono::seconds(20))) {
    throw std::runtime_error("hubgate's admin listener did not start; its output:\n" + process_->output());
  }
  static const std::regex address(R"(admin listening.*address"?[=:]"?[0-9.]+:([0-9]+))");
  std::smatch m;
  const std::string out = process_->output();
  if (!std::regex_search(out, m, address)) {
    throw std::runtime_error("no admin listening address in hubgate's output:\n" + out);
  }
  admin_port_ = static_cast<std::uint16_t>(std::stoul(m[1].str()));
  return admin_port_;
}

std::vector<std::string> proxy_flags(const std::string& api_url, const std::string& forms_url,
                                     const std::string& ca_file) {
  return {"--listen", "127.0.0.1:0", "--upstream", api_url, "--forms-upstream", forms_url, "--ca-file", ca_file,
          "--threads", "2", "--rules", HUBGATE_TEST_DATA_DIR "/allow_all.yaml"};
}

} // namespace hubgate::test
