// The real hubgate binary, over real sockets, in front of fake HubSpot servers over real TLS.

#include <gtest/gtest.h>
#include <openssl/crypto.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <regex>
#include <string>

#include "http/request_body.hpp"
#include "integration/ops_support.hpp"
#include "integration/proxy_client.hpp"
#include "support/fake_hubspot.hpp"
#include "support/process.hpp"
#include "support/test_pki.hpp"

namespace hubgate::test {
namespace {

using namespace std::chrono_literals;

// Answers with what it received, so the client side can see what reached HubSpot.
fake_response echo(const recorded_request& r) {
  return json_response(200, "{\"method\":\"" + r.method + "\",\"target\":\"" + r.target + "\",\"bytes\":" +
                                std::to_string(r.body.size()) + "}");
}

class proxy_test : public ::testing::Test {
 protected:
  const test_pki& pki = shared_test_pki();
  fake_hubspot api{pki.server};
  fake_hubspot forms{pki.server};

  running_proxy start(std::vector<std::string> extra = {}) {
    auto flags = proxy_flags(api.url(), forms.url(), pki.ca_file);
    flags.insert(flags.end(), extra.begin(), extra.end());
    return running_proxy(flags);
  }
};

// An HTTP/1.1 client gets `body` chunked, twice on one connection: each answer was relayed to its end.
void expect_relayed_chunked(std::uint16_t port, const std::string& body) {
  proxy_connection c(port); // one connection: one thread, one upstream pool
  for (int round = 0; round < 2; ++round) {
    c.send(make_request("GET", "/crm/v3/objects/contacts"));
    auto answer = c.read_answer();
    ASSERT_TRUE(answer) << round;
    EXPECT_TRUE(answer->chunked);
    EXPECT_EQ(answer->body, body);
    EXPECT_TRUE(answer->keep_alive);
  }
}

void expect_hubspot_error_shape(const http_answer& a, unsigned status) {
  EXPECT_EQ(a.status, status);
  EXPECT_EQ(a.header("Content-Type").value_or(""), "application/json;charset=utf-8");
  static const std::regex shape(
      R"(\{"status":"error","message":"[^"]+","correlationId":"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}","category":"[A-Z_]+"\})");
  EXPECT_TRUE(std::regex_match(a.body, shape)) << a.body;
}

TEST_F(proxy_test, passes_methods_bodies_and_query_strings_through) {
  api.set_handler(echo);
  auto proxy = start();
  struct call {
    const char* method;
    const char* target;
    std::string body;
  };
  const call calls[] = {
      {"GET", "/crm/v3/objects/contacts/123?properties=email,firstname&archived=false", ""},
      {"POST", "/crm/v3/objects/companies?x=1", R"({"properties":{"name":"Acme"}})"},
      {"PATCH", "/crm/v3/objects/contacts/123", R"({"properties":{"firstname":"Jo"}})"},
      {"DELETE", "/crm/v3/objects/deals/9?force=true", ""},
      {"PUT", "/crm/v4/objects/contacts/1/associations/companies/2", R"([{"associationCategory":"HUBSPOT_DEFINED"}])"},
  };
  for (const auto& c : calls) {
    auto answer = exchange(proxy.port(), make_request(c.method, c.target, {}, c.body));
    ASSERT_TRUE(answer) << c.method;
    EXPECT_EQ(answer->status, 200u);
    EXPECT_NE(answer->body.find(std::string("\"target\":\"") + c.target + "\""), std::string::npos) << answer->body;
  }
  auto seen = api.requests();
  ASSERT_EQ(seen.size(), std::size(calls));
  for (std::size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i].method, calls[i].method);
    EXPECT_EQ(seen[i].target, calls[i].target);
    EXPECT_EQ(seen[i].body, calls[i].body);
  }
  EXPECT_TRUE(forms.requests().empty());
}

TEST_F(proxy_test, drops_hop_by_hop_headers_both_ways_and_keeps_the_rest) {
  api.set_handler([](const recorded_request&) {
    auto r = json_response(200, "{}");
    r.headers.emplace_back("X-HubSpot-RateLimit-Remaining", "99");
    r.headers.emplace_back("X-HubSpot-RateLimit-Daily", "250000");
    r.headers.emplace_back("Connection", "X-Upstream-Hop");
    r.headers.emplace_back("X-Upstream-Hop", "secret");
    r.headers.emplace_back("Keep-Alive", "timeout=5");
    r.headers.emplace_back("Proxy-Authenticate", "Basic");
    r.headers.emplace_back("Upgrade", "h2c");
    return r;
  });
  auto proxy = start();
  auto answer = exchange(proxy.port(), make_request("GET", "/crm/v3/objects/contacts?limit=5",
                                                    {{"Authorization", "Bearer pat-na1-abc"},
                                                     {"X-Custom", "kept"},
                                                     {"Connection", "keep-alive, X-Client-Hop"},
                                                     {"X-Client-Hop", "dropped"},
                                                     {"Keep-Alive", "timeout=10"},
                                                     {"Proxy-Authorization", "Basic Zm9vOmJhcg=="},
                                                     {"TE", "trailers"},
                                                     {"Trailer", "X-Checksum"},
                                                     {"Upgrade", "websocket"}}));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200u);
  EXPECT_EQ(answer->header("X-HubSpot-RateLimit-Remaining").value_or(""), "99");
  EXPECT_EQ(answer->header("X-HubSpot-RateLimit-Daily").value_or(""), "250000");
  for (const char* hop : {"X-Upstream-Hop", "Keep-Alive", "Proxy-Authenticate", "Upgrade"}) {
    EXPECT_FALSE(answer->header(hop)) << hop;
  }

  auto seen = api.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].header("Authorization").value_or(""), "Bearer pat-na1-abc");
  EXPECT_EQ(seen[0].header("X-Custom").value_or(""), "kept");
  EXPECT_EQ(seen[0].header("Host").value_or(""), "127.0.0.1:" + std::to_string(api.port()));
  for (const char* hop : {"Connection", "X-Client-Hop", "Keep-Alive", "Proxy-Authorization", "TE", "Trailer", "Upgrade"}) {
    EXPECT_FALSE(seen[0].header(hop)) << hop;
  }
}

TEST_F(proxy_test, reuses_pooled_upstream_connections) {
  auto proxy = start({"--threads", "1"});
  for (int i = 0; i < 5; ++i) {
    proxy_connection c(proxy.port());
    c.send(make_request("GET", "/crm/v3/objects/contacts/" + std::to_string(i)));
    auto answer = c.read_answer();
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->status, 200u);
  }
  EXPECT_EQ(api.requests().size(), 5u);
  EXPECT_EQ(api.handshakes(), 1u);
  EXPECT_EQ(api.connections(), 1u);
}

// Pooled connections past the idle timeout are closed by themselves, not only when the next
// request looks for one: after a burst, its connections would otherwise stay open indefinitely.
TEST_F(proxy_test, idle_pooled_connections_are_closed_at_the_idle_timeout_without_a_request) {
  auto proxy = start({"--threads", "1", "--upstream-idle-timeout", "2s"});
  std::vector<std::unique_ptr<proxy_connection>> clients;
  for (int i = 0; i < 3; ++i) {
    clients.push_back(std::make_unique<proxy_connection>(proxy.port()));
    clients.back()->send(make_request("GET", "/crm/v3/objects/contacts/" + std::to_string(i)));
  }
  for (auto& c : clients) {
    auto answer = c->read_answer();
    ASSERT_TRUE(answer);
  }
  const auto admin = proxy.admin_port();
  const std::string pooled = R"(hubgate_upstream_pooled_connections{upstream="api"})";
  EXPECT_TRUE(eventually([&] { return scrape(admin, pooled) >= 1; }));
  EXPECT_TRUE(eventually([&] { return scrape(admin, pooled) == 0; })) << scrape(admin, pooled);
  // And the pool serves on after it.
  auto answer = exchange(proxy.port(), make_request("GET", "/crm/v3/objects/contacts/9"));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200u);
}

TEST_F(proxy_test, a_new_upstream_connection_resumes_the_last_tls_session) {
  // Once the pooled connection is gone (HubSpot closed it while idle), the next one offers the
  // session of the last: the fake sees the second handshake resumed, as nginx's
  // proxy_ssl_session_reuse would have it.
  auto proxy = start({"--threads", "1"});
  ASSERT_EQ(exchange(proxy.port(), make_request("GET", "/crm/v3/objects/contacts/1"))->status, 200u);
  ASSERT_TRUE(eventually([&] { return api.close_idle_connections() == 1; }));
  ASSERT_EQ(exchange(proxy.port(), make_request("GET", "/crm/v3/objects/contacts/2"))->status, 200u);
  ASSERT_TRUE(eventually([&] { return api.close_idle_connections() == 1; }));
  ASSERT_EQ(exchange(proxy.port(), make_request("POST", "/crm/v3/objects/deals", {}, "{}"))->status, 200u);
  EXPECT_EQ(api.requests().size(), 3u);
  EXPECT_EQ(api.handshakes(), 3u);
  EXPECT_EQ(api.resumed_handshakes(), 2u);
}

TEST_F(proxy_test, an_upstream_that_closes_after_every_answer_gets_resumed_handshakes) {
  // Connection: close on every answer: no connection goes back to the pool, and each new one
  // resumes the session of the one before, after a read or a create, an answer with a length or
  // a chunked one.
  api.set_handler([](const recorded_request& req) {
    fake_response res = json_response(req.method == "POST" ? 201 : 200, R"({"id":"1"})");
    res.action = fake_action::close_after_response;
    res.chunked = req.target.find("chunked") != std::string::npos;
    return res;
  });
  auto proxy = start({"--threads", "1"});
  const std::string create = R"({"properties":{"email":"jo@acme-corp.com"}})";
  EXPECT_EQ(exchange(proxy.port(), make_request("GET", "/crm/v3/objects/contacts/1"))->status, 200u);
  const auto created = exchange(
      proxy.port(), make_request("POST", "/crm/v3/objects/contacts", {{"Content-Type", "application/json"}}, create));
  EXPECT_EQ(created->status, 201u);
  EXPECT_EQ(exchange(proxy.port(), make_request("GET", "/crm/v3/objects/contacts/2?chunked=1"))->status, 200u);
  EXPECT_EQ(exchange(proxy.port(), make_request("GET", "/crm/v3/objects/contacts/3"))->status, 200u);
  EXPECT_EQ(api.requests().size(), 4u);
  EXPECT_EQ(api.handshakes(), 4u);
  EXPECT_EQ(api.resumed_handshakes(), 3u);
}

TEST_F(proxy_test, large_bodies_go_through_on_reused_connections) {
  auto proxy = start({"--threads", "1"});
  for (int i = 0; i < 3; ++i) {
    const std::string body(40000 + i, static_cast<char>('a' + i));
    auto answer = exchange(proxy.port(), make_request("POST", "/crm/v3/objects/notes", {}, body));
    ASSERT_TRUE(answer) << i;
    EXPECT_EQ(answer->status, 200u);
  }
  auto seen = api.requests();
  ASSERT_EQ(seen.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(seen[static_cast<std::size_t>(i)].body, std::string(40000 + i, static_cast<char>('a' + i)));
  }
  EXPECT_EQ(api.handshakes(), 1u);
}

TEST_F(proxy_test, a_pooled_connection_the_upstream_closed_is_never_used_for_a_post_and_a_get_is_retried) {
  auto proxy = start({"--threads", "1"});
  ASSERT_EQ(exchange(proxy.port(), make_request("GET", "/crm/v3/objects/contacts/1"))->status, 200u);
  // The fake counts a connection idle once it waits for the next request, which may be just after
  // the client read its answer. A POST's connection is checked before use: it goes on a new one.
  ASSERT_TRUE(eventually([&] { return api.close_idle_connections() == 1; }));
  auto posted = exchange(proxy.port(), make_request("POST", "/crm/v3/objects/deals", {}, "{}"));
  ASSERT_TRUE(posted);
  EXPECT_EQ(posted->status, 200u);
  // So is a GET's.
  ASSERT_TRUE(eventually([&] { return api.close_idle_connections() == 1; }));
  auto read = exchange(proxy.port(), make_request("GET", "/crm/v3/objects/contacts/2"));
  ASSERT_TRUE(read);
  EXPECT_EQ(read->status, 200u);
  auto seen = api.requests();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[1].method, "POST");
  EXPECT_EQ(seen[2].target, "/crm/v3/objects/contacts/2");
  EXPECT_EQ(api.handshakes(), 3u);
}

// An upstream that sends an answer nobody asked for on a connection idle in the pool (or a 408
// before it closes one): the bytes are never read as the next request's answer, which would hand
// one client's data to another.
TEST_F(proxy_test, bytes_an_idle_upstream_connection_received_are_never_an_answer) {
  api.set_handler([](const recorded_request& r) {
    fake_response answer = echo(r);
    if (r.target.ends_with("/1")) {
      const std::string stray = R"({"stray":"a second answer to /1"})";
      answer.late_bytes = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                          std::to_string(stray.size()) + "\r\n\r\n" + stray;
      answer.late_delay = 50ms; // after the proxy has put the connection back in its pool
    }
    return answer;
  });
  auto proxy = start({"--threads", "1"});
  auto first = exchange(proxy.port(), make_request("GET", "/crm/v3/objects/contacts/1"));
  ASSERT_TRUE(first);
  EXPECT_NE(first->body.find("/crm/v3/objects/contacts/1"), std::string::npos) << first->body;
  ASSERT_TRUE(api.wait_for_late_writes(1, 5s));
  for (const char* method : {"GET", "POST"}) {
    auto next = exchange(proxy.port(), make_request(method, "/crm/v3/objects/contacts/2", {}, "{}"));
    ASSERT_TRUE(next) << method;
    EXPECT_EQ(next->status, 200u) << method;
    EXPECT_NE(next->body.find("/crm/v3/objects/contacts/2"), std::string::npos) << method << ": " << next->body;
  }
  EXPECT_EQ(api.requests().size(), 3u);
}

TEST_F(proxy_test, a_get_that_fails_on_a_reused_connection_is_retried_once_on_a_fresh_one) {
  std::atomic<int> calls{0};
  api.set_handler([&](const recorded_request&) {
    fake_response r = json_response(200, "{\"ok\":true}");
    if (++calls == 2) {
      r.action = fake_action::reset_connection; // the second request finds the connection dead
    }
    return r;
  });
  auto proxy = start({"--threads", "1"});
  ASSERT_EQ(exchange(proxy.port(), make_request("GET", "/crm/v3/objects/contacts/1"))->status, 200u);
  auto answer = exchange(proxy.port(), make_request("GET", "/crm/v3/objects/contacts/2"));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200u);
  EXPECT_EQ(answer->body, "{\"ok\":true}");
  EXPECT_EQ(api.requests().size(), 3u);
}

// HubSpot's framing is never relayed as it came: the client gets one made anew from what was
// read (one Content-Length, however the answer gave it), and an answer that cannot be relayed so
// (a transfer coding but chunked, a protocol switch) is a 502.
TEST_F(proxy_test, an_answers_framing_is_made_anew_or_the_answer_refused) {
  struct odd_answer {
    const char* raw;
    unsigned status;
  };
  const odd_answer answers[] = {
      {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello", 200},
      {"HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\nhello", 200},
      // Ended by bare LFs, which the full parser refuses: at once, not at the response timeout.
      {"HTTP/1.1 200 OK\nContent-Type: text/plain\nContent-Length: 5\n\nhello", 502},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\nContent-Length: 5\r\n\r\nhello", 502},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 502},
      {"HTTP/1.1 101 Switching Protocols\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", 502},
      {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n"
       "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
       502},
      // No HTTP status (Beast reads it; relayed, its status line had a NUL for a third digit).
      {"HTTP/1.1 099 Weird\r\nContent-Length: 5\r\n\r\nhello", 502},
  };
  for (const odd_answer& odd : answers) {
    SCOPED_TRACE(std::string(odd.raw).substr(0, 60));
    api.set_handler([&odd](const recorded_request&) {
      fake_response r;
      r.raw_answer = odd.raw;
      return r;
    });
    auto proxy = start({"--threads", "1"});
    proxy_connection c(proxy.port());
    c.send("GET /crm/v3/objects/deals/1 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
    const std::string raw = c.read_until_close();
    ASSERT_TRUE(raw.starts_with("HTTP/1.1 " + std::to_string(odd.status) + " ")) << raw;
    if (odd.status == 200) {
      std::string lower = raw;
      std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char ch) { return std::tolower(ch); });
      EXPECT_EQ(lower.find("content-length: 5\r\n"), lower.rfind("content-length")) << raw;
      EXPECT_EQ(lower.find("content-length: 5, 5"), std::string::npos) << raw;
      EXPECT_EQ(lower.find("transfer-encoding"), std::string::npos) << raw;
      EXPECT_TRUE(raw.ends_with("\r\n\r\nhello")) << raw;
    }
  }
}

// Beast's parser bounds neither a chunk's extensions nor trailer fields: framing without end, from
// a client or from HubSpot, is refused once it passes hubgate's bound instead of held in memory.
TEST_F(proxy_test, framing_without_end_is_refused_not_buffered) {
  api.set_handler(echo);
  auto proxy = start({"--threads", "1"});
  proxy_connection c(proxy.port());
  c.send("POST /crm/v3/objects/deals HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=" +
         std::string(256 * 1024, 'x'));
  auto refused = c.read_answer();
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 400u);
  EXPECT_TRUE(api.requests().empty());

  api.set_handler([](const recorded_request&) {
    fake_response r;
    r.raw_answer = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=" + std::string(256 * 1024, 'x');
    r.raw_answer_stays_open = true; // more to come, for all hubgate can tell
    return r;
  });
  auto answer = exchange(proxy.port(), make_request("GET", "/crm/v3/objects/deals/1"));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 502u);
}

// A chunked answer whose lines end in bare LFs never completes for Beast's parser (it reads only
// CRLF): a 502 at once, not a wait for the response timeout (60 s here, longer than the client's).
TEST_F(proxy_test, a_chunked_answer_with_bare_lf_lines_gets_502_at_once) {
  api.set_handler([](const recorded_request&) {
    fake_response r;
    r.raw_answer = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\n0\n\n";
    r.raw_answer_stays_open = true;
    return r;
  });
  auto proxy = start({"--upstream-response-timeout", "60s"});
  auto answer = exchange(proxy.port(), make_request("GET", "/crm/v3/objects/deals/1"));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 502u) << answer->body;
}

// HubSpot answering early (a 413, say) and reading no more of a large body: the write stalls and
// times out, and the answer says HubSpot did not take the request, not that it never answered.
TEST_F(proxy_test, a_request_hubspot_stops_reading_gets_504_saying_so) {
  api.set_early_answer("HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\n\r\n");
  auto proxy = start({"--upstream-response-timeout", "2s"});
  auto answer = exchange(proxy.port(), make_request("POST", "/crm/v3/objects/notes",
                                                    {{"Content-Type", "application/octet-stream"}},
                                                    std::string(15 * 1024 * 1024, 'x')));
  ASSERT_TRUE(answer);
  expect_hubspot_error_shape(*answer, 504);
  EXPECT_NE(answer->body.find("HubSpot did not take the whole request in time"), std::string::npos) << answer->body;
}

// A 204 that declares a body (RFC 9110 forbids it) may send it after its head, in a later read:
// its connection is not reused, where those bytes would be the start of the next request's answer.
TEST_F(proxy_test, a_204_that_declares_a_body_leaves_its_connection_unused) {
  std::atomic<int> calls{0};
  api.set_handler([&](const recorded_request&) {
    fake_response r = json_response(200, "{}");
    if (++calls == 1) {
      r.raw_answer = "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n";
      r.raw_answer_stays_open = true; // its five bytes may come yet
    }
    return r;
  });
  auto proxy = start({"--threads", "1", "--upstream-response-timeout", "3s"});
  auto first = exchange(proxy.port(), make_request("DELETE", "/crm/v3/objects/deals/1"));
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 204u);
  auto second = exchange(proxy.port(), make_request("GET", "/crm/v3/objects/deals/2"));
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, 200u);
  const auto seen = api.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1].connection, 2u);
}

TEST_F(proxy_test, a_post_is_never_sent_twice) {
  std::atomic<int> calls{0};
  api.set_handler([&](const recorded_request&) {
    fake_response r = json_response(201, "{}");
    if (++calls == 2) {
      r.action = fake_action::reset_connection;
    }
    return r;
  });
  auto proxy = start({"--threads", "1"});
  ASSERT_EQ(exchange(proxy.port(), make_request("GET", "/crm/v3/objects/contacts/1"))->status, 201u);
  auto answer = exchange(proxy.port(), make_request("POST", "/crm/v3/objects/deals", {}, R"({"properties":{}})"));
  ASSERT_TRUE(answer);
  expect_hubspot_error_shape(*answer, 502);
  auto seen = api.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1].method, "POST");
}

TEST_F(proxy_test, an_upstream_signed_by_another_ca_gets_502_and_nothing_is_forwarded) {
  auto other = make_test_pki();
  fake_hubspot impostor(other.server);
  auto proxy = running_proxy(proxy_flags(impostor.url(), forms.url(), pki.ca_file));
  auto answer = exchange(proxy.port(), make_request("GET", "/crm/v3/objects/contacts/1"));
  ASSERT_TRUE(answer);
  expect_hubspot_error_shape(*answer, 502);
  EXPECT_TRUE(impostor.requests().empty());
  // Logged before the answer is sent, but written by the log thread: it may come a moment later.
  EXPECT_TRUE(proxy.process().wait_for_output("certificate verification failed", 10s)) << proxy.log();
}

// Without --ca-file the system's trust store is used, read from its directory of hashed
// certificates (SSL_CERT_DIR here), or from a bundle when SSL_CERT_FILE names one.
TEST_F(proxy_test, without_a_ca_file_the_upstream_is_verified_against_the_system_trust_store) {
  auto flags = proxy_flags(api.url(), forms.url(), pki.ca_file);
  const auto ca_flag = std::find(flags.begin(), flags.end(), "--ca-file");
  ASSERT_NE(ca_flag, flags.end());
  flags.erase(ca_flag, ca_flag + 2);
  {
    running_proxy trusting_dir(flags, {{"SSL_CERT_DIR", pki.ca_hashed_dir}});
    auto answer = exchange(trusting_dir.port(), make_request("GET", "/crm/v3/objects/contacts/1"));
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->status, 200u) << trusting_dir.log();
  }
  {
    running_proxy trusting_bundle(flags, {{"SSL_CERT_FILE", pki.ca_file}, {"SSL_CERT_DIR", pki.ca_hashed_dir + "/none"}});
    auto answer = exchange(trusting_bundle.port(), make_request("GET", "/crm/v3/objects/contacts/2"));
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->status, 200u) << trusting_bundle.log();
  }
  ASSERT_EQ(api.requests().size(), 2u);
  auto other = make_test_pki();
  running_proxy trusting_another_ca(flags, {{"SSL_CERT_DIR", other.ca_hashed_dir}});
  auto answer = exchange(trusting_another_ca.port(), make_request("GET", "/crm/v3/objects/contacts/3"));
  ASSERT_TRUE(answer);
  expect_hubspot_error_shape(*answer, 502);
  EXPECT_EQ(api.requests().size(), 2u);
  EXPECT_TRUE(trusting_another_ca.process().wait_for_output("certificate verification failed", 10s))
      << trusting_another_ca.log();
}

TEST_F(proxy_test, an_upstream_certificate_for_another_host_gets_502_and_nothing_is_forwarded) {
  fake_hubspot impostor(issue_server_cert(pki.ca, {"evil.example"}, {"10.9.8.7"}));
  auto proxy = running_proxy(proxy_flags(impostor.url(), forms.url(), pki.ca_file));
  auto answer = exchange(proxy.port(), make_request("POST", "/crm/v3/objects/deals", {}, "{}"));
  ASSERT_TRUE(answer);
  expect_hubspot_error_shape(*answer, 502);
  EXPECT_TRUE(impostor.requests().empty());
  // Logged before the answer is sent, but written by the log thread: it may come a moment later.
  EXPECT_TRUE(proxy.process().wait_for_output("TLS handshake", 10s)) << proxy.log();
}

TEST_F(proxy_test, sends_sni_and_verifies_the_name_of_a_dns_upstream) {
  auto proxy = running_proxy(
      proxy_flags("https://localhost:" + std::to_string(api.port()), forms.url(), pki.ca_file));
  auto answer = exchange(proxy.port(), make_request("GET", "/crm/v3/objects/contacts/1"));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200u);
  EXPECT_EQ(api.last_sni(), "localhost");
  EXPECT_EQ(api.requests().at(0).header("Host").value_or(""), "localhost:" + std::to_string(api.port()));
}

TEST_F(proxy_test, an_upstream_that_is_down_gets_502) {
  auto proxy = running_proxy(
      proxy_flags("https://127.0.0.1:" + std::to_string(free_port()), forms.url(), pki.ca_file));
  auto answer = exchange(proxy.port(), make_request("GET", "/crm/v3/objects/contacts/1"));
  ASSERT_TRUE(answer);
  expect_hubspot_error_shape(*answer, 502);
  EXPECT_FALSE(answer->header("x-should-retry")); // a retry may well help here
}

TEST_F(proxy_test, a_slow_upstream_gets_504) {
  api.set_handler([](const recorded_request&) {
    auto r = json_response(200, "{}");
    r.delay = 30s;
    return r;
  });
  auto proxy = start({"--upstream-response-timeout", "300ms"});
  auto answer = exchange(proxy.port(), make_request("GET", "/crm/v3/objects/contacts/1"));
  ASSERT_TRUE(answer);
  expect_hubspot_error_shape(*answer, 504);
  EXPECT_FALSE(answer->header("x-should-retry")) << "a read may be retried";
  EXPECT_EQ(api.requests().size(), 1u);
}

// A call HubSpot had whole and did not answer (in time, or readably) may have been made: a POST
// retried could make a contact twice, and the SDKs retry a 5xx that does not say otherwise (a
// direct call that broke off is a network error, which they do not retry).
TEST_F(proxy_test, a_post_that_may_have_been_acted_on_is_not_offered_for_retry) {
  std::atomic<int> calls{0};
  api.set_handler([&](const recorded_request&) {
    fake_response r = json_response(201, R"({"id":"1"})");
    switch (++calls) {
      case 1:
        r.delay = 30s; // past the response timeout
        break;
      case 2:
        r.action = fake_action::reset_connection;
        break;
      default:
        r.body.clear();
        r.chunked = true;
        r.break_off = true; // a 201 whose body never comes
    }
    return r;
  });
  auto proxy = start({"--upstream-response-timeout", "300ms"});
  const std::string create = make_request("POST", "/crm/v3/objects/contacts", {{"Content-Type", "application/json"}},
                                          R"({"properties":{"email":"a@corp.io"}})");
  for (const auto& [status, message] : {std::pair{504u, "HubSpot did not answer in time"},
                                        std::pair{502u, "HubSpot's answer was unreadable"},
                                        std::pair{502u, "HubSpot answered 201, but its answer broke off"}}) {
    SCOPED_TRACE(message);
    auto answer = exchange(proxy.port(), create);
    ASSERT_TRUE(answer);
    expect_hubspot_error_shape(*answer, status);
    EXPECT_EQ(answer->header("x-should-retry").value_or(""), "false");
    EXPECT_NE(answer->body.find(std::string(message) + " (the call may have been made"), std::string::npos)
        << answer->body;
  }
  EXPECT_EQ(api.requests().size(), 3u);
}

TEST_F(proxy_test, an_oversized_body_gets_413_and_is_not_forwarded) {
  auto proxy = start({"--max-body-size", "1KiB"});
  auto answer = exchange(proxy.port(), make_request("POST", "/crm/v3/objects/notes", {}, std::string(2000, 'x')));
  ASSERT_TRUE(answer);
  expect_hubspot_error_shape(*answer, 413);
  EXPECT_EQ(answer->header("x-should-retry").value_or(""), "false");
  // A client that sends all of a far larger body before it reads (Node's fetch does) still reads
  // the 413: the rest is read and dropped, not cut off with a reset.
  answer = exchange(proxy.port(), make_request("POST", "/crm/v3/objects/notes", {}, std::string(20 << 20, 'x')));
  ASSERT_TRUE(answer) << "the connection was reset under the client's write";
  expect_hubspot_error_shape(*answer, 413);

  // The same through chunks, where the size is only known as it arrives.
  std::string chunked = "POST /crm/v3/objects/notes HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 4; ++i) {
    chunked += "200\r\n" + std::string(512, 'y') + "\r\n";
  }
  chunked += "0\r\n\r\n";
  answer = exchange(proxy.port(), chunked);
  ASSERT_TRUE(answer);
  expect_hubspot_error_shape(*answer, 413);
  EXPECT_TRUE(api.requests().empty());

  // Within the limit, a chunked body arrives whole, framed by its length.
  answer = exchange(proxy.port(),
                    "POST /crm/v3/objects/notes HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n");
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200u);
  auto seen = api.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].body, "abcdefg");
  EXPECT_EQ(seen[0].header("Content-Length").value_or(""), "7");
  EXPECT_FALSE(seen[0].header("Transfer-Encoding"));
}

// A head larger than 64 KiB, or of more than 256 fields, is refused with 431 and not forwarded.
TEST_F(proxy_test, a_head_too_large_or_of_too_many_fields_gets_431) {
  api.set_handler(echo);
  auto proxy = start();
  const auto with_fields = [](int count, std::size_t value_size) {
    std::string head = "GET /crm/v3/objects/contacts/1 HTTP/1.1\r\nHost: x\r\n";
    for (int i = 0; i < count; ++i) {
      head += "x-f" + std::to_string(i) + ": " + std::string(value_size, 'v') + "\r\n";
    }
    return head + "\r\n";
  };
  auto answer = exchange(proxy.port(), with_fields(300, 1));
  ASSERT_TRUE(answer);
  expect_hubspot_error_shape(*answer, 431);
  answer = exchange(proxy.port(), with_fields(40, 2000));
  ASSERT_TRUE(answer);
  expect_hubspot_error_shape(*answer, 431);
  EXPECT_TRUE(api.requests().empty());
  answer = exchange(proxy.port(), with_fields(250, 1));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200u);
  EXPECT_EQ(api.requests().size(), 1u);
}

// Bodies are read whole before they are decided: what all connections hold at once is bounded
// (--max-body-memory), and a body past it gets a 503 to retry, unread, and nothing is forwarded.
// A client waiting for 100 Continue learns it before it sends the body.
TEST_F(proxy_test, bodies_held_at_once_are_bounded_and_one_past_it_gets_503) {
  api.set_handler(echo);
  auto proxy = start({"--max-body-size", "600", "--max-body-memory", "1000"});
  proxy_connection holding(proxy.port());
  holding.send("POST /crm/v3/objects/notes HTTP/1.1\r\nHost: x\r\nContent-Length: 600\r\nExpect: 100-continue\r\n\r\n");
  auto go_on = holding.read_answer();
  ASSERT_TRUE(go_on);
  ASSERT_EQ(go_on->status, 100u); // its 600 bytes are held from here on

  auto refused = exchange(proxy.port(), make_request("POST", "/crm/v3/objects/notes", {}, std::string(500, 'x')));
  ASSERT_TRUE(refused);
  expect_hubspot_error_shape(*refused, 503);
  EXPECT_EQ(refused->header("Retry-After").value_or(""), "1");
  EXPECT_EQ(refused->header("x-should-retry"), std::nullopt);
  std::string chunked = "POST /crm/v3/objects/notes HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  chunked += "1f4\r\n" + std::string(500, 'y') + "\r\n0\r\n\r\n";
  refused = exchange(proxy.port(), chunked);
  ASSERT_TRUE(refused);
  expect_hubspot_error_shape(*refused, 503);
  // What fits goes through meanwhile.
  auto small = exchange(proxy.port(), make_request("POST", "/crm/v3/objects/notes", {}, std::string(400, 'z')));
  ASSERT_TRUE(small);
  EXPECT_EQ(small->status, 200u);

  holding.send(std::string(600, 'h'));
  auto held = holding.read_answer();
  ASSERT_TRUE(held);
  EXPECT_EQ(held->status, 200u);
  // Given back once answered: the body refused before now fits.
  auto retried = exchange(proxy.port(), make_request("POST", "/crm/v3/objects/notes", {}, std::string(500, 'x')));
  ASSERT_TRUE(retried);
  EXPECT_EQ(retried->status, 200u);
  EXPECT_EQ(api.requests().size(), 3u);
}

// A body is held as it arrives, a step (64 KiB) ahead at most: a client that declares a large body
// and sends little of it holds little, and cannot keep the other bodies out.
TEST_F(proxy_test, a_body_declared_but_not_sent_holds_only_what_arrived) {
  api.set_handler(echo);
  auto proxy = start({"--max-body-size", "1MiB", "--max-body-memory", "1MiB"});
  proxy_connection declaring(proxy.port());
  declaring.send("POST /crm/v3/objects/notes HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n"
                 "Expect: 100-continue\r\n\r\n");
  auto go_on = declaring.read_answer();
  ASSERT_TRUE(go_on);
  ASSERT_EQ(go_on->status, 100u);
  declaring.send("x"); // and no more
  auto other = exchange(proxy.port(), make_request("POST", "/crm/v3/objects/notes", {}, std::string(900 * 1024, 'o')));
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 200u);
  ASSERT_EQ(api.requests().size(), 1u);
  EXPECT_EQ(api.requests()[0].body.size(), 900u * 1024);
}

// Bytes that differ from their neighbours, so that a body shifted, cut or padded reads differently.
std::string patterned(std::size_t size) {
  std::string body(size, '\0');
  for (std::size_t i = 0; i < size; ++i) {
    body[i] = static_cast<char>('!' + (i * 7 + i / 91) % 90);
  }
  return body;
}

TEST_F(proxy_test, bodies_of_every_size_up_to_the_limit_arrive_exactly_and_one_byte_more_gets_413) {
  api.set_handler(echo);
  auto proxy = start({"--max-body-size", "1KiB", "--threads", "1"});
  // Sizes around the first read (part of the body comes with the head), the string's inline size,
  // and the limit; each on a connection of its own and all pipelined on one connection.
  const std::size_t sizes[] = {0, 1, 15, 16, 17, 500, 1000, 1023, 1024};
  std::string pipelined;
  for (const std::size_t size : sizes) {
    const std::string request =
        make_request("POST", "/crm/v3/objects/notes/" + std::to_string(size), {}, patterned(size));
    pipelined += request;
    auto answer = exchange(proxy.port(), request);
    ASSERT_TRUE(answer) << size;
    EXPECT_EQ(answer->status, 200u) << size;
  }
  proxy_connection c(proxy.port());
  c.send(pipelined);
  for (const std::size_t size : sizes) {
    auto answer = c.read_answer();
    ASSERT_TRUE(answer) << size;
    EXPECT_NE(answer->body.find("/notes/" + std::to_string(size) + "\""), std::string::npos) << answer->body;
  }
  auto seen = api.requests();
  ASSERT_EQ(seen.size(), 2 * std::size(sizes));
  for (std::size_t i = 0; i < seen.size(); ++i) {
    const std::size_t size = sizes[i % std::size(sizes)];
    EXPECT_EQ(seen[i].body, patterned(size)) << size;
    EXPECT_EQ(seen[i].header("Content-Length").value_or(""), std::to_string(size)) << size;
  }

  auto answer = exchange(proxy.port(), make_request("POST", "/crm/v3/objects/notes", {}, patterned(1025)));
  ASSERT_TRUE(answer);
  expect_hubspot_error_shape(*answer, 413);
  EXPECT_EQ(api.requests().size(), seen.size());
}

TEST_F(proxy_test, a_body_sent_in_pieces_arrives_whole) {
  api.set_handler(echo);
  auto proxy = start({"--threads", "1"});
  const std::string body = patterned(100000);
  const std::string request = make_request("POST", "/crm/v3/objects/notes", {}, body);
  const std::size_t head_size = request.size() - body.size();
  proxy_connection c(proxy.port());
  // The head alone, then the head's last bytes with the body's first, then the rest in pieces of
  // sizes that do not divide the body.
  c.send(request.substr(0, head_size - 2));
  for (std::size_t at = head_size - 2; at < request.size(); at += 7919) {
    c.send(request.substr(at, 7919));
  }
  auto answer = c.read_answer();
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200u);
  auto seen = api.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].body, body);

  // A chunked body, in chunks that straddle the pieces it is sent in, arrives whole too.
  std::string chunked = "POST /crm/v3/objects/notes HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (std::size_t at = 0; at < body.size(); at += 3001) {
    const std::string piece = body.substr(at, 3001);
    char size_line[16];
    std::snprintf(size_line, sizeof size_line, "%zx\r\n", piece.size());
    chunked += size_line + piece + "\r\n";
  }
  chunked += "0\r\n\r\n";
  for (std::size_t at = 0; at < chunked.size(); at += 5003) {
    c.send(chunked.substr(at, 5003));
  }
  answer = c.read_answer();
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200u);
  seen = api.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1].body, body);
  EXPECT_EQ(seen[1].header("Content-Length").value_or(""), std::to_string(body.size()));
}

TEST_F(proxy_test, a_body_goes_upstream_whole_behind_heads_of_every_size_around_the_room_kept_for_them) {
  // The forwarded head goes in front of the body when it fits the room kept there, and the body's
  // first bytes are copied behind it when it does not: heads from well under to well over that
  // room (http/request_body.hpp), one byte apart, with a body of more than one TLS record.
  api.set_handler(echo);
  auto proxy = start({"--threads", "1"});
  const std::string body = patterned(17000);
  proxy_connection c(proxy.port());
  const std::size_t first_padding = 1500;
  const std::size_t last_padding = 2300;
  for (std::size_t padding = first_padding; padding <= last_padding; ++padding) {
    c.send(make_request("POST", "/crm/v3/objects/notes", {{"X-Padding", std::string(padding, 'p')}}, body));
    auto answer = c.read_answer();
    ASSERT_TRUE(answer) << padding;
    ASSERT_EQ(answer->status, 200u) << padding;
  }
  auto seen = api.requests();
  ASSERT_EQ(seen.size(), last_padding - first_padding + 1);
  const auto head_size = [](const recorded_request& r) {
    std::size_t size = r.method.size() + 1 + r.target.size() + 11 + 2; // request line, blank line
    for (const auto& [name, value] : r.headers) {
      size += name.size() + 2 + value.size() + 2;
    }
    return size;
  };
  EXPECT_LT(head_size(seen.front()), http::request_bytes::head_room);
  EXPECT_GT(head_size(seen.back()), http::request_bytes::head_room);
  for (std::size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i].header("X-Padding").value_or("").size(), first_padding + i);
    EXPECT_EQ(seen[i].body, body) << first_padding + i;
  }
}

TEST_F(proxy_test, malformed_requests_get_400_and_nothing_is_forwarded) {
  auto proxy = start();
  const std::string bad[] = {
      "THIS IS NOT HTTP\r\n\r\n",
      "GET /crm/v3/objects/contacts HTTP/1.1\r\nHost: x\r\nBad Header Name: v\r\n\r\n",
      "POST /crm/v3/objects/contacts HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
      "POST /crm/v3/objects/contacts HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      "GET example.com:443 HTTP/1.1\r\nHost: x\r\n\r\n",
  };
  for (const auto& raw : bad) {
    auto answer = exchange(proxy.port(), raw);
    ASSERT_TRUE(answer) << raw;
    expect_hubspot_error_shape(*answer, 400);
    EXPECT_EQ(answer->header("x-should-retry").value_or(""), "false");
  }
  EXPECT_TRUE(api.requests().empty());
}

// Past --max-connections a connection waits in the listen backlog while the limit's connections
// are busy (one here is sending its request head), and is answered once one makes room: it
// finished its request and has waited a second for the next, and then it is closed.
TEST_F(proxy_test, a_connection_past_max_connections_waits_while_the_others_are_busy) {
  api.set_handler(echo);
  auto proxy = start({"--threads", "1", "--max-connections", "1"});
  proxy_connection first(proxy.port());
  first.send("GET /first HTTP/1.1\r\nHost: x\r\n"); // a head not yet whole: busy, not idle
  proxy_connection waiting(proxy.port());                // connected by the kernel, not accepted by hubgate
  waiting.send(make_request("GET", "/waiting"));
  first.send("\r\n");
  auto answer = first.read_answer();
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200u);
  auto later = waiting.read_answer();
  ASSERT_TRUE(later);
  EXPECT_EQ(later->status, 200u);
  EXPECT_NE(later->body.find("/waiting"), std::string::npos) << later->body;
  const auto seen = api.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].target, "/first") << "a second connection was served past the limit";
  EXPECT_TRUE(first.closed_by_peer()) << "the idle connection made room";
}

// A connection that has only just connected (or just been answered) is about to send: it is not
// closed to make room, so its first request is not lost.
TEST_F(proxy_test, at_max_connections_a_connection_about_to_send_is_not_closed) {
  api.set_handler(echo);
  auto proxy = start({"--threads", "1", "--max-connections", "1"});
  proxy_connection fresh(proxy.port());
  proxy_connection arriving(proxy.port());
  arriving.send(make_request("GET", "/arriving"));
  fresh.send(make_request("POST", "/crm/v3/objects/notes", {}, "{}"));
  auto answer = fresh.read_answer();
  ASSERT_TRUE(answer) << "the fresh connection was closed before its request";
  EXPECT_EQ(answer->status, 200u);
  auto later = arriving.read_answer(); // once the fresh one has been idle a while
  ASSERT_TRUE(later);
  EXPECT_EQ(later->status, 200u);
}

// Idle keep-alive connections cannot keep new clients out: at the limit, the one idle longest
// is closed for a new connection, as nginx does.
TEST_F(proxy_test, at_max_connections_the_connection_idle_longest_makes_room) {
  api.set_handler(echo);
  auto proxy = start({"--threads", "1", "--max-connections", "2"});
  proxy_connection oldest(proxy.port());
  oldest.send(make_request("GET", "/oldest"));
  ASSERT_TRUE(oldest.read_answer());
  proxy_connection newer(proxy.port());
  newer.send(make_request("GET", "/newer"));
  ASSERT_TRUE(newer.read_answer());
  proxy_connection arriving(proxy.port());
  arriving.send(make_request("GET", "/arriving"));
  auto answer = arriving.read_answer();
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200u);
  EXPECT_TRUE(oldest.closed_by_peer());
  newer.send(make_request("GET", "/newer-again"));
  auto again = newer.read_answer();
  ASSERT_TRUE(again) << "the newer idle connection was kept";
  EXPECT_EQ(again->status, 200u);
}

TEST_F(proxy_test, a_slow_client_is_cut_off) {
  auto proxy = start({"--client-header-timeout", "300ms"});
  proxy_connection c(proxy.port());
  c.send("GET /crm/v3/objects/contacts HTTP/1.1\r\nHost: x\r\n"); // and never the rest
  EXPECT_TRUE(c.closed_by_peer()); // within the read timeout of 10 s, so after about 300 ms
  EXPECT_TRUE(api.requests().empty());
}

TEST_F(proxy_test, pipelined_requests_are_answered_in_order) {
  api.set_handler(echo);
  auto proxy = start();
  proxy_connection c(proxy.port());
  std::string batch;
  for (int i = 0; i < 5; ++i) {
    batch += make_request(i % 2 ? "POST" : "GET", "/crm/v3/objects/contacts/" + std::to_string(i), {},
                          i % 2 ? "{}" : "");
  }
  c.send(batch);
  for (int i = 0; i < 5; ++i) {
    auto answer = c.read_answer();
    ASSERT_TRUE(answer) << i;
    EXPECT_NE(answer->body.find("/crm/v3/objects/contacts/" + std::to_string(i) + "\""), std::string::npos)
        << answer->body;
    EXPECT_TRUE(answer->keep_alive);
  }
}

// RFC 9112 §2.2: an empty line before a request line is ignored (clients that end a POST body with
// CRLF send one); more than a few bytes of them are a malformed request.
TEST_F(proxy_test, an_empty_line_before_a_request_is_skipped) {
  api.set_handler(echo);
  auto proxy = start();
  proxy_connection c(proxy.port());
  c.send("\r\n" + make_request("POST", "/crm/v3/objects/deals/1", {}, "{}") + "\r\n" +
         make_request("GET", "/crm/v3/objects/deals/2", {}, ""));
  for (const char* id : {"1", "2"}) {
    auto answer = c.read_answer();
    ASSERT_TRUE(answer) << id;
    EXPECT_EQ(answer->status, 200u) << id;
    EXPECT_NE(answer->body.find(std::string("/crm/v3/objects/deals/") + id + "\""), std::string::npos) << answer->body;
  }
  EXPECT_EQ(api.requests().size(), 2u);

  proxy_connection flood(proxy.port());
  flood.send("\r\n\r\n\r\n" + make_request("GET", "/crm/v3/objects/deals/3", {}, ""));
  auto refused = flood.read_answer();
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 400u);
  EXPECT_EQ(api.requests().size(), 2u);
}

TEST_F(proxy_test, speaks_http_1_0_and_closes_after_the_answer) {
  api.set_handler([](const recorded_request&) {
    auto r = json_response(200, std::string(10000, 'z'));
    r.chunked = true; // an HTTP/1.0 client cannot read chunks: it gets the body up to our close
    return r;
  });
  auto proxy = start();
  proxy_connection c(proxy.port());
  c.send("GET /crm/v3/objects/contacts/1 HTTP/1.0\r\n\r\n");
  auto raw = c.read_until_close();
  EXPECT_TRUE(raw.starts_with("HTTP/1.0 200 OK\r\n")) << raw.substr(0, 100);
  EXPECT_EQ(raw.find("chunked"), std::string::npos);
  EXPECT_TRUE(raw.ends_with("\r\n\r\n" + std::string(10000, 'z')));
}

TEST_F(proxy_test, relays_a_chunked_answer_to_an_http_1_1_client) {
  api.set_handler([](const recorded_request&) {
    auto r = json_response(200, std::string(50000, 'c'));
    r.chunked = true;
    r.chunk_size = 7000;
    return r;
  });
  auto proxy = start();
  expect_relayed_chunked(proxy.port(), std::string(50000, 'c'));
}

TEST_F(proxy_test, relays_a_chunked_answer_whose_many_chunks_arrive_in_one_read) {
  // Hundreds of chunks in one TLS record: more pieces than one write to the client takes.
  std::string body;
  for (int i = 0; body.size() < 6000; ++i) {
    body += std::to_string(i) + ",";
  }
  api.set_handler([&body](const recorded_request&) {
    auto r = json_response(200, body);
    r.chunked = true;
    r.chunk_size = 13;
    r.chunks_in_one_write = true;
    return r;
  });
  auto proxy = start();
  expect_relayed_chunked(proxy.port(), body);
  // The answer was read to its end, so its upstream connection served the second request too.
  EXPECT_EQ(api.connections(), 1u);
}

TEST_F(proxy_test, relays_an_answer_that_ends_with_the_upstreams_close) {
  const std::string body(40000, 'u');
  api.set_handler([&body](const recorded_request&) {
    auto r = json_response(200, body);
    r.unframed = true;
    return r;
  });
  auto proxy = start();
  expect_relayed_chunked(proxy.port(), body);
  // An HTTP/1.0 client learns the end from our close.
  proxy_connection old(proxy.port());
  old.send("GET /crm/v3/objects/contacts/1 HTTP/1.0\r\n\r\n");
  auto raw = old.read_until_close();
  EXPECT_TRUE(raw.starts_with("HTTP/1.0 200 OK\r\n")) << raw.substr(0, 100);
  EXPECT_TRUE(raw.ends_with("\r\n\r\n" + body));
}

TEST_F(proxy_test, an_answer_that_breaks_off_mid_body_closes_the_client_connection) {
  api.set_handler([](const recorded_request&) {
    auto r = json_response(200, std::string(30000, 'b'));
    r.chunked = true;
    r.chunk_size = 10000;
    r.break_off = true; // no last chunk: the upstream closes after 30,000 bytes
    return r;
  });
  auto proxy = start();
  proxy_connection c(proxy.port());
  c.send(make_request("GET", "/crm/v3/objects/contacts"));
  auto raw = c.read_until_close();
  EXPECT_TRUE(raw.starts_with("HTTP/1.1 200 OK\r\n")) << raw.substr(0, 100);
  EXPECT_FALSE(raw.ends_with("0\r\n\r\n")) << "the client must not see a complete answer";
  EXPECT_TRUE(c.closed_by_peer());
  // The client saw a 200 begin, but HubSpot's answer failed: it is counted and logged as such.
  const auto admin = proxy.admin_port();
  EXPECT_TRUE(eventually([&] { return scrape(admin, R"(hubgate_upstream_errors_total{upstream="api",kind="reset"})") == 1; }));
  EXPECT_TRUE(proxy.process().wait_for_output("upstream answer broke off", std::chrono::seconds(10))) << proxy.log();
}

TEST_F(proxy_test, a_host_header_or_absolute_target_never_selects_another_host) {
  api.set_handler(echo);
  auto proxy = start();
  auto answer = exchange(proxy.port(), "GET http://evil.example:8080/crm/v3/objects/contacts/7?a=b HTTP/1.1\r\n"
                                       "Host: evil.example\r\n\r\n");
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200u);
  answer = exchange(proxy.port(), "GET /crm/v3/objects/contacts/8 HTTP/1.1\r\nHost: evil.example\r\n\r\n");
  ASSERT_TRUE(answer);
  auto seen = api.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].target, "/crm/v3/objects/contacts/7?a=b");
  for (const auto& r : seen) {
    EXPECT_EQ(r.header("Host").value_or(""), "127.0.0.1:" + std::to_string(api.port()));
  }
  // CONNECT would make it a tunnel to anywhere.
  answer = exchange(proxy.port(), "CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n");
  ASSERT_TRUE(answer);
  expect_hubspot_error_shape(*answer, 405);
  // TRACE would echo what HubSpot received: under auth: clients, the token in place of the key.
  for (const char* method : {"TRACE", "trace", "TRACK"}) {
    answer = exchange(proxy.port(), std::string(method) + " /crm/v3/objects/contacts HTTP/1.1\r\nHost: h\r\n\r\n");
    ASSERT_TRUE(answer);
    expect_hubspot_error_shape(*answer, 405);
  }
  // A path taken from a header by some servers is a path hubgate did not classify.
  for (const char* header : {"X-Original-URL", "x-rewrite-url", "X_Original_URL"}) {
    answer = exchange(proxy.port(), std::string("POST /crm/v3/objects/companies HTTP/1.1\r\nHost: h\r\n") + header +
                                        ": /crm/v3/objects/contacts\r\nContent-Length: 2\r\n\r\n{}");
    ASSERT_TRUE(answer);
    expect_hubspot_error_shape(*answer, 400);
  }
  EXPECT_EQ(api.requests().size(), 2u);
}

TEST_F(proxy_test, form_submissions_go_to_the_forms_upstream) {
  auto proxy = start();
  const std::pair<const char*, const char*> submissions[] = {
      {"/submissions/v3/integration/submit/123/abc-def", R"({"fields":[{"name":"email","value":"jo@corp.io"}]})"},
      {"/uploads/form/v2/123/abc-def", "email=jo%40corp.io&firstname=Jo"}};
  for (const auto& [target, body] : submissions) {
    const char* type = body[0] == '{' ? "application/json" : "application/x-www-form-urlencoded";
    auto answer = exchange(proxy.port(), make_request("POST", target, {{"Content-Type", type}}, body));
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->status, 200u) << answer->body;
  }
  ASSERT_TRUE(exchange(proxy.port(), make_request("GET", "/crm/v3/objects/contacts/1")));
  auto seen = forms.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].target, "/submissions/v3/integration/submit/123/abc-def");
  EXPECT_EQ(seen[1].target, "/uploads/form/v2/123/abc-def");
  EXPECT_EQ(seen[0].header("Host").value_or(""), "127.0.0.1:" + std::to_string(forms.port()));
  ASSERT_EQ(api.requests().size(), 1u);
}

TEST_F(proxy_test, answers_expect_100_continue) {
  auto proxy = start();
  proxy_connection c(proxy.port());
  c.send("POST /crm/v3/objects/notes HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n");
  auto interim = c.read_answer();
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100u);
  c.send("{}");
  auto answer = c.read_answer();
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200u);
  ASSERT_EQ(api.requests().size(), 1u);
  EXPECT_FALSE(api.requests()[0].header("Expect"));
}

// hubgate's own answer to a HEAD (here a 502: HubSpot broke the connection) is a head alone: a
// body after it would be read as the answer to the next request on the connection.
TEST_F(proxy_test, an_error_answered_to_a_head_has_no_body) {
  api.set_handler([](const recorded_request& r) {
    if (r.method == "HEAD") {
      fake_response reset;
      reset.action = fake_action::reset_connection;
      return reset;
    }
    return json_response(200, R"({"id":"7"})");
  });
  auto proxy = start();
  proxy_connection c(proxy.port());
  c.send(make_request("HEAD", "/crm/v3/objects/contacts/7"));
  auto head = c.read_answer(true);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 502u);
  EXPECT_TRUE(head->body.empty());
  ASSERT_TRUE(head->keep_alive);
  c.send(make_request("GET", "/crm/v3/objects/contacts/7"));
  auto next = c.read_answer();
  ASSERT_TRUE(next);
  EXPECT_EQ(next->status, 200u);
  EXPECT_EQ(next->body, R"({"id":"7"})");
}

TEST_F(proxy_test, sigterm_lets_the_request_in_flight_finish_then_exits_0) {
  api.set_handler([](const recorded_request&) {
    auto r = json_response(201, R"({"id":"1"})");
    r.delay = 700ms;
    return r;
  });
  auto proxy = start();
  proxy_connection idle(proxy.port()); // an idle keep-alive client must not hold the drain up
  proxy_connection busy(proxy.port());
  busy.send(make_request("POST", "/crm/v3/objects/deals", {}, "{}"));
  ASSERT_TRUE(api.wait_for_requests(1, 10s));
  proxy.process().send_signal(SIGTERM);
  auto answer = busy.read_answer();
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 201u);
  EXPECT_FALSE(answer->keep_alive);
  EXPECT_EQ(proxy.process().wait_exit(15s), std::optional<int>(0));
  EXPECT_TRUE(idle.closed_by_peer());
}

// A second signal stops at once, the request still in flight with it (its client's connection
// closes unanswered). The sessions stopped so are destroyed with their threads while what they
// give back to (body memory, the log, the session set) still exists: the ASan run sees to it.
TEST_F(proxy_test, a_second_sigterm_stops_at_once_with_a_request_in_flight) {
  api.set_handler([](const recorded_request&) {
    auto r = json_response(201, R"({"id":"1"})");
    r.delay = 30s;
    return r;
  });
  auto proxy = start({"--drain-timeout", "60s"});
  proxy_connection busy(proxy.port());
  busy.send(make_request("POST", "/crm/v3/objects/deals", {}, "{}"));
  proxy_connection sending(proxy.port());
  sending.send("POST /crm/v3/objects/notes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               "Content-Length: 100\r\n\r\n{\"a\":");
  ASSERT_TRUE(api.wait_for_requests(1, 10s));
  proxy.process().send_signal(SIGTERM);
  ASSERT_TRUE(proxy.process().wait_for_output("draining", 10s)) << proxy.log();
  proxy.process().send_signal(SIGTERM);
  EXPECT_EQ(proxy.process().wait_exit(10s), std::optional<int>(0)) << proxy.log();
  EXPECT_NE(proxy.log().find("second signal: stopping now"), std::string::npos) << proxy.log();
  EXPECT_TRUE(busy.read_until_close().empty());
}

// A drain that times out cuts what is still in flight, and the cut holds: a body still arriving
// gets a retryable 503 (nothing was sent on), an answer still streaming breaks off, both are
// logged, and the process exits at the drain's timeout, not after the grace that stops threads.
TEST_F(proxy_test, a_drain_timeout_cuts_a_body_still_arriving_and_an_answer_still_streaming) {
  api.set_handler([](const recorded_request&) {
    auto r = json_response(200, std::string(2000 * 100, 'a'));
    r.chunked = true;
    r.chunk_size = 100;
    r.chunk_delay = 5ms; // 10 s of answer
    return r;
  });
  auto proxy = start({"--drain-timeout", "300ms"});
  proxy_connection streaming(proxy.port());
  streaming.send(make_request("GET", "/crm/v3/objects/contacts"));
  proxy_connection sending(proxy.port());
  sending.send("POST /crm/v3/objects/notes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               "Content-Length: 100\r\n\r\n{\"a\":");
  ASSERT_TRUE(api.wait_for_requests(1, 10s));
  proxy.process().send_signal(SIGTERM);

  const auto refused = sending.read_answer();
  ASSERT_TRUE(refused);
  expect_hubspot_error_shape(*refused, 503);
  EXPECT_NE(refused->body.find("nothing was sent to HubSpot"), std::string::npos) << refused->body;
  EXPECT_FALSE(refused->header("x-should-retry")) << "it may be sent again";
  const std::string relayed = streaming.read_until_close();
  EXPECT_TRUE(relayed.starts_with("HTTP/1.1 200 OK\r\n")) << relayed.substr(0, 100);
  EXPECT_FALSE(relayed.ends_with("0\r\n\r\n")) << "the client must not see a complete answer";

  EXPECT_EQ(proxy.process().wait_exit(15s), std::optional<int>(0));
  EXPECT_EQ(proxy.log().find("stopping now"), std::string::npos) << proxy.log();
  EXPECT_NE(proxy.log().find("status=503"), std::string::npos) << proxy.log();
  EXPECT_NE(proxy.log().find("method=GET"), std::string::npos) << proxy.log();
  EXPECT_EQ(api.requests().size(), 1u);
}

TEST_F(proxy_test, logs_one_line_per_request_without_secrets) {
  auto proxy = start();
  ASSERT_TRUE(exchange(proxy.port(),
                       make_request("GET", "/contacts/v1/contact/email/jo.doe@corp.io/profile?hapikey=sekrit-key-1",
                                    {{"Authorization", "Bearer pat-na1-sekrit-token"}})));
  ASSERT_TRUE(proxy.process().wait_for_output("method=GET", 10s));
  auto log = proxy.log();
  EXPECT_NE(log.find("hapikey=REDACTED"), std::string::npos) << log;
  EXPECT_NE(log.find("***@corp.io"), std::string::npos) << log;
  EXPECT_NE(log.find("status=200"), std::string::npos) << log;
  for (const char* secret : {"sekrit-key-1", "pat-na1-sekrit-token", "jo.doe"}) {
    EXPECT_EQ(log.find(secret), std::string::npos) << secret << " in\n" << log;
  }
}

TEST_F(proxy_test, json_log_lines_are_json) {
  auto proxy = start({"--log-format", "json"});
  ASSERT_TRUE(exchange(proxy.port(), make_request("GET", "/crm/v3/objects/contacts/1")));
  ASSERT_TRUE(proxy.process().wait_for_output("\"method\":\"GET\"", 10s));
  static const std::regex line(R"(\{"time":"[0-9T:.Z-]+","level":"info","msg":"request","method":"GET",.*"status":200,.*\})");
  EXPECT_TRUE(std::regex_search(proxy.log(), line)) << proxy.log();
}

TEST(cli_process, help_version_and_bad_flags) {
  {
    child_process p({hubgate_binary(), "--help"});
    EXPECT_EQ(p.wait_exit(10s), std::optional<int>(0));
    EXPECT_NE(p.output().find("--forms-upstream"), std::string::npos);
    EXPECT_NE(p.output().find("HUBGATE_LISTEN"), std::string::npos);
  }
  {
    child_process p({hubgate_binary(), "--version"});
    EXPECT_EQ(p.wait_exit(10s), std::optional<int>(0));
    // Its second line names the OpenSSL it runs with: the one this machine's packages ship.
    const std::string openssl = OpenSSL_version(OPENSSL_VERSION);
    EXPECT_TRUE(std::regex_match(p.output(), std::regex("hubgate [0-9]+\\.[0-9]+\\.[0-9]+\n"
                                                        "OpenSSL [0-9]+\\.[0-9]+\\.[0-9]+[^\n]* \\([^\n]+\\)\n")))
        << p.output();
    EXPECT_NE(p.output().find("\n" + openssl + " ("), std::string::npos) << p.output();
  }
  {
    child_process p({hubgate_binary(), "serve", "--no-such-flag"});
    EXPECT_EQ(p.wait_exit(10s), std::optional<int>(2));
    EXPECT_EQ(p.output(), "hubgate: unknown flag '--no-such-flag' (see hubgate --help)\n");
  }
  {
    child_process p({hubgate_binary(), "serve", "--upstream", "http://api.hubapi.com"});
    EXPECT_EQ(p.wait_exit(10s), std::optional<int>(2));
    EXPECT_NE(p.output().find("https://"), std::string::npos);
  }
}

TEST_F(proxy_test, flags_can_come_from_the_environment) {
  auto proxy = running_proxy({"--listen", "127.0.0.1:0", "--ca-file", pki.ca_file},
                             {{"HUBGATE_UPSTREAM", api.url()},
                              {"HUBGATE_FORMS_UPSTREAM", forms.url()},
                              {"HUBGATE_RULES", HUBGATE_TEST_DATA_DIR "/allow_all.yaml"}});
  auto answer = exchange(proxy.port(), make_request("GET", "/crm/v3/objects/contacts/1"));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200u);
  EXPECT_EQ(api.requests().size(), 1u);
}

} // namespace
} // namespace hubgate::test
