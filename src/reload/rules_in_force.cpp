#include "reload/rules_in_force.hpp"

#include <nlohmann/json.hpp>

#include "hubgate/audit/record.hpp"
#include "hubgate/audit/redact.hpp"
#include "hubgate/config/rules_file.hpp"

namespace hubgate::reload {

rules_in_force::rules_in_force(std::shared_ptr<const loaded_rules> first)
    : current_(first), generation_(first->generation) {}

void rules_in_force::install(std::shared_ptr<const loaded_rules> next) {
  const std::uint64_t generation = next->generation;
  current_.store(std::move(next), std::memory_order_release);
  generation_.store(generation, std::memory_order_release);
}

load_outcome load_rules(const std::string& path, metrics::proxy_metrics& metrics, std::uint64_t generation) {
  std::string text;
  auto result = config::load_rules_file(path, &text);
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
  return {std::move(loaded), {}};
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
      {"audit_pii", set.audit_pii_mode() == rules::audit_pii::full ? "full" : "redacted"},
      {"rules", std::move(rules)},
  };
  return out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

} // namespace hubgate::reload
