#pragma once
// The session's answers for auth: clients: a caller refused for its credential (HubSpot's 401
// shape), and a contact-creating call refused for its client's new-contact budget (429, which the
// official SDK does not retry: no TEN_SECONDLY_ROLLING policy).

#include <chrono>
#include <optional>

#include "http/error_reply.hpp"
#include "hubgate/access/client_ledger.hpp"
#include "hubgate/access/policy.hpp"
#include "hubgate/gate/gate.hpp"

namespace hubgate::server {

http::error_reply access_refusal_reply(access::refusal why);

struct budget_refusal {
  http::error_reply reply;
  std::chrono::seconds retry_after{0}; // 0: waiting will not help
};

// Reserves in `out` the new contacts forwarding `decision` may create for `client` (which has a
// budget), or says why the request must be refused instead.
std::optional<budget_refusal> reserve_budget(access::client_ledger& ledger, access::client_ledger::account& account,
                                             const access::client& client, const gate::decision& decision,
                                             access::client_ledger::reservation& out);

} // namespace hubgate::server
