#include "reload/rules_in_force.hpp"

#include <malloc.h>

#include <nlohmann/json.hpp>

#include <utility>

#include "hubgate/audit/record.hpp"
#include "hubgate/audit/redact.hpp"
#include "hubgate/config/rules_file.hpp"
#include "hubgate/config/secrets.hpp"
#include "logging/log.hpp"

namespace hubgate::reload {

rules_in_force::rules_in_force(std::shared_ptr<const loaded_rules> first)
    : current_(first), generation_(first->generation) {}

void rules_in_force::install(std::shared_ptr<const loaded_rules> next) {
  const std::uint64_t generation = next->generation;
  std::shared_ptr<const loaded_rules> previous; // released after the lock
  {
    std::lock_guard lock(mutex_);
    previous = std::exchange(current_, std::move(next));
  }
  generation_.store(generation, std::memory_order_release);
}

load_outcome load_rules(const std::string& path, metrics::proxy_metrics& metrics, access::client_ledger& clients,
                        std::uint64_t generation) {
  static const config::process_secrets secrets;
  std::string text;
  auto result = config::load_rules_file(path, &text, &secrets);
  // Reading YAML costs about 45 times the file in memory for a moment (a 3 MB list of 250,000
  // domains: 150 MB), most of it freed by now; serve keeps freed memory for requests (main.cpp's
  // M_TRIM_THRESHOLD), which left such a file's load resident for good. Given back here.
  ::malloc_trim(0);
  if (!result) {
    return {nullptr, std::move(result.errors)};
  }
  auto loaded = std::make_shared<loaded_rules>();
  loaded->rules = std::move(result.rules);
  loaded->file = path;
  loaded->sha256 = audit::sha256_hex(text);
  loaded->loaded_at = std::chrono::system_clock::now();
  loaded->generation = generation;
  loaded->slots = metrics.register_rules(*loaded->rules);
  for (const auto& client : loaded->rules->access().clients) {
    loaded->accounts.push_back(&clients.account_for(client.name));
  }
  return {std::move(loaded), {}};
}

void log_notes(const loaded_rules& loaded) {
  for (const rules::rule_set::note& note : loaded.rules->notes()) {
    const rules::rule_info& rule = loaded.rules->rule(note.rule);
    logging::warn("rules note", {{"file", loaded.file}, {"line", rule.line}, {"rule", rule.name}, {"note", note.text}});
  }
}

std::string describe(const loaded_rules& loaded) {
  const rules::rule_set& set = *loaded.rules;
  nlohmann::ordered_json rules = nlohmann::ordered_json::array();
  for (std::size_t i = 0; i < set.rule_count(); ++i) {
    const auto& info = set.rule(i);
    // A file in shadow mode enforces none of its rules.
    const auto mode = set.mode() == rules::enforcement_mode::shadow ? set.mode() : info.mode;
    rules.push_back({{"name", info.name},
                     {"action", rules::to_string(info.action)},
                     {"mode", rules::to_string(mode)},
                     {"line", info.line}});
  }
  nlohmann::ordered_json out{
      {"file", loaded.file},
      {"sha256", loaded.sha256},
      {"loaded_at", audit::format_time(loaded.loaded_at)},
      {"generation", loaded.generation},
      {"mode", rules::to_string(set.mode())},
      {"default", rules::to_string(set.default_verdict())},
      {"batches", rules::to_string(set.batches())},
      {"audit_pii", set.audit_pii_mode() == rules::audit_pii::full ? "full" : "redacted"},
      {"auth", access::to_string(set.access().mode)},
      {"rules", std::move(rules)},
  };
  if (set.access().mode == access::auth_mode::clients) {
    // Names and where keys come from; never a key.
    nlohmann::ordered_json clients = nlohmann::ordered_json::array();
    for (const auto& client : set.access().clients) {
      nlohmann::ordered_json keys = nlohmann::ordered_json::array();
      for (const auto& key : client.keys) {
        keys.push_back(key.describe());
      }
      nlohmann::ordered_json entry{{"name", client.name}, {"keys", std::move(keys)}};
      if (client.max_new_contacts) {
        entry["max_new_contacts"] = {{"per", access::to_string(client.max_new_contacts->per)},
                                     {"count", client.max_new_contacts->count}};
      }
      clients.push_back(std::move(entry));
    }
    out["clients"] = std::move(clients);
    if (set.access().upstream_token) {
      out["upstream_token"] = set.access().upstream_token->describe();
    }
  }
  return out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

} // namespace hubgate::reload
