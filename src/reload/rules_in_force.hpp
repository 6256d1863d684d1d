#pragma once
// The rule set in force and its swap on reload. A reload builds a new snapshot (rules, where they
// came from, their metric slots) and installs it atomically; a request keeps the snapshot it
// started with. Sessions cache the snapshot and look at a generation number per request, so the
// common path costs one atomic load and no reference-count traffic.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "hubgate/access/client_ledger.hpp"
#include "hubgate/metrics/proxy_metrics.hpp"
#include "hubgate/rules/loader.hpp"
#include "hubgate/rules/rule_set.hpp"

namespace hubgate::reload {

struct loaded_rules {
  std::shared_ptr<const rules::rule_set> rules;
  std::string file;
  std::string sha256; // of the file's bytes, hex
  std::chrono::system_clock::time_point loaded_at;
  std::uint64_t generation = 0; // 1 for the rules loaded at start, +1 per reload
  metrics::rule_slots slots;    // this rule set's per-rule counters
  // The ledger account of each of the rule set's clients (access().clients), in the same order.
  std::vector<access::client_ledger::account*> accounts;
};

class rules_in_force {
 public:
  explicit rules_in_force(std::shared_ptr<const loaded_rules> first);

  std::shared_ptr<const loaded_rules> current() const {
    std::lock_guard lock(mutex_);
    return current_;
  }
  std::uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

  // The snapshot for a request: `cache` (the session's) when no reload happened since it was
  // taken, else the current one, stored into `cache`. Stays valid until `cache` changes.
  const loaded_rules& refresh(std::shared_ptr<const loaded_rules>& cache) const {
    if (!cache || cache->generation != generation()) {
      cache = current();
    }
    return *cache;
  }

  // Puts `next` in force (its generation must be the next one: loaded by load_rules with
  // generation() + 1). Called by one thread at a time (the reloader).
  void install(std::shared_ptr<const loaded_rules> next);

 private:
  // A mutex, not std::atomic<std::shared_ptr>: libstdc++ 12's releases its lock bit after a load
  // with a relaxed store, which orders nothing (ThreadSanitizer reports every reload that overlaps
  // a request, and on a weakly ordered CPU a load could meet the swap's refcount change). Requests
  // take it only when the generation moved, once per reload and session.
  mutable std::mutex mutex_;
  std::shared_ptr<const loaded_rules> current_;
  std::atomic<std::uint64_t> generation_;
};

struct load_outcome {
  std::shared_ptr<const loaded_rules> rules; // set exactly when errors is empty
  std::vector<rules::load_error> errors;
};

// Reads and loads `path` (config::load_rules_file) with the secrets it refers to, registers its
// rules' counters and finds its clients' accounts in `clients`.
load_outcome load_rules(const std::string& path, metrics::proxy_metrics& metrics, access::client_ledger& clients,
                        std::uint64_t generation);

// One warning per note `hubgate check` prints about `rules` (rule_set::notes): said when they are
// put in force, at start and on each reload.
void log_notes(const loaded_rules& rules);

// The rules in force as /rules shows them: file, sha256, load time, generation, mode, default,
// audit pii, and each rule's name, action and mode, as JSON.
std::string describe(const loaded_rules& rules);

} // namespace hubgate::reload
