#include "hubgate/hubspot/json_scan.hpp"

#include "hubgate/hubspot/text.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <system_error>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace hubgate::hubspot {

namespace {

constexpr std::size_t max_depth = 64;
// What the position helpers return once they have set the error.
constexpr std::size_t failed = ~std::size_t{0};
// The token index a full token buffer gives (json_document::scan's max_tokens).
constexpr std::uint32_t no_room = ~std::uint32_t{0};
// Objects with more keys than this are checked for repeats by sorting, so that a hostile body
// with many keys costs n log n, not n squared.
constexpr std::size_t pairwise_key_limit = 32;

constexpr bool is_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

// One bit per byte of the 64 at `block` that a string may not hold as they are: `"`, `\\`, control
// bytes and non-ASCII bytes (the start of a UTF-8 sequence to check). Everything else, printable
// ASCII, is a plain string byte. SSE2, which every x86-64 has, and AVX2 where the CPU has it.
#if defined(__x86_64__)
inline std::uint64_t special_string_bytes_sse2(const char* block) noexcept {
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  const __m128i space = _mm_set1_epi8(0x20);
  const auto sixteen = [&](int at) {
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(block + at));
    // A signed compare: bytes from 0x80 are negative, so `< 0x20` finds non-ASCII bytes too.
    const __m128i special = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(bytes, quote), _mm_cmpeq_epi8(bytes, backslash)),
                                         _mm_cmplt_epi8(bytes, space));
    return static_cast<std::uint64_t>(static_cast<std::uint32_t>(_mm_movemask_epi8(special)));
  };
  return sixteen(0) | (sixteen(16) << 16U) | (sixteen(32) << 32U) | (sixteen(48) << 48U);
}

[[gnu::target("avx2")]] inline std::uint64_t special_string_bytes_avx2(const char* block) noexcept {
  const __m256i quote = _mm256_set1_epi8('"');
  const __m256i backslash = _mm256_set1_epi8('\\');
  const __m256i space = _mm256_set1_epi8(0x20);
  const auto thirty_two = [&](int at) __attribute__((target("avx2"))) {
    const __m256i bytes = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + at));
    const __m256i special = _mm256_or_si256(
        _mm256_or_si256(_mm256_cmpeq_epi8(bytes, quote), _mm256_cmpeq_epi8(bytes, backslash)),
        _mm256_cmpgt_epi8(space, bytes));
    return static_cast<std::uint64_t>(static_cast<std::uint32_t>(_mm256_movemask_epi8(special)));
  };
  return thirty_two(0) | (thirty_two(32) << 32U);
}
#endif

// The special bytes of a whole text, 64 to a word: word w holds bytes 64w to 64w+63, the last
// word's bits past the end clear, and one more word after it with its lowest bit set, so that a
// search stops there without a bound check. Strings are most of a body's bytes and most are short:
// a string's end is then a load, a shift and a bit scan, not a loop over its bytes. The last, short
// block is read from a padded copy, never past the text.
template <std::uint64_t (*special_string_bytes)(const char*) noexcept>
void mark_special_bytes(const char* text, std::size_t size, std::uint64_t* words) noexcept {
  std::size_t block = 0;
  for (; size - block >= 64; block += 64) {
    *words++ = special_string_bytes(text + block);
  }
  if (block < size) {
    std::array<char, 64> padded{};
    std::memcpy(padded.data(), text + block, size - block);
    *words++ = special_string_bytes(padded.data()) & ((std::uint64_t{1} << (size - block)) - 1);
  }
  *words = 1;
}

using special_byte_marker = void (*)(const char*, std::size_t, std::uint64_t*) noexcept;

#if defined(__x86_64__)
// Flattened, so that each ISA's block reader is inlined with its ISA.
[[gnu::noinline, gnu::flatten]] void mark_special_bytes_sse2(const char* text, std::size_t size,
                                                             std::uint64_t* words) noexcept {
  mark_special_bytes<special_string_bytes_sse2>(text, size, words);
}

[[gnu::noinline, gnu::flatten, gnu::target("avx2")]] void mark_special_bytes_avx2(const char* text, std::size_t size,
                                                                                  std::uint64_t* words) noexcept {
  mark_special_bytes<special_string_bytes_avx2>(text, size, words);
}

special_byte_marker best_special_byte_marker() noexcept {
  // Initialised here too, should a static initialiser elsewhere scan before libgcc's has run.
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") ? mark_special_bytes_avx2 : mark_special_bytes_sse2;
}

special_byte_marker baseline_special_byte_marker() noexcept { return mark_special_bytes_sse2; }
#else
// Elsewhere than x86-64, a byte at a time.
inline std::uint64_t special_string_bytes_portable(const char* block) noexcept {
  std::uint64_t bits = 0;
  for (unsigned i = 0; i < 64; ++i) {
    const auto c = static_cast<unsigned char>(block[i]);
    bits |= static_cast<std::uint64_t>(c < 0x20 || c >= 0x80 || c == '"' || c == '\\') << i;
  }
  return bits;
}

void mark_special_bytes_portable(const char* text, std::size_t size, std::uint64_t* words) noexcept {
  mark_special_bytes<special_string_bytes_portable>(text, size, words);
}

special_byte_marker best_special_byte_marker() noexcept { return mark_special_bytes_portable; }
special_byte_marker baseline_special_byte_marker() noexcept { return mark_special_bytes_portable; }
#endif

// Chosen on first use, so that a scan from another file's static initialiser finds it set; tests
// switch it (detail::json_scan_force_sse2) to check both.
std::atomic<special_byte_marker>& special_byte_marker_in_use() noexcept {
  static std::atomic<special_byte_marker> marker{best_special_byte_marker()};
  return marker;
}

// The first special byte from `position` (at most `size`) on, or `size`.
[[gnu::always_inline]] inline std::size_t next_special_byte(const std::uint64_t* words, std::size_t size,
                                                            std::size_t position) noexcept {
  std::size_t word = position / 64;
  std::uint64_t bits = words[word] >> (position % 64);
  if (bits != 0) [[likely]] {
    // A bit is a byte of the text: the bits past its end are clear.
    return position + static_cast<std::size_t>(std::countr_zero(bits));
  }
  do {
    bits = words[++word];
  } while (bits == 0);
  return std::min(word * 64 + static_cast<std::size_t>(std::countr_zero(bits)), size);
}

// Equal keys have equal fingerprints: a mix of the first and the last eight bytes (a shorter key's
// bytes, zero-padded, twice) and the size. The multiply last, so that the top bits (the key
// filter's bit index) depend on every byte read.
[[gnu::always_inline]] inline std::uint64_t mix_fingerprint(std::uint64_t head, std::uint64_t tail,
                                                            std::size_t size) noexcept {
  return (head ^ std::rotl(tail, 29) ^ static_cast<std::uint64_t>(size)) * 0x9E3779B97F4A7C15ULL;
}

std::uint64_t fingerprint(std::string_view key) noexcept {
  std::uint64_t head = 0;
  std::uint64_t tail = 0;
  if (key.size() >= 8) {
    std::memcpy(&head, key.data(), 8);
    std::memcpy(&tail, key.data() + key.size() - 8, 8);
  } else {
    std::memcpy(&head, key.data(), key.size());
    tail = head;
  }
  return mix_fingerprint(head, tail, key.size());
}

// fingerprint() of a key whose first eight bytes may be read even when it is shorter (the text
// goes on past it): two loads and a mask, and no branch on the size, which keys of under and over
// eight bytes, side by side in most objects, would make a coin toss.
[[gnu::always_inline]] inline std::uint64_t fingerprint_in_text(const char* key, std::size_t size) noexcept {
  const std::size_t read = std::min<std::size_t>(size, 8);
  // Little-endian: a short key's bytes are the low bytes of its first word; a table, not shifts.
  static constexpr auto masks = [] {
    std::array<std::uint64_t, 9> low_bytes{};
    for (std::size_t n = 0; n < 8; ++n) {
      low_bytes[n] = (std::uint64_t{1} << (n * 8)) - 1;
    }
    low_bytes[8] = ~std::uint64_t{0};
    return low_bytes;
  }();
  const std::uint64_t mask = masks[read];
  std::uint64_t head = 0;
  std::uint64_t tail = 0;
  std::memcpy(&head, key, 8);
  // The last eight bytes, or (a short key) the first eight again.
  std::memcpy(&tail, key + (size - read), 8);
  return mix_fingerprint(head & mask, tail & mask, size);
}

// Four hex digits at `p` (already checked by the scanner when decoding).
int hex4(const char* p) noexcept {
  int value = 0;
  for (int i = 0; i < 4; ++i) {
    const int digit = hex_value(p[i]);
    if (digit < 0) {
      return -1;
    }
    value = value * 16 + digit;
  }
  return value;
}

// A key of an open object: its bytes in the text, or (escaped keys) decoded in the key arena.
// Trivial, so that the scanner's inline key buffer costs nothing until used.
struct key_ref {
  std::uint64_t fingerprint;
  std::uint32_t offset;
  std::uint32_t length;
  bool decoded;
  std::uint32_t order; // set by unique_keys only: the key's place in its object (in the padding)
};

// The innermost open container decides what a comma or a closing bracket means; the bottom of
// the stack is the document itself, so that "is anything open" is asked only off the hot path.
enum class container_kind : std::uint8_t { document, array, object };

// Trivial, so that the scanner's stack costs nothing until used.
struct open_container {
  std::uint32_t token;
  std::uint32_t commas;
  std::uint32_t first_key;   // into the scanner's key list
  std::uint32_t arena_start; // into scanner::arena_
  // One bit per key fingerprint seen, while keys are checked one by one: 128, so that an object of
  // 16 to 32 keys rarely finds a bit already set and compares keys.
  std::array<std::uint64_t, 2> key_bits;
  container_kind kind;
  char closer;        // `}` or `]`
  bool plain_members; // json_token::plain_members, so far
};

// One pass over the text, a state machine whose states are the labels of run(): a value is
// expected, a value has ended, a key is expected; the usual members of an object (plain keys with
// plain string values) take a loop of their own, plain_members(). The position, the token buffer,
// the token count and the key list live in locals rather than in members: a member would alias the
// tokens' uint32 fields, and the compiler would reload it after every token written. The helpers
// take a position and return the one after what they read, or `failed` (nullptr for those that
// take pointers) once they have set the error. Every check happens in the order the grammar meets
// it, so that the first error is the one told, as the scanner before this one told it.
class scanner {
public:
  scanner(std::string_view text, std::uint32_t max_tokens, token_allowance* allowance,
          std::unique_ptr<json_token[]>& tokens, std::uint32_t& capacity, std::string& error)
      : text_(text), max_tokens_(std::max<std::uint32_t>(max_tokens, 1)), allowance_(allowance), tokens_(tokens),
        capacity_(capacity), error_(error) {}

  // True with the number of tokens in `token_count`.
  bool run(std::uint32_t& token_count) {
    if (text_.size() >= std::numeric_limits<std::uint32_t>::max()) {
      return fail(text_.data(), "JSON body too large");
    }
    // Positions are offsets from the text's start: what a token records, and one register fewer
    // than pointers with their base.
    const char* const base = text_.data();
    const std::size_t size = text_.size();
    std::size_t i = text_.starts_with("\xEF\xBB\xBF") ? 3 : 0;
    // Most bodies need fewer tokens than this (a key or a value is rarely under 8 bytes); a large
    // one starts at 65,536 (1.3 MB) and doubles, so that the memory taken follows what it holds.
    json_token* tokens =
        reserve(std::min({static_cast<std::uint32_t>(std::min<std::size_t>(size / 8 + 16, 65536)), max_tokens_}), 0);
    if (tokens == nullptr) {
      too_many_tokens(0);
      return false;
    }
    // A buffer kept from an earlier scan may be larger than this one may use.
    std::uint32_t capacity = std::min(capacity_, max_tokens_);
    std::uint32_t count = 0;
    key_ref* keys = inline_keys_.data();
    std::uint32_t key_count = 0;
    std::uint32_t key_capacity = inline_keys_.size();
    const std::uint64_t* const special = special_bytes_of(base, size);
    // Space is rare between tokens: one compare says there is none (a byte above ' ').
    const auto no_space_at = [base, size](std::size_t at) {
      return at != size && static_cast<unsigned char>(base[at]) > ' ';
    };
    // Room for one more token after the first `count`, the one at `at`; false when the buffer holds
    // the most it may (max_tokens_). It doubles, but never past what the text from `at` can still
    // hold (a value and its comma take two bytes at least): near the end of a large body the last
    // step is what it needs, not twice the buffer.
    const auto make_room = [&](std::size_t at) __attribute__((always_inline)) -> bool {
      if (capacity == count) [[unlikely]] {
        if (capacity >= max_tokens_) {
          return false;
        }
        const auto grown = static_cast<std::uint32_t>(std::min<std::uint64_t>(
            {std::uint64_t{capacity} * 2, max_tokens_, std::uint64_t{count} + (size - at) / 2 + 2}));
        json_token* const moved = reserve(grown, count);
        if (moved == nullptr) {
          return false;
        }
        tokens = moved;
        capacity = grown;
      }
      return true;
    };
    // A token from `at` to `past` (0 until a container closes), where there is room for it; a
    // scalar's `next` is the token after it, a container's is set on close.
    const auto put_token = [&](json_kind kind, std::size_t at, std::size_t past, bool escaped)
                               __attribute__((always_inline)) -> std::uint32_t {
      tokens[count] = json_token{static_cast<std::uint32_t>(at), static_cast<std::uint32_t>(past), count + 1, 0, kind,
                                 escaped, false};
      return count++;
    };
    // no_room (error set) when the buffer is full.
    const auto push_token = [&](json_kind kind, std::size_t at, std::size_t past, bool escaped)
                                __attribute__((always_inline)) -> std::uint32_t {
      if (!make_room(at)) [[unlikely]] {
        too_many_tokens(count);
        return no_room;
      }
      return put_token(kind, at, past, escaped);
    };
    // The open containers are [stack, top], the innermost last, above the document at stack[0].
    std::array<open_container, max_depth + 1> stack_storage;
    open_container* const stack = stack_storage.data();
    open_container* top = stack;
    // The document's closer is a comma, which the code after a value has taken before it looks.
    *top = open_container{0, 0, 0, 0, {}, container_kind::document, ',', false};
    // Closes the innermost container, whose closing bracket ends before `past_bracket`.
    const auto close = [&](std::size_t past_bracket, std::uint32_t members) __attribute__((always_inline)) -> bool {
      json_token& token = tokens[top->token];
      token.end = static_cast<std::uint32_t>(past_bracket);
      token.next = count;
      token.count = members;
      token.plain_members = top->plain_members;
      if (top->kind == container_kind::object) {
        if (key_count - top->first_key > pairwise_key_limit && !unique_keys(keys + top->first_key, keys + key_count)) {
          return false;
        }
        key_count = top->first_key;
        if (arena_.size() != top->arena_start) {
          arena_.resize(top->arena_start);
        }
      }
      --top;
      return true;
    };

    // Records the key from `first` to its closing quote `quote` in the innermost object, refusing
    // it if it repeats an earlier key there.
    const auto record_key = [&](std::size_t first, std::size_t quote, bool escaped) __attribute__((always_inline)) {
      const auto length = static_cast<std::uint32_t>(quote - first);
      if (key_count == key_capacity) [[unlikely]] {
        keys = grow_keys(keys, key_count, key_capacity);
      }
      // Written in place; kept (key_count moves past it) unless it repeats an earlier key.
      key_ref& ref = keys[key_count];
      ref = escaped ? decoded_key(std::string_view(base + first, length)) : plain_key(base, size, first, length);
      // Past the limit, keys are checked on close.
      if (top->commas < pairwise_key_limit && !admit_key(*top, keys, ref)) {
        return false;
      }
      ++key_count;
      return true;
    };

  value:
    if (!no_space_at(i)) [[unlikely]] {
      i = skip_space(base, size, i);
      if (i == size) {
        return fail(base + i, "expected a value");
      }
    }
    if (base[i] == '"') {
      bool escaped = false;
      const std::size_t past = string(special, base, size, i, escaped);
      if (past == failed) {
        return false;
      }
      if (push_token(json_kind::string, i, past, escaped) == no_room) {
        return false;
      }
      i = past;
    } else if (base[i] == '{' || base[i] == '[') {
      if (top == stack + max_depth) {
        return fail(base + i, "nested deeper than 64 arrays and objects");
      }
      const bool object = base[i] == '{';
      const std::uint32_t index = push_token(object ? json_kind::object : json_kind::array, i, 0, false);
      if (index == no_room) {
        return false;
      }
      *++top = open_container{index,
                              0,
                              key_count,
                              static_cast<std::uint32_t>(arena_.size()),
                              {},
                              object ? container_kind::object : container_kind::array,
                              object ? '}' : ']',
                              object};
      ++i;
      if (!no_space_at(i)) [[unlikely]] {
        i = skip_space(base, size, i);
      }
      if (i != size && base[i] == top->closer) {
        ++i;
        if (!close(i, 0)) {
          return false;
        }
      } else if (object) {
        goto key;
      } else {
        goto value;
      }
    } else {
      const std::uint32_t index = push_token(json_kind::null, i, 0, false);
      if (index == no_room) {
        return false;
      }
      const char* const past = scalar(base + i, base + size, tokens[index]);
      if (past == nullptr) {
        return false;
      }
      i = static_cast<std::size_t>(past - base);
      tokens[index].end = static_cast<std::uint32_t>(i);
    }

  after_value:
    // Closing brackets, until a comma asks for the next value or the document ends.
    if (!no_space_at(i)) [[unlikely]] {
      i = skip_space(base, size, i);
      if (i == size) {
        if (top == stack) {
          token_count = count;
          return true;
        }
        return fail(base + i, "unexpected end of the JSON document");
      }
    }
    if (base[i] == ',') {
      if (top->kind == container_kind::object) {
        ++top->commas;
        ++i;
        goto key;
      }
      if (top->kind == container_kind::array) {
        ++top->commas;
        ++i;
        goto value;
      }
      return fail(base + i, "bytes after the JSON document");
    }
    if (base[i] == top->closer) {
      ++i;
      if (!close(i, top->commas + 1)) {
        return false;
      }
      goto after_value;
    }
    if (top == stack) {
      return fail(base + i, "bytes after the JSON document");
    }
    return fail(base + i, top->kind == container_kind::object ? "expected ',' or '}' in an object"
                                                             : "expected ',' or ']' in an array");

  key:
    // The usual members first, in a loop of their own: a plain key, its colon and a plain string
    // value, with no space between them and a comma after. Anything else goes to the general code
    // below: a key from its quote, a value from its first byte, or what follows a value.
    {
      const member_run run = plain_members(special, base, size, i, tokens, count, capacity, keys, key_count,
                                           key_capacity, *top);
      i = run.position;
      count = run.count;
      key_count = run.key_count;
      // Only a run that ended after a plain string value leaves every member so far plain.
      top->plain_members = top->plain_members && run.next == member_run::after_value;
      switch (run.next) {
        case member_run::refused: return false;
        case member_run::value: goto value;
        case member_run::after_value: goto after_value;
        case member_run::key: break;
      }
    }
    // A member's key and its colon, checked against the object's other keys.
    if (!no_space_at(i)) [[unlikely]] {
      i = skip_space(base, size, i);
    }
    if (i == size || base[i] != '"') {
      return fail(base + i, "expected a string key");
    }
    {
      bool escaped = false;
      const std::size_t past = string(special, base, size, i, escaped);
      if (past == failed) {
        return false;
      }
      if (push_token(json_kind::string, i, past, escaped) == no_room || !record_key(i + 1, past - 1, escaped)) {
        return false;
      }
      i = past;
    }
    if (i == size || base[i] != ':') [[unlikely]] {
      i = skip_space(base, size, i);
      if (i == size || base[i] != ':') {
        return fail(base + i, "expected ':' after a key");
      }
    }
    ++i;
    goto value;
  }

private:
  // Where plain_members() stopped: at a key, a value or what follows a value, which the general
  // code reads; or at a repeated key, with the error set.
  struct member_run {
    std::size_t position;
    std::uint32_t count;
    std::uint32_t key_count;
    enum { key, value, after_value, refused } next;
  };

  // The usual members of `object`, from a key at `i` on, in a loop of their own, where the
  // compiler keeps what they need in registers: a plain key, its colon, a plain string value and a
  // comma, with space (if any) before the key and the value only, as compact and indented JSON
  // have it. It stops before anything else (an escape, a non-ASCII byte, space elsewhere, another
  // kind of value, a full token or key buffer) for the general code: at a key from its quote, at a
  // value from its first byte, or after a value. Inlined into run(): a batch input enters it twice
  // (its `properties` key stops at the object value), and a call cost about 100 instructions
  // (arguments, saved registers, the run's result through memory) for the same mispredicts.
  // A member's four quotes are the first four special bytes from its key on (only a colon lies
  // between a key's closing quote and its value's opening one), so the loop reads them from one
  // 64-bit window of the bitmap that starts at the key, clearing bits one after another: one load
  // and shift a member rather than a search per string, the second waiting on the first, and no
  // branch on where a word of the bitmap ends. A member longer than the window, or with space
  // before its value (space may hold control bytes, which are special), searches on from the
  // window's end or the value. A special byte that is not a quote (an escape, a non-ASCII or a
  // control byte) ends the run there.
  // Two words of the bitmap, the second above the first: a shift of the pair is one double shift.
  __extension__ using bitmap_pair = unsigned __int128;

  [[gnu::always_inline]] member_run plain_members(const std::uint64_t* special, const char* base, std::size_t size,
                                                 std::size_t i, json_token* tokens, std::uint32_t count,
                                                 std::uint32_t capacity, key_ref* keys, std::uint32_t key_count,
                                                 std::uint32_t key_capacity, open_container& object) {
    // Pointers rather than indexes into the buffers: no index arithmetic per store.
    json_token* token = tokens + count;
    key_ref* key = keys + key_count;
    key_ref* const first_key = key;
    // As many members as the buffers hold (two tokens and one key each): the key pointer counts.
    key_ref* const last_key = key + std::min<std::size_t>((capacity - count) / 2, key_capacity - key_count);
    // The keys of this run that admit_key's filter checks: those before the object's 33rd. A
    // member's key is its object's key number `commas`, which needs no register of its own.
    const std::uint32_t commas = object.commas;
    key_ref* const filtered_keys_end = first_key + (commas < pairwise_key_limit ? pairwise_key_limit - commas : 0);
    member_run stop{i, count, key_count, member_run::key};
    while (key != last_key) {
      if (i + 1 >= size || base[i] != '"') [[unlikely]] {
        i = skip_space_out_of_line(base, size, i);
        if (i + 1 >= size || base[i] != '"') {
          break;
        }
      }
      // The special bytes from the key's quote on, 64 of them: the word holding i and the next
      // (a text's bitmap ends with a word after its last, mark_special_bytes), shifted. Bit 0 is
      // the key's opening quote.
      const bitmap_pair words = static_cast<bitmap_pair>(special[i / 64 + 1]) << 64U | special[i / 64];
      std::uint64_t window = static_cast<std::uint64_t>(words >> (i % 64));
      window &= window - 1;
      // At or past the text's end, the bitmap's end marker (the checks below stop there).
      const std::size_t key_quote = window != 0 ? i + static_cast<std::uint32_t>(std::countr_zero(window))
                                                : next_special_byte(special, size, i + 64);
      if (key_quote + 2 >= size || two_bytes(base + key_quote) != two_bytes("\":")) [[unlikely]] {
        break;
      }
      ++count;
      *token++ = json_token{static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(key_quote + 1), count, 0,
                            json_kind::string, false, false};
      *key = plain_key(base, size, i + 1, static_cast<std::uint32_t>(key_quote - i - 1));
      if (key < filtered_keys_end && !admit_key(object, keys, *key)) [[unlikely]] {
        stop.next = member_run::refused;
        return stop;
      }
      ++key;
      const std::size_t key_start = i;
      // key_quote + 2 is in the text.
      i = key_quote + 2;
      std::size_t value_quote = 0;
      if (base[i] == '"') [[likely]] {
        // The key's closing quote, then the value's opening quote; what is left of the window
        // reaches 64 bytes past the key's opening quote.
        window &= window - 1;
        window &= window - 1;
        value_quote = window != 0 ? key_start + static_cast<std::uint32_t>(std::countr_zero(window))
                                  : next_special_byte(special, size, std::max(key_start + 64, i + 1));
      } else {
        i = skip_space_out_of_line(base, size, i);
        if (i == size || base[i] != '"') {
          stop.next = member_run::value;
          break;
        }
        value_quote = next_special_byte(special, size, i + 1);
      }
      // Past the text's end: the bitmap's end marker.
      const bool comma_after = value_quote + 1 < size && two_bytes(base + value_quote) == two_bytes("\",");
      if (!comma_after && (value_quote >= size || base[value_quote] != '"')) [[unlikely]] {
        stop.next = member_run::value;
        break;
      }
      ++count;
      *token++ = json_token{static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(value_quote + 1), count, 0,
                            json_kind::string, false, false};
      i = value_quote + 1;
      if (!comma_after) [[unlikely]] {
        stop.next = member_run::after_value;
        break;
      }
      ++i;
    }
    // A comma followed each member read in full: each key but one whose member stopped at its value.
    const auto members = static_cast<std::uint32_t>(key - first_key);
    object.commas = commas + members - (stop.next == member_run::key ? 0 : 1);
    stop.position = i;
    stop.count = count;
    stop.key_count = static_cast<std::uint32_t>(key - keys);
    return stop;
  }

  // The two bytes at `p` as one number: two bytes compared at once.
  [[gnu::always_inline]] static std::uint16_t two_bytes(const char* p) noexcept {
    std::uint16_t bytes = 0;
    std::memcpy(&bytes, p, 2);
    return bytes;
  }

  [[gnu::noinline]] static std::size_t skip_space_out_of_line(const char* base, std::size_t size,
                                                             std::size_t i) noexcept {
    return skip_space(base, size, i);
  }

  // The plain (unescaped) key from `first`, `length` bytes long.
  [[gnu::always_inline]] static key_ref plain_key(const char* base, std::size_t size, std::size_t first,
                                                  std::uint32_t length) noexcept {
    const std::uint64_t print = size - first >= 8 ? fingerprint_in_text(base + first, length)
                                                  : fingerprint(std::string_view(base + first, length));
    return key_ref{print, static_cast<std::uint32_t>(first), length, false, 0};
  }

  // False, with the error set, when `ref` (just past the keys recorded so far in `keys`) repeats
  // an earlier key of `object`, of which it is one of the first pairwise_key_limit keys (past the
  // limit, keys are checked on close).
  [[gnu::always_inline]] bool admit_key(open_container& object, const key_ref* keys, const key_ref& ref) {
    // A key whose fingerprint bit is new repeats no earlier key; otherwise look.
    std::uint64_t& bits = object.key_bits[ref.fingerprint >> 63U];
    const std::uint64_t bit = std::uint64_t{1} << ((ref.fingerprint >> 57U) & 63U);
    if ((bits & bit) != 0 && repeats_earlier_key(keys + object.first_key, &ref, ref)) {
      return duplicate(ref);
    }
    bits |= bit;
    return true;
  }

  // The document holds more values and keys than the caller lets it (json_document::scan).
  // `held`: the tokens read when the buffer could not grow (the body holds more).
  [[gnu::cold]] void too_many_tokens(std::uint32_t held) {
    error_ = held == 0 ? std::string("the JSON body holds more values and keys than may be read")
                       : "the JSON body holds more than " + std::to_string(held) + " values and keys";
    over_token_limit_ = true;
  }

  [[gnu::cold]] bool fail(const char* at, std::string_view message) {
    error_ = "invalid JSON at byte " + std::to_string(at - text_.data()) + ": ";
    error_ += message;
    return false;
  }

  [[gnu::always_inline]] static std::size_t skip_space(const char* base, std::size_t size, std::size_t i) noexcept {
    while (i != size && static_cast<unsigned char>(base[i]) <= ' ' && is_space(base[i])) {
      ++i;
    }
    return i;
  }

  // The special bytes of the text, marked (see mark_special_bytes): on the stack for a small body.
  const std::uint64_t* special_bytes_of(const char* text, std::size_t size) {
    const std::size_t words = size / 64 + 2;
    std::uint64_t* marks = inline_special_.data();
    if (words > inline_special_.size()) {
      spilled_special_ = std::make_unique_for_overwrite<std::uint64_t[]>(words);
      marks = spilled_special_.get();
    }
    special_byte_marker_in_use().load(std::memory_order_relaxed)(text, size, marks);
    return marks;
  }

  // The token buffer, grown to `capacity` keeping its first `count` tokens; nullptr when the
  // allowance refuses it.
  [[gnu::noinline]] json_token* reserve(std::uint32_t capacity, std::uint32_t count) {
    if (capacity > capacity_) {
      if (allowance_ != nullptr && !allowance_->allow(capacity)) {
        return nullptr;
      }
      auto grown = std::make_unique_for_overwrite<json_token[]>(capacity);
      std::copy(tokens_.get(), tokens_.get() + count, grown.get());
      tokens_ = std::move(grown);
      capacity_ = capacity;
      if (allowance_ != nullptr) {
        allowance_->replaced();
      }
    }
    return tokens_.get();
  }

  // A literal or a number starting at `p`, whose kind goes to `token` (pushed as null).
  const char* scalar(const char* p, const char* end, json_token& token) {
    switch (*p) {
      case 't': token.kind = json_kind::boolean; return literal(p, end, "true");
      case 'f': token.kind = json_kind::boolean; return literal(p, end, "false");
      case 'n': return literal(p, end, "null");
      default: token.kind = json_kind::number; return number(p, end);
    }
  }

  const char* literal(const char* p, const char* end, std::string_view word) {
    if (static_cast<std::size_t>(end - p) < word.size() || std::string_view(p, word.size()) != word) {
      fail(p, "expected a value");
      return nullptr;
    }
    return p + word.size();
  }

  static const char* skip_digits(const char* p, const char* end) noexcept {
    while (p != end && is_digit(*p)) {
      ++p;
    }
    return p;
  }

  // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
  const char* number(const char* p, const char* end) {
    const char* first = p;
    if (*p == '-') {
      ++p;
    }
    if (p == end || !is_digit(*p)) {
      fail(p, "expected a value");
      return nullptr;
    }
    // A leading zero stands alone: `01` ends the number at `1`, which the grammar refuses.
    p = *p == '0' ? p + 1 : skip_digits(p, end);
    bool integer = true;
    if (p != end && *p == '.') {
      integer = false;
      ++p;
      if (p == end || !is_digit(*p)) {
        fail(p, "a fraction needs a digit");
        return nullptr;
      }
      p = skip_digits(p, end);
    }
    if (p != end && (*p == 'e' || *p == 'E')) {
      integer = false;
      ++p;
      if (p != end && (*p == '+' || *p == '-')) {
        ++p;
      }
      if (p == end || !is_digit(*p)) {
        fail(p, "an exponent needs a digit");
        return nullptr;
      }
      p = skip_digits(p, end);
    }
    // Normalise-or-reject: nlohmann (and a JVM binder) refuse a number beyond a double's range.
    const auto length = static_cast<std::size_t>(p - first);
    if ((!integer || length > 18) && !std::isfinite(json_number_value(std::string_view(first, length)))) {
      fail(p, "a number beyond a double's range");
      return nullptr;
    }
    return p;
  }

  // From the opening quote at `i` to past the closing one, or `failed` once the error is set.
  // `special` marks the text's special bytes (mark_special_bytes).
  [[gnu::always_inline]] std::size_t string(const std::uint64_t* special, const char* base, std::size_t size,
                                            std::size_t i, bool& escaped) {
    ++i;
    while (true) {
      i = next_special_byte(special, size, i);
      if (i == size) {
        fail(base + i, "unterminated string");
        return failed;
      }
      const auto c = static_cast<unsigned char>(base[i]);
      if (c == '"') {
        return i + 1;
      }
      const char* past = nullptr;
      if (c == '\\') {
        escaped = true;
        past = escape(base + i, base + size);
      } else if (c < 0x20) {
        fail(base + i, "a control byte in a string must be escaped");
        return failed;
      } else {
        past = utf8_sequence(base + i, base + size);
      }
      if (past == nullptr) {
        return failed;
      }
      i = static_cast<std::size_t>(past - base);
    }
  }

  [[gnu::noinline]] const char* escape(const char* p, const char* end) {
    if (end - p < 2) {
      fail(p, "unterminated escape");
      return nullptr;
    }
    switch (p[1]) {
      case '"':
      case '\\':
      case '/':
      case 'b':
      case 'f':
      case 'n':
      case 'r':
      case 't': return p + 2;
      case 'u': break;
      default: fail(p, "invalid escape"); return nullptr;
    }
    const int unit = end - p >= 6 ? hex4(p + 2) : -1;
    if (unit < 0) {
      fail(p, "\\u needs four hex digits");
      return nullptr;
    }
    p += 6;
    if (unit >= 0xDC00 && unit <= 0xDFFF) {
      fail(p, "a low surrogate escape without a high one");
      return nullptr;
    }
    if (unit >= 0xD800 && unit <= 0xDBFF) {
      const int low = end - p >= 6 && p[0] == '\\' && p[1] == 'u' ? hex4(p + 2) : -1;
      if (low < 0xDC00 || low > 0xDFFF) {
        fail(p, "a high surrogate escape without a low one");
        return nullptr;
      }
      p += 6;
    }
    return p;
  }

  // One multi-byte UTF-8 sequence (text.hpp's utf8_sequence_length: RFC 3629's table, no overlong
  // forms, no surrogates, nothing above U+10FFFF).
  [[gnu::noinline]] const char* utf8_sequence(const char* p, const char* end) {
    const std::size_t length = utf8_sequence_length(std::string_view(p, static_cast<std::size_t>(end - p)));
    if (length == 0) {
      fail(p, "invalid UTF-8");
      return nullptr;
    }
    return p + length;
  }

  [[gnu::noinline]] key_ref decoded_key(std::string_view bytes) {
    const auto start = static_cast<std::uint32_t>(arena_.size());
    json_unescape_append(bytes, arena_);
    const auto length = static_cast<std::uint32_t>(arena_.size() - start);
    return key_ref{fingerprint(std::string_view(arena_).substr(start, length)), start, length, true, 0};
  }

  [[gnu::noinline]] bool repeats_earlier_key(const key_ref* first, const key_ref* last, const key_ref& ref) const noexcept {
    return std::any_of(first, last, [&](const key_ref& earlier) { return same(earlier, ref); });
  }

  // The key list, twice as large, keeping its first `count` keys.
  [[gnu::noinline]] key_ref* grow_keys(const key_ref* keys, std::uint32_t count, std::uint32_t& capacity) {
    auto grown = std::make_unique_for_overwrite<key_ref[]>(std::size_t{capacity} * 2);
    std::copy(keys, keys + count, grown.get());
    spilled_keys_ = std::move(grown);
    capacity *= 2;
    return spilled_keys_.get();
  }

  std::string_view view(const key_ref& ref) const noexcept {
    return ref.decoded ? std::string_view(arena_).substr(ref.offset, ref.length) : text_.substr(ref.offset, ref.length);
  }

  bool same(const key_ref& a, const key_ref& b) const noexcept {
    return a.fingerprint == b.fingerprint && view(a) == view(b);
  }

  [[gnu::cold]] bool duplicate(const key_ref& key) {
    error_ = "duplicate key \"";
    error_ += view(key);
    error_ += "\"";
    return false;
  }

  // The keys of a closed object that had too many to check one by one: sorted (they are dropped
  // next), so that equal keys, which share a fingerprint, end up side by side, each run of them in
  // the order they came. The repeat told is the one the text reaches first, as a check of each key
  // as it came would have told it (which fingerprint sorts first says nothing about the text).
  [[gnu::noinline]] bool unique_keys(key_ref* first, key_ref* last) {
    for (key_ref* key = first; key != last; ++key) {
      key->order = static_cast<std::uint32_t>(key - first);
    }
    std::sort(first, last, [this](const key_ref& a, const key_ref& b) {
      if (a.fingerprint != b.fingerprint) {
        return a.fingerprint < b.fingerprint;
      }
      const int order = view(a).compare(view(b));
      return order != 0 ? order < 0 : a.order < b.order;
    });
    // A run's second key is its first repeat; of those, the earliest.
    const key_ref* first_repeat = nullptr;
    for (const key_ref* key = first; key + 1 < last; ++key) {
      if (same(key[0], key[1]) && (key == first || !same(key[-1], key[0])) &&
          (first_repeat == nullptr || key[1].order < first_repeat->order)) {
        first_repeat = key + 1;
      }
    }
    return first_repeat == nullptr || duplicate(*first_repeat);
  }

public:
  bool over_token_limit() const noexcept { return over_token_limit_; }

private:
  std::string_view text_;
  const std::uint32_t max_tokens_;
  token_allowance* const allowance_;
  std::unique_ptr<json_token[]>& tokens_;
  std::uint32_t& capacity_;
  std::string& error_;
  bool over_token_limit_ = false;
  // The keys of every open object, innermost last: in the inline buffer until they outgrow it.
  std::array<key_ref, 64> inline_keys_;
  std::unique_ptr<key_ref[]> spilled_keys_;
  std::array<std::uint64_t, 34> inline_special_; // up to 2 KB of text
  std::unique_ptr<std::uint64_t[]> spilled_special_;
  std::string arena_; // decoded escaped keys of every open object
};
} // namespace

namespace detail {
bool json_scan_force_sse2(bool force) noexcept {
  const special_byte_marker before =
      special_byte_marker_in_use().exchange(force ? baseline_special_byte_marker() : best_special_byte_marker());
  return before != baseline_special_byte_marker();
}
} // namespace detail

bool json_document::scan(std::string_view text, std::uint32_t max_tokens, token_allowance* allowance) {
  text_ = text;
  error_.clear();
  scanner scan(text, max_tokens, allowance, tokens_, token_capacity_, error_);
  over_token_limit_ = false;
  if (!scan.run(token_count_)) {
    token_count_ = 0;
    over_token_limit_ = scan.over_token_limit();
    return false;
  }
  return true;
}

void json_document::reset(std::uint32_t kept_tokens) noexcept {
  text_ = {};
  token_count_ = 0;
  over_token_limit_ = false;
  error_.clear();
  if (token_capacity_ > kept_tokens) {
    tokens_.reset();
    token_capacity_ = 0;
  }
}

bool json_value::boolean() const noexcept {
  return is_boolean() && document_->text()[token().begin] == 't';
}

std::string_view json_value::string_value(std::string& scratch) const {
  if (!escaped()) {
    return string_bytes();
  }
  scratch.clear();
  json_unescape_append(string_bytes(), scratch);
  return scratch;
}

std::string json_value::string_value() const {
  std::string out;
  if (!escaped()) {
    out = string_bytes();
  } else {
    json_unescape_append(string_bytes(), out);
  }
  return out;
}

bool json_value::string_equals(std::string_view text) const {
  if (!is_string()) {
    return false;
  }
  if (!escaped()) {
    return string_bytes() == text;
  }
  std::string scratch;
  return string_value(scratch) == text;
}

json_range<json_member> json_value::members() const noexcept {
  const std::uint32_t end = token().next;
  return {{document_, is_object() ? index_ + 1 : end}, {document_, end}};
}

json_range<json_value> json_value::elements() const noexcept {
  const std::uint32_t end = token().next;
  return {{document_, is_array() ? index_ + 1 : end}, {document_, end}};
}

void json_unescape_append(std::string_view bytes, std::string& out) {
  out.reserve(out.size() + bytes.size());
  std::size_t i = 0;
  while (i < bytes.size()) {
    const std::size_t backslash = bytes.find('\\', i);
    out.append(bytes.substr(i, backslash - i));
    if (backslash == std::string_view::npos || backslash + 1 >= bytes.size()) {
      return;
    }
    i = backslash + 2;
    switch (bytes[backslash + 1]) {
      case 'b': out.push_back('\b'); break;
      case 'f': out.push_back('\f'); break;
      case 'n': out.push_back('\n'); break;
      case 'r': out.push_back('\r'); break;
      case 't': out.push_back('\t'); break;
      case 'u': {
        const int unit = i + 4 <= bytes.size() ? hex4(bytes.data() + i) : -1;
        if (unit < 0) {
          return;
        }
        i += 4;
        auto code = static_cast<char32_t>(unit);
        if (unit >= 0xD800 && unit <= 0xDBFF && i + 6 <= bytes.size() && bytes[i] == '\\' && bytes[i + 1] == 'u') {
          const int low = hex4(bytes.data() + i + 2);
          if (low >= 0xDC00 && low <= 0xDFFF) {
            code = 0x10000 + ((static_cast<char32_t>(unit) - 0xD800) << 10) + (static_cast<char32_t>(low) - 0xDC00);
            i += 6;
          }
        }
        append_utf8(code, out);
        break;
      }
      default: out.push_back(bytes[backslash + 1]); break; // `"`, `\`, `/`
    }
  }
}

double json_number_value(std::string_view number) {
  // strtod needs a terminated copy: on the stack for the usual short number.
  std::array<char, 64> buffer{};
  if (number.size() < buffer.size()) {
    std::copy(number.begin(), number.end(), buffer.begin());
    return std::strtod(buffer.data(), nullptr);
  }
  const std::string copy(number);
  return std::strtod(copy.c_str(), nullptr);
}

std::string json_number_text(std::string_view number) {
  const bool integer = number.find_first_of(".eE") == std::string_view::npos;
  if (integer) {
    // nlohmann reads an integer into int64 (negative) or uint64; only `-0` changes on the way back.
    std::int64_t as_signed = 0;
    std::uint64_t as_unsigned = 0;
    const char* first = number.data();
    const char* last = number.data() + number.size();
    const bool fits = number.starts_with('-') ? std::from_chars(first, last, as_signed).ec == std::errc{}
                                              : std::from_chars(first, last, as_unsigned).ec == std::errc{};
    if (fits) {
      return number == "-0" ? std::string("0") : std::string(number);
    }
  }
  // Floats, and integers too large for 64 bits, are doubles, written back the way nlohmann does.
  return nlohmann::json(json_number_value(number)).dump();
}

} // namespace hubgate::hubspot
