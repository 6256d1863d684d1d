#pragma once
// What a session reports about each request it finished: the counters (proxy_metrics), a log line
// when shadow rules would have decided differently, and, for contact-creating calls with the audit
// trail on, the audit entry. The session fills a request_report as the request goes and hands it
// to report_request() once, when the request is answered; on the common path (a call that creates
// no contact) that is a few relaxed atomic increments and nothing else.
//
// A request_report only points at what the session holds for the request (its decision, rules
// snapshot, message, stream): valid until the request is answered, which is when it is read.

#include <boost/beast/http/message.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "audit/trail.hpp"
#include "hubgate/access/client_ledger.hpp"
#include "http/error_reply.hpp"
#include "hubgate/gate/gate.hpp"
#include "hubgate/hubspot/operation.hpp"
#include "hubgate/metrics/proxy_metrics.hpp"
#include "io/executor.hpp"
#include "io/tcp_stream.hpp"
#include "reload/rules_in_force.hpp"

namespace hubgate::server {

struct report_sinks {
  metrics::proxy_metrics& metrics;
  access::client_ledger& clients; // per-client counts and budgets
  audit::trail* audit = nullptr;  // nullptr: no audit trail
};

class request_report {
 public:
  using request_type = boost::beast::http::request_header<>; // the audit reads its headers only

  // The head named a catalog operation (nullptr: not a contact-creating call).
  void classified(const hubspot::operation* op, const io::tcp_stream& client) {
    op_ = op;
    client_ = &client;
  }
  // Its key named this client (auth: clients); the audit names it rather than fingerprinting the
  // Authorization header, which by then holds the upstream token.
  void identified(std::string_view client_name) { client_name_ = client_name; }
  // The gate step was reached, under `rules`; `decision` says what it did with `request`.
  void decided(const gate::decision& decision, const reload::loaded_rules& rules, const request_type& request) {
    decision_ = &decision;
    rules_ = &rules;
    request_ = &request;
  }
  void upstream_begin(hubspot::upstream_id upstream) {
    upstream_ = upstream;
    upstream_started_ = std::chrono::steady_clock::now();
  }
  // The exchange is over (its duration ends when the request is reported); `failure` as it reported.
  void upstream_end(const std::optional<http::error_reply>& failure);
  // The answer broke off after its head reached the client: an upstream error all the same.
  void upstream_broke_off(bool timed_out);
  // HubSpot's answer, read whole (see wants_answer), for the ids the audit entry records.
  void answered(const std::string& body) { answer_ = &body; }
  // Refused for who sent it rather than for what it is: `unauthorized` or `over_budget`.
  void refused(metrics::request_decision why) { refused_ = why; }

 private:
  friend void report_request(const report_sinks&, const request_report&, unsigned, unsigned, std::string_view,
                             std::chrono::steady_clock::time_point);
  void write_audit(audit::trail& trail, metrics::request_decision decision, unsigned status, unsigned upstream_status,
                   std::string_view correlation_id) const;

  const hubspot::operation* op_ = nullptr;
  const io::tcp_stream* client_ = nullptr;
  std::string_view client_name_;
  const gate::decision* decision_ = nullptr;
  const reload::loaded_rules* rules_ = nullptr;
  const request_type* request_ = nullptr;
  const std::string* answer_ = nullptr;
  std::optional<hubspot::upstream_id> upstream_;
  std::chrono::steady_clock::time_point upstream_started_;
  std::optional<metrics::upstream_error> upstream_error_;
  std::optional<metrics::request_decision> refused_;
};

// Whether the session should read HubSpot's answer to this request whole rather than stream it:
// only with the audit trail on, only for contact-creating calls that reach HubSpot (their answers
// are small JSON), so that the audit entry can name the contacts created.
bool wants_answer(const report_sinks& sinks, const gate::decision& decision);

// Counts the request and writes what it owes the log and the audit trail. `status`: what the
// client was answered; `upstream_status`: HubSpot's status, 0 when there was none; `now`: the
// request's end (the caller's clock reading, shared with its access log: clock reads cost).
void report_request(const report_sinks& sinks, const request_report& report, unsigned status, unsigned upstream_status,
                    std::string_view correlation_id, std::chrono::steady_clock::time_point now);

} // namespace hubgate::server
