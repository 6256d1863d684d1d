#include "hubgate/metrics/exposition.hpp"

#include <array>
#include <charconv>
#include <cmath>

namespace hubgate::metrics {

namespace {

void append_uint(std::string& out, std::uint64_t value) {
  std::array<char, 24> buf{};
  auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), value);
  (void)ec;
  out.append(buf.data(), end);
}

// Backslash and newline escaped, and double quotes too in label values (HELP text keeps them).
void append_escaped(std::string& out, std::string_view text, bool quotes) {
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quotes) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

void append_label(std::string& out, const label& l, bool& first) {
  out += first ? '{' : ',';
  first = false;
  out += l.name;
  out += "=\"";
  append_escaped(out, l.value, true);
  out += '"';
}

} // namespace

std::string escape_label_value(std::string_view value) {
  std::string out;
  append_escaped(out, value, true);
  return out;
}

std::string format_double(double value) {
  if (std::isnan(value)) {
    return "NaN";
  }
  if (std::isinf(value)) {
    return value > 0 ? "+Inf" : "-Inf";
  }
  std::array<char, 32> buf{};
  auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), value);
  (void)ec;
  return std::string(buf.data(), end);
}

void exposition::family(std::string_view name, std::string_view type, std::string_view help) {
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  append_escaped(out_, help, false);
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type;
  out_ += '\n';
}

void exposition::begin_sample(std::string_view name, std::string_view suffix, std::initializer_list<label> labels,
                              const label* extra) {
  out_ += name;
  out_ += suffix;
  bool first = true;
  for (const auto& l : labels) {
    append_label(out_, l, first);
  }
  if (extra != nullptr) {
    append_label(out_, *extra, first);
  }
  if (!first) {
    out_ += '}';
  }
  out_ += ' ';
}

void exposition::sample(std::string_view name, std::initializer_list<label> labels, std::uint64_t value) {
  begin_sample(name, {}, labels);
  append_uint(out_, value);
  out_ += '\n';
}

void exposition::sample(std::string_view name, std::initializer_list<label> labels, double value) {
  begin_sample(name, {}, labels);
  out_ += format_double(value);
  out_ += '\n';
}

void exposition::histogram(std::string_view name, std::initializer_list<label> labels,
                           std::span<const double> upper_bounds, std::span<const std::uint64_t> bucket_counts,
                           double sum) {
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < bucket_counts.size(); ++i) {
    cumulative += bucket_counts[i];
    const std::string bound = i < upper_bounds.size() ? format_double(upper_bounds[i]) : "+Inf";
    const label le{"le", bound};
    begin_sample(name, "_bucket", labels, &le);
    append_uint(out_, cumulative);
    out_ += '\n';
  }
  begin_sample(name, "_sum", labels);
  out_ += format_double(sum);
  out_ += '\n';
  begin_sample(name, "_count", labels);
  append_uint(out_, cumulative);
  out_ += '\n';
}

} // namespace hubgate::metrics
