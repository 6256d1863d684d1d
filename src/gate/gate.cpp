#include "hubgate/gate/gate.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "hubgate/hubspot/error_shape.hpp"
#include "hubgate/hubspot/json_skim.hpp"
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
    // A batch names its items however many it has: a caller reads inputIndex to find them.
    if (d.item_count > 1 || (d.op != nullptr && hubspot::is_batch(d.op->shape))) {
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

// The entries of a batch answer's `errors` for blocked items, as JSON text. StandardError's required
// fields (reference §4.2): category, context, errors, links, message, status. The items of a batch
// are mostly blocked by one rule: its message and name are escaped once, not once an item.
class blocked_error_writer {
public:
  // One item's entry.
  void append(const blocked_item& b, std::string& out) {
    if (!cached_ || !same_text(b.rule, rule_) || !same_text(b.message, message_)) {
      cache(b);
    }
    out += head_;
    char digits[24];
    const auto written = std::to_chars(digits, digits + sizeof digits, b.index);
    out.append(digits, written.ptr);
    if (!b.trace_id) {
      out += tail_;
      return;
    }
    out.append(tail_, 0, middle_size_);
    out += R"(,"objectWriteTraceId":[)";
    hubspot::append_json_string(out, *b.trace_id);
    out += "]";
    out.append(tail_, middle_size_);
  }

  // Every blocked item's entry, comma-separated.
  void append_all(const decision& split, std::string& out) {
    bool first = true;
    for (const auto& b : split.blocked) {
      if (!first) {
        out.push_back(',');
      }
      first = false;
      append(b, out);
    }
  }

  // About the bytes append_all() writes (more when escapes expand a text), to reserve them.
  static std::size_t estimate(const decision& split) {
    std::size_t bytes = 0;
    for (const auto& b : split.blocked) {
      bytes += 256 + 2 * b.rule.size() + b.message.size() + (b.trace_id ? b.trace_id->size() + 32 : 0);
    }
    return bytes;
  }

private:
  // The items' texts are views into the rule set: mostly the very same bytes.
  static bool same_text(std::string_view a, std::string_view b) noexcept {
    return (a.data() == b.data() && a.size() == b.size()) || a == b;
  }

  // The text of an entry before its input index and after it, for one rule and message.
  void cache(const blocked_item& b) {
    rule_ = b.rule;
    message_ = b.message;
    cached_ = true;
    // Room for the texts escaped: one allocation each, not one per doubling.
    head_.reserve(160 + 6 * std::max(b.message.size(), b.rule.size()));
    tail_.reserve(80 + 6 * b.rule.size());
    head_.assign(R"({"status":"error","category":")");
    head_ += policy_category;
    head_ += R"(","message":)";
    hubspot::append_json_string(head_, block_message(b));
    head_ += R"(,"context":{"inputIndex":[")";
    tail_.assign(R"("],"rule":[)");
    hubspot::append_json_string(tail_, b.rule);
    tail_ += "]";
    middle_size_ = tail_.size(); // an objectWriteTraceId goes here
    // No subCategory: HubSpot leaves it out when it has none, and `{}` reads as one to a caller.
    tail_ += R"(},"errors":[],"links":{}})";
  }

  bool cached_ = false;
  std::string_view rule_;
  std::string_view message_;
  std::string head_;      // up to the input index
  std::string tail_;      // after it
  std::size_t middle_size_ = 0;
};

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
                             extraction.records, request.headers, request.client, {}};
  std::vector<std::string> other_paths;
  if (rules.reads_paths()) {
    other_paths = hubspot::path_spellings(classification);
    facts.other_paths = other_paths;
  }
  d.evaluation = rules.evaluate(facts);

  const auto& records = extraction.records;
  // Both made only when needed: a forwarded request whose records are all allowed as they are
  // (the usual one) rebuilds nothing. One keep flag per record once a record is blocked.
  std::vector<bool> keep;
  // One per record once a record is rewritten; empty (rebuild()'s "no edits") until then.
  std::vector<hubspot::record_edit> edits;
  bool edited = false;
  bool unmade = false; // a rewrite of a call whose contacts hubgate cannot see
  for (std::size_t i = 0; i < d.evaluation.records.size(); ++i) {
    const auto& outcome = d.evaluation.records[i].enforced;
    const hubspot::contact_record* record = i < records.size() ? &records[i] : nullptr;
    if (outcome.decision == rules::verdict::block) {
      d.blocked.push_back({record != nullptr ? record->index : 0, outcome.rule, outcome.message, outcome.status,
                           record != nullptr ? record->object_write_trace_id : std::nullopt});
      if (record != nullptr) {
        keep.resize(records.size(), true);
        keep[i] = false;
      }
    } else if (outcome.rewritten() && record == nullptr) {
      // No record: an import or an opaque body hides its contacts, and the edit cannot be made;
      // an empty batch has none to edit.
      unmade = !hubspot::yields_records(op.shape);
    } else if (outcome.rewritten()) {
      edits.resize(records.size());
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
  if (unmade) {
    // An import or an opaque body: no record holds the properties to edit, and a rewrite is never
    // forwarded unmade.
    refuse(d, &op, "Request body refused by hubgate: this operation carries no contact properties to edit",
           correlation_id);
    return;
  }
  if (!d.blocked.empty()) {
    // Only HubSpot's v3 batches have a per-item answer (207) to stitch blocked items into; any
    // other shape is decided as a whole (a v1 batch answers 202 with no body, for one), and so is
    // a v3 batch under `batches: whole`.
    const bool per_item_answer =
        op.shape == hubspot::body_shape::crm_batch_create || op.shape == hubspot::body_shape::crm_batch_upsert;
    if (!per_item_answer || records.empty() || rules.batches() == rules::batch_policy::whole) {
      block_whole(d, correlation_id);
      return;
    }
    d.what = action::split;
    if (d.blocked.size() == records.size()) {
      d.reason = "every item blocked";
      return; // nothing to forward: stitch() answers alone
    }
    keep.resize(records.size(), true);
    // Dropping items alone leaves the body as pieces of the one received: no copy of the kept
    // items lives beside it while HubSpot answers.
    auto rebuilt = hubspot::rebuild(extraction, keep, edits, hubspot::rebuilt_form::pieces);
    if (!rebuilt.ok()) {
      refuse(d, &op, "Request body refused by hubgate: " + rebuilt.error, correlation_id);
      return;
    }
    if (rebuilt.pieces.empty()) {
      d.body = std::move(rebuilt.body);
    }
    d.body_pieces = std::move(rebuilt.pieces);
    d.kept_items = std::move(rebuilt.kept_items);
    d.reason = std::to_string(d.blocked.size()) + " of " + std::to_string(d.item_count) + " items blocked";
    return;
  }

  d.what = action::forward;
  if (edited) {
    keep.resize(records.size(), true);
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

// HubSpot's answer with the blocked items' errors spliced in and `numErrors` counting them, edited
// where it lies: the answer's top-level members are skimmed (hubspot/json_skim.hpp: their values
// are skipped, not read), not parsed into a DOM and written again, and only the bytes after an
// edit move (the edits are made from the last one back). false, and the answer untouched, when the
// skim does not understand it or it has no `results` array; stitch() then goes the slow way.
bool splice_errors(const decision& split, std::string& upstream_body) {
  static constexpr std::array<std::string_view, 3> names{"results", "errors", "numErrors"};
  std::array<std::optional<hubspot::skimmed_value>, 3> found;
  const std::optional<hubspot::skimmed_object> root = hubspot::skim_object(upstream_body, names, found);
  const auto& [results, errors, num_errors] = found;
  if (!root || !results || results->kind != hubspot::skim_kind::array) {
    return false;
  }
  const bool errors_array = errors && errors->kind == hubspot::skim_kind::array;
  std::size_t upstream_errors = 0;
  if (errors_array) {
    const std::optional<std::size_t> size = hubspot::skim_array_size(upstream_body, *errors);
    if (!size) {
      return false;
    }
    upstream_errors = *size;
  }
  char count_digits[24];
  const auto count_end =
      std::to_chars(count_digits, count_digits + sizeof count_digits, upstream_errors + split.blocked.size()).ptr;
  const std::string_view count(count_digits, static_cast<std::size_t>(count_end - count_digits));

  // At most three edits of the answer's bytes, made in the answer's order.
  enum class edit_kind : std::uint8_t { add_to_errors, replace_errors, replace_count, add_members };
  struct edit {
    std::uint32_t begin;
    std::uint32_t end;
    edit_kind kind;
  };
  std::array<edit, 3> edits{};
  std::size_t edit_count = 0;
  if (errors_array) {
    const std::uint32_t close = errors->end - 1;
    edits[edit_count++] = {close, close, edit_kind::add_to_errors};
  } else if (errors) {
    edits[edit_count++] = {errors->begin, errors->end, edit_kind::replace_errors};
  }
  if (num_errors) {
    edits[edit_count++] = {num_errors->begin, num_errors->end, edit_kind::replace_count};
  }
  if (!errors || !num_errors) {
    // Members the answer lacks go last, numErrors first, where assigning them to a DOM put them.
    const std::uint32_t close = root->end - 1;
    edits[edit_count++] = {close, close, edit_kind::add_members};
  }
  std::sort(edits.begin(), edits.begin() + static_cast<std::ptrdiff_t>(edit_count),
            [](const edit& a, const edit& b) { return a.begin < b.begin; });

  blocked_error_writer writer;
  std::string text;
  text.reserve(stitch_room(split));
  for (std::size_t e = edit_count; e-- > 0;) {
    const edit& next = edits[e];
    text.clear();
    switch (next.kind) {
      case edit_kind::add_to_errors:
        if (upstream_errors > 0) {
          text += ',';
        }
        writer.append_all(split, text);
        break;
      case edit_kind::replace_errors:
        text += '[';
        writer.append_all(split, text);
        text += ']';
        break;
      case edit_kind::replace_count: text += count; break;
      case edit_kind::add_members:
        if (!num_errors) {
          text += ",\"numErrors\":";
          text += count;
        }
        if (!errors) {
          text += ",\"errors\":[";
          writer.append_all(split, text);
          text += ']';
        }
        break;
    }
    upstream_body.replace(next.begin, next.end - next.begin, text);
  }
  return true;
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
    rules::request_facts facts{request.method, canonical.path, std::nullopt, {}, request.headers, request.client, {}};
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
  const hubspot::property_selection listed{detail == record_detail::every_property, rules.properties_read(),
                                           &rules.compared_values()};
  auto extraction =
      hubspot::extract(classification, request.body, request.content_type, listed, request.json_allowance);
  if (!extraction.ok()) {
    refuse(d, &op,
           "Request body refused by hubgate: " + extraction.error +
               (extraction.too_many_values ? ", more than it may read with the memory it has (--max-body-memory)" : ""),
           correlation_id);
    if (extraction.too_many_values) {
      d.answer.status = 413;
      d.too_many_values = true;
    }
    return d;
  }
  d.item_count = extraction.body.item_count;
  decide_records(d, rules, classification, request, extraction, correlation_id);
  d.records = std::move(extraction.records);
  d.record_texts = std::move(extraction.texts);
  return d;
}

std::optional<std::string> forwarded_body(const decision& d) {
  if (!d.body_pieces.empty()) {
    return hubspot::join_pieces(d.body_pieces);
  }
  return d.body;
}

std::size_t stitch_room(const decision& split) {
  return blocked_error_writer::estimate(split) + 64;
}

stitched_answer stitch(const decision& split, unsigned upstream_status, std::string upstream_body) {
  blocked_error_writer writer;
  if (split.kept_items.empty()) {
    // Nothing was forwarded: the whole answer is hubgate's, written as text in one pass (a batch
    // of many thousand blocked items must not cost a parse each).
    const std::string now = now_iso8601();
    std::string body;
    body.reserve(stitch_room(split) + 2 * now.size() + 128);
    body += R"({"status":"COMPLETE","results":[],"startedAt":")";
    body += now;
    body += R"(","completedAt":")";
    body += now;
    body += R"(","numErrors":)";
    body += std::to_string(split.blocked.size());
    body += R"(,"errors":[)";
    writer.append_all(split, body);
    body += "]}";
    return {207, std::move(body), true};
  }
  if (upstream_status < 200 || upstream_status > 299) {
    return {upstream_status, std::move(upstream_body)};
  }
  if (splice_errors(split, upstream_body)) {
    return {207, std::move(upstream_body), true};
  }
  // An answer the skim does not understand: read whole, as a DOM.
  auto answer = hubspot::parse_answer(upstream_body);
  if (answer.is_discarded() || !answer.is_object() || !answer.contains("results") || !answer["results"].is_array()) {
    return {upstream_status, std::move(upstream_body)};
  }
  auto errors =
      answer.contains("errors") && answer["errors"].is_array() ? answer["errors"] : nlohmann::ordered_json::array();
  std::string text = "[";
  writer.append_all(split, text);
  text += ']';
  for (auto& entry : nlohmann::ordered_json::parse(text)) {
    errors.push_back(std::move(entry));
  }
  answer["numErrors"] = errors.size();
  answer["errors"] = std::move(errors);
  return {207, answer.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), true};
}

} // namespace hubgate::gate
