#include "hubgate/access/new_contacts.hpp"

#include "hubgate/audit/record.hpp"
#include "hubgate/hubspot/json_skim.hpp"
#include "hubgate/hubspot/text.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace hubgate::access {

namespace {

// An SMTP token made with `createContact: true` lets its holder create contacts through HubSpot's
// SMTP relay, unseen and uncounted. The extractor makes a record of such a token only (the
// default is false); a rewrite may still have turned it off.
bool token_creates_contacts(const gate::decision& decision) {
  if (decision.records.empty()) {
    return false;
  }
  if (!decision.evaluation.records.empty()) {
    for (const auto& edit : decision.evaluation.records.front().enforced.edits) {
      if (hubspot::iequals_ascii(edit.property, "createContact")) {
        return edit.value != "false";
      }
    }
  }
  return true;
}

bool blocked(const gate::decision& decision, std::size_t record) {
  return record < decision.evaluation.records.size() &&
         decision.evaluation.records[record].enforced.decision == rules::verdict::block;
}

} // namespace

std::optional<std::uint64_t> potential_new_contacts(const gate::decision& decision) {
  if (decision.op == nullptr ||
      (decision.what != gate::action::forward && decision.what != gate::action::split)) {
    return 0;
  }
  const auto shape = decision.op->shape;
  if (shape == hubspot::body_shape::smtp_token) {
    return token_creates_contacts(decision) ? std::nullopt : std::optional<std::uint64_t>(0);
  }
  if (decision.records.empty()) {
    if (shape == hubspot::body_shape::import_multipart || shape == hubspot::body_shape::opaque) {
      return std::nullopt;
    }
    return 1;
  }
  std::uint64_t potential = 0;
  for (std::size_t i = 0; i < decision.records.size(); ++i) {
    const hubspot::contact_record& record = decision.records[i];
    // A v1 batch item named by its vid alone updates that contact, or fails: HubSpot creates
    // none for it (with an email as well, it might).
    const bool update_by_vid = record.id_property == "vid" && (!record.email || record.email->empty());
    if (!blocked(decision, i) && !update_by_vid) {
      ++potential;
    }
  }
  return potential;
}

std::uint64_t reported_new_contacts(const gate::decision& decision, unsigned status, std::string_view body,
                                    std::uint64_t potential) {
  if (status >= 500) {
    // A gateway's 502 or 504 may come after HubSpot made the contacts: counted in full, as an
    // answer that never came is.
    return potential;
  }
  if (status < 200 || status > 299) {
    return 0;
  }
  // Each contact sent counts unless the answer says otherwise: a result saying `new: false`, or
  // an error of a 207 (one per failed input). Results the answer leaves out count.
  const auto ids = audit::contact_ids(decision, status, body);
  const auto not_new = static_cast<std::uint64_t>(std::count_if(ids.begin(), ids.end(), [](const audit::contact_id& id) {
    return !id.created.value_or(true);
  }));
  std::uint64_t failed = 0;
  if (body.find("\"errors\"") != std::string_view::npos) {
    const auto answer = hubspot::parse_answer(body);
    if (answer.is_object() && answer.contains("errors") && answer["errors"].is_array()) {
      failed = answer["errors"].size();
    }
  }
  const std::uint64_t answered = std::min<std::uint64_t>(ids.size(), potential);
  failed = std::min(failed, potential - answered);
  return potential - std::min(not_new, potential) - failed;
}

} // namespace hubgate::access
