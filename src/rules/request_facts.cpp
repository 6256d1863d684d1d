#include "hubgate/rules/request_facts.hpp"

#include "text.hpp"

namespace hubgate::rules {

std::optional<std::string_view> header_list::header(std::string_view name) const {
  for (const auto& [key, value] : headers_) {
    if (detail::iequals(key, name)) {
      return value;
    }
  }
  return std::nullopt;
}

} // namespace hubgate::rules
