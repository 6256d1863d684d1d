// auth: clients on the real binary: integrations present their own client keys, hubgate names the
// client, refuses unknown keys with HubSpot's 401, forwards with the HubSpot token only it holds,
// applies `client:` rules, and bounds each client's new contacts by what HubSpot reported created.
// The HubSpot token and the client keys must appear in no log line and no audit line.

#include <gtest/gtest.h>

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <tuple>

#include <nlohmann/json.hpp>

#include "integration/ops_support.hpp"

namespace hubgate::test {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

// Secrets as long and random-looking as real ones, each easy to search for in logs.
constexpr const char* upstream_token = "pat-na1-UPSTREAM-0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
constexpr const char* zapier_key = "zapier-key-ONE-6b1f0c9a2e7d4c38";
constexpr const char* zapier_next_key = "zapier-key-TWO-93d2b7e0a1c4f658";
constexpr const char* sync_key = "sync-key-THREE-0a9b8c7d6e5f4a3b";

class client_auth_test : public ops_fixture {
 protected:
  client_auth_test() {
    write_secret(zapier_next_file, zapier_next_key);
    write_rules(rules_text());
  }

  std::string rules_text(std::string_view sync_budget = "{ per: day, count: 3 }") const {
    return std::string(R"(version: 1
default: allow
auth: clients
upstream_token: { env: HUBGATE_TEST_HUBSPOT_TOKEN }
clients:
  - name: zapier
    keys: [ { env: HUBGATE_TEST_ZAPIER_KEY }, { file: )") +
           zapier_next_file + R"( } ]
  - name: sync
    keys: [ { env: HUBGATE_TEST_SYNC_KEY } ]
    max_new_contacts: )" + std::string(sync_budget) + R"(
rules:
  - name: zapier-updates-only
    match: { client: zapier, kind: [create] }
    action: block
    message: zapier may only update contacts
)";
  }

  static void write_secret(const std::string& path, std::string_view secret) {
    std::ofstream(path, std::ios::trunc) << secret << "\n"; // a trailing newline, as `echo` writes
  }

  running_proxy start_clients() {
    auto proxy = start({"--audit", audit_file, "--log-format", "json"},
                       {{"HUBGATE_TEST_HUBSPOT_TOKEN", upstream_token},
                        {"HUBGATE_TEST_ZAPIER_KEY", zapier_key},
                        {"HUBGATE_TEST_SYNC_KEY", sync_key}});
    port = proxy.port();
    return proxy;
  }

  std::optional<http_answer> call(std::string_view key, std::string_view method, std::string_view target,
                                  std::string_view body = {}) {
    std::vector<std::pair<std::string, std::string>> headers;
    if (!key.empty()) {
      headers.emplace_back("Authorization", "Bearer " + std::string(key));
    }
    if (!body.empty()) {
      headers.emplace_back("Content-Type", "application/json");
    }
    return test::exchange(port, make_request(method, target, headers, body));
  }

  std::optional<http_answer> create(std::string_view key, std::string_view email) {
    return call(key, "POST", "/crm/v3/objects/contacts",
                R"({"properties":{"email":")" + std::string(email) + R"("}})");
  }

  // Every upstream request carried the upstream token and nothing of a client key.
  void expect_only_upstream_token_upstream() const {
    for (const auto& r : api.requests()) {
      EXPECT_EQ(r.header_values("Authorization"), std::vector<std::string>{std::string("Bearer ") + upstream_token})
          << r.target;
      for (const auto& [name, value] : r.headers) {
        for (const char* key : {zapier_key, zapier_next_key, sync_key}) {
          EXPECT_EQ(value.find(key), std::string::npos) << name;
        }
      }
    }
  }

  // No secret in the proxy's output (its logs) or the audit trail.
  void expect_no_secret_written(running_proxy& proxy) {
    std::vector<std::string> texts{proxy.log()};
    for (const auto& line : read_lines(audit_file)) {
      texts.push_back(line);
    }
    for (const auto& text : texts) {
      for (const char* secret : {upstream_token, zapier_key, zapier_next_key, sync_key}) {
        EXPECT_EQ(text.find(secret), std::string::npos) << "a secret was written: " << text.substr(0, 200);
      }
    }
  }

  std::string zapier_next_file = dir + "/zapier_key_next";
  std::string audit_file = dir + "/audit.jsonl";
  std::uint16_t port = 0;
};

TEST_F(client_auth_test, unknown_missing_and_query_credentials_get_hubspots_401_and_nothing_is_forwarded) {
  auto proxy = start_clients();

  // The HubSpot token itself is not a client key: integrations must not hold it.
  for (const std::string_view key : {std::string_view("not-a-client-key-at-all-0000"), std::string_view(upstream_token),
                                     std::string_view()}) {
    auto answer = call(key, "GET", "/crm/v3/objects/contacts/1");
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->status, 401u) << key;
    const auto body = json::parse(answer->body);
    EXPECT_EQ(body["category"], "INVALID_AUTHENTICATION");
    EXPECT_EQ(body["status"], "error");
    EXPECT_EQ(body["correlationId"].get<std::string>().size(), 36u);
  }
  // A create with an unknown key: refused before its body matters.
  auto create_answer = create("not-a-client-key-at-all-0000", "ann@corp.io");
  ASSERT_TRUE(create_answer);
  EXPECT_EQ(create_answer->status, 401u);
  // Basic credentials are not a client key either.
  auto basic = test::exchange(port, make_request("GET", "/crm/v3/objects/contacts/1",
                                           {{"Authorization", std::string("Basic ") + zapier_key}}));
  ASSERT_TRUE(basic);
  EXPECT_EQ(basic->status, 401u);
  // A known key plus a HubSpot credential in the query (any spelling): refused, as hubgate holds it.
  for (const char* target : {"/crm/v3/objects/contacts?hapikey=abc", "/crm/v3/objects/contacts?limit=1&H%41PIKEY=abc",
                             "/crm/v3/objects/contacts?access_token=abc", "/crm/v3/objects/contacts?hapikey%C2%A0=abc",
                             "/crm/v3/objects/deals;hapikey=abc"}) {
    auto answer = call(zapier_key, "GET", target);
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->status, 401u) << target;
  }
  // Two Authorization headers, even two known keys: which one a reader takes is its guess.
  auto twice = test::exchange(port, make_request("GET", "/crm/v3/objects/contacts/1",
                                                 {{"Authorization", std::string("Bearer ") + sync_key},
                                                  {"Authorization", std::string("Bearer ") + zapier_key}}));
  ASSERT_TRUE(twice);
  EXPECT_EQ(twice->status, 401u);
  EXPECT_NE(twice->body.find("More than one Authorization header"), std::string::npos) << twice->body;

  EXPECT_EQ(api.requests().size(), 0u) << "nothing reaches HubSpot without a client key";
  const auto admin = proxy.admin_port();
  EXPECT_EQ(scrape(admin, R"(hubgate_auth_refused_total{reason="unknown_key"})"), 3);
  EXPECT_EQ(scrape(admin, R"(hubgate_auth_refused_total{reason="no_credential"})"), 2) << "none, and Basic";
  EXPECT_EQ(scrape(admin, R"(hubgate_auth_refused_total{reason="query_credential"})"), 5);
  EXPECT_EQ(scrape(admin, R"(hubgate_auth_refused_total{reason="several_credentials"})"), 1);
  // Counted as refused for who sent them, not as malformed.
  EXPECT_EQ(scrape(admin, R"(hubgate_requests_total{operation="other",decision="unauthorized",code="401"})"), 10);
  EXPECT_EQ(scrape(admin, R"(hubgate_requests_total{operation="contacts.create",decision="unauthorized",code="401"})"), 1);
  EXPECT_EQ(scrape(admin, R"(hubgate_requests_total{operation="other",decision="invalid",code="401"})"), 0);
  expect_no_secret_written(proxy);
}

TEST_F(client_auth_test, a_known_key_is_forwarded_with_the_upstream_token_in_its_place) {
  auto proxy = start_clients();

  auto read = call(zapier_key, "GET", "/crm/v3/objects/contacts/1?properties=email");
  ASSERT_TRUE(read);
  EXPECT_EQ(read->status, 200u);
  auto created = create(sync_key, "ann@corp.io");
  ASSERT_TRUE(created);
  EXPECT_EQ(created->status, 201u);
  // Case of the scheme and extra spaces do not matter.
  auto spaced = test::exchange(port, make_request("GET", "/crm/v3/objects/contacts/2",
                                            {{"Authorization", std::string("bearer   ") + sync_key}}));
  ASSERT_TRUE(spaced);
  EXPECT_EQ(spaced->status, 200u);

  ASSERT_EQ(api.requests().size(), 3u);
  EXPECT_EQ(api.requests()[0].target, "/crm/v3/objects/contacts/1?properties=email");
  expect_only_upstream_token_upstream();

  // The access log and the audit name the client. A request's log line is written after its answer
  // has gone out, possibly by another I/O thread, so wait for the three lines rather than race them.
  const auto occurrences = [&](std::string_view needle) {
    const std::string log = proxy.log();
    std::size_t count = 0;
    for (auto at = log.find(needle); at != std::string::npos; at = log.find(needle, at + 1)) ++count;
    return count;
  };
  EXPECT_TRUE(eventually([&] { return occurrences(R"("client":"zapier")") == 1 && occurrences(R"("client":"sync")") == 2; }))
      << proxy.log();
  ASSERT_TRUE(eventually([&] { return !read_lines(audit_file).empty(); }));
  const auto audit_line = json::parse(read_lines(audit_file).front());
  EXPECT_EQ(audit_line["client"]["name"], "sync");
  EXPECT_FALSE(audit_line["client"].contains("token")) << "no fingerprint of the upstream token";
  EXPECT_EQ(scrape(proxy.admin_port(), R"(hubgate_client_requests_total{client="zapier"})"), 1);
  EXPECT_EQ(scrape(proxy.admin_port(), R"(hubgate_client_requests_total{client="sync"})"), 2);
  expect_no_secret_written(proxy);
}

TEST_F(client_auth_test, both_keys_of_a_client_work_and_a_rotated_key_file_takes_effect_on_reload) {
  auto proxy = start_clients();

  for (const char* key : {zapier_key, zapier_next_key}) {
    auto answer = call(key, "GET", "/crm/v3/objects/contacts/1");
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->status, 200u) << key;
  }

  // Rotation: the file key is replaced, and hubgate told (SIGHUP re-reads the secrets).
  constexpr const char* rotated = "zapier-key-FOUR-5e4d3c2b1a098f7e";
  write_secret(zapier_next_file, rotated);
  proxy.process().send_signal(SIGHUP);
  ASSERT_TRUE(eventually([&] {
    auto answer = call(rotated, "GET", "/crm/v3/objects/contacts/1");
    return answer && answer->status == 200;
  }));
  auto old_key = call(zapier_next_key, "GET", "/crm/v3/objects/contacts/1");
  ASSERT_TRUE(old_key);
  EXPECT_EQ(old_key->status, 401u) << "the retired key no longer works";
  auto env_key = call(zapier_key, "GET", "/crm/v3/objects/contacts/1");
  ASSERT_TRUE(env_key);
  EXPECT_EQ(env_key->status, 200u);
  expect_only_upstream_token_upstream();

  // A reload whose secret cannot be read is refused, and the keys in force stay.
  std::filesystem::remove(zapier_next_file);
  proxy.process().send_signal(SIGHUP);
  // The failure is logged first, then each error on a line of its own.
  ASSERT_TRUE(eventually([&] { return proxy.log().find("rules file error") != std::string::npos; }));
  EXPECT_TRUE(proxy.process().wait_for_output("zapier_key_next", 10s)) << "the error names the secret's file";
  EXPECT_NE(proxy.log().find("rules reload failed"), std::string::npos);
  auto still = call(rotated, "GET", "/crm/v3/objects/contacts/1");
  ASSERT_TRUE(still);
  EXPECT_EQ(still->status, 200u);
  expect_no_secret_written(proxy);
}

TEST_F(client_auth_test, client_rules_apply_to_their_client_only) {
  auto proxy = start_clients();

  auto blocked = create(zapier_key, "ann@corp.io");
  ASSERT_TRUE(blocked);
  EXPECT_EQ(blocked->status, 403u);
  EXPECT_NE(blocked->body.find("zapier may only update contacts"), std::string::npos) << blocked->body;
  auto update = call(zapier_key, "PATCH", "/crm/v3/objects/contacts/51", R"({"properties":{"firstname":"Ann"}})");
  ASSERT_TRUE(update);
  EXPECT_EQ(update->status, 200u);
  auto other = create(sync_key, "bob@corp.io");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 201u);

  ASSERT_EQ(api.requests().size(), 2u);
  EXPECT_EQ(api.requests()[0].method, "PATCH");
  EXPECT_NE(api.requests()[1].body.find("bob@corp.io"), std::string::npos);
  ASSERT_TRUE(eventually([&] { return read_lines(audit_file).size() >= 2; }));
  // Lines are written by whichever I/O thread served the call, so find zapier's by its name.
  std::optional<json> zapier_line;
  for (const auto& line : read_lines(audit_file)) {
    if (auto entry = json::parse(line); entry["client"]["name"] == "zapier") {
      zapier_line = std::move(entry);
    }
  }
  ASSERT_TRUE(zapier_line);
  EXPECT_EQ((*zapier_line)["decision"], "block");
  EXPECT_EQ((*zapier_line)["records"][0]["rule"], "zapier-updates-only");
}

// /rules says where every secret comes from, and holds none of them.
TEST_F(client_auth_test, rules_endpoint_names_where_secrets_come_from_and_holds_none) {
  auto proxy = start_clients();
  const auto rules = admin_get(proxy.admin_port(), "/rules");
  ASSERT_TRUE(rules);
  EXPECT_EQ(rules->status, 200u);
  const auto described = json::parse(rules->body);
  EXPECT_EQ(described["upstream_token"], "environment variable HUBGATE_TEST_HUBSPOT_TOKEN");
  EXPECT_EQ(described["clients"][0]["name"], "zapier");
  EXPECT_EQ(described["clients"][0]["keys"][0], "environment variable HUBGATE_TEST_ZAPIER_KEY");
  EXPECT_EQ(described["clients"][0]["keys"][1], "file " + zapier_next_file);
  for (const char* secret : {upstream_token, zapier_key, zapier_next_key, sync_key}) {
    EXPECT_EQ(rules->body.find(secret), std::string::npos) << secret;
  }
}

// A client without a budget is counted all the same: /clients and the metrics show what HubSpot
// created for it.
TEST_F(client_auth_test, new_contacts_are_counted_for_a_client_without_a_budget) {
  api.set_handler([](const recorded_request& r) {
    if (r.target.find("/batch/upsert") != std::string::npos) {
      return json_response(200, R"({"status":"COMPLETE","results":[{"id":"1","new":true},{"id":"2","new":false},)"
                                R"({"id":"3","new":true}]})");
    }
    return hubspot_like(r);
  });
  auto proxy = start_clients();
  auto upsert = call(zapier_key, "POST", "/crm/v3/objects/contacts/batch/upsert",
                     R"({"inputs":[{"idProperty":"email","id":"a@corp.io","properties":{}},)"
                     R"({"idProperty":"email","id":"b@corp.io","properties":{}},)"
                     R"({"idProperty":"email","id":"c@corp.io","properties":{}}]})");
  ASSERT_TRUE(upsert);
  EXPECT_EQ(upsert->status, 200u);
  const auto clients = admin_get(proxy.admin_port(), "/clients");
  ASSERT_TRUE(clients);
  const auto zapier = json::parse(clients->body)["clients"][0];
  EXPECT_EQ(zapier["name"], "zapier");
  EXPECT_EQ(zapier["new_contacts"], 2);
  EXPECT_FALSE(zapier.contains("max_new_contacts"));
  EXPECT_EQ(scrape(proxy.admin_port(), R"(hubgate_client_new_contacts_total{client="zapier"})"), 2);
}

TEST_F(client_auth_test, a_budget_counts_what_hubspot_created_and_trips) {
  // Upserts HubSpot reports as updates (`new: false`) do not spend the budget; creates do.
  api.set_handler([](const recorded_request& r) {
    if (r.target.find("/batch/upsert") != std::string::npos) {
      const auto body = json::parse(r.body);
      json results = json::array();
      int id = 700;
      for (const auto& input : body["inputs"]) {
        results.push_back({{"id", std::to_string(id++)}, {"new", false}, {"properties", input["properties"]}});
      }
      return json_response(200, json{{"status", "COMPLETE"}, {"results", results}}.dump());
    }
    return hubspot_like(r);
  });
  auto proxy = start_clients();
  const auto upsert = [&](std::initializer_list<const char*> emails) {
    json inputs = json::array();
    for (const char* email : emails) {
      inputs.push_back({{"idProperty", "email"}, {"id", email}, {"properties", {{"firstname", "X"}}}});
    }
    return call(sync_key, "POST", "/crm/v3/objects/contacts/batch/upsert", json{{"inputs", inputs}}.dump());
  };

  // Budget 3 per day. Three updates by upsert leave it whole.
  auto updated = upsert({"a@corp.io", "b@corp.io", "c@corp.io"});
  ASSERT_TRUE(updated);
  EXPECT_EQ(updated->status, 200u);
  auto first = create(sync_key, "one@corp.io");
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 201u);
  // A batch of three would exceed the two left: refused whole, nothing forwarded.
  auto batch = call(sync_key, "POST", "/crm/v3/objects/contacts/batch/create",
                    R"({"inputs":[{"properties":{"email":"x@corp.io"}},{"properties":{"email":"y@corp.io"}},)"
                    R"({"properties":{"email":"z@corp.io"}}]})");
  ASSERT_TRUE(batch);
  EXPECT_EQ(batch->status, 429u);
  EXPECT_NE(batch->body.find("2 remain"), std::string::npos) << batch->body;
  for (const char* email : {"two@corp.io", "three@corp.io"}) {
    auto answer = create(sync_key, email);
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->status, 201u) << email;
  }
  // Spent: the next create is refused with HubSpot's 429 shape and when the day rolls.
  auto refused = create(sync_key, "four@corp.io");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 429u);
  const auto body = json::parse(refused->body);
  EXPECT_EQ(body["category"], "RATE_LIMITS");
  EXPECT_EQ(refused->header("x-should-retry"), "false");
  const auto retry_after = std::stol(refused->header("Retry-After").value_or("0"));
  EXPECT_GT(retry_after, 0);
  EXPECT_LE(retry_after, 86400);
  // Reads and updates still pass: the budget bounds new contacts only.
  auto read = call(sync_key, "GET", "/crm/v3/objects/contacts/51");
  ASSERT_TRUE(read);
  EXPECT_EQ(read->status, 200u);

  std::size_t creates_upstream = 0;
  for (const auto& r : api.requests()) {
    creates_upstream += r.target == "/crm/v3/objects/contacts" ? 1 : 0;
    EXPECT_EQ(r.target.find("batch/create"), std::string::npos) << "the refused batch never reached HubSpot";
  }
  EXPECT_EQ(creates_upstream, 3u);

  const auto clients = admin_get(proxy.admin_port(), "/clients");
  ASSERT_TRUE(clients);
  const auto sync = json::parse(clients->body)["clients"][1];
  EXPECT_EQ(sync["name"], "sync");
  EXPECT_EQ(sync["new_contacts"], 3);
  EXPECT_EQ(sync["budget_refused"], 2);
  EXPECT_EQ(sync["max_new_contacts"]["created"], 3);
  EXPECT_EQ(sync["max_new_contacts"]["remaining"], 0);
  EXPECT_EQ(scrape(proxy.admin_port(), R"(hubgate_client_budget_remaining{client="sync"})"), 0);
  EXPECT_EQ(scrape(proxy.admin_port(), R"(hubgate_client_new_contacts_total{client="sync"})"), 3);
  EXPECT_EQ(scrape(proxy.admin_port(), R"(hubgate_requests_total{operation="contacts.create",decision="over_budget",code="429"})"),
            1);

  // A reload that raises the budget applies to the window in progress: what was created still counts.
  write_rules(rules_text("{ per: day, count: 4 }"));
  ASSERT_TRUE(eventually([&] {
    auto c = admin_get(proxy.admin_port(), "/clients");
    return c && json::parse(c->body)["clients"][1]["max_new_contacts"]["count"] == 4;
  }));
  auto fourth = create(sync_key, "four@corp.io");
  ASSERT_TRUE(fourth);
  EXPECT_EQ(fourth->status, 201u);
  auto fifth = create(sync_key, "five@corp.io");
  ASSERT_TRUE(fifth);
  EXPECT_EQ(fifth->status, 429u);
  expect_no_secret_written(proxy);
}

// A form client reads the forms API's errors (`errors[].errorType`): its refusals for who sent
// it (401) or for a spent budget (429) come in that shape, as its blocks do.
TEST_F(client_auth_test, a_form_submissions_refusals_have_the_forms_apis_shape) {
  write_rules(rules_text("{ per: day, count: 0 }"));
  auto proxy = start_clients();
  const std::string submit = "/submissions/v3/integration/submit/123/0a1b2c3d-0000-4000-8000-000000000000";
  const std::string body = R"({"fields":[{"objectTypeId":"0-1","name":"email","value":"a@corp.io"}]})";
  for (const auto& [key, status, type] : {std::tuple{std::string_view("unknown-key-0123456789abcdef"), 401u,
                                                     "INVALID_AUTHENTICATION"},
                                          std::tuple{std::string_view(sync_key), 429u, "RATE_LIMITS"}}) {
    auto answer = call(key, "POST", submit, body);
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->status, status);
    const auto error = json::parse(answer->body);
    ASSERT_TRUE(error.contains("errors")) << answer->body;
    EXPECT_EQ(error["errors"][0]["errorType"], type) << answer->body;
  }
  EXPECT_TRUE(forms.requests().empty());
}

TEST_F(client_auth_test, a_secret_that_cannot_be_read_stops_the_start_with_its_place_in_the_file) {
  std::vector<std::string> flags = proxy_flags(api.url(), forms.url(), pki.ca_file);
  flags.insert(flags.begin(), {hubgate_binary(), "serve"});
  flags.insert(flags.end(), {"--rules", rules_file, "--admin-listen", "off"});
  // HUBGATE_TEST_SYNC_KEY is not set.
  child_process hubgate(flags, {{"HUBGATE_TEST_HUBSPOT_TOKEN", upstream_token}, {"HUBGATE_TEST_ZAPIER_KEY", zapier_key}});
  const auto code = hubgate.wait_exit(std::chrono::seconds(30));
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 1);
  const std::string out = hubgate.output();
  EXPECT_NE(out.find(rules_file + ":9:13: cannot read the key of client 'sync' from environment variable "
                                  "HUBGATE_TEST_SYNC_KEY: it is not set"),
            std::string::npos)
      << out;
  EXPECT_EQ(out.find(upstream_token), std::string::npos);
  EXPECT_EQ(out.find(zapier_key), std::string::npos);
}

} // namespace
} // namespace hubgate::test
