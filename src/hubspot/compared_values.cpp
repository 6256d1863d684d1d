#include "hubgate/hubspot/compared_values.hpp"

#include <algorithm>
#include <string>
#include <utility>

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

// The first code point of a decimal digit set of Unicode (general category Nd) that Java's
// Character.digit reads, as Long.parseLong and BigDecimal do: `１２３` is 123 to them. The sets of
// the Basic Multilingual Plane, and the mathematical digits.
constexpr char32_t digit_zeros[] = {
    0x0030, 0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66, 0x0CE6, 0x0D66,
    0x0DE6, 0x0E50, 0x0ED0, 0x0F20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90, 0x1B50,
    0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10, 0x1D7CE, 0x1D7D8,
    0x1D7E2, 0x1D7EC, 0x1D7F6};

// The code point `s` starts with and its length in bytes; {0, 0} when it starts with none.
std::pair<char32_t, std::size_t> code_point_at(std::string_view s) {
  const auto lead = static_cast<unsigned char>(s[0]);
  if (lead < 0x80) {
    return {lead, 1};
  }
  const std::size_t length = utf8_sequence_length(s);
  if (length == 0) {
    return {0, 0};
  }
  char32_t c = lead & (0x7F >> length);
  for (std::size_t i = 1; i < length; ++i) {
    c = (c << 6) | (static_cast<unsigned char>(s[i]) & 0x3F);
  }
  return {c, length};
}

// The digit `c` is in any of digit_zeros' sets, or -1.
int digit_value(char32_t c) {
  for (const char32_t zero : digit_zeros) {
    if (c >= zero && c < zero + 10) {
      return static_cast<int>(c - zero);
    }
  }
  return -1;
}

// Skips a `+` or `-` at `i`; whether it was a minus.
bool skip_sign(std::string_view text, std::size_t& i) {
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
    return text[i++] == '-';
  }
  return false;
}

// Java's Double.parseDouble and Float.parseFloat take a type suffix after a number: `123d`,
// `1.23e2F`. Skips it at `i` when it ends the text.
void skip_float_suffix(std::string_view text, std::size_t& i) {
  if (i + 1 == text.size() && (text[i] == 'd' || text[i] == 'D' || text[i] == 'f' || text[i] == 'F')) {
    ++i;
  }
}

// Wide enough for a 15-digit hex mantissa times 5^26 (GCC's extension, so -Wpedantic is quiet).
__extension__ typedef unsigned __int128 wide_unsigned;

// The digits of `value` in decimal, then "e" and `exponent`, trailing zeros moved into it.
std::string spell_decimal(wide_unsigned value, long long exponent, bool negative) {
  if (value == 0) {
    return "0";
  }
  while (value % 10 == 0) {
    value /= 10;
    ++exponent;
  }
  std::string digits;
  for (; value != 0; value /= 10) {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(value % 10)));
  }
  return (negative ? "-" : "") + digits + "e" + std::to_string(exponent);
}

// A hexadecimal floating-point number as Double.parseDouble reads one (`0x7Bp0`, `0x1.ECp6F`: hex
// digits, a binary exponent it requires, a type suffix), after its `0x`; canonical_number's
// spelling of its value. Empty when it is no such number, or one too large or too fine to be
// written exactly here (no property value a rule names is either).
std::string canonical_hex_float(std::string_view text, bool negative) {
  wide_unsigned mantissa = 0;
  int significant = 0;     // hex digits after leading zeros
  long long exponent = 0;  // binary, of the mantissa's last digit
  bool in_fraction = false;
  bool seen_digit = false;
  std::size_t i = 0;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '.' && !in_fraction) {
      in_fraction = true;
      continue;
    }
    const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (d < 0) {
      break;
    }
    seen_digit = true;
    if (mantissa != 0 || d != 0) {
      if (++significant > 15) {
        return {};
      }
      mantissa = mantissa * 16 + static_cast<unsigned>(d);
    }
    exponent -= in_fraction ? 4 : 0;
  }
  if (!seen_digit || i >= text.size() || (text[i] != 'p' && text[i] != 'P')) {
    return {};
  }
  ++i;
  const bool exponent_negative = skip_sign(text, i);
  long long written = 0;
  std::size_t exponent_digits = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, ++exponent_digits) {
    if ((written = written * 10 + (text[i] - '0')) > 1000) {
      return {};
    }
  }
  skip_float_suffix(text, i);
  if (exponent_digits == 0 || i != text.size()) {
    return {};
  }
  exponent += exponent_negative ? -written : written;
  if (mantissa == 0) {
    return "0";
  }
  // mantissa × 2^exponent: an integer shifted left, or mantissa × 5^-exponent × 10^exponent.
  if (exponent >= 0) {
    return exponent > 60 ? std::string() : spell_decimal(mantissa << exponent, 0, negative);
  }
  if (exponent < -26) {
    return {};
  }
  wide_unsigned scaled = mantissa;
  for (long long k = 0; k < -exponent; ++k) {
    scaled *= 5;
  }
  return spell_decimal(scaled, exponent, negative);
}

// `text` as a number the most lenient Java reader takes (padding trimmed, a sign, digits of any
// set, a fraction, an exponent, Double.parseDouble's type suffix and hexadecimal form), in one
// canonical spelling: `0123`, `+123`, `123.0`, `1.23e2`, `123d`, `0x7Bp0` and `１２３` are all
// "123e0". Empty when `text` is no number.
std::string canonical_number(std::string_view text) {
  text = trim_name_padding(text);
  std::string digits;
  bool seen_digit = false;
  long long exponent = 0; // of the last digit in `digits`
  std::size_t i = 0;
  const bool negative = skip_sign(text, i);
  if (text.size() > i + 2 && text[i] == '0' && (text[i + 1] == 'x' || text[i + 1] == 'X')) {
    return canonical_hex_float(text.substr(i + 2), negative);
  }
  bool in_fraction = false;
  while (i < text.size()) {
    if (text[i] == '.' && !in_fraction) {
      in_fraction = true;
      ++i;
      continue;
    }
    const auto [c, length] = code_point_at(text.substr(i));
    const int d = length == 0 ? -1 : digit_value(c);
    if (d < 0) {
      break;
    }
    seen_digit = true;
    if (!digits.empty() || d != 0) {
      digits.push_back(static_cast<char>('0' + d));
    }
    exponent -= in_fraction ? 1 : 0;
    i += length;
  }
  if (!seen_digit) {
    return {};
  }
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    const bool exponent_negative = skip_sign(text, i);
    long long written = 0;
    std::size_t exponent_digits = 0;     // all of them
    std::size_t significant_digits = 0; // after leading zeros, which Java's readers skip
    while (i < text.size()) {
      const auto [c, length] = code_point_at(text.substr(i));
      const int d = length == 0 ? -1 : digit_value(c);
      if (d < 0) {
        break;
      }
      ++exponent_digits;
      if ((significant_digits > 0 || d != 0) && ++significant_digits > 9) {
        return {}; // beyond any value a property holds
      }
      written = written * 10 + d;
      i += length;
    }
    if (exponent_digits == 0) {
      return {};
    }
    exponent += exponent_negative ? -written : written;
  }
  skip_float_suffix(text, i);
  if (i != text.size()) {
    return {};
  }
  while (!digits.empty() && digits.back() == '0') {
    digits.pop_back();
    ++exponent;
  }
  if (digits.empty()) {
    return "0";
  }
  return (negative ? "-" : "") + digits + "e" + std::to_string(exponent);
}

// A number as a rule writes one it means as a number: ASCII digits, no leading zero, no sign but
// a minus, no exponent (`123`, `-2.5`, `0.75`). A rule value written otherwise (`00123`,
// `+15551234567`) is a string, a zip code or a phone number, and compares exactly.
bool is_plain_number(std::string_view text) {
  std::size_t i = !text.empty() && text[0] == '-' ? 1 : 0;
  const std::size_t integer_start = i;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    ++i;
  }
  const std::size_t integer_digits = i - integer_start;
  if (integer_digits == 0 || (integer_digits > 1 && text[integer_start] == '0')) {
    return false;
  }
  if (i < text.size() && text[i] == '.') {
    const std::size_t fraction_start = ++i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      ++i;
    }
    if (i == fraction_start) {
      return false;
    }
  }
  return i == text.size();
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
  if (is_plain_number(value)) {
    entry->numbers.insert(canonical_number(value));
  }
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
  if (!p->numbers.empty()) {
    if (const std::string number = canonical_number(value); !number.empty() && p->numbers.contains(number)) {
      return true;
    }
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
