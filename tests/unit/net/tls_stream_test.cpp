// io::tls_stream over real loopback sockets against a TLS server made with asio's ssl::stream:
// data both ways through full socket buffers, how each way of closing reads, deadlines, the
// certificate checks, completion never inside the initiating call, and OpenSSL's error queue.

#include "io/tls_stream.hpp"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/stream_traits.hpp>

#include <array>
#include <chrono>
#include <exception>
#include <memory>
#include <string>

#include "support/test_pki.hpp"
#include "upstream/pool.hpp"

namespace hubgate::test {
namespace {

namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;
using namespace std::chrono_literals;

using server_stream = ssl::stream<tcp::socket>;

// Large enough that it cannot fit in the socket buffers (made small below): writes see
// WANT_WRITE and reads WANT_READ many times over.
constexpr std::size_t big = 4 * 1024 * 1024 + 123;

std::string pattern(std::size_t size) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i) {
    s[i] = static_cast<char>('a' + (i * 7 + i / 4096) % 26);
  }
  return s;
}

// Wakes a coroutine that waits on `timer`, or will: unlike cancel(), a later wait ends at once too.
void signal(net::steady_timer& timer) { timer.expires_at(std::chrono::steady_clock::time_point::min()); }

// One io_context for a TLS server (asio's ssl::stream) and the client under test, run until both
// coroutines end; a test that hangs fails after a bound instead.
class tls_stream_test : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ctx.use_certificate_chain(net::buffer(pki.server.cert_pem));
    server_ctx.use_private_key(net::buffer(pki.server.key_pem), ssl::context::pem);
    ERR_clear_error();
  }

  void TearDown() override {
    // Whatever happened, the stream left OpenSSL's error queue empty on this thread.
    EXPECT_EQ(ERR_peek_error(), 0UL);
  }

  std::uint16_t port() const { return acceptor.local_endpoint().port(); }

  net::awaitable<std::unique_ptr<server_stream>> accept_tls() {
    auto socket = co_await acceptor.async_accept(net::use_awaitable);
    socket.set_option(net::socket_base::receive_buffer_size(64 * 1024));
    socket.set_option(net::socket_base::send_buffer_size(64 * 1024));
    auto stream = std::make_unique<server_stream>(std::move(socket), server_ctx);
    co_await stream->async_handshake(ssl::stream_base::server, net::use_awaitable);
    co_return stream;
  }

  // Connects `client` to the server and checks its certificate for `name` (an IP or DNS name).
  io::awaitable<error_code> connect(io::tls_stream& stream, const std::string& name = "127.0.0.1") {
    auto& tcp_layer = boost::beast::get_lowest_layer(stream);
    tcp_layer.expires_after(10s);
    const std::array<tcp::endpoint, 1> endpoints{tcp::endpoint(net::ip::address_v4::loopback(), port())};
    auto [cec, endpoint] = co_await tcp_layer.async_connect(endpoints, io::use_tuple);
    if (cec) {
      co_return cec;
    }
    tcp_layer.socket().set_option(net::socket_base::receive_buffer_size(64 * 1024));
    tcp_layer.socket().set_option(net::socket_base::send_buffer_size(64 * 1024));
    SSL* ssl = stream.native_handle();
    if (name == "127.0.0.1") {
      EXPECT_EQ(X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str()), 1);
    } else {
      EXPECT_EQ(SSL_set1_host(ssl, name.c_str()), 1);
    }
    auto [hec] = co_await stream.async_handshake(io::use_tuple);
    co_return hec;
  }

  template <typename Client, typename Server>
  void run(Client client_side, Server server_side) {
    std::exception_ptr client_error;
    std::exception_ptr server_error;
    bool client_done = false;
    net::co_spawn(ioc.get_executor(), std::move(client_side), [&](std::exception_ptr e) {
      client_error = e;
      client_done = true;
      boost::beast::get_lowest_layer(client).close(); // a server still reading sees the end
    });
    net::co_spawn(ioc, std::move(server_side), [&](std::exception_ptr e) { server_error = e; });
    ioc.run_for(60s);
    ASSERT_TRUE(client_done) << "the client did not finish";
    if (client_error) {
      std::rethrow_exception(client_error);
    }
    if (server_error) {
      std::rethrow_exception(server_error);
    }
  }

  const test_pki& pki = shared_test_pki();
  net::io_context ioc{1};
  tcp::acceptor acceptor{ioc, tcp::endpoint(net::ip::address_v4::loopback(), 0)};
  ssl::context server_ctx{ssl::context::tls_server};
  std::unique_ptr<ssl::context> client_ctx = upstream::make_tls_context(pki.ca_file);
  io::tls_stream client{ioc.get_executor(), *client_ctx};
};

TEST_F(tls_stream_test, carries_megabytes_both_ways_through_full_socket_buffers) {
  const std::string sent = pattern(big);
  std::string echoed(big, '\0');
  run(
      [&]() -> io::awaitable<void> {
        EXPECT_FALSE(co_await connect(client));
        // The server echoes only once it has the whole message: the write waits for it to read.
        auto [wec, written] = co_await net::async_write(client, net::buffer(sent), io::use_tuple);
        EXPECT_FALSE(wec) << wec.message();
        EXPECT_EQ(written, big);
        auto [rec, read] = co_await net::async_read(client, net::buffer(echoed), io::use_tuple);
        EXPECT_FALSE(rec) << rec.message();
        EXPECT_EQ(read, big);
      },
      [&]() -> net::awaitable<void> {
        auto server = co_await accept_tls();
        std::string got(big, '\0');
        co_await net::async_read(*server, net::buffer(got), net::use_awaitable);
        co_await net::async_write(*server, net::buffer(got), net::use_awaitable);
      });
  EXPECT_TRUE(echoed == sent);
  EXPECT_FALSE(client.has_buffered_input());
}

TEST_F(tls_stream_test, a_close_without_close_notify_reads_as_stream_truncated_after_the_data) {
  run(
      [&]() -> io::awaitable<void> {
        EXPECT_FALSE(co_await connect(client));
        std::string got(5, '\0');
        auto [ec, n] = co_await net::async_read(client, net::buffer(got), io::use_tuple);
        EXPECT_FALSE(ec) << ec.message();
        EXPECT_EQ(got, "hello");
        std::array<char, 16> more{};
        std::tie(ec, n) = co_await client.async_read_some(net::buffer(more), io::use_tuple);
        EXPECT_EQ(ec, ssl::error::stream_truncated) << ec.message();
        EXPECT_EQ(ERR_peek_error(), 0UL);
      },
      [&]() -> net::awaitable<void> {
        auto server = co_await accept_tls();
        co_await net::async_write(*server, net::buffer(std::string_view("hello")), net::use_awaitable);
        server->next_layer().close();
      });
}

TEST_F(tls_stream_test, a_close_notify_reads_as_eof) {
  run(
      [&]() -> io::awaitable<void> {
        EXPECT_FALSE(co_await connect(client));
        std::array<char, 16> buffer{};
        auto [ec, n] = co_await client.async_read_some(net::buffer(buffer), io::use_tuple);
        EXPECT_EQ(ec, net::error::eof) << ec.message();
        // The server waits for our close_notify, which never comes: closing ends its wait.
        boost::beast::get_lowest_layer(client).close();
      },
      [&]() -> net::awaitable<void> {
        auto server = co_await accept_tls();
        auto [ec] = co_await server->async_shutdown(net::as_tuple(net::use_awaitable));
        (void)ec;
      });
}

TEST_F(tls_stream_test, a_reset_reads_as_connection_reset_and_writes_fail_without_sigpipe) {
  run(
      [&]() -> io::awaitable<void> {
        EXPECT_FALSE(co_await connect(client));
        std::array<char, 16> buffer{};
        auto [ec, n] = co_await client.async_read_some(net::buffer(buffer), io::use_tuple);
        EXPECT_EQ(ec, net::error::connection_reset) << ec.message();
        // Writing to the dead connection fails (EPIPE): with write(2) it would raise SIGPIPE and
        // end this process.
        const std::string data(64 * 1024, 'x');
        for (int i = 0; i < 3; ++i) {
          std::tie(ec, n) = co_await client.async_write_some(net::buffer(data), io::use_tuple);
          EXPECT_TRUE(ec == net::error::broken_pipe || ec == net::error::connection_reset) << ec.message();
        }
      },
      [&]() -> net::awaitable<void> {
        auto server = co_await accept_tls();
        server->next_layer().set_option(net::socket_base::linger(true, 0));
        server->next_layer().close(); // RST
      });
}

TEST_F(tls_stream_test, a_read_that_waits_past_the_deadline_ends_with_timeout) {
  net::steady_timer hold(ioc, std::chrono::steady_clock::time_point::max());
  run(
      [&]() -> io::awaitable<void> {
        EXPECT_FALSE(co_await connect(client));
        auto& tcp_layer = boost::beast::get_lowest_layer(client);
        tcp_layer.expires_after(200ms);
        const auto started = std::chrono::steady_clock::now();
        std::array<char, 16> buffer{};
        auto [ec, n] = co_await client.async_read_some(net::buffer(buffer), io::use_tuple);
        EXPECT_EQ(ec, boost::beast::error::timeout) << ec.message();
        EXPECT_GE(std::chrono::steady_clock::now() - started, 200ms);
        // A stream the deadline closed fails at once, with the same error.
        std::tie(ec, n) = co_await client.async_read_some(net::buffer(buffer), io::use_tuple);
        EXPECT_EQ(ec, boost::beast::error::timeout) << ec.message();
        signal(hold);
      },
      [&]() -> net::awaitable<void> {
        auto server = co_await accept_tls();
        auto [ec] = co_await hold.async_wait(net::as_tuple(net::use_awaitable)); // silent until the client is done
        (void)ec;
      });
}

TEST_F(tls_stream_test, a_handshake_with_a_silent_server_ends_with_timeout) {
  net::steady_timer hold(ioc, std::chrono::steady_clock::time_point::max());
  run(
      [&]() -> io::awaitable<void> {
        auto& tcp_layer = boost::beast::get_lowest_layer(client);
        const std::array<tcp::endpoint, 1> endpoints{tcp::endpoint(net::ip::address_v4::loopback(), port())};
        auto [cec, endpoint] = co_await tcp_layer.async_connect(endpoints, io::use_tuple);
        EXPECT_FALSE(cec);
        tcp_layer.expires_after(200ms);
        auto [ec] = co_await client.async_handshake(io::use_tuple);
        EXPECT_EQ(ec, boost::beast::error::timeout) << ec.message();
        signal(hold);
      },
      [&]() -> net::awaitable<void> {
        auto socket = co_await acceptor.async_accept(net::use_awaitable); // and no TLS
        auto [ec] = co_await hold.async_wait(net::as_tuple(net::use_awaitable));
        (void)ec;
      });
}

TEST_F(tls_stream_test, a_write_the_peer_does_not_read_ends_with_timeout) {
  net::steady_timer hold(ioc, std::chrono::steady_clock::time_point::max());
  const std::string data = pattern(big);
  run(
      [&]() -> io::awaitable<void> {
        EXPECT_FALSE(co_await connect(client));
        boost::beast::get_lowest_layer(client).expires_after(300ms);
        auto [ec, n] = co_await net::async_write(client, net::buffer(data), io::use_tuple);
        EXPECT_EQ(ec, boost::beast::error::timeout) << ec.message();
        signal(hold);
      },
      [&]() -> net::awaitable<void> {
        auto server = co_await accept_tls(); // and reads nothing
        auto [ec] = co_await hold.async_wait(net::as_tuple(net::use_awaitable));
        (void)ec;
      });
}

TEST_F(tls_stream_test, a_certificate_from_another_ca_fails_the_handshake_with_the_reason) {
  auto other = make_test_pki();
  server_ctx.use_certificate_chain(net::buffer(other.server.cert_pem));
  server_ctx.use_private_key(net::buffer(other.server.key_pem), ssl::context::pem);
  run(
      [&]() -> io::awaitable<void> {
        const error_code ec = co_await connect(client);
        EXPECT_EQ(ec.category(), net::error::get_ssl_category()) << ec.message();
        EXPECT_EQ(ERR_GET_REASON(static_cast<unsigned long>(ec.value())), SSL_R_CERTIFICATE_VERIFY_FAILED);
        EXPECT_EQ(SSL_get_verify_result(client.native_handle()), X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
        EXPECT_EQ(ERR_peek_error(), 0UL);
      },
      [&]() -> net::awaitable<void> {
        auto socket = co_await acceptor.async_accept(net::use_awaitable);
        server_stream server(std::move(socket), server_ctx);
        auto [ec] = co_await server.async_handshake(ssl::stream_base::server, net::as_tuple(net::use_awaitable));
        EXPECT_TRUE(ec); // the client's alert
        ERR_clear_error(); // asio's engine takes only the first entry off the queue
      });
}

TEST_F(tls_stream_test, a_certificate_for_another_name_fails_the_handshake) {
  run(
      [&]() -> io::awaitable<void> {
        const error_code ec = co_await connect(client, "evil.example");
        EXPECT_TRUE(ec);
        EXPECT_EQ(SSL_get_verify_result(client.native_handle()), X509_V_ERR_HOSTNAME_MISMATCH);
      },
      [&]() -> net::awaitable<void> {
        auto socket = co_await acceptor.async_accept(net::use_awaitable);
        server_stream server(std::move(socket), server_ctx);
        auto [ec] = co_await server.async_handshake(ssl::stream_base::server, net::as_tuple(net::use_awaitable));
        EXPECT_TRUE(ec);
        ERR_clear_error(); // asio's engine takes only the first entry off the queue
      });
}

TEST_F(tls_stream_test, a_dns_name_in_the_certificate_is_accepted) {
  run([&]() -> io::awaitable<void> { EXPECT_FALSE(co_await connect(client, "localhost")); },
      [&]() -> net::awaitable<void> { auto server = co_await accept_tls(); });
}

TEST_F(tls_stream_test, completes_after_the_initiating_call_returns_even_when_data_is_at_hand) {
  run(
      [&]() -> io::awaitable<void> {
        EXPECT_FALSE(co_await connect(client));
        std::array<char, 2> first{};
        auto [ec, n] = co_await net::async_read(client, net::buffer(first), io::use_tuple);
        EXPECT_FALSE(ec);
        // "llo world" is decrypted and waits inside OpenSSL: the pool must not take this
        // connection for idle-clean.
        EXPECT_TRUE(client.has_buffered_input());
        std::array<char, 64> rest{};
        bool returned = false;
        bool completed_inside = false;
        std::size_t got = 0;
        client.async_read_some(net::buffer(rest), [&](error_code e, std::size_t size) {
          completed_inside = !returned;
          EXPECT_FALSE(e);
          got = size;
        });
        returned = true;
        EXPECT_EQ(got, 0U);
        // Yield to the scheduler once, then the read has completed.
        co_await net::post(client.get_executor(), io::use_tuple);
        EXPECT_FALSE(completed_inside);
        EXPECT_EQ(std::string(rest.data(), got), "llo world");
        EXPECT_FALSE(client.has_buffered_input());
      },
      [&]() -> net::awaitable<void> {
        auto server = co_await accept_tls();
        co_await net::async_write(*server, net::buffer(std::string_view("hello world")), net::use_awaitable);
        std::array<char, 1> end{};
        auto [ec, n] = co_await server->async_read_some(net::buffer(end), net::as_tuple(net::use_awaitable));
        (void)ec;
      });
}

TEST_F(tls_stream_test, an_error_someone_else_left_on_the_queue_does_not_fail_a_write_that_waits) {
  net::steady_timer go(ioc, std::chrono::steady_clock::time_point::max());
  net::steady_timer finished(ioc, std::chrono::steady_clock::time_point::max());
  const std::string data = pattern(big);
  run(
      [&]() -> io::awaitable<void> {
        EXPECT_FALSE(co_await connect(client));
        // The first try runs inside the initiating call: it fills the socket buffers, which the
        // server does not read yet, and must end in WANT_WRITE, with a stale entry on this
        // thread's queue. SSL_get_error would call that a failure.
        ERR_raise(ERR_LIB_SSL, SSL_R_BAD_LENGTH);
        error_code wec = net::error::in_progress;
        std::size_t written = 0;
        client.async_write_some(net::buffer(data), [&](error_code e, std::size_t n) {
          wec = e;
          written = n;
        });
        ERR_clear_error();
        signal(go);
        auto [ec] = co_await finished.async_wait(io::use_tuple); // the server has read it all
        (void)ec;
        EXPECT_FALSE(wec) << wec.message();
        EXPECT_EQ(written, big); // partial writes are off: all of it
      },
      [&]() -> net::awaitable<void> {
        auto server = co_await accept_tls();
        auto [ec] = co_await go.async_wait(net::as_tuple(net::use_awaitable));
        (void)ec;
        std::string got(big, '\0');
        co_await net::async_read(*server, net::buffer(got), net::use_awaitable);
        EXPECT_TRUE(got == data);
        signal(finished);
      });
}

TEST_F(tls_stream_test, a_read_that_waits_without_trying_sees_bytes_that_came_before_it_started) {
  net::steady_timer sent(ioc, std::chrono::steady_clock::time_point::max());
  run(
      [&]() -> io::awaitable<void> {
        EXPECT_FALSE(co_await connect(client));
        std::array<char, 64> buffer{};
        auto [ec, n] = co_await client.async_read_some(net::buffer(buffer), io::use_tuple);
        EXPECT_FALSE(ec);
        EXPECT_EQ(std::string(buffer.data(), n), "one");
        // That recv took less than it asked for: the socket was empty, so the next read waits
        // for readability before it tries. The server sends "two" once it has our "k", and by
        // the time it says so "two" is in our socket (loopback delivers during the send): the
        // wait must report it, not wait for more.
        std::size_t written = 0;
        std::tie(ec, written) = co_await net::async_write(client, net::buffer(std::string_view("k")), io::use_tuple);
        EXPECT_FALSE(ec);
        auto [wec] = co_await sent.async_wait(io::use_tuple);
        (void)wec; // ends when the server signals, whether it waited already or not
        boost::beast::get_lowest_layer(client).expires_after(5s);
        std::tie(ec, n) = co_await client.async_read_some(net::buffer(buffer), io::use_tuple);
        EXPECT_FALSE(ec) << ec.message();
        EXPECT_EQ(std::string(buffer.data(), n), "two");
      },
      [&]() -> net::awaitable<void> {
        auto server = co_await accept_tls();
        co_await net::async_write(*server, net::buffer(std::string_view("one")), net::use_awaitable);
        std::array<char, 1> k{};
        co_await net::async_read(*server, net::buffer(k), net::use_awaitable);
        co_await net::async_write(*server, net::buffer(std::string_view("two")), net::use_awaitable);
        signal(sent);
        std::array<char, 1> end{};
        auto [ec, n] = co_await server->async_read_some(net::buffer(end), net::as_tuple(net::use_awaitable));
        (void)ec;
      });
}

} // namespace
} // namespace hubgate::test
