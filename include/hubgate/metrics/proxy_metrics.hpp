#pragma once
// The proxy's counters, cheap enough to bump on every request: relaxed atomics in fixed arrays
// whose slots are resolved without a lookup (the catalog operation's position, the decision, a
// status table, the rule's slot made when its rule set was loaded), no lock and no allocation on
// the request path. Rendering (Prometheus text, exposition.hpp) happens on a scrape, which may
// take locks. Pure: no I/O; gauges the proxy knows (connections, pools, process) are passed in.

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "hubgate/gate/gate.hpp"
#include "hubgate/hubspot/operation.hpp"
#include "hubgate/metrics/exposition.hpp"
#include "hubgate/rules/evaluation.hpp"
#include "hubgate/rules/rule_set.hpp"

namespace hubgate::metrics {

// What happened to a request, as the `decision` label says it.
enum class request_decision : std::uint8_t {
  pass,    // not a contact-creating call, forwarded untouched
  allow,   // a contact-creating call forwarded as sent (canonical target)
  rewrite, // forwarded with edits
  block,   // answered by hubgate: every record blocked
  partial, // a v3 batch with some items blocked: the rest forwarded, the answer stitched
  reject,  // refused unread (fail closed: a body or target hubgate cannot read safely)
  invalid, // refused before the gate: malformed HTTP, too large, too slow
  unauthorized, // refused before the gate: no client key, an unknown one, a credential in the query (401)
  over_budget,  // a client's new-contact budget spent: answered 429, nothing forwarded
};
inline constexpr std::size_t request_decision_count = 9;
std::string_view to_string(request_decision decision);

// `gate` is nullptr when the request ended before the gate ran.
request_decision classify_decision(const gate::decision* gate);

// Why an upstream exchange failed.
enum class upstream_error : std::uint8_t {
  connect, // resolving or connecting failed (a connect timeout included)
  tls,     // the TLS handshake failed (verification included)
  timeout, // no answer within --upstream-response-timeout
  reset,   // the connection broke (or the answer was unreadable) after the request was sent
};
inline constexpr std::size_t upstream_error_count = 4;
std::string_view to_string(upstream_error kind);

// The kind of a failure upstream::forward() or fetch() reported: its reply's status (504 is a
// timeout) and message (upstream/forward.cpp words connect and TLS failures as tested here).
upstream_error classify_upstream_failure(unsigned status, std::string_view message);

// The counters of one rule, by name: they survive reloads that keep the name.
struct rule_counters {
  std::atomic<std::uint64_t> blocked{0};
  std::atomic<std::uint64_t> rewritten{0};
  std::atomic<std::uint64_t> shadow_blocked{0};
  std::atomic<std::uint64_t> shadow_rewritten{0};
};

// One loaded rule set's rules mapped to their counters, made once per load. Outcomes name their
// rule by a view of the rule set's own name string, so the slot is found by that address (a
// binary search over a handful of pointers), by text only if the view were a copy.
class rule_slots {
 public:
  // nullptr for an empty name (nothing decided).
  rule_counters* find(std::string_view rule) const noexcept;

 private:
  friend class proxy_metrics;
  struct entry {
    const char* data;
    std::size_t size;
    rule_counters* counters;
  };
  std::vector<entry> by_address_; // sorted by data
  rule_counters* default_ = nullptr;
};

class proxy_metrics {
 public:
  proxy_metrics();
  proxy_metrics(const proxy_metrics&) = delete;
  proxy_metrics& operator=(const proxy_metrics&) = delete;
  ~proxy_metrics();

  // The request path: relaxed atomic increments, nothing else.
  void count_request(const hubspot::operation* op, request_decision decision, unsigned status) noexcept;
  void observe_upstream(hubspot::upstream_id upstream, std::chrono::microseconds elapsed) noexcept;
  void count_upstream_error(hubspot::upstream_id upstream, upstream_error kind) noexcept;
  // Blocked and rewritten records by the rule that did it; shadow outcomes that differ from what
  // happened, by the shadow rule.
  // `forwarded`: HubSpot got the request and answered it. Records blocked count either way; edits
  // and what shadow rules would have done count only for records that went through.
  void count_records(const rule_slots& slots, const rules::evaluation& evaluation, bool forwarded) noexcept;

  // Loading and reloading (not the request path).
  rule_slots register_rules(const rules::rule_set& rules);
  void count_reload(bool ok) noexcept;

  // The counters and histograms, in the exposition format.
  void render(exposition& out) const;

  // Upper bounds of the upstream latency buckets, in seconds.
  static constexpr std::array<double, 13> latency_bounds{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                                         1,     2.5,  5,     10,   30,  60};

 private:
  struct latency_histogram {
    std::array<std::atomic<std::uint64_t>, latency_bounds.size() + 1> buckets{};
    std::atomic<std::uint64_t> sum_us{0};
  };
  // What every request bumps, once per I/O thread (threads take shards in turn), so that threads
  // do not contend for the same cache lines; a scrape adds the shards up.
  struct alignas(64) counter_shard {
    // [operation][decision][status slot], some 55 KB: made by the first request a thread counts,
    // so that shards no thread takes (three of four with --threads 1) cost no memory.
    std::atomic<std::atomic<std::uint64_t>*> requests{nullptr};
    std::array<latency_histogram, 2> latency{};             // by upstream_id
  };
  static constexpr std::size_t shard_count = 4;
  struct named_rule {
    explicit named_rule(std::string n) : name(std::move(n)) {}
    std::string name;
    rule_counters counters;
  };

  counter_shard& local_shard() noexcept;
  // The shard's request counters, made when missing; null only when memory ran out.
  std::atomic<std::uint64_t>* requests_of(counter_shard& shard) const noexcept;
  rule_counters* counters_for(std::string_view name); // under rules_mutex_

  std::size_t operations_ = 0; // catalog operations + 1 (slot 0: outside the catalog)
  std::array<counter_shard, shard_count> shards_;
  std::array<std::array<std::atomic<std::uint64_t>, upstream_error_count>, 2> errors_{}; // by upstream_id
  std::atomic<std::uint64_t> reloads_ok_{0};
  std::atomic<std::uint64_t> reloads_failed_{0};

  mutable std::mutex rules_mutex_; // guards rules_ and by_name_ (registration and rendering, never a request)
  std::deque<named_rule> rules_;   // a deque: counters (and names) never move once handed out
  // rules_ by name (views of their names): a reload of tens of thousands of rules finds each in
  // one look-up, not a scan, so a scrape waiting on the mutex waits milliseconds, not seconds.
  std::unordered_map<std::string_view, rule_counters*> by_name_;
};

} // namespace hubgate::metrics
