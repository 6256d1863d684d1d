#pragma once
// The catalog: every HubSpot call that creates a contact, upserts one, or may create one as a side
// effect (reference §2, §3). A static table; lookups never allocate or fail.
//
// Path patterns (operation::paths) are matched against the canonical path (classify.hpp), literal
// segments ignoring case; the literal spelling written here is what is forwarded upstream:
//   literal    a fixed segment, e.g. `createOrUpdate`
//   {type}     the contact object type: `contacts`, `contact` or `0-1`   (captured as object_type)
//   {date}     a date version `YYYY-MM` with an optional `-suffix`, e.g. `2026-09-beta` (date_version)
//   {name}     any one segment, captured as `name`
//   {name+}    one or more segments taken as one value, captured as `name` (an email may hold `/`)
//   {...}      zero or more segments, not captured

#include "hubgate/hubspot/operation.hpp"

#include <span>
#include <string_view>

namespace hubgate::hubspot {

std::span<const operation> all_operations() noexcept;

// nullptr when no operation has that name.
const operation* find_operation(std::string_view name) noexcept;

} // namespace hubgate::hubspot
