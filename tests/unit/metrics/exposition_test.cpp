#include "hubgate/metrics/exposition.hpp"

#include <gtest/gtest.h>

#include <array>
#include <limits>

namespace hubgate::metrics {
namespace {

TEST(exposition, families_and_samples_in_the_text_format) {
  exposition out;
  out.family("hubgate_x_total", "counter", "Things\\counted\nover lines");
  out.sample("hubgate_x_total", {}, std::uint64_t{5});
  out.sample("hubgate_x_total", {{"rule", "a\"b\\c\nd"}, {"kind", "tls"}}, std::uint64_t{18446744073709551615u});
  EXPECT_EQ(out.text(),
            "# HELP hubgate_x_total Things\\\\counted\\nover lines\n"
            "# TYPE hubgate_x_total counter\n"
            "hubgate_x_total 5\n"
            "hubgate_x_total{rule=\"a\\\"b\\\\c\\nd\",kind=\"tls\"} 18446744073709551615\n");
}

TEST(exposition, doubles_are_shortest_round_trip) {
  EXPECT_EQ(format_double(0.005), "0.005");
  EXPECT_EQ(format_double(1), "1");
  EXPECT_EQ(format_double(1700000000.125), "1700000000.125");
  EXPECT_EQ(format_double(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(format_double(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(format_double(std::numeric_limits<double>::quiet_NaN()), "NaN");
  EXPECT_EQ(escape_label_value("plain"), "plain");
}

TEST(exposition, a_histogram_is_written_cumulative_with_inf_sum_and_count) {
  exposition out;
  const std::array<double, 2> bounds{0.1, 1};
  const std::array<std::uint64_t, 3> counts{2, 0, 1};
  out.histogram("lat_seconds", {{"upstream", "api"}}, bounds, counts, 12.5);
  EXPECT_EQ(out.text(),
            "lat_seconds_bucket{upstream=\"api\",le=\"0.1\"} 2\n"
            "lat_seconds_bucket{upstream=\"api\",le=\"1\"} 2\n"
            "lat_seconds_bucket{upstream=\"api\",le=\"+Inf\"} 3\n"
            "lat_seconds_sum{upstream=\"api\"} 12.5\n"
            "lat_seconds_count{upstream=\"api\"} 3\n");
}

} // namespace
} // namespace hubgate::metrics
