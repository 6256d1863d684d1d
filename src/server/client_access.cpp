#include "server/client_access.hpp"

#include <string>

#include "hubgate/access/new_contacts.hpp"

namespace hubgate::server {

namespace {
namespace bhttp = boost::beast::http;
constexpr std::string_view auth_category = "INVALID_AUTHENTICATION";
} // namespace

http::error_reply access_refusal_reply(access::refusal why) {
  switch (why) {
    case access::refusal::query_credential:
      return {bhttp::status::unauthorized, auth_category,
              "hubgate holds the HubSpot credential: send your client key as 'Authorization: Bearer <client key>', "
              "not hapikey or access_token in the query"};
    case access::refusal::several_credentials:
      return {bhttp::status::unauthorized, auth_category,
              "More than one Authorization header: send your client key once, as 'Authorization: Bearer <client key>'"};
    case access::refusal::unknown_key:
      return {bhttp::status::unauthorized, auth_category,
              "The client key is not known to hubgate. Send the key hubgate's operator gave this integration as "
              "'Authorization: Bearer <client key>'"};
    case access::refusal::no_credential:
    case access::refusal::none:
      break;
  }
  return {bhttp::status::unauthorized, auth_category,
          "Authentication credentials not found. hubgate requires a client key: send it as "
          "'Authorization: Bearer <client key>'"};
}

std::optional<budget_refusal> reserve_budget(access::client_ledger& ledger, access::client_ledger::account& account,
                                             const access::client& client, const gate::decision& decision,
                                             access::client_ledger::reservation& out) {
  const auto potential = access::potential_new_contacts(decision);
  if (!potential) {
    // Fail closed: what an import (or an SMTP token that creates contacts) creates cannot be
    // counted, so a budget cannot bound it. A refusal for the budget all the same.
    account.budget_refusals.fetch_add(1, std::memory_order_relaxed);
    return budget_refusal{{bhttp::status::forbidden, "POLICY_BLOCKED",
                           std::string(decision.op->name) + " is refused for client '" + client.name +
                               "': its new contacts cannot be counted against the client's max_new_contacts"},
                          std::chrono::seconds(0)};
  }
  if (*potential == 0) {
    return std::nullopt;
  }
  const auto& budget = *client.max_new_contacts;
  const auto refused = ledger.reserve(account, budget, *potential, out);
  if (!refused) {
    return std::nullopt;
  }
  std::string message = "Client '" + client.name + "' has reached its limit of " + std::to_string(budget.count) +
                        " new contacts per " + std::string(access::to_string(budget.per)) + " (max_new_contacts)";
  if (refused->remaining > 0) {
    message += ": this request could create " + std::to_string(*potential) + ", " +
               std::to_string(refused->remaining) + " remain";
  }
  message += ". The " + std::string(access::to_string(budget.per)) + " rolls in " +
             std::to_string(refused->retry_after.count()) + " s.";
  return budget_refusal{{bhttp::status::too_many_requests, "RATE_LIMITS", std::move(message)}, refused->retry_after};
}

} // namespace hubgate::server
