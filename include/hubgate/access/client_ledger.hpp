#pragma once
// What each client has done, kept across rule reloads: requests, refusals, the new contacts HubSpot
// reported creating for it, and its `max_new_contacts` budget in the current window.
//
// Budgets are bounded strictly, also with requests in flight: before a contact-creating request is
// forwarded it reserves as many new contacts as it could create; HubSpot's answer settles the
// reservation with what it reported created. A request is refused when what was created in the
// window plus what is reserved plus what it asks for would exceed the budget. When the window rolls
// the created count starts again from zero; reservations still in flight carry over. What was
// created is counted per hour and per day whatever the budget says, so that a reload that moves a
// budget from one window to the other finds the new window's count as it is, not at zero.
// Clients without a budget are counted too (track()), for /clients and the metrics.
//
// Thread-safe. The clock is injected, so that tests roll windows without waiting.

#include "hubgate/access/policy.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hubgate::access {

class client_ledger {
 public:
  using clock = std::function<std::chrono::system_clock::time_point()>;

  struct account {
    explicit account(std::string n) : name(std::move(n)) {}
    const std::string name;
    std::atomic<std::uint64_t> requests{0};
    std::atomic<std::uint64_t> new_contacts{0};     // every window, as HubSpot reported them
    std::atomic<std::uint64_t> budget_refusals{0};  // requests refused for the budget

   private:
    friend class client_ledger;
    std::mutex mutex; // guards what follows
    struct window_count {
      std::int64_t window = 0;     // index of the window since the epoch
      std::uint64_t created = 0;   // in that window
    };
    std::array<window_count, 2> created; // by budget_window: this hour's, this day's
    std::uint64_t reserved = 0;    // by requests in flight
  };

  // A budget held by a request in flight. Settled exactly once: by settle(), or, when the request
  // ends without an answer to count (the connection dropped, the process is stopping), on
  // destruction, as if every contact reserved had been created.
  class reservation {
   public:
    reservation() = default;
    reservation(reservation&& other) noexcept { *this = std::move(other); }
    reservation& operator=(reservation&& other) noexcept;
    reservation(const reservation&) = delete;
    reservation& operator=(const reservation&) = delete;
    ~reservation() { settle(contacts_); }

    explicit operator bool() const noexcept { return ledger_ != nullptr; }
    std::uint64_t contacts() const noexcept { return contacts_; }
    // HubSpot reported `created` new contacts (at most contacts()).
    void settle(std::uint64_t created) noexcept;

   private:
    friend class client_ledger;
    client_ledger* ledger_ = nullptr;
    account* holder_ = nullptr;
    std::uint64_t contacts_ = 0;
  };

  struct refused_budget {
    std::uint64_t remaining = 0;     // what the window has left (less than the request asked)
    std::chrono::seconds retry_after{0}; // until the window rolls
  };

  explicit client_ledger(clock now = std::chrono::system_clock::now);
  client_ledger(const client_ledger&) = delete;
  client_ledger& operator=(const client_ledger&) = delete;

  // The account of the client called `name`, made on first use. Its address is stable for the
  // ledger's life (a reload finds the same account by name). Not for the request path.
  account& account_for(std::string_view name);

  // Reserves `contacts` new contacts under `budget`, or says why not.
  std::optional<refused_budget> reserve(account& holder, const new_contact_budget& budget, std::uint64_t contacts,
                                        reservation& out);
  // The same for a client without a budget: never refused, settled the same way, so that what it
  // created is counted.
  void track(account& holder, std::uint64_t contacts, reservation& out);

  struct usage {
    std::string name;
    std::uint64_t requests = 0;
    std::uint64_t new_contacts = 0;
    std::uint64_t budget_refusals = 0;
    // Under `budget` (the client's budget in the rules in force), in the current window.
    std::uint64_t created_in_window = 0;
    std::uint64_t reserved = 0;
    std::chrono::system_clock::time_point window_start;
    std::chrono::system_clock::time_point window_end;
  };
  usage read(account& holder, const std::optional<new_contact_budget>& budget);

  // Refusals before a client was named (under auth: clients), by reason.
  void count_refusal(refusal why) noexcept;
  std::uint64_t refusals(refusal why) const noexcept;

 private:
  void release(account& holder, std::uint64_t reserved, std::uint64_t created) noexcept;
  // Moves the account's counts to the windows `now` falls in (under its mutex).
  static void roll(account& a, std::int64_t now_seconds);
  void hold(account& holder, std::uint64_t contacts, reservation& out);
  std::int64_t now_seconds() const;

  clock now_;
  mutable std::mutex accounts_mutex_;
  std::deque<account> accounts_; // deque: addresses stay put as accounts are added
  std::array<std::atomic<std::uint64_t>, 5> refusals_{}; // by refusal
};

} // namespace hubgate::access
