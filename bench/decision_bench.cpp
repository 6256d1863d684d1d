// The decision path without the network: classify a request's head, read its body, apply the
// rules, and (for a split batch) stitch HubSpot's answer. Reports nanoseconds and heap
// allocations per request, so a regression shows without a load test. Run:
//   build/release/hubgate_decision_bench          (or under valgrind --tool=callgrind)
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>

#include "hubgate/config/rules_file.hpp"
#include "hubgate/gate/gate.hpp"
#include "hubgate/hubspot/classify.hpp"
#include "hubgate/rules/request_facts.hpp"

// Every heap allocation in the process is counted (the benchmark loop is single-threaded).
namespace {
std::atomic<std::uint64_t> allocations{0};
}
void* operator new(std::size_t size) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) {
    return p;
  }
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {

using namespace hubgate;

// bench/rules.yaml (a batch with a blocked item refused whole, as the load test's anchor does),
// bench/rules-split.yaml (hubgate's default: the batch split and HubSpot's answer stitched), or the
// shipped config/rules.yaml (whose rewrite tags every create without an hs_lead_status).
enum class batches : std::uint8_t { whole, split, shipped };

std::shared_ptr<const rules::rule_set> load_bench_rules(const char* file) {
  auto loaded = config::load_rules_file(file);
  if (!loaded) {
    std::fprintf(stderr, "cannot load %s\n", file);
    std::abort();
  }
  return loaded.rules;
}

const rules::rule_set& bench_rules(batches policy) {
  static const auto whole = load_bench_rules(HUBGATE_BENCH_RULES);
  static const auto split = load_bench_rules(HUBGATE_BENCH_SPLIT_RULES);
  static const auto shipped = load_bench_rules(HUBGATE_SHIPPED_RULES);
  return policy == batches::whole ? *whole : policy == batches::split ? *split : *shipped;
}

// The body without its hs_lead_status: the shipped rules then rewrite every contact in it.
std::string without_lead_status(std::string body) {
  constexpr std::string_view member = R"("hs_lead_status":"NEW",)";
  for (std::size_t at = body.find(member); at != std::string::npos; at = body.find(member, at)) {
    body.erase(at, member.size());
  }
  return body;
}

std::string properties(int i, bool blocked) {
  char buf[1024];
  std::snprintf(buf, sizeof buf,
                R"({"firstname":"Jane","lastname":"Doe-%d","jobtitle":"Head of Procurement",)"
                R"("company":"Acme Corporation","email":"jane.doe.%05d@%s","phone":"+1 (555) 010-%04d",)"
                R"("address":"%d Main Street, Suite 400","city":"Springfield","state":"IL","zip":"62701",)"
                R"("country":"United States","industry":"MANUFACTURING","lifecyclestage":"lead",)"
                R"("hs_lead_status":"NEW","website":"https://www.acme-corp.com"})",
                i, i, blocked ? "example.org" : "acme-corp.com", i % 10000, 100 + i % 900);
  return buf;
}

std::string single_create(bool blocked) {
  return R"({"properties":)" + properties(7, blocked) +
         R"(,"associations":[{"to":{"id":"201"},"types":[{"associationCategory":"HUBSPOT_DEFINED","associationTypeId":279}]}]})";
}

// 100 inputs; every other one blocked when `some_blocked`.
std::string batch_create(bool some_blocked) {
  std::string body = R"({"inputs":[)";
  for (int i = 0; i < 100; ++i) {
    if (i != 0) body += ',';
    body += R"({"properties":)" + properties(i, some_blocked && i % 2 == 1) + "}";
  }
  return body + "]}";
}

// HubSpot's answer to the forwarded half of a split batch.
std::string batch_answer(std::size_t items) {
  std::string body = R"({"status":"COMPLETE","results":[)";
  for (std::size_t i = 0; i < items; ++i) {
    if (i != 0) body += ',';
    body += R"({"id":")" + std::to_string(5000 + i) +
            R"(","properties":{"createdate":"2024-03-01T10:15:00.000Z","email":"jane.doe@acme-corp.com",)"
            R"("hs_object_id":")" + std::to_string(5000 + i) +
            R"("},"createdAt":"2024-03-01T10:15:00.000Z","updatedAt":"2024-03-01T10:15:00.000Z","archived":false})";
  }
  return body + R"(],"startedAt":"2024-03-01T10:15:00.000Z","completedAt":"2024-03-01T10:15:00.100Z"})";
}

const rules::header_list no_headers{{}};

void run_decision(benchmark::State& state, std::string_view method, std::string_view target, const std::string& body,
                  gate::action expected, bool stitch_answer, batches policy = batches::split) {
  const auto& rules = bench_rules(policy);
  const std::string answer = stitch_answer ? batch_answer(50) : std::string();
  std::uint64_t before = allocations.load();
  for (auto _ : state) {
    auto classification = hubspot::classify(method, target);
    gate::decision decision;
    if (classification.op != nullptr || rules.reaches_non_catalog()) {
      const gate::request_view view{method, target, body, "application/json", {}, &no_headers, {}};
      decision = gate::decide(rules, classification, view, "0b8e4c2a-7d1f-4a3b-9c5e-2f6a8b1d3e40");
    }
    if (decision.what != expected) {
      state.SkipWithError("unexpected decision");
      break;
    }
    if (stitch_answer) {
      auto stitched = gate::stitch(decision, 200, answer);
      benchmark::DoNotOptimize(stitched);
    }
    benchmark::DoNotOptimize(decision);
  }
  state.counters["allocs/req"] = benchmark::Counter(static_cast<double>(allocations.load() - before),
                                                    benchmark::Counter::kAvgIterations);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * (body.size() + answer.size())));
}

void pass_through_read(benchmark::State& state) {
  run_decision(state, "GET", "/crm/v3/objects/contacts/1037?properties=email,firstname,lastname&archived=false", {},
               gate::action::pass, false);
}
void single_create_allowed(benchmark::State& state) {
  run_decision(state, "POST", "/crm/v3/objects/contacts", single_create(false), gate::action::forward, false);
}
void single_create_blocked(benchmark::State& state) {
  run_decision(state, "POST", "/crm/v3/objects/contacts", single_create(true), gate::action::answer, false);
}
void batch_100_allowed(benchmark::State& state) {
  run_decision(state, "POST", "/crm/v3/objects/contacts/batch/create", batch_create(false), gate::action::forward,
               false);
}
void batch_100_split_and_stitched(benchmark::State& state) {
  run_decision(state, "POST", "/crm/v3/objects/contacts/batch/create", batch_create(true), gate::action::split, true);
}
void single_create_rewritten(benchmark::State& state) {
  run_decision(state, "POST", "/crm/v3/objects/contacts", without_lead_status(single_create(false)),
               gate::action::forward, false, batches::shipped);
}
void batch_100_rewritten(benchmark::State& state) {
  run_decision(state, "POST", "/crm/v3/objects/contacts/batch/create", without_lead_status(batch_create(false)),
               gate::action::forward, false, batches::shipped);
}
void batch_100_blocked_whole(benchmark::State& state) {
  run_decision(state, "POST", "/crm/v3/objects/contacts/batch/create", batch_create(true), gate::action::answer, false,
               batches::whole);
}

BENCHMARK(pass_through_read);
BENCHMARK(single_create_allowed);
BENCHMARK(single_create_blocked);
BENCHMARK(batch_100_allowed);
BENCHMARK(batch_100_split_and_stitched);
BENCHMARK(batch_100_blocked_whole);
BENCHMARK(single_create_rewritten);
BENCHMARK(batch_100_rewritten);

} // namespace

BENCHMARK_MAIN();
