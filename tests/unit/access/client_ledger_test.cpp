// Test that header file is self-contained.
#include "hubgate/access/client_ledger.hpp"

#include <gtest/gtest.h>

#include <chrono>

namespace hubgate::access {
namespace {

using namespace std::chrono_literals;
using clock_point = std::chrono::system_clock::time_point;

// A clock the test moves: 2026-11-27 23:59:00 UTC to start with.
struct test_clock {
  clock_point now = clock_point(std::chrono::sys_days(std::chrono::year(2026) / 11 / 27).time_since_epoch()) +
                    23h + 59min;
};

class ClientLedger : public ::testing::Test {
 protected:
  test_clock time;
  client_ledger ledger{[this] { return time.now; }};
  client_ledger::account& sync = ledger.account_for("sync");
  const new_contact_budget three_a_day{budget_window::day, 3};

  // Reserves and settles at once, as a request whose answer reports `created` of `asked`.
  bool create(std::uint64_t asked, std::uint64_t created, const new_contact_budget& budget) {
    client_ledger::reservation held;
    if (ledger.reserve(sync, budget, asked, held)) {
      return false;
    }
    held.settle(created);
    return true;
  }
  std::uint64_t remaining(const new_contact_budget& budget) {
    const auto u = ledger.read(sync, budget);
    return budget.count - u.created_in_window - u.reserved;
  }
};

TEST_F(ClientLedger, AccountsAreFoundAgainByName) {
  EXPECT_EQ(&ledger.account_for("sync"), &sync);
  EXPECT_NE(&ledger.account_for("zapier"), &sync);
}

TEST_F(ClientLedger, ABudgetTripsOnceSpentAndSaysWhenTheWindowRolls) {
  EXPECT_TRUE(create(1, 1, three_a_day));
  EXPECT_TRUE(create(2, 2, three_a_day));
  client_ledger::reservation held;
  const auto refused = ledger.reserve(sync, three_a_day, 1, held);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->remaining, 0u);
  EXPECT_EQ(refused->retry_after, 60s) << "23:59 to midnight UTC";
  EXPECT_FALSE(held);
  EXPECT_EQ(sync.new_contacts.load(), 3u);
  EXPECT_EQ(sync.budget_refusals.load(), 1u);
}

TEST_F(ClientLedger, TheBudgetRollsOverAtMidnightUtc) {
  EXPECT_TRUE(create(3, 3, three_a_day));
  EXPECT_FALSE(create(1, 1, three_a_day));
  time.now += 59s; // 23:59:59
  EXPECT_FALSE(create(1, 1, three_a_day));
  time.now += 1s; // 00:00:00, the next day
  EXPECT_TRUE(create(3, 3, three_a_day));
  EXPECT_FALSE(create(1, 1, three_a_day));
  const auto u = ledger.read(sync, three_a_day);
  EXPECT_EQ(u.window_end - u.window_start, 24h);
  EXPECT_EQ(u.window_start, time.now);
  EXPECT_EQ(sync.new_contacts.load(), 6u) << "the total spans windows";
}

TEST_F(ClientLedger, HourlyWindowsRollOnTheHour) {
  const new_contact_budget two_an_hour{budget_window::hour, 2};
  EXPECT_TRUE(create(2, 2, two_an_hour));
  client_ledger::reservation held;
  const auto refused = ledger.reserve(sync, two_an_hour, 1, held);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->retry_after, 60s);
  time.now += 60s;
  EXPECT_TRUE(create(2, 2, two_an_hour));
}

// A reload may move a budget to the other window: that window's count is what was created in it,
// both ways, not a fresh start.
TEST_F(ClientLedger, ABudgetMovedToTheOtherWindowFindsItsCount) {
  time.now += 11h; // 10:59 the next day
  const new_contact_budget three_an_hour{budget_window::hour, 3};
  EXPECT_TRUE(create(3, 3, three_a_day));
  EXPECT_EQ(remaining(three_an_hour), 0u) << "all three were created this hour";
  EXPECT_FALSE(create(1, 1, three_an_hour));
  EXPECT_FALSE(create(1, 1, three_a_day));
  time.now += 1min; // 11:00: a new hour, the same day
  EXPECT_EQ(remaining(three_an_hour), 3u);
  EXPECT_TRUE(create(1, 1, three_an_hour));
  const new_contact_budget four_a_day{budget_window::day, 4};
  EXPECT_EQ(remaining(four_a_day), 0u) << "today's four, whichever window counted them";
  EXPECT_FALSE(create(1, 1, four_a_day));
}

// A client without a budget is never refused, and what HubSpot created for it is counted.
TEST_F(ClientLedger, AClientWithoutABudgetIsCountedNotBounded) {
  for (int i = 0; i < 5; ++i) {
    client_ledger::reservation held;
    ledger.track(sync, 100, held);
    ASSERT_TRUE(held);
    held.settle(40);
  }
  EXPECT_EQ(sync.new_contacts.load(), 200u);
  EXPECT_EQ(ledger.read(sync, std::nullopt).new_contacts, 200u);
  EXPECT_EQ(remaining(new_contact_budget{budget_window::day, 250}), 50u) << "a budget added later finds the day's count";
}

TEST_F(ClientLedger, OnlyWhatHubSpotCreatedIsSpent) {
  EXPECT_TRUE(create(3, 0, three_a_day)) << "three upserts that all updated";
  EXPECT_TRUE(create(3, 1, three_a_day));
  EXPECT_EQ(remaining(three_a_day), 2u);
}

TEST_F(ClientLedger, ReservationsInFlightCountSoConcurrentRequestsCannotOvershoot) {
  client_ledger::reservation first;
  client_ledger::reservation second;
  EXPECT_FALSE(ledger.reserve(sync, three_a_day, 2, first));
  const auto refused = ledger.reserve(sync, three_a_day, 2, second);
  ASSERT_TRUE(refused) << "2 created or in flight + 2 asked > 3";
  EXPECT_EQ(refused->remaining, 1u);
  EXPECT_FALSE(ledger.reserve(sync, three_a_day, 1, second));
  EXPECT_EQ(remaining(three_a_day), 0u);
  first.settle(0);
  EXPECT_EQ(remaining(three_a_day), 2u) << "the settled reservation frees what was not created";
  second.settle(1);
  EXPECT_EQ(remaining(three_a_day), 2u);
}

TEST_F(ClientLedger, AReservationDroppedUnsettledCountsAsCreated) {
  {
    client_ledger::reservation held;
    EXPECT_FALSE(ledger.reserve(sync, three_a_day, 2, held));
  } // the request ended without an answer: HubSpot may have created both
  EXPECT_EQ(remaining(three_a_day), 1u);
  EXPECT_EQ(sync.new_contacts.load(), 2u);
}

TEST_F(ClientLedger, ReservationsInFlightCarryOverWhenTheWindowRolls) {
  client_ledger::reservation held;
  EXPECT_FALSE(ledger.reserve(sync, three_a_day, 3, held));
  time.now += 2min; // the next day, with the request still in flight
  EXPECT_EQ(remaining(three_a_day), 0u);
  held.settle(3);
  EXPECT_EQ(remaining(three_a_day), 0u) << "what it created counts in the window it was reported in";
}

TEST_F(ClientLedger, ARaisedBudgetAppliesToTheWindowInProgress) {
  EXPECT_TRUE(create(3, 3, three_a_day));
  const new_contact_budget five_a_day{budget_window::day, 5};
  EXPECT_TRUE(create(2, 2, five_a_day));
  EXPECT_FALSE(create(1, 1, five_a_day));
}

TEST_F(ClientLedger, AZeroBudgetAllowsNoNewContact) {
  EXPECT_FALSE(create(1, 1, new_contact_budget{budget_window::day, 0}));
}

TEST_F(ClientLedger, RefusalsAreCountedByReason) {
  ledger.count_refusal(refusal::unknown_key);
  ledger.count_refusal(refusal::unknown_key);
  ledger.count_refusal(refusal::no_credential);
  EXPECT_EQ(ledger.refusals(refusal::unknown_key), 2u);
  EXPECT_EQ(ledger.refusals(refusal::no_credential), 1u);
  EXPECT_EQ(ledger.refusals(refusal::query_credential), 0u);
}

} // namespace
} // namespace hubgate::access
