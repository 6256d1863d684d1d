// libFuzzer target: the request path from raw client bytes to the gate's decision, as the session
// runs it, without sockets. Bytes -> Beast's request parser (the session's limits) -> the shared
// head checks (http/request_head.hpp) -> body -> trailer check -> gate::decide (classification,
// extraction, rules, rebuild) -> stitch for split batches.
//
// Beyond crashes, hangs and sanitizer reports, it traps when what would be forwarded breaks the
// gate's promise, "what was checked is what is sent": a forwarded contact-creating request must
// classify again as the same operation, its body must read again, and no record of it may be one
// the rules block.

#include <boost/beast/core/buffers_prefix.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "http/header_lookup.hpp"
#include "http/request_head.hpp"
#include "hubgate/config/rules_file.hpp"
#include "hubgate/gate/gate.hpp"
#include "hubgate/hubspot/classify.hpp"
#include "hubgate/hubspot/extract.hpp"

namespace {

namespace bhttp = boost::beast::http;
using namespace hubgate;

// Small, so that the fuzzer reaches the limit paths; the session's default is 16 MiB.
constexpr std::size_t max_body_bytes = 256 * 1024;

// Blocks, rewrites and a header rule, so that every decision (pass, forward with a rebuilt body,
// answer, split) is reachable.
constexpr std::string_view rules_yaml = R"(version: 1
default: allow
rules:
  - name: block-domain
    match: { email_domain: [blocked.test, "b\u00fccher.test"] }
    action: block
  - name: block-one
    match: { email: vip@partner.test }
    action: block
  - name: blind-creates
    match: { operations: [imports.create, timeline.app_event_other, automation.webhook_trigger] }
    action: block
  - name: no-smtp-contacts
    match: { operations: [emails.smtp_token_create], properties: { createContact: 'true' } }
    action: block
  - name: no-customers
    match: { kind: [create, upsert], properties: { lifecyclestage: customer } }
    action: block
  - name: tag
    match: { kind: [create, upsert] }
    action: rewrite
    set: { lifecyclestage: lead }
    remove: [hubspot_owner_id]
  - name: no-deletes
    match: { method: DELETE, path: '^/crm/v3/objects/contacts/' }
    action: block
)";

std::shared_ptr<const rules::rule_set> load_fuzz_rules(std::string_view yaml) {
  auto loaded = config::load_rules_text(yaml, "fuzz-rules.yaml");
  if (!loaded) {
    std::fprintf(stderr, "fuzz rules do not load: %s\n", loaded.errors.front().to_string().c_str());
    std::abort();
  }
  return loaded.rules;
}

const rules::rule_set& rule_set() {
  static const auto loaded = load_fuzz_rules(rules_yaml);
  return *loaded;
}

// The same rules under `batches: whole`: a batch with a blocked item is answered, never split.
const rules::rule_set& whole_batches_rule_set() {
  static const auto loaded = load_fuzz_rules("batches: whole\n" + std::string(rules_yaml));
  return *loaded;
}

[[noreturn]] void broken_promise(const char* what) {
  std::fprintf(stderr, "gate invariant broken: %s\n", what);
  std::abort();
}

// Re-inspects what the decision would forward: same operation, readable body, nothing blocked.
void check_forwarded(const gate::decision& d, const bhttp::request<bhttp::string_body>& request) {
  if (d.op == nullptr || (d.what != gate::action::forward && d.what != gate::action::split)) {
    return;
  }
  const auto again = hubspot::classify(request.method_string(), d.forward_target);
  if (!again.ok() || again.op != d.op || again.forward_target != d.forward_target) {
    broken_promise("the forwarded target does not classify as the same operation");
  }
  const std::optional<std::string> forwarded = gate::forwarded_body(d);
  const std::string_view body = forwarded ? std::string_view(*forwarded) : std::string_view(request.body());
  const auto extraction = hubspot::extract(again, body, request[bhttp::field::content_type]);
  if (!extraction.ok()) {
    broken_promise("the forwarded body does not read again");
  }
  http::fields_header_lookup headers(request);
  const rules::request_facts facts{request.method_string(), again.canonical_path,
                                   rules::operation_ref{d.op->name, d.op->kind}, extraction.records, &headers, {}, {}};
  if (rule_set().evaluate(facts).any_blocked()) {
    broken_promise("a blocked record is forwarded");
  }
}

// One request from the front of `bytes`, which then holds what follows it (pipelined requests).
// Returns whether the session would read another request on the connection.
bool run_one(std::string_view& bytes) {
  boost::beast::error_code ec;
  bhttp::request_parser<bhttp::empty_body> head_parser;
  head_parser.header_limit(http::request_header_limit);
  head_parser.body_limit(max_body_bytes);
  std::size_t used = head_parser.put(boost::asio::buffer(bytes.data(), bytes.size()), ec);
  if (ec || !head_parser.is_header_done()) {
    return false; // the session answers 400/431/413 or waits for more
  }
  bytes.remove_prefix(used);
  const auto& head = head_parser.get();
  auto checked = http::check_request_head(head, head_parser.chunked());
  if (checked.refusal) {
    return false;
  }
  if (auto length = head_parser.content_length(); length && *length > max_body_bytes) {
    return false;
  }
  const std::size_t head_fields = head_parser.chunked() ? http::field_count(head) : 0;
  bhttp::request_parser<bhttp::string_body> body_parser{std::move(head_parser)};
  body_parser.body_limit(max_body_bytes);
  // The session reads from a socket in pieces; Beast's parser needs whole chunk lines, so feed it
  // the way async_read does: everything buffered, again after each partial consumption.
  while (!body_parser.is_done()) {
    used = body_parser.put(boost::asio::buffer(bytes.data(), bytes.size()), ec);
    if (ec || used == 0) {
      return false; // malformed, or the client never finished: the session's body timeout answers
    }
    bytes.remove_prefix(used);
  }
  auto request = body_parser.release();
  if (http::check_trailers(head_fields, request)) {
    return false;
  }
  const bool keep_alive = request.keep_alive();
  if (checked.target_offset != 0) {
    request.target(std::string(request.target().substr(checked.target_offset)));
  }
  const auto& rules = rule_set();
  if (checked.classification.op == nullptr && !rules.reaches_non_catalog()) {
    return keep_alive;
  }
  http::fields_header_lookup headers(request);
  const gate::request_view view = http::gate_view(request, headers);
  const auto decision = gate::decide(rules, checked.classification, view, "00000000-0000-4000-8000-000000000000");
  check_forwarded(decision, request);
  const auto whole = gate::decide(whole_batches_rule_set(), checked.classification, view,
                                  "00000000-0000-4000-8000-000000000000");
  check_forwarded(whole, request);
  if (whole.what != (decision.what == gate::action::split ? gate::action::answer : decision.what)) {
    broken_promise("batches: whole decided otherwise than split, beyond answering a split batch");
  }
  if (decision.what == gate::action::split) {
    // HubSpot's answer for the forwarded items: as many results as items sent.
    std::string answer = R"({"status":"COMPLETE","results":[)";
    for (std::size_t i = 0; i < decision.kept_items.size(); ++i) {
      answer += i == 0 ? R"({"id":"1"})" : R"(,{"id":"1"})";
    }
    answer += R"(],"startedAt":"x","completedAt":"y"})";
    const auto stitched = gate::stitch(decision, 201, answer);
    if (stitched.status != 207) {
      broken_promise("a split batch is not answered 207");
    }
  }
  return keep_alive;
}

void run(std::string_view bytes) {
  for (int requests = 0; requests < 8 && !bytes.empty() && run_one(bytes);) {
    ++requests;
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  run(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
