#include "http/error_reply.hpp"

#include "hubgate/hubspot/error_shape.hpp"

namespace hubgate::http {

bhttp::response<bhttp::string_body> make_json_response(unsigned status, std::string body,
                                                       std::string_view correlation_id, unsigned version,
                                                       bool keep_alive, bool retry_can_help) {
  bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(status), version};
  res.set(bhttp::field::content_type, "application/json;charset=utf-8");
  res.set("x-hubgate-correlation-id", correlation_id);
  if (!retry_can_help) {
    res.set("x-should-retry", "false");
  }
  res.body() = std::move(body);
  res.keep_alive(keep_alive);
  res.prepare_payload();
  return res;
}

bhttp::response<bhttp::string_body> make_error_response(const error_reply& reply, std::string_view correlation_id,
                                                        unsigned version, bool keep_alive) {
  return make_json_response(static_cast<unsigned>(reply.status),
                            reply.forms_shape ? hubspot::forms_error_body(reply.message, reply.category, correlation_id)
                                              : hubspot::error_body(reply.message, reply.category, correlation_id),
                            correlation_id, version, keep_alive, reply.retry_can_help);
}

} // namespace hubgate::http
