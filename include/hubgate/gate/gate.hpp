#pragma once
// The gate: one request in, one decision out. It joins the catalog (what the call is and which
// contacts it carries) and the rule set (what to do about them), and says what the session must
// do: pass the request on untouched, forward a canonical (and maybe rewritten) request, answer it
// itself, or forward only the allowed items of a batch and stitch HubSpot's answer back together.
// Pure: no I/O; the session does the moving of bytes.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hubgate/hubspot/classify.hpp"
#include "hubgate/hubspot/json_scan.hpp"
#include "hubgate/rules/evaluation.hpp"
#include "hubgate/rules/request_facts.hpp"
#include "hubgate/rules/rule_set.hpp"

namespace hubgate::gate {

struct request_view {
  std::string_view method;
  std::string_view target; // origin-form, as received
  std::string_view body;
  std::string_view content_type;
  std::string_view content_encoding; // empty when the request has none
  const rules::header_lookup* headers = nullptr;
  std::string_view client; // the client its key named (auth: clients); empty when none
  // Asked for the memory reading a JSON body takes (hubspot::json_document: 20 bytes a value and
  // key) as it grows: the server bounds it by what it may hold. Refused, a 413. nullptr: unbounded.
  hubspot::token_allowance* json_allowance = nullptr;
};

// An answer hubgate gives itself; the body is JSON in HubSpot's (or the forms API's) error shape.
struct local_answer {
  unsigned status = 403;
  std::string body;
  bool retry_can_help = false;
};

// Views into the rule set (rule, message) and the request's records (trace_id): the decision
// that holds it lives no longer than those.
struct blocked_item {
  std::size_t index = 0; // the item's position in the caller's batch
  std::string_view rule;
  std::string_view message;
  unsigned status = 403;
  std::optional<std::string_view> trace_id; // the input's objectWriteTraceId, echoed back
};

enum class action {
  pass,    // not a contact-creating call (or nothing to change): forward the request as received
  forward, // forward `forward_target` with `body` (when set) in place of the original
  answer,  // answer with `answer`; nothing reaches HubSpot
  split,   // forward only the kept items (`body`), then stitch() HubSpot's answer with `blocked`
};

struct decision {
  action what = action::pass;
  const hubspot::operation* op = nullptr;
  std::string forward_target;          // forward, split
  std::optional<std::string> body;     // forward, split: the body to send instead
  // split, items dropped and none edited: the body to send instead, as pieces of the request body
  // as received (views: that body must stay alive and unchanged until they are sent). `body` is
  // then empty; forwarded_body() gives either whole.
  std::vector<std::string_view> body_pieces;
  local_answer answer;                 // answer
  std::vector<std::size_t> kept_items; // split: caller's index of each forwarded item, in order
  std::vector<blocked_item> blocked;   // split, and answer when records were blocked
  std::size_t item_count = 0;          // items in the caller's request
  rules::evaluation evaluation;        // what the rules said, for logs
  // The contacts the extractor read (catalog requests whose body was read), parallel to
  // evaluation.records, for the audit trail. They point into the request body as received and into
  // `record_texts` (whose arena holds their property lists: hence the order, and the destructor):
  // whoever forwards a rebuilt body keeps the received one alive too.
  std::vector<hubspot::contact_record> records;
  hubspot::record_texts record_texts;
  std::string reason;                  // why, in a few words, for the log
  bool too_many_values = false;        // answer: a 413, json_allowance refused the memory to read the body

  decision() = default;
  decision(decision&&) = default;
  decision& operator=(decision&&) = default;
  ~decision() { records.clear(); }
};

// The body a forward or split decision sends instead of the request's, written out whole (from
// `body` or `body_pieces`); nullopt when the request's own body goes.
std::optional<std::string> forwarded_body(const decision& d);

// Which properties the decision's records list: those the rules read (all the proxy needs), or
// every one (`hubgate explain` shows them).
enum class record_detail : std::uint8_t { rules_read, every_property };

// Decides a request whose head has been classified and whose body has been read whole (the body
// matters only when `classification.op` is set). `correlation_id` goes into any error body.
// The decision points into `rules` and `request.body`: keep both alive as long as it.
decision decide(const rules::rule_set& rules, const hubspot::classification& classification,
                const request_view& request, std::string_view correlation_id,
                record_detail detail = record_detail::rules_read);

struct stitched_answer {
  unsigned status = 0;
  std::string body;
  bool merged = false; // the blocked items are in it; otherwise it is HubSpot's answer as it came
};

// A split batch's answer in the caller's order: HubSpot's results for the forwarded items, and one
// error per blocked item (its input index, its objectWriteTraceId, the rule), as 207 Multi-Status
// in the shape the official SDK accepts for batch create and upsert (reference §4.2). Answers
// other than 2xx, or bodies that are not a batch result, are returned unchanged: the forwarded part
// failed as a whole and the caller must see HubSpot's reason.
// HubSpot's answer is taken over and edited where it lies: given stitch_room(split) bytes of
// capacity beyond its size, none of its bytes is copied (a 27 KB answer to a batch of 100 was).
stitched_answer stitch(const decision& split, unsigned upstream_status, std::string upstream_body);

// The capacity stitch() may need beyond HubSpot's answer (more when escapes expand a rule's text).
std::size_t stitch_room(const decision& split);

} // namespace hubgate::gate
