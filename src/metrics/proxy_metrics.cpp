#include "hubgate/metrics/proxy_metrics.hpp"

#include <algorithm>
#include <functional>
#include <memory>
#include <new>

#include "hubgate/hubspot/catalog.hpp"

namespace hubgate::metrics {

namespace {

using counter = std::atomic<std::uint64_t>;
constexpr auto relaxed = std::memory_order_relaxed;

// Statuses counted under their own `code`; any other is counted under its class ("4xx"), and
// what is not a status at all under "other". A fixed set keeps the counter array small.
constexpr std::array<std::uint16_t, 29> tracked_statuses{200, 201, 202, 204, 206, 207, 301, 302, 304, 307,
                                                         308, 400, 401, 403, 404, 405, 408, 409, 413, 414,
                                                         415, 422, 429, 431, 500, 501, 502, 503, 504};
constexpr std::size_t class_slot_base = tracked_statuses.size(); // + class - 1, for 1xx to 5xx
constexpr std::size_t other_status_slot = class_slot_base + 5;
constexpr std::size_t status_slots = other_status_slot + 1;

constexpr auto status_table = [] {
  std::array<std::uint8_t, 600> table{};
  for (std::size_t status = 0; status < table.size(); ++status) {
    const std::size_t status_class = status / 100;
    table[status] =
        static_cast<std::uint8_t>(status_class >= 1 ? class_slot_base + status_class - 1 : other_status_slot);
  }
  for (std::size_t i = 0; i < tracked_statuses.size(); ++i) {
    table[tracked_statuses[i]] = static_cast<std::uint8_t>(i);
  }
  return table;
}();

std::size_t status_slot(unsigned status) {
  return status < status_table.size() ? status_table[status] : other_status_slot;
}

std::string status_label(std::size_t slot) {
  if (slot < tracked_statuses.size()) {
    return std::to_string(tracked_statuses[slot]);
  }
  if (slot < other_status_slot) {
    return std::to_string(slot - class_slot_base + 1) + "xx";
  }
  return "other";
}

constexpr auto latency_bounds_us = [] {
  std::array<std::uint64_t, proxy_metrics::latency_bounds.size()> out{};
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<std::uint64_t>(proxy_metrics::latency_bounds[i] * 1e6);
  }
  return out;
}();

constexpr std::array<std::string_view, 2> upstream_names{"api", "forms"};

std::size_t upstream_slot(hubspot::upstream_id upstream) {
  return upstream == hubspot::upstream_id::forms ? 1 : 0;
}

// Calls `f` once for each rule that made one of `edits` (a rule edits several properties).
template <class F>
void for_each_editing_rule(const std::vector<rules::property_edit>& edits, F f) {
  for (std::size_t i = 0; i < edits.size(); ++i) {
    const auto earlier = [&](const rules::property_edit& e) { return e.rule == edits[i].rule; };
    if (std::none_of(edits.begin(), edits.begin() + static_cast<std::ptrdiff_t>(i), earlier)) {
      f(edits[i].rule);
    }
  }
}

bool edited_by(const std::vector<rules::property_edit>& edits, std::string_view rule) {
  return std::any_of(edits.begin(), edits.end(), [&](const rules::property_edit& e) { return e.rule == rule; });
}

void bump(rule_counters* counters, counter rule_counters::*which) noexcept {
  if (counters != nullptr) {
    (counters->*which).fetch_add(1, relaxed);
  }
}

} // namespace

std::string_view to_string(request_decision decision) {
  // In the order of request_decision.
  static constexpr std::array<std::string_view, request_decision_count> names{
      "pass", "allow", "rewrite", "block", "partial", "reject", "invalid", "unauthorized", "over_budget"};
  return names[static_cast<std::size_t>(decision)];
}

request_decision classify_decision(const gate::decision* gate) {
  if (gate == nullptr) {
    return request_decision::invalid;
  }
  switch (gate->what) {
    case gate::action::pass:
      return request_decision::pass;
    case gate::action::forward:
      return gate->body ? request_decision::rewrite : request_decision::allow;
    case gate::action::answer:
      return gate->blocked.empty() ? request_decision::reject : request_decision::block;
    case gate::action::split:
      return gate->kept_items.empty() ? request_decision::block : request_decision::partial;
  }
  return request_decision::invalid;
}

std::string_view to_string(upstream_error kind) {
  // In the order of upstream_error.
  static constexpr std::array<std::string_view, upstream_error_count> names{"connect", "tls", "timeout", "reset"};
  return names[static_cast<std::size_t>(kind)];
}

upstream_error classify_upstream_failure(unsigned status, std::string_view message) {
  if (status == 504) {
    return upstream_error::timeout;
  }
  if (message.find("TLS") != std::string_view::npos) {
    return upstream_error::tls;
  }
  if (message.find("could not be reached") != std::string_view::npos) {
    return upstream_error::connect;
  }
  return upstream_error::reset;
}

rule_counters* rule_slots::find(std::string_view rule) const noexcept {
  if (rule.empty()) {
    return nullptr;
  }
  if (rule.data() == rules::default_rule_name.data()) {
    return default_;
  }
  const auto at = std::lower_bound(by_address_.begin(), by_address_.end(), rule.data(),
                                   [](const entry& e, const char* p) { return std::less<const char*>()(e.data, p); });
  if (at != by_address_.end() && at->data == rule.data() && at->size == rule.size()) {
    return at->counters;
  }
  // Not a view of the rule set's own strings: compare the text (never expected on the hot path).
  for (const auto& e : by_address_) {
    if (std::string_view(e.data, e.size) == rule) {
      return e.counters;
    }
  }
  return rule == rules::default_rule_name ? default_ : nullptr;
}

proxy_metrics::proxy_metrics() : operations_(hubspot::all_operations().size() + 1) {}

proxy_metrics::~proxy_metrics() {
  for (auto& shard : shards_) {
    delete[] shard.requests.load(std::memory_order_acquire);
  }
}

std::atomic<std::uint64_t>* proxy_metrics::requests_of(counter_shard& shard) const noexcept {
  counter* requests = shard.requests.load(std::memory_order_acquire);
  if (requests != nullptr) [[likely]] {
    return requests;
  }
  // Two threads that share a shard may both get here: one's array is kept, the other's freed.
  std::unique_ptr<counter[]> made(new (std::nothrow) counter[operations_ * request_decision_count * status_slots]());
  if (made == nullptr || shard.requests.compare_exchange_strong(requests, made.get(), std::memory_order_acq_rel)) {
    return made.release();
  }
  return requests;
}

proxy_metrics::counter_shard& proxy_metrics::local_shard() noexcept {
  static std::atomic<std::size_t> next{0};
  thread_local const std::size_t mine = next.fetch_add(1, relaxed) % shard_count;
  return shards_[mine];
}

void proxy_metrics::count_request(const hubspot::operation* op, request_decision decision, unsigned status) noexcept {
  const std::size_t op_slot = op != nullptr ? static_cast<std::size_t>(op - hubspot::all_operations().data()) + 1 : 0;
  const std::size_t slot =
      (op_slot * request_decision_count + static_cast<std::size_t>(decision)) * status_slots + status_slot(status);
  if (counter* requests = requests_of(local_shard())) {
    requests[slot].fetch_add(1, relaxed);
  }
}

void proxy_metrics::observe_upstream(hubspot::upstream_id upstream, std::chrono::microseconds elapsed) noexcept {
  auto& h = local_shard().latency[upstream_slot(upstream)];
  const auto us = static_cast<std::uint64_t>(std::max<std::int64_t>(elapsed.count(), 0));
  std::size_t bucket = 0;
  while (bucket < latency_bounds_us.size() && us > latency_bounds_us[bucket]) {
    ++bucket;
  }
  h.buckets[bucket].fetch_add(1, relaxed);
  h.sum_us.fetch_add(us, relaxed);
}

void proxy_metrics::count_upstream_error(hubspot::upstream_id upstream, upstream_error kind) noexcept {
  errors_[upstream_slot(upstream)][static_cast<std::size_t>(kind)].fetch_add(1, relaxed);
}

void proxy_metrics::count_records(const rule_slots& slots, const rules::evaluation& evaluation,
                                  bool forwarded) noexcept {
  for (const auto& record : evaluation.records) {
    const rules::outcome& enforced = record.enforced;
    if (enforced.decision == rules::verdict::block) {
      bump(slots.find(enforced.rule), &rule_counters::blocked);
    } else if (forwarded) {
      for_each_editing_rule(enforced.edits,
                            [&](std::string_view rule) { bump(slots.find(rule), &rule_counters::rewritten); });
    }
    if (!forwarded || !record.shadow || *record.shadow == enforced) {
      continue;
    }
    const rules::outcome& shadow = *record.shadow;
    if (shadow.decision == rules::verdict::block) {
      if (enforced.decision != rules::verdict::block) {
        bump(slots.find(shadow.rule), &rule_counters::shadow_blocked);
      }
    } else {
      for_each_editing_rule(shadow.edits, [&](std::string_view rule) {
        if (!edited_by(enforced.edits, rule)) {
          bump(slots.find(rule), &rule_counters::shadow_rewritten);
        }
      });
    }
  }
}

rule_counters* proxy_metrics::counters_for(std::string_view name) {
  if (const auto found = by_name_.find(name); found != by_name_.end()) {
    return found->second;
  }
  named_rule& added = rules_.emplace_back(std::string(name));
  by_name_.emplace(added.name, &added.counters);
  return &added.counters;
}

rule_slots proxy_metrics::register_rules(const rules::rule_set& rules) {
  rule_slots slots;
  std::unique_lock lock(rules_mutex_);
  for (std::size_t i = 0; i < rules.rule_count(); ++i) {
    const std::string& name = rules.rule(i).name;
    slots.by_address_.push_back({name.data(), name.size(), counters_for(name)});
  }
  slots.default_ = counters_for(rules::default_rule_name);
  std::sort(slots.by_address_.begin(), slots.by_address_.end(),
            [](const auto& a, const auto& b) { return std::less<const char*>()(a.data, b.data); });
  return slots;
}

void proxy_metrics::count_reload(bool ok) noexcept {
  (ok ? reloads_ok_ : reloads_failed_).fetch_add(1, relaxed);
}

void proxy_metrics::render(exposition& out) const {
  const auto operations = hubspot::all_operations();
  out.family("hubgate_requests_total", "counter",
             "Requests answered, by catalog operation (other: not a contact-creating call), decision and status");
  for (std::size_t op = 0; op < operations_; ++op) {
    const std::string_view op_name = op == 0 ? std::string_view("other") : operations[op - 1].name;
    for (std::size_t d = 0; d < request_decision_count; ++d) {
      for (std::size_t s = 0; s < status_slots; ++s) {
        const std::size_t slot = (op * request_decision_count + d) * status_slots + s;
        std::uint64_t n = 0;
        for (const auto& shard : shards_) {
          if (const counter* requests = shard.requests.load(std::memory_order_acquire)) {
            n += requests[slot].load(relaxed);
          }
        }
        if (n != 0) {
          const std::string code = status_label(s);
          out.sample(
              "hubgate_requests_total",
              {{"operation", op_name}, {"decision", to_string(static_cast<request_decision>(d))}, {"code", code}}, n);
        }
      }
    }
  }

  {
    std::unique_lock lock(rules_mutex_);
    struct family {
      std::string_view name;
      std::string_view help;
      counter rule_counters::*which;
    };
    const family families[] = {
        {"hubgate_blocked_records_total",
         "Contact records blocked, by the rule that blocked them (default: the file's default)",
         &rule_counters::blocked},
        {"hubgate_rewritten_records_total", "Contact records forwarded with edits, by each rule that edited them",
         &rule_counters::rewritten},
        {"hubgate_shadow_blocked_records_total",
         "Contact records a shadow rule would have blocked but that went through, by that rule",
         &rule_counters::shadow_blocked},
        {"hubgate_shadow_rewritten_records_total",
         "Contact records a shadow rule would have edited but that went through without its edits, by that rule",
         &rule_counters::shadow_rewritten},
    };
    for (const auto& f : families) {
      out.family(f.name, "counter", f.help);
      for (const auto& r : rules_) {
        out.sample(f.name, {{"rule", r.name}}, (r.counters.*f.which).load(relaxed));
      }
    }
  }

  out.family("hubgate_upstream_duration_seconds", "histogram",
             "Time from sending a request upstream to the end of its answer, for answers that came");
  for (std::size_t u = 0; u < upstream_names.size(); ++u) {
    std::array<std::uint64_t, latency_bounds.size() + 1> buckets{};
    std::uint64_t sum_us = 0;
    for (const auto& shard : shards_) {
      const auto& h = shard.latency[u];
      for (std::size_t b = 0; b < buckets.size(); ++b) {
        buckets[b] += h.buckets[b].load(relaxed);
      }
      sum_us += h.sum_us.load(relaxed);
    }
    out.histogram("hubgate_upstream_duration_seconds", {{"upstream", upstream_names[u]}}, latency_bounds, buckets,
                  static_cast<double>(sum_us) / 1e6);
  }
  out.family("hubgate_upstream_errors_total", "counter",
             "Upstream exchanges that failed, by upstream and kind (connect, tls, timeout, reset)");
  for (std::size_t u = 0; u < upstream_names.size(); ++u) {
    for (std::size_t k = 0; k < upstream_error_count; ++k) {
      out.sample("hubgate_upstream_errors_total",
                 {{"upstream", upstream_names[u]}, {"kind", to_string(static_cast<upstream_error>(k))}},
                 errors_[u][k].load(relaxed));
    }
  }
  out.family("hubgate_rules_reloads_total", "counter", "Rules file reloads, by result (failed: the old rules stayed)");
  out.sample("hubgate_rules_reloads_total", {{"result", "ok"}}, reloads_ok_.load(relaxed));
  out.sample("hubgate_rules_reloads_total", {{"result", "failed"}}, reloads_failed_.load(relaxed));
}

} // namespace hubgate::metrics
