#pragma once
// HubSpot's error bodies, as hubgate writes them for answers it gives itself (reference §4.1):
//   {"status":"error","message":"…","correlationId":"<uuid v4>","category":"…","context":{…}}
// and the forms API's own shape, which has `errors[].errorType` instead of a category.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hubgate::hubspot {

// A random (version 4) UUID in canonical text form.
std::string make_correlation_id();

// `context` is HubSpot's `{string: [string]}` map, e.g. {"rule": ["no-test-domains"]}.
using error_context = std::vector<std::pair<std::string, std::vector<std::string>>>;

std::string error_body(std::string_view message, std::string_view category, std::string_view correlation_id,
                       const error_context& context = {});

// The forms API (api.hsforms.com) answers {"status":"error","message":"The request is not valid",
// "correlationId":…,"errors":[{"message":…,"errorType":…}]}.
std::string forms_error_body(std::string_view message, std::string_view error_type, std::string_view correlation_id);

} // namespace hubgate::hubspot
