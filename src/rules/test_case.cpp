#include "hubgate/rules/test_case.hpp"

#include "hubgate/hubspot/text.hpp"
#include "text.hpp"

#include <algorithm>
#include <span>

namespace hubgate::rules {

namespace {

std::string_view expected_word(expected_verdict v) {
  switch (v) {
  case expected_verdict::allow: return "allow";
  case expected_verdict::block: return "block";
  case expected_verdict::rewrite: return "rewrite";
  case expected_verdict::reject: return "reject";
  }
  return "allow";
}

bool meets(expected_verdict want, const outcome& got) {
  switch (want) {
  case expected_verdict::allow: return got.decision == verdict::allow;
  case expected_verdict::block: return got.decision == verdict::block;
  case expected_verdict::rewrite: return got.rewritten();
  case expected_verdict::reject: return false; // an evaluated request was read, not rejected
  }
  return false;
}

// "block (rule 'no-test-domains')", "rewrite (set lifecyclestage=lead by 'tag')", "allow (default)"
std::string describe(const outcome& o) {
  std::string out(verdict_word(o));
  out += " (";
  if (o.rule.empty()) {
    out += "no rule";
  } else if (o.rule == default_rule_name) {
    out += "default";
  } else {
    out += "rule '" + std::string(o.rule) + "'";
  }
  if (o.decision == verdict::block) {
    out += ", status " + std::to_string(o.status);
  }
  for (const auto& edit : o.edits) {
    out += ", ";
    out += edit.value ? "set " + std::string(edit.property) + "=" + std::string(*edit.value)
                      : "remove " + std::string(edit.property);
    out += " by '" + std::string(edit.rule) + "'";
  }
  out += ")";
  return out;
}

const property_edit* find_edit(const outcome& o, std::string_view property) {
  const auto it = std::find_if(o.edits.begin(), o.edits.end(), [&](const property_edit& e) {
    return hubspot::iequals_ascii(e.property, property);
  });
  return it == o.edits.end() ? nullptr : &*it;
}

std::optional<std::string> check_one(const expected_outcome& want, const record_decision& got) {
  const outcome& o = got.enforced;
  if (!meets(want.verdict, o)) {
    return "expected " + std::string(expected_word(want.verdict)) + ", got " + describe(o);
  }
  if (want.rule && *want.rule != o.rule) {
    return "expected rule '" + *want.rule + "' to decide, got " + describe(o);
  }
  if (want.status && *want.status != o.status) {
    return "expected status " + std::to_string(*want.status) + ", got " + describe(o);
  }
  for (const auto& [property, value] : want.set) {
    const property_edit* edit = find_edit(o, property);
    if (edit == nullptr || !edit->value || *edit->value != value) {
      return "expected set " + property + "=" + value + ", got " + describe(o);
    }
  }
  for (const auto& property : want.remove) {
    const property_edit* edit = find_edit(o, property);
    if (edit == nullptr || edit->value) {
      return "expected remove " + property + ", got " + describe(o);
    }
  }
  if (want.shadow) {
    // Without shadow rules, what would happen is what happens.
    const outcome& shadow = got.shadow ? *got.shadow : o;
    if (!meets(*want.shadow, shadow)) {
      return "expected shadow " + std::string(expected_word(*want.shadow)) + ", got shadow " +
             describe(shadow);
    }
  }
  return std::nullopt;
}

request_fate fate_of(std::span<const record_decision> records) {
  const auto blocked = static_cast<std::size_t>(std::count_if(records.begin(), records.end(), [](const record_decision& r) {
    return r.enforced.decision == verdict::block;
  }));
  return blocked == 0 ? request_fate::forwarded : blocked == records.size() ? request_fate::refused : request_fate::split;
}

} // namespace

std::optional<std::string> check_expectation(const test_case& test, const evaluation& result,
                                             std::optional<request_fate> fate) {
  // A request no rule touched passes as it is.
  static const record_decision untouched{};
  const std::span<const record_decision> records =
      result.records.empty() ? std::span<const record_decision>(&untouched, 1) : result.records;
  const expectation& expect = test.expect;
  if (expect.outcomes.empty()) {
    return "the test expects nothing";
  }
  if (expect.per_item && expect.outcomes.size() != records.size()) {
    return "expected " + std::to_string(expect.outcomes.size()) + " items, the request has " +
           std::to_string(records.size());
  }
  auto failed = [&](std::size_t i, std::string why) {
    if (records.size() > 1) {
      return "items[" + std::to_string(i) + "] of " + std::to_string(records.size()) + ": " + why;
    }
    return why;
  };
  if (expect.per_item) {
    for (std::size_t i = 0; i < records.size(); ++i) {
      if (auto failure = check_one(expect.outcomes[i], records[i])) {
        return failed(i, std::move(*failure));
      }
    }
    return std::nullopt;
  }

  const expected_outcome& want = expect.outcomes.front();
  auto check_each = [&](bool (*which)(const outcome&)) -> std::optional<std::string> {
    for (std::size_t i = 0; i < records.size(); ++i) {
      if (which == nullptr || which(records[i].enforced)) {
        if (auto failure = check_one(want, records[i])) {
          return failed(i, std::move(*failure));
        }
      }
    }
    return std::nullopt;
  };
  constexpr auto blocked = [](const outcome& o) { return o.decision == verdict::block; };
  constexpr auto edited = [](const outcome& o) { return o.decision != verdict::block && o.rewritten(); };
  switch (want.verdict) {
  case expected_verdict::block:
    if (const request_fate f = fate.value_or(fate_of(records)); f != request_fate::refused) {
      for (std::size_t i = 0; i < records.size(); ++i) {
        if (!blocked(records[i].enforced)) {
          std::string why = "expected block, got " + describe(records[i].enforced);
          if (f == request_fate::split) {
            why += "; the batch was forwarded without its blocked items (expect each item's outcome with 'items')";
          }
          return failed(i, std::move(why));
        }
      }
      return "expected block, the request was forwarded";
    }
    return check_each(blocked);
  case expected_verdict::rewrite:
    for (std::size_t i = 0; i < records.size(); ++i) {
      if (blocked(records[i].enforced)) {
        return failed(i, *check_one(want, records[i]));
      }
    }
    if (std::none_of(records.begin(), records.end(), [&](const record_decision& r) { return edited(r.enforced); })) {
      return failed(0, *check_one(want, records[0]));
    }
    return check_each(edited);
  case expected_verdict::allow:
  case expected_verdict::reject:
    break;
  }
  return check_each(nullptr);
}

} // namespace hubgate::rules
