#pragma once
// How many new contacts a forwarded request may create, and how many HubSpot said it created: what
// a client's `max_new_contacts` budget reserves before forwarding and settles after the answer.
// Counting errs high where HubSpot does not say (form submissions, sends, events, upserts whose
// answer has no `new` flag): a budget may run out early, never late.

#include "hubgate/gate/gate.hpp"

#include <cstdint>
#include <optional>
#include <string_view>

namespace hubgate::access {

// The contacts forwarding `decision` could create: one per forwarded record (a batch's kept items,
// a send's extra recipients), one for a catalog call that carries no record. 0 outside the catalog
// and for decisions that forward nothing. nullopt when it cannot be told: imports and opaque bodies,
// whose rows hubgate cannot see.
std::optional<std::uint64_t> potential_new_contacts(const gate::decision& decision);

// What HubSpot's answer (`status`, `body` read whole) says was created, out of `potential`: 0 for an
// answer other than 2xx; the records its ids call new (or whose newness it does not say); all of
// `potential` when a 2xx answer names no ids.
std::uint64_t reported_new_contacts(const gate::decision& decision, unsigned status, std::string_view body,
                                    std::uint64_t potential);

} // namespace hubgate::access
