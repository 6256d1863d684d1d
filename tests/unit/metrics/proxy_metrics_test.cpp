#include "hubgate/metrics/proxy_metrics.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "hubgate/hubspot/catalog.hpp"
#include "sample_rules.hpp"

namespace hubgate::metrics {
namespace {

using namespace std::chrono_literals;
using testing::load_rules;

std::string render(const proxy_metrics& m) {
  exposition out;
  m.render(out);
  return out.take();
}

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

rules::evaluation evaluate(const rules::rule_set& set, std::vector<std::string> emails) {
  std::vector<hubspot::contact_record> records;
  for (std::size_t i = 0; i < emails.size(); ++i) {
    hubspot::contact_record r;
    r.index = i;
    r.email = emails[i];
    records.push_back(std::move(r));
  }
  const rules::request_facts facts{"POST", "/crm/v3/objects/contacts/batch/create",
                                   rules::operation_ref{"contacts.batch_create", hubspot::operation_kind::create},
                                   records, nullptr, {}, {}};
  return set.evaluate(facts);
}

TEST(proxy_metrics, requests_are_counted_by_operation_decision_and_status) {
  proxy_metrics m;
  const hubspot::operation* create = hubspot::find_operation("contacts.create");
  m.count_request(create, request_decision::block, 403);
  m.count_request(create, request_decision::block, 403);
  m.count_request(nullptr, request_decision::pass, 200);
  m.count_request(nullptr, request_decision::pass, 418);  // not tracked: its class
  m.count_request(nullptr, request_decision::invalid, 0); // no status at all
  const auto text = render(m);
  EXPECT_TRUE(has_line(text, R"(hubgate_requests_total{operation="contacts.create",decision="block",code="403"} 2)"))
      << text;
  EXPECT_TRUE(has_line(text, R"(hubgate_requests_total{operation="other",decision="pass",code="200"} 1)")) << text;
  EXPECT_TRUE(has_line(text, R"(hubgate_requests_total{operation="other",decision="pass",code="4xx"} 1)")) << text;
  EXPECT_TRUE(has_line(text, R"(hubgate_requests_total{operation="other",decision="invalid",code="other"} 1)")) << text;
  EXPECT_EQ(text.find("decision=\"allow\""), std::string::npos) << "zero series are left out";
}

// Each thread counts into a shard whose counters its first request makes, and more threads than
// shards share them: a scrape adds up every shard that has counters, and no count is lost.
TEST(proxy_metrics, requests_counted_by_more_threads_than_shards_all_add_up) {
  proxy_metrics m;
  const hubspot::operation* create = hubspot::find_operation("contacts.create");
  constexpr int threads = 9;
  constexpr int per_thread = 1000;
  std::atomic<int> ready{0};
  std::vector<std::thread> counting;
  for (int t = 0; t < threads; ++t) {
    counting.emplace_back([&] {
      ready.fetch_add(1);
      while (ready.load() < threads) {
        std::this_thread::yield(); // all start at once
      }
      for (int i = 0; i < per_thread; ++i) {
        m.count_request(create, request_decision::allow, 201);
      }
    });
  }
  for (auto& t : counting) {
    t.join();
  }
  EXPECT_TRUE(has_line(render(m), R"(hubgate_requests_total{operation="contacts.create",decision="allow",code="201"} )" +
                                      std::to_string(threads * per_thread)))
      << render(m);
}

TEST(proxy_metrics, records_are_counted_by_the_rule_that_decided_and_by_shadow_rules) {
  proxy_metrics m;
  const auto set = load_rules();
  ASSERT_NE(set, nullptr);
  const auto slots = m.register_rules(*set);
  m.count_records(slots, evaluate(*set, {"a@test.com", "b@gmail.com", "c@corp.io", "d@test.com"}), true);
  const auto text = render(m);
  EXPECT_TRUE(has_line(text, R"(hubgate_blocked_records_total{rule="no-test"} 2)")) << text;
  // Two properties set by one rule: each record counted once for it.
  EXPECT_TRUE(has_line(text, R"(hubgate_rewritten_records_total{rule="tag"} 2)")) << text;
  EXPECT_TRUE(has_line(text, R"(hubgate_shadow_blocked_records_total{rule="free-mail"} 1)")) << text;
  EXPECT_TRUE(has_line(text, R"(hubgate_shadow_blocked_records_total{rule="no-test"} 0)")) << text;
  EXPECT_TRUE(has_line(text, R"(hubgate_blocked_records_total{rule="default"} 0)")) << text;
}

// A request refused after the rules (a rewrite that cannot be made, a batch blocked whole) or never
// answered by HubSpot made no edit and let nothing through: only its blocked records count.
TEST(proxy_metrics, edits_and_shadow_outcomes_count_only_for_requests_that_went_through) {
  proxy_metrics m;
  const auto set = load_rules();
  ASSERT_NE(set, nullptr);
  const auto slots = m.register_rules(*set);
  m.count_records(slots, evaluate(*set, {"a@test.com", "b@gmail.com", "c@corp.io"}), false);
  const auto text = render(m);
  EXPECT_TRUE(has_line(text, R"(hubgate_blocked_records_total{rule="no-test"} 1)")) << text;
  EXPECT_TRUE(has_line(text, R"(hubgate_rewritten_records_total{rule="tag"} 0)")) << text;
  EXPECT_TRUE(has_line(text, R"(hubgate_shadow_blocked_records_total{rule="free-mail"} 0)")) << text;
}

TEST(proxy_metrics, the_default_and_a_file_in_shadow_mode_are_counted) {
  proxy_metrics m;
  const auto enforcing = load_rules("version: 1\ndefault: block\n");
  const auto shadow = load_rules("version: 1\nmode: shadow\ndefault: block\n");
  ASSERT_TRUE(enforcing && shadow);
  m.count_records(m.register_rules(*enforcing), evaluate(*enforcing, {"a@corp.io"}), true);
  m.count_records(m.register_rules(*shadow), evaluate(*shadow, {"a@corp.io", "b@corp.io"}), true);
  const auto text = render(m);
  EXPECT_TRUE(has_line(text, R"(hubgate_blocked_records_total{rule="default"} 1)")) << text;
  EXPECT_TRUE(has_line(text, R"(hubgate_shadow_blocked_records_total{rule="default"} 2)")) << text;
}

TEST(proxy_metrics, rule_counters_survive_a_reload_that_keeps_the_name) {
  proxy_metrics m;
  const auto first = load_rules();
  const auto second = load_rules(
      "version: 1\nrules:\n  - name: no-test\n    match: { email_domain: [test.com] }\n"
      "    action: block\n");
  ASSERT_TRUE(first && second);
  const auto first_slots = m.register_rules(*first);
  const auto second_slots = m.register_rules(*second);
  EXPECT_EQ(first_slots.find(first->rule(0).name), second_slots.find(second->rule(0).name));
  m.count_records(first_slots, evaluate(*first, {"a@test.com"}), true);
  m.count_records(second_slots, evaluate(*second, {"b@test.com"}), true);
  EXPECT_TRUE(has_line(render(m), R"(hubgate_blocked_records_total{rule="no-test"} 2)"));
  // A view that is not the rule set's own string still finds its counters.
  const std::string copy = "no-test";
  EXPECT_EQ(second_slots.find(copy), second_slots.find(second->rule(0).name));
  EXPECT_EQ(second_slots.find(""), nullptr);
}

TEST(proxy_metrics, upstream_latency_lands_in_its_bucket_and_errors_by_kind) {
  proxy_metrics m;
  m.observe_upstream(hubspot::upstream_id::api, 3ms);
  m.observe_upstream(hubspot::upstream_id::api, 70s);
  m.observe_upstream(hubspot::upstream_id::forms, 200ms);
  m.count_upstream_error(hubspot::upstream_id::api, upstream_error::tls);
  const auto text = render(m);
  EXPECT_TRUE(has_line(text, R"(hubgate_upstream_duration_seconds_bucket{upstream="api",le="0.005"} 1)")) << text;
  EXPECT_TRUE(has_line(text, R"(hubgate_upstream_duration_seconds_bucket{upstream="api",le="60"} 1)")) << text;
  EXPECT_TRUE(has_line(text, R"(hubgate_upstream_duration_seconds_bucket{upstream="api",le="+Inf"} 2)")) << text;
  EXPECT_TRUE(has_line(text, R"(hubgate_upstream_duration_seconds_sum{upstream="api"} 70.003)")) << text;
  EXPECT_TRUE(has_line(text, R"(hubgate_upstream_duration_seconds_bucket{upstream="forms",le="0.1"} 0)")) << text;
  EXPECT_TRUE(has_line(text, R"(hubgate_upstream_duration_seconds_bucket{upstream="forms",le="0.25"} 1)")) << text;
  EXPECT_TRUE(has_line(text, R"(hubgate_upstream_errors_total{upstream="api",kind="tls"} 1)")) << text;
  EXPECT_TRUE(has_line(text, R"(hubgate_upstream_errors_total{upstream="forms",kind="reset"} 0)")) << text;
}

TEST(proxy_metrics, reloads_are_counted_by_result) {
  proxy_metrics m;
  m.count_reload(true);
  m.count_reload(false);
  m.count_reload(false);
  const auto text = render(m);
  EXPECT_TRUE(has_line(text, R"(hubgate_rules_reloads_total{result="ok"} 1)")) << text;
  EXPECT_TRUE(has_line(text, R"(hubgate_rules_reloads_total{result="failed"} 2)")) << text;
}

TEST(proxy_metrics, upstream_failures_are_classified_by_status_and_message) {
  EXPECT_EQ(classify_upstream_failure(504, "HubSpot did not answer in time"), upstream_error::timeout);
  EXPECT_EQ(classify_upstream_failure(502, "TLS handshake with HubSpot failed"), upstream_error::tls);
  EXPECT_EQ(classify_upstream_failure(502, "HubSpot could not be reached"), upstream_error::connect);
  EXPECT_EQ(classify_upstream_failure(502, "HubSpot's answer broke off"), upstream_error::reset);
  EXPECT_EQ(classify_upstream_failure(502, "sending to HubSpot failed"), upstream_error::reset);
}

TEST(proxy_metrics, gate_decisions_map_to_decision_labels) {
  EXPECT_EQ(classify_decision(nullptr), request_decision::invalid);
  gate::decision d;
  EXPECT_EQ(classify_decision(&d), request_decision::pass);
  d.what = gate::action::forward;
  EXPECT_EQ(classify_decision(&d), request_decision::allow);
  d.body = "{}";
  EXPECT_EQ(classify_decision(&d), request_decision::rewrite);
  d.what = gate::action::answer;
  EXPECT_EQ(classify_decision(&d), request_decision::reject);
  d.blocked.push_back({});
  EXPECT_EQ(classify_decision(&d), request_decision::block);
  d.what = gate::action::split;
  EXPECT_EQ(classify_decision(&d), request_decision::block);
  d.kept_items = {0};
  EXPECT_EQ(classify_decision(&d), request_decision::partial);
}

} // namespace
} // namespace hubgate::metrics
