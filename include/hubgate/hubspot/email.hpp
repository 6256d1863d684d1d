#pragma once
// Email comparison as HubSpot stores addresses: trimmed and lower-cased. Extractors keep emails as
// sent; rules compare normalised forms.

#include <string>
#include <string_view>

namespace hubgate::hubspot {

// Trims what a JVM `trim()`/`strip()` would (bytes <= 0x20, Unicode spaces, NEL, zero-width space,
// BOM) and trailing dots (`a@b.com.`), and lower-cases ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic letters plus the Kelvin
// and Angstrom signs and the long s. Fullwidth ASCII (`ｂ＠ｔｅｓｔ．ｃｏｍ`) and ideographic full stops
// read as ASCII, and invisible characters (soft hyphen, zero-width, bidi controls) are dropped
// anywhere, as NFKC and IDNA would: spellings two systems might read as one address compare as
// one. Other scripts are kept as they are. Never fails.
std::string normalise_email(std::string_view email);

// True only when normalise_email(email) == email, checked without building it: a plain ASCII
// address with no upper-case letter and nothing to trim (the common case). False for any other
// address, non-ASCII ones included even when normalising would not change them: normalise those.
bool is_normalised_email(std::string_view email) noexcept;

// The domain of an already normalised address: after the last `@`, trailing dots removed; empty
// without an `@`.
std::string_view normalised_domain(std::string_view normalised) noexcept;

// The normalised domain: after the last `@`, trailing dots removed (`example.com.` is
// `example.com`). Empty when there is no `@`. IDNA is not applied.
std::string email_domain(std::string_view email);

} // namespace hubgate::hubspot
