#pragma once
// Answers hubgate gives itself (it never reached HubSpot, or HubSpot could not be reached), in
// HubSpot's error shape so that SDKs parse them like HubSpot's own (reference §4.1):
//   {"status":"error","message":"…","correlationId":"<uuid v4>","category":"…"}
// with Content-Type application/json;charset=utf-8 and, where a retry cannot help,
// x-should-retry: false.

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <string>
#include <string_view>

namespace hubgate::http {

namespace bhttp = boost::beast::http;

struct error_reply {
  bhttp::status status;
  std::string_view category;
  std::string message;
  bool retry_can_help = false;
  // In the forms API's shape (`errors: [{message, errorType: category}]`), for a call to it: form
  // clients read errorType.
  bool forms_shape = false;
};

// A JSON answer of hubgate's own (`body` already in HubSpot's shape). `version` and
// `keep_alive` follow the client's request.
bhttp::response<bhttp::string_body> make_json_response(unsigned status, std::string body,
                                                       std::string_view correlation_id, unsigned version,
                                                       bool keep_alive, bool retry_can_help);

// The whole error response. `version` and `keep_alive` follow the client's request.
bhttp::response<bhttp::string_body> make_error_response(const error_reply& reply, std::string_view correlation_id,
                                                        unsigned version, bool keep_alive);

} // namespace hubgate::http
