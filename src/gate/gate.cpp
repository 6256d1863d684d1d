#include "hubgate/gate/gate.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "hubgate/hubspot/error_shape.hpp"
#include "hubgate/hubspot/json_scan.hpp"
#include "hubgate/hubspot/rebuild.hpp"
#include "hubgate/hubspot/text.hpp"

namespace hubgate::gate {

namespace {

constexpr std::string_view policy_category = "POLICY_BLOCKED";

bool is_forms(const hubspot::operation& op) {
  return op.upstream == hubspot::upstream_id::forms;
}

std::string block_message(const blocked_item& item) {
  if (!item.message.empty()) {
    return std::string(item.message);
  }
  if (item.rule == rules::default_rule_name) {
    return "Creating contacts through the API is not allowed here (hubgate's default rule)";
  }
  return "Blocked by hubgate rule '" + std::string(item.rule) + "'";
}

// A request hubgate refuses to read: it is answered 400 and never forwarded (fail closed).
// The helpers below fill in the caller's decision: it is a large value, and moving it in and out
// of each helper cost more than some decisions did.
void refuse(decision& d, const hubspot::operation* op, std::string reason, std::string_view correlation_id) {
  d.what = action::answer;
  d.answer.status = 400;
  d.answer.body = op != nullptr && is_forms(*op) ? hubspot::forms_error_body(reason, "INVALID_REQUEST", correlation_id)
                                                 : hubspot::error_body(reason, "VALIDATION_ERROR", correlation_id);
  d.reason = std::move(reason);
}

// The whole request blocked: the first blocked record's rule speaks for it, and the context
// names every blocked item so the caller can fix its input.
void block_whole(decision& d, std::string_view correlation_id) {
  const blocked_item& first = d.blocked.front();
  d.what = action::answer;
  d.answer.status = first.status;
  std::string message = block_message(first);
  if (d.op != nullptr && is_forms(*d.op)) {
    d.answer.body = hubspot::forms_error_body(message, std::string(policy_category), correlation_id);
  } else {
    hubspot::error_context context{{"rule", {}}};
    for (const auto& b : d.blocked) {
      auto& rules_named = context[0].second;
      if (std::find(rules_named.begin(), rules_named.end(), b.rule) == rules_named.end()) {
        rules_named.emplace_back(b.rule);
      }
    }
    if (d.item_count > 1) {
      std::vector<std::string> indexes;
      for (const auto& b : d.blocked) {
        indexes.push_back(std::to_string(b.index));
      }
      context.emplace_back("inputIndex", std::move(indexes));
      message += " (" + std::to_string(d.blocked.size()) + " of " + std::to_string(d.item_count) +
                 " items blocked; the request is decided as a whole)";
    }
    d.answer.body = hubspot::error_body(message, policy_category, correlation_id, context);
  }
  d.reason = "blocked by " + std::string(first.rule);
}

// One blocked item's entry of a batch answer's `errors`, as JSON text. StandardError's required
// fields (reference §4.2): category, context, errors, links, message, status.
void append_blocked_error(const blocked_item& b, std::string& out) {
  out += R"({"status":"error","category":")";
  out += policy_category;
  out += R"(","message":)";
  hubspot::append_json_string(out, block_message(b));
  out += R"(,"context":{"inputIndex":[")";
  out += std::to_string(b.index);
  out += R"("],"rule":[)";
  hubspot::append_json_string(out, b.rule);
  out += "]";
  if (b.trace_id) {
    out += R"(,"objectWriteTraceId":[)";
    hubspot::append_json_string(out, *b.trace_id);
    out += "]";
  }
  out += R"(},"errors":[],"links":{},"subCategory":{}})";
}

std::string now_iso8601() {
  // The SDK requires startedAt/completedAt on a batch answer; an answer without an upstream call
  // reports when hubgate decided it.
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

// The rules applied to the records of a catalog request whose body was read.
void decide_records(decision& d, const rules::rule_set& rules, const hubspot::classification& classification,
                        const request_view& request, const hubspot::extraction& extraction,
                        std::string_view correlation_id) {
  const hubspot::operation& op = *d.op;
  rules::request_facts facts{request.method, classification.canonical_path, rules::operation_ref{op.name, op.kind},
                             extraction.records, request.headers, request.client};
  d.evaluation = rules.evaluate(facts);

  const auto& records = extraction.records;
  std::vector<bool> keep(records.size(), true);
  std::vector<hubspot::record_edit> edits(records.size());
  bool edited = false;
  for (std::size_t i = 0; i < d.evaluation.records.size(); ++i) {
    const auto& outcome = d.evaluation.records[i].enforced;
    const hubspot::contact_record* record = i < records.size() ? &records[i] : nullptr;
    if (outcome.decision == rules::verdict::block) {
      d.blocked.push_back({record != nullptr ? record->index : 0, outcome.rule, outcome.message, outcome.status,
                           record != nullptr ? record->object_write_trace_id : std::nullopt});
      if (record != nullptr) {
        keep[i] = false;
      }
    } else if (outcome.rewritten() && record != nullptr) {
      for (const auto& e : outcome.edits) {
        if (e.value) {
          edits[i].set.emplace_back(e.property, *e.value);
        } else {
          edits[i].remove.emplace_back(e.property);
        }
      }
      edited = true;
    }
  }

  d.forward_target = classification.forward_target;
  if (!d.blocked.empty()) {
    // Only HubSpot's v3 batches have a per-item answer (207) to stitch blocked items into; any
    // other shape is decided as a whole (a v1 batch answers 202 with no body, for one).
    const bool per_item_answer =
        op.shape == hubspot::body_shape::crm_batch_create || op.shape == hubspot::body_shape::crm_batch_upsert;
    if (!per_item_answer || records.empty()) {
      block_whole(d, correlation_id);
      return;
    }
    d.what = action::split;
    if (d.blocked.size() == records.size()) {
      d.reason = "every item blocked";
      return; // nothing to forward: stitch() answers alone
    }
    auto rebuilt = hubspot::rebuild(extraction, keep, edits);
    if (!rebuilt.ok()) {
      refuse(d, &op, "Request body refused by hubgate: " + rebuilt.error, correlation_id);
      return;
    }
    d.body = std::move(rebuilt.body);
    d.kept_items = std::move(rebuilt.kept_items);
    d.reason = std::to_string(d.blocked.size()) + " of " + std::to_string(d.item_count) + " items blocked";
    return;
  }

  d.what = action::forward;
  if (edited) {
    auto rebuilt = hubspot::rebuild(extraction, keep, edits);
    if (!rebuilt.ok()) {
      refuse(d, &op, "Request body refused by hubgate: " + rebuilt.error, correlation_id);
      return;
    }
    if (!rebuilt.unchanged) {
      d.body = std::move(rebuilt.body);
      d.reason = "rewritten";
    }
  }
}

std::string blocked_errors_text(const decision& split) {
  std::string out;
  for (const auto& b : split.blocked) {
    if (!out.empty()) {
      out.push_back(',');
    }
    append_blocked_error(b, out);
  }
  return out;
}

// HubSpot's answer with the blocked items' errors spliced in and `numErrors` counting them, its
// own bytes kept: the answer is scanned, not parsed into a DOM and written again. nullopt when the
// strict scanner refuses the answer or it has no `results` array; stitch() then goes the slow way.
std::optional<std::string> splice_errors(const decision& split, std::string_view upstream_body) {
  hubspot::json_document document;
  if (!document.scan(upstream_body) || !document.root().is_object()) {
    return std::nullopt;
  }
  const hubspot::json_value root = document.root();
  std::optional<hubspot::json_value> results;
  std::optional<hubspot::json_value> errors;
  std::optional<hubspot::json_value> num_errors;
  for (const auto& [key, value] : root.members()) {
    if (key.string_equals("results")) {
      results = value;
    } else if (key.string_equals("errors")) {
      errors = value;
    } else if (key.string_equals("numErrors")) {
      num_errors = value;
    }
  }
  if (!results || !results->is_array()) {
    return std::nullopt;
  }
  struct splice {
    std::uint32_t begin;
    std::uint32_t end;
    std::string text;
  };
  const std::string added = blocked_errors_text(split);
  const std::size_t upstream_errors = errors && errors->is_array() ? errors->size() : 0;
  const std::string count = std::to_string(upstream_errors + split.blocked.size());
  std::vector<splice> splices;
  if (errors && errors->is_array()) {
    const std::uint32_t close = errors->end_offset() - 1;
    splices.push_back({close, close, (upstream_errors > 0 ? "," : "") + added});
  } else if (errors) {
    splices.push_back({errors->begin_offset(), errors->end_offset(), "[" + added + "]"});
  }
  if (num_errors) {
    splices.push_back({num_errors->begin_offset(), num_errors->end_offset(), count});
  }
  // Members the answer lacks go last, numErrors first, where assigning them to a DOM put them.
  std::string appended;
  if (!num_errors) {
    appended += ",\"numErrors\":" + count;
  }
  if (!errors) {
    appended += ",\"errors\":[" + added + "]";
  }
  if (!appended.empty()) {
    const std::uint32_t close = root.end_offset() - 1;
    splices.push_back({close, close, std::move(appended)});
  }
  std::sort(splices.begin(), splices.end(), [](const splice& a, const splice& b) { return a.begin < b.begin; });
  std::string out;
  out.reserve(upstream_body.size() + added.size() + 64);
  std::uint32_t at = 0;
  for (const splice& s : splices) {
    out.append(upstream_body.substr(at, s.begin - at));
    out += s.text;
    at = s.end;
  }
  out.append(upstream_body.substr(at));
  return out;
}

} // namespace

decision decide(const rules::rule_set& rules, const hubspot::classification& classification,
                const request_view& request, std::string_view correlation_id, record_detail detail) {
  decision d;
  if (classification.op == nullptr) {
    // Outside the catalog: only rules about method, path or headers can apply.
    if (!rules.reaches_non_catalog()) {
      return d;
    }
    auto canonical = hubspot::canonicalise(request.target);
    if (!canonical.error.empty()) {
      refuse(d, nullptr, canonical.error, correlation_id);
      return d;
    }
    rules::request_facts facts{request.method, canonical.path, std::nullopt, {}, request.headers, request.client};
    d.evaluation = rules.evaluate(facts);
    for (const auto& r : d.evaluation.records) {
      if (r.enforced.decision == rules::verdict::block) {
        d.blocked.push_back({0, r.enforced.rule, r.enforced.message, r.enforced.status, {}});
        block_whole(d, correlation_id);
        return d;
      }
    }
    return d;
  }

  const hubspot::operation& op = *classification.op;
  d.op = &op;
  if (!request.content_encoding.empty() && !hubspot::iequals_ascii(request.content_encoding, "identity")) {
    // Integrity, body encodings: any Content-Encoding is rejected, since a body hubgate cannot read
    // is a body it cannot check (charsets, BOM and media types: hubspot/extract.cpp).
    refuse(d, &op,
           "Content-Encoding '" + std::string(request.content_encoding) + "' is not accepted on " +
               std::string(op.name) + ": send the body uncompressed",
           correlation_id);
    return d;
  }
  const hubspot::property_selection listed{detail == record_detail::every_property, rules.properties_read()};
  auto extraction = hubspot::extract(classification, request.body, request.content_type, listed);
  if (!extraction.ok()) {
    refuse(d, &op, "Request body refused by hubgate: " + extraction.error, correlation_id);
    return d;
  }
  d.item_count = extraction.body.item_count;
  decide_records(d, rules, classification, request, extraction, correlation_id);
  d.records = std::move(extraction.records);
  d.record_texts = std::move(extraction.texts);
  return d;
}

stitched_answer stitch(const decision& split, unsigned upstream_status, std::string_view upstream_body) {
  nlohmann::ordered_json answer;
  if (split.kept_items.empty()) {
    auto now = now_iso8601();
    answer = {
        {"status", "COMPLETE"}, {"results", nlohmann::ordered_json::array()}, {"startedAt", now}, {"completedAt", now}};
  } else {
    if (upstream_status < 200 || upstream_status > 299) {
      return {upstream_status, std::string(upstream_body)};
    }
    if (auto spliced = splice_errors(split, upstream_body)) {
      return {207, std::move(*spliced)};
    }
    answer = nlohmann::ordered_json::parse(upstream_body, nullptr, false);
    if (answer.is_discarded() || !answer.is_object() || !answer.contains("results") || !answer["results"].is_array()) {
      return {upstream_status, std::string(upstream_body)};
    }
  }
  auto errors =
      answer.contains("errors") && answer["errors"].is_array() ? answer["errors"] : nlohmann::ordered_json::array();
  for (const auto& b : split.blocked) {
    std::string text;
    append_blocked_error(b, text);
    errors.push_back(nlohmann::ordered_json::parse(text));
  }
  answer["numErrors"] = errors.size();
  answer["errors"] = std::move(errors);
  return {207, answer.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
}

} // namespace hubgate::gate
