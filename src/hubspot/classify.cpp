#include "hubgate/hubspot/classify.hpp"

#include "hubgate/hubspot/catalog.hpp"
#include "hubgate/hubspot/text.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <vector>

namespace hubgate::hubspot {

namespace {

// Inline storage for the common case, a heap vector beyond it: classification must not allocate
// for ordinary paths.
template <class T, std::size_t N> class small_vector {
public:
  void push_back(T value) {
    if (!spilled_ && size_ < N) {
      inline_[size_++] = value;
      return;
    }
    if (!spilled_) {
      heap_.assign(inline_.begin(), inline_.begin() + static_cast<std::ptrdiff_t>(size_));
      spilled_ = true;
    }
    heap_.push_back(value);
    ++size_;
  }
  void pop_back() {
    --size_;
    if (spilled_) {
      heap_.pop_back();
    }
  }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const T& operator[](std::size_t i) const { return spilled_ ? heap_[i] : inline_[i]; }

private:
  std::array<T, N> inline_{};
  std::vector<T> heap_;
  std::size_t size_ = 0;
  bool spilled_ = false;
};

using segment_list = small_vector<std::string_view, 24>;

// A scratch buffer for decoded path bytes: on the stack for ordinary paths.
class scratch {
public:
  explicit scratch(std::size_t size) {
    if (size > inline_.size()) {
      heap_ = std::make_unique<char[]>(size);
    }
  }
  char* data() { return heap_ ? heap_.get() : inline_.data(); }

private:
  std::array<char, 512> inline_;
  std::unique_ptr<char[]> heap_;
};

struct target_parts {
  std::string_view path;
  std::string_view query;
  bool has_query = false;
};

constexpr bool is_control(unsigned char b) { return b < 0x20 || b == 0x7F; }

// Bytes the target scan must look at; everything else is skipped in one comparison.
enum byte_class : std::uint8_t { plain = 0, refused = 1, question = 2, backslash = 3, percent = 4 };

constexpr std::array<std::uint8_t, 256> make_byte_classes() {
  std::array<std::uint8_t, 256> table{};
  for (unsigned b = 0; b < 256; ++b) {
    table[b] = is_control(static_cast<unsigned char>(b)) || b == ' ' || b == '#' ? refused : plain;
  }
  table['?'] = question;
  table['\\'] = backslash;
  table['%'] = percent;
  return table;
}
constexpr std::array<std::uint8_t, 256> byte_classes = make_byte_classes();

const char* check_escape(std::string_view path, std::size_t i) {
  if (i + 2 >= path.size() || hex_value(path[i + 1]) < 0 || hex_value(path[i + 2]) < 0) {
    return "invalid percent-encoding in the request path";
  }
  if (is_control(static_cast<unsigned char>(hex_value(path[i + 1]) * 16 + hex_value(path[i + 2])))) {
    return "encoded control character in the request path";
  }
  return nullptr;
}

// Splits the target and validates it in one pass: refused bytes anywhere, a backslash or a
// malformed escape in the path.
const char* split_target(std::string_view target, target_parts& out) {
  if (target.empty()) {
    return "empty request target";
  }
  std::size_t path_start = 0;
  if (target.front() != '/') {
    if (target == "*") {
      return nullptr; // OPTIONS *: no path, nothing to classify
    }
    std::size_t scheme_end = 0;
    if (target.size() >= 7 && iequals_ascii(target.substr(0, 7), "http://")) {
      scheme_end = 7;
    } else if (target.size() >= 8 && iequals_ascii(target.substr(0, 8), "https://")) {
      scheme_end = 8;
    } else {
      return "request target is neither origin-form nor absolute-form";
    }
    path_start = std::min(target.find_first_of("/?", scheme_end), target.size());
    for (std::size_t i = 0; i < path_start; ++i) {
      if (byte_classes[static_cast<unsigned char>(target[i])] == refused) {
        return "control character, space or fragment in the request target";
      }
    }
  }
  std::size_t query_start = target.size();
  for (std::size_t i = path_start; i < target.size(); ++i) {
    const std::uint8_t cls = byte_classes[static_cast<unsigned char>(target[i])];
    if (cls == plain) {
      continue;
    }
    if (cls == refused) {
      return "control character, space or fragment in the request target";
    }
    if (query_start != target.size()) {
      continue; // the query is forwarded as sent; only refused bytes matter there
    }
    if (cls == question) {
      query_start = i;
    } else if (cls == backslash) {
      return "backslash in the request path";
    } else {
      if (const char* error = check_escape(target, i)) {
        return error;
      }
      i += 2;
    }
  }
  out.path = target.substr(path_start, query_start - path_start);
  if (query_start != target.size()) {
    out.query = target.substr(query_start + 1);
    out.has_query = true;
  }
  return nullptr;
}

void push_segment(segment_list& segments, std::string_view piece) {
  if (piece.empty() || piece == ".") {
    return;
  }
  if (piece == "..") {
    if (!segments.empty()) {
      segments.pop_back();
    }
    return;
  }
  segments.push_back(piece);
}

struct canonical_segments {
  segment_list segments;
  bool double_encoded = false;  // a decoded segment still holds a %XX escape
  bool decoded_control = false; // an escape decoded to a control byte (split_target refuses those)
};

// Reads a path as documented in classify.hpp, in one pass: `;` starts path parameters up to the
// next raw `/` (a `%3B` is data), a decoded `%2F` separates like `/`. A `%` that starts no escape
// is kept (split_target has refused those already on a first reading). `buffer` must hold
// raw.size() bytes; the segments point into it.
void canonicalise_path(std::string_view raw, char* buffer, canonical_segments& out) {
  std::size_t w = 0;
  std::size_t segment_start = 0;
  bool in_params = false;
  bool decoded_percent = false;
  const auto finish = [&] {
    push_segment(out.segments, std::string_view(buffer + segment_start, w - segment_start));
    segment_start = w;
  };
  for (std::size_t i = 0; i < raw.size(); ++i) {
    const char c = raw[i];
    if (c == '/') {
      finish();
      in_params = false;
    } else if (in_params) {
      continue;
    } else if (c == ';') {
      in_params = true;
    } else if (c == '%' && i + 2 < raw.size() && hex_value(raw[i + 1]) >= 0 && hex_value(raw[i + 2]) >= 0) {
      const char d = static_cast<char>(hex_value(raw[i + 1]) * 16 + hex_value(raw[i + 2]));
      i += 2;
      out.decoded_control = out.decoded_control || is_control(static_cast<unsigned char>(d));
      if (d == '/') {
        finish();
      } else {
        decoded_percent = decoded_percent || d == '%';
        buffer[w++] = d;
      }
    } else {
      buffer[w++] = c;
    }
  }
  finish();
  if (decoded_percent) {
    for (std::size_t k = 0; k < out.segments.size() && !out.double_encoded; ++k) {
      out.double_encoded = has_percent_escape(out.segments[k]);
    }
  }
}

// --- routes compiled from the catalog's path patterns

enum class seg_kind : std::uint8_t { literal, object_type, date_version, capture, capture_tail, any_path };

struct seg_matcher {
  seg_kind kind = seg_kind::literal;
  std::string_view text; // literal spelling, or capture name
};

struct route {
  const operation* op = nullptr;
  std::vector<seg_matcher> segs;
  std::size_t tail = std::string_view::npos; // index of the capture_tail / any_path matcher
};

struct route_bucket {
  std::string_view first; // first literal segment shared by the bucket's routes
  std::vector<route> routes;
};

std::vector<route_bucket> build_routes() {
  std::vector<route_bucket> buckets;
  for (const operation& op : all_operations()) {
    for (const std::string_view pattern : op.paths) {
      route r;
      r.op = &op;
      std::size_t from = 1;
      while (from <= pattern.size()) {
        std::size_t slash = pattern.find('/', from);
        if (slash == std::string_view::npos) {
          slash = pattern.size();
        }
        const std::string_view piece = pattern.substr(from, slash - from);
        from = slash + 1;
        seg_matcher m{seg_kind::literal, piece};
        if (piece.starts_with('{')) {
          const std::string_view name = piece.substr(1, piece.size() - 2);
          if (name == "type") {
            m = {seg_kind::object_type, "object_type"};
          } else if (name == "date") {
            m = {seg_kind::date_version, "date_version"};
          } else if (name == "...") {
            m = {seg_kind::any_path, {}};
          } else if (name.ends_with('+')) {
            m = {seg_kind::capture_tail, name.substr(0, name.size() - 1)};
          } else {
            m = {seg_kind::capture, name};
          }
          if (m.kind == seg_kind::capture_tail || m.kind == seg_kind::any_path) {
            r.tail = r.segs.size();
          }
        }
        r.segs.push_back(m);
      }
      if (r.segs.empty()) {
        continue;
      }
      const std::string_view first = r.segs[0].text;
      auto it = std::find_if(buckets.begin(), buckets.end(), [&](const route_bucket& b) { return b.first == first; });
      if (it == buckets.end()) {
        buckets.push_back({first, {}});
        it = buckets.end() - 1;
      }
      it->routes.push_back(std::move(r));
    }
  }
  return buckets;
}

const std::vector<route_bucket>& routes() {
  static const std::vector<route_bucket> table = build_routes();
  return table;
}

bool is_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// YYYY-MM, optionally `-suffix` (letters/digits): any well-formed version, future ones included.
bool is_date_version(std::string_view s) {
  if (s.size() < 7 || !is_digits(s.substr(0, 4)) || s[4] != '-' || !is_digits(s.substr(5, 2))) {
    return false;
  }
  if (s.size() == 7) {
    return true;
  }
  const std::string_view suffix = s.substr(8);
  return s[7] == '-' && !suffix.empty() && suffix.size() <= 16 && std::all_of(suffix.begin(), suffix.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
         });
}

// The catalog spelling of a contact object type segment, or empty when it is not one.
std::string_view object_type_spelling(std::string_view seg) {
  if (equals_folded(seg, "contacts")) {
    return "contacts";
  }
  if (equals_folded(seg, "contact")) {
    return "contact";
  }
  if (is_contact_type_id(seg)) {
    return "0-1";
  }
  return {};
}

// A looser reading of a fixed segment, as a forgiving server might apply before matching: padding
// (spaces, Unicode's too, as Java's strip() takes them, control and zero-width characters, `+`)
// and trailing dots trimmed, one file suffix (`contacts.json`) cut. Only used to refuse such
// spellings (classify), never to forward them.
std::string_view loosen(std::string_view seg) {
  const auto trim = [](std::string_view s) {
    for (std::size_t before = s.size() + 1; before != s.size();) {
      before = s.size();
      s = trim_name_padding(s);
      while (!s.empty() && s.front() == '+') {
        s.remove_prefix(1);
      }
      while (!s.empty() && (s.back() == '+' || s.back() == '.')) {
        s.remove_suffix(1);
      }
    }
    return s;
  };
  seg = trim(seg);
  const std::size_t dot = seg.rfind('.');
  if (dot != std::string_view::npos && dot > 0 && seg.size() - dot - 1 <= 8 &&
      std::all_of(seg.begin() + static_cast<std::ptrdiff_t>(dot) + 1, seg.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
      })) {
    seg = trim(seg.substr(0, dot));
  }
  return seg;
}

// A version a lenient date parser would take: YYYY-M or YYYY-MM, then anything not a digit.
bool is_loose_date_version(std::string_view s) {
  if (s.size() < 6 || !is_digits(s.substr(0, 4)) || s[4] != '-' || !is_digits(s.substr(5, 1))) {
    return false;
  }
  const std::size_t month_end = s.size() > 6 && is_digits(s.substr(6, 1)) ? 7 : 6;
  return month_end == s.size() || !is_digits(s.substr(month_end, 1));
}

// `loose`: fixed segments are compared in their loosened reading (see loosen()).
bool segment_matches(const seg_matcher& m, std::string_view seg, bool loose) {
  switch (m.kind) {
    case seg_kind::literal: return equals_folded(loose ? loosen(seg) : seg, m.text);
    case seg_kind::object_type: return !object_type_spelling(loose ? loosen(seg) : seg).empty();
    case seg_kind::date_version: return loose ? is_loose_date_version(loosen(seg)) : is_date_version(seg);
    case seg_kind::capture:
    case seg_kind::capture_tail:
    case seg_kind::any_path: return true;
  }
  return false;
}

bool route_matches(const route& r, const segment_list& segs, bool loose) {
  const std::size_t n = segs.size();
  const std::size_t m = r.segs.size();
  if (r.tail == std::string_view::npos) {
    if (n != m) {
      return false;
    }
    for (std::size_t k = 0; k < n; ++k) {
      if (!segment_matches(r.segs[k], segs[k], loose)) {
        return false;
      }
    }
    return true;
  }
  const std::size_t prefix = r.tail;
  const std::size_t suffix = m - r.tail - 1;
  const std::size_t min_middle = r.segs[r.tail].kind == seg_kind::capture_tail ? 1 : 0;
  if (n < prefix + suffix + min_middle) {
    return false;
  }
  for (std::size_t k = 0; k < prefix; ++k) {
    if (!segment_matches(r.segs[k], segs[k], loose)) {
      return false;
    }
  }
  for (std::size_t j = 0; j < suffix; ++j) {
    if (!segment_matches(r.segs[prefix + 1 + j], segs[n - suffix + j], loose)) {
      return false;
    }
  }
  return true;
}

const route* find_route(const segment_list& segs, std::string_view method, bool loose = false) {
  if (segs.empty()) {
    return nullptr;
  }
  for (const route_bucket& bucket : routes()) {
    if (!equals_folded(loose ? loosen(segs[0]) : segs[0], bucket.first)) {
      continue;
    }
    for (const route& r : bucket.routes) {
      if (r.op->takes(method) && route_matches(r, segs, loose)) {
        return &r;
      }
    }
  }
  return nullptr;
}

// Whether the reading of a server that decodes until nothing is left to decode is a catalog path.
// `unreadable` when that reading decodes to a control byte or needs more than four rounds.
bool fully_decoded_matches(const segment_list& once, std::string_view method, bool& unreadable) {
  std::string path;
  for (std::size_t k = 0; k < once.size(); ++k) {
    path.push_back('/');
    path += once[k];
  }
  for (int round = 0; round < 4; ++round) {
    std::string buffer(path.size(), '\0');
    canonical_segments again;
    canonicalise_path(path, buffer.data(), again);
    if (again.decoded_control) {
      unreadable = true;
      return false;
    }
    if (!again.double_encoded) {
      return find_route(again.segments, method) != nullptr || find_route(again.segments, method, true) != nullptr;
    }
    path.clear();
    for (std::size_t k = 0; k < again.segments.size(); ++k) {
      path.push_back('/');
      path += again.segments[k];
    }
  }
  unreadable = true;
  return false;
}

std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

// Appends one matched segment in its forwarded spelling and records its capture.
void emit(const seg_matcher& m, std::string_view seg, classification& out) {
  out.canonical_path.push_back('/');
  switch (m.kind) {
    case seg_kind::literal: out.canonical_path += m.text; return;
    case seg_kind::object_type: {
      const std::string_view spelling = object_type_spelling(seg);
      out.canonical_path += spelling;
      out.params.push_back({m.text, std::string(spelling)});
      return;
    }
    case seg_kind::date_version: {
      std::string version = lower_ascii(seg);
      out.canonical_path += version;
      out.params.push_back({m.text, std::move(version)});
      return;
    }
    case seg_kind::capture:
    case seg_kind::capture_tail:
    case seg_kind::any_path:
      percent_encode_append(seg, out.canonical_path);
      if (m.kind != seg_kind::any_path) {
        out.params.push_back({m.text, std::string(seg)});
      }
      return;
  }
}

void build_canonical(const route& r, const segment_list& segs, classification& out) {
  if (r.tail == std::string_view::npos) {
    for (std::size_t k = 0; k < segs.size(); ++k) {
      emit(r.segs[k], segs[k], out);
    }
    return;
  }
  const std::size_t n = segs.size();
  const std::size_t suffix = r.segs.size() - r.tail - 1;
  for (std::size_t k = 0; k < r.tail; ++k) {
    emit(r.segs[k], segs[k], out);
  }
  const seg_matcher& tail = r.segs[r.tail];
  if (tail.kind == seg_kind::capture_tail) {
    // One value spread over several segments (an email holding `/`, sent raw or as %2F): forwarded
    // as a single segment with its slashes encoded.
    std::string joined;
    for (std::size_t k = r.tail; k < n - suffix; ++k) {
      if (k != r.tail) {
        joined.push_back('/');
      }
      joined += segs[k];
    }
    emit(tail, joined, out);
  } else {
    for (std::size_t k = r.tail; k < n - suffix; ++k) {
      emit(tail, segs[k], out);
    }
  }
  for (std::size_t j = 0; j < suffix; ++j) {
    emit(r.segs[r.tail + 1 + j], segs[n - suffix + j], out);
  }
}

// The `idProperty` query parameter of a batch upsert; conflicting repeats are an error. Parameters
// are split on `&` and `;` (servlet containers take both). A name that reads as `idProperty` only
// to a lenient server (another letter case, padding) counts only when it says `email`: a strict
// server takes no idProperty from it, and then an id that looks like an email is one.
const char* read_id_property(std::string_view query, classification& out) {
  std::optional<std::string> found;
  std::size_t from = 0;
  while (from <= query.size()) {
    std::size_t amp = query.find_first_of("&;", from);
    if (amp == std::string_view::npos) {
      amp = query.size();
    }
    const std::string_view pair = query.substr(from, amp - from);
    from = amp + 1;
    const std::size_t eq = pair.find('=');
    std::string name;
    if (!percent_decode(pair.substr(0, eq), name, true)) {
      return "invalid percent-encoding in the query";
    }
    if (!equals_folded(trim_name_padding(name), "idProperty")) { // a trimming server reads `idProperty%20` too
      continue;
    }
    std::string value;
    if (eq != std::string_view::npos && !percent_decode(pair.substr(eq + 1), value, true)) {
      return "invalid percent-encoding in the query";
    }
    if (name != "idProperty" && !equals_folded(trim_name_padding(value), "email")) {
      continue;
    }
    if (found && *found != value) {
      return "conflicting idProperty query parameters";
    }
    found = std::move(value);
  }
  if (found) {
    out.params.push_back({"id_property", std::move(*found)});
  }
  return nullptr;
}

// Appends to `out` every path route `r` writes with `c`'s captures: one per object type spelling.
// The date a call sent undated is spelled with in its dated spellings (path_spellings): one no
// rule names, so that a date pattern meets the call and a rule naming one date (a version an
// integration was moved to) does not.
constexpr std::string_view spelled_date = "0000-00";

void spell_route(const route& r, const classification& c, std::vector<std::string>& out) {
  std::vector<std::string> paths{std::string()};
  for (const seg_matcher& m : r.segs) {
    if (m.kind == seg_kind::any_path) {
      return; // segments nothing captured
    }
    if (m.kind == seg_kind::object_type) {
      std::vector<std::string> spelled;
      for (const std::string& p : paths) {
        for (const std::string_view type : {"contacts", "contact", "0-1"}) {
          spelled.push_back(p + "/" + std::string(type));
        }
      }
      paths = std::move(spelled);
      continue;
    }
    std::string piece = "/";
    if (m.kind == seg_kind::literal) {
      piece += m.text;
    } else if (m.kind == seg_kind::date_version && !c.param(m.text)) {
      // A call sent undated (v3) is the same call as its dated spellings: it is spelled with one
      // date, so that a rule written with a date pattern (`/crm/objects/[^/]+/contacts`) meets it.
      piece += spelled_date;
    } else if (const auto value = c.param(m.text)) {
      if (m.kind == seg_kind::date_version) {
        piece += *value;
      } else {
        percent_encode_append(*value, piece);
      }
    } else {
      return; // a capture this request did not make (another pattern's date, say)
    }
    for (std::string& p : paths) {
      p += piece;
    }
  }
  out.insert(out.end(), std::make_move_iterator(paths.begin()), std::make_move_iterator(paths.end()));
}

enum class method_case : std::uint8_t { exact, other_case, not_catalog };

// HTTP methods are case-sensitive, but a lenient server may upper-case `post`; such a request on a
// catalog path is refused rather than forwarded unchecked.
method_case read_method(std::string_view method, std::string_view& canonical) {
  for (const std::string_view known : {std::string_view("POST"), std::string_view("PUT")}) {
    if (method == known) {
      canonical = known;
      return method_case::exact;
    }
    if (iequals_ascii(method, known)) {
      canonical = known;
      return method_case::other_case;
    }
  }
  return method_case::not_catalog;
}

} // namespace

std::optional<std::string_view> classification::param(std::string_view name) const noexcept {
  for (const path_param& p : params) {
    if (p.name == name) {
      return std::string_view(p.value);
    }
  }
  return std::nullopt;
}

// The forms routes for a path with nothing to canonicalise: plain ASCII, no escapes, no empty,
// dot or `;param` segments. Most paths are such, and this skips the canonicaliser's copy.
std::optional<upstream_id> plain_path_upstream(std::string_view path) {
  for (std::size_t i = 0; i < path.size(); ++i) {
    const auto c = static_cast<unsigned char>(path[i]);
    if (c >= 0x80 || c == '%' || c == ';' || (c == '/' && i + 1 < path.size() && (path[i + 1] == '/' || path[i + 1] == '.'))) {
      return std::nullopt;
    }
  }
  auto under = [&](std::string_view prefix) {
    return path.size() > prefix.size() && iequals_ascii(path.substr(0, prefix.size()), prefix);
  };
  return under("/submissions/") || under("/uploads/form/") ? upstream_id::forms : upstream_id::api;
}

// Which host serves a path split from its target (upstream_for_path's rule).
upstream_id path_upstream(std::string_view path) {
  try {
    if (auto plain = plain_path_upstream(path)) {
      return *plain;
    }
    scratch buffer(path.size());
    canonical_segments canon;
    canonicalise_path(path, buffer.data(), canon);
    const segment_list& segs = canon.segments;
    if ((segs.size() >= 2 && equals_folded(segs[0], "submissions")) ||
        (segs.size() >= 3 && equals_folded(segs[0], "uploads") && equals_folded(segs[1], "form"))) {
      return upstream_id::forms;
    }
  } catch (const std::exception&) {
    return upstream_id::api;
  }
  return upstream_id::api;
}

classification classify(std::string_view method, std::string_view target) {
  classification result;
  try {
    target_parts parts;
    if (const char* error = split_target(target, parts)) {
      result.error = error;
      return result;
    }
    // Requests outside the catalog (most reads) need only their host: the target is split once.
    result.upstream = path_upstream(parts.path);
    std::string_view canonical_method;
    const method_case mcase = read_method(method, canonical_method);
    if (mcase == method_case::not_catalog) {
      return result;
    }
    scratch buffer(parts.path.size());
    canonical_segments once;
    canonicalise_path(parts.path, buffer.data(), once);
    const route* matched = find_route(once.segments, canonical_method);
    if (once.double_encoded) {
      bool unreadable = false;
      const bool matches_decoded = fully_decoded_matches(once.segments, canonical_method, unreadable);
      if (matched != nullptr || matches_decoded || unreadable) {
        result.error = "percent-encoded '%' in a contact-creating request path (double encoding)";
        return result;
      }
    }
    if (matched == nullptr) {
      // Integrity, path spellings: hubgate normalises (case, escapes, slashes, dot segments,
      // `;params`) and inspects; the looser spellings a forgiving server might still route here
      // (padding, trailing dots, `.json`, `2026-9`) it rejects, as it cannot know that HubSpot does.
      if (find_route(once.segments, canonical_method, true) != nullptr) {
        result.error = "a contact-creating path in a loose spelling (padding, trailing dot, file suffix or "
                       "odd version segment): send the plain path";
      }
      return result;
    }
    if (mcase == method_case::other_case) {
      result.error = "HTTP method must be upper-case on a contact-creating path";
      return result;
    }
    result.canonical_path.reserve(parts.path.size() + 16);
    build_canonical(*matched, once.segments, result);
    if (matched->op->shape == body_shape::crm_batch_upsert) {
      if (const char* error = read_id_property(parts.query, result)) {
        result.canonical_path.clear();
        result.params.clear();
        result.error = error;
        return result;
      }
    }
    result.forward_target = result.canonical_path;
    if (parts.has_query) {
      result.forward_target.push_back('?');
      result.forward_target += parts.query;
    }
    result.op = matched->op;
    result.upstream = matched->op->upstream;
  } catch (const std::exception&) {
    result = classification{};
    result.error = "out of memory while classifying the request";
  }
  return result;
}

upstream_id upstream_for_path(std::string_view target) {
  target_parts parts;
  return split_target(target, parts) == nullptr ? path_upstream(parts.path) : upstream_id::api;
}

canonical_target canonicalise(std::string_view target) {
  canonical_target result;
  try {
    target_parts parts;
    if (const char* error = split_target(target, parts)) {
      result.error = error;
      return result;
    }
    scratch buffer(parts.path.size());
    canonical_segments canon;
    canonicalise_path(parts.path, buffer.data(), canon);
    for (std::size_t k = 0; k < canon.segments.size(); ++k) {
      result.path.push_back('/');
      percent_encode_append(canon.segments[k], result.path);
    }
    if (result.path.empty()) {
      result.path = "/";
    }
  } catch (const std::exception&) {
    result = canonical_target{};
    result.error = "out of memory while reading the request target";
  }
  return result;
}

std::vector<std::string> path_spellings(const classification& c) {
  std::vector<std::string> out;
  if (c.op == nullptr) {
    return out;
  }
  for (const route_bucket& bucket : routes()) {
    for (const route& r : bucket.routes) {
      if (r.op == c.op) {
        spell_route(r, c, out);
      }
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  std::erase(out, c.canonical_path);
  return out;
}

} // namespace hubgate::hubspot
