#include "hubgate/config/secrets.hpp"

#include "hubgate/config/rules_file.hpp"

#include <cstdlib>

namespace hubgate::config {

namespace {

std::string without_line_break(std::string text) {
  if (!text.empty() && text.back() == '\n') {
    text.pop_back();
    if (!text.empty() && text.back() == '\r') {
      text.pop_back();
    }
  }
  return text;
}

} // namespace

std::optional<std::string> process_secrets::read(const access::secret_ref& ref, std::string& error) const {
  if (ref.from == access::secret_ref::source::env) {
    const char* value = std::getenv(ref.name.c_str());
    if (value == nullptr) {
      error = "it is not set";
      return std::nullopt;
    }
    return std::string(value);
  }
  auto text = read_small_file(ref.name, max_secret_bytes, "not a token", error);
  if (!text) {
    return std::nullopt;
  }
  return without_line_break(std::move(*text));
}

} // namespace hubgate::config
