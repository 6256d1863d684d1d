#include "integrity/lenient_hubspot.hpp"

#include "hubgate/hubspot/text.hpp"

#include <unicode/bytestream.h>
#include <unicode/idna.h>
#include <unicode/normalizer2.h>
#include <zlib.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <iterator>
#include <memory>
#include <optional>
#include <regex>
#include <string_view>
#include <utility>

namespace hubgate::test {

namespace {

using json = nlohmann::json;

char lower_ascii(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string upper_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
  }
  return out;
}

std::string_view trim_blanks(std::string_view s) {
  const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '+'; };
  while (!s.empty() && blank(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && blank(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

// A name as the most forgiving server trims it: every byte up to 0x20 (Java's String.trim), `+`
// (a form's space), and the Unicode spaces, zero-width characters and byte order mark that
// Character.isWhitespace, JavaScript's trim or Python's strip drop, decoded as code points.
std::string_view trim_name(std::string_view s) {
  const auto padding = [](char32_t c) {
    return c <= 0x20 || c == '+' || c == 0x85 || c == 0xA0 || c == 0x1680 || c == 0x180E ||
           (c >= 0x2000 && c <= 0x200F) || (c >= 0x2028 && c <= 0x202F) || (c >= 0x205F && c <= 0x2064) ||
           c == 0x3000 || c == 0xFEFF;
  };
  // The code point at `at` and its size in bytes (a lone byte when it is not UTF-8).
  const auto decode = [&](std::size_t at) -> std::pair<char32_t, std::size_t> {
    const auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[at + i]); };
    if (b(0) >= 0xE0 && b(0) < 0xF0 && at + 2 < s.size()) {
      return {static_cast<char32_t>((b(0) & 0x0F) << 12 | (b(1) & 0x3F) << 6 | (b(2) & 0x3F)), 3};
    }
    if (b(0) >= 0xC0 && b(0) < 0xE0 && at + 1 < s.size()) {
      return {static_cast<char32_t>((b(0) & 0x1F) << 6 | (b(1) & 0x3F)), 2};
    }
    return {b(0), 1};
  };
  for (;;) {
    if (s.empty()) {
      return s;
    }
    const auto [c, size] = decode(0);
    if (!padding(c)) {
      break;
    }
    s.remove_prefix(size);
  }
  for (;;) {
    // The last code point: back over continuation bytes to its first byte.
    std::size_t start = s.size() - 1;
    while (start > 0 && s.size() - start < 3 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) {
      --start;
    }
    const auto [c, size] = decode(start);
    if (start + size != s.size() || !padding(c)) {
      return s;
    }
    s.remove_suffix(size);
    if (s.empty()) {
      return s;
    }
  }
}

// Java's equalsIgnoreCase, as a key: ASCII lower-cased, and the four non-ASCII letters it equates
// with ASCII ones (long s, Kelvin sign, dotless i, dotted I).
std::string fold(std::string_view s) {
  static constexpr std::array<std::pair<std::string_view, char>, 4> aliases = {
      {{"\xC5\xBF", 's'}, {"\xE2\x84\xAA", 'k'}, {"\xC4\xB1", 'i'}, {"\xC4\xB0", 'i'}}};
  std::string out;
  for (std::size_t i = 0; i < s.size();) {
    bool aliased = false;
    for (const auto& [bytes, ascii] : aliases) {
      if (s.substr(i).starts_with(bytes)) {
        out.push_back(ascii);
        i += bytes.size();
        aliased = true;
        break;
      }
    }
    if (!aliased) {
      out.push_back(lower_ascii(s[i++]));
    }
  }
  return out;
}

// An entry's property name as a server that also takes a form field's `objectTypeId/` prefix reads
// it: `0-1/email` (any zeros) is `email`, folded.
std::string entry_property(std::string_view name) {
  std::string folded = fold(trim_name(name));
  static const std::regex contact_prefix("^0+-0*1/");
  return std::regex_replace(folded, contact_prefix, "", std::regex_constants::format_first_only);
}

// A header name as a CGI-style server reads it: any case, `_` for `-`.
std::string header_key(std::string_view name) {
  std::string out = fold(name);
  std::replace(out.begin(), out.end(), '_', '-');
  return out;
}

int hex(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  c = lower_ascii(c);
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

// Percent-decoding that keeps what is not an escape.
std::string decode(std::string_view s, bool plus_as_space) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else {
      out.push_back(plus_as_space && s[i] == '+' ? ' ' : s[i]);
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> query_pairs(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t from = 0;
  while (from <= text.size()) {
    // Split at `;` too, as servlet containers and older form readers split pairs.
    const std::size_t amp = std::min(text.find_first_of("&;", from), text.size());
    const std::string_view pair = text.substr(from, amp - from);
    from = amp + 1;
    const std::size_t eq = pair.find('=');
    out.emplace_back(decode(pair.substr(0, eq), true),
                     eq == std::string_view::npos ? std::string() : decode(pair.substr(eq + 1), true));
  }
  return out;
}

std::vector<std::string> header_values(const recorded_request& r, std::string_view canonical) {
  std::vector<std::string> out;
  for (const auto& [name, value] : r.headers) {
    if (header_key(name) == canonical) {
      out.push_back(value);
    }
  }
  return out;
}

// --- method and path

struct lenient_target {
  std::string method;
  std::string loose_path;                // folded, loosened segments joined by `/`
  std::vector<std::string> raw_segments; // decoded, as sent
  std::string query;
};

// A fixed segment as a forgiving router compares it: padding and trailing dots trimmed, one file
// suffix cut, folded.
std::string loosen(std::string_view seg) {
  const auto trim = [](std::string_view s) {
    s = trim_blanks(s);
    while (!s.empty() && s.back() == '.') {
      s.remove_suffix(1);
    }
    return trim_blanks(s);
  };
  seg = trim(seg);
  const std::size_t dot = seg.rfind('.');
  if (dot != std::string_view::npos && dot > 0 && seg.size() - dot - 1 <= 8 &&
      std::all_of(seg.begin() + static_cast<std::ptrdiff_t>(dot) + 1, seg.end(),
                  [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; })) {
    seg = trim(seg.substr(0, dot));
  }
  return fold(seg);
}

lenient_target read_target(const recorded_request& r) {
  lenient_target out;
  std::string_view target = r.target;
  if (!target.starts_with('/')) {
    const std::size_t scheme = target.find("://");
    const std::size_t path = scheme == std::string_view::npos ? 0 : target.find_first_of("/?", scheme + 3);
    target = path == std::string_view::npos ? std::string_view("/") : target.substr(path);
  }
  const std::size_t question = target.find('?');
  if (question != std::string_view::npos) {
    out.query = std::string(target.substr(question + 1));
  }
  std::string path(target.substr(0, question));
  for (int round = 0; round < 6; ++round) {
    std::string decoded = decode(path, false);
    if (decoded == path) {
      break;
    }
    path = std::move(decoded);
  }
  std::replace(path.begin(), path.end(), '\\', '/');
  std::size_t from = 0;
  while (from <= path.size()) {
    const std::size_t slash = std::min(path.find('/', from), path.size());
    std::string piece = path.substr(from, slash - from);
    from = slash + 1;
    piece = piece.substr(0, piece.find(';'));
    if (piece.empty() || piece == ".") {
      continue;
    }
    if (piece == "..") {
      if (!out.raw_segments.empty()) {
        out.raw_segments.pop_back();
      }
      continue;
    }
    out.raw_segments.push_back(std::move(piece));
  }
  for (const std::string& seg : out.raw_segments) {
    out.loose_path += "/" + loosen(seg);
  }
  out.method = upper_ascii(r.method);
  for (const std::string_view name : {"x-http-method-override", "x-http-method", "x-method-override"}) {
    for (const std::string& value : header_values(r, name)) {
      out.method = upper_ascii(trim_blanks(value));
    }
  }
  for (const auto& [name, value] : query_pairs(out.query)) {
    if (fold(trim_name(name)) == "_method") {
      out.method = upper_ascii(value);
    }
  }
  return out;
}

enum class endpoint_kind : std::uint8_t { json_body, form, multipart, smtp };

struct endpoint {
  std::string_view method;
  std::regex pattern;
  endpoint_kind kind;
  bool batch_create = false;
};

// The contact-creating endpoints of reference §2/§3, written as regexes over the loosened path.
const std::vector<endpoint>& endpoints() {
  static const std::vector<endpoint> table = [] {
    const std::string d = R"(\d{4}-\d{1,2}(?:[^\d/][^/]*)?)";
    const std::string t = "(?:contacts|contact|0+-0*1)";
    const std::string crm = "/crm/(?:v3/objects|objects/" + d + ")/" + t;
    const auto re = [](const std::string& s) { return std::regex("^" + s + "$", std::regex::optimize); };
    std::vector<endpoint> e;
    e.push_back({"POST", re(crm), endpoint_kind::json_body});
    e.push_back({"POST", re(crm + "/batch/create"), endpoint_kind::json_body, true});
    e.push_back({"POST", re(crm + "/batch/upsert"), endpoint_kind::json_body});
    e.push_back({"POST", re("/contacts/v1/contact(?:/batch|/createorupdate/email/.+)?"), endpoint_kind::json_body});
    // A router that ignores what follows a form's guid takes `.../{guid}/x` for the submission.
    e.push_back({"POST", re("/submissions/v3/integration/(?:secure/|async/)?submit/[^/]+/[^/]+(?:/.*)?"),
                 endpoint_kind::form});
    e.push_back({"POST", re("/(?:uploads/form/v2|submissions/v2/post/upload/secure)/[^/]+/[^/]+(?:/.*)?"),
                 endpoint_kind::form});
    e.push_back({"POST", re("/crm/(?:v3/imports|imports/" + d + ")"), endpoint_kind::multipart});
    e.push_back({"POST", re("/marketing/(?:v3/transactional|transactional/" + d + ")/single-email/send"),
                 endpoint_kind::json_body});
    e.push_back({"POST", re("/email/public/v1/singleemail/send"), endpoint_kind::json_body});
    e.push_back(
        {"POST", re("/marketing/(?:v4/email|email-campaigns/" + d + ")/single-send"), endpoint_kind::json_body});
    e.push_back(
        {"POST", re("/marketing/(?:v3/transactional|transactional/" + d + ")/smtp-tokens"), endpoint_kind::smtp});
    e.push_back({"POST", re("/marketing/(?:v3/marketing-events|marketing-events/" + d + ")/.*/email-(?:create|upsert)"),
                 endpoint_kind::json_body});
    e.push_back({"POST", re("/(?:integrators/timeline/(?:v3|" + d + ")|crm/v3/timeline|crm/timeline/" + d +
                            ")/events(?:/batch(?:/create)?)?"),
                 endpoint_kind::json_body});
    e.push_back({"POST", re("/integrators/timeline/v4/events(?:/.*)?"), endpoint_kind::json_body});
    for (const std::string_view method : {"PUT", "POST"}) {
      e.push_back({method, re("/integrations/v1/[^/]+/timeline/event(?:/batch)?"), endpoint_kind::json_body});
    }
    e.push_back({"POST", re("/events/(?:v3|" + d + "|custom/" + d + ")/send(?:/batch)?"), endpoint_kind::json_body});
    e.push_back({"POST", re("/(?:visitor-identification/(?:v3|" + d + ")|conversations/v3/visitor-identification|"
                            "conversations/visitor-identification/" + d + "|conversations/" + d +
                            "/visitor-identification)/tokens/create"),
                 endpoint_kind::json_body});
    e.push_back({"POST", re("/scheduler/(?:v3|" + d + ")/meetings/meeting-links/book"), endpoint_kind::json_body});
    e.push_back({"POST", re("/automation/v4/webhook-triggers/[^/]+/[^/]+"), endpoint_kind::json_body});
    e.push_back({"POST", re("/conversations/(?:v3/custom-channels|custom-channels/" + d + "|" + d +
                            "/custom-channels)/[^/]+/messages"),
                 endpoint_kind::json_body});
    e.push_back({"POST", re("/conversations/(?:v3/conversations|conversations/" + d + "|" + d +
                            "/conversations)/threads/[^/]+/messages"),
                 endpoint_kind::json_body});
    return e;
  }();
  return table;
}

const endpoint* find_endpoint(const lenient_target& t) {
  for (const endpoint& e : endpoints()) {
    if (e.method == t.method && std::regex_match(t.loose_path, e.pattern)) {
      return &e;
    }
  }
  return nullptr;
}

// --- body decodings

std::optional<std::string> inflate_with(std::string_view in, int window_bits) {
  z_stream zs{};
  if (inflateInit2(&zs, window_bits) != Z_OK) {
    return std::nullopt;
  }
  std::string out;
  std::array<char, 16384> chunk{};
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  int status = Z_OK;
  while (status == Z_OK && out.size() < 64 * 1024 * 1024) {
    zs.next_out = reinterpret_cast<Bytef*>(chunk.data());
    zs.avail_out = static_cast<uInt>(chunk.size());
    status = inflate(&zs, Z_NO_FLUSH);
    out.append(chunk.data(), chunk.size() - zs.avail_out);
    if (status == Z_BUF_ERROR && zs.avail_in == 0) {
      break;
    }
  }
  inflateEnd(&zs);
  if (status != Z_STREAM_END) {
    return std::nullopt;
  }
  return out;
}

std::optional<std::string> undo(std::string_view coding, std::string_view body) {
  if (coding == "gzip" || coding == "x-gzip") {
    return inflate_with(body, 16 + MAX_WBITS);
  }
  if (coding == "deflate") {
    if (auto zlib = inflate_with(body, MAX_WBITS)) {
      return zlib;
    }
    return inflate_with(body, -MAX_WBITS);
  }
  return std::nullopt;
}

// The body as sent, and as every Content-Encoding (all fields, each list) undone in any order a
// server might try.
std::vector<std::string> decodings(const recorded_request& r) {
  std::vector<std::string> out{r.body};
  std::vector<std::string> codings;
  for (const std::string& value : header_values(r, "content-encoding")) {
    std::size_t from = 0;
    while (from <= value.size()) {
      const std::size_t comma = std::min(value.find(',', from), value.size());
      codings.push_back(fold(trim_blanks(std::string_view(value).substr(from, comma - from))));
      from = comma + 1;
    }
  }
  std::string current = r.body;
  for (auto it = codings.rbegin(); it != codings.rend(); ++it) {
    if (auto undone = undo(*it, current)) {
      current = *undone;
      out.push_back(current);
    }
  }
  for (const std::string& coding : codings) {
    if (auto undone = undo(coding, r.body)) {
      out.push_back(*undone);
    }
  }
  return out;
}

// The texts a server might see in one decoded body: as is, BOM stripped, UTF-16 (either order)
// and Latin-1 transcoded to UTF-8.
std::vector<std::string> texts(const std::string& body) {
  std::vector<std::string> out{body};
  if (body.starts_with("\xEF\xBB\xBF")) {
    out.push_back(body.substr(3));
  }
  const bool utf16 = body.starts_with("\xFF\xFE") || body.starts_with("\xFE\xFF") ||
                     (body.size() >= 2 && (body[0] == '\0' || body[1] == '\0'));
  for (const bool little : {true, false}) {
    if (!utf16) {
      break;
    }
    std::string utf8;
    for (std::size_t i = 0; i + 1 < body.size(); i += 2) {
      const auto a = static_cast<unsigned char>(body[i]);
      const auto b = static_cast<unsigned char>(body[i + 1]);
      const char32_t unit = little ? (b << 8 | a) : (a << 8 | b);
      if (unit != 0xFEFF) {
        hubspot::append_utf8(unit, utf8);
      }
    }
    out.push_back(std::move(utf8));
  }
  if (std::none_of(body.begin(), body.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; })) {
    return out;
  }
  std::string latin1;
  for (const char c : body) {
    hubspot::append_utf8(static_cast<unsigned char>(c), latin1);
  }
  out.push_back(std::move(latin1));
  return out;
}

// --- reading values that name contacts

bool emailish_key(std::string_view folded) {
  return folded == "email" || folded == "to" || folded == "cc" || folded == "bcc" || folded == "guestemails";
}

// Collects, from any JSON document and at any depth: values of email-like keys (also inside
// arrays), `value`s of name/value entries naming email, ids of upsert items keyed by email (or
// holding an `@` with no idProperty), and whether a `createContact` is truthy. Duplicate keys are
// all seen (a SAX stream has no DOM to overwrite).
// A lifecycle stage a lenient store reads as `customer`: any letter case, any padding (as
// Java's equalsIgnoreCase after trim, or Boolean.parseBoolean for booleans, would), alone or as
// one of several options separated by `;` (multi-select values).
bool loosely_customer(std::string_view value) {
  std::size_t from = 0;
  while (from <= value.size()) {
    const std::size_t end = std::min(value.find(';', from), value.size());
    if (fold(trim_name(value.substr(from, end - from))) == "customer") {
      return true;
    }
    from = end + 1;
  }
  return false;
}

class value_scan : public nlohmann::json_sax<json> {
 public:
  explicit value_scan(bool query_id_is_email) : query_id_is_email_(query_id_is_email) {}

  std::vector<std::string> values;
  bool creates_contacts = false;
  bool makes_customer = false; // a lifecycle stage of `customer`, however spelled

  bool null() override { return scalar({}); }
  bool boolean(bool v) override { return scalar(v ? "true" : "false"); }
  bool number_integer(number_integer_t v) override { return scalar(std::to_string(v)); }
  bool number_unsigned(number_unsigned_t v) override { return scalar(std::to_string(v)); }
  bool number_float(number_float_t, const string_t& text) override { return scalar(text); }
  bool string(string_t& v) override { return scalar(v); }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return open(true); }
  bool start_array(std::size_t) override { return open(false); }
  bool end_array() override {
    frames_.pop_back();
    return true;
  }
  bool key(string_t& k) override {
    frames_.back().key = fold(trim_name(k));
    return true;
  }
  bool end_object() override {
    frame& f = frames_.back();
    if (std::any_of(f.names.begin(), f.names.end(),
                    [](const std::string& n) { return entry_property(n) == "email"; })) {
      values.insert(values.end(), f.entry_values.begin(), f.entry_values.end());
    }
    if (std::any_of(f.names.begin(), f.names.end(),
                    [](const std::string& n) { return entry_property(n) == "lifecyclestage"; })) {
      makes_customer = makes_customer || std::any_of(f.entry_values.begin(), f.entry_values.end(), loosely_customer);
    }
    // A custom channel message's sender or recipient: its identifier's value is an address when
    // typed as one, or when it reads as one.
    if (f.delivery_identifier) {
      const bool typed_email = std::any_of(f.types.begin(), f.types.end(),
                                           [](const std::string& t) { return fold(trim_name(t)) == "hs_email_address"; });
      for (const std::string& v : f.entry_values) {
        if (typed_email || v.find('@') != std::string::npos) {
          values.push_back(v);
        }
      }
    }
    const bool by_email = std::any_of(f.id_properties.begin(), f.id_properties.end(),
                                      [](const std::string& p) { return fold(trim_name(p)) == "email"; });
    // An idProperty of nothing is none: the id may then be read as an email, written with any at-sign.
    const bool no_id_property = std::all_of(f.id_properties.begin(), f.id_properties.end(),
                                            [](const std::string& p) { return trim_name(p).empty(); });
    for (const std::string& id : f.ids) {
      const bool at_sign = id.find('@') != std::string::npos || id.find("\xEF\xBC\xA0") != std::string::npos ||
                           id.find("\xEF\xB9\xAB") != std::string::npos;
      if (by_email || query_id_is_email_ || (no_id_property && at_sign)) {
        values.push_back(id);
      }
    }
    frames_.pop_back();
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }

 private:
  struct frame {
    bool object = false;
    bool collect_elements = false; // an array (or nested array) under an email-like key
    bool delivery_identifier = false; // the value of a `deliveryIdentifier` key, or one of a `deliveryIdentifiers` list
    bool identifier_list = false;     // the value of a `deliveryIdentifiers` key
    std::string key;
    std::vector<std::string> names, entry_values, id_properties, ids, types;
  };

  bool open(bool object) {
    frame f;
    f.object = object;
    if (!frames_.empty()) {
      const frame& parent = frames_.back();
      f.collect_elements = parent.object ? emailish_key(parent.key) : parent.collect_elements;
      f.delivery_identifier = object && ((parent.object && parent.key == "deliveryidentifier") || parent.identifier_list);
      f.identifier_list = !object && parent.object && parent.key == "deliveryidentifiers";
    }
    frames_.push_back(std::move(f));
    return frames_.size() < 512;
  }

  bool scalar(const std::string& v) {
    if (frames_.empty()) {
      return true;
    }
    frame& f = frames_.back();
    if (!f.object) {
      if (f.collect_elements) {
        values.push_back(v);
      }
      return true;
    }
    if (emailish_key(f.key)) {
      values.push_back(v);
    } else if (f.key == "lifecyclestage") {
      makes_customer = makes_customer || loosely_customer(v);
    } else if (f.key == "property" || f.key == "name") {
      f.names.push_back(v);
    } else if (f.key == "value") {
      f.entry_values.push_back(v);
    } else if (f.key == "type") {
      f.types.push_back(v);
    } else if (f.key == "idproperty") {
      f.id_properties.push_back(v);
    } else if (f.key == "id") {
      f.ids.push_back(v);
    } else if (f.key == "createcontact") {
      const std::string t = fold(trim_blanks(v));
      creates_contacts = creates_contacts || t == "true" ||
                         (!t.empty() && t != "false" && t != "0" && std::strtod(t.c_str(), nullptr) != 0.0);
    }
    return true;
  }

  bool query_id_is_email_;
  std::vector<frame> frames_;
};

void scan_form(std::string_view text, std::vector<std::string>& values, bool& makes_customer) {
  for (const auto& [name, value] : query_pairs(text)) {
    if (entry_property(name) == "email") {
      values.push_back(value);
    }
    makes_customer = makes_customer || (entry_property(name) == "lifecyclestage" && loosely_customer(value));
  }
}

// CSV rows of every part of a multipart body: a column headed `email` (any case) names contacts.
void scan_multipart(std::string_view text, std::vector<std::string>& values) {
  std::size_t from = 0;
  constexpr std::size_t none = static_cast<std::size_t>(-1);
  std::size_t column = none; // the email column of the current CSV part
  while (from < text.size()) {
    const std::size_t eol = std::min(text.find('\n', from), text.size());
    std::string_view line = text.substr(from, eol - from);
    from = eol + 1;
    if (line.ends_with('\r')) {
      line.remove_suffix(1);
    }
    std::vector<std::string> cells;
    std::size_t c = 0;
    while (c <= line.size()) {
      const std::size_t comma = std::min(line.find(',', c), line.size());
      std::string_view cell = trim_blanks(line.substr(c, comma - c));
      if (cell.size() >= 2 && cell.front() == '"' && cell.back() == '"') {
        cell = cell.substr(1, cell.size() - 2);
      }
      cells.emplace_back(cell);
      c = comma + 1;
    }
    const auto header =
        std::find_if(cells.begin(), cells.end(), [](const std::string& s) { return fold(s) == "email"; });
    if (header != cells.end()) {
      column = static_cast<std::size_t>(header - cells.begin());
    } else if (line.starts_with("--")) {
      column = none; // the next part
    } else if (column < cells.size()) {
      values.push_back(cells[column]);
    }
  }
}

// --- email readings

// Unicode whitespace and invisible characters, as UTF-8.
constexpr std::array<std::string_view, 16> invisible = {"\xC2\xAD",     "\xE2\x80\x8B", "\xE2\x80\x8C", "\xE2\x80\x8D",
                                                        "\xE2\x80\x8E", "\xE2\x80\x8F", "\xE2\x80\xAA", "\xE2\x80\xAB",
                                                        "\xE2\x80\xAC", "\xE2\x80\xAD", "\xE2\x80\xAE", "\xE2\x81\xA0",
                                                        "\xE2\x81\xA1", "\xE2\x81\xA2", "\xE2\x81\xA3", "\xEF\xBB\xBF"};
constexpr std::array<std::string_view, 8> spaces = {"\xC2\xA0",     "\xE3\x80\x80", "\xE2\x80\xAF", "\xE2\x81\x9F",
                                                    "\xE2\x80\xA8", "\xE2\x80\xA9", "\xC2\x85",     "\xE1\x9A\x80"};

// One address as a normalising store would keep it: invisible characters dropped, fullwidth
// forms, the small commercial at and ideographic full stops read as ASCII, Unicode spaces as spaces, trimmed, lower-cased
// (ASCII, Latin-1, Kelvin sign, long s).
std::string normalise(std::string_view raw) {
  std::string s;
  for (std::size_t i = 0; i < raw.size();) {
    const std::string_view rest = raw.substr(i);
    const auto starts = [&](const auto& list) {
      for (const std::string_view x : list) {
        if (rest.starts_with(x)) {
          return x.size();
        }
      }
      return std::size_t{0};
    };
    if (const std::size_t n = starts(invisible)) {
      i += n;
    } else if (const std::size_t m = starts(spaces)) {
      s.push_back(' ');
      i += m;
    } else if (rest.size() >= 3 && rest[0] == '\xEF' && (rest[1] == '\xBC' || rest[1] == '\xBD')) {
      // U+FF01..U+FF5E: EF BC 81..BF and EF BD 80..9E
      const unsigned code = (rest[1] == '\xBC' ? 0xFF00U : 0xFF40U) + (static_cast<unsigned char>(rest[2]) & 0x3FU);
      s.push_back(code >= 0xFF01 && code <= 0xFF5E ? static_cast<char>(code - 0xFEE0) : '?');
      i += 3;
    } else if (rest.starts_with("\xEF\xB9\xAB")) { // small commercial at, NFKC's `@`
      s.push_back('@');
      i += 3;
    } else if (rest.starts_with("\xE3\x80\x82") || rest.starts_with("\xEF\xBD\xA1")) {
      s.push_back('.');
      i += 3;
    } else if (rest.starts_with("\xE2\x84\xAA")) {
      s.push_back('k');
      i += 3;
    } else if (rest.starts_with("\xC5\xBF")) {
      s.push_back('s');
      i += 2;
    } else if (rest[0] == '\xC3' && rest.size() >= 2 && static_cast<unsigned char>(rest[1]) >= 0x80 &&
               static_cast<unsigned char>(rest[1]) <= 0x9E && rest[1] != '\x97') {
      s.push_back('\xC3');
      s.push_back(static_cast<char>(rest[1] + 0x20));
      i += 2;
    } else {
      s.push_back(lower_ascii(rest[0]));
      ++i;
    }
  }
  std::string_view v = s;
  while (!v.empty() && static_cast<unsigned char>(v.front()) <= 0x20) {
    v.remove_prefix(1);
  }
  while (!v.empty() && static_cast<unsigned char>(v.back()) <= 0x20) {
    v.remove_suffix(1);
  }
  return std::string(v);
}

// The domains other readers might make of one: ICU's UTS #46 (IDNA) ASCII and Unicode forms, in
// transitional and non-transitional processing, with its errors ignored; NFKC with case folding,
// as IDNA2003's nameprep maps (U+2024 ONE DOT LEADER becomes `.`); and each ACE label that
// decodes to plain ASCII (`xn--example-`) read as that ASCII, as a decoder that does not check.
std::vector<std::string> domain_readings(const std::string& domain) {
  std::vector<std::string> out;
  UErrorCode status = U_ZERO_ERROR;
  static const icu::Normalizer2* nfkc_cf = icu::Normalizer2::getNFKCCasefoldInstance(status);
  static const std::unique_ptr<icu::IDNA> transitional(icu::IDNA::createUTS46Instance(UIDNA_DEFAULT, status));
  static const std::unique_ptr<icu::IDNA> nontransitional(icu::IDNA::createUTS46Instance(
      UIDNA_NONTRANSITIONAL_TO_ASCII | UIDNA_NONTRANSITIONAL_TO_UNICODE, status));
  for (const icu::IDNA* idna : {transitional.get(), nontransitional.get()}) {
    for (const bool to_ascii : {true, false}) {
      std::string mapped;
      icu::StringByteSink<std::string> sink(&mapped);
      icu::IDNAInfo info;
      UErrorCode s = U_ZERO_ERROR;
      if (to_ascii) {
        idna->nameToASCII_UTF8(domain, sink, info, s);
      } else {
        idna->nameToUnicodeUTF8(domain, sink, info, s);
      }
      if (U_SUCCESS(s)) {
        out.push_back(std::move(mapped));
      }
    }
  }
  std::string folded;
  UErrorCode s = U_ZERO_ERROR;
  const icu::UnicodeString normal = nfkc_cf->normalize(icu::UnicodeString::fromUTF8(domain), s);
  if (U_SUCCESS(s)) {
    out.push_back(normal.toUTF8String(folded));
  }
  std::string lax;
  std::size_t from = 0;
  while (from <= domain.size()) {
    const std::size_t dot = std::min(domain.find('.', from), domain.size());
    std::string_view label = std::string_view(domain).substr(from, dot - from);
    if (label.starts_with("xn--") && label.ends_with('-') && label.size() > 5) {
      label = label.substr(4, label.size() - 5);
    }
    lax += std::string(label) + (dot < domain.size() ? "." : "");
    from = dot + 1;
  }
  out.push_back(std::move(lax));
  return out;
}

// Every address one raw value may be read as.
void add_readings(std::string_view raw, std::set<std::string>& out) {
  std::vector<std::string> candidates{std::string(raw)};
  if (const std::size_t nul = raw.find('\0'); nul != std::string_view::npos) {
    candidates.emplace_back(raw.substr(0, nul));
  }
  const std::size_t n = candidates.size();
  for (std::size_t i = 0; i < n; ++i) {
    const std::string c = candidates[i];
    const std::size_t open = c.rfind('<');
    const std::size_t close = open == std::string::npos ? std::string::npos : c.find('>', open);
    if (close != std::string::npos) {
      candidates.push_back(c.substr(open + 1, close - open - 1));
    }
  }
  // As a parser that follows RFC 5322 reads it: comments dropped, quotes, backslashes and the
  // brackets of an address literal taken away, and a group's name or a URI's scheme before `:`.
  const std::size_t m = candidates.size();
  for (std::size_t i = 0; i < m; ++i) {
    std::string rfc;
    int depth = 0;
    for (const char ch : candidates[i]) {
      depth += ch == '(' ? 1 : 0;
      if (depth == 0 && ch != '"' && ch != '\\' && ch != '[' && ch != ']') {
        rfc.push_back(ch);
      }
      depth -= ch == ')' && depth > 0 ? 1 : 0;
    }
    if (const std::size_t colon = rfc.rfind(':'); colon != std::string::npos) {
      rfc.erase(0, colon + 1);
    }
    candidates.push_back(std::move(rfc));
  }
  std::vector<std::string> listed;
  for (const std::string& c : candidates) {
    std::size_t from = 0;
    while (from <= c.size()) {
      const std::size_t sep = std::min(c.find_first_of(",;", from), c.size());
      listed.push_back(c.substr(from, sep - from));
      from = sep + 1;
    }
    listed.push_back(c);
  }
  for (const std::string& c : listed) {
    std::string norm = normalise(c);
    std::string squeezed;
    std::copy_if(norm.begin(), norm.end(), std::back_inserter(squeezed),
                 [](char ch) { return static_cast<unsigned char>(ch) > 0x20; });
    for (std::string* reading : {&norm, &squeezed}) {
      const std::size_t at = reading->rfind('@');
      if (at == std::string::npos) {
        continue;
      }
      out.insert(*reading);
      for (const std::string& domain : domain_readings(reading->substr(at + 1))) {
        out.insert(reading->substr(0, at + 1) + domain);
      }
      // Two `@`s: the address up to the second, as a reader that splits at the first takes it.
      if (const std::size_t first = reading->find('@'); first != at) {
        out.insert(reading->substr(0, reading->find('@', first + 1)));
      }
    }
  }
}

bool query_id_is_email(const lenient_target& t) {
  for (const auto& [name, value] : query_pairs(t.query)) {
    if (fold(trim_blanks(name)) == "idproperty" && fold(trim_blanks(value)) == "email") {
      return true;
    }
  }
  return false;
}

} // namespace

std::set<std::string> lenient_creates(const recorded_request& request) {
  std::set<std::string> created;
  const lenient_target target = read_target(request);
  const endpoint* e = find_endpoint(target);
  if (e == nullptr) {
    return created;
  }
  std::vector<std::string> values;
  // v1 createOrUpdate names the contact in its path: everything after `/email/`.
  if (target.loose_path.starts_with("/contacts/v1/contact/createorupdate/email/")) {
    std::string email;
    for (std::size_t k = 5; k < target.raw_segments.size(); ++k) {
      email += (k == 5 ? "" : "/") + target.raw_segments[k];
    }
    values.push_back(email);
  }
  std::string content_types;
  for (const std::string& value : header_values(request, "content-type")) {
    content_types += fold(value) + ";";
  }
  bool creates_contacts = false;
  bool makes_customer = false;
  for (const std::string& decoded : decodings(request)) {
    for (const std::string& text : texts(decoded)) {
      value_scan scan(query_id_is_email(target));
      if (json::sax_parse(text, &scan, json::input_format_t::json, true, true)) {
        values.insert(values.end(), scan.values.begin(), scan.values.end());
        creates_contacts = creates_contacts || scan.creates_contacts;
        makes_customer = makes_customer || scan.makes_customer;
      }
      if (e->kind == endpoint_kind::form || content_types.find("urlencoded") != std::string::npos) {
        scan_form(text, values, makes_customer);
      }
      if (e->kind == endpoint_kind::multipart || content_types.find("multipart") != std::string::npos) {
        scan_multipart(text, values);
      }
    }
  }
  // A servlet's getParameter() reads a form body's fields and the query's as one list.
  if (content_types.find("urlencoded") != std::string::npos) {
    scan_form(target.query, values, makes_customer);
  }
  for (const std::string& v : values) {
    add_readings(v, created);
  }
  if (e->kind == endpoint_kind::smtp && creates_contacts) {
    created.insert("<smtp-token-creates-contacts>");
  }
  if (makes_customer && e->kind != endpoint_kind::smtp) {
    created.insert("<customer>");
  }
  return created;
}

std::set<std::string> lenient_creates(const std::vector<recorded_request>& requests) {
  std::set<std::string> created;
  for (const recorded_request& r : requests) {
    created.merge(lenient_creates(r));
  }
  return created;
}

fake_response lenient_answer(const recorded_request& request) {
  const lenient_target target = read_target(request);
  const endpoint* e = find_endpoint(target);
  const json body = json::parse(request.body, nullptr, false);
  if (e != nullptr && body.is_object() && body.contains("inputs") && body["inputs"].is_array()) {
    json results = json::array();
    for (std::size_t i = 0; i < body["inputs"].size(); ++i) {
      results.push_back({{"id", std::to_string(100 + i)}, {"properties", json::object()}});
    }
    return json_response(e->batch_create ? 201 : 200, json{{"status", "COMPLETE"},
                                                           {"results", results},
                                                           {"startedAt", "2026-11-27T10:00:00Z"},
                                                           {"completedAt", "2026-11-27T10:00:01Z"}}
                                                          .dump());
  }
  if (e != nullptr && target.loose_path.starts_with("/events/")) {
    fake_response none;
    none.status = 204;
    return none;
  }
  return json_response(e != nullptr ? 201 : 200, R"({"id":"51","properties":{}})");
}

} // namespace hubgate::test
