// `hubgate healthcheck` against a tiny HTTP responder on loopback that answers one connection
// with canned bytes: in process through run_healthcheck, and through the real binary for the
// command line and the environment.

#include <gtest/gtest.h>

#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>

#include <mutex>
#include <sstream>
#include <string>
#include <thread>

#include "cli/healthcheck.hpp"
#include "support/process.hpp"

namespace hubgate::test {
namespace {

using namespace std::chrono_literals;
namespace net = boost::asio;
using tcp = net::ip::tcp;

// Accepts one connection on 127.0.0.1, reads the request head, then answers `answer` and closes
// (an empty answer: closes at once). Silent, it keeps the connection open without a word.
class http_responder {
 public:
  explicit http_responder(std::string answer, bool silent = false)
      : answer_(std::move(answer)),
        silent_(silent),
        acceptor_(ioc_, {net::ip::make_address("127.0.0.1"), 0}),
        port_(std::to_string(acceptor_.local_endpoint().port())) {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
      if (!ec) {
        socket_ = std::move(socket);
        read_request();
      }
    });
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~http_responder() {
    ioc_.stop();
    thread_.join();
  }
  http_responder(const http_responder&) = delete;
  http_responder& operator=(const http_responder&) = delete;

  const std::string& port() const { return port_; }
  std::string request() const {
    std::lock_guard lock(mutex_);
    return request_;
  }

 private:
  void read_request() {
    net::async_read_until(socket_, net::dynamic_buffer(buffer_), "\r\n\r\n",
                          [this](boost::system::error_code ec, std::size_t head) {
                            if (ec) {
                              return;
                            }
                            {
                              std::lock_guard lock(mutex_);
                              request_ = buffer_.substr(0, head);
                            }
                            if (!silent_) {
                              answer();
                            }
                          });
  }
  void answer() {
    net::async_write(socket_, net::buffer(answer_), [this](boost::system::error_code, std::size_t) {
      boost::system::error_code ignored;
      socket_.shutdown(tcp::socket::shutdown_send, ignored);
      socket_.close(ignored);
    });
  }

  std::string answer_;
  bool silent_;
  net::io_context ioc_;
  tcp::acceptor acceptor_;
  std::string port_;
  tcp::socket socket_{ioc_};
  std::string buffer_;
  mutable std::mutex mutex_;
  std::string request_;
  std::thread thread_;
};

struct outcome {
  int status;
  std::string out;
  std::string err;
};

outcome check(const std::string& port, std::chrono::milliseconds timeout = 5s) {
  std::ostringstream out;
  std::ostringstream err;
  const int status = cli::run_healthcheck({"127.0.0.1", port, timeout}, out, err);
  return {status, out.str(), err.str()};
}

TEST(healthcheck, a_200_is_healthy) {
  http_responder admin("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n");
  const auto result = check(admin.port());
  EXPECT_EQ(result.status, 0);
  EXPECT_EQ(result.out, "hubgate healthcheck: http://127.0.0.1:" + admin.port() + "/healthz: 200 OK\n");
  EXPECT_EQ(result.err, "");
  const std::string request = admin.request();
  EXPECT_TRUE(request.starts_with("GET /healthz HTTP/1.1\r\n")) << request;
  EXPECT_NE(request.find("Host: 127.0.0.1:" + admin.port() + "\r\n"), std::string::npos) << request;
}

TEST(healthcheck, another_status_is_unhealthy_with_the_body_as_the_reason) {
  http_responder admin(
      "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: 21\r\n\r\n"
      "{\"status\":\"draining\"}");
  const auto result = check(admin.port());
  EXPECT_EQ(result.status, 1);
  EXPECT_EQ(result.out, "");
  EXPECT_EQ(result.err, "hubgate healthcheck: http://127.0.0.1:" + admin.port() +
                            "/healthz: 503 Service Unavailable: {\"status\":\"draining\"}\n");
}

TEST(healthcheck, a_redirect_is_not_followed) {
  http_responder admin("HTTP/1.1 301 Moved Permanently\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n");
  const auto result = check(admin.port());
  EXPECT_EQ(result.status, 1);
  EXPECT_EQ(result.err, "hubgate healthcheck: http://127.0.0.1:" + admin.port() + "/healthz: 301 Moved Permanently\n");
}

TEST(healthcheck, nothing_listening_is_unhealthy) {
  const std::string port = std::to_string(free_port());
  const auto result = check(port);
  EXPECT_EQ(result.status, 1);
  EXPECT_EQ(result.err, "hubgate healthcheck: http://127.0.0.1:" + port + "/healthz: Connection refused\n");
}

TEST(healthcheck, no_answer_within_the_timeout_is_unhealthy) {
  http_responder admin("", /*silent=*/true);
  const auto result = check(admin.port(), 200ms);
  EXPECT_EQ(result.status, 1);
  EXPECT_EQ(result.err,
            "hubgate healthcheck: http://127.0.0.1:" + admin.port() + "/healthz: no answer within 200 ms\n");
}

TEST(healthcheck, a_close_without_an_answer_is_unhealthy) {
  http_responder admin("");
  const auto result = check(admin.port());
  EXPECT_EQ(result.status, 1);
  EXPECT_EQ(result.err, "hubgate healthcheck: http://127.0.0.1:" + admin.port() +
                            "/healthz: connection closed without an answer\n");
}

TEST(healthcheck, an_answer_that_is_not_http_is_unhealthy) {
  http_responder admin("SSH-2.0-OpenSSH_9.2\r\n\r\n");
  const auto result = check(admin.port());
  EXPECT_EQ(result.status, 1);
  EXPECT_TRUE(result.err.starts_with("hubgate healthcheck: http://127.0.0.1:" + admin.port() + "/healthz: "))
      << result.err;
  EXPECT_EQ(result.out, "");
}

TEST(healthcheck, the_binary_reads_the_admin_address_from_flag_or_environment_and_reaches_a_wildcard_on_loopback) {
  {
    http_responder admin("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    child_process hubgate({hubgate_binary(), "healthcheck", "--admin-listen", "0.0.0.0:" + admin.port()});
    EXPECT_EQ(hubgate.wait_exit(30s), 0) << hubgate.output();
    EXPECT_EQ(hubgate.output(), "hubgate healthcheck: http://127.0.0.1:" + admin.port() + "/healthz: 200 OK\n");
  }
  {
    http_responder admin("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    child_process hubgate({hubgate_binary(), "healthcheck"}, {{"HUBGATE_ADMIN_LISTEN", "0.0.0.0:" + admin.port()}});
    EXPECT_EQ(hubgate.wait_exit(30s), 0) << hubgate.output();
  }
  {
    const std::string port = std::to_string(free_port());
    child_process hubgate({hubgate_binary(), "healthcheck", "--timeout", "1s"},
                          {{"HUBGATE_ADMIN_LISTEN", "127.0.0.1:" + port}});
    EXPECT_EQ(hubgate.wait_exit(30s), 1) << hubgate.output();
    EXPECT_EQ(hubgate.output(), "hubgate healthcheck: http://127.0.0.1:" + port + "/healthz: Connection refused\n");
  }
  {
    // A container run with the admin listener off has no health to ask: unhealthy, and not 2,
    // which Docker reserves.
    child_process hubgate({hubgate_binary(), "healthcheck"}, {{"HUBGATE_ADMIN_LISTEN", "off"}});
    EXPECT_EQ(hubgate.wait_exit(30s), 1) << hubgate.output();
    EXPECT_NE(hubgate.output().find("the admin listener is off"), std::string::npos) << hubgate.output();
  }
}

} // namespace
} // namespace hubgate::test
