#pragma once
// The Prometheus text exposition format (version 0.0.4), written by hand: `# HELP` and `# TYPE`
// once per family, then one `name{label="value",...} value` line per sample. Label values and help
// texts are escaped as the format requires; numbers are written exactly (integers) or shortest
// round-trip (doubles, `+Inf` for the last histogram bucket). Pure: builds a string.

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

namespace hubgate::metrics {

inline constexpr std::string_view exposition_content_type = "text/plain; version=0.0.4; charset=utf-8";

struct label {
  std::string_view name;
  std::string_view value;
};

class exposition {
 public:
  // `type`: counter, gauge or histogram.
  void family(std::string_view name, std::string_view type, std::string_view help);
  void sample(std::string_view name, std::initializer_list<label> labels, std::uint64_t value);
  void sample(std::string_view name, std::initializer_list<label> labels, double value);
  // A histogram's samples: `bucket_counts[i]` observations fell at or below `upper_bounds[i]`
  // (not cumulative; this writes the cumulative `_bucket` lines, `+Inf`, `_sum` and `_count`).
  // `bucket_counts` has one more entry than `upper_bounds`: the observations above the last bound.
  void histogram(std::string_view name, std::initializer_list<label> labels, std::span<const double> upper_bounds,
                 std::span<const std::uint64_t> bucket_counts, double sum);

  const std::string& text() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void begin_sample(std::string_view name, std::string_view suffix, std::initializer_list<label> labels,
                    const label* extra = nullptr);

  std::string out_;
};

// `\` `"` and newline escaped, as label values need.
std::string escape_label_value(std::string_view value);
// A double as the format writes it: shortest round-trip text, `+Inf`, `-Inf`, `NaN`.
std::string format_double(double value);

} // namespace hubgate::metrics
