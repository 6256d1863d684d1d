#pragma once
// One audit entry: a JSON object on one line for each request that touched a contact-creating
// operation, saying who asked (the client's name under auth: clients, else the token's fingerprint;
// address, user agent), what for (operation), what
// the gate did with each contact record and by which rule (shadow verdicts too), and, for records
// HubSpot accepted, the ids its answer gave them. Pure: builds the line from values the session
// collected; writing it is audit/trail.hpp's job.
//
// {"time":"2026-11-27T10:00:00.123Z","correlation_id":"…","client":{"name":"zapier","address":"10.0.0.7",
//  "user_agent":"hubspot-api-client-nodejs; 14.0.0"},"operation":"contacts.create",
//  "decision":"rewrite","status":201,"upstream_status":201,"rules":"9c1e4b2a7d30",
//  "records":[{"index":0,"email":"5b0e8f2a91c4d7e3@corp.io","decision":"rewrite","rule":"default",
//              "edited_by":["tag-api-created-contacts"],"id":"51","created":true}]}

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hubgate/audit/redact.hpp"
#include "hubgate/gate/gate.hpp"
#include "hubgate/hubspot/operation.hpp"

namespace hubgate::audit {

struct client_info {
  std::string_view name; // the client its key named (auth: clients); empty under passthrough
  std::string_view address;
  std::string_view user_agent;
  std::string_view token; // token_fingerprint(), never the token
};

struct request_summary {
  std::chrono::system_clock::time_point time;
  std::string_view correlation_id;
  client_info client;
  const hubspot::operation* op = nullptr;
  std::string_view decision;            // metrics::to_string(request_decision)
  unsigned status = 0;                  // what the client was answered
  unsigned upstream_status = 0;         // what HubSpot answered; 0 when it was not asked or did not answer
  std::string_view rules_hash;          // sha256 of the rules file in force
  const gate::decision* gate = nullptr; // nullptr: the request ended before the gate ran
  std::string_view answer;              // HubSpot's answer body when it was read whole
};

// A record HubSpot's answer gave an id.
struct contact_id {
  std::size_t record = 0; // position in gate.records (and gate.evaluation.records)
  std::string id;
  std::optional<bool> created; // the answer said whether it was new; nullopt: it did not say
  // Matched by position among several results that name no record: HubSpot does not promise a
  // batch's results in input order, so the id may be another record's. Good for counting what
  // was created, not for saying which contact got which id.
  bool by_position = false;
};

// The ids in a 2xx answer, mapped back to the forwarded records: a single-object answer (`id`, or
// the legacy `vid` with `isNew`) to the one record sent; a batch answer's `results[]` (`id` or
// `vid`, upserts' `new`) by objectWriteTraceId, else by email, else (when every record has a
// result) the one record left takes the one result left, or each takes the result at its position,
// marked by_position. Creates count as created; upserts as their answer says.
std::vector<contact_id> contact_ids(const gate::decision& gate, unsigned upstream_status, std::string_view answer);

// UTC with milliseconds, "2026-11-27T10:00:00.123Z": the audit's time stamps (and /rules').
std::string format_time(std::chrono::system_clock::time_point time);

// The audit line (without the newline). `redactor` nullptr writes emails as sent (`pii: full`).
std::string audit_line(const request_summary& request, const email_redactor* redactor);

} // namespace hubgate::audit
