// The previous scanner, verbatim but for its entry point: see json_scan_reference.hpp.
#include "json_scan_reference.hpp"

#include "hubgate/hubspot/text.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <set>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace hubgate::hubspot::reference {

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
std::uint64_t fingerprint(std::string_view key) noexcept {
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
struct key_ref {
  std::uint64_t fingerprint = 0;
  std::uint32_t offset = 0;
  std::uint32_t length = 0;
  bool decoded = false;
};

// Trivial, so that the scanner's stack of 64 costs nothing until used.
struct open_container {
  std::uint32_t token;
  std::uint32_t commas;
  std::uint32_t first_key;   // into scanner::keys_
  std::uint32_t arena_start; // into scanner::arena_
  std::uint64_t key_bits;    // one bit per key fingerprint seen, while keys are checked one by one
  bool object;
};

class scanner {
public:
  scanner(std::string_view text, std::unique_ptr<json_token[]>& tokens, std::uint32_t& count,
          std::uint32_t& capacity, std::string& error)
      : text_(text), p_(text.data()), end_(text.data() + text.size()), tokens_(tokens), count_(count),
        capacity_(capacity), error_(error) {}

  bool run() {
    if (text_.size() >= std::numeric_limits<std::uint32_t>::max()) {
      return fail("JSON body too large");
    }
    if (text_.starts_with("\xEF\xBB\xBF")) {
      p_ += 3;
    }
    count_ = 0;
    // Most bodies need fewer tokens than this (a key or a value is rarely under 8 bytes).
    reserve(static_cast<std::uint32_t>(text_.size() / 8 + 16));
    keys_.reserve(64);
    while (true) {
      // A value is expected.
      skip_space();
      if (p_ == end_) {
        return fail("expected a value");
      }
      const char c = *p_;
      if (c == '{' || c == '[') {
        if (!open(c == '{')) {
          return false;
        }
        skip_space();
        if (p_ == end_ || *p_ != (c == '{' ? '}' : ']')) {
          if (c == '{' && !key()) {
            return false;
          }
          continue;
        }
        ++p_;
        if (!close(true)) {
          return false;
        }
      } else if (!scalar(c)) {
        return false;
      }
      // After a value: closing brackets, until a comma asks for the next value or the document ends.
      while (true) {
        skip_space();
        if (depth_ == 0) {
          return p_ == end_ || fail("bytes after the JSON document");
        }
        if (p_ == end_) {
          return fail("unexpected end of the JSON document");
        }
        open_container& top = stack_[depth_ - 1];
        if (*p_ == ',') {
          ++p_;
          ++top.commas;
          if (top.object && !key()) {
            return false;
          }
          break;
        }
        if (*p_ != (top.object ? '}' : ']')) {
          return fail(top.object ? "expected ',' or '}' in an object" : "expected ',' or ']' in an array");
        }
        ++p_;
        if (!close(false)) {
          return false;
        }
      }
    }
  }

private:
  [[gnu::cold]] bool fail(std::string_view message) {
    error_ = "invalid JSON at byte " + std::to_string(p_ - text_.data()) + ": ";
    error_ += message;
    return false;
  }

  [[gnu::always_inline]] void skip_space() noexcept {
    while (p_ != end_ && static_cast<unsigned char>(*p_) <= ' ' && is_space(*p_)) {
      ++p_;
    }
  }

  std::uint32_t offset() const noexcept { return static_cast<std::uint32_t>(p_ - text_.data()); }

  // A token starting here; a scalar's `next` is the token after it, a container's is set on close.
  [[gnu::always_inline]] std::uint32_t push_token(json_kind kind) {
    if (count_ == capacity_) {
      reserve(capacity_ * 2);
    }
    tokens_[count_] = json_token{offset(), 0, count_ + 1, 0, kind, false, false};
    return count_++;
  }

  void reserve(std::uint32_t capacity) {
    if (capacity <= capacity_) {
      return;
    }
    auto grown = std::make_unique_for_overwrite<json_token[]>(capacity);
    std::copy(tokens_.get(), tokens_.get() + count_, grown.get());
    tokens_ = std::move(grown);
    capacity_ = capacity;
  }

  bool open(bool object) {
    if (depth_ >= max_depth) {
      return fail("nested deeper than 64 arrays and objects");
    }
    stack_[depth_++] = open_container{push_token(object ? json_kind::object : json_kind::array), 0,
                                      static_cast<std::uint32_t>(keys_.size()),
                                      static_cast<std::uint32_t>(arena_.size()), 0, object};
    ++p_;
    return true;
  }

  bool scalar(char c) {
    const std::uint32_t index = push_token(json_kind::null);
    json_token& token = tokens_[index];
    switch (c) {
      case '"':
        token.kind = json_kind::string;
        if (!string(token.escaped)) {
          return false;
        }
        break;
      case 't': token.kind = json_kind::boolean; return literal("true", token);
      case 'f': token.kind = json_kind::boolean; return literal("false", token);
      case 'n': return literal("null", token);
      default:
        token.kind = json_kind::number;
        if (!number()) {
          return false;
        }
        break;
    }
    token.end = offset();
    return true;
  }

  bool literal(std::string_view word, json_token& token) {
    if (static_cast<std::size_t>(end_ - p_) < word.size() || std::string_view(p_, word.size()) != word) {
      return fail("expected a value");
    }
    p_ += word.size();
    token.end = offset();
    return true;
  }

  // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
  bool number() {
    const char* first = p_;
    if (*p_ == '-') {
      ++p_;
    }
    if (p_ == end_ || !is_digit(*p_)) {
      return fail("expected a value");
    }
    if (*p_ == '0') {
      ++p_; // a leading zero stands alone: `01` ends the number at `1`, which the grammar refuses
    } else {
      skip_digits();
    }
    bool integer = true;
    if (p_ != end_ && *p_ == '.') {
      integer = false;
      ++p_;
      if (p_ == end_ || !is_digit(*p_)) {
        return fail("a fraction needs a digit");
      }
      skip_digits();
    }
    if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
      integer = false;
      ++p_;
      if (p_ != end_ && (*p_ == '+' || *p_ == '-')) {
        ++p_;
      }
      if (p_ == end_ || !is_digit(*p_)) {
        return fail("an exponent needs a digit");
      }
      skip_digits();
    }
    // Normalise-or-reject: nlohmann (and a JVM binder) refuse a number beyond a double's range.
    const auto length = static_cast<std::size_t>(p_ - first);
    if ((!integer || length > 18) && !std::isfinite(json_number_value(std::string_view(first, length)))) {
      return fail("a number beyond a double's range");
    }
    return true;
  }

  void skip_digits() noexcept {
    while (p_ != end_ && is_digit(*p_)) {
      ++p_;
    }
  }

  // From the opening quote to past the closing one.
  [[gnu::always_inline]] bool string(bool& escaped) {
    ++p_;
    while (true) {
      p_ = skip_plain_string_bytes(p_, end_);
      if (p_ == end_) {
        return fail("unterminated string");
      }
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        ++p_;
        return true;
      }
      if (c == '\\') {
        escaped = true;
        if (!escape()) {
          return false;
        }
      } else if (c < 0x20) {
        return fail("a control byte in a string must be escaped");
      } else if (!utf8_sequence()) {
        return false;
      }
    }
  }

  bool escape() {
    if (end_ - p_ < 2) {
      return fail("unterminated escape");
    }
    switch (p_[1]) {
      case '"':
      case '\\':
      case '/':
      case 'b':
      case 'f':
      case 'n':
      case 'r':
      case 't': p_ += 2; return true;
      case 'u': break;
      default: return fail("invalid escape");
    }
    const int unit = end_ - p_ >= 6 ? hex4(p_ + 2) : -1;
    if (unit < 0) {
      return fail("\\u needs four hex digits");
    }
    p_ += 6;
    if (unit >= 0xDC00 && unit <= 0xDFFF) {
      return fail("a low surrogate escape without a high one");
    }
    if (unit >= 0xD800 && unit <= 0xDBFF) {
      const int low = end_ - p_ >= 6 && p_[0] == '\\' && p_[1] == 'u' ? hex4(p_ + 2) : -1;
      if (low < 0xDC00 || low > 0xDFFF) {
        return fail("a high surrogate escape without a low one");
      }
      p_ += 6;
    }
    return true;
  }

  // One multi-byte UTF-8 sequence, by RFC 3629's table: no overlong forms, no surrogates, nothing
  // above U+10FFFF.
  bool utf8_sequence() {
    const auto lead = static_cast<unsigned char>(*p_);
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
      return fail("invalid UTF-8");
    }
    if (static_cast<std::size_t>(end_ - p_) <= continuation) {
      return fail("invalid UTF-8");
    }
    for (std::size_t i = 1; i <= continuation; ++i) {
      const auto byte = static_cast<unsigned char>(p_[i]);
      if (byte < (i == 1 ? low : 0x80) || byte > (i == 1 ? high : 0xBF)) {
        return fail("invalid UTF-8");
      }
    }
    p_ += continuation + 1;
    return true;
  }

  // A member's key and its colon, checked against the object's other keys.
  bool key() {
    skip_space();
    if (p_ == end_ || *p_ != '"') {
      return fail("expected a string key");
    }
    const std::uint32_t index = push_token(json_kind::string);
    bool escaped = false;
    if (!string(escaped)) {
      return false;
    }
    json_token& token = tokens_[index];
    token.escaped = escaped;
    token.end = offset();
    key_ref ref;
    if (escaped) {
      ref.decoded = true;
      ref.offset = static_cast<std::uint32_t>(arena_.size());
      json_unescape_append(text_.substr(token.begin + 1, token.end - token.begin - 2), arena_);
      ref.length = static_cast<std::uint32_t>(arena_.size() - ref.offset);
    } else {
      ref.offset = token.begin + 1;
      ref.length = token.end - token.begin - 2;
    }
    ref.fingerprint = fingerprint(view(ref));
    open_container& top = stack_[depth_ - 1];
    if (keys_.size() - top.first_key < pairwise_key_limit) {
      // A key whose fingerprint bit is new repeats no earlier key; otherwise look.
      const std::uint64_t bit = 1ULL << ((ref.fingerprint * 0x9E3779B97F4A7C15ULL) >> 58U);
      if ((top.key_bits & bit) != 0) {
        for (auto k = keys_.begin() + top.first_key; k != keys_.end(); ++k) {
          if (same(*k, ref)) {
            return duplicate(ref);
          }
        }
      }
      top.key_bits |= bit;
    }
    keys_.push_back(ref);
    skip_space();
    if (p_ == end_ || *p_ != ':') {
      return fail("expected ':' after a key");
    }
    ++p_;
    return true;
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

  bool close(bool empty) {
    const open_container top = stack_[--depth_];
    json_token& token = tokens_[top.token];
    token.end = offset();
    token.next = count_;
    token.count = empty ? 0 : top.commas + 1;
    if (!top.object) {
      return true;
    }
    const auto first = keys_.begin() + top.first_key;
    if (keys_.size() - top.first_key > pairwise_key_limit) {
      // Past the limit, keys were not checked one by one: the first that repeats an earlier one,
      // in the order they came.
      std::set<std::string_view> seen;
      for (auto key = first; key != keys_.end(); ++key) {
        if (!seen.insert(view(*key)).second) {
          return duplicate(*key);
        }
      }
    }
    keys_.erase(first, keys_.end());
    arena_.resize(top.arena_start);
    return true;
  }

  std::string_view text_;
  const char* p_;
  const char* end_;
  std::unique_ptr<json_token[]>& tokens_;
  std::uint32_t& count_;
  std::uint32_t& capacity_;
  std::string& error_;
  std::array<open_container, max_depth> stack_; // [0, depth_) is set
  std::size_t depth_ = 0;
  std::vector<key_ref> keys_; // the keys of every open object, innermost last
  std::string arena_;         // decoded escaped keys of every open object
};

} // namespace

bool json_scan(std::string_view text, std::vector<json_token>& tokens, std::string& error) {
  std::unique_ptr<json_token[]> buffer;
  std::uint32_t count = 0;
  std::uint32_t capacity = 0;
  error.clear();
  scanner scan(text, buffer, count, capacity, error);
  const bool ok = scan.run();
  tokens.assign(buffer.get(), buffer.get() + (ok ? count : 0));
  return ok;
}

std::string plain_members_flaw(const json_document& document) {
  for (std::uint32_t at = 0; at < document.token_count(); ++at) {
    const json_token& token = document.token(at);
    if (!token.plain_members) {
      continue;
    }
    if (token.kind != json_kind::object) {
      return "token " + std::to_string(at) + " is flagged but is no object";
    }
    for (std::uint32_t key = at + 1; key != token.next; key += 2) {
      const json_token& name = document.token(key);
      const json_token& value = document.token(key + 1);
      if (name.kind != json_kind::string || name.escaped || value.kind != json_kind::string || value.escaped ||
          value.next != key + 2) {
        return "object " + std::to_string(at) + " is flagged but its member at token " + std::to_string(key) +
               " is not a plain key and string value";
      }
    }
  }
  return {};
}

} // namespace hubgate::hubspot::reference
