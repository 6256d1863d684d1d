#include "hubgate/access/client_ledger.hpp"

#include <algorithm>
#include <utility>

namespace hubgate::access {

namespace {

std::int64_t floor_div(std::int64_t a, std::int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

} // namespace

client_ledger::client_ledger(clock now) : now_(std::move(now)) {}

client_ledger::account& client_ledger::account_for(std::string_view name) {
  const std::lock_guard lock(accounts_mutex_);
  for (auto& a : accounts_) {
    if (a.name == name) {
      return a;
    }
  }
  return accounts_.emplace_back(std::string(name));
}

std::int64_t client_ledger::now_seconds() const {
  return std::chrono::duration_cast<std::chrono::seconds>(now_().time_since_epoch()).count();
}

void client_ledger::roll(account& a, std::int64_t now) {
  for (const budget_window per : {budget_window::hour, budget_window::day}) {
    auto& count = a.created[static_cast<std::size_t>(per)];
    const std::int64_t window = floor_div(now, window_seconds(per));
    if (count.window != window) {
      // A new window: what was created no longer counts; requests in flight keep their reservations.
      count.window = window;
      count.created = 0;
    }
  }
}

void client_ledger::hold(account& holder, std::uint64_t contacts, reservation& out) {
  holder.reserved += contacts;
  out = reservation();
  out.ledger_ = this;
  out.holder_ = &holder;
  out.contacts_ = contacts;
}

void client_ledger::track(account& holder, std::uint64_t contacts, reservation& out) {
  const std::int64_t now = now_seconds();
  const std::lock_guard lock(holder.mutex);
  roll(holder, now);
  hold(holder, contacts, out);
}

std::optional<client_ledger::refused_budget> client_ledger::reserve(account& holder, const new_contact_budget& budget,
                                                                    std::uint64_t contacts, reservation& out) {
  const std::int64_t now = now_seconds();
  const std::lock_guard lock(holder.mutex);
  roll(holder, now);
  const auto& count = holder.created[static_cast<std::size_t>(budget.per)];
  const std::uint64_t used = count.created + holder.reserved;
  const std::uint64_t remaining = used >= budget.count ? 0 : budget.count - used;
  if (contacts > remaining) {
    holder.budget_refusals.fetch_add(1, std::memory_order_relaxed);
    const std::int64_t length = window_seconds(budget.per);
    return refused_budget{remaining, std::chrono::seconds((count.window + 1) * length - now)};
  }
  hold(holder, contacts, out);
  return std::nullopt;
}

client_ledger::reservation& client_ledger::reservation::operator=(reservation&& other) noexcept {
  if (this != &other) {
    settle(contacts_);
    ledger_ = std::exchange(other.ledger_, nullptr);
    holder_ = std::exchange(other.holder_, nullptr);
    contacts_ = std::exchange(other.contacts_, 0);
  }
  return *this;
}

void client_ledger::reservation::settle(std::uint64_t created) noexcept {
  if (ledger_ == nullptr) {
    return;
  }
  std::exchange(ledger_, nullptr)->release(*holder_, contacts_, std::min(created, contacts_));
}

void client_ledger::release(account& a, std::uint64_t reserved, std::uint64_t created) noexcept {
  const std::int64_t now = now_seconds();
  {
    const std::lock_guard lock(a.mutex);
    roll(a, now);
    a.reserved -= std::min(a.reserved, reserved);
    for (auto& count : a.created) {
      count.created += created;
    }
  }
  a.new_contacts.fetch_add(created, std::memory_order_relaxed);
}

client_ledger::usage client_ledger::read(account& holder, const std::optional<new_contact_budget>& budget) {
  usage out;
  out.name = holder.name;
  out.requests = holder.requests.load(std::memory_order_relaxed);
  out.new_contacts = holder.new_contacts.load(std::memory_order_relaxed);
  out.budget_refusals = holder.budget_refusals.load(std::memory_order_relaxed);
  if (budget) {
    const std::int64_t now = now_seconds();
    const std::lock_guard lock(holder.mutex);
    roll(holder, now);
    const auto& count = holder.created[static_cast<std::size_t>(budget->per)];
    out.created_in_window = count.created;
    out.reserved = holder.reserved;
    const std::int64_t length = window_seconds(budget->per);
    out.window_start = std::chrono::system_clock::time_point(std::chrono::seconds(count.window * length));
    out.window_end = out.window_start + std::chrono::seconds(length);
  }
  return out;
}

void client_ledger::count_refusal(refusal why) noexcept {
  refusals_[static_cast<std::size_t>(why)].fetch_add(1, std::memory_order_relaxed);
}

std::uint64_t client_ledger::refusals(refusal why) const noexcept {
  return refusals_[static_cast<std::size_t>(why)].load(std::memory_order_relaxed);
}

} // namespace hubgate::access
