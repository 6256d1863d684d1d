#include "support/fake_hubspot.hpp"

#include <openssl/ssl.h>

#include <charconv>
#include <sstream>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/socket_base.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream_base.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <exception>
#include <future>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace hubgate::test {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using tls_stream = beast::ssl_stream<beast::tcp_stream>;

// Boost 1.81 has no default completion token: every operation names this one, which turns
// errors into values.
constexpr auto use_tuple = net::as_tuple(net::use_awaitable);

// Generous: these bound a stuck peer, not a test's pace. An idle keep-alive connection has no
// deadline at all; the destructor and close_idle_connections() end it.
constexpr std::chrono::seconds io_deadline{30};
// How long a public call waits for the fake's own thread before declaring it wedged.
constexpr std::chrono::seconds control_deadline{10};
constexpr std::uint32_t header_limit = 64 * 1024;
constexpr std::uint64_t body_limit = 64 * 1024 * 1024;

// Failures the fake cannot turn into an answer go to stderr, next to the failing test's output.
void report(std::string_view where, std::string_view what) {
  std::fprintf(stderr, "fake_hubspot: %.*s: %.*s\n", static_cast<int>(where.size()), where.data(),
               static_cast<int>(what.size()), what.data());
}

// Completion of a co_spawn'ed coroutine: one that ends by an exception is reported, not lost.
auto report_exception(std::string_view where) {
  return [where](const std::exception_ptr& error) {
    if (!error) return;
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      report(where, e.what());
    }
  };
}

// Owned by a session and by the registry; touched only on the fake's thread.
struct connection_entry {
  explicit connection_entry(std::size_t n) : number{n} {}
  std::size_t number;
  beast::tcp_stream* tcp = nullptr;
  bool idle = false;  // waiting for the first byte of its next request
  bool close_requested = false;
  std::promise<void> closed;
  std::shared_future<void> closed_future = closed.get_future().share();
};

std::vector<std::string_view> split_chunks(std::string_view body, std::size_t chunk_size) {
  if (chunk_size == 0) chunk_size = std::max<std::size_t>(1, (body.size() + 2) / 3);
  std::vector<std::string_view> chunks;
  for (std::size_t at = 0; at < body.size(); at += chunk_size) {
    chunks.push_back(body.substr(at, chunk_size));
  }
  return chunks;
}

template <class Body>
void set_head(http::response<Body>& msg, const fake_response& res, bool keep_alive) {
  msg.result(res.status);
  for (const auto& [name, value] : res.headers) msg.insert(name, value);
  msg.keep_alive(keep_alive);
}

net::awaitable<void> pause(std::chrono::milliseconds how_long) {
  if (how_long <= std::chrono::milliseconds::zero()) co_return;
  net::steady_timer timer{co_await net::this_coro::executor, how_long};
  co_await timer.async_wait(use_tuple);
}

net::awaitable<beast::error_code> write_whole(tls_stream& stream, const fake_response& res,
                                              unsigned version, bool keep_alive, bool head_only) {
  http::response<http::string_body> msg{http::status::ok, version};
  set_head(msg, res, keep_alive);
  msg.body() = res.body;
  msg.prepare_payload();
  beast::get_lowest_layer(stream).expires_after(io_deadline);
  if (!res.trailing_bytes.empty()) {
    std::ostringstream wire;
    wire << msg << res.trailing_bytes;
    auto [ec, n] = co_await net::async_write(stream, net::buffer(wire.str()), use_tuple);
    co_return ec;
  }
  http::response_serializer<http::string_body> serializer{msg};
  // A response to HEAD announces the body's length but carries no body.
  auto [ec, written] = head_only ? co_await http::async_write_header(stream, serializer, use_tuple)
                                 : co_await http::async_write(stream, serializer, use_tuple);
  co_return ec;
}

net::awaitable<beast::error_code> write_chunked(tls_stream& stream, const fake_response& res,
                                                unsigned version, bool keep_alive) {
  http::response<http::empty_body> msg{http::status::ok, version};
  set_head(msg, res, keep_alive);
  msg.chunked(true);
  http::response_serializer<http::empty_body> serializer{msg};
  auto& lowest = beast::get_lowest_layer(stream);
  lowest.expires_after(io_deadline);
  if (auto [ec, n] = co_await http::async_write_header(stream, serializer, use_tuple); ec) {
    co_return ec;
  }
  if (res.chunks_in_one_write) {
    std::string wire;
    for (const std::string_view chunk : split_chunks(res.body, res.chunk_size)) {
      char size[20];
      const auto end = std::to_chars(size, size + sizeof size, chunk.size(), 16).ptr;
      wire.append(size, end).append("\r\n").append(chunk).append("\r\n");
    }
    if (!res.break_off) wire += "0\r\n" + res.trailer_fields + "\r\n";
    wire += res.trailing_bytes;
    lowest.expires_after(io_deadline);
    auto [ec, n] = co_await net::async_write(stream, net::buffer(wire), use_tuple);
    co_return ec;
  }
  bool first = true;
  for (const std::string_view chunk : split_chunks(res.body, res.chunk_size)) {
    if (!std::exchange(first, false)) co_await pause(res.chunk_delay);
    lowest.expires_after(io_deadline);
    auto [ec, n] =
        co_await net::async_write(stream, http::make_chunk(net::buffer(chunk)), use_tuple);
    if (ec) co_return ec;
  }
  if (res.break_off) co_return beast::error_code{};
  lowest.expires_after(io_deadline);
  auto [ec, n] = co_await net::async_write(stream, http::make_chunk_last(), use_tuple);
  co_return ec;
}

// The head without Content-Length or Transfer-Encoding, then the body: its end is the close.
net::awaitable<beast::error_code> write_unframed(tls_stream& stream, const fake_response& res,
                                                 unsigned version) {
  http::response<http::empty_body> msg{http::status::ok, version};
  set_head(msg, res, false);
  http::response_serializer<http::empty_body> serializer{msg};
  auto& lowest = beast::get_lowest_layer(stream);
  lowest.expires_after(io_deadline);
  if (auto [ec, n] = co_await http::async_write_header(stream, serializer, use_tuple); ec) {
    co_return ec;
  }
  lowest.expires_after(io_deadline);
  auto [ec, n] = co_await net::async_write(stream, net::buffer(res.body), use_tuple);
  co_return ec;
}

// close_notify, then TCP close. Shutting the read side first makes SSL_shutdown's wait for the
// peer's close_notify end at once with EOF: an idle pooled client never sends one, and waiting
// for it would turn every close into a timeout.
net::awaitable<void> close_gracefully(tls_stream& stream) {
  auto& lowest = beast::get_lowest_layer(stream);
  beast::error_code ignored;
  lowest.socket().shutdown(tcp::socket::shutdown_receive, ignored);
  lowest.expires_after(io_deadline);
  co_await stream.async_shutdown(use_tuple);
  lowest.socket().shutdown(tcp::socket::shutdown_send, ignored);
  lowest.close();
}

void reset(beast::tcp_stream& lowest) {
  beast::error_code ignored;
  lowest.socket().set_option(net::socket_base::linger(true, 0), ignored);
  lowest.socket().close(ignored);
}

bool expects_continue(const http::request<http::string_body>& req) {
  return beast::iequals(req[http::field::expect], "100-continue");
}

}  // namespace

std::optional<std::string> recorded_request::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (beast::iequals(key, name)) return value;
  }
  return std::nullopt;
}

std::vector<std::string> recorded_request::header_values(std::string_view name) const {
  std::vector<std::string> values;
  for (const auto& [key, value] : headers) {
    if (beast::iequals(key, name)) values.push_back(value);
  }
  return values;
}

fake_response json_response(unsigned status, std::string body) {
  fake_response res;
  res.status = status;
  res.headers = {{"Content-Type", "application/json;charset=utf-8"}};
  res.body = std::move(body);
  return res;
}

// Declaration order is destruction order in reverse: the io_context must die before the state
// its coroutine frames touch when they are destroyed (the registry, the mutex), and after the
// acceptor it owns.
struct fake_hubspot::impl {
  explicit impl(const key_pair_pem& server);

  net::awaitable<void> accept_loop();
  net::awaitable<void> session(tcp::socket socket, std::shared_ptr<connection_entry> conn);
  recorded_request record(const http::request<http::string_body>& req, std::size_t connection);
  fake_response answer(const recorded_request& req);

  // Shared with the test's threads, under `mutex`.
  mutable std::mutex mutex;
  mutable std::condition_variable changed;
  std::vector<recorded_request> requests;
  std::string early_answer; // set_early_answer
  std::size_t connections = 0;
  std::size_t late_writes = 0;
  std::size_t handshakes = 0;
  std::size_t resumed_handshakes = 0;
  std::string last_sni;
  handler on_request;

  // The fake's thread only. One thread runs the io_context, so it is the strand of every session
  // and of the registry.
  std::map<std::size_t, std::shared_ptr<connection_entry>> live;

  ssl::context ssl_ctx{ssl::context::tls_server};
  net::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  std::uint16_t port = 0;
  std::thread thread;
};

fake_hubspot::impl::impl(const key_pair_pem& server) {
  on_request = [](const recorded_request&) { return json_response(200, "{}"); };
  // HubSpot refuses anything older than TLS 1.2; so does the fake.
  SSL_CTX_set_min_proto_version(ssl_ctx.native_handle(), TLS1_2_VERSION);
  ssl_ctx.use_certificate_chain(net::buffer(server.cert_pem));
  ssl_ctx.use_private_key(net::buffer(server.key_pem), ssl::context::pem);

  const tcp::endpoint endpoint{net::ip::address_v4::loopback(), 0};
  acceptor.open(endpoint.protocol());
  acceptor.set_option(net::socket_base::reuse_address(true));
  acceptor.bind(endpoint);
  acceptor.listen(net::socket_base::max_listen_connections);
  port = acceptor.local_endpoint().port();

  net::co_spawn(ioc, accept_loop(), report_exception("accept loop"));
  thread = std::thread{[this] { ioc.run(); }};
}

net::awaitable<void> fake_hubspot::impl::accept_loop() {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
    if (ec == net::error::connection_aborted) continue;  // the client gave up while queued
    if (ec) {
      if (ec != net::error::operation_aborted) report("accept", ec.message());
      co_return;
    }
    std::size_t number = 0;
    {
      const std::lock_guard lock{mutex};
      number = ++connections;
    }
    changed.notify_all();
    net::co_spawn(ioc, session(std::move(socket), std::make_shared<connection_entry>(number)),
                  report_exception("session"));
  }
}

net::awaitable<void> fake_hubspot::impl::session(tcp::socket socket,
                                                 std::shared_ptr<connection_entry> conn) {
  beast::error_code ignored;
  // The chunked answers are many small writes; Nagle would hold each back for the client's ACK.
  socket.set_option(tcp::no_delay(true), ignored);
  tls_stream stream{std::move(socket), ssl_ctx};
  auto& lowest = beast::get_lowest_layer(stream);

  // Registered from here to the end of the frame, including when the io_context destroys the
  // frame unfinished: close_idle_connections() waits on `closed`.
  struct registration {
    impl& owner;
    std::shared_ptr<connection_entry> entry;
    ~registration() {
      owner.live.erase(entry->number);
      entry->closed.set_value();
    }
  };
  conn->tcp = &lowest;
  live.emplace(conn->number, conn);
  const registration registered{*this, conn};

  lowest.expires_after(io_deadline);
  if (auto [ec] = co_await stream.async_handshake(ssl::stream_base::server, use_tuple); ec) {
    co_return;
  }
  {
    const char* sni = SSL_get_servername(stream.native_handle(), TLSEXT_NAMETYPE_host_name);
    const std::lock_guard lock{mutex};
    ++handshakes;
    resumed_handshakes += SSL_session_reused(stream.native_handle()) == 1 ? 1 : 0;
    last_sni = sni != nullptr ? sni : "";
  }
  changed.notify_all();

  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(header_limit);
    parser.body_limit(body_limit);

    lowest.expires_never();
    conn->idle = buffer.size() == 0;
    auto [header_ec, header_bytes] =
        co_await http::async_read_header(stream, buffer, parser, use_tuple);
    conn->idle = false;
    if (conn->close_requested) {
      co_await close_gracefully(stream);
      co_return;
    }
    // End of stream, truncation, reset, a malformed request: the client is gone or broken, and a
    // test asserts on what was recorded, not on what the fake answers to garbage.
    if (header_ec) co_return;

    std::string early;
    {
      const std::lock_guard lock{mutex};
      early = early_answer;
    }
    if (!early.empty()) {
      lowest.expires_after(io_deadline);
      if (auto [ec, n] = co_await net::async_write(stream, net::buffer(early), use_tuple); ec) co_return;
      lowest.expires_never();
      co_await pause(std::chrono::hours(1)); // the body is never read; abandoned with the fake
      co_return;
    }
    if (expects_continue(parser.get()) && !parser.is_done()) {
      http::response<http::empty_body> go_on{http::status::continue_, parser.get().version()};
      lowest.expires_after(io_deadline);
      if (auto [ec, n] = co_await http::async_write(stream, go_on, use_tuple); ec) co_return;
    }
    if (!parser.is_done()) {
      lowest.expires_after(io_deadline);
      if (auto [ec, n] = co_await http::async_read(stream, buffer, parser, use_tuple); ec) {
        co_return;
      }
    }

    const http::request<http::string_body>& req = parser.get();
    const fake_response res = answer(record(req, conn->number));
    if (res.action == fake_action::reset_connection) {
      reset(lowest);
      co_return;
    }
    co_await pause(res.delay);

    const bool keep_alive = req.keep_alive() && res.action == fake_action::respond &&
                            !res.unframed && !(res.chunked && res.break_off);
    // One co_await per statement: g++ 12 mishandles them in nested conditional expressions.
    beast::error_code write_ec;
    if (!res.raw_answer.empty()) {
      lowest.expires_after(io_deadline);
      auto [raw_ec, n] = co_await net::async_write(stream, net::buffer(res.raw_answer), use_tuple);
      if (raw_ec) co_return;
      if (res.raw_answer_stays_open) {
        lowest.expires_never();
        std::array<char, 512> sink;
        for (;;) {
          auto [read_ec, got] = co_await stream.async_read_some(net::buffer(sink), use_tuple);
          if (read_ec) co_return;
        }
      }
      co_await close_gracefully(stream);
      co_return;
    }
    if (res.unframed) {
      write_ec = co_await write_unframed(stream, res, req.version());
    } else if (res.chunked) {
      write_ec = co_await write_chunked(stream, res, req.version(), keep_alive);
    } else {
      write_ec = co_await write_whole(stream, res, req.version(), keep_alive, req.method() == http::verb::head);
    }
    if (write_ec) co_return;
    if (!res.late_bytes.empty()) {
      co_await pause(res.late_delay);
      lowest.expires_after(io_deadline);
      auto [late_ec, n] = co_await net::async_write(stream, net::buffer(res.late_bytes), use_tuple);
      if (late_ec) co_return;
      {
        const std::lock_guard lock{mutex};
        ++late_writes;
      }
      changed.notify_all();
    }
    if (!keep_alive) {
      co_await close_gracefully(stream);
      co_return;
    }
  }
}

recorded_request fake_hubspot::impl::record(const http::request<http::string_body>& req,
                                            std::size_t connection) {
  recorded_request rec;
  rec.method = std::string{req.method_string()};
  rec.target = std::string{req.target()};
  rec.version = req.version();
  for (const auto& field : req) {
    rec.headers.emplace_back(std::string{field.name_string()}, std::string{field.value()});
  }
  rec.body = req.body();
  rec.connection = connection;
  {
    const std::lock_guard lock{mutex};
    requests.push_back(rec);
  }
  changed.notify_all();
  return rec;
}

fake_response fake_hubspot::impl::answer(const recorded_request& req) {
  handler h;
  {
    const std::lock_guard lock{mutex};
    h = on_request;
  }
  try {
    return h(req);
  } catch (const std::exception& e) {
    fake_response res;
    res.status = 500;
    res.body = std::string{"fake_hubspot: the handler threw: "} + e.what();
    return res;
  }
}

fake_hubspot::fake_hubspot(const key_pair_pem& server) : impl_{std::make_unique<impl>(server)} {}

fake_hubspot::~fake_hubspot() {
  // Abandon whatever is in flight (delays, open connections, handshakes): the io_context's
  // destructor then destroys the suspended coroutines, which closes their sockets.
  impl_->ioc.stop();
  impl_->thread.join();
}

std::uint16_t fake_hubspot::port() const { return impl_->port; }

std::string fake_hubspot::url() const { return "https://127.0.0.1:" + std::to_string(port()); }

void fake_hubspot::set_early_answer(std::string raw) {
  const std::lock_guard lock{impl_->mutex};
  impl_->early_answer = std::move(raw);
}

void fake_hubspot::set_handler(handler h) {
  if (!h) h = [](const recorded_request&) { return json_response(200, "{}"); };
  const std::lock_guard lock{impl_->mutex};
  impl_->on_request = std::move(h);
}

std::vector<recorded_request> fake_hubspot::requests() const {
  const std::lock_guard lock{impl_->mutex};
  return impl_->requests;
}

std::size_t fake_hubspot::connections() const {
  const std::lock_guard lock{impl_->mutex};
  return impl_->connections;
}

std::size_t fake_hubspot::handshakes() const {
  const std::lock_guard lock{impl_->mutex};
  return impl_->handshakes;
}

std::size_t fake_hubspot::resumed_handshakes() const {
  const std::lock_guard lock{impl_->mutex};
  return impl_->resumed_handshakes;
}

std::string fake_hubspot::last_sni() const {
  const std::lock_guard lock{impl_->mutex};
  return impl_->last_sni;
}

bool fake_hubspot::wait_for_requests(std::size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock{impl_->mutex};
  return impl_->changed.wait_for(lock, timeout, [&] { return impl_->requests.size() >= n; });
}

bool fake_hubspot::wait_for_late_writes(std::size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock{impl_->mutex};
  return impl_->changed.wait_for(lock, timeout, [&] { return impl_->late_writes >= n; });
}

bool fake_hubspot::wait_for_connections(std::size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock{impl_->mutex};
  return impl_->changed.wait_for(lock, timeout, [&] { return impl_->connections >= n; });
}

std::size_t fake_hubspot::close_idle_connections() {
  if (impl_->ioc.get_executor().running_in_this_thread()) {
    throw std::logic_error{"fake_hubspot::close_idle_connections called from a handler"};
  }
  // Shared: if the wait below times out, the posted function still runs later.
  auto picked = std::make_shared<std::promise<std::vector<std::shared_future<void>>>>();
  auto picked_future = picked->get_future();
  net::post(impl_->ioc, [owner = impl_.get(), picked] {
    std::vector<std::shared_future<void>> closing;
    for (const auto& [number, conn] : owner->live) {
      if (conn->idle && !conn->close_requested) {
        conn->close_requested = true;
        closing.push_back(conn->closed_future);
        conn->tcp->cancel();  // wakes the session's read; it sees close_requested
      }
    }
    picked->set_value(std::move(closing));
  });

  const auto deadline = std::chrono::steady_clock::now() + control_deadline;
  if (picked_future.wait_until(deadline) != std::future_status::ready) {
    throw std::runtime_error{"fake_hubspot: the server thread did not respond"};
  }
  const std::vector<std::shared_future<void>> closing = picked_future.get();
  for (const auto& closed : closing) {
    if (closed.wait_until(deadline) != std::future_status::ready) {
      throw std::runtime_error{"fake_hubspot: an idle connection did not close"};
    }
  }
  return closing.size();
}

}  // namespace hubgate::test
