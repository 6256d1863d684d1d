#pragma once
// A strict JSON scanner for request bodies: one pass validates the whole document and records
// where each value lies, so that the extractors read a body without building a DOM. Pure and
// I/O-free; a scan allocates its token list (one token per value and per key), not one allocation
// per value; it needs the heap for the open objects' keys only past 64 of them or to decode an
// escaped key, and for a bitmap of the string bytes (one bit a byte) only past 2 KB of text.
// Fail closed: everything two JSON readers could read differently is an error, never a guess:
//   * anything outside RFC 8259's grammar: comments, single quotes, trailing commas, leading
//     zeros, NaN, a second document or any other byte after the first;
//   * bytes that are not UTF-8 (overlong forms, encoded surrogates, code points above U+10FFFF),
//     raw control bytes inside strings, and \u escapes naming a lone or unpaired surrogate;
//   * a key given twice in one object, at any depth, compared after unescaping (`"em\u0061il"`
//     repeats `"email"`): which one a reader keeps depends on the reader;
//   * a number beyond a double's range (`1e400`), which nlohmann and JVM readers refuse;
//   * nesting deeper than 64 arrays and objects;
//   * a raw NUL byte anywhere (nlohmann's reader took one for the end of the input).
// A leading UTF-8 byte order mark is skipped, as a lenient server would.

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace hubgate::hubspot {

enum class json_kind : std::uint8_t { null, boolean, number, string, array, object };

// One value, or one object key, in document order. An object's tokens are its key and value
// tokens in turn; a container's tokens follow it and end at `next`.
// Trivial, so that the scanner's token buffer is not initialised before it is written.
struct json_token {
  std::uint32_t begin; // offset of the first byte: `"` of a string, `{` or `[` of a container
  std::uint32_t end;   // offset past the last byte
  std::uint32_t next;  // index of the first token after this value and everything it holds
  std::uint32_t count; // containers: members or elements
  json_kind kind;
  bool escaped; // a string holding a backslash escape
  // Objects: every member is a key and a string value, neither holding an escape (so the members'
  // tokens are pairs, each key's value right after it). False may still be such an object: the
  // scanner says so of the ones its loop for the usual members read whole.
  bool plain_members;
};

// Asked before a scan's token buffer is allocated or grown past what the document already holds:
// whether a buffer of `tokens` tokens (20 bytes each) may be allocated. The server bounds the
// memory reading a body takes this way (--max-body-memory), as it grows; a refusal fails the scan
// as max_tokens does (json_document::over_token_limit()). replaced(): the buffer last allowed has
// taken the place of the one before, which is freed.
class token_allowance {
public:
  virtual bool allow(std::uint32_t tokens) noexcept = 0;
  virtual void replaced() noexcept = 0;

protected:
  ~token_allowance() = default;
};

class json_document;
class json_value;
struct json_member;
template <typename Item>
struct json_range;

// A read-only view of one scanned value; valid while its document and text live.
class json_value {
public:
  json_value(const json_document& document, std::uint32_t index) noexcept : document_(&document), index_(index) {}

  json_kind kind() const noexcept { return token().kind; }
  // Where the value lives, for readers that walk the tokens themselves (json_token explains them).
  const json_document& document() const noexcept { return *document_; }
  std::uint32_t index() const noexcept { return index_; }
  bool is_null() const noexcept { return kind() == json_kind::null; }
  bool is_boolean() const noexcept { return kind() == json_kind::boolean; }
  bool is_number() const noexcept { return kind() == json_kind::number; }
  bool is_string() const noexcept { return kind() == json_kind::string; }
  bool is_array() const noexcept { return kind() == json_kind::array; }
  bool is_object() const noexcept { return kind() == json_kind::object; }

  // The value's bytes as sent: a string with its quotes, a container from bracket to bracket.
  std::string_view raw() const noexcept;
  std::uint32_t begin_offset() const noexcept { return token().begin; }
  std::uint32_t end_offset() const noexcept { return token().end; }

  // An object's members or an array's elements.
  std::size_t size() const noexcept { return token().count; }
  // `true` is true; any other value is false.
  bool boolean() const noexcept;
  // A string's bytes between its quotes, escapes not decoded; `escaped()` says if there are any.
  std::string_view string_bytes() const noexcept;
  bool escaped() const noexcept { return token().escaped; }
  // A string decoded: the plain bytes when there are no escapes, else a decoded copy in `scratch`.
  std::string_view string_value(std::string& scratch) const;
  std::string string_value() const;
  // True when this is a string whose decoded value is `text`.
  bool string_equals(std::string_view text) const;

  // An object's members (key and value) or an array's elements, in document order; empty for
  // anything else.
  json_range<json_member> members() const noexcept;
  json_range<json_value> elements() const noexcept;

private:
  const json_token& token() const noexcept;

  const json_document* document_;
  std::uint32_t index_;
};

struct json_member {
  json_value key;
  json_value value;
};

template <typename Item>
class json_iterator {
public:
  using value_type = Item;
  using difference_type = std::ptrdiff_t;
  json_iterator() = default;
  json_iterator(const json_document* document, std::uint32_t index) noexcept : document_(document), index_(index) {}
  Item operator*() const noexcept;
  json_iterator& operator++() noexcept;
  json_iterator operator++(int) noexcept {
    json_iterator before = *this;
    ++*this;
    return before;
  }
  bool operator==(const json_iterator& other) const noexcept { return index_ == other.index_; }

private:
  const json_document* document_ = nullptr;
  std::uint32_t index_ = 0;
};

template <typename Item>
struct json_range {
  json_iterator<Item> first;
  json_iterator<Item> last;
  json_iterator<Item> begin() const noexcept { return first; }
  json_iterator<Item> end() const noexcept { return last; }
};

// The scan of one body. `scan` replaces any previous one; the text must outlive the views.
class json_document {
public:
  // False, with error() set, when `text` is not a document hubgate accepts (see above), or when it
  // holds more than `max_tokens` values and keys, or more than `allowance` allows (over_token_limit()
  // then says so): the token buffer (20 bytes a token, a body of tiny values 10 times its size) is
  // never grown past that.
  bool scan(std::string_view text, std::uint32_t max_tokens = no_token_limit, token_allowance* allowance = nullptr);
  static constexpr std::uint32_t no_token_limit = ~std::uint32_t{0} - 1;

  const std::string& error() const noexcept { return error_; }
  bool over_token_limit() const noexcept { return over_token_limit_; }
  std::string_view text() const noexcept { return text_; }
  // The top-level value; only after a successful scan.
  json_value root() const noexcept { return json_value(*this, 0); }
  std::size_t token_count() const noexcept { return token_count_; }
  const json_token& token(std::uint32_t index) const noexcept { return tokens_[index]; }
  // Forgets the scan, and gives its token buffer back when it holds more than `kept_tokens`: a
  // document kept for the next scan then keeps the buffer it will most likely need again.
  void reset(std::uint32_t kept_tokens) noexcept;

private:
  std::string_view text_;
  std::unique_ptr<json_token[]> tokens_;
  std::uint32_t token_count_ = 0;
  std::uint32_t token_capacity_ = 0;
  bool over_token_limit_ = false;
  std::string error_;
};

// Decodes the escapes of a string's bytes (between the quotes) that json_document::scan accepted,
// appending UTF-8 to `out`.
void json_unescape_append(std::string_view escaped_bytes, std::string& out);

// A number's text as hubgate reads it, the same as nlohmann::json re-serialises it: an integer
// that fits 64 bits as sent (`-0` reads "0"), any other number as the shortest text of its
// double (`1e2` reads "100.0", `1.50` "1.5", `1e-400` "0.0").
std::string json_number_text(std::string_view number);

// A number's value as a double (strtod's, as nlohmann's reader rounds it).
double json_number_value(std::string_view number);

namespace detail {
// Tests only: the scanner reads the text's 64-byte blocks with AVX2 where the CPU has it, else
// with SSE2. `true` forces SSE2, `false` restores the CPU's choice; returns whether AVX2 was in use.
bool json_scan_force_sse2(bool force) noexcept;
} // namespace detail

inline const json_token& json_value::token() const noexcept { return document_->token(index_); }

inline std::string_view json_value::raw() const noexcept {
  const json_token& t = token();
  return document_->text().substr(t.begin, t.end - t.begin);
}

inline std::string_view json_value::string_bytes() const noexcept {
  const json_token& t = token();
  return t.kind == json_kind::string ? document_->text().substr(t.begin + 1, t.end - t.begin - 2) : std::string_view();
}

template <typename Item>
Item json_iterator<Item>::operator*() const noexcept {
  if constexpr (std::is_same_v<Item, json_member>) {
    return json_member{json_value(*document_, index_), json_value(*document_, index_ + 1)};
  } else {
    return json_value(*document_, index_);
  }
}

template <typename Item>
json_iterator<Item>& json_iterator<Item>::operator++() noexcept {
  // A key token is one token; its value's `next` skips everything the value holds.
  index_ = document_->token(std::is_same_v<Item, json_member> ? index_ + 1 : index_).next;
  return *this;
}

} // namespace hubgate::hubspot
