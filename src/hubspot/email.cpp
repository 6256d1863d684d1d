#include "hubgate/hubspot/email.hpp"

#include "hubgate/hubspot/text.hpp"

#include <idn2.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace hubgate::hubspot {

namespace {

// UTF-8 spellings of the non-ASCII characters trimmed from either end: Unicode space separators,
// NEL, the zero-width space and the BOM, none of which can start or end a deliverable address.
constexpr std::array<std::string_view, 22> unicode_spaces = {
    "\xC2\x85",     "\xC2\xA0",     "\xE1\x9A\x80", "\xE1\xA0\x8E", "\xE2\x80\x80", "\xE2\x80\x81",
    "\xE2\x80\x82", "\xE2\x80\x83", "\xE2\x80\x84", "\xE2\x80\x85", "\xE2\x80\x86", "\xE2\x80\x87",
    "\xE2\x80\x88", "\xE2\x80\x89", "\xE2\x80\x8A", "\xE2\x80\x8B", "\xE2\x80\xA8", "\xE2\x80\xA9",
    "\xE2\x80\xAF", "\xE2\x81\x9F", "\xE3\x80\x80", "\xEF\xBB\xBF",
};

// Every space above starts with a byte from 0xC2 and ends with one from 0x80: an ASCII letter at
// the end need not be compared with them.
std::size_t space_prefix(std::string_view s) {
  if (s.empty() || static_cast<unsigned char>(s.front()) <= 0x20) {
    return s.empty() ? 0 : 1;
  }
  if (static_cast<unsigned char>(s.front()) < 0x80) {
    return 0;
  }
  for (const std::string_view space : unicode_spaces) {
    if (s.starts_with(space)) {
      return space.size();
    }
  }
  return 0;
}

std::size_t space_suffix(std::string_view s) {
  if (s.empty() || static_cast<unsigned char>(s.back()) <= 0x20) {
    return s.empty() ? 0 : 1;
  }
  if (static_cast<unsigned char>(s.back()) < 0x80) {
    return 0;
  }
  for (const std::string_view space : unicode_spaces) {
    if (s.ends_with(space)) {
      return space.size();
    }
  }
  return 0;
}

std::string_view trim(std::string_view s) {
  while (const std::size_t n = space_prefix(s)) {
    s.remove_prefix(n);
  }
  while (const std::size_t n = space_suffix(s)) {
    s.remove_suffix(n);
  }
  return s;
}

// Simple (one-to-one) lower-case mapping for the ranges named in email.hpp.
char32_t lower(char32_t c) {
  if ((c >= 0xC0 && c <= 0xDE && c != 0xD7) || (c >= 0x391 && c <= 0x3AB && c != 0x3A2) || (c >= 0x410 && c <= 0x42F)) {
    return c + 0x20;
  }
  if (c >= 0x400 && c <= 0x40F) {
    return c + 0x50;
  }
  if (((c >= 0x100 && c <= 0x12F) || (c >= 0x132 && c <= 0x137) || (c >= 0x14A && c <= 0x177)) && c % 2 == 0) {
    return c + 1;
  }
  if (((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E)) && c % 2 == 1) {
    return c + 1;
  }
  if (c >= 0xFF01 && c <= 0xFF5E) { // fullwidth ASCII, as NFKC (and IDNA) read it
    const char32_t ascii = c - 0xFEE0;
    return ascii >= U'A' && ascii <= U'Z' ? ascii + 0x20 : ascii;
  }
  switch (c) {
    case 0x17F: return U's'; // long s: Unicode case folding (and equalsIgnoreCase) make it `s`
    case 0x3002:             // ideographic full stops: IDNA reads them as `.` in a domain
    case 0xFF61: return U'.';
    case 0xFE6B: return U'@'; // small commercial at: NFKC reads it as `@`, as the fullwidth one
    case 0x178: return 0xFF;
    case 0x212A: return U'k';
    case 0x212B: return 0xE5;
    default: return c;
  }
}

// Invisible characters a normaliser (IDNA's mapping, NFKC-based cleaning) deletes: soft hyphen,
// zero-width and bidi formatting characters, word joiners, BOM.
bool is_ignorable(char32_t c) {
  return c == 0xAD || (c >= 0x200B && c <= 0x200F) || (c >= 0x202A && c <= 0x202E) || (c >= 0x2060 && c <= 0x2064) ||
         c == 0xFEFF;
}

void append_visible(char32_t c, std::string& out) {
  if (!is_ignorable(c)) {
    append_utf8(c, out);
  }
}

// A domain IDNA has a say in: one with a non-ASCII character, or with an ACE label (`xn--`),
// which a reader may decode. Plain ASCII domains are left as they are (UTS #46 would only
// lower-case them, which is done already).
bool is_internationalised(std::string_view domain) {
  return std::any_of(domain.begin(), domain.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; }) ||
         domain.starts_with("xn--") || domain.find(".xn--") != std::string_view::npos;
}

// UTS #46 ToASCII (libidn2: its mapping, NFC, the ACE checks), in transitional processing as
// IDNA2003 readers such as Java's `IDN.toASCII` map (`ß` becomes `ss`): the one ASCII spelling
// of a domain that every spelling IDNA maps to it shares (`bücher.de`, `BÜCHER.de` and
// `xn--bcher-kva.de`; `𝐞xample.org` and `ⓔxample.org` are `example.org`). Nothing when IDNA
// refuses the domain (a disallowed character such as U+2024 ONE DOT LEADER, which NFKC alone
// reads as `.`; broken or all-ASCII punycode such as `xn--example-`).
std::optional<std::string> idna_ascii(std::string_view domain) {
  // A domain's ASCII form has at most 253 bytes, one or more for each character IDNA keeps: a
  // longer text is no domain (or one padded with characters IDNA deletes), and is not handed to
  // libidn2, which spends about 0.1 µs a byte on it, on the thread that serves every request.
  constexpr std::size_t longest_readable = 253 * 4;
  if (domain.size() > longest_readable || domain.find('\0') != std::string_view::npos) {
    return std::nullopt;
  }
  const std::string text(domain);
  char* ascii = nullptr;
  if (idn2_to_ascii_8z(text.c_str(), &ascii, IDN2_NFC_INPUT | IDN2_TRANSITIONAL) != IDN2_OK) {
    return std::nullopt;
  }
  std::string out(ascii);
  idn2_free(ascii);
  return out;
}

// Trims, lower-cases, folds and drops as email.hpp says: everything but IDNA.
std::string fold_address(std::string_view email) {
  std::string_view s = trim(email);
  while (s.ends_with('.')) { // `a@b.com.` is the same mailbox (a fully qualified domain)
    s = trim(s.substr(0, s.size() - 1));
  }
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    if (b0 < 0x80) {
      out.push_back(b0 >= 'A' && b0 <= 'Z' ? static_cast<char>(b0 - 'A' + 'a') : static_cast<char>(b0));
      ++i;
      continue;
    }
    // Two- and three-byte sequences carry every character mapped here; anything else is copied.
    if ((b0 & 0xE0U) == 0xC0U && i + 1 < s.size() && (static_cast<unsigned char>(s[i + 1]) & 0xC0U) == 0x80U) {
      const char32_t c = (static_cast<char32_t>(b0 & 0x1FU) << 6) | (static_cast<unsigned char>(s[i + 1]) & 0x3FU);
      if (c == 0x130) {
        out += "i\xCC\x87"; // String.toLowerCase: U+0130 becomes i + U+0307 COMBINING DOT ABOVE
      } else {
        append_visible(lower(c), out);
      }
      i += 2;
      continue;
    }
    if ((b0 & 0xF0U) == 0xE0U && i + 2 < s.size() && (static_cast<unsigned char>(s[i + 1]) & 0xC0U) == 0x80U &&
        (static_cast<unsigned char>(s[i + 2]) & 0xC0U) == 0x80U) {
      const char32_t c = (static_cast<char32_t>(b0 & 0x0FU) << 12) |
                         (static_cast<char32_t>(static_cast<unsigned char>(s[i + 1]) & 0x3FU) << 6) |
                         (static_cast<unsigned char>(s[i + 2]) & 0x3FU);
      append_visible(lower(c), out);
      i += 3;
      continue;
    }
    out.push_back(s[i]);
    ++i;
  }
  // A full stop spelt otherwise (`。`, `．`) ends the address only once mapped: the same mailbox.
  while (!out.empty() && out.back() == '.') {
    out.pop_back();
  }
  return out;
}

// The domain of a folded address (or a folded domain) in its IDNA ASCII form where IDNA applies
// and accepts it; as it is otherwise (is_readable_domain then says whether it was refused).
void map_domain(std::string& folded, std::size_t domain_start) {
  std::string_view domain = std::string_view(folded).substr(domain_start);
  while (domain.ends_with('.')) {
    domain.remove_suffix(1);
  }
  if (!is_internationalised(domain)) {
    return;
  }
  if (auto ascii = idna_ascii(domain)) {
    folded.replace(domain_start, std::string::npos, *ascii);
  }
}

} // namespace

std::string normalise_email(std::string_view email) {
  std::string out = fold_address(email);
  if (const std::size_t at = out.rfind('@'); at != std::string::npos) {
    map_domain(out, at + 1);
  }
  return out;
}

std::string normalise_domain(std::string_view domain) {
  std::string out = fold_address(domain);
  map_domain(out, 0);
  return out;
}

bool is_readable_domain(std::string_view domain) {
  while (domain.ends_with('.')) {
    domain.remove_suffix(1);
  }
  if (!is_internationalised(domain)) {
    return true;
  }
  const auto ascii = idna_ascii(domain);
  return ascii && *ascii == domain;
}

bool is_host_name(std::string_view domain) noexcept {
  while (domain.ends_with('.')) {
    domain.remove_suffix(1);
  }
  // One table load per byte; a label may not be empty (a dot at the start, or two in a row).
  static constexpr auto host_byte = [] {
    std::array<bool, 256> table{};
    for (std::size_t b = 0; b < table.size(); ++b) {
      table[b] = (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') || b == '-';
    }
    return table;
  }();
  bool label_empty = true;
  for (const char c : domain) {
    if (c == '.') {
      if (label_empty) {
        return false;
      }
      label_empty = true;
    } else if (host_byte[static_cast<unsigned char>(c)]) {
      label_empty = false;
    } else {
      return false;
    }
  }
  return !label_empty;
}

bool is_normalised_email(std::string_view email) noexcept {
  if (email.empty()) {
    return true;
  }
  // Trimming looks only at the ends; lower-casing and dropping invisible characters touch only
  // upper-case ASCII and non-ASCII bytes.
  const auto last = static_cast<unsigned char>(email.back());
  if (static_cast<unsigned char>(email.front()) <= 0x20 || last <= 0x20 || last == '.') {
    return false;
  }
  // One table load per byte: it runs on every record's email.
  static constexpr auto changes = [] {
    std::array<bool, 256> table{};
    for (std::size_t b = 0; b < table.size(); ++b) {
      table[b] = b >= 0x80 || (b >= 'A' && b <= 'Z');
    }
    return table;
  }();
  bool changed = false;
  for (const char c : email) {
    changed |= changes[static_cast<unsigned char>(c)];
  }
  return !changed;
}

std::string_view normalised_domain(std::string_view normalised) noexcept {
  // memrchr rather than rfind: a word at a time, not a byte (it runs for every record's email).
  const auto* at = static_cast<const char*>(::memrchr(normalised.data(), '@', normalised.size()));
  if (at == nullptr) {
    return {};
  }
  std::string_view domain(at + 1, static_cast<std::size_t>(normalised.data() + normalised.size() - at - 1));
  // A dot left before a dropped invisible character (`b.com.\u00AD`) is still a trailing dot.
  while (domain.ends_with('.')) {
    domain.remove_suffix(1);
  }
  return domain;
}

std::string email_domain(std::string_view email) { return std::string(normalised_domain(normalise_email(email))); }

} // namespace hubgate::hubspot
