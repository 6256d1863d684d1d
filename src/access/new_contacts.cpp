#include "hubgate/access/new_contacts.hpp"

#include "hubgate/audit/record.hpp"

#include <algorithm>

namespace hubgate::access {

std::optional<std::uint64_t> potential_new_contacts(const gate::decision& decision) {
  if (decision.op == nullptr ||
      (decision.what != gate::action::forward && decision.what != gate::action::split)) {
    return 0;
  }
  if (decision.records.empty()) {
    const auto shape = decision.op->shape;
    if (shape == hubspot::body_shape::import_multipart || shape == hubspot::body_shape::opaque) {
      return std::nullopt;
    }
    return 1;
  }
  const std::size_t blocked = std::min(decision.blocked.size(), decision.records.size());
  return decision.records.size() - blocked;
}

std::uint64_t reported_new_contacts(const gate::decision& decision, unsigned status, std::string_view body,
                                    std::uint64_t potential) {
  if (status < 200 || status > 299) {
    return 0;
  }
  const auto ids = audit::contact_ids(decision, status, body);
  if (ids.empty()) {
    return potential;
  }
  const auto created = std::count_if(ids.begin(), ids.end(), [](const audit::contact_id& id) {
    return id.created.value_or(true);
  });
  return std::min<std::uint64_t>(static_cast<std::uint64_t>(created), potential);
}

} // namespace hubgate::access
