#include "hubgate/hubspot/extract.hpp"

#include "hubgate/hubspot/email.hpp"
#include "hubgate/hubspot/json_scan.hpp"
#include "hubgate/hubspot/text.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <exception>
#include <initializer_list>
#include <iterator>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace hubgate::hubspot {

namespace {

using maybe_value = std::optional<json_value>;

// --- reading helpers; each returns false after recording the first error

class reader {
public:
  reader(record_texts& texts, const property_selection& listed) : texts_(texts), listed_(listed) {}

  // Whether records list the property `name` (property_selection).
  bool lists_every_property() const noexcept { return listed_.all; }
  bool lists_some() const noexcept { return listed_.all || !listed_.names.empty(); }
  // The properties the rules read (property_selection::names), whatever the records list.
  std::span<const std::string> rules_read() const noexcept { return listed_.names; }
  bool lists(std::string_view name) const noexcept { return listed_.all || rules_read(name); }
  // Whether a rule reads the property `name`.
  bool rules_read(std::string_view name) const noexcept {
    const std::string_view trimmed = trim_name_padding(name);
    return std::any_of(listed_.names.begin(), listed_.names.end(),
                       [&](const std::string& listed) { return equals_names(listed, trimmed); });
  }

  // Text a record points at that is not in the body as sent.
  std::string_view keep(std::string text) { return texts_.keep(std::move(text)); }
  std::pmr::memory_resource* arena() { return texts_.arena(); }

  // A string's decoded value: a view of the body when it has no escapes, else a kept copy.
  std::string_view text(const json_value& string) {
    return string.escaped() ? keep(string.string_value()) : string.string_bytes();
  }

  bool fail(std::string message) {
    if (error_.empty()) {
      error_ = std::move(message);
    }
    return false;
  }
  bool failed() const { return !error_.empty(); }
  std::string take_error() { return std::move(error_); }

  // The member named exactly `key`, nullopt when absent. Another spelling of the same name
  // (`Properties`, `EMAIL`, `properties ` with padding) is an error: a case-insensitive or
  // trimming deserialiser would read it.
  bool member(const json_value& object, std::string_view key, maybe_value& out) {
    return members(object, std::span(&key, 1), std::span(&out, 1));
  }

  // The same for several keys in one pass over the object: `out[i]` is the member named `keys[i]`.
  // On the scanner's tokens directly (an object's tokens are its keys and values in turn), since
  // this runs for every input of a batch.
  bool members(const json_value& object, std::span<const std::string_view> keys, std::span<maybe_value> out) {
    for (maybe_value& value : out) {
      value.reset();
    }
    if (!object.is_object()) {
      return true;
    }
    const json_document& document = object.document();
    const json_token* const tokens = &document.token(0);
    const char* const text = document.text().data();
    std::string scratch;
    for (std::uint32_t at = object.index() + 1, end = tokens[object.index()].next; at != end;
         at = tokens[at + 1].next) {
      const json_token& name_token = tokens[at];
      const std::string_view name =
          name_token.escaped ? json_value(document, at).string_value(scratch)
                             : std::string_view(text + name_token.begin + 1, name_token.end - name_token.begin - 2);
      const auto exact = std::find(keys.begin(), keys.end(), name);
      if (exact != keys.end()) {
        out[static_cast<std::size_t>(exact - keys.begin())].emplace(document, at + 1);
        continue;
      }
      for (const std::string_view key : keys) {
        if (equals_folded(trim_name_padding(name), key)) {
          return fail("member \"" + std::string(name) + "\" is ambiguous with \"" + std::string(key) + "\"");
        }
      }
    }
    return true;
  }

  // `value` (a member read by members()) as an object: nullopt when absent or null.
  bool object_value(maybe_value& value, std::string_view key, bool required) {
    if (!value || value->is_null()) {
      value.reset();
      return !required || fail("\"" + std::string(key) + "\" is required");
    }
    return value->is_object() || fail("\"" + std::string(key) + "\" must be an object");
  }

  bool object_member(const json_value& object, std::string_view key, maybe_value& out, bool required) {
    return member(object, key, out) && object_value(out, key, required);
  }

  bool array_member(const json_value& object, std::string_view key, maybe_value& out, bool required) {
    if (!member(object, key, out)) {
      return false;
    }
    if (!out || out->is_null()) {
      out.reset();
      return !required || fail("\"" + std::string(key) + "\" is required");
    }
    return out->is_array() || fail("\"" + std::string(key) + "\" must be an array");
  }

  // A scalar in the string form HubSpot reads into a string field; nullopt for null/absent.
  // `label` and `name` name the value in the error (built only on failure).
  bool scalar(const maybe_value& value, std::string_view label, std::string_view name,
              std::optional<std::string_view>& out) {
    out.reset();
    std::string_view text;
    bool present = false;
    if (!scalar_text(value, label, name, text, present)) {
      return false;
    }
    if (present) {
      out = text;
    }
    return true;
  }

  // The same, written into `out` (left as it is for null/absent, when `present` is false).
  bool scalar_text(const maybe_value& value, std::string_view label, std::string_view name, std::string_view& out,
                   bool& present) {
    present = value && !value->is_null();
    if (!present) {
      return true;
    }
    switch (value->kind()) {
      case json_kind::string: out = text(*value); return true;
      case json_kind::boolean: out = value->boolean() ? "true" : "false"; return true;
      case json_kind::number: out = number_text(value->raw()); return true;
      default: break;
    }
    return fail(std::string(label) + "\"" + std::string(name) + "\" must be a string, number or boolean");
  }

  bool scalar_member(const json_value& object, std::string_view key, std::optional<std::string_view>& out) {
    maybe_value value;
    return member(object, key, value) && scalar(value, "", key, out);
  }

  // A number as json_number_text reads it. A short integer reads as sent (the scanner has refused
  // leading zeros), so only other numbers need a text of their own.
  std::string_view number_text(std::string_view raw) {
    const std::string_view digits = raw.starts_with('-') ? raw.substr(1) : raw;
    const bool plain = !digits.empty() && digits.size() <= 18 && raw != "-0" &&
                       std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
    return plain ? raw : keep(json_number_text(raw));
  }

private:
  record_texts& texts_;
  const property_selection& listed_;
  std::string error_;
};

// A record whose property list lives in the extraction's arena.
contact_record new_record(reader& r, std::size_t index) {
  return contact_record{index,        std::nullopt, std::nullopt, std::pmr::vector<contact_record::property>(r.arena()),
                        std::nullopt, std::nullopt, std::nullopt};
}

// Integrity, JSON ambiguity: property names are read as a forgiving deserialiser might (any case,
// Java folding, padding trimmed: trim_name_padding) and every spelling of `email` counts, so that
// none hides one.
bool is_email_name_slow(std::string_view name) {
  if (name == "email") {
    return true;
  }
  // `+` too, at either end: a form's space to a server that decodes a name once more than it
  // should (`email%2B=`, or a JSON `"+email"` read as form text). HubSpot's names never hold one,
  // so reading such a name as `email` only puts the address it names before the rules.
  std::string_view trimmed = trim_name_padding(name);
  for (std::size_t before = 0; before != trimmed.size();) {
    before = trimmed.size();
    while (!trimmed.empty() && trimmed.front() == '+') {
      trimmed.remove_prefix(1);
    }
    while (!trimmed.empty() && trimmed.back() == '+') {
      trimmed.remove_suffix(1);
    }
    trimmed = trim_name_padding(trimmed);
  }
  return !trimmed.empty() && (trimmed.front() | 0x20) == 'e' && equals_folded(trimmed, "email");
}

// The cheap test first, inline: it is made for every property of every item. `e` has no folding
// alias, so a name that starts with any byte but `e`, `E`, `+` or padding is not `email`.
inline bool is_email_name(std::string_view name) {
  return !name.empty() &&
         ((name.front() | 0x20) == 'e' || name.front() == '+' ||
          may_start_name_padding(static_cast<unsigned char>(name.front()))) &&
         is_email_name_slow(name);
}

// Integrity, property names: `0-1/email` names `email` in forms and name/value arrays, where
// HubSpot knows the prefix. A property map's names hold no `/`; one named with a contact type there
// would be `email` to a server that strips the prefix and another name to the rules and rewrites,
// so it is refused (as is a prefix written other than in ASCII digits). The first byte is a digit,
// padding or not ASCII (names the skims leave to the full reading), so most names cost a compare.
inline bool typed_map_name(std::string_view name) noexcept {
  const auto first = static_cast<unsigned char>(name.empty() ? 'x' : name.front());
  return ((first >= '0' && first <= '9') || first == '+' || first >= 0x80 || may_start_name_padding(first)) &&
         (form_field_property(name).size() != name.size() || has_unplain_type_prefix(name));
}

// True when `name` has padding at either end (trim_name_padding): then it is one name with its
// trimmed self, for the repeats and the rules.
inline bool has_name_padding(std::string_view name) noexcept { return trim_name_padding(name).size() != name.size(); }

// Adds an email the item names; two different addresses for one item are refused.
bool add_email(reader& r, contact_record& record, std::string_view email) {
  if (!record.email) {
    record.email = email;
    return true;
  }
  return *record.email == email || normalise_email(*record.email) == normalise_email(email) ||
         r.fail("record " + std::to_string(record.index) + " names two different emails");
}

// Adds a form field; an email field also names the record's email.
bool add_property(reader& r, contact_record& record, std::string_view name, std::string_view value) {
  if (is_email_name(name) && !add_email(r, record, value)) {
    return false;
  }
  record.properties.emplace_back(name, value);
  return true;
}

// Reads one property straight into the record; an email property also names the record's email
// (null never does).
bool read_property(reader& r, contact_record& record, std::string_view name, const maybe_value& value) {
  std::string_view text;
  bool present = false;
  if (!r.scalar_text(value, "property ", name, text, present)) {
    return false;
  }
  record.properties.emplace_back(name, text);
  return !present || !is_email_name(name) || add_email(r, record, text);
}

// True when `name` holds a byte that is not ASCII: it may hold a folding alias (equals_names).
bool has_non_ascii(std::string_view name) noexcept {
  return std::any_of(name.begin(), name.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}

// Refuses a property given twice (in any case, or with padding) with different values.
// Many properties, or a name that is not ASCII: sorted by name as compare_names orders them
// (case ignored, folding aliases read as their letters), so that the repeats of a name sit side by
// side and are each compared with the first (equal values, and equal normalised emails, are
// transitive), n log n however the body is built.
bool check_repeats_sorted(reader& r, const contact_record& record) {
  const auto& props = record.properties;
  const auto name_less = [&](std::size_t a, std::size_t b) {
    const int order = compare_names(trim_name_padding(props[a].first), trim_name_padding(props[b].first));
    return order != 0 ? order < 0 : a < b;
  };
  std::vector<std::size_t> order(props.size());
  for (std::size_t i = 0; i < order.size(); ++i) {
    order[i] = i;
  }
  std::sort(order.begin(), order.end(), name_less);
  for (std::size_t run = 0; run < order.size();) {
    const auto& [name, value] = props[order[run]];
    std::size_t next = run + 1;
    std::optional<std::string> normalised;
    for (; next < order.size() && equals_names(trim_name_padding(name), trim_name_padding(props[order[next]].first));
         ++next) {
      const std::string_view other = props[order[next]].second;
      if (other == value) {
        continue;
      }
      // Two spellings of one address are one email (add_email has compared them normalised).
      if (!normalised) {
        normalised = normalise_email(value);
      }
      if (!is_email_name(name) || *normalised != normalise_email(other)) {
        return r.fail("property \"" + std::string(name) + "\" is given twice with different values");
      }
    }
    run = next;
  }
  return true;
}

bool check_repeats(reader& r, const contact_record& record) {
  const auto& props = record.properties;
  // A folding alias makes a name longer than the one it spells, which the bits below would miss.
  const auto not_ascii = [](const auto& property) { return has_non_ascii(property.first); };
  if (props.size() > 64 || std::any_of(props.begin(), props.end(), not_ascii)) {
    return check_repeats_sorted(r, record);
  }
  // A name's length and ends, case bits ignored, pick one of 64 bits: names equal in any ASCII
  // case share a bit, so only a name whose bit is taken is compared with the names before it.
  const auto bit_of = [](std::string_view name) {
    const auto fold = [](char c) { return static_cast<std::size_t>(static_cast<unsigned char>(c) | 0x20U); };
    const std::size_t mix = name.size() * 31 + (name.empty() ? 0 : fold(name.front()) * 7 + fold(name.back()));
    return static_cast<std::uint8_t>(mix % 64);
  };
  std::array<std::uint8_t, 64> bits{}; // each name's bit, so that only names sharing it are compared
  std::uint64_t taken = 0;
  for (std::size_t j = 0; j < props.size(); ++j) {
    bits[j] = bit_of(trim_name_padding(props[j].first));
    const std::uint64_t bit = std::uint64_t{1} << bits[j];
    for (std::size_t i = 0; (taken & bit) != 0 && i < j; ++i) {
      if (bits[i] != bits[j] || !iequals_ascii(trim_name_padding(props[i].first), trim_name_padding(props[j].first)) ||
          props[i].second == props[j].second) {
        continue;
      }
      // Two spellings of one address are one email (add_email has compared them normalised).
      if (!is_email_name(props[i].first) || normalise_email(props[i].second) != normalise_email(props[j].second)) {
        return r.fail("property \"" + std::string(props[i].first) + "\" is given twice with different values");
      }
    }
    taken |= bit;
  }
  return true;
}

// True when `name` holds an ASCII capital letter; eight bytes at a time, as it runs for every
// property name of every item.
bool has_ascii_capital(std::string_view name) noexcept {
  constexpr std::uint64_t ones = 0x0101010101010101ULL;
  // Any byte b with 'A' - 1 < b < 'Z' + 1 (Anderson's "hasbetween"; bytes from 0x80 never count).
  const auto any_capital = [](const char* at) {
    std::uint64_t x;
    std::memcpy(&x, at, sizeof x);
    constexpr std::uint64_t low7 = ones * 127;
    const std::uint64_t y = x & low7;
    return (((ones * (127 + ('Z' + 1))) - y) & ~x & (y + ones * (127 - ('A' - 1))) & (ones * 128)) != 0;
  };
  const std::size_t size = name.size();
  if (size < 8) {
    return std::any_of(name.begin(), name.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
  }
  for (std::size_t i = 0; i + 8 < size; i += 8) {
    if (any_capital(name.data() + i)) {
      return true;
    }
  }
  return any_capital(name.data() + size - 8); // the last eight, overlapping the word before
}

// Bytes a property name may start with and spell `email` (is_email_name): `e`, `E`, `+` and
// padding; and digits, which may start an object type prefix (`0-1/email`: typed_map_name). An
// empty name's "first byte" is its closing quote, which does not count.
constexpr std::array<bool, 256> email_name_starts = [] {
  std::array<bool, 256> table{};
  table['e'] = table['E'] = table['+'] = true;
  for (char digit = '0'; digit <= '9'; ++digit) {
    table[static_cast<unsigned char>(digit)] = true;
  }
  for (unsigned c = 0; c < table.size(); ++c) {
    table[c] = table[c] || may_start_name_padding(static_cast<unsigned char>(c));
  }
  return table;
}();

// Whether a property name may be another spelling of a name in the same object, for the skims
// below: it holds an ASCII capital letter, or a byte that may be padding (up to 0x20, or not
// ASCII: trim_name_padding). The scanner has refused exact repeats, so only such a name can
// repeat another. The bits of those bytes are gathered without a branch (HubSpot's names are
// lower-case ASCII: the answer is the same for nearly every name) where 16 bytes from its start
// can be loaded, else the answer is worked out exactly.
class spelling_finder {
public:
  // For names inside the text from `text` to `text_end`.
  spelling_finder(const char* text, const char* text_end) noexcept
      : last_load_(text_end - text >= 16 ? reinterpret_cast<std::uintptr_t>(text_end - 16) : 0) {}

  void look(const char* name, std::uint32_t size) noexcept {
#if defined(__SSE2__)
    if (size <= 16 && reinterpret_cast<std::uintptr_t>(name) <= last_load_) [[likely]] {
      // Signed compares: 'A' to 'Z' moved to the bottom of the signed range, -128 to -103, where
      // no other byte lands; bytes from 0x80 are negative, so `< 0x21` finds them with the low ones.
      const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(name));
      const __m128i moved = _mm_add_epi8(bytes, _mm_set1_epi8(static_cast<char>(0x80 - 'A')));
      const __m128i capital = _mm_cmplt_epi8(moved, _mm_set1_epi8(static_cast<char>(-128 + 26)));
      const __m128i low_or_high = _mm_cmplt_epi8(bytes, _mm_set1_epi8(0x21));
      found_ |= static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(capital, low_or_high))) & name_bits[size];
      return;
    }
#endif
    found_ |= look_slowly(name, size);
  }

  bool found() const noexcept { return found_ != 0; }

private:
  // Out of line, so that the skims' loops keep their registers for the common case.
  [[gnu::noinline, gnu::cold]] static unsigned look_slowly(const char* name, std::uint32_t size) noexcept {
    const std::string_view whole(name, size);
    return static_cast<unsigned>(has_ascii_capital(whole) || has_name_padding(whole) || has_non_ascii(whole));
  }

#if defined(__SSE2__)
  // The bits of a name's bytes in a 16-byte load's mask, by the name's size.
  static constexpr auto name_bits = [] {
    std::array<std::uint16_t, 17> bits{};
    for (std::size_t size = 0; size < bits.size(); ++size) {
      bits[size] = static_cast<std::uint16_t>((1U << size) - 1U);
    }
    return bits;
  }();
#endif
  // A name's 16-byte load stays inside the text when the name starts at this address or before
  // it (0: the text is shorter than a load). An address, so that no pointer leaves the text.
  std::uintptr_t last_load_;
  unsigned found_ = 0;
};

// Whether `name` may be another spelling of a name in its object (spelling_finder); for a name
// inside the text from `text` to `text_end` (a property name is followed by its value), one SSE2
// load for a name of up to 16 bytes.
inline bool may_spell_another_name(std::string_view name, const char* text, const char* text_end) noexcept {
  spelling_finder finder(text, text_end);
  finder.look(name.data(), static_cast<std::uint32_t>(name.size()));
  return finder.found();
}

// The properties from `key` on that need nothing but a look at their spelling when none is
// listed: a plain name that cannot spell `email` (it starts with neither `e`, `E` nor padding)
// with a scalar value. Returns the first key that needs more (or `end`); `another_spelling` is
// set when a name may spell another (spelling_finder). A loop of its own, so that what it needs
// stays in registers.
[[gnu::noinline]] std::uint32_t skim_unlisted_properties(const json_token* tokens, const char* text,
                                                         const char* text_end, std::uint32_t key, std::uint32_t end,
                                                         bool& another_spelling) noexcept {
  spelling_finder spellings(text, text_end);
  for (; key != end;) {
    const json_token& name_token = tokens[key];
    const json_token& value = tokens[key + 1];
    const char* const name = text + name_token.begin + 1;
    if (name_token.escaped || value.kind >= json_kind::array ||
        email_name_starts[static_cast<unsigned char>(*name)]) {
      break;
    }
    spellings.look(name, name_token.end - name_token.begin - 2);
    key = value.next;
  }
  another_spelling = another_spelling || spellings.found();
  return key;
}

// The same for a map whose members the scanner found plain (json_token::plain_members): each value
// a string right after its key, no escape, so only the names' first bytes and spellings are looked at.
[[gnu::noinline]] std::uint32_t skim_unlisted_plain_properties(const json_token* tokens, const char* text,
                                                               const char* text_end, std::uint32_t key,
                                                               std::uint32_t end, bool& another_spelling) noexcept {
  spelling_finder spellings(text, text_end);
  const json_token* name_token = tokens + key;
  for (const json_token* const last = tokens + end; name_token != last; name_token += 2) {
    const char* const name = text + name_token->begin + 1;
    if (email_name_starts[static_cast<unsigned char>(*name)]) {
      break;
    }
    spellings.look(name, name_token->end - name_token->begin - 2);
  }
  another_spelling = another_spelling || spellings.found();
  return static_cast<std::uint32_t>(name_token - tokens);
}

// {name: value, ...}: the same checks as read_property's, on the scanner's tokens directly, since
// this runs for every property of every batch input. Only the properties the caller reads are
// listed (property_selection) unless `list_all`; every one is checked.
bool read_property_map(reader& r, const maybe_value& map, contact_record& record, bool list_all = false) {
  if (!map) {
    return true;
  }
  const json_document& document = map->document();
  const char* const text = document.text().data();
  const char* const text_end = text + document.text().size();
  // A string token's bytes between its quotes, decoded when it holds escapes.
  const auto string_text = [&](std::uint32_t index, const json_token& token) {
    return token.escaped ? r.keep(json_value(document, index).string_value())
                         : std::string_view(text + token.begin + 1, token.end - token.begin - 2);
  };
  auto& props = record.properties;
  // The scanner has refused a name given twice in one object (compared unescaped), so a repeat
  // in any ASCII case or with padding, the only kinds check_repeats looks for, needs a capital
  // letter or padding in a name.
  // Properties the record already had came from elsewhere: then every name is listed and compared.
  bool may_repeat = !props.empty();
  list_all = list_all || may_repeat || r.lists_every_property();
  const bool list_some = !list_all && r.lists_some();
  if (list_all) {
    props.reserve(props.size() + map->size());
  }
  // Nothing to list: the usual properties are skimmed (skim_unlisted_properties).
  const bool list_none = !list_all && !list_some;
  const json_token* const tokens = &document.token(0);
  const bool plain = tokens[map->index()].plain_members;
  // An object's tokens are its keys and values in turn; a value's `next` is the next key.
  for (std::uint32_t key = map->index() + 1, end = tokens[map->index()].next; key != end;) {
    if (list_none) {
      key = plain ? skim_unlisted_plain_properties(tokens, text, text_end, key, end, may_repeat)
                  : skim_unlisted_properties(tokens, text, text_end, key, end, may_repeat);
      if (key == end) {
        break;
      }
    }
    const json_token& key_token = tokens[key];
    const json_token& value = tokens[key + 1];
    const std::string_view name = string_text(key, key_token);
    if (value.kind == json_kind::array || value.kind == json_kind::object) {
      return r.fail("property \"" + std::string(name) + "\" must be a string, number or boolean");
    }
    if (typed_map_name(name)) {
      return r.fail("a property map names a property with its object type (\"0-1/...\"): name it without");
    }
    // A decoded name is not in the text.
    may_repeat = may_repeat || (key_token.escaped ? has_ascii_capital(name) || has_name_padding(name) || has_non_ascii(name)
                                                  : may_spell_another_name(name, text, text_end));
    // null reads as "", and never names an email.
    const bool email = value.kind != json_kind::null && is_email_name(name);
    const bool listed = list_all || (list_some && r.lists(name));
    if (email || listed) {
      std::string_view value_text;
      switch (value.kind) {
        case json_kind::string: value_text = string_text(key + 1, value); break;
        case json_kind::number: value_text = r.number_text(std::string_view(text + value.begin, value.end - value.begin)); break;
        case json_kind::boolean: value_text = text[value.begin] == 't' ? "true" : "false"; break;
        default: break;
      }
      if (listed) {
        props.emplace_back(name, value_text);
      }
      if (email && !add_email(r, record, value_text)) {
        return false;
      }
    }
    key = value.next;
  }
  if (!may_repeat) {
    return true;
  }
  if (list_all) {
    return check_repeats(r, record);
  }
  // A name may spell another (a capital letter, padding) and the record's list is partial: the
  // repeats are looked for in a full list of its own (rare: HubSpot's property names are
  // lower-case ASCII).
  contact_record every = new_record(r, record.index);
  return read_property_map(r, map, every, true);
}

// Where a body may give a field more than once (forms: several values of one property), which
// value HubSpot keeps is unknown, so a property the rules read must not carry two different
// ones. One pass over the record for each name the rules read.
bool check_repeats_of_read_properties(reader& r, const contact_record& record) {
  for (const std::string& read : r.rules_read()) {
    std::optional<std::string_view> first;
    for (const auto& [name, value] : record.properties) {
      if (!equals_names(trim_name_padding(name), read)) {
        continue;
      }
      if (first && *first != value) {
        return r.fail("property \"" + read + "\", which a rule reads, is given twice with different values");
      }
      first = value;
    }
  }
  return true;
}

// What the entries of a name/value array are.
enum class entry_kind : std::uint8_t {
  property,   // v1 and legacy sends: a name given twice with different values is refused
  form_field, // forms: a name may repeat (checkboxes)
};

// Integrity, form fields: a field may name its object twice, with an `objectTypeId` and a name
// written with a type (`0-2/email`). hubgate reads the name's type; a server that goes by
// `objectTypeId` would read `{"objectTypeId":"0-1","name":"0-2/email"}` as the contact's email.
// The two must agree on whether the field is the contact's. A field of another object named bare
// (`{"objectTypeId":"0-2","name":"country"}`) is that object's, as HubSpot reads it: it is read as
// its typed spelling (`0-2/country`), which no contact rule meets, into `read_as`. Except `email`:
// a reader that goes by names alone would take it for the contact's address, so it is refused.
bool check_field_object_type(reader& r, const json_value& entry, std::string_view name, std::string_view& read_as) {
  read_as = form_field_property(name);
  maybe_value type;
  if (!r.member(entry, "objectTypeId", type)) {
    return false;
  }
  const std::string_view trimmed = trim_name_padding(name);
  const std::size_t slash = trimmed.find('/');
  if (!type || (type->is_null() && slash == std::string_view::npos)) {
    return true;
  }
  // An objectTypeId spelled loosely (` 0-1`, `+0-1`, `０-１`) may be the contact's to a lenient
  // reader: it must be ASCII digits and one dash, as a name's prefix is.
  const std::string type_text = type->is_string() ? type->string_value() : std::string(type->raw());
  const std::size_t dash = type_text.find('-');
  if (dash == std::string::npos || type_text.find_first_not_of("0123456789-") != std::string::npos ||
      type_text.find('-', dash + 1) != std::string::npos) {
    return r.fail("a form field's objectTypeId is written other than as ASCII digits and a dash");
  }
  if (slash == std::string_view::npos) {
    if (is_contact_type_id(type_text)) {
      return true;
    }
    if (is_email_name(name)) {
      return r.fail("a form field of object " + type_text +
                    " is named \"email\" without its type: it could be read as the contact's address (name it \"" +
                    type_text + "/email\")");
    }
    read_as = r.keep(type_text + "/" + std::string(trimmed));
    return true;
  }
  const std::string_view prefix = trim_name_padding(trimmed.substr(0, slash));
  const bool typed_name = !prefix.empty() && prefix.find_first_not_of("0123456789-") == std::string_view::npos;
  if (!typed_name) {
    return true;
  }
  const bool contact_name = form_field_property(name).size() != name.size();
  return is_contact_type_id(type_text) == contact_name ||
         r.fail("a form field's objectTypeId and the object type its name is written with differ");
}

// [{name_key: name, "value": value}, ...]: v1 `property`, forms and legacy sends `name`.
bool read_name_value_array(reader& r, const maybe_value& array, std::string_view name_key, contact_record& record,
                           entry_kind kind) {
  if (!array) {
    return true;
  }
  record.properties.reserve(record.properties.size() + array->size());
  for (const json_value entry : array->elements()) {
    if (!entry.is_object()) {
      return r.fail("property entries must be objects");
    }
    // v1 names an entry's property with "property", forms and sends with "name": a deserialiser
    // that takes either as an alias of the other would read an entry that has both by the one
    // hubgate did not, so an entry naming two different properties is refused.
    const std::string_view other_key = name_key == "property" ? "name" : "property";
    const std::array keys = {name_key, other_key};
    std::array<maybe_value, 2> names;
    maybe_value& name_value = names[0];
    maybe_value value;
    if (!r.members(entry, keys, names)) {
      return false;
    }
    if (!name_value || !name_value->is_string()) {
      return r.fail("property entry needs a string \"" + std::string(name_key) + "\"");
    }
    if (names[1] && !(names[1]->is_string() && r.text(*names[1]) == r.text(*name_value))) {
      return r.fail("a property entry has both \"property\" and \"name\", naming different properties");
    }
    const std::string_view name = r.text(*name_value);
    // `0-1/email` is read as `email` in any name/value array, not only in forms: a server that
    // knows the prefix from its forms may read it in a v1 entry or a send's properties too.
    if (has_unplain_type_prefix(name)) {
      return r.fail("a property's object type is written other than in ASCII digits");
    }
    std::string_view read_as = form_field_property(name);
    if (kind == entry_kind::form_field && !check_field_object_type(r, entry, name, read_as)) {
      return false;
    }
    if (!r.member(entry, "value", value) || !read_property(r, record, read_as, value)) {
      return false;
    }
  }
  return kind == entry_kind::form_field ? check_repeats_of_read_properties(r, record) : check_repeats(r, record);
}

// --- content types

enum class media : std::uint8_t { json_text, urlencoded, multipart, other };


// The value of each `charset` parameter of a Content-Type header, unquoted, as a view into it.
template <typename Visit>
void for_each_charset(std::string_view header, Visit visit) {
  std::size_t semi = header.find(';');
  while (semi != std::string_view::npos) {
    const std::size_t next = header.find(';', semi + 1);
    const std::string_view param = trim_ows(header.substr(semi + 1, next == std::string_view::npos ? next : next - semi - 1));
    semi = next;
    const std::size_t eq = param.find('=');
    if (eq == std::string_view::npos || !iequals_ascii(trim_ows(param.substr(0, eq)), "charset")) {
      continue;
    }
    std::string_view charset = trim_ows(param.substr(eq + 1));
    if (charset.size() >= 2 && charset.front() == '"' && charset.back() == '"') {
      charset = charset.substr(1, charset.size() - 2);
    }
    visit(charset);
  }
}

// The media type, refusing a charset other than UTF-8: the bytes would mean something else to a
// server honouring it. (A UTF-8 BOM is skipped by the JSON scanner, as a lenient server would.)
bool read_content_type(reader& r, std::string_view header, media& out) {
  const std::size_t semi = header.find(';');
  const std::string_view type = trim_ows(header.substr(0, semi));
  if (type.empty()) {
    return r.fail("missing Content-Type");
  }
  if (iequals_ascii(type, "application/json") ||
      (type.size() > 17 && iequals_ascii(type.substr(0, 12), "application/") &&
       iequals_ascii(type.substr(type.size() - 5), "+json"))) {
    out = media::json_text;
  } else if (iequals_ascii(type, "application/x-www-form-urlencoded")) {
    out = media::urlencoded;
  } else if (iequals_ascii(type, "multipart/form-data")) {
    out = media::multipart;
  } else {
    out = media::other;
  }
  std::optional<std::string_view> unsupported;
  for_each_charset(header, [&](std::string_view charset) {
    if (!unsupported && !iequals_ascii(charset, "utf-8") && !iequals_ascii(charset, "utf8") &&
        !iequals_ascii(charset, "us-ascii")) {
      unsupported = charset;
    }
  });
  if (unsupported) {
    return r.fail("unsupported charset \"" + std::string(*unsupported) + "\"");
  }
  return true;
}

// --- one reader per shape

using container = parsed_body::container;

constexpr std::array<std::string_view, 2> smtp_editable = {"createContact", "campaignName"};
constexpr std::array<std::string_view, 2> flat_editable = {"firstName", "lastName"};

} // namespace

std::string rewritten_content_type(std::string_view content_type) {
  std::string out(content_type);
  std::size_t shift = 0; // "utf-8" is 3 bytes shorter than each "us-ascii" it replaced before
  for_each_charset(content_type, [&](std::string_view charset) {
    if (iequals_ascii(charset, "us-ascii")) {
      out.replace(static_cast<std::size_t>(charset.data() - content_type.data()) - shift, charset.size(), "utf-8");
      shift += charset.size() - 5;
    }
  });
  return out;
}

editable_properties editable_properties_of(body_shape shape) noexcept {
  switch (shape) {
    case body_shape::smtp_token: return {false, smtp_editable};
    case body_shape::flat_contact: return {false, flat_editable};
    case body_shape::email_event:
    case body_shape::email_event_batch:
    case body_shape::email_event_wrappers:
    case body_shape::channel_message:
    case body_shape::import_multipart:
    case body_shape::opaque: return {false, {}};
    default: return {};
  }
}

bool names_email(std::string_view name) { return is_email_name(form_field_property(name)); }

bool editable_properties::can_edit(std::string_view name) const noexcept {
  return all || std::any_of(names.begin(), names.end(),
                            [name](std::string_view key) { return names_edited_property(key, name); });
}

namespace {

// True when `text` holds an at-sign as NFKC reads one: `@`, fullwidth `＠` or small `﹫`.
bool holds_at_sign(std::string_view text) noexcept {
  return text.find('@') != std::string_view::npos || text.find("\xEF\xBC\xA0") != std::string_view::npos ||
         text.find("\xEF\xB9\xAB") != std::string_view::npos;
}

bool read_crm_input(reader& r, const json_value& input, std::size_t index, body_shape shape, const classification& request,
                    std::vector<contact_record>& records) {
  if (!input.is_object()) {
    return r.fail("each input must be an object");
  }
  // Made in place: a failed input fails the whole extraction, which then drops its records.
  contact_record& record = records.emplace_back(new_record(r, index));
  // One pass over the input's members (this runs for every input of a batch).
  enum : std::size_t { properties_at, trace_id_at, id_property_at, id_at, key_count };
  static constexpr std::array<std::string_view, key_count> keys = {"properties", "objectWriteTraceId", "idProperty",
                                                                   "id"};
  const std::size_t wanted = shape == body_shape::crm_batch_upsert ? key_count
                             : shape == body_shape::crm_object     ? properties_at + 1
                                                                   : trace_id_at + 1;
  std::array<maybe_value, key_count> found;
  if (!r.members(input, std::span(keys).first(wanted), std::span(found).first(wanted))) {
    return false;
  }
  if (shape == body_shape::crm_batch_upsert) {
    std::optional<std::string_view> id_property;
    if (!r.scalar(found[id_property_at], "", keys[id_property_at], id_property) ||
        !r.scalar(found[id_at], "", keys[id_at], record.id)) {
      return false;
    }
    if (const auto from_query = request.param("id_property")) {
      // Which of the two a server prefers is unknown: they must agree.
      if (id_property && !iequals_ascii(trim_name_padding(*id_property), trim_name_padding(*from_query))) {
        return r.fail("idProperty \"" + std::string(*id_property) + "\" disagrees with the query's \"" +
                      std::string(*from_query) + "\"");
      }
      id_property = r.keep(std::string(*from_query));
    }
    // An idProperty of nothing (`""`, blanks, `?idProperty=`) is none to a server that reads it
    // as missing.
    if (id_property && trim_name_padding(*id_property).empty()) {
      id_property.reset();
    }
    // Named with its object type (`0-1/email`), it is `email` to a server that strips the prefix.
    if (id_property && typed_map_name(*id_property)) {
      return r.fail("idProperty names a property with its object type (\"0-1/...\"): name it without");
    }
    record.id_property = id_property;
    // Without an idProperty a server might default to email: an id that looks like one is one.
    const bool email_id = id_property ? is_email_name(*id_property) : record.id && holds_at_sign(*record.id);
    if (email_id && record.id && !add_email(r, record, *record.id)) {
      return false;
    }
  }
  if (shape != body_shape::crm_object &&
      !r.scalar(found[trace_id_at], "", keys[trace_id_at], record.object_write_trace_id)) {
    return false;
  }
  maybe_value& properties = found[properties_at];
  return r.object_value(properties, keys[properties_at], false) && read_property_map(r, properties, record);
}

bool read_v1_item(reader& r, const json_value& item, std::size_t index, const classification& request, bool batch,
                  std::vector<contact_record>& records) {
  if (!item.is_object()) {
    return r.fail(batch ? "each batch item must be an object" : "the body must be a JSON object");
  }
  contact_record record = new_record(r, index);
  if (batch) {
    std::optional<std::string_view> email;
    std::optional<std::string_view> vid;
    if (!r.scalar_member(item, "email", email) || !r.scalar_member(item, "vid", vid)) {
      return false;
    }
    if (email && !add_email(r, record, *email)) {
      return false;
    }
    if (vid) {
      record.id_property = "vid";
      record.id = vid;
    }
  } else if (const auto path_email = request.param("email")) {
    record.email = r.keep(std::string(*path_email)); // createOrUpdate: the path names the contact (§2.3 row 12)
  }
  maybe_value properties;
  if (!r.array_member(item, "properties", properties, false) ||
      !read_name_value_array(r, properties, "property", record, entry_kind::property)) {
    return false;
  }
  records.push_back(std::move(record));
  return true;
}

bool read_event(reader& r, const json_value& event, std::size_t index, std::vector<contact_record>& records) {
  if (!event.is_object()) {
    return r.fail("each event must be an object");
  }
  std::optional<std::string_view> email;
  if (!r.scalar_member(event, "email", email)) {
    return false;
  }
  // Without an email the event names an existing contact (objectId, utk) and creates none.
  if (email) {
    contact_record record = new_record(r, index);
    record.email = email;
    records.push_back(std::move(record));
  }
  return true;
}

// A custom channel's message names its people by delivery identifier: each sender's and
// recipient's identifier that is an email address is a record of its own (item 0), since email
// capture may make it a contact. An address is one typed HS_EMAIL_ADDRESS, or any value with an
// `@` (the dated API has no type, and an opaque id may be an address all the same).

// A delivery identifier ({"type","value"}) that is an address (typed so, or holding an at-sign) is
// a record of its own.
bool read_delivery_identifier(reader& r, const json_value& identifier, std::vector<contact_record>& records) {
  std::optional<std::string_view> type;
  std::optional<std::string_view> value;
  if (!r.scalar_member(identifier, "type", type) || !r.scalar_member(identifier, "value", value)) {
    return false;
  }
  if (value && (holds_at_sign(*value) || (type && equals_names(trim_name_padding(*type), "HS_EMAIL_ADDRESS")))) {
    contact_record record = new_record(r, 0);
    record.email = value;
    records.push_back(std::move(record));
  }
  return true;
}

bool read_channel_message(reader& r, const json_value& root, std::vector<contact_record>& records) {
  for (const std::string_view side : {"senders", "recipients"}) {
    maybe_value people;
    if (!r.array_member(root, side, people, false)) {
      return false;
    }
    if (!people) {
      continue;
    }
    for (const json_value person : people->elements()) {
      if (!person.is_object()) {
        return r.fail("each of a message's " + std::string(side) + " must be an object");
      }
      // A custom channel's message names one identifier; an inbox thread's message a list, or an
      // actor: `E-<address>` is HubSpot's id of an email actor.
      maybe_value identifier;
      maybe_value identifiers;
      std::optional<std::string_view> actor;
      if (!r.object_member(person, "deliveryIdentifier", identifier, false) ||
          !r.array_member(person, "deliveryIdentifiers", identifiers, false) ||
          !r.scalar_member(person, "actorId", actor) ||
          (identifier && !read_delivery_identifier(r, *identifier, records))) {
        return false;
      }
      if (actor) {
        const std::string_view id = trim_name_padding(*actor);
        if (id.size() > 2 && (id[0] == 'E' || id[0] == 'e') && id[1] == '-') {
          contact_record record = new_record(r, 0);
          record.email = id.substr(2);
          records.push_back(std::move(record));
        }
      }
      if (identifiers) {
        for (const json_value each : identifiers->elements()) {
          if (!each.is_object()) {
            return r.fail("each delivery identifier must be an object");
          }
          if (!read_delivery_identifier(r, each, records)) {
            return false;
          }
        }
      }
    }
  }
  return true;
}

// Further recipients of one item (a send's cc and bcc, a booking's guests): each named address is
// a record of its own, sharing the item (index 0) and carrying no properties. A member may hold one
// address or an array of them.
bool read_recipients(reader& r, const json_value& object, std::initializer_list<std::string_view> keys,
                     std::vector<contact_record>& out) {
  for (const std::string_view key : keys) {
    maybe_value value;
    if (!r.member(object, key, value)) {
      return false;
    }
    if (!value || value->is_null()) {
      continue;
    }
    const auto add = [&](const json_value item) {
      std::optional<std::string_view> email;
      if (!r.scalar(item, "", key, email)) {
        return false;
      }
      if (email && !email->empty()) {
        contact_record record = new_record(r, 0);
        record.email = email;
        out.push_back(std::move(record));
      }
      return true;
    };
    if (value->is_array()) {
      for (const json_value item : value->elements()) {
        if (!add(item)) {
          return false;
        }
      }
    } else if (!add(*value)) {
      return false;
    }
  }
  return true;
}

// HubSpot takes at most 100 items in a CRM v3 batch, and 1,000 in its largest (legacy v1 contacts):
// a longer batch is none HubSpot would run, and its answer (a 207 hubgate writes with an error per
// blocked item, some 75 times the size of an empty item) would only cost memory.
constexpr std::size_t max_batch_items = 1000;

// Where each item lies, so that rebuild() can drop items by splicing the body's bytes.
bool record_items(reader& r, const json_value& array, parsed_body& body) {
  if (array.size() > max_batch_items) {
    return r.fail("a batch of " + std::to_string(array.size()) + " items, more than the " +
                  std::to_string(max_batch_items) + " HubSpot takes in any one call");
  }
  body.item_count = array.size();
  body.item_list = {array.begin_offset(), array.end_offset()};
  body.item_bytes.reserve(array.size());
  for (const json_value item : array.elements()) {
    body.item_bytes.push_back({item.begin_offset(), item.end_offset()});
  }
  return true;
}

bool read_items(reader& r, const json_value& root, std::string_view key, parsed_body& body, maybe_value& items) {
  if (!r.array_member(root, key, items, true)) {
    return false;
  }
  body.items_key = key;
  return record_items(r, *items, body);
}

bool read_json_shape(reader& r, const classification& request, const json_value& root, extraction& out) {
  const body_shape shape = out.op->shape;
  parsed_body& body = out.body;
  auto& records = out.records;
  if (shape == body_shape::v1_batch) {
    if (!root.is_array()) {
      return r.fail("the body must be a JSON array");
    }
  } else if (!root.is_object()) {
    return r.fail("the body must be a JSON object");
  }
  body.item_count = 1;
  maybe_value items;
  switch (shape) {
    case body_shape::crm_object:
      body.properties = container::object_map;
      body.properties_key = "properties";
      return read_crm_input(r, root, 0, shape, request, records);
    case body_shape::crm_batch_create:
    case body_shape::crm_batch_upsert:
      body.properties = container::object_map;
      body.properties_key = "properties";
      if (!read_items(r, root, "inputs", body, items)) {
        return false;
      }
      records.reserve(items->size());
      for (std::size_t i = 0; const json_value input : items->elements()) {
        if (!read_crm_input(r, input, i++, shape, request, records)) {
          return false;
        }
      }
      return true;
    case body_shape::v1_properties:
      body.properties = container::name_value_array;
      body.properties_key = "properties";
      body.entry_name_key = "property";
      body.form_field_names = true;
      return read_v1_item(r, root, 0, request, false, records);
    case body_shape::v1_batch:
      body.properties = container::name_value_array;
      body.properties_key = "properties";
      body.entry_name_key = "property";
      body.form_field_names = true;
      if (!record_items(r, root, body)) {
        return false;
      }
      for (std::size_t i = 0; const json_value item : root.elements()) {
        if (!read_v1_item(r, item, i++, request, true, records)) {
          return false;
        }
      }
      return true;
    case body_shape::form_fields: {
      body.properties = container::name_value_array;
      body.properties_key = "fields";
      body.entry_name_key = "name";
      body.form_field_names = true;
      maybe_value fields;
      contact_record record = new_record(r, 0);
      // A repeated field name is a multi-value field (checkboxes), not a conflict; emails still are.
      if (!r.array_member(root, "fields", fields, false) || !read_name_value_array(r, fields, "name", record, entry_kind::form_field)) {
        return false;
      }
      records.push_back(std::move(record));
      return true;
    }
    case body_shape::single_send: {
      contact_record record = new_record(r, 0);
      maybe_value message;
      if (!r.object_member(root, "message", message, false)) {
        return false;
      }
      std::optional<std::string_view> to;
      if (message && !r.scalar_member(*message, "to", to)) {
        return false;
      }
      if (to) {
        record.email = to;
      }
      std::vector<contact_record> recipients;
      if (message && !read_recipients(r, *message, {"cc", "bcc"}, recipients)) {
        return false;
      }
      // v3/v4 send a map; the legacy v1 single-send sends [{"name","value"}]: both are read.
      maybe_value props;
      if (!r.member(root, "contactProperties", props)) {
        return false;
      }
      body.properties_key = "contactProperties";
      if (props && props->is_array()) {
        body.properties = container::name_value_array;
        body.entry_name_key = "name";
        body.form_field_names = true;
        if (!read_name_value_array(r, props, "name", record, entry_kind::property)) {
          return false;
        }
      } else {
        body.properties = container::object_map;
        if (props && !props->is_null() && !props->is_object()) {
          return r.fail("\"contactProperties\" must be an object or an array");
        }
        if (!read_property_map(r, props && props->is_object() ? props : maybe_value{}, record)) {
          return false;
        }
      }
      records.push_back(std::move(record));
      records.insert(records.end(), std::make_move_iterator(recipients.begin()),
                     std::make_move_iterator(recipients.end()));
      return true;
    }
    case body_shape::smtp_token: {
      body.properties = container::top_level;
      body.editable = editable_properties_of(body_shape::smtp_token).names;
      maybe_value create;
      if (!r.member(root, "createContact", create)) {
        return false;
      }
      // A JVM binder coerces "true" and non-zero numbers to true; so does this.
      bool creates = false;
      if (!create || create->is_null()) {
        creates = false;
      } else if (create->is_boolean()) {
        creates = create->boolean();
      } else if (create->is_string()) {
        std::string scratch;
        const std::string_view text = create->string_value(scratch);
        if (!iequals_ascii(text, "true") && !iequals_ascii(text, "false")) {
          return r.fail("\"createContact\" must be a boolean");
        }
        creates = iequals_ascii(text, "true");
      } else if (create->is_number()) {
        creates = json_number_value(create->raw()) != 0.0;
      } else {
        return r.fail("\"createContact\" must be a boolean");
      }
      std::optional<std::string_view> campaign;
      if (!r.scalar_member(root, "campaignName", campaign)) {
        return false;
      }
      if (creates) {
        contact_record record = new_record(r, 0);
        record.properties.emplace_back("createContact", "true");
        if (campaign) {
          record.properties.emplace_back("campaignName", *campaign);
        }
        records.push_back(std::move(record));
      }
      return true;
    }
    case body_shape::event_attendance:
      body.properties = container::object_map;
      body.properties_key = "contactProperties";
      if (!read_items(r, root, "inputs", body, items)) {
        return false;
      }
      for (std::size_t i = 0; const json_value input : items->elements()) {
        if (!input.is_object()) {
          return r.fail("each input must be an object");
        }
        contact_record record = new_record(r, i++);
        std::optional<std::string_view> email;
        maybe_value props;
        if (!r.scalar_member(input, "email", email) || !r.object_member(input, "contactProperties", props, false)) {
          return false;
        }
        if (email) {
          record.email = email;
        }
        if (!read_property_map(r, props, record)) {
          return false;
        }
        records.push_back(std::move(record));
      }
      return true;
    case body_shape::email_event: return read_event(r, root, 0, records);
    case body_shape::email_event_batch:
    case body_shape::email_event_wrappers:
      if (!read_items(r, root, shape == body_shape::email_event_batch ? "inputs" : "eventWrappers", body, items)) {
        return false;
      }
      for (std::size_t i = 0; const json_value event : items->elements()) {
        if (!read_event(r, event, i++, records)) {
          return false;
        }
      }
      return true;
    case body_shape::flat_contact: {
      body.properties = container::top_level;
      body.editable = editable_properties_of(body_shape::flat_contact).names;
      contact_record record = new_record(r, 0);
      if (!r.scalar_member(root, "email", record.email)) {
        return false;
      }
      for (const std::string_view key : flat_editable) {
        std::optional<std::string_view> value;
        if (!r.scalar_member(root, key, value)) {
          return false;
        }
        if (value) {
          record.properties.emplace_back(key, *value);
        }
      }
      // A booking's form fields and guests name contacts too (a guest may become one).
      maybe_value form_fields;
      std::vector<contact_record> guests;
      if (!r.array_member(root, "formFields", form_fields, false) ||
          !read_name_value_array(r, form_fields, "name", record, entry_kind::form_field) ||
          !read_recipients(r, root, {"guestEmails"}, guests)) {
        return false;
      }
      records.push_back(std::move(record));
      records.insert(records.end(), std::make_move_iterator(guests.begin()), std::make_move_iterator(guests.end()));
      return true;
    }
    case body_shape::channel_message: return read_channel_message(r, root, records);
    case body_shape::form_urlencoded:
    case body_shape::import_multipart:
    case body_shape::opaque: break;
  }
  return r.fail("internal: shape is not JSON");
}

// Whether a form pair would open a JSON document if a body began with it: a BOM, blanks, then `{`
// or `[`.
bool reads_as_json_start(std::string_view text) noexcept {
  if (text.starts_with("\xEF\xBB\xBF")) {
    text.remove_prefix(3);
  }
  text.remove_prefix(std::min(text.find_first_not_of(" \t\r\n"), text.size()));
  return text.starts_with('{') || text.starts_with('[');
}

bool read_form(reader& r, const classification& request, std::string_view text, extraction& out) {
  // Integrity, side doors: a servlet's getParameter() reads the query's parameters and the form
  // body's as one list, the query's first, so `?email=…` would be a field hubgate never read. A
  // v2 submission takes none (reference §2.4 rows 17-18), so a query with any is refused.
  if (const std::size_t q = request.forward_target.find('?');
      q != std::string::npos && request.forward_target.find_first_not_of('&', q + 1) != std::string::npos) {
    return r.fail("a v2 form submission takes its fields in the body, not in the query string");
  }
  // Integrity, body encodings: a JSON document sent as a form is rejected, since a server that
  // sniffs bodies would read the JSON where hubgate reads form pairs. Every pair is checked, not
  // only the body's start: a rewrite drops empty pairs and removed ones, so any pair can become
  // the first, and the rebuilt body must read again as the form that was checked.
  parsed_body& body = out.body;
  body.properties = container::form_pairs;
  body.form_field_names = true;
  body.item_count = 1;
  contact_record record = new_record(r, 0);
  std::size_t from = 0;
  while (from <= text.size()) {
    std::size_t amp = text.find('&', from);
    if (amp == std::string_view::npos) {
      amp = text.size();
    }
    const std::string_view raw = text.substr(from, amp - from);
    from = amp + 1;
    if (raw.empty()) {
      continue;
    }
    if (reads_as_json_start(raw)) {
      return r.fail("a JSON body sent as application/x-www-form-urlencoded (a form field begins with `{` or `[`)");
    }
    // Integrity, form bodies: a form reader that splits pairs at `;` too (as servlet containers
    // and older libraries do) would read fields hubgate did not, and a rewrite would leave them in.
    // Encoders write `;` as %3B, so a raw one is refused rather than read one way.
    if (raw.find(';') != std::string_view::npos) {
      return r.fail("a raw ';' in a form body (send it percent-encoded, as %3B): a reader splitting fields at ';' "
                    "would read other fields");
    }
    form_pair pair;
    pair.raw = std::string(raw);
    const std::size_t eq = raw.find('=');
    if (!percent_decode(raw.substr(0, eq), pair.name, true) ||
        (eq != std::string_view::npos && !percent_decode(raw.substr(eq + 1), pair.value, true))) {
      return r.fail("invalid percent-encoding in the form body");
    }
    if (has_unplain_type_prefix(pair.name)) {
      return r.fail("a form field's object type is written other than in ASCII digits");
    }
    // hs_context is submission metadata (hutk, page), not a contact property (§2.4 row 17).
    if (!iequals_ascii(pair.name, "hs_context") &&
        !add_property(r, record, form_field_property(r.keep(pair.name)), r.keep(pair.value))) {
      return false;
    }
    body.form.push_back(std::move(pair));
  }
  if (!check_repeats_of_read_properties(r, record)) {
    return false;
  }
  out.records.push_back(std::move(record));
  return true;
}

// The common case first, 16 bytes at a time: an address already as HubSpot stores it (no capital,
// no non-ASCII byte, no space at either end) that is plainly one address (one `@`; no space,
// control byte or special of RFC 5322 but `@` and `.`: not_plain_address_byte) and whose domain
// IDNA leaves alone (no `--`, so no `xn--` label). False sends it the long way, which normalises
// it and says what is wrong; so a few spellings that are fine there (`#$%&'` and `=`, caught by
// the cheap byte ranges here, and `--`) take the long way too.
bool is_plain_normalised_email(std::string_view email) noexcept {
#if defined(__SSE2__)
  if (email.size() < 16 || email.back() == '.') {
    return false;
  }
  // Signed compares: bytes from 0x80 are negative, so `< 0x21` finds them with the spaces and
  // control bytes. Each block's `@`s are counted as a bit mask.
  unsigned at_signs = 0;
  const auto odd_bytes = [&at_signs](const char* at) {
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(at));
    const __m128i capital = _mm_and_si128(_mm_cmpgt_epi8(b, _mm_set1_epi8('A' - 1)), _mm_cmplt_epi8(b, _mm_set1_epi8('Z' + 1)));
    const __m128i low_or_high = _mm_cmplt_epi8(b, _mm_set1_epi8(0x21));
    // `"` to `)`, `:` to `>` and `[` to `]`, each range moved to the bottom of the signed range
    // and found by one compare, and `,`.
    const auto in_range = [&](char low, char high) {
      const __m128i moved = _mm_add_epi8(b, _mm_set1_epi8(static_cast<char>(-128 - low)));
      return _mm_cmplt_epi8(moved, _mm_set1_epi8(static_cast<char>(-128 + (high - low + 1))));
    };
    const __m128i listing = _mm_or_si128(_mm_or_si128(in_range('"', ')'), in_range(':', '>')),
                                         _mm_or_si128(in_range('[', ']'), _mm_cmpeq_epi8(b, _mm_set1_epi8(','))));
    const __m128i odd = _mm_or_si128(_mm_or_si128(capital, low_or_high), _mm_or_si128(listing, _mm_cmpeq_epi8(b, _mm_set1_epi8(0x7F))));
    at_signs = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(b, _mm_set1_epi8('@'))));
    return _mm_movemask_epi8(odd) != 0;
  };
  // Two hyphens in a row starting at at[0..15] (at[16] is read too).
  const auto hyphen_pairs = [](const char* at) {
    const __m128i hyphen = _mm_set1_epi8('-');
    const __m128i here = _mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(at)), hyphen);
    const __m128i next = _mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(at + 1)), hyphen);
    return _mm_movemask_epi8(_mm_and_si128(here, next)) != 0;
  };
  // False at a second `@`.
  bool seen_at_sign = false;
  const auto one_at_sign_so_far = [&seen_at_sign](unsigned bits) {
    if (bits == 0) {
      return true;
    }
    const bool first = !seen_at_sign && (bits & (bits - 1)) == 0;
    seen_at_sign = true;
    return first;
  };
  // Whole blocks, then the last 16 bytes (overlapping the block before): nothing outside the text.
  std::size_t at = 0;
  for (; at + 16 < email.size(); at += 16) {
    if (odd_bytes(email.data() + at) || hyphen_pairs(email.data() + at) || !one_at_sign_so_far(at_signs)) {
      return false;
    }
  }
  const char* last = email.data() + email.size() - 16;
  if (odd_bytes(last) || (email.size() == 16 ? email.find("--") != std::string_view::npos : hyphen_pairs(last - 1))) {
    return false;
  }
  // The last block's first bytes were looked at with the block before.
  return one_at_sign_so_far(at_signs >> (at - (email.size() - 16))) && seen_at_sign;
#else
  (void)email;
  return false;
#endif
}

// No domain at all (`jo`, `jo@`) is HubSpot's to refuse: it names no domain a rule could miss.
bool has_host_name_or_none(std::string_view normalised_email) noexcept {
  const std::string_view domain = normalised_domain(normalised_email);
  return domain.empty() || is_host_name(domain);
}

bool fail_not_host_name(reader& r, const contact_record& record) {
  return r.fail("the email of record " + std::to_string(record.index) +
                " has a domain that is not a host name (letters, digits and hyphens, in labels between single dots)");
}

// Integrity, email spellings: hubgate normalises what HubSpot's storage would (trimmed, lower-cased,
// email.hpp) and inspects; an address that one reader could take as several, or as another
// (a list, a display name `Jo <jo@x.com>`, inner spaces or control bytes, and RFC 5322's quoting,
// comments and address literals: `"jo"@x.com`, `jo(c)@x.com`, `jo@[x.com]`, `mailto:jo@x.com`,
// which a parser that follows the RFC reads as `jo@x.com`), it rejects.
// Each record's email is normalised here, once, for the rules and the audit trail to share.
bool normalise_addresses(reader& r, std::vector<contact_record>& records) {
  for (contact_record& record : records) {
    if (!record.email) {
      continue;
    }
    if (is_plain_normalised_email(*record.email)) {
      if (!has_host_name_or_none(*record.email)) {
        return fail_not_host_name(r, record);
      }
      record.normalised_email = record.email;
      continue;
    }
    const std::string_view email =
        is_normalised_email(*record.email) ? *record.email : r.keep(normalise_email(*record.email));
    // RFC 5322's specials but `@` and `.`, spaces and control bytes.
    static constexpr auto not_plain_address_byte = [] {
      std::array<bool, 256> table{};
      for (std::size_t b = 0; b < table.size(); ++b) {
        table[b] = b <= 0x20 || b == 0x7F || std::string_view(",;<>()\"[]\\:").find(static_cast<char>(b)) != std::string_view::npos;
      }
      return table;
    }();
    bool odd = false; // one table load per byte, no early exit: addresses are short
    for (const char c : email) {
      odd |= not_plain_address_byte[static_cast<unsigned char>(c)];
    }
    // Two `@`s: readers split the address at the first or at the last.
    const bool one_at = email.find('@') == email.rfind('@');
    // The messages name the record, never the address: they go to the access log too.
    if (odd || !one_at) {
      return r.fail("the email of record " + std::to_string(record.index) +
                    " is not one plain address (a list, a display name, spaces or control characters, RFC 5322 "
                    "quotes, comments or brackets, or a second @)");
    }
    const std::string_view domain = normalised_domain(email);
    if (!is_readable_domain(domain)) {
      return r.fail("the email of record " + std::to_string(record.index) +
                    " has a domain that IDNA refuses, so readers would disagree on which domain it is");
    }
    if (!has_host_name_or_none(email)) {
      return fail_not_host_name(r, record);
    }
    record.normalised_email = email;
  }
  return true;
}

// Integrity, near misses of the rules' values: see property_selection::compared. A value is
// looked at only when its property is one a rule compares (rare, and a few per record).
bool refuse_near_misses(reader& r, const std::vector<contact_record>& records, const compared_values& compared) {
  for (const contact_record& record : records) {
    for (const auto& [name, value] : record.properties) {
      if (compared.is_near_miss(name, value)) {
        return r.fail("the value of property \"" + std::string(trim_name_padding(name)) +
                      "\" differs from one a rule compares it with only in letter case, padding, other options "
                      "listed with ';' or the spelling of a number: send it exactly as the rule spells it");
      }
    }
  }
  return true;
}

// Integrity, JSON ambiguity: a document two parsers could read differently (duplicate keys at any
// depth, deep nesting, invalid UTF-8, comments, trailing bytes) is rejected by the scanner
// (json_scan.hpp); escapes and the spellings of property names are read and inspected.
bool read_json(reader& r, const classification& request, std::string_view text, token_allowance* allowance,
               extraction& out) {
  // One document per thread, whose token buffer (20 bytes a token, about two a property) serves
  // the next body too: a create's 1.8 KB and a batch's 100 KB were each a malloc and a free on the
  // slow path, past glibc's per-thread cache. A buffer of more than 8,192 tokens (bodies of over
  // about 60 KB) is given back after its request. Nothing read here points into the tokens.
  constexpr std::uint32_t kept_tokens = 8192;
  thread_local json_document document;
  struct forget_the_scan {
    ~forget_the_scan() { document.reset(kept_tokens); }
  } forget;
  if (!document.scan(text, json_document::no_token_limit, allowance)) {
    out.too_many_values = document.over_token_limit();
    return r.fail(document.error());
  }
  out.body.text = text;
  return read_json_shape(r, request, document.root(), out);
}

} // namespace

extraction extract(const classification& request, std::string_view body, std::string_view content_type,
                   const property_selection& listed, token_allowance* allowance) {
  extraction out;
  out.op = request.op;
  try {
    reader r(out.texts, listed);
    if (!request.ok() || request.op == nullptr) {
      out.error = "the request is not a catalog operation";
      return out;
    }
    const body_shape shape = request.op->shape;
    out.body.item_count = 1;
    if (shape == body_shape::opaque) {
      return out;
    }
    media type = media::other;
    if (!read_content_type(r, content_type, type)) {
      out.error = r.take_error();
      return out;
    }
    bool ok = false;
    if (shape == body_shape::import_multipart) {
      ok = type == media::multipart || r.fail("an import must be multipart/form-data");
    } else if (shape == body_shape::form_urlencoded) {
      // Multipart v2 submissions (file fields) are refused: their fields are not read here.
      ok = (type == media::urlencoded || r.fail("a v2 form submission must be application/x-www-form-urlencoded")) &&
           read_form(r, request, body, out);
    } else {
      ok = (type == media::json_text || r.fail("this operation takes a JSON body")) &&
           (!body.empty() || r.fail("empty body")) && read_json(r, request, body, allowance, out);
    }
    ok = ok && normalise_addresses(r, out.records) &&
         (listed.compared == nullptr || listed.compared->empty() ||
          refuse_near_misses(r, out.records, *listed.compared));
    if (!ok) {
      const std::string error = r.take_error();
      const bool too_many_values = out.too_many_values;
      out = extraction{};
      out.op = request.op;
      out.error = error;
      out.too_many_values = too_many_values;
    }
  } catch (const std::exception& ex) {
    out = extraction{};
    out.op = request.op;
    out.error = std::string("cannot read the body: ") + ex.what();
  }
  return out;
}

} // namespace hubgate::hubspot
