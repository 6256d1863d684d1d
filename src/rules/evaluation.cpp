#include "hubgate/rules/evaluation.hpp"

#include <algorithm>

namespace hubgate::rules {

namespace {
bool is_blocked(const record_decision& d) { return d.enforced.decision == verdict::block; }
} // namespace

bool evaluation::any_blocked() const {
  return std::any_of(records.begin(), records.end(), is_blocked);
}

bool evaluation::all_blocked() const {
  return !records.empty() && std::all_of(records.begin(), records.end(), is_blocked);
}

const record_decision* evaluation::first_blocked() const {
  const auto it = std::find_if(records.begin(), records.end(), is_blocked);
  return it == records.end() ? nullptr : &*it;
}

} // namespace hubgate::rules
