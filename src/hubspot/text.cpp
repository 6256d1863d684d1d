#include "hubgate/hubspot/text.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <utility>

namespace hubgate::hubspot {

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

namespace {

// A three-byte UTF-8 sequence of name padding, as its bytes in one number.
constexpr bool is_padding3(std::uint32_t c) noexcept {
  return c == 0xE19A80 ||                     // U+1680 Ogham space mark
         c == 0xE1A08E ||                     // U+180E Mongolian vowel separator
         (c >= 0xE28080 && c <= 0xE2808F) ||  // U+2000-U+200F: spaces, zero-width, direction marks
         (c >= 0xE280A8 && c <= 0xE280AF) ||  // U+2028-U+202F: separators, embeddings, narrow nbsp
         (c >= 0xE2819F && c <= 0xE281A4) ||  // U+205F-U+2064: medium space, word joiner, invisibles
         c == 0xE38080 ||                     // U+3000 ideographic space
         c == 0xEFBBBF;                       // U+FEFF byte order mark
}

constexpr std::uint32_t three_bytes(const char* at) noexcept {
  return static_cast<std::uint32_t>(static_cast<unsigned char>(at[0])) << 16U |
         static_cast<std::uint32_t>(static_cast<unsigned char>(at[1])) << 8U | static_cast<unsigned char>(at[2]);
}

constexpr bool is_padding2(const char* at) noexcept {
  return static_cast<unsigned char>(at[0]) == 0xC2 &&
         (static_cast<unsigned char>(at[1]) == 0x85 || static_cast<unsigned char>(at[1]) == 0xA0);
}

// The size of the padding `s` starts with (one byte or one code point), 0 if none.
std::size_t leading_padding(std::string_view s) noexcept {
  if (s.empty()) {
    return 0;
  }
  if (static_cast<unsigned char>(s.front()) <= 0x20) {
    return 1;
  }
  if (s.size() >= 2 && is_padding2(s.data())) {
    return 2;
  }
  return s.size() >= 3 && is_padding3(three_bytes(s.data())) ? 3 : 0;
}

// The same at the end of `s`.
std::size_t trailing_padding(std::string_view s) noexcept {
  if (s.empty()) {
    return 0;
  }
  if (static_cast<unsigned char>(s.back()) <= 0x20) {
    return 1;
  }
  if (s.size() >= 2 && is_padding2(s.data() + s.size() - 2)) {
    return 2;
  }
  return s.size() >= 3 && is_padding3(three_bytes(s.data() + s.size() - 3)) ? 3 : 0;
}

constexpr char lower_ascii(char c) noexcept {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// The non-ASCII UTF-8 sequences that Java's equalsIgnoreCase equates with an ASCII letter.
struct fold_alias {
  std::string_view bytes;
  char ascii;
};
constexpr fold_alias fold_aliases[] = {
    {"\xC5\xBF", 's'},     // U+017F LATIN SMALL LETTER LONG S (upper case is S)
    {"\xE2\x84\xAA", 'k'}, // U+212A KELVIN SIGN (lower case is k)
    {"\xC4\xB1", 'i'},     // U+0131 LATIN SMALL LETTER DOTLESS I (upper case is I)
    {"\xC4\xB0", 'i'},     // U+0130 LATIN CAPITAL LETTER I WITH DOT ABOVE (lower case is i)
};

constexpr std::uint64_t each_byte(std::uint8_t b) noexcept { return 0x0101010101010101ULL * b; }

// Eight bytes with their ASCII capitals lower-cased, all at once: a byte gets 0x20 added when it
// is 'A' to 'Z' (its low seven bits at or above 'A' and not above 'Z', and its top bit clear).
constexpr std::uint64_t lower_ascii_8(std::uint64_t w) noexcept {
  const std::uint64_t low7 = w & each_byte(0x7F);
  const std::uint64_t at_least_a = low7 + each_byte(0x80 - 'A');
  const std::uint64_t above_z = low7 + each_byte(0x80 - 'Z' - 1);
  const std::uint64_t capital = at_least_a & ~above_z & ~w & each_byte(0x80);
  return w | (capital >> 2U);
}

// `Size` bytes at `p` as the low bytes of a word (a constant size: one load, no loop).
template <std::size_t Size>
std::uint64_t load(const char* p) noexcept {
  std::uint64_t w = 0;
  std::memcpy(&w, p, Size);
  return w;
}

template <std::size_t Size>
bool iequal_at(const char* a, const char* b) noexcept {
  return lower_ascii_8(load<Size>(a)) == lower_ascii_8(load<Size>(b));
}

} // namespace

url_byte read_url_byte(std::string_view s, std::size_t i) noexcept {
  if (i >= s.size()) {
    return {0, 0};
  }
  if (s[i] != '%') {
    return {static_cast<unsigned char>(s[i]), 1};
  }
  std::size_t j = i + 1;
  while (s.substr(j, 2) == "25" && j + 3 < s.size() && hex_value(s[j + 2]) >= 0 && hex_value(s[j + 3]) >= 0) {
    j += 2;
  }
  if (j + 1 < s.size() && hex_value(s[j]) >= 0 && hex_value(s[j + 1]) >= 0) {
    return {static_cast<unsigned char>(hex_value(s[j]) * 16 + hex_value(s[j + 1])), j + 2 - i};
  }
  return {'%', 1};
}

std::string_view read_lenient_name(std::string_view raw, std::string& scratch) {
  scratch.clear();
  for (std::size_t i = 0; i < raw.size();) {
    const url_byte b = read_url_byte(raw, i);
    const unsigned char c = raw[i] == '+' ? ' ' : b.byte;
    i += b.length;
    scratch.push_back((c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : static_cast<char>(c));
  }
  return trim_name_padding(scratch);
}

std::string_view trim_name_padding_slowly(std::string_view name) noexcept {
  for (std::size_t n = leading_padding(name); n != 0; n = leading_padding(name)) {
    name.remove_prefix(n);
  }
  for (std::size_t n = trailing_padding(name); n != 0; n = trailing_padding(name)) {
    name.remove_suffix(n);
  }
  return name;
}

// Eight bytes a step, the last step (or a short name) read by two loads that may overlap: header
// names and path segments are compared on every request.
bool iequals_ascii(std::string_view a, std::string_view b) noexcept {
  const std::size_t size = a.size();
  if (size != b.size()) {
    return false;
  }
  const char* const x = a.data();
  const char* const y = b.data();
  if (size >= 8) {
    for (std::size_t i = 0; i + 8 < size; i += 8) {
      if (!iequal_at<8>(x + i, y + i)) {
        return false;
      }
    }
    return iequal_at<8>(x + size - 8, y + size - 8);
  }
  if (size >= 4) {
    return iequal_at<4>(x, y) && iequal_at<4>(x + size - 4, y + size - 4);
  }
  if (size >= 2) {
    return iequal_at<2>(x, y) && iequal_at<2>(x + size - 2, y + size - 2);
  }
  return size == 0 || iequal_at<1>(x, y);
}

bool is_contact_type_id(std::string_view s) noexcept {
  const auto is_digits = [](std::string_view d) {
    return !d.empty() && std::all_of(d.begin(), d.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  const std::size_t dash = s.find('-');
  if (dash == std::string_view::npos) {
    return false;
  }
  const std::string_view meta = s.substr(0, dash);
  const std::string_view inner = s.substr(dash + 1);
  if (!is_digits(meta) || !is_digits(inner)) {
    return false;
  }
  const auto significant = [](std::string_view d) { return d.substr(std::min(d.find_first_not_of('0'), d.size())); };
  return significant(meta).empty() && significant(inner) == "1";
}

bool has_unplain_type_prefix(std::string_view name) noexcept {
  const std::string_view trimmed = trim_name_padding(name);
  const std::size_t slash = trimmed.find('/');
  if (slash == std::string_view::npos) {
    return false;
  }
  const std::string_view prefix = trim_name_padding(trimmed.substr(0, slash));
  bool plain = true; // ASCII digits and one dash
  bool numeric = prefix.find('-') != std::string_view::npos;
  for (const char c : prefix) {
    const auto b = static_cast<unsigned char>(c);
    const bool digit = b >= '0' && b <= '9';
    plain = plain && (digit || b == '-');
    numeric = numeric && (digit || b == '-' || b == '+' || b >= 0x80);
  }
  return numeric && !plain;
}

std::string_view form_field_property(std::string_view name) noexcept {
  const std::string_view trimmed = trim_name_padding(name);
  const std::size_t slash = trimmed.find('/');
  if (slash == std::string_view::npos || !is_contact_type_id(trim_name_padding(trimmed.substr(0, slash)))) {
    return name;
  }
  return trimmed.substr(slash + 1);
}

bool equals_folded(std::string_view text, std::string_view literal) noexcept {
  // Each letter of `literal` matches one byte of `text`, or an alias of at most three.
  if (text.size() < literal.size() || text.size() > 3 * literal.size()) {
    return false;
  }
  std::size_t t = 0;
  for (const char want : literal) {
    if (t >= text.size()) {
      return false;
    }
    const char got = text[t];
    if (static_cast<unsigned char>(got) < 0x80) {
      if (lower_ascii(got) != lower_ascii(want)) {
        return false;
      }
      ++t;
      continue;
    }
    bool matched = false;
    for (const auto& alias : fold_aliases) {
      if (alias.ascii == lower_ascii(want) && text.substr(t).starts_with(alias.bytes)) {
        t += alias.bytes.size();
        matched = true;
        break;
      }
    }
    if (!matched) {
      return false;
    }
  }
  return t == text.size();
}

namespace {

// The folded byte at `at` of `name` (compare_names), and how many bytes it takes.
std::pair<unsigned char, std::size_t> folded_at(std::string_view name, std::size_t at) noexcept {
  const char c = name[at];
  if (static_cast<unsigned char>(c) >= 0x80) {
    for (const auto& alias : fold_aliases) {
      if (name.substr(at).starts_with(alias.bytes)) {
        return {static_cast<unsigned char>(alias.ascii), alias.bytes.size()};
      }
    }
  }
  return {static_cast<unsigned char>(lower_ascii(c)), 1};
}

} // namespace

int compare_names(std::string_view a, std::string_view b) noexcept {
  std::size_t i = 0;
  std::size_t j = 0;
  while (i < a.size() && j < b.size()) {
    const auto [x, x_size] = folded_at(a, i);
    const auto [y, y_size] = folded_at(b, j);
    if (x != y) {
      return x < y ? -1 : 1;
    }
    i += x_size;
    j += y_size;
  }
  return i < a.size() ? 1 : (j < b.size() ? -1 : 0);
}

void fold_name(std::string_view name, std::string& out) {
  out.clear();
  for (std::size_t at = 0; at < name.size();) {
    const auto [c, size] = folded_at(name, at);
    out += static_cast<char>(c);
    at += size;
  }
}

bool percent_decode(std::string_view in, std::string& out, bool plus_as_space) {
  out.reserve(out.size() + in.size());
  // Runs of plain bytes are appended whole, not a byte at a time: most of a query is plain.
  std::size_t i = 0;
  while (i < in.size()) {
    std::size_t special = i;
    while (special < in.size() && in[special] != '%' && !(plus_as_space && in[special] == '+')) {
      ++special;
    }
    out.append(in.data() + i, special - i);
    i = special;
    if (i == in.size()) {
      break;
    }
    if (in[i] == '+') {
      out.push_back(' ');
      ++i;
      continue;
    }
    if (i + 2 >= in.size()) {
      return false;
    }
    const int hi = hex_value(in[i + 1]);
    const int lo = hex_value(in[i + 2]);
    if (hi < 0 || lo < 0) {
      return false;
    }
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 3;
  }
  return true;
}

void percent_encode_append(std::string_view in, std::string& out) {
  constexpr char digits[] = "0123456789ABCDEF";
  for (const char c : in) {
    const auto b = static_cast<unsigned char>(c);
    const bool unreserved = (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') || b == '-' ||
                            b == '.' || b == '_' || b == '~';
    if (unreserved) {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(digits[b >> 4U]);
      out.push_back(digits[b & 0x0FU]);
    }
  }
}

std::string percent_encode(std::string_view in) {
  std::string out;
  out.reserve(in.size() * 3);
  percent_encode_append(in, out);
  return out;
}

void append_utf8(char32_t c, std::string& out) {
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (c >> 6)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (c >> 12)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (c >> 18)));
    out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

bool has_percent_escape(std::string_view text) noexcept {
  for (std::size_t i = 0; i + 2 < text.size(); ++i) {
    if (text[i] == '%' && hex_value(text[i + 1]) >= 0 && hex_value(text[i + 2]) >= 0) {
      return true;
    }
  }
  return false;
}

std::size_t utf8_sequence_length(std::string_view s) noexcept {
  if (s.empty()) {
    return 0;
  }
  const auto lead = static_cast<unsigned char>(s.front());
  unsigned char low = 0x80;
  unsigned char high = 0xBF;
  std::size_t continuation = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    continuation = 1;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    continuation = 2;
    low = lead == 0xE0 ? 0xA0 : 0x80;
    high = lead == 0xED ? 0x9F : 0xBF;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    continuation = 3;
    low = lead == 0xF0 ? 0x90 : 0x80;
    high = lead == 0xF4 ? 0x8F : 0xBF;
  } else {
    return 0;
  }
  if (s.size() <= continuation) {
    return 0;
  }
  for (std::size_t i = 1; i <= continuation; ++i) {
    const auto byte = static_cast<unsigned char>(s[i]);
    if (byte < (i == 1 ? low : 0x80) || byte > (i == 1 ? high : 0xBF)) {
      return 0;
    }
  }
  return continuation + 1;
}

namespace {

// True when none of the eight bytes at `at` needs an escape or a UTF-8 check: no control byte, no
// `"`, `\\`, DEL, and nothing from 0x80 ("has a byte less than n" and "has a zero byte" tests,
// exact as yes/no answers). Most of a message is such bytes.
bool plain_json_word(const char* at) noexcept {
  constexpr std::uint64_t ones = 0x0101010101010101ULL;
  constexpr std::uint64_t highs = ones * 0x80;
  std::uint64_t w;
  std::memcpy(&w, at, sizeof w);
  const auto has_byte = [](std::uint64_t x, unsigned char c) {
    const std::uint64_t y = x ^ (ones * c);
    return (y - ones) & ~y & highs;
  };
  const std::uint64_t below_space = (w - ones * 0x20) & ~w & highs;
  return ((w & highs) | below_space | has_byte(w, '"') | has_byte(w, '\\') | has_byte(w, 0x7F)) == 0;
}

} // namespace

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  std::size_t plain_from = 0; // bytes that need no escape are appended a run at a time
  const auto flush = [&](std::size_t to) { out.append(s.substr(plain_from, to - plain_from)); };
  for (std::size_t i = 0; i < s.size();) {
    if (s.size() - i >= 8 && plain_json_word(s.data() + i)) {
      i += 8;
      continue;
    }
    const auto b = static_cast<unsigned char>(s[i]);
    if (b >= 0x20 && b != '"' && b != '\\' && b != 0x7F && b < 0x80) {
      ++i;
      continue;
    }
    if (b >= 0x80) {
      if (const std::size_t n = utf8_sequence_length(s.substr(i))) {
        i += n;
        continue;
      }
      flush(i);
      out += "\xEF\xBF\xBD";
      plain_from = ++i;
      continue;
    }
    flush(i);
    switch (b) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        out += "\\u00";
        out += hex[b >> 4];
        out += hex[b & 0xF];
    }
    plain_from = ++i;
  }
  flush(s.size());
  out += '"';
}

bool is_utf8(std::string_view s) noexcept {
  for (std::size_t i = 0; i < s.size();) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
    } else if (const std::size_t n = utf8_sequence_length(s.substr(i))) {
      i += n;
    } else {
      return false;
    }
  }
  return true;
}

} // namespace hubgate::hubspot
