#pragma once
// A quick reader for a JSON object hubgate trusts to be well formed (HubSpot's answer to a
// forwarded batch, over verified TLS): it walks the root object's own members, compares their keys
// and finds where their values lie, without reading what the values hold. Pure and I/O-free; it
// allocates only to decode an escaped key or past 16 top-level members.
//
// What it checks: the text is one object (whitespace and a leading UTF-8 byte order mark around
// it, as json_document::scan), its members are `"key": value` separated by commas, no key is given
// twice (compared after decoding escapes: `"res\u0075lts"` is `results`), a top-level literal or
// number follows JSON's grammar, strings are closed and containers balanced.
// What it does not: the inside of a string or container. A string ends at the first quote not
// escaped by an odd run of backslashes; a container at the bracket that brings its depth, counted
// outside strings, back to zero (`[` and `{` open, `]` and `}` close, whichever kind). Strings are
// not checked for UTF-8 or control bytes, nested keys not for repeats, numbers not for their range.
// Nesting is limited as json_document::scan limits it: 64 arrays and objects, the root one of them.
// Whatever it is not sure about is "not understood" (nullopt), never a guess; on any input it
// reads only the text's bytes, ends in time linear in its size (n log n for many top-level keys),
// and does not recurse.

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace hubgate::hubspot {

enum class skim_kind : std::uint8_t { null, boolean, number, string, array, object };

// Where a value lies in the text: from its first byte (`"`, `[`, `{`, a digit...) to past its last.
struct skimmed_value {
  skim_kind kind = skim_kind::null;
  std::uint32_t begin = 0;
  std::uint32_t end = 0;
};

// The root object: `begin` is its `{`, `end` is past its `}`.
struct skimmed_object {
  std::uint32_t begin = 0;
  std::uint32_t end = 0;
};

// Reads `text` as one JSON object (see above) and sets `values[i]` to the value of its member
// named `names[i]`, or to nullopt when it has none. `values` must be at least as long as `names`.
// nullopt ("not understood", `values` then unspecified) when the text is not an object, is
// truncated, has an unclosed string or unbalanced brackets, bytes after the object, a key given
// twice, a malformed escape in a key, a top-level scalar outside JSON's grammar, nesting deeper
// than 64, or is 4 GiB or more.
std::optional<skimmed_object> skim_object(std::string_view text, std::span<const std::string_view> names,
                                          std::span<std::optional<skimmed_value>> values);

// The elements of an array skim_object found in the same `text`, counted by skimming each
// (scalars checked, containers and strings skipped as above); nullopt when that fails.
std::optional<std::size_t> skim_array_size(std::string_view text, const skimmed_value& array);

// An answer read whole as nlohmann's DOM, where the skim does not serve (an answer it does not
// understand, the ids of the contacts an answer names). Discarded when it is not JSON, nests deeper
// than 64 arrays and objects (the DOM's copies recurse: an answer nested 70,000 deep, 140 KB, took
// the whole stack), or is larger than answer_dom_limit (the DOM takes about 40 times the text).
nlohmann::ordered_json parse_answer(std::string_view text);
constexpr std::size_t answer_dom_limit = 8 * 1024 * 1024;

namespace detail {
// Tests only: containers are skipped 64 bytes at a time with AVX2 and PCLMUL where the CPU has
// them, else SSE2 (x86-64), else a byte at a time. `force` picks one (or `best` for the CPU's
// choice) and returns the one in use before.
enum class skim_reader : std::uint8_t { best, avx2, sse2, bytewise };
skim_reader json_skim_force(skim_reader force) noexcept;
// Tests only: the offset past the container whose opening bracket is at `open`, or nullopt (also
// when it nests more than `max_nesting` containers, itself one).
std::optional<std::size_t> json_skim_container_end(std::string_view text, std::size_t open,
                                                   std::size_t max_nesting = ~std::size_t{0});
} // namespace detail

} // namespace hubgate::hubspot
