#pragma once
// What the tests of the running proxy's operations use: reading the admin endpoints, waiting for a
// condition with a deadline (polling /metrics or a file, never a fixed sleep), a load generator,
// and a fake HubSpot that answers creates like HubSpot does.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "integration/proxy_client.hpp"
#include "support/fake_hubspot.hpp"
#include "support/test_pki.hpp"

namespace hubgate::test {

// Rules with each kind of verdict: a block (test domains), a shadow block (free mail), and a
// rewrite of every create (by tag-api-contacts).
inline constexpr const char* example_rules = R"(version: 1
default: allow
rules:
  - name: no-test-domains
    match: { kind: [create, upsert], email_domain: [example.com, test.com] }
    action: block
  - name: free-mail
    mode: shadow
    match: { email_domain: [gmail.com] }
    action: block
  - name: tag-api-contacts
    match: { operations: [contacts.create, contacts.batch_create] }
    action: rewrite
    set: { lifecyclestage: lead }
)";

// Answers like HubSpot: a single create gets id 51, batch create results get ids 100, 101, ... in
// input order, each echoing the input's properties; anything else `{}`.
fake_response hubspot_like(const recorded_request& r);

// GET (or another method) on the admin port, on a fresh connection.
std::optional<http_answer> admin_get(std::uint16_t admin_port, std::string_view path, std::string_view method = "GET");

// The value of `series` (name and labels exactly as the page writes them, e.g.
// `hubgate_requests_total{operation="other",decision="pass",code="200"}`) in a Prometheus page.
std::optional<double> metric_value(const std::string& page, std::string_view series);
// One scrape of /metrics, reading `series`; 0 when it is absent.
double scrape(std::uint16_t admin_port, std::string_view series);

// Polls `condition` until it holds or `timeout` passes; returns whether it held.
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout = std::chrono::seconds(15));

// The lines of a file (a JSON-lines audit trail, say); empty when it does not exist.
std::vector<std::string> read_lines(const std::string& path);

// Clients sending requests continuously through the proxy, each on one keep-alive connection,
// until stopped. An answer `acceptable` rejects, or a connection the proxy closes, is a failure.
class load_generator {
 public:
  load_generator(std::uint16_t port, std::vector<std::string> requests, unsigned clients,
                 std::function<bool(const http_answer&)> acceptable);
  ~load_generator();
  load_generator(const load_generator&) = delete;
  load_generator& operator=(const load_generator&) = delete;

  void stop();
  std::uint64_t answered() const { return answered_.load(); }
  std::uint64_t connections() const { return connections_.load(); }
  std::vector<std::string> failures() const;

 private:
  void run(std::uint16_t port, unsigned client);

  std::vector<std::string> requests_;
  std::function<bool(const http_answer&)> acceptable_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> answered_{0};
  std::atomic<std::uint64_t> connections_{0};
  mutable std::mutex mutex_;
  std::vector<std::string> failures_;
  std::vector<std::thread> threads_;
};

// A rules file in a directory of its own, fake HubSpot upstreams answering like HubSpot, and a
// proxy started on them.
class ops_fixture : public ::testing::Test {
 protected:
  ops_fixture();
  ~ops_fixture() override;

  // Writes the rules file in place (truncate and write, as `>` in a shell does).
  void write_rules(std::string_view yaml) const;
  // Replaces the rules file by renaming a new one over it, as editors do.
  void replace_rules(std::string_view yaml) const;
  // The usual flags, this fixture's rules file, and `extra`.
  running_proxy start(std::vector<std::string> extra = {}, const env_list& env = {});
  // A JSON POST.
  static std::string post(std::string_view target, std::string_view body,
                          std::vector<std::pair<std::string, std::string>> headers = {});

  const test_pki& pki = shared_test_pki();
  fake_hubspot api{pki.server};
  fake_hubspot forms{pki.server};
  std::string dir;
  std::string rules_file;
};

} // namespace hubgate::test
