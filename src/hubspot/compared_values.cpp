#include "hubgate/hubspot/compared_values.hpp"

#include <algorithm>

#include "hubgate/hubspot/text.hpp"

namespace hubgate::hubspot {
namespace {

// Calls `each(option)` for every `;`-separated option of `value` (one, when it has no `;`), until
// `each` returns true; returns whether it did.
template <typename Visit>
bool any_option(std::string_view value, Visit&& each) {
  std::size_t from = 0;
  while (from <= value.size()) {
    const std::size_t end = std::min(value.find(';', from), value.size());
    if (each(value.substr(from, end - from))) {
      return true;
    }
    from = end + 1;
  }
  return false;
}

} // namespace

void loose_option(std::string_view option, std::string& out) { fold_name(trim_name_padding(option), out); }

void compared_values::add(std::string_view name, std::string_view value) {
  name = trim_name_padding(name);
  auto entry = std::find_if(properties_.begin(), properties_.end(),
                            [&](const property& p) { return equals_names(p.name, name); });
  if (entry == properties_.end()) {
    entry = properties_.insert(entry, property{});
    entry->name = name;
  }
  entry->exact.emplace(value);
  std::vector<std::string> options;
  any_option(value, [&](std::string_view option) {
    loose_option(option, options.emplace_back());
    return false;
  });
  if (options.size() > 1) {
    // `a;;b` and `a;b;` list the same options as `a;b`: the empty ones are left out.
    std::erase(options, std::string{});
  }
  if (options.size() > 1) {
    entry->listed.push_back(std::move(options));
  } else {
    entry->loose.insert(options.empty() ? std::string{} : std::move(options.front()));
  }
}

const compared_values::property* compared_values::find(std::string_view name) const noexcept {
  name = trim_name_padding(name);
  for (const property& p : properties_) {
    if (equals_names(p.name, name)) {
      return &p;
    }
  }
  return nullptr;
}

bool compared_values::is_near_miss(std::string_view name, std::string_view value) const {
  const property* p = find(name);
  if (p == nullptr || p->exact.contains(value)) {
    return false;
  }
  std::string key;
  const auto lists = [&](std::string_view wanted) {
    return any_option(value, [&](std::string_view option) {
      loose_option(option, key);
      return key == wanted;
    });
  };
  if (any_option(value, [&](std::string_view option) {
        loose_option(option, key);
        return p->loose.contains(key);
      })) {
    return true;
  }
  return std::any_of(p->listed.begin(), p->listed.end(), [&](const std::vector<std::string>& options) {
    return std::all_of(options.begin(), options.end(), lists);
  });
}

} // namespace hubgate::hubspot
