#include "hubgate/rules/request_facts.hpp"

#include "hubgate/hubspot/text.hpp"
#include "text.hpp"

namespace hubgate::rules {

std::optional<std::string_view> header_list::header(std::string_view name) const {
  for (const auto& [key, value] : headers_) {
    if (hubspot::iequals_ascii(key, name)) {
      return value;
    }
  }
  return std::nullopt;
}

} // namespace hubgate::rules
