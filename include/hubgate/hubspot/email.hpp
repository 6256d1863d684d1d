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
// one. Other scripts are kept as they are in the local part. An internationalised domain (one
// with a non-ASCII character or an `xn--` label) is then put in its IDNA ASCII form (UTS #46
// ToASCII, transitional, as libidn2 does it): `jo@Bücher.de`, `jo@xn--bcher-kva.de` and
// `jo@𝐛ücher.de` are all `jo@xn--bcher-kva.de`. A domain IDNA refuses is left folded, and
// is_readable_domain says so. Never fails.
std::string normalise_email(std::string_view email);

// A domain alone (a rule's `email_domain`), normalised as normalise_email does an address's.
std::string normalise_domain(std::string_view domain);

// False for a normalised domain that IDNA applies to but refuses (a character it disallows, such
// as U+2024 ONE DOT LEADER, which NFKC alone reads as `.`; punycode that does not decode, or
// decodes to ASCII, such as `xn--example-`): readers would disagree on which domain it is.
// True for plain ASCII domains and for IDNA's ASCII forms. Trailing dots are ignored.
bool is_readable_domain(std::string_view normalised_domain);

// True when a normalised, non-empty ASCII domain is written as a host name: labels of letters,
// digits and hyphens, one dot between two (a trailing dot is ignored). `example.com/x`,
// `exa_mple.com` and `example..com` are not: a reader that cuts or mends such a domain (a path
// router taking `.../x` off, a parser collapsing the empty label) would read another domain than
// the rules were given.
bool is_host_name(std::string_view normalised_domain) noexcept;

// True only when normalise_email(email) == email, checked without building it: a plain ASCII
// address with no upper-case letter and nothing to trim (the common case). False for any other
// address, non-ASCII ones included even when normalising would not change them: normalise those.
bool is_normalised_email(std::string_view email) noexcept;

// The domain of an already normalised address: after the last `@`, trailing dots removed; empty
// without an `@`.
std::string_view normalised_domain(std::string_view normalised) noexcept;

// The normalised domain: after the last `@`, trailing dots removed (`example.com.` is
// `example.com`), in IDNA's ASCII form when internationalised. Empty when there is no `@`.
std::string email_domain(std::string_view email);

} // namespace hubgate::hubspot
