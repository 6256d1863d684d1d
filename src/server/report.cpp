#include "server/report.hpp"

#include <boost/beast/http/field.hpp>

#include "hubgate/audit/record.hpp"
#include "logging/log.hpp"

namespace hubgate::server {

namespace {

namespace bhttp = boost::beast::http;

// "item 1: block by flag-free-mail; item 3: rewrite by tag-leads": the records whose shadow
// outcome differs from what happened. Empty when none does (the common case).
std::string shadow_summary(const rules::evaluation& evaluation) {
  std::string out;
  for (const auto& record : evaluation.records) {
    if (!record.shadow || *record.shadow == record.enforced) {
      continue;
    }
    const rules::outcome& shadow = *record.shadow;
    out += out.empty() ? "" : "; ";
    out += "item " + std::to_string(record.index) + ": ";
    if (shadow.decision == rules::verdict::block) {
      out += "block by " + std::string(shadow.rule);
    } else if (shadow.rewritten()) {
      out += "rewrite by " + std::string(shadow.edits.front().rule);
    } else {
      out += "allow by " + std::string(shadow.rule);
    }
  }
  return out;
}

} // namespace

void request_report::upstream_end(const std::optional<http::error_reply>& failure) {
  if (failure) {
    upstream_error_ = metrics::classify_upstream_failure(static_cast<unsigned>(failure->status), failure->message);
  }
}

void request_report::upstream_broke_off(bool timed_out) {
  upstream_error_ = timed_out ? metrics::upstream_error::timeout : metrics::upstream_error::reset;
}

bool wants_answer(const report_sinks& sinks, const gate::decision& decision) {
  return sinks.audit != nullptr && decision.op != nullptr &&
         (decision.what == gate::action::forward || decision.what == gate::action::split);
}

void report_request(const report_sinks& sinks, const request_report& report, unsigned status, unsigned upstream_status,
                    std::string_view correlation_id, std::chrono::steady_clock::time_point now) {
  const auto decision = report.refused_.value_or(metrics::classify_decision(report.decision_));
  sinks.metrics.count_request(report.op_, decision, status);
  if (report.upstream_) {
    if (report.upstream_error_) {
      sinks.metrics.count_upstream_error(*report.upstream_, *report.upstream_error_);
    } else if (upstream_status != 0) {
      sinks.metrics.observe_upstream(
          *report.upstream_, std::chrono::duration_cast<std::chrono::microseconds>(now - report.upstream_started_));
    }
  }
  const gate::decision* gate = report.decision_;
  if (gate != nullptr && !gate->evaluation.untouched()) {
    // A request refused after the rules (a rewrite that cannot be made, a batch blocked whole) or
    // one HubSpot never answered took no edit to HubSpot: its edits are not counted as made.
    sinks.metrics.count_records(report.rules_->slots, gate->evaluation, upstream_status != 0);
    if (gate->evaluation.records.front().shadow) { // the rule set has shadow rules
      if (const auto summary = shadow_summary(gate->evaluation); !summary.empty()) {
        logging::info("shadow verdict", {{"operation", report.op_ != nullptr ? report.op_->name : std::string_view()},
                                         {"correlation_id", correlation_id},
                                         {"shadow", summary}});
      }
    }
  }
  if (sinks.audit == nullptr || report.op_ == nullptr) {
    return;
  }

  // The audit entry: only contact-creating calls get here, so its work is off the common path.
  // Nothing may throw into the session: an entry that cannot be built is lost and said so.
  try {
    report.write_audit(*sinks.audit, decision, status, upstream_status, correlation_id);
  } catch (const std::exception& e) {
    logging::error("audit entry lost", {{"correlation_id", correlation_id}, {"reason", e.what()}});
  }
}

void request_report::write_audit(audit::trail& trail, metrics::request_decision decision, unsigned status,
                                 unsigned upstream_status, std::string_view correlation_id) const {
  std::string address;
  if (client_ != nullptr) {
    boost::system::error_code ec;
    const auto remote = client_->socket().remote_endpoint(ec);
    if (!ec) {
      address = remote.address().to_string();
    }
  }
  std::string token;
  std::string_view user_agent;
  std::string redacted_user_agent;
  if (request_ != nullptr) {
    const auto& request = *request_;
    if (client_name_.empty()) {
      token = audit::token_fingerprint(request[bhttp::field::authorization], request.target());
    }
    user_agent = request[bhttp::field::user_agent];
    // Some agents carry an operator's address (`+mailto:ops@corp.io`): no contact's, but an email
    // all the same, so its local part is not written.
    if (logging::may_hold_email(user_agent)) {
      redacted_user_agent = logging::redact_emails(user_agent);
      user_agent = redacted_user_agent;
    }
  }
  audit::request_summary summary;
  summary.time = std::chrono::system_clock::now();
  summary.correlation_id = correlation_id;
  summary.client = {client_name_, address, user_agent, token};
  summary.op = op_;
  summary.decision = metrics::to_string(decision);
  summary.status = status;
  summary.upstream_status = upstream_status;
  summary.gate = decision_;
  if (rules_ != nullptr) {
    summary.rules_hash = rules_->sha256;
  }
  if (answer_ != nullptr) {
    summary.answer = *answer_;
  }
  const bool full_pii = rules_ != nullptr && rules_->rules->audit_pii_mode() == rules::audit_pii::full;
  trail.submit(audit::audit_line(summary, full_pii ? nullptr : &trail.redactor()));
}

} // namespace hubgate::server
