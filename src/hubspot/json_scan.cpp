#include "hubgate/hubspot/json_scan.hpp"

#include "hubgate/hubspot/text.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <system_error>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace hubgate::hubspot {

namespace {

constexpr std::size_t max_depth = 64;
// Objects with more keys than this are checked for repeats by sorting, so that a hostile body
// with many keys costs n log n, not n squared.
constexpr std::size_t pairwise_key_limit = 32;

constexpr bool is_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

// Bytes a string may hold as they are: printable ASCII other than `"` and `\`.
constexpr std::array<bool, 256> plain_string_bytes = [] {
  std::array<bool, 256> table{};
  for (int c = 0x20; c < 0x80; ++c) {
    table[static_cast<std::size_t>(c)] = c != '"' && c != '\\';
  }
  return table;
}();

// The first byte from `p` on that is not plain (see above), or `end`. Strings are most of a
// body's bytes: with SSE2, sixteen at a time.
[[gnu::always_inline]] inline const char* skip_plain_string_bytes(const char* p, const char* end) noexcept {
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  const __m128i space = _mm_set1_epi8(0x20);
  while (end - p >= 16) {
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    // A signed compare: bytes from 0x80 are negative, so `< 0x20` finds non-ASCII bytes too.
    const __m128i special = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(bytes, quote), _mm_cmpeq_epi8(bytes, backslash)),
                                         _mm_cmplt_epi8(bytes, space));
    const int mask = _mm_movemask_epi8(special);
    if (mask != 0) {
      return p + __builtin_ctz(static_cast<unsigned>(mask));
    }
    p += 16;
  }
#endif
  while (p != end && plain_string_bytes[static_cast<unsigned char>(*p)]) {
    ++p;
  }
  return p;
}

// Equal keys have equal fingerprints; keys of up to 16 bytes with equal fingerprints are equal.
[[gnu::always_inline]] inline std::uint64_t fingerprint(std::string_view key) noexcept {
  std::uint64_t head = 0;
  std::uint64_t tail = 0;
  if (key.size() >= 8) {
    std::memcpy(&head, key.data(), 8);
    std::memcpy(&tail, key.data() + key.size() - 8, 8);
  } else if (key.size() >= 4) {
    std::uint32_t first = 0;
    std::uint32_t last = 0;
    std::memcpy(&first, key.data(), 4);
    std::memcpy(&last, key.data() + key.size() - 4, 4);
    head = first;
    tail = last;
  } else {
    for (const char c : key) {
      head = (head << 8U) | static_cast<unsigned char>(c);
    }
    tail = head;
  }
  return head ^ (tail * 0x9E3779B97F4A7C15ULL) ^ (static_cast<std::uint64_t>(key.size()) << 56U);
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
};

// Trivial, so that the scanner's stack of 64 costs nothing until used.
struct open_container {
  std::uint32_t token;
  std::uint32_t commas;
  std::uint32_t first_key;   // into scanner::keys_
  std::uint32_t arena_start; // into scanner::arena_
  // One bit per key fingerprint seen, while keys are checked one by one: 128, so that an object of
  // 16 to 32 keys rarely finds a bit already set and compares keys.
  std::array<std::uint64_t, 2> key_bits;
  bool object;
};

// One pass over the text. The position, the token buffer and the token count live in run()'s
// locals rather than in members: a member would alias the tokens' uint32 fields, and the compiler
// would reload it after every token written. The helpers take a position and return the one
// after what they read, or nullptr once they have set the error.
class scanner {
public:
  scanner(std::string_view text, std::unique_ptr<json_token[]>& tokens, std::uint32_t& capacity, std::string& error)
      : text_(text), tokens_(tokens), capacity_(capacity), error_(error) {}

  // True with the number of tokens in `token_count`.
  bool run(std::uint32_t& token_count) {
    if (text_.size() >= std::numeric_limits<std::uint32_t>::max()) {
      return fail(text_.data(), "JSON body too large");
    }
    const char* const base = text_.data();
    const char* p = base;
    const char* const end = p + text_.size();
    if (text_.starts_with("\xEF\xBB\xBF")) {
      p += 3;
    }
    // Most bodies need fewer tokens than this (a key or a value is rarely under 8 bytes).
    json_token* tokens = reserve(static_cast<std::uint32_t>(text_.size() / 8 + 16), 0);
    std::uint32_t capacity = capacity_;
    std::uint32_t count = 0;
    // A local copy of the base: the tokens' json_kind and bool fields are bytes, which may alias
    // anything, so a member would be reloaded after each token written.
    const auto offset = [base](const char* at) { return static_cast<std::uint32_t>(at - base); };
    // A token from `at` to `past`, which a container (set on close) and a number or a literal (set
    // once read) leave out; a scalar's `next` is the token after it, a container's is set on close.
    const auto push_token = [&](json_kind kind, const char* at, const char* past = nullptr,
                                bool escaped = false) __attribute__((always_inline)) -> std::uint32_t {
      if (count == capacity) [[unlikely]] {
        tokens = reserve(capacity * 2, count);
        capacity = capacity_;
      }
      tokens[count] = json_token{offset(at), past != nullptr ? offset(past) : 0, count + 1, 0, kind, escaped};
      return count++;
    };
    // A string from its opening quote `at`: scanned first, so that its token is written once.
    const auto push_string = [&](const char* at, bool& escaped) __attribute__((always_inline)) -> const char* {
      const char* const past = string(at, end, escaped);
      if (past != nullptr) {
        push_token(json_kind::string, at, past, escaped);
      }
      return past;
    };
    // The open containers are [stack, open_end), the innermost last. A pointer rather than a
    // depth, which every member would scale by the element size.
    std::array<open_container, max_depth> stack_storage;
    open_container* const stack = stack_storage.data();
    open_container* open_end = stack;
    // Closes the innermost container, whose closing bracket ends before `past_bracket`.
    const auto close = [&](const char* past_bracket, bool empty) __attribute__((always_inline)) {
      const open_container& closed = *--open_end;
      json_token& token = tokens[closed.token];
      token.end = offset(past_bracket);
      token.next = count;
      token.count = empty ? 0 : closed.commas + 1;
      return !closed.object || close_object(closed);
    };
    // A member's key and its colon, checked against the object's other keys.
    const auto key = [&](const char* at) __attribute__((always_inline)) -> const char* {
      at = skip_space(at, end);
      if (at == end || *at != '"') {
        fail(at, "expected a string key");
        return nullptr;
      }
      const char* const first = at + 1;
      bool escaped = false;
      at = push_string(at, escaped);
      if (at == nullptr) {
        return nullptr;
      }
      if (!new_key(open_end[-1], std::string_view(first, static_cast<std::size_t>(at - 1 - first)), offset(first),
                   escaped)) {
        return nullptr;
      }
      if (at != end && *at != ':') {
        at = skip_space(at, end);
      }
      if (at == end || *at != ':') {
        fail(at, "expected ':' after a key");
        return nullptr;
      }
      return at + 1;
    };

    while (true) {
      // A value is expected.
      p = skip_space(p, end);
      if (p == end) {
        return fail(p, "expected a value");
      }
      const char c = *p;
      if (c == '"') {
        bool escaped = false;
        p = push_string(p, escaped);
        if (p == nullptr) {
          return false;
        }
      } else if (c == '{' || c == '[') {
        if (open_end == stack + max_depth) {
          return fail(p, "nested deeper than 64 arrays and objects");
        }
        const bool object = c == '{';
        *open_end++ = open_container{push_token(object ? json_kind::object : json_kind::array, p), 0, key_count_,
                                     static_cast<std::uint32_t>(arena_.size()), {}, object};
        p = skip_space(p + 1, end);
        if (p == end || *p != (object ? '}' : ']')) {
          if (object && (p = key(p)) == nullptr) {
            return false;
          }
          continue;
        }
        ++p;
        if (!close(p, true)) {
          return false;
        }
      } else {
        const std::uint32_t index = push_token(json_kind::null, p);
        p = scalar(p, end, tokens[index]);
        if (p == nullptr) {
          return false;
        }
        tokens[index].end = offset(p);
      }
      // After a value: closing brackets, until a comma asks for the next value or the document ends.
      while (true) {
        p = skip_space(p, end);
        if (open_end == stack) {
          if (p != end) {
            return fail(p, "bytes after the JSON document");
          }
          token_count = count;
          return true;
        }
        if (p == end) {
          return fail(p, "unexpected end of the JSON document");
        }
        open_container& top = open_end[-1];
        if (*p == ',') {
          ++top.commas;
          ++p;
          if (top.object && (p = key(p)) == nullptr) {
            return false;
          }
          break;
        }
        if (*p != (top.object ? '}' : ']')) {
          return fail(p, top.object ? "expected ',' or '}' in an object" : "expected ',' or ']' in an array");
        }
        ++p;
        if (!close(p, false)) {
          return false;
        }
      }
    }
  }

private:
  [[gnu::cold]] bool fail(const char* at, std::string_view message) {
    error_ = "invalid JSON at byte " + std::to_string(at - text_.data()) + ": ";
    error_ += message;
    return false;
  }

  [[gnu::always_inline]] static const char* skip_space(const char* p, const char* end) noexcept {
    while (p != end && static_cast<unsigned char>(*p) <= ' ' && is_space(*p)) {
      ++p;
    }
    return p;
  }

  // The token buffer, grown to `capacity` keeping its first `count` tokens.
  [[gnu::noinline]] json_token* reserve(std::uint32_t capacity, std::uint32_t count) {
    if (capacity > capacity_) {
      auto grown = std::make_unique_for_overwrite<json_token[]>(capacity);
      std::copy(tokens_.get(), tokens_.get() + count, grown.get());
      tokens_ = std::move(grown);
      capacity_ = capacity;
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

  // From the opening quote to past the closing one.
  [[gnu::always_inline]] const char* string(const char* p, const char* end, bool& escaped) {
    ++p;
    while (true) {
      p = skip_plain_string_bytes(p, end);
      if (p == end) {
        fail(p, "unterminated string");
        return nullptr;
      }
      const auto c = static_cast<unsigned char>(*p);
      if (c == '"') {
        return p + 1;
      }
      if (c == '\\') {
        escaped = true;
        p = escape(p, end);
      } else if (c < 0x20) {
        fail(p, "a control byte in a string must be escaped");
        return nullptr;
      } else {
        p = utf8_sequence(p, end);
      }
      if (p == nullptr) {
        return nullptr;
      }
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

  // Records the key `bytes` (as sent, at `offset` in the text) of the object `top`, refusing it if
  // it repeats an earlier key there. Most keys are plain and their fingerprint bit is new: that
  // path copies and compares nothing.
  [[gnu::always_inline]] bool new_key(open_container& top, std::string_view bytes, std::uint32_t offset, bool escaped) {
    const key_ref ref = escaped ? decoded_key(bytes)
                                : key_ref{fingerprint(bytes), offset, static_cast<std::uint32_t>(bytes.size()), false};
    if (key_count_ - top.first_key < pairwise_key_limit) {
      // A key whose fingerprint bit is new repeats no earlier key; otherwise look.
      // The shift folds the high half in first: a fingerprint of ASCII bytes has every eighth bit clear.
      const std::uint64_t mixed = (ref.fingerprint ^ (ref.fingerprint >> 31U)) * 0x9E3779B97F4A7C15ULL;
      std::uint64_t& bits = top.key_bits[mixed >> 63U];
      const std::uint64_t bit = 1ULL << ((mixed >> 57U) & 63U);
      if ((bits & bit) != 0 && repeats_earlier_key(top, ref)) {
        return duplicate(ref);
      }
      bits |= bit;
    }
    if (key_count_ == key_capacity_) [[unlikely]] {
      grow_keys();
    }
    keys_[key_count_++] = ref;
    return true;
  }

  [[gnu::noinline]] key_ref decoded_key(std::string_view bytes) {
    const auto start = static_cast<std::uint32_t>(arena_.size());
    json_unescape_append(bytes, arena_);
    const auto length = static_cast<std::uint32_t>(arena_.size() - start);
    return key_ref{fingerprint(std::string_view(arena_).substr(start, length)), start, length, true};
  }

  [[gnu::noinline]] bool repeats_earlier_key(const open_container& top, const key_ref& ref) const noexcept {
    return std::any_of(keys_ + top.first_key, keys_ + key_count_, [&](const key_ref& earlier) { return same(earlier, ref); });
  }

  [[gnu::noinline]] void grow_keys() {
    auto grown = std::make_unique_for_overwrite<key_ref[]>(key_capacity_ * 2);
    std::copy(keys_, keys_ + key_count_, grown.get());
    spilled_keys_ = std::move(grown);
    keys_ = spilled_keys_.get();
    key_capacity_ *= 2;
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

  // Drops the keys of a closed object, checking them first if there were too many to check one by one.
  [[gnu::noinline]] bool close_object(const open_container& top) {
    key_ref* const first = keys_ + top.first_key;
    key_ref* const last = keys_ + key_count_;
    if (key_count_ - top.first_key > pairwise_key_limit) {
      // Past the limit, keys were not checked one by one: sort them (they are dropped below), so
      // that equal keys, which share a fingerprint, end up side by side.
      std::sort(first, last, [this](const key_ref& a, const key_ref& b) {
        return a.fingerprint != b.fingerprint ? a.fingerprint < b.fingerprint : view(a) < view(b);
      });
      const key_ref* const at = std::adjacent_find(first, last, [this](const key_ref& a, const key_ref& b) { return same(a, b); });
      if (at != last) {
        return duplicate(*at);
      }
    }
    key_count_ = top.first_key;
    arena_.resize(top.arena_start);
    return true;
  }

  std::string_view text_;
  std::unique_ptr<json_token[]>& tokens_;
  std::uint32_t& capacity_;
  std::string& error_;
  // The keys of every open object, innermost last: in the inline buffer until they outgrow it.
  std::array<key_ref, 64> inline_keys_;
  std::unique_ptr<key_ref[]> spilled_keys_;
  key_ref* keys_ = inline_keys_.data();
  std::uint32_t key_count_ = 0;
  std::uint32_t key_capacity_ = inline_keys_.size();
  std::string arena_; // decoded escaped keys of every open object
};

} // namespace

bool json_document::scan(std::string_view text) {
  text_ = text;
  error_.clear();
  scanner scan(text, tokens_, token_capacity_, error_);
  if (!scan.run(token_count_)) {
    token_count_ = 0;
    return false;
  }
  return true;
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
