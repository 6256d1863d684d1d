#pragma once
// Text rules the catalog and the extractors share, exposed so that other modules compare names the
// same way: ASCII/Java-style case folding and the percent codec. Pure functions, no allocation
// except where a std::string is returned.

#include <cstddef>
#include <string>
#include <string_view>

namespace hubgate::hubspot {

// True when `a` and `b` are equal ignoring ASCII case.
bool iequals_ascii(std::string_view a, std::string_view b) noexcept;

// HTTP's optional whitespace (spaces and tabs) removed from both ends.
std::string_view trim_ows(std::string_view s) noexcept;

// True for a byte that may start name padding (trim_name_padding): a byte up to 0x20, or the
// first byte of one of the Unicode spaces. A cheap filter for names that need a closer look.
constexpr bool may_start_name_padding(unsigned char b) noexcept {
  return b <= 0x20 || b == 0xC2 || b == 0xE1 || b == 0xE2 || b == 0xE3 || b == 0xEF;
}

// True when `name` may end in padding: its last byte is up to 0x20 or not ASCII.
constexpr bool may_end_in_name_padding(std::string_view name) noexcept {
  return !name.empty() && (static_cast<unsigned char>(name.back()) <= 0x20 || static_cast<unsigned char>(name.back()) >= 0x80);
}

// trim_name_padding for a name whose ends may be padding.
std::string_view trim_name_padding_slowly(std::string_view name) noexcept;

// A name's padding removed from both ends: every byte up to 0x20 (what Java's String.trim drops:
// spaces, tabs, line breaks, NUL and the other control bytes) and the invisible Unicode spaces
// other runtimes trim (Character.isWhitespace, JavaScript's trim, Python's strip): U+0085,
// U+00A0, U+1680, U+180E, U+2000 to U+200F (with the zero-width ones), U+2028 to U+202F,
// U+205F to U+2064, U+3000 and U+FEFF (the byte order mark). Property and member names are
// compared after it, since a server that trims a name would read `email\u00a0` as `email`.
// Inline for the common name, whose ends are plain ASCII.
inline std::string_view trim_name_padding(std::string_view name) noexcept {
  if (name.empty() || (!may_start_name_padding(static_cast<unsigned char>(name.front())) && !may_end_in_name_padding(name))) {
    return name;
  }
  return trim_name_padding_slowly(name);
}

// The value of one hex digit, or -1.
int hex_value(char c) noexcept;

// One byte of a URL as the most forgiving server reads it: `%XX` decoded, also when the `%` is
// itself escaped again (`%25XX`, `%2525XX`...), since a server or a proxy in front of it may decode
// twice. `length`: the text read, 0 at the end of `s`.
struct url_byte {
  unsigned char byte;
  std::size_t length;
};
url_byte read_url_byte(std::string_view s, std::size_t i) noexcept;

// A query parameter's or path segment's name as the most forgiving server reads it: read_url_byte,
// `+` a space, ASCII lower-cased, trim_name_padding. Access control refuses, and the log redacts,
// the names it reads so (`H%41PIKEY`, `hapikey%C2%A0`): what one takes for `hapikey` the other
// does too. The result points into `scratch`.
std::string_view read_lenient_name(std::string_view raw, std::string& scratch);

// True when UTF-8 `text` equals the ASCII `literal` under Java's String.equalsIgnoreCase: ASCII
// case is ignored, and U+017F (long s), U+212A (Kelvin sign), U+0131 (dotless i) and U+0130
// (dotted I) also equal `s`, `k`, `i`, `i`. HubSpot runs on the JVM and whether it compares paths
// or property names that way is unknown (reference §8), so matching assumes it might.
bool equals_folded(std::string_view text, std::string_view literal) noexcept;

// A name in a body (`wire`: any case, any padding, as extract reads it) against the property
// name an edit gives: whether the edit is of that member.
inline bool names_edited_property(std::string_view wire, std::string_view name) noexcept {
  return wire == name || equals_folded(trim_name_padding(wire), name);
}

// Property names as a server using Java's equalsIgnoreCase compares them: ASCII case ignored,
// and each folding alias of equals_folded (`ı`, `İ`, `ſ`, the Kelvin sign) read as its ASCII
// letter, on either side (`lıfecyclestage` is `lifecyclestage`). compare_names orders names so
// (negative, zero, positive); equals_names is its equality, quick when both are ASCII.
int compare_names(std::string_view a, std::string_view b) noexcept;
inline bool equals_names(std::string_view a, std::string_view b) noexcept {
  return iequals_ascii(a, b) || compare_names(a, b) == 0;
}
// `name` as compare_names reads it, into `out`: ASCII lower-cased, each alias its ASCII letter.
void fold_name(std::string_view name, std::string& out);

// `0-1`, the contact object type's id, also with leading zeros (`00-01`): a server parsing the
// two numbers would accept them.
bool is_contact_type_id(std::string_view s) noexcept;

// The contact property a form field names. Forms built in HubSpot's newer editor name a field
// `objectTypeId/property` (`0-1/email`, `0-2/name`), since one form may fill several objects: a
// field of the contact type is the property after the slash. Any other name (a plain one, or
// another object's field) is returned as it is.
std::string_view form_field_property(std::string_view name) noexcept;

// True when a form field's name starts with an object type written other than in ASCII digits
// (`+0-1/email`, `０-１/email`): a server parsing the numbers as Java does might read the contact
// type, which form_field_property does not, so such a field is refused.
bool has_unplain_type_prefix(std::string_view name) noexcept;

// Decodes %XX escapes (and `+` as space when `plus_as_space`, for form bodies and queries),
// appending to `out`. Returns false on an escape that is not `%` followed by two hex digits.
bool percent_decode(std::string_view in, std::string& out, bool plus_as_space = false);

// Percent-encodes every byte outside RFC 3986 "unreserved" (A-Z a-z 0-9 - . _ ~), upper-case hex,
// so the result reads the same under any decoder (`@` -> %40, `+` -> %2B, `/` -> %2F).
void percent_encode_append(std::string_view in, std::string& out);
std::string percent_encode(std::string_view in);

// Appends `c` (a code point up to U+10FFFF) as UTF-8.
void append_utf8(char32_t c, std::string& out);

// True when `text` still contains a `%XX` escape, i.e. it would change if decoded again.
bool has_percent_escape(std::string_view text) noexcept;

// The length of the well-formed multi-byte UTF-8 sequence `s` starts with (RFC 3629: no overlong
// forms, no surrogates, nothing above U+10FFFF), or 0 when it does not start with one.
std::size_t utf8_sequence_length(std::string_view s) noexcept;

// True when all of `s` is well-formed UTF-8 (utf8_sequence_length's rules).
bool is_utf8(std::string_view s) noexcept;

// Appends `s` as a JSON string, quotes included: `"` `\` and control bytes escaped, and each byte
// that is not part of well-formed UTF-8 replaced by U+FFFD, so that the text is always valid JSON
// whatever a caller or a rule wrote.
void append_json_string(std::string& out, std::string_view s);

} // namespace hubgate::hubspot
