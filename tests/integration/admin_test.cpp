// The admin listener of the real binary: health, readiness through a drain, the rules in force,
// and /metrics scraped over HTTP and checked against the requests just sent.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <csignal>
#include <fstream>
#include <sstream>

#include "hubgate/audit/redact.hpp"
#include "integration/ops_support.hpp"

namespace hubgate::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

std::string requests_series(std::string_view operation, std::string_view decision, std::string_view code) {
  return "hubgate_requests_total{operation=\"" + std::string(operation) + "\",decision=\"" + std::string(decision) +
         "\",code=\"" + std::string(code) + "\"}";
}

class admin_test : public ops_fixture {
 protected:
  admin_test() { write_rules(example_rules); }
};

TEST_F(admin_test, health_readiness_and_the_rules_in_force) {
  auto proxy = start();
  const auto admin = proxy.admin_port();
  ASSERT_NE(admin, proxy.port());

  auto health = admin_get(admin, "/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200u);
  EXPECT_EQ(health->body, "ok\n");
  auto ready = admin_get(admin, "/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200u);

  auto rules = admin_get(admin, "/rules?pretty");
  ASSERT_TRUE(rules);
  EXPECT_EQ(rules->status, 200u);
  EXPECT_EQ(rules->header("Content-Type").value_or(""), "application/json");
  const auto described = json::parse(rules->body);
  EXPECT_EQ(described["file"], rules_file);
  EXPECT_EQ(described["sha256"], audit::sha256_hex(example_rules));
  EXPECT_EQ(described["generation"], 1);
  EXPECT_EQ(described["mode"], "enforce");
  EXPECT_EQ(described["default"], "allow");
  EXPECT_EQ(described["audit_pii"], "redacted");
  EXPECT_EQ(described["batches"], "split");
  EXPECT_EQ(described["loaded_at"].get<std::string>().size(), 24u) << described["loaded_at"];
  ASSERT_EQ(described["rules"].size(), 3u);
  EXPECT_EQ(described["rules"][1], json({{"name", "free-mail"}, {"action", "block"}, {"mode", "shadow"}, {"line", 7}}));

  auto head = exchange(admin, "HEAD /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200u);
  EXPECT_EQ(head->header("Content-Length").value_or(""), "3");
  auto post = admin_get(admin, "/metrics", "POST");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 405u);
  EXPECT_EQ(post->header("Allow").value_or(""), "GET, HEAD");
  auto missing = admin_get(admin, "/debug");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404u);
}

// DNS rebinding: a page whose name an attacker points at the admin address would read /rules and
// /clients from a browser on the same network. The admin listener answers IP addresses, names
// without a dot and the names --admin-hosts lists; any other name gets 421.
TEST_F(admin_test, a_host_name_it_was_not_told_of_gets_421) {
  auto proxy = start({"--admin-hosts", "Hubgate-Admin.monitoring.svc, other.example"});
  const auto admin = proxy.admin_port();
  const auto get_with_host = [&](const std::string& host) {
    const std::optional<http_answer> answer =
        test::exchange(admin, "GET /rules HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n");
    return answer ? answer->status : 0u;
  };
  for (const std::string& host : {"127.0.0.1:" + std::to_string(admin), std::string("127.0.0.1"), std::string("[::1]:9090"),
                                 std::string("localhost:9090"), std::string("hubgate"),
                                 std::string("hubgate-admin.monitoring.svc:9090"), std::string("OTHER.example")}) {
    EXPECT_EQ(get_with_host(host), 200u) << host;
  }
  for (const char* host : {"evil.example.com", "evil.example.com:9090", "127.0.0.1.evil.example", "localhost.",
                                 "hubgate:x", "[::1"}) {
    EXPECT_EQ(get_with_host(host), 421u) << host;
  }
  auto two = test::exchange(admin, "GET /rules HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil.example.com\r\n\r\n");
  ASSERT_TRUE(two);
  EXPECT_EQ(two->status, 421u);
  auto http10 = test::exchange(admin, "GET /healthz HTTP/1.0\r\n\r\n");
  ASSERT_TRUE(http10);
  EXPECT_EQ(http10->status, 200u);
}

TEST_F(admin_test, idle_connections_cannot_keep_probes_out) {
  auto proxy = start();
  const auto admin = proxy.admin_port();
  // More than the listener's 32 slots, each with a head that never ends.
  std::vector<std::unique_ptr<proxy_connection>> idle;
  for (int i = 0; i < 40; ++i) {
    idle.push_back(std::make_unique<proxy_connection>(admin));
    idle.back()->send("GET /healthz HTTP/1.1\r\nHost: a\r\n");
  }
  for (int i = 0; i < 3; ++i) {
    auto health = admin_get(admin, "/healthz");
    ASSERT_TRUE(health) << i;
    EXPECT_EQ(health->status, 200u);
  }
  // The connections that waited longest gave their slots up.
  EXPECT_TRUE(idle.front()->closed_by_peer());
}

TEST_F(admin_test, the_proxy_port_never_serves_the_admin_endpoints) {
  auto proxy = start();
  for (const char* path : {"/metrics", "/healthz", "/readyz", "/rules"}) {
    auto answer = exchange(proxy.port(), make_request("GET", path));
    ASSERT_TRUE(answer) << path;
    EXPECT_EQ(answer->body, "{}") << path << ": HubSpot's answer, not hubgate's";
  }
  ASSERT_EQ(api.requests().size(), 4u);
  EXPECT_EQ(api.requests()[0].target, "/metrics");
}

TEST_F(admin_test, metrics_count_the_requests_just_sent) {
  // HubSpot never answers one create: its edit was not made.
  api.set_handler([](const recorded_request& r) {
    if (r.body.find("lost@corp.io") != std::string::npos) {
      fake_response lost;
      lost.action = fake_action::reset_connection;
      return lost;
    }
    return hubspot_like(r);
  });
  auto proxy = start();
  const auto admin = proxy.admin_port();
  const auto send = [&](const std::string& request, unsigned expected_status) {
    auto answer = exchange(proxy.port(), request);
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->status, expected_status) << request << "\n" << answer->body;
  };
  send(post("/crm/v3/objects/contacts", R"({"properties":{"email":"a@test.com"}})"), 403);
  send(post("/crm/v3/objects/contacts", R"({"properties":{"email":"b@example.com"}})"), 403);
  send(post("/crm/v3/objects/contacts", R"({"properties":{"email":"c@corp.io"}})"), 201);
  send(post("/crm/v3/objects/contacts/batch/create",
            R"({"inputs":[{"properties":{"email":"d@corp.io"}},{"properties":{"email":"e@test.com"}}]})"),
       207);
  send(post("/crm/v3/objects/contacts", R"({"properties":{"email":)"), 400);
  send(post("/crm/v3/objects/contacts", R"({"properties":{"email":"lost@corp.io"}})"), 502);
  for (int i = 0; i < 3; ++i) {
    send(make_request("GET", "/crm/v3/objects/contacts/1"), 200);
  }

  // Counted as each answer ends, which may be a moment after the client read it.
  const auto pass = requests_series("other", "pass", "200");
  ASSERT_TRUE(eventually([&] {
    return scrape(admin, pass) == 3 && scrape(admin, requests_series("contacts.create", "rewrite", "201")) == 1;
  }));
  const auto page = admin_get(admin, "/metrics");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200u);
  EXPECT_EQ(page->header("Content-Type").value_or(""), "text/plain; version=0.0.4; charset=utf-8");
  const auto& text = page->body;
  const auto value = [&](std::string_view series) { return metric_value(text, series); };
  EXPECT_EQ(value(requests_series("contacts.create", "block", "403")), 2) << text;
  EXPECT_EQ(value(requests_series("contacts.batch_create", "partial", "207")), 1) << text;
  EXPECT_EQ(value(requests_series("contacts.create", "reject", "400")), 1) << text;
  EXPECT_EQ(value(R"(hubgate_blocked_records_total{rule="no-test-domains"})"), 3) << text;
  EXPECT_EQ(value(R"(hubgate_rewritten_records_total{rule="tag-api-contacts"})"), 2) << text;
  EXPECT_EQ(value(R"(hubgate_shadow_blocked_records_total{rule="free-mail"})"), 0) << text;
  EXPECT_EQ(value(R"(hubgate_upstream_duration_seconds_count{upstream="api"})"), 5) << text;
  EXPECT_EQ(value(R"(hubgate_upstream_duration_seconds_bucket{upstream="api",le="+Inf"})"), 5) << text;
  EXPECT_EQ(value(R"(hubgate_upstream_errors_total{upstream="api",kind="connect"})"), 0) << text;
  EXPECT_EQ(value(R"(hubgate_upstream_errors_total{upstream="api",kind="reset"})"), 1) << text;
  EXPECT_GE(value(R"(hubgate_upstream_pooled_connections{upstream="api"})").value_or(0), 1) << text;
  EXPECT_EQ(value("hubgate_rules_generation"), 1) << text;
  EXPECT_EQ(value("hubgate_rules"), 3) << text;
  EXPECT_EQ(value(R"(hubgate_rules_reloads_total{result="failed"})"), 0) << text;
  EXPECT_GT(value("process_resident_memory_bytes").value_or(0), 1e6) << text;
  EXPECT_GT(value("process_open_fds").value_or(0), 3) << text;
  EXPECT_FALSE(value("hubgate_audit_records_total")) << "no audit series without an audit trail";

  // An open keep-alive connection shows in the gauge, and leaves it when closed.
  {
    proxy_connection held(proxy.port());
    held.send(make_request("GET", "/crm/v3/objects/contacts/2"));
    ASSERT_TRUE(held.read_answer());
    EXPECT_TRUE(eventually([&] { return scrape(admin, "hubgate_client_connections") == 1; }));
  }
  EXPECT_TRUE(eventually([&] { return scrape(admin, "hubgate_client_connections") == 0; }));
}

TEST_F(admin_test, shadow_rules_forward_while_counting_logging_and_auditing) {
  const std::string audit_file = dir + "/audit.jsonl";
  auto proxy = start({"--audit", audit_file});
  const auto admin = proxy.admin_port();
  auto answer = exchange(proxy.port(), post("/crm/v3/objects/contacts", R"({"properties":{"email":"jo@gmail.com"}})"));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 201u) << "a shadow rule blocks nothing";
  ASSERT_EQ(api.requests().size(), 1u);
  EXPECT_NE(api.requests()[0].body.find("jo@gmail.com"), std::string::npos);

  EXPECT_TRUE(
      eventually([&] { return scrape(admin, R"(hubgate_shadow_blocked_records_total{rule="free-mail"})") == 1; }));
  EXPECT_EQ(scrape(admin, R"(hubgate_blocked_records_total{rule="free-mail"})"), 0);
  EXPECT_TRUE(proxy.process().wait_for_output("shadow verdict", 10s));
  EXPECT_NE(proxy.log().find("item 0: block by free-mail"), std::string::npos) << proxy.log();

  ASSERT_TRUE(eventually([&] { return read_lines(audit_file).size() == 1; }));
  const auto entry = json::parse(read_lines(audit_file)[0]);
  EXPECT_EQ(entry["records"][0]["decision"], "rewrite");
  EXPECT_EQ(entry["records"][0]["shadow"], json({{"decision", "block"}, {"rule", "free-mail"}}));
  EXPECT_EQ(entry["records"][0]["id"], "51");
}

TEST_F(admin_test, readyz_turns_503_while_draining_and_the_request_in_flight_finishes) {
  api.set_handler([](const recorded_request&) {
    auto slow = json_response(200, R"({"slow":true})");
    slow.delay = 1500ms;
    return slow;
  });
  auto proxy = start();
  const auto admin = proxy.admin_port();
  proxy_connection in_flight(proxy.port());
  in_flight.send(make_request("GET", "/crm/v3/objects/contacts/1"));
  ASSERT_TRUE(api.wait_for_requests(1, 10s));
  proxy.process().send_signal(SIGTERM);
  EXPECT_TRUE(eventually([&] {
    auto ready = admin_get(admin, "/readyz");
    return ready && ready->status == 503 && ready->body == "draining\n";
  }));
  EXPECT_EQ(admin_get(admin, "/healthz").value_or(http_answer{}).status, 200u);
  EXPECT_EQ(scrape(admin, "hubgate_draining"), 1);
  auto answer = in_flight.read_answer();
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200u);
  EXPECT_EQ(proxy.process().wait_exit(15s), std::optional<int>(0));
}

TEST_F(admin_test, upstream_handshakes_are_counted_full_and_resumed) {
  auto proxy = start({"--threads", "1"});
  const auto admin = proxy.admin_port();
  const auto full = R"(hubgate_upstream_handshakes_total{upstream="api",resumed="false"})";
  const auto resumed = R"(hubgate_upstream_handshakes_total{upstream="api",resumed="true"})";
  EXPECT_EQ(scrape(admin, full), 0);
  ASSERT_EQ(exchange(proxy.port(), make_request("GET", "/crm/v3/objects/contacts/1"))->status, 200u);
  // HubSpot closes the pooled connection; the next request makes one that resumes the session.
  ASSERT_TRUE(eventually([&] { return api.close_idle_connections() == 1; }));
  ASSERT_EQ(exchange(proxy.port(), make_request("GET", "/crm/v3/objects/contacts/2"))->status, 200u);
  EXPECT_EQ(scrape(admin, full), 1);
  EXPECT_EQ(scrape(admin, resumed), 1);
  EXPECT_EQ(scrape(admin, R"(hubgate_upstream_handshakes_total{upstream="forms",resumed="false"})"), 0);
  EXPECT_EQ(api.handshakes(), 2u);
}

TEST_F(admin_test, upstream_errors_are_counted_by_kind) {
  {
    api.set_handler([](const recorded_request& r) {
      if (r.target.find("reset") != std::string::npos) {
        fake_response reset;
        reset.action = fake_action::reset_connection;
        return reset;
      }
      auto slow = json_response(200, "{}");
      slow.delay = 2s;
      return slow;
    });
    auto proxy = start({"--upstream-response-timeout", "300ms"});
    const auto admin = proxy.admin_port();
    auto answer = exchange(proxy.port(), make_request("GET", "/crm/v3/objects/contacts/slow"));
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->status, 504u);
    answer = exchange(proxy.port(), make_request("POST", "/crm/v3/objects/deals/reset", {}, "{}"));
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->status, 502u);
    // Requests are counted after their answers have gone out, so the counts may trail the answers.
    EXPECT_TRUE(eventually(
        [&] { return scrape(admin, R"(hubgate_upstream_errors_total{upstream="api",kind="reset"})") == 1; }));
    EXPECT_TRUE(eventually(
        [&] { return scrape(admin, R"(hubgate_upstream_errors_total{upstream="api",kind="timeout"})") == 1; }));
    EXPECT_TRUE(eventually([&] { return scrape(admin, requests_series("other", "pass", "504")) == 1; }));
  }
  {
    auto down =
        running_proxy(proxy_flags("https://127.0.0.1:" + std::to_string(free_port()), forms.url(), pki.ca_file));
    ASSERT_TRUE(exchange(down.port(), make_request("GET", "/crm/v3/objects/contacts/1")));
    EXPECT_TRUE(eventually([&] {
      return scrape(down.admin_port(), R"(hubgate_upstream_errors_total{upstream="api",kind="connect"})") == 1;
    }));
  }
  {
    auto other = make_test_pki();
    fake_hubspot impostor(other.server);
    auto proxy = running_proxy(proxy_flags(forms.url(), impostor.url(), pki.ca_file));
    const auto target = std::string("/submissions/v3/integration/submit/1/11111111-2222-3333-4444-555555555555");
    ASSERT_TRUE(exchange(proxy.port(), post(target, R"({"fields":[{"name":"email","value":"x@corp.io"}]})")));
    EXPECT_TRUE(eventually([&] {
      return scrape(proxy.admin_port(), R"(hubgate_upstream_errors_total{upstream="forms",kind="tls"})") == 1;
    }));
  }
}

TEST_F(admin_test, the_admin_listener_can_be_turned_off) {
  auto proxy = start({"--admin-listen", "off"});
  EXPECT_TRUE(proxy.process().wait_for_output("admin listener off", 10s)) << proxy.log();
  auto answer = exchange(proxy.port(), make_request("GET", "/crm/v3/objects/contacts/1"));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200u);
}

TEST_F(admin_test, an_admin_address_in_use_stops_the_start) {
  auto first = start();
  const std::string taken = "127.0.0.1:" + std::to_string(first.admin_port());
  auto flags = proxy_flags(api.url(), forms.url(), pki.ca_file);
  flags.insert(flags.begin(), {hubgate_binary(), "serve"});
  flags.insert(flags.end(), {"--admin-listen", taken});
  child_process second(flags);
  EXPECT_EQ(second.wait_exit(10s), std::optional<int>(1));
  EXPECT_NE(second.output().find("(admin)"), std::string::npos) << second.output();
}

} // namespace
} // namespace hubgate::test
