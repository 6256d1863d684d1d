// hubgate behind the official HubSpot Node client (@hubspot/api-client v14, and v11 for the paths
// older releases send; tests/node): the client is pointed at hubgate by `basePath`, hubgate at a
// fake HubSpot over TLS. The JavaScript side checks what the SDK hands its caller
// (tests/node/*_test.js); this side starts everything and checks what reached HubSpot.

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "integration/proxy_client.hpp"
#include "support/fake_hubspot.hpp"
#include "support/process.hpp"
#include "support/test_pki.hpp"

namespace hubgate::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
namespace fs = std::filesystem;

constexpr std::string_view contacts_path = "/crm/v3/objects/contacts";
constexpr const char* timestamp = "2024-05-02T10:00:00.000Z";

json contact(const std::string& id, json properties) {
  properties["hs_object_id"] = id;
  properties["createdate"] = timestamp;
  properties["lastmodifieddate"] = timestamp;
  return {{"id", id},
          {"properties", std::move(properties)},
          {"createdAt", timestamp},
          {"updatedAt", timestamp},
          {"archived", false}};
}

// HubSpot for the calls sdk_test.js makes (shapes from hubspot-api.md §4.2): a create answers 201
// with the new contact, a batch create 201 with one result per input in input order, a read 200.
class fake_contacts {
 public:
  fake_response operator()(const recorded_request& r) {
    const std::string path = r.target.substr(0, r.target.find('?'));
    if (r.method == "POST" && path == contacts_path) {
      return json_response(201, contact(next_id(), json::parse(r.body).at("properties")).dump());
    }
    if (r.method == "POST" && path == std::string(contacts_path) + "/batch/create") {
      const json request = json::parse(r.body);
      json results = json::array();
      for (const auto& input : request.at("inputs")) {
        results.push_back(contact(next_id(), input.at("properties")));
      }
      return json_response(201, json{{"status", "COMPLETE"},
                                     {"results", results},
                                     {"startedAt", timestamp},
                                     {"completedAt", timestamp}}
                                    .dump());
    }
    if (r.method == "GET" && path == std::string(contacts_path) + "/123") {
      return json_response(200, contact("123", {{"email", "reader@corp.io"}}).dump());
    }
    // The paths older SDK releases send (older_sdk_test.js).
    if (r.method == "POST" && path == "/crm/v3/timeline/events") {
      json event = json::parse(r.body);
      event["id"] = "evt-1";
      event["objectType"] = "contacts";
      event["createdAt"] = timestamp;
      return json_response(201, event.dump());
    }
    if (r.method == "POST" && path == "/conversations/v3/visitor-identification/tokens/create") {
      return json_response(200, R"({"token":"visitor-token-1"})");
    }
    return json_response(404, R"({"status":"error","message":"resource not found",)"
                              R"("correlationId":"00000000-0000-4000-8000-000000000000"})");
  }

 private:
  std::string next_id() { return std::to_string(ids_->fetch_add(1)); }
  // Shared, because fake_hubspot keeps a copy of the handler.
  std::shared_ptr<std::atomic<int>> ids_ = std::make_shared<std::atomic<int>>(1001);
};

// A private directory for the rules file, removed with the object.
class temp_dir {
 public:
  temp_dir() {
    std::string pattern = (fs::temp_directory_path() / "hubgate-node-sdk-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error("mkdtemp failed");
    }
    path_ = pattern;
  }
  ~temp_dir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// `node` as child_process will find it (execvp's PATH search), or empty.
std::string find_node() {
  const char* path = std::getenv("PATH");
  std::string_view dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  while (!dirs.empty()) {
    const auto colon = dirs.find(':');
    const fs::path candidate = fs::path(dirs.substr(0, colon)) / "node";
    if (::access(candidate.c_str(), X_OK) == 0) {
      return candidate.string();
    }
    dirs = colon == std::string_view::npos ? std::string_view{} : dirs.substr(colon + 1);
  }
  return {};
}

// A fake HubSpot answering like fake_contacts, a rules file, hubgate started on them, and a
// script of tests/node run against it.
class node_sdk : public ::testing::Test {
 protected:
  node_sdk() { api.set_handler(fake_contacts{}); }

  void start(std::string_view rules_yaml, const env_list& hubgate_env = {}) {
    const fs::path rules = dir.path() / "rules.yaml";
    std::ofstream out(rules);
    out << rules_yaml;
    out.close();
    ASSERT_TRUE(out) << "cannot write " << rules;
    auto flags = proxy_flags(api.url(), forms.url(), pki.ca_file);
    flags.insert(flags.end(), {"--rules", rules.string()});
    proxy = std::make_unique<running_proxy>(flags, hubgate_env);
  }

  // Runs tests/node/<script> with HUBGATE_URL and `env`; fails the test if any of its tests fails.
  void run_script(std::string_view script, env_list env) {
    const fs::path node_dir = fs::path(HUBGATE_SOURCE_DIR) / "tests" / "node";
    const std::string node = find_node();
    ASSERT_FALSE(node.empty()) << "`node` is not on PATH: install Node.js (scripts/setup.sh test does)";
    ASSERT_TRUE(fs::exists(node_dir / "node_modules" / "@hubspot" / "api-client" / "package.json"))
        << node_dir / "node_modules" << " has no @hubspot/api-client: run `npm ci --no-audit --no-fund` in "
        << node_dir << " (scripts/test.sh does)";
    env.emplace_back("HUBGATE_URL", "http://127.0.0.1:" + std::to_string(proxy->port()));
    env.emplace_back("NO_COLOR", "1");
    child_process sdk({node, (node_dir / script).string()}, env);
    const auto exit_code = sdk.wait_exit(60s);
    ASSERT_TRUE(exit_code) << script << " still running after 60 s; its output:\n"
                           << sdk.output() << "\nhubgate's log:\n"
                           << proxy->log();
    EXPECT_EQ(*exit_code, 0) << script << " failed; its output:\n"
                             << sdk.output() << "\nhubgate's log:\n"
                             << proxy->log();
  }

  const test_pki& pki = shared_test_pki();
  fake_hubspot api{pki.server};
  fake_hubspot forms{pki.server};
  temp_dir dir;
  std::unique_ptr<running_proxy> proxy;
};

// Creates of contacts at example.com blocked; `batches` (split or whole) goes before the rules.
std::string example_blocking_rules(std::string_view batches) {
  return "version: 1\ndefault: allow\nbatches: " + std::string(batches) + R"yaml(
rules:
  - name: no-example-contacts
    match:
      kind: [create]
      email_domain: [example.com]
    action: block
)yaml";
}

TEST_F(node_sdk, official_node_client_through_hubgate_sees_allowed_blocked_and_split_batch_calls) {
  start(example_blocking_rules("split"));
  const std::string token = "pat-na1-00000000-0000-4000-8000-00000000node";
  run_script("sdk_test.js", {{"HUBSPOT_TOKEN", token}});

  // What reached HubSpot.
  std::vector<std::string> created;
  std::vector<json> batches;
  for (const auto& r : api.requests()) {
    EXPECT_EQ(r.header("Authorization").value_or(""), "Bearer " + token) << r.method << ' ' << r.target;
    EXPECT_EQ(r.body.find("example.com"), std::string::npos)
        << "a blocked address reached HubSpot: " << r.method << ' ' << r.target << ' ' << r.body;
    if (r.method == "POST" && r.target == contacts_path) {
      created.push_back(json::parse(r.body).at("properties").at("email").get<std::string>());
    }
    if (r.method == "POST" && r.target == std::string(contacts_path) + "/batch/create") {
      batches.push_back(json::parse(r.body));
    }
  }
  EXPECT_EQ(created, std::vector<std::string>{"ok@corp.io"}) << "single creates that reached HubSpot";
  ASSERT_EQ(batches.size(), 1u) << "batch creates that reached HubSpot";
  std::vector<std::string> emails;
  for (const auto& input : batches[0].at("inputs")) {
    emails.push_back(input.at("properties").at("email").get<std::string>());
  }
  EXPECT_EQ(emails, (std::vector<std::string>{"ok1@corp.io", "ok2@corp.io"}))
      << "the batch HubSpot got: " << batches[0].dump();
  EXPECT_TRUE(forms.requests().empty());
}

TEST_F(node_sdk, official_node_client_under_batches_whole_gets_a_403_for_a_batch_with_a_blocked_input) {
  start(example_blocking_rules("whole"));
  run_script("batch_whole_test.js", {{"HUBSPOT_TOKEN", "pat-na1-00000000-0000-4000-8000-0000000whole"}});

  // Only the batch with nothing blocked reached HubSpot, whole.
  std::vector<json> batches;
  for (const auto& r : api.requests()) {
    if (r.method == "POST" && r.target == std::string(contacts_path) + "/batch/create") {
      batches.push_back(json::parse(r.body));
    }
  }
  ASSERT_EQ(batches.size(), 1u) << "batch creates that reached HubSpot";
  ASSERT_EQ(batches[0].at("inputs").size(), 1u) << batches[0].dump();
  EXPECT_EQ(batches[0].at("inputs")[0].at("properties").at("email"), "ok3@corp.io");
}

TEST_F(node_sdk, an_older_node_client_s_timeline_and_visitor_paths_are_gated) {
  start(R"yaml(version: 1
default: allow
rules:
  - name: no-example-addresses
    match: { email_domain: [example.com] }
    action: block
)yaml");
  run_script("older_sdk_test.js", {{"HUBSPOT_TOKEN", "pat-na1-00000000-0000-4000-8000-000000000v11"}});

  std::vector<std::string> reached;
  for (const auto& r : api.requests()) {
    EXPECT_EQ(r.body.find("example.com"), std::string::npos)
        << "a blocked address reached HubSpot: " << r.method << ' ' << r.target << ' ' << r.body;
    reached.push_back(r.method + " " + r.target);
  }
  EXPECT_EQ(reached, (std::vector<std::string>{"POST /crm/v3/timeline/events",
                                               "POST /conversations/v3/visitor-identification/tokens/create"}));
}

TEST_F(node_sdk, official_node_client_with_a_client_key_never_holds_the_hubspot_token) {
  const std::string upstream_token = "pat-na1-00000000-0000-4000-8000-upstreamnode";
  const std::string client_key = "node-client-key-5f0e9d8c7b6a";
  start(R"yaml(version: 1
auth: clients
upstream_token: { env: NODE_TEST_HUBSPOT_TOKEN }
clients:
  - name: node-app
    keys: [ { env: NODE_TEST_CLIENT_KEY } ]
    max_new_contacts: { per: day, count: 2 }
)yaml",
        {{"NODE_TEST_HUBSPOT_TOKEN", upstream_token}, {"NODE_TEST_CLIENT_KEY", client_key}});
  run_script("client_keys_test.js", {{"CLIENT_KEY", client_key}});

  std::vector<std::string> created;
  for (const auto& r : api.requests()) {
    EXPECT_EQ(r.header_values("Authorization"), std::vector<std::string>{"Bearer " + upstream_token})
        << r.method << ' ' << r.target;
    if (r.method == "POST" && r.target == contacts_path) {
      created.push_back(json::parse(r.body).at("properties").at("email").get<std::string>());
    }
  }
  EXPECT_EQ(created, (std::vector<std::string>{"one@corp.io", "two@corp.io"}))
      << "the create over budget, and any retry of it, never reached HubSpot";
  EXPECT_EQ(proxy->log().find(upstream_token), std::string::npos);
  EXPECT_EQ(proxy->log().find(client_key), std::string::npos);
}

} // namespace
} // namespace hubgate::test
