#include "hubgate/hubspot/error_shape.hpp"

#include "hubgate/hubspot/text.hpp"

#include <array>
#include <cstdint>
#include <random>

namespace hubgate::hubspot {

std::string make_correlation_id() {
  // One generator per thread: answers may come from every I/O thread at once.
  thread_local std::mt19937_64 generator{std::random_device{}()};
  std::array<std::uint8_t, 16> bytes{};
  for (std::size_t i = 0; i < bytes.size(); i += 8) {
    std::uint64_t r = generator();
    for (std::size_t j = 0; j < 8; ++j) {
      bytes[i + j] = static_cast<std::uint8_t>(r >> (8 * j));
    }
  }
  bytes[6] = static_cast<std::uint8_t>((bytes[6] & 0x0f) | 0x40); // version 4
  bytes[8] = static_cast<std::uint8_t>((bytes[8] & 0x3f) | 0x80); // RFC 4122 variant
  // Written into a local array, then copied once: every inspected request gets one.
  static constexpr char hex[] = "0123456789abcdef";
  std::array<char, 36> text{};
  std::size_t at = 0;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) {
      text[at++] = '-';
    }
    text[at++] = hex[bytes[i] >> 4];
    text[at++] = hex[bytes[i] & 0x0f];
  }
  return std::string(text.data(), text.size());
}

// Written by hand rather than through a JSON DOM: every blocked create is answered with one, and
// the DOM cost more than deciding the create did.
std::string error_body(std::string_view message, std::string_view category, std::string_view correlation_id,
                       const error_context& context) {
  // HubSpot's field order (status, message, correlationId, category), which some clients log as is.
  std::string body;
  body.reserve(128 + message.size());
  body += R"({"status":"error","message":)";
  append_json_string(body, message);
  body += R"(,"correlationId":)";
  append_json_string(body, correlation_id);
  body += R"(,"category":)";
  append_json_string(body, category);
  if (!context.empty()) {
    body += R"(,"context":{)";
    for (std::size_t i = 0; i < context.size(); ++i) {
      const auto& [key, values] = context[i];
      body += i == 0 ? "" : ",";
      append_json_string(body, key);
      body += ":[";
      for (std::size_t j = 0; j < values.size(); ++j) {
        body += j == 0 ? "" : ",";
        append_json_string(body, values[j]);
      }
      body += ']';
    }
    body += '}';
  }
  body += '}';
  return body;
}

std::string forms_error_body(std::string_view message, std::string_view error_type, std::string_view correlation_id) {
  std::string body = R"({"status":"error","message":"The request is not valid","correlationId":)";
  append_json_string(body, correlation_id);
  body += R"(,"errors":[{"message":)";
  append_json_string(body, message);
  body += R"(,"errorType":)";
  append_json_string(body, error_type);
  body += "}]}";
  return body;
}

} // namespace hubgate::hubspot
