#include "hubgate/hubspot/json_skim.hpp"

#include "hubgate/hubspot/text.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace hubgate::hubspot {

namespace {

constexpr std::size_t npos = ~std::size_t{0};
// json_document::scan's limit: 64 arrays and objects, the root one of them.
constexpr std::size_t max_depth = 64;
// Keys compared pairwise up to this many, sorted past it.
constexpr std::size_t inline_keys = 16;

constexpr bool is_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

std::size_t skip_space(const char* p, std::size_t size, std::size_t i) noexcept {
  while (i < size && is_space(p[i])) {
    ++i;
  }
  return i;
}

// --- Containers -----------------------------------------------------------------------------
// The rule, whatever reads it: a backslash escapes the byte after it unless it is itself escaped
// (so an odd run of backslashes escapes the byte after the run), inside strings or not; a quote
// not escaped opens or closes a string; outside strings `[` and `{` add one to the depth, `]` and
// `}` take one away, and the container ends past the bracket that brings it back to zero. A
// container deeper than `max_nesting` (itself one) is not understood.

// A byte at a time: the reference the block readers are tested against, and the reader where
// there is no SSE2.
std::size_t container_end_bytewise(const char* p, std::size_t size, std::size_t open_at,
                                   std::size_t max_nesting) noexcept {
  std::size_t depth = 0;
  bool in_string = false;
  bool escape_next = false;
  for (std::size_t i = open_at; i < size; ++i) {
    const char c = p[i];
    const bool escaped = escape_next;
    escape_next = false;
    if (c == '\\') {
      escape_next = !escaped;
    } else if (c == '"') {
      in_string = in_string != !escaped;
    } else if (!in_string) {
      if (c == '[' || c == '{') {
        if (++depth > max_nesting) {
          return npos;
        }
      } else if ((c == ']' || c == '}') && --depth == 0) {
        return i + 1;
      }
    }
  }
  return npos;
}

// One bit per byte of a 64-byte block.
struct block_bits {
  std::uint64_t quote;
  std::uint64_t backslash;
  std::uint64_t open;  // `[` or `{`
  std::uint64_t close; // `]` or `}`
};

// The bytes escaped by a backslash in this block, given whether the previous block's last byte
// escapes this block's first (`carry`, updated for the next block). An odd run of backslashes
// escapes the byte after it: runs starting at odd positions are found by adding each run's start to
// the run (the carry out of the run lands past its end), and the escaped bytes are those after a
// backslash at a position of the other parity than the run's start.
inline std::uint64_t escaped_bytes(std::uint64_t backslash, std::uint64_t& carry) noexcept {
  if (backslash == 0 && carry == 0) {
    return 0;
  }
  constexpr std::uint64_t even_bits = 0x5555555555555555ULL;
  backslash &= ~carry; // a backslash escaped by the previous block escapes nothing
  const std::uint64_t follows_escape = (backslash << 1U) | carry;
  const std::uint64_t odd_starts = backslash & ~even_bits & ~follows_escape;
  std::uint64_t even_starts_end = 0;
  carry = __builtin_add_overflow(odd_starts, backslash, &even_starts_end) ? 1 : 0;
  return (even_bits ^ (even_starts_end << 1U)) & follows_escape;
}

inline std::uint64_t prefix_xor_shifts(std::uint64_t x) noexcept {
  x ^= x << 1U;
  x ^= x << 2U;
  x ^= x << 4U;
  x ^= x << 8U;
  x ^= x << 16U;
  x ^= x << 32U;
  return x;
}

// The blocks from `open` on, each read by `read_block` (a padded copy for the last, short one: never
// a byte past the text).
template <block_bits (*read_block)(const char*) noexcept, std::uint64_t (*prefix_xor)(std::uint64_t) noexcept>
std::size_t container_end_blocks(const char* p, std::size_t size, std::size_t open_at,
                                 std::size_t max_nesting) noexcept {
  std::uint64_t escape_carry = 0;
  std::uint64_t in_string_carry = 0; // all ones when the previous block ended inside a string
  std::size_t depth = 0;
  for (std::size_t at = open_at; at < size; at += 64) {
    block_bits bits{};
    if (size - at >= 64) {
      bits = read_block(p + at);
    } else {
      std::array<char, 64> padded;
      padded.fill(' ');
      std::memcpy(padded.data(), p + at, size - at);
      bits = read_block(padded.data());
    }
    const std::uint64_t quotes = bits.quote & ~escaped_bytes(bits.backslash, escape_carry);
    // Set from an opening quote up to (not including) its closing quote.
    const std::uint64_t in_string = prefix_xor(quotes) ^ in_string_carry;
    in_string_carry = static_cast<std::uint64_t>(static_cast<std::int64_t>(in_string) >> 63);
    const std::uint64_t opens = bits.open & ~in_string;
    const std::uint64_t closes = bits.close & ~in_string;
    std::uint64_t brackets = opens | closes;
    if (brackets == 0) {
      continue;
    }
    const auto open_count = static_cast<std::size_t>(std::popcount(opens));
    const auto close_count = static_cast<std::size_t>(std::popcount(closes));
    if (close_count < depth && depth + open_count <= max_nesting) {
      // The depth can neither come back to zero in this block nor pass the limit.
      depth = depth + open_count - close_count;
      continue;
    }
    for (; brackets != 0; brackets &= brackets - 1) {
      const std::uint64_t bit = brackets & (~brackets + 1);
      if ((opens & bit) != 0) {
        if (++depth > max_nesting) {
          return npos;
        }
      } else if (--depth == 0) {
        return at + static_cast<std::size_t>(std::countr_zero(bit)) + 1;
      }
    }
  }
  return npos;
}

using container_reader = std::size_t (*)(const char*, std::size_t, std::size_t, std::size_t) noexcept;

#if defined(__x86_64__)
inline block_bits read_block_sse2(const char* block) noexcept {
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  const __m128i lower = _mm_set1_epi8(0x20); // `[` | 0x20 is `{`, `]` | 0x20 is `}`
  const __m128i opening = _mm_set1_epi8('{');
  const __m128i closing = _mm_set1_epi8('}');
  block_bits bits{0, 0, 0, 0};
  for (unsigned k = 0; k < 4; ++k) {
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(block + 16 * k));
    const __m128i folded = _mm_or_si128(bytes, lower);
    const auto mask = [](__m128i m) {
      return static_cast<std::uint64_t>(static_cast<std::uint32_t>(_mm_movemask_epi8(m)));
    };
    bits.quote |= mask(_mm_cmpeq_epi8(bytes, quote)) << (16 * k);
    bits.backslash |= mask(_mm_cmpeq_epi8(bytes, backslash)) << (16 * k);
    bits.open |= mask(_mm_cmpeq_epi8(folded, opening)) << (16 * k);
    bits.close |= mask(_mm_cmpeq_epi8(folded, closing)) << (16 * k);
  }
  return bits;
}

[[gnu::target("avx2")]] inline block_bits read_block_avx2(const char* block) noexcept {
  const __m256i quote = _mm256_set1_epi8('"');
  const __m256i backslash = _mm256_set1_epi8('\\');
  const __m256i lower = _mm256_set1_epi8(0x20);
  const __m256i opening = _mm256_set1_epi8('{');
  const __m256i closing = _mm256_set1_epi8('}');
  block_bits bits{0, 0, 0, 0};
  for (unsigned k = 0; k < 2; ++k) {
    const __m256i bytes = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + 32 * k));
    const __m256i folded = _mm256_or_si256(bytes, lower);
    const auto mask = [](__m256i m) __attribute__((target("avx2"))) {
      return static_cast<std::uint64_t>(static_cast<std::uint32_t>(_mm256_movemask_epi8(m)));
    };
    bits.quote |= mask(_mm256_cmpeq_epi8(bytes, quote)) << (32 * k);
    bits.backslash |= mask(_mm256_cmpeq_epi8(bytes, backslash)) << (32 * k);
    bits.open |= mask(_mm256_cmpeq_epi8(folded, opening)) << (32 * k);
    bits.close |= mask(_mm256_cmpeq_epi8(folded, closing)) << (32 * k);
  }
  return bits;
}

// A carry-less multiply by all ones is the prefix XOR.
[[gnu::target("pclmul")]] inline std::uint64_t prefix_xor_clmul(std::uint64_t x) noexcept {
  const __m128i product =
      _mm_clmulepi64_si128(_mm_set_epi64x(0, static_cast<long long>(x)), _mm_set1_epi8(-1), 0);
  return static_cast<std::uint64_t>(_mm_cvtsi128_si64(product));
}

// Flattened, so that each ISA's block reader is inlined with its ISA.
[[gnu::noinline, gnu::flatten]] std::size_t container_end_sse2(const char* p, std::size_t size,
                                                               std::size_t open_at,
                                                               std::size_t max_nesting) noexcept {
  return container_end_blocks<read_block_sse2, prefix_xor_shifts>(p, size, open_at, max_nesting);
}

[[gnu::noinline, gnu::flatten, gnu::target("avx2,pclmul")]] std::size_t container_end_avx2(const char* p,
                                                                                          std::size_t size,
                                                                                          std::size_t open_at,
                                                                                          std::size_t max_nesting) noexcept {
  return container_end_blocks<read_block_avx2, prefix_xor_clmul>(p, size, open_at, max_nesting);
}

container_reader best_container_reader() noexcept {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("pclmul") ? container_end_avx2
                                                                             : container_end_sse2;
}
#else
// Elsewhere than x86-64, a byte at a time.
container_reader best_container_reader() noexcept { return container_end_bytewise; }
#endif

std::atomic<container_reader>& container_reader_in_use() noexcept {
  static std::atomic<container_reader> reader{best_container_reader()};
  return reader;
}

std::size_t container_end(const char* p, std::size_t size, std::size_t open_at, std::size_t max_nesting) noexcept {
  return container_reader_in_use().load(std::memory_order_relaxed)(p, size, open_at, max_nesting);
}

// --- Strings, scalars, values ---------------------------------------------------------------

// Past the closing quote of the string whose opening quote is at `open`: the first quote after it
// not preceded by an odd run of backslashes (each backslash is looked at once more at most).
std::size_t string_end(const char* p, std::size_t size, std::size_t open_at) noexcept {
  std::size_t from = open_at + 1;
  while (from < size) {
    const void* found = std::memchr(p + from, '"', size - from);
    if (found == nullptr) {
      return npos;
    }
    const auto quote = static_cast<std::size_t>(static_cast<const char*>(found) - p);
    std::size_t run = 0;
    while (quote - run - 1 > open_at && p[quote - run - 1] == '\\') {
      ++run;
    }
    if (run % 2 == 0) {
      return quote + 1;
    }
    from = quote + 1;
  }
  return npos;
}

std::size_t literal_end(const char* p, std::size_t size, std::size_t i, std::string_view word) noexcept {
  return size - i >= word.size() && std::memcmp(p + i, word.data(), word.size()) == 0 ? i + word.size() : npos;
}

std::size_t digits_end(const char* p, std::size_t size, std::size_t i) noexcept {
  while (i < size && is_digit(p[i])) {
    ++i;
  }
  return i;
}

// RFC 8259's number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
std::size_t number_end(const char* p, std::size_t size, std::size_t i) noexcept {
  if (i < size && p[i] == '-') {
    ++i;
  }
  if (i >= size || !is_digit(p[i])) {
    return npos;
  }
  i = p[i] == '0' ? i + 1 : digits_end(p, size, i);
  if (i < size && p[i] == '.') {
    const std::size_t fraction = i + 1;
    i = digits_end(p, size, fraction);
    if (i == fraction) {
      return npos;
    }
  }
  if (i < size && (p[i] == 'e' || p[i] == 'E')) {
    ++i;
    if (i < size && (p[i] == '+' || p[i] == '-')) {
      ++i;
    }
    const std::size_t exponent = i;
    i = digits_end(p, size, exponent);
    if (i == exponent) {
      return npos;
    }
  }
  return i;
}

// The value starting at `i` (not whitespace), at most `max_nesting` containers deep: its kind and the
// offset past it, or npos. A scalar's end is where its grammar ends; whoever reads on checks the
// byte after it.
std::size_t value_end(const char* p, std::size_t size, std::size_t i, std::size_t max_nesting,
                      skim_kind& kind) noexcept {
  if (i >= size) {
    return npos;
  }
  switch (p[i]) {
    case '"': kind = skim_kind::string; return string_end(p, size, i);
    case '[': kind = skim_kind::array; return container_end(p, size, i, max_nesting);
    case '{': kind = skim_kind::object; return container_end(p, size, i, max_nesting);
    case 't': kind = skim_kind::boolean; return literal_end(p, size, i, "true");
    case 'f': kind = skim_kind::boolean; return literal_end(p, size, i, "false");
    case 'n': kind = skim_kind::null; return literal_end(p, size, i, "null");
    default: kind = skim_kind::number; return number_end(p, size, i);
  }
}

// --- Keys -----------------------------------------------------------------------------------

// The four hex digits at `s[i]`, or -1.
long hex4(std::string_view s, std::size_t i) noexcept {
  if (s.size() - i < 4) {
    return -1;
  }
  long value = 0;
  for (std::size_t k = 0; k < 4; ++k) {
    const int digit = hex_value(s[i + k]);
    if (digit < 0) {
      return -1;
    }
    value = value * 16 + digit;
  }
  return value;
}

void append_utf8(std::string& out, unsigned long cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// A key's bytes (between its quotes) decoded, appended to `out`; false on an escape JSON does not
// have, or a \u escape naming a lone surrogate (json_document::scan refuses both).
bool decode_key(std::string_view bytes, std::string& out) {
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (bytes[i] != '\\') {
      out += bytes[i];
      continue;
    }
    if (++i == bytes.size()) {
      return false;
    }
    switch (bytes[i]) {
      case '"': out += '"'; break;
      case '\\': out += '\\'; break;
      case '/': out += '/'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'u': {
        const long unit = hex4(bytes, i + 1);
        if (unit < 0) {
          return false;
        }
        i += 4;
        auto cp = static_cast<unsigned long>(unit);
        if (cp >= 0xDC00 && cp <= 0xDFFF) {
          return false;
        }
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          if (bytes.size() - i < 7 || bytes[i + 1] != '\\' || bytes[i + 2] != 'u') {
            return false;
          }
          const long low = hex4(bytes, i + 3);
          if (low < 0xDC00 || low > 0xDFFF) {
            return false;
          }
          cp = 0x10000 + ((cp - 0xD800) << 10) + (static_cast<unsigned long>(low) - 0xDC00);
          i += 6;
        }
        append_utf8(out, cp);
        break;
      }
      default: return false;
    }
  }
  return true;
}

// A key as read: its bytes in the text, or (escaped) its decoded bytes in the scratch string.
struct key_ref {
  std::uint32_t offset;
  std::uint32_t size;
  bool decoded;
};

bool repeats(std::span<std::string_view> keys) {
  if (keys.size() <= inline_keys) {
    for (std::size_t a = 1; a < keys.size(); ++a) {
      for (std::size_t b = 0; b < a; ++b) {
        if (keys[a] == keys[b]) {
          return true;
        }
      }
    }
    return false;
  }
  std::sort(keys.begin(), keys.end());
  return std::adjacent_find(keys.begin(), keys.end()) != keys.end();
}

} // namespace

std::optional<skimmed_object> skim_object(std::string_view text, std::span<const std::string_view> names,
                                          std::span<std::optional<skimmed_value>> values) {
  if (text.size() >= std::numeric_limits<std::uint32_t>::max() || values.size() < names.size()) {
    return std::nullopt;
  }
  for (std::size_t n = 0; n < names.size(); ++n) {
    values[n].reset();
  }
  const char* p = text.data();
  const std::size_t size = text.size();
  std::size_t i = 0;
  if (text.starts_with("\xEF\xBB\xBF")) {
    i = 3;
  }
  i = skip_space(p, size, i);
  if (i >= size || p[i] != '{') {
    return std::nullopt;
  }
  skimmed_object root;
  root.begin = static_cast<std::uint32_t>(i);

  std::array<key_ref, inline_keys> inline_refs;
  std::vector<key_ref> spilled_refs;
  std::size_t key_count = 0;
  std::string decoded; // escaped keys, decoded
  const auto add_key = [&](key_ref ref) {
    if (key_count < inline_keys) {
      inline_refs[key_count] = ref;
    } else {
      if (key_count == inline_keys) {
        spilled_refs.assign(inline_refs.begin(), inline_refs.end());
      }
      spilled_refs.push_back(ref);
    }
    ++key_count;
  };

  i = skip_space(p, size, i + 1);
  if (i < size && p[i] == '}') {
    ++i;
  } else {
    while (true) {
      if (i >= size || p[i] != '"') {
        return std::nullopt;
      }
      const std::size_t key_open = i;
      const std::size_t key_end = string_end(p, size, key_open);
      if (key_end == npos) {
        return std::nullopt;
      }
      const std::string_view raw = text.substr(key_open + 1, key_end - key_open - 2);
      key_ref ref{static_cast<std::uint32_t>(key_open + 1), static_cast<std::uint32_t>(raw.size()), false};
      std::string_view key = raw;
      if (raw.find('\\') != std::string_view::npos) {
        const std::size_t from = decoded.size();
        if (!decode_key(raw, decoded)) {
          return std::nullopt;
        }
        ref = {static_cast<std::uint32_t>(from), static_cast<std::uint32_t>(decoded.size() - from), true};
        key = std::string_view(decoded).substr(from);
      }
      add_key(ref);

      i = skip_space(p, size, key_end);
      if (i >= size || p[i] != ':') {
        return std::nullopt;
      }
      i = skip_space(p, size, i + 1);
      skimmed_value value;
      // The root object is one level of the limit.
      const std::size_t end = value_end(p, size, i, max_depth - 1, value.kind);
      if (end == npos) {
        return std::nullopt;
      }
      value.begin = static_cast<std::uint32_t>(i);
      value.end = static_cast<std::uint32_t>(end);
      for (std::size_t n = 0; n < names.size(); ++n) {
        if (key == names[n] && !values[n]) {
          values[n] = value;
        }
      }

      i = skip_space(p, size, end);
      if (i < size && p[i] == ',') {
        i = skip_space(p, size, i + 1);
        continue;
      }
      if (i < size && p[i] == '}') {
        ++i;
        break;
      }
      return std::nullopt;
    }
  }
  root.end = static_cast<std::uint32_t>(i);
  if (skip_space(p, size, i) != size) {
    return std::nullopt;
  }

  // Any key given twice (not only the ones asked for): which one a reader keeps depends on the reader.
  const std::span<const key_ref> refs = key_count <= inline_keys
                                            ? std::span<const key_ref>(inline_refs.data(), key_count)
                                            : std::span<const key_ref>(spilled_refs);
  const auto view_of = [&](const key_ref& ref) {
    return ref.decoded ? std::string_view(decoded).substr(ref.offset, ref.size) : text.substr(ref.offset, ref.size);
  };
  if (key_count <= inline_keys) {
    std::array<std::string_view, inline_keys> keys;
    std::transform(refs.begin(), refs.end(), keys.begin(), view_of);
    if (repeats(std::span<std::string_view>(keys.data(), key_count))) {
      return std::nullopt;
    }
  } else {
    std::vector<std::string_view> keys(key_count);
    std::transform(refs.begin(), refs.end(), keys.begin(), view_of);
    if (repeats(keys)) {
      return std::nullopt;
    }
  }
  return root;
}

nlohmann::ordered_json parse_answer(std::string_view text) {
  if (text.size() > answer_dom_limit) {
    return nlohmann::ordered_json(nlohmann::ordered_json::value_t::discarded);
  }
  const char* p = text.data();
  const std::size_t size = text.size();
  const std::size_t i = skip_space(p, size, text.starts_with("\xEF\xBB\xBF") ? 3 : 0);
  skim_kind kind = skim_kind::null;
  if (value_end(p, size, i, max_depth, kind) == npos) {
    return nlohmann::ordered_json(nlohmann::ordered_json::value_t::discarded);
  }
  return nlohmann::ordered_json::parse(text, nullptr, false);
}

std::optional<std::size_t> skim_array_size(std::string_view text, const skimmed_value& array) {
  if (array.kind != skim_kind::array || array.end > text.size() || array.end - array.begin < 2 ||
      text[array.begin] != '[' || text[array.end - 1] != ']') {
    return std::nullopt;
  }
  const char* p = text.data();
  const std::size_t last = array.end - 1; // the closing bracket
  std::size_t i = skip_space(p, last, array.begin + 1);
  if (i == last) {
    return 0;
  }
  std::size_t count = 0;
  while (true) {
    skim_kind kind{};
    // Never more than skim_object allowed: the array is one level, the root another.
    const std::size_t end = value_end(p, last, i, max_depth - 2, kind);
    if (end == npos) {
      return std::nullopt;
    }
    ++count;
    i = skip_space(p, last, end);
    if (i == last) {
      return count;
    }
    if (p[i] != ',') {
      return std::nullopt;
    }
    i = skip_space(p, last, i + 1);
  }
}

namespace detail {

skim_reader json_skim_force(skim_reader force) noexcept {
  container_reader next = best_container_reader();
  switch (force) {
    case skim_reader::best: break;
#if defined(__x86_64__)
    case skim_reader::avx2:
      if (next == container_end_avx2) {
        break;
      }
      next = container_end_sse2; // not on this CPU
      break;
    case skim_reader::sse2: next = container_end_sse2; break;
#else
    case skim_reader::avx2:
    case skim_reader::sse2: break;
#endif
    case skim_reader::bytewise: next = container_end_bytewise; break;
  }
  const container_reader before = container_reader_in_use().exchange(next);
#if defined(__x86_64__)
  if (before == container_end_avx2) {
    return skim_reader::avx2;
  }
  if (before == container_end_sse2) {
    return skim_reader::sse2;
  }
#endif
  return skim_reader::bytewise;
}

std::optional<std::size_t> json_skim_container_end(std::string_view text, std::size_t open_at,
                                                   std::size_t max_nesting) {
  if (open_at >= text.size() || (text[open_at] != '[' && text[open_at] != '{')) {
    return std::nullopt;
  }
  const std::size_t end = container_end(text.data(), text.size(), open_at, max_nesting);
  return end == npos ? std::nullopt : std::optional<std::size_t>(end);
}

} // namespace detail

} // namespace hubgate::hubspot
