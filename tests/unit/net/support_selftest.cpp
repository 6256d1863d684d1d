// Test that header file is self-contained.
#include "support/fake_hubspot.hpp"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <signal.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "support/process.hpp"
#include "support/test_pki.hpp"

namespace hubgate::test {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

constexpr auto op_deadline = 5s;
constexpr std::chrono::milliseconds wait_deadline = 5s;

// A blocking HTTPS client that verifies the fake like a proxy's upstream side would (CA, SNI,
// host name). Each call runs one async operation under a deadline on a private io_context, so a
// broken fake fails the test instead of hanging it.
class tls_client {
 public:
  struct reply {
    beast::error_code ec;
    http::response<http::string_body> res;
    std::size_t data_chunks = 0;  // chunks with a non-empty payload, if the body was chunked
  };

  explicit tls_client(const std::string& ca_pem, std::string host = "api.hubapi.com")
      : host_{std::move(host)} {
    ctx_.add_certificate_authority(net::buffer(ca_pem));
    // On the stream, not the context: stream_ already copied the context's settings.
    stream_.set_verify_mode(ssl::verify_peer);
  }

  // TCP connect and TLS handshake; SNI is sent unless `host_` is an IP literal.
  beast::error_code connect(std::uint16_t port, bool send_sni = true) {
    // SSL_set_tlsext_host_name() spelled out: the macro's C cast trips -Wold-style-cast.
    if (send_sni && SSL_ctrl(stream_.native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME,
                             TLSEXT_NAMETYPE_host_name, const_cast<char*>(host_.c_str())) != 1) {
      return {static_cast<int>(ERR_get_error()), net::error::get_ssl_category()};
    }
    stream_.set_verify_callback(ssl::host_name_verification{host_});
    const tcp::endpoint endpoint{net::ip::address_v4::loopback(), port};
    if (auto ec = run([&](auto done) { tcp_layer().async_connect(endpoint, done); })) return ec;
    return run([&](auto done) { stream_.async_handshake(ssl::stream_base::client, done); });
  }

  beast::error_code send(http::request<http::string_body> req) {
    return run([&](auto done) { http::async_write(stream_, req, done); });
  }

  reply receive() {
    http::response_parser<http::string_body> parser;
    std::size_t chunks = 0;
    auto count = [&chunks](std::uint64_t size, beast::string_view, beast::error_code&) {
      if (size > 0) ++chunks;
    };
    parser.on_chunk_header(count);
    const auto ec = run([&](auto done) { http::async_read(stream_, buffer_, parser, done); });
    return {ec, parser.release(), chunks};
  }

  reply round_trip(http::request<http::string_body> req) {
    if (auto ec = send(std::move(req))) return {ec, {}, 0};
    return receive();
  }

  // Reads until the first byte of a chunked body arrives; returns the body read so far.
  std::pair<beast::error_code, std::string> receive_first_chunk() {
    http::response_parser<http::string_body> parser;
    beast::error_code ec;
    while (!ec && parser.get().body().empty() && !parser.is_done()) {
      ec = run([&](auto done) { http::async_read_some(stream_, buffer_, parser, done); });
    }
    return {ec, parser.get().body()};
  }

  beast::tcp_stream& tcp_layer() { return beast::get_lowest_layer(stream_); }
  beast::ssl_stream<beast::tcp_stream>& stream() { return stream_; }
  beast::flat_buffer& buffer() { return buffer_; }

  template <class Start>
  beast::error_code run(Start start) {
    std::optional<beast::error_code> result;
    tcp_layer().expires_after(op_deadline);
    start([&result](beast::error_code ec, auto&&...) { result = ec; });
    ioc_.restart();
    ioc_.run();
    return result.value_or(net::error::timed_out);
  }

 private:
  std::string host_;
  net::io_context ioc_;
  ssl::context ctx_{ssl::context::tls_client};
  beast::ssl_stream<beast::tcp_stream> stream_{ioc_, ctx_};
  beast::flat_buffer buffer_;
};

http::request<http::string_body> request(http::verb method, std::string target,
                                         std::string body = {}) {
  http::request<http::string_body> req{method, target, 11};
  req.set(http::field::host, "api.hubapi.com");
  if (!body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = std::move(body);
    req.prepare_payload();
  }
  return req;
}

int ssl_reason(const beast::error_code& ec) {
  return ec.category() == net::error::get_ssl_category()
             ? ERR_GET_REASON(static_cast<unsigned long>(ec.value()))
             : 0;
}

const test_pki& pki() { return shared_test_pki(); }

//------------------------------------------------------------------------------------------------

TEST(fake_hubspot, records_a_get_and_answers_with_the_default_handler) {
  fake_hubspot fake{pki().server};
  tls_client client{pki().ca.cert_pem};
  ASSERT_FALSE(client.connect(fake.port()));

  auto req = request(http::verb::get, "/crm/v3/objects/contacts?limit=10&archived=false");
  req.set(http::field::user_agent, "selftest");
  req.set(http::field::authorization, "Bearer pat-na1-00000000");
  req.insert("X-Trace", "one");
  req.insert("x-trace", "two");
  const auto reply = client.round_trip(req);

  ASSERT_FALSE(reply.ec) << reply.ec.message();
  EXPECT_EQ(reply.res.result_int(), 200U);
  EXPECT_EQ(reply.res[http::field::content_type], "application/json;charset=utf-8");
  EXPECT_EQ(reply.res.body(), "{}");
  EXPECT_TRUE(reply.res.keep_alive());

  const auto recorded = fake.requests();
  ASSERT_EQ(recorded.size(), 1U);
  const recorded_request& r = recorded.front();
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.target, "/crm/v3/objects/contacts?limit=10&archived=false");
  EXPECT_EQ(r.version, 11U);
  EXPECT_EQ(r.connection, 1U);
  EXPECT_EQ(r.body, "");
  const header_list expected{{"Host", "api.hubapi.com"},
                             {"User-Agent", "selftest"},
                             {"Authorization", "Bearer pat-na1-00000000"},
                             {"X-Trace", "one"},
                             {"x-trace", "two"}};
  EXPECT_EQ(r.headers, expected);
  EXPECT_EQ(r.header("authorization"), "Bearer pat-na1-00000000");
  EXPECT_EQ(r.header("X-TRACE"), "one");
  EXPECT_EQ(r.header_values("x-trace"), (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ(r.header("cookie"), std::nullopt);

  EXPECT_EQ(fake.connections(), 1U);
  EXPECT_EQ(fake.handshakes(), 1U);
  EXPECT_EQ(fake.last_sni(), "api.hubapi.com");
  EXPECT_EQ(fake.url(), "https://127.0.0.1:" + std::to_string(fake.port()));
}

TEST(fake_hubspot, keeps_a_connection_alive_across_requests) {
  fake_hubspot fake{pki().server};
  fake.set_handler([](const recorded_request& r) {
    return json_response(200, R"({"target":")" + r.target + R"("})");
  });
  tls_client client{pki().ca.cert_pem};
  ASSERT_FALSE(client.connect(fake.port()));
  for (const char* target : {"/a", "/b", "/c"}) {
    const auto reply = client.round_trip(request(http::verb::get, target));
    ASSERT_FALSE(reply.ec) << target << ": " << reply.ec.message();
    EXPECT_EQ(reply.res.body(), std::string{R"({"target":")"} + target + R"("})");
  }
  EXPECT_EQ(fake.connections(), 1U);
  EXPECT_EQ(fake.handshakes(), 1U);
  for (const auto& r : fake.requests()) EXPECT_EQ(r.connection, 1U);

  tls_client second{pki().ca.cert_pem};
  ASSERT_FALSE(second.connect(fake.port()));
  ASSERT_FALSE(second.round_trip(request(http::verb::get, "/d")).ec);
  EXPECT_EQ(fake.requests().back().connection, 2U);
  EXPECT_EQ(fake.handshakes(), 2U);
}

TEST(fake_hubspot, decodes_a_chunked_request_body_and_sends_the_handlers_answer) {
  fake_hubspot fake{pki().server};
  fake.set_handler([](const recorded_request&) {
    auto res = json_response(201, R"({"id":"101"})");
    res.headers.emplace_back("X-HubSpot-RateLimit-Remaining", "99");
    return res;
  });
  tls_client client{pki().ca.cert_pem};
  ASSERT_FALSE(client.connect(fake.port()));

  auto req = request(http::verb::post, "/crm/v3/objects/contacts");
  req.set(http::field::content_type, "application/json");
  req.body() = R"({"properties":{"email":"a@example.com"}})";
  req.chunked(true);
  const auto reply = client.round_trip(req);

  ASSERT_FALSE(reply.ec) << reply.ec.message();
  EXPECT_EQ(reply.res.result_int(), 201U);
  EXPECT_EQ(reply.res["X-HubSpot-RateLimit-Remaining"], "99");
  EXPECT_EQ(reply.res.body(), R"({"id":"101"})");
  const auto recorded = fake.requests();
  ASSERT_EQ(recorded.size(), 1U);
  EXPECT_EQ(recorded[0].method, "POST");
  EXPECT_EQ(recorded[0].header("Transfer-Encoding"), "chunked");
  EXPECT_EQ(recorded[0].body, R"({"properties":{"email":"a@example.com"}})");
}

TEST(fake_hubspot, answers_expect_100_continue_before_reading_the_body) {
  fake_hubspot fake{pki().server};
  tls_client client{pki().ca.cert_pem};
  ASSERT_FALSE(client.connect(fake.port()));

  auto req = request(http::verb::post, "/crm/v3/objects/contacts", R"({"properties":{}})");
  req.set(http::field::expect, "100-continue");
  http::request_serializer<http::string_body> serializer{req};
  ASSERT_FALSE(
      client.run([&](auto done) { http::async_write_header(client.stream(), serializer, done); }));
  http::response<http::empty_body> go_on;
  ASSERT_FALSE(client.run(
      [&](auto done) { http::async_read(client.stream(), client.buffer(), go_on, done); }));
  EXPECT_EQ(go_on.result(), http::status::continue_);
  ASSERT_FALSE(
      client.run([&](auto done) { http::async_write(client.stream(), serializer, done); }));
  const auto reply = client.receive();
  ASSERT_FALSE(reply.ec) << reply.ec.message();
  EXPECT_EQ(reply.res.result_int(), 200U);
  EXPECT_EQ(fake.requests().at(0).body, R"({"properties":{}})");
}

TEST(fake_hubspot, sends_a_chunked_answer_in_several_chunks) {
  fake_hubspot fake{pki().server};
  const std::string body = R"({"results":[{"id":"1"},{"id":"2"},{"id":"3"}]})";
  fake.set_handler([&body](const recorded_request& r) {
    auto res = json_response(200, body);
    res.chunked = true;
    if (r.target == "/small-chunks") res.chunk_size = 4;
    return res;
  });
  tls_client client{pki().ca.cert_pem};
  ASSERT_FALSE(client.connect(fake.port()));

  const auto reply = client.round_trip(request(http::verb::get, "/three-chunks"));
  ASSERT_FALSE(reply.ec) << reply.ec.message();
  EXPECT_TRUE(reply.res.chunked());
  EXPECT_EQ(reply.res.count(http::field::content_length), 0U);
  EXPECT_EQ(reply.data_chunks, 3U);
  EXPECT_EQ(reply.res.body(), body);

  // Same connection: the chunked answer ended cleanly.
  const auto small = client.round_trip(request(http::verb::get, "/small-chunks"));
  ASSERT_FALSE(small.ec) << small.ec.message();
  EXPECT_EQ(small.data_chunks, (body.size() + 3) / 4);
  EXPECT_EQ(small.res.body(), body);
  EXPECT_EQ(fake.handshakes(), 1U);
}

TEST(fake_hubspot, streams_the_first_chunk_before_a_chunk_delay) {
  const auto started = std::chrono::steady_clock::now();
  {
    fake_hubspot fake{pki().server};
    fake.set_handler([](const recorded_request&) {
      auto res = json_response(200, "first-second");
      res.chunked = true;
      res.chunk_size = 6;
      res.chunk_delay = 60s;  // far beyond the client's deadline: only streaming can pass
      return res;
    });
    tls_client client{pki().ca.cert_pem};
    ASSERT_FALSE(client.connect(fake.port()));
    ASSERT_FALSE(client.send(request(http::verb::get, "/stream")));
    const auto [ec, body] = client.receive_first_chunk();
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(body, "first-");
  }  // destroyed in the middle of the chunk delay
  EXPECT_LT(std::chrono::steady_clock::now() - started, op_deadline);
}

TEST(fake_hubspot, resets_the_connection_when_asked) {
  fake_hubspot fake{pki().server};
  fake.set_handler([](const recorded_request&) {
    fake_response res;
    res.action = fake_action::reset_connection;
    return res;
  });
  tls_client client{pki().ca.cert_pem};
  ASSERT_FALSE(client.connect(fake.port()));
  const auto reply = client.round_trip(request(http::verb::post, "/crm/v3/objects/contacts", "{}"));
  EXPECT_EQ(reply.ec, net::error::connection_reset) << reply.ec.message();
  ASSERT_TRUE(fake.wait_for_requests(1, wait_deadline));
  EXPECT_EQ(fake.requests().at(0).body, "{}");
}

TEST(fake_hubspot, closes_with_close_notify_after_a_close_after_response_answer) {
  fake_hubspot fake{pki().server};
  fake.set_handler([](const recorded_request&) {
    auto res = json_response(200, "{}");
    res.action = fake_action::close_after_response;
    return res;
  });
  tls_client client{pki().ca.cert_pem};
  ASSERT_FALSE(client.connect(fake.port()));
  const auto reply = client.round_trip(request(http::verb::get, "/x"));
  ASSERT_FALSE(reply.ec) << reply.ec.message();
  EXPECT_FALSE(reply.res.keep_alive());
  // end_of_stream, not stream_truncated: the fake sent close_notify before closing.
  EXPECT_EQ(client.receive().ec, http::error::end_of_stream);
}

TEST(fake_hubspot, honours_connection_close_from_the_client) {
  fake_hubspot fake{pki().server};
  tls_client client{pki().ca.cert_pem};
  ASSERT_FALSE(client.connect(fake.port()));
  auto req = request(http::verb::get, "/x");
  req.keep_alive(false);
  const auto reply = client.round_trip(req);
  ASSERT_FALSE(reply.ec) << reply.ec.message();
  EXPECT_EQ(reply.res[http::field::connection], "close");
  EXPECT_EQ(client.receive().ec, http::error::end_of_stream);
}

TEST(fake_hubspot, a_delayed_answer_waits_without_blocking_other_connections) {
  fake_hubspot fake{pki().server};
  fake.set_handler([](const recorded_request& r) {
    auto res = json_response(200, "{}");
    if (r.target == "/slow") res.delay = 200ms;
    return res;
  });

  tls_client slow{pki().ca.cert_pem};
  ASSERT_FALSE(slow.connect(fake.port()));
  const auto started = std::chrono::steady_clock::now();
  const auto reply = slow.round_trip(request(http::verb::get, "/slow"));
  ASSERT_FALSE(reply.ec) << reply.ec.message();
  EXPECT_GE(std::chrono::steady_clock::now() - started, 200ms);

  const auto destroy_started = std::chrono::steady_clock::now();
  {
    fake_hubspot stuck_fake{pki().server};
    stuck_fake.set_handler([](const recorded_request& r) {
      auto res = json_response(200, "{}");
      if (r.target == "/stuck") res.delay = 60s;
      return res;
    });
    tls_client stuck{pki().ca.cert_pem};
    ASSERT_FALSE(stuck.connect(stuck_fake.port()));
    ASSERT_FALSE(stuck.send(request(http::verb::get, "/stuck")));
    ASSERT_TRUE(stuck_fake.wait_for_requests(1, wait_deadline));

    // The other connection is served while /stuck waits; with a blocking delay this would run
    // into the client's 5 s deadline.
    tls_client other{pki().ca.cert_pem};
    ASSERT_FALSE(other.connect(stuck_fake.port()));
    const auto quick = other.round_trip(request(http::verb::get, "/quick"));
    ASSERT_FALSE(quick.ec) << quick.ec.message();
    EXPECT_EQ(quick.res.result_int(), 200U);
  }  // destroyed while /stuck's delay runs and both clients are connected
  EXPECT_LT(std::chrono::steady_clock::now() - destroy_started, op_deadline);
}

TEST(fake_hubspot, close_idle_connections_closes_only_idle_ones) {
  fake_hubspot fake{pki().server};
  fake.set_handler([](const recorded_request& r) {
    auto res = json_response(200, "{}");
    if (r.target == "/busy") res.delay = 60s;
    return res;
  });
  tls_client idle{pki().ca.cert_pem};
  ASSERT_FALSE(idle.connect(fake.port()));
  ASSERT_FALSE(idle.round_trip(request(http::verb::get, "/first")).ec);
  tls_client fresh{pki().ca.cert_pem};  // handshaken, never sent a request: idle too
  ASSERT_FALSE(fresh.connect(fake.port()));
  tls_client busy{pki().ca.cert_pem};
  ASSERT_FALSE(busy.connect(fake.port()));
  ASSERT_FALSE(busy.send(request(http::verb::get, "/busy")));
  ASSERT_TRUE(fake.wait_for_requests(2, wait_deadline));

  EXPECT_EQ(fake.close_idle_connections(), 2U);
  // end_of_stream: a TLS close_notify arrived, as from a server whose keep-alive timer fired.
  EXPECT_EQ(idle.receive().ec, http::error::end_of_stream);
  EXPECT_EQ(fresh.receive().ec, http::error::end_of_stream);
  EXPECT_EQ(fake.close_idle_connections(), 0U);

  tls_client again{pki().ca.cert_pem};
  ASSERT_FALSE(again.connect(fake.port()));
  ASSERT_FALSE(again.round_trip(request(http::verb::get, "/again")).ec);
  ASSERT_TRUE(fake.wait_for_connections(4, wait_deadline));
}

TEST(fake_hubspot, a_certificate_from_another_ca_fails_verification) {
  const test_pki other_ca = make_test_pki();
  fake_hubspot fake{other_ca.server};
  tls_client client{pki().ca.cert_pem};
  const auto ec = client.connect(fake.port());
  EXPECT_EQ(ssl_reason(ec), SSL_R_CERTIFICATE_VERIFY_FAILED) << ec.message();
  ASSERT_TRUE(fake.wait_for_connections(1, wait_deadline));
  EXPECT_EQ(fake.handshakes(), 0U);
  EXPECT_TRUE(fake.requests().empty());
}

TEST(fake_hubspot, a_certificate_for_another_host_fails_verification) {
  fake_hubspot fake{issue_server_cert(pki().ca, {"other.example"}, {})};
  tls_client client{pki().ca.cert_pem};
  const auto ec = client.connect(fake.port());
  EXPECT_EQ(ssl_reason(ec), SSL_R_CERTIFICATE_VERIFY_FAILED) << ec.message();
}

TEST(fake_hubspot, reports_no_sni_when_the_client_sends_none) {
  fake_hubspot fake{pki().server};
  tls_client client{pki().ca.cert_pem, "127.0.0.1"};  // verified against the IP SAN
  ASSERT_FALSE(client.connect(fake.port(), false));
  ASSERT_FALSE(client.round_trip(request(http::verb::get, "/")).ec);
  EXPECT_EQ(fake.last_sni(), "");
}

TEST(fake_hubspot, a_throwing_handler_answers_500) {
  fake_hubspot fake{pki().server};
  fake.set_handler(
      [](const recorded_request&) -> fake_response { throw std::runtime_error{"boom"}; });
  tls_client client{pki().ca.cert_pem};
  ASSERT_FALSE(client.connect(fake.port()));
  const auto reply = client.round_trip(request(http::verb::get, "/"));
  ASSERT_FALSE(reply.ec) << reply.ec.message();
  EXPECT_EQ(reply.res.result_int(), 500U);
  EXPECT_NE(reply.res.body().find("boom"), std::string::npos);
}

//------------------------------------------------------------------------------------------------

using x509_ptr = std::unique_ptr<X509, decltype(&X509_free)>;

x509_ptr parse_cert(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  x509_ptr cert{PEM_read_bio_X509(bio, nullptr, nullptr, nullptr), &X509_free};
  BIO_free(bio);
  return cert;
}

TEST(test_pki, issues_a_server_certificate_the_ca_verifies_for_its_names) {
  const test_pki made = make_test_pki({"api.hubapi.com", "api.hubspot.com"}, {"127.0.0.1", "::1"});
  const x509_ptr ca = parse_cert(made.ca.cert_pem);
  const x509_ptr server = parse_cert(made.server.cert_pem);
  ASSERT_TRUE(ca && server);

  std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)> store{X509_STORE_new(), &X509_STORE_free};
  X509_STORE_add_cert(store.get(), ca.get());
  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> verify{X509_STORE_CTX_new(),
                                                                         &X509_STORE_CTX_free};
  X509_STORE_CTX_init(verify.get(), store.get(), server.get(), nullptr);
  EXPECT_EQ(X509_verify_cert(verify.get()), 1)
      << X509_verify_cert_error_string(X509_STORE_CTX_get_error(verify.get()));

  EXPECT_EQ(X509_check_host(server.get(), "api.hubapi.com", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_host(server.get(), "api.hubspot.com", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_host(server.get(), "localhost", 0, 0, nullptr), 0);
  EXPECT_EQ(X509_check_ip_asc(server.get(), "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(server.get(), "::1", 0), 1);
  EXPECT_EQ(X509_check_ca(ca.get()), 1);
  EXPECT_EQ(X509_check_ca(server.get()), 0);
  EXPECT_EQ(X509_check_purpose(server.get(), X509_PURPOSE_SSL_SERVER, 0), 1);

  std::ifstream in{made.ca_file};
  std::stringstream on_disk;
  on_disk << in.rdbuf();
  EXPECT_EQ(on_disk.str(), made.ca.cert_pem);
  EXPECT_NE(made.ca.cert_pem, pki().ca.cert_pem) << "each call makes a new CA";
}

TEST(test_pki, removes_its_files_when_destroyed_and_not_when_moved_from) {
  std::string ca_file;
  {
    test_pki first = make_test_pki();
    ca_file = first.ca_file;
    const test_pki second = std::move(first);
    EXPECT_TRUE(std::filesystem::exists(ca_file));
    EXPECT_EQ(second.ca_file, ca_file);
  }
  EXPECT_FALSE(std::filesystem::exists(ca_file));
  EXPECT_EQ(&shared_test_pki(), &shared_test_pki());
}

//------------------------------------------------------------------------------------------------

TEST(child_process, reports_readiness_from_output_and_dies_of_a_signal) {
  child_process child{
      {"sh", "-c", R"(echo starting; echo "listening on $SELFTEST_PORT"; exec sleep 60)"},
      {{"SELFTEST_PORT", "4242"}}};
  EXPECT_GT(child.pid(), 0);
  ASSERT_TRUE(child.wait_for_output("listening on 4242", wait_deadline)) << child.output();
  EXPECT_TRUE(child.running());
  EXPECT_EQ(child.wait_exit(0ms), std::nullopt);
  child.send_signal(SIGTERM);
  EXPECT_EQ(child.wait_exit(wait_deadline), -SIGTERM);
  EXPECT_FALSE(child.running());
  EXPECT_EQ(child.output(), "starting\nlistening on 4242\n");
}

TEST(child_process, captures_stderr_and_the_exit_code) {
  child_process child{{"sh", "-c", "echo out; echo oops >&2; exit 3"}};
  EXPECT_EQ(child.wait_exit(wait_deadline), 3);
  EXPECT_EQ(child.output(), "out\noops\n");
  // The child is gone: waiting for output it never printed ends at once.
  const auto started = std::chrono::steady_clock::now();
  EXPECT_FALSE(child.wait_for_output("never", wait_deadline));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);
}

TEST(child_process, fails_to_start_a_missing_program) {
  EXPECT_THROW(child_process({"/nonexistent/hubgate"}), std::system_error);
  EXPECT_THROW(child_process({"hubgate-selftest-no-such-program"}), std::system_error);
}

TEST(child_process, kills_a_running_child_when_destroyed) {
  pid_t pid = 0;
  {
    child_process child{{"sleep", "60"}};
    pid = child.pid();
  }
  EXPECT_EQ(::kill(pid, 0), -1) << "the child should be dead and reaped";
}

TEST(free_port, returns_a_port_that_can_be_bound) {
  const std::uint16_t port = free_port();
  EXPECT_NE(port, 0);
  net::io_context ioc;
  tcp::acceptor acceptor{ioc};
  acceptor.open(tcp::v4());
  EXPECT_NO_THROW(acceptor.bind({net::ip::address_v4::loopback(), port}));
}

}  // namespace
}  // namespace hubgate::test
