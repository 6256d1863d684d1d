#pragma once
// The rule engine's view of a Beast request's headers (names compare case-insensitively).

#include <boost/beast/http/fields.hpp>

#include "hubgate/rules/request_facts.hpp"

namespace hubgate::http {

class fields_header_lookup final : public rules::header_lookup {
 public:
  explicit fields_header_lookup(const boost::beast::http::fields& fields) : fields_(fields) {}

  std::optional<std::string_view> header(std::string_view name) const override {
    auto it = fields_.find(name);
    if (it == fields_.end()) {
      return std::nullopt;
    }
    return std::string_view(it->value());
  }

 private:
  const boost::beast::http::fields& fields_;
};

} // namespace hubgate::http
