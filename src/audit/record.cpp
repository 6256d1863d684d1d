#include "hubgate/audit/record.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "hubgate/hubspot/email.hpp"
#include "hubgate/hubspot/json_skim.hpp"

namespace hubgate::audit {

namespace {

using json = nlohmann::ordered_json;

// An id as text: HubSpot sends v3 ids as strings and legacy vids as numbers.
std::string id_text(const json& value) {
  if (value.is_string()) {
    return value.get<std::string>();
  }
  if (value.is_number_integer()) {
    return value.dump();
  }
  return {};
}

const json* member(const json& object, std::string_view name) {
  if (!object.is_object()) {
    return nullptr;
  }
  const auto it = object.find(name);
  return it == object.end() ? nullptr : &*it;
}

std::optional<bool> flag(const json& object, std::string_view name) {
  const json* value = member(object, name);
  return value != nullptr && value->is_boolean() ? std::optional<bool>(value->get<bool>()) : std::nullopt;
}

// The id in one answer object: v3 `id`, legacy `vid`.
std::string object_id(const json& object) {
  if (const json* id = member(object, "id")) {
    return id_text(*id);
  }
  if (const json* vid = member(object, "vid")) {
    return id_text(*vid);
  }
  return {};
}

// The email an answer object names: v3 `properties.email`, or a top-level `email`.
std::string object_email(const json& object) {
  const json* email = nullptr;
  if (const json* properties = member(object, "properties")) {
    email = member(*properties, "email");
  }
  if (email == nullptr) {
    email = member(object, "email");
  }
  return email != nullptr && email->is_string() ? hubspot::normalise_email(email->get<std::string>()) : std::string{};
}

std::optional<bool> created_flag(const json& object, hubspot::operation_kind kind) {
  if (auto is_new = flag(object, "new")) {
    return is_new;
  }
  if (auto is_new = flag(object, "isNew")) {
    return is_new;
  }
  return kind == hubspot::operation_kind::create ? std::optional<bool>(true) : std::nullopt;
}

// The result a batch answer gives `record`, by trace id or email; nullptr when none says.
const json* result_naming(const json& results, const hubspot::contact_record& record, std::vector<bool>& taken) {
  const std::string email = record.normalised_email ? std::string(*record.normalised_email)
                            : record.email           ? hubspot::normalise_email(*record.email)
                                                     : std::string{};
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (taken[i]) {
      continue;
    }
    const json& result = results[i];
    const json* trace = member(result, "objectWriteTraceId");
    const bool same_trace = record.object_write_trace_id && trace != nullptr && trace->is_string() &&
                            trace->get<std::string>() == *record.object_write_trace_id;
    if (same_trace || (!email.empty() && object_email(result) == email)) {
      taken[i] = true;
      return &result;
    }
  }
  return nullptr;
}

void describe_outcome(json& out, const rules::outcome& o) {
  out["decision"] = rules::verdict_word(o);
  if (!o.rule.empty()) {
    out["rule"] = o.rule;
  }
  if (o.rewritten()) {
    json rules_named = json::array();
    for (const auto& edit : o.edits) {
      if (std::find(rules_named.begin(), rules_named.end(), edit.rule) == rules_named.end()) {
        rules_named.push_back(edit.rule);
      }
    }
    out["edited_by"] = std::move(rules_named);
  }
}

} // namespace

std::string format_time(std::chrono::system_clock::time_point t) {
  const auto since_epoch = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch());
  const std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[40];
  const std::size_t n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(text + n, sizeof text - n, ".%03dZ", static_cast<int>(since_epoch.count() % 1000));
  return text;
}

std::vector<contact_id> contact_ids(const gate::decision& gate, unsigned upstream_status, std::string_view answer) {
  std::vector<contact_id> out;
  if (gate.op == nullptr || upstream_status < 200 || upstream_status > 299 || answer.empty()) {
    return out;
  }
  // The records that went to HubSpot, in the order they were sent.
  std::vector<std::size_t> sent;
  for (std::size_t i = 0; i < gate.records.size() && i < gate.evaluation.records.size(); ++i) {
    if (gate.evaluation.records[i].enforced.decision != rules::verdict::block) {
      sent.push_back(i);
    }
  }
  const json body = hubspot::parse_answer(answer);
  if (body.is_discarded() || sent.empty()) {
    return out;
  }
  const hubspot::operation_kind kind = gate.op->kind;
  const json* results = member(body, "results");
  if (results == nullptr || !results->is_array()) {
    std::string id = object_id(body);
    if (!id.empty() && sent.size() == 1) {
      out.push_back({sent.front(), std::move(id), created_flag(body, kind)});
    }
    return out;
  }
  std::vector<bool> taken(results->size(), false);
  std::vector<const json*> matched(sent.size(), nullptr);
  for (std::size_t n = 0; n < sent.size(); ++n) {
    matched[n] = result_naming(*results, gate.records[sent[n]], taken);
  }
  // The results that name no record go by position when there is one per record sent; that is
  // a guess unless a single record is left to take one.
  const auto unmatched = static_cast<std::size_t>(std::count(matched.begin(), matched.end(), nullptr));
  const bool one_each = results->size() == sent.size();
  const auto untaken = std::find(taken.begin(), taken.end(), false);
  for (std::size_t n = 0; n < sent.size(); ++n) {
    const json* result = matched[n];
    bool by_position = false;
    if (result == nullptr && one_each && unmatched == 1 && untaken != taken.end()) {
      // The one record left takes the one result left, wherever it is.
      result = &(*results)[static_cast<std::size_t>(untaken - taken.begin())];
    } else if (result == nullptr && one_each && !taken[n]) {
      by_position = true;
      taken[n] = true;
      result = &(*results)[n];
    }
    if (result == nullptr) {
      continue;
    }
    std::string id = object_id(*result);
    if (!id.empty()) {
      out.push_back({sent[n], std::move(id), created_flag(*result, kind), by_position});
    }
  }
  return out;
}

std::string audit_line(const request_summary& request, const email_redactor* redactor) {
  json line;
  line["time"] = format_time(request.time);
  if (!request.correlation_id.empty()) {
    line["correlation_id"] = request.correlation_id;
  }
  json client = json::object();
  if (!request.client.name.empty()) {
    client["name"] = request.client.name;
  }
  if (!request.client.address.empty()) {
    client["address"] = request.client.address;
  }
  if (!request.client.user_agent.empty()) {
    client["user_agent"] = request.client.user_agent;
  }
  if (!request.client.token.empty()) {
    client["token"] = request.client.token;
  }
  line["client"] = std::move(client);
  if (request.op != nullptr) {
    line["operation"] = request.op->name;
  }
  line["decision"] = request.decision;
  line["status"] = request.status;
  if (request.upstream_status != 0) {
    line["upstream_status"] = request.upstream_status;
  }
  if (!request.rules_hash.empty()) {
    line["rules"] = request.rules_hash.substr(0, 12);
  }

  json records = json::array();
  if (const gate::decision* gate = request.gate) {
    const auto ids = contact_ids(*gate, request.upstream_status, request.answer);
    for (std::size_t i = 0; i < gate->evaluation.records.size(); ++i) {
      const rules::record_decision& decided = gate->evaluation.records[i];
      const hubspot::contact_record* record = i < gate->records.size() ? &gate->records[i] : nullptr;
      json entry;
      entry["index"] = record != nullptr ? record->index : decided.index;
      if (record != nullptr && record->email && !record->email->empty()) {
        entry["email"] = redactor != nullptr ? redactor->redact(*record->email) : std::string(*record->email);
      }
      describe_outcome(entry, decided.enforced);
      if (decided.shadow && *decided.shadow != decided.enforced) {
        json shadow;
        describe_outcome(shadow, *decided.shadow);
        entry["shadow"] = std::move(shadow);
      }
      for (const auto& id : ids) {
        if (id.record == i && !id.by_position) {
          entry["id"] = id.id;
          if (id.created) {
            entry["created"] = *id.created;
          }
        }
      }
      records.push_back(std::move(entry));
    }
  }
  line["records"] = std::move(records);
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

} // namespace hubgate::audit
