#include "logging/log.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <tuple>
#include <utility>
#include <vector>

#include "hubgate/hubspot/text.hpp"
#include "logging/line_sink.hpp"

namespace hubgate::logging {

namespace {

using hubspot::append_json_string;

cli::log_format current_format = cli::log_format::text;
std::shared_ptr<spdlog::logger> logger;

spdlog::level::level_enum to_spdlog(level l) {
  switch (l) {
    case level::debug: return spdlog::level::debug;
    case level::info: return spdlog::level::info;
    case level::warn: return spdlog::level::warn;
    case level::error: return spdlog::level::err;
  }
  return spdlog::level::info;
}

// Text values are quoted when they hold spaces or quotes, so a line splits unambiguously.
void append_text_value(std::string& out, std::string_view s) {
  bool plain = !s.empty() && s.find_first_of(" \"=\t\r\n") == std::string_view::npos;
  if (plain) {
    for (char c : s) {
      auto u = static_cast<unsigned char>(c);
      out += (u < 0x20 || u == 0x7f) ? '?' : c;
    }
  } else {
    append_json_string(out, s);
  }
}

void append_number(std::string& out, const field& f) {
  std::array<char, 24> buf{};
  auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), f.number);
  (void)ec;
  if (f.negative) {
    out += '-';
  }
  out.append(buf.data(), end);
}

// Where the first of the bytes `set` is in `s` from `from`, or npos. string_view::find_first_of
// calls memchr for each byte, which cost most of redact_target's time.
template <char... set>
std::size_t find_any(std::string_view s, std::size_t from) {
  for (std::size_t i = from; i < s.size(); ++i) {
    if (((s[i] == set) || ...)) {
      return i;
    }
  }
  return std::string_view::npos;
}

// A text as the most forgiving server reads it: escapes decoded again and again until none is
// left, since a server, or a proxy in front of it, may decode a target any number of times, and
// any character of an escape may itself be escaped (`%25%34%30` is `%40` once decoded, `@` twice).
// Decoding is confluent (two escapes never overlap), so the bytes are decoded with a stack: a
// byte is pushed, and while the top three read `%XX` they become the byte they stand for, which
// may complete an escape below. Each byte remembers where the raw text it came from starts, so
// that what is found in the decoded text is redacted in the raw one. A text without `%`, the
// common target, is its own decoding: nothing is copied. The bytes live in buffers of the
// thread's, reused; one view at a time per thread.
class decoded_view {
 public:
  explicit decoded_view(std::string_view raw) : text_(raw) {
    if (raw.find('%') == std::string_view::npos) {
      return;
    }
    thread_local std::string text;
    thread_local std::vector<std::size_t> starts;
    text.resize(raw.size());
    starts.resize(raw.size() + 1);
    std::size_t n = 0;
    for (std::size_t i = 0; i < raw.size(); ++i) {
      text[n] = raw[i];
      starts[n++] = i;
      while (n >= 3 && text[n - 3] == '%') {
        const int high = hubspot::hex_value(text[n - 2]);
        const int low = hubspot::hex_value(text[n - 1]);
        if (high < 0 || low < 0) {
          break;
        }
        n -= 2;
        text[n - 1] = static_cast<char>(high * 16 + low);
      }
    }
    starts[n] = raw.size();
    text_ = std::string_view(text).substr(0, n);
    starts_ = starts.data();
  }

  std::string_view text() const { return text_; }
  // Where the decoded byte `k` (or the end, at text().size()) starts in the raw text.
  std::size_t raw(std::size_t k) const { return starts_ == nullptr ? k : starts_[k]; }
  // True when the decoded byte `k` was written as it is, not escaped.
  bool is_raw(std::size_t k) const { return raw(k + 1) - raw(k) == 1; }

 private:
  std::string_view text_;
  const std::size_t* starts_ = nullptr;
};

// Where the next byte that may start an at-sign (at_sign_length) is: text without one holds no
// address.
std::size_t find_at_sign_start(std::string_view s, std::size_t from) { return find_any<'@', '%', '\xEF'>(s, from); }

// The length of the at-sign that starts at the decoded `t[k]`, or 0: `@`, or the fullwidth `＠`
// (U+FF20) or small `﹫` (U+FE6B), which Unicode normalisation (NFKC) turns into `@`. Escaped at
// any depth once decoded (decoded_view): `%40`, `%2540`, `%25%34%30`, `%ef%bc%a0`...
std::size_t at_sign_length(std::string_view t, std::size_t k) {
  if (t[k] == '@') {
    return 1;
  }
  if (t[k] != '\xEF' || k + 2 >= t.size()) {
    return 0;
  }
  const bool fullwidth = t[k + 1] == '\xBC' && t[k + 2] == '\xA0';
  const bool small = t[k + 1] == '\xB9' && t[k + 2] == '\xAB';
  return fullwidth || small ? 3 : 0;
}

// Where the next at-sign in the decoded `t` from `k` is, and its length; {npos, 0} when none is.
std::pair<std::size_t, std::size_t> find_at_sign(std::string_view t, std::size_t k) {
  for (k = find_any<'@', '\xEF'>(t, k); k != std::string_view::npos; k = find_any<'@', '\xEF'>(t, k + 1)) {
    if (const std::size_t length = at_sign_length(t, k); length != 0) {
      return {k, length};
    }
  }
  return {std::string_view::npos, 0};
}

// A byte of an address's local part as written in free text: RFC 5322's atom characters, `%`
// (escapes), `(` `)` (comments), `\` (quoted pairs) and every non-ASCII byte (internationalised
// addresses, RFC 6531). Not `=` `/` `?` `&` `;` `,` or whitespace, which end the field or
// parameter before it in a message, nor `"`, which quotes one (see redact_local_part). `=` `/`
// `?` `&` are atext too: a target, where what ends a field is known, does not guess with this
// (redact_addresses).
bool is_email_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         static_cast<unsigned char>(c) >= 0x80 ||
         std::string_view("._%+-!#$'*^`{|}~()\\").find(c) != std::string_view::npos;
}

// Replaces by `***` the local part that ends `out`, just before an at-sign.
void redact_local_part(std::string& out) {
  std::size_t start = out.size();
  if (start >= 2 && out[start - 1] == '"') {
    // A quoted local part ("jo doe"@x.io, "jo\"x"@x.io) may hold spaces: it runs back to its
    // opening quote.
    std::size_t open = start - 1;
    do {
      open = open == 0 ? std::string::npos : out.find_last_of("\"=/?&;,\r\n", open - 1);
    } while (open != std::string::npos && open > 0 && out[open] == '"' && out[open - 1] == '\\');
    if (open != std::string::npos && out[open] == '"') {
      start = open;
    }
  }
  while (start > 0 && is_email_char(out[start - 1])) {
    --start;
  }
  if (start < out.size()) {
    out.resize(start);
    out += "***";
  }
}

// Appends the free text `s` with the local part of each address in it (an at-sign between
// address-like text) replaced by `***`; the domain stays.
void append_redacting_emails(std::string& out, std::string_view s) {
  const decoded_view decoded(s);
  const std::string_view t = decoded.text();
  std::size_t copied = 0;
  for (auto found = find_at_sign(t, 0); found.first != std::string_view::npos;
       found = find_at_sign(t, found.first + found.second)) {
    const std::size_t at = decoded.raw(found.first);
    const std::size_t after = decoded.raw(found.first + found.second);
    out += s.substr(copied, at - copied);
    if (after < s.size() && is_email_char(s[after])) {
      redact_local_part(out);
    }
    out += s.substr(at, after - at);
    copied = after;
  }
  out += s.substr(copied);
}

// A parameter or path segment's name, the decoded `t[begin, end)`, as a forgiving server reads it:
// as hubspot::read_lenient_name reads it (a raw `+` a space, ASCII lower-cased,
// trim_name_padding), after decoding at any depth. So `H%41PIKEY`, `h%2561pikey` or
// `hapikey%C2%A0` do not pass for other names: what access control (read_lenient_name) takes for
// `hapikey` the log does too. The text lives in a buffer of the thread's, reused: this runs for
// every access-log line.
std::string_view read_name(const decoded_view& decoded, std::size_t begin, std::size_t end) {
  thread_local std::string scratch;
  scratch.clear();
  const std::string_view t = decoded.text();
  for (std::size_t k = begin; k < end; ++k) {
    const char c = t[k] == '+' && decoded.is_raw(k) ? ' ' : t[k];
    scratch += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return hubspot::trim_name_padding(scratch);
}

// Parameters that carry credentials in HubSpot's APIs (reference §4.4), and the OAuth ones that
// /oauth/v1/token takes (client_secret, refresh_token, and code, the authorization code a token is
// bought with), which are as secret when a caller puts them in a query. `hapikey[]` (or
// `hapikey[0]`) is `hapikey` to a server that reads arrays as PHP or Rails do.
bool is_secret_parameter(const decoded_view& decoded, std::size_t begin, std::size_t end) {
  std::string_view name = read_name(decoded, begin, end);
  if (const auto bracket = name.find('['); bracket != std::string_view::npos) {
    name = hubspot::trim_name_padding(name.substr(0, bracket));
  }
  return name == "hapikey" || name == "access_token" || name == "token" || name == "api_key" ||
         name == "refresh_token" || name == "client_secret" || name == "code";
}

// `/oauth/v1/access-tokens/<token>` and `/oauth/v1/refresh-tokens/<token>` (token information and
// deletion): the segment after one of these is a token. Its name ends at its first `;`, escaped
// or not (matrix parameters).
bool is_token_collection(const decoded_view& decoded, std::size_t begin, std::size_t end) {
  end = std::min(end, find_any<';'>(decoded.text().substr(0, end), begin));
  if (end - begin < std::string_view("access-tokens").size()) {
    return false; // trimming never lengthens a name: most segments are decided here
  }
  const std::string_view name = read_name(decoded, begin, end);
  return name == "access-tokens" || name == "refresh-tokens";
}

bool is_dot_segment(const decoded_view& decoded, std::size_t begin, std::size_t end) {
  const std::string_view name = read_name(decoded, begin, end);
  return name == "." || name == "..";
}

// A raw range of a target to replace: by `REDACTED` (a credential) or `***` (a local part).
struct redaction {
  std::size_t begin;
  std::size_t end;
  bool secret;
};

// Where the first of the decoded bytes `set` that was written raw (not escaped) is from a position
// on, up to `to` (or `to`), for positions that only grow: a search from a position the last one
// passed over finds what it found, so each byte is looked at once however many values a target
// holds (`?hapikey=1%26hapikey=1%26...`).
template <char... set>
class raw_finder {
 public:
  raw_finder(const decoded_view& decoded, std::size_t to) : decoded_(decoded), to_(to) {}

  std::size_t from(std::size_t k) {
    if (k < searched_ || k > found_) {
      searched_ = k;
      const std::string_view t = decoded_.text().substr(0, to_);
      for (found_ = find_any<set...>(t, k); found_ != std::string_view::npos && !decoded_.is_raw(found_);
           found_ = find_any<set...>(t, found_ + 1)) {
      }
      found_ = std::min(found_, to_);
    }
    return found_;
  }

 private:
  const decoded_view& decoded_;
  std::size_t to_;
  std::size_t searched_ = std::string_view::npos;
  std::size_t found_ = 0;
};

// OAuth tokens in the path: every segment after the collection's name (is_token_collection) but
// dot segments, which a server that resolves them reads the token past (`access-tokens/./T`,
// `access-tokens/x/../T`). Segments end at `/`, escaped or not (`%2F`, `%252F`): a server that
// decodes the path reads one there too (classify.hpp).
void redact_path_tokens(const decoded_view& decoded, std::size_t path_end, std::vector<redaction>& found) {
  const std::string_view path = decoded.text().substr(0, path_end);
  bool token_next = false;
  for (std::size_t start = 0; start <= path.size();) {
    const std::size_t end = std::min(find_any<'/'>(path, start), path.size());
    if (!token_next) {
      token_next = is_token_collection(decoded, start, end);
    } else if (end > start && !is_dot_segment(decoded, start, end)) {
      found.push_back({decoded.raw(start), decoded.raw(end), true});
    }
    start = end + 1;
  }
}

// Secret parameters (is_secret_parameter): a name after `?`, `&` or `;` and before `=`. Escaped
// delimiters count as the ones they decode to (`contacts%3Fhapikey=T`, `hapikey%253DT`,
// `x=1%26hapikey%3DT`): a server or proxy that decodes before it splits reads them so. Parameters
// are split on `&` and `;` (servlet containers take both), but a value runs on to a raw delimiter,
// past escaped ones, which may be the value's own: in the query to the next `&` (a server that
// splits on `&` alone reads `hapikey=A;B` as the key `A;B`); in the path, a matrix parameter's
// (`/contacts;hapikey=X/...`) to the next `/`, and after a `?` escaped in the path, which a
// decoding server reads as the query's start, to the path's end.
void redact_secret_parameters(const decoded_view& decoded, std::size_t path_end, std::vector<redaction>& found) {
  const std::string_view t = decoded.text();
  const std::size_t path_query = find_any<'?'>(t.substr(0, path_end), 0);
  raw_finder<'&'> query_value_end(decoded, t.size());
  raw_finder<'/'> matrix_value_end(decoded, path_end);
  for (std::size_t k = find_any<'?', '&', ';'>(t, 0); k != std::string_view::npos;
       k = find_any<'?', '&', ';'>(t, k + 1)) {
    const bool in_path = k < path_end;
    const std::size_t name_end = in_path ? std::min(find_any<'=', '?', '&', ';', '/'>(t, k + 1), path_end)
                                         : std::min(find_any<'=', '?', '&', ';'>(t, k + 1), t.size());
    if (name_end == t.size() || t[name_end] != '=' || !is_secret_parameter(decoded, k + 1, name_end)) {
      continue;
    }
    const std::size_t value_end = !in_path          ? query_value_end.from(name_end + 1)
                                  : k >= path_query ? path_end
                                                    : matrix_value_end.from(name_end + 1);
    found.push_back({decoded.raw(name_end + 1), decoded.raw(value_end), true});
  }
}

// Local parts of addresses: before each at-sign (at_sign_length), whether a valid domain follows
// or not (`jo@/x`, `jo@@x.io`), all the field holds is redacted. `=` `&` `/` `?` are atext
// (RFC 5322), so a field is not cut where an address looks like it starts but where a server
// splits it: in the path at a raw `/`, not `%2F` (`tom%2Fjerry@x.io` is one address to a server
// that routes before it decodes), nor `;`; in the query at a raw `&` or `;`, not an escaped one
// (`x=1%26email=jo@x.io` is one parameter to most servers), the field being the value after the
// parameter's first `=` (`email=tom=jerry@x.io` is all value), escaped or not, or, for a
// parameter with no raw `=` (`tom%3Djerry@x.io`), all of it: its name may be the address. Past
// an at-sign, what runs to the next one in the field goes too: all before the last is local part
// (`"a@b"@x.io`).
void redact_addresses(const decoded_view& decoded, std::size_t path_end, std::vector<redaction>& found) {
  const std::string_view t = decoded.text();
  std::size_t at = 0;
  std::size_t length = 0;
  std::tie(at, length) = find_at_sign(t, 0);
  if (at == std::string_view::npos) {
    return;
  }
  // The field's start, its first escaped or raw `=` and whether it has a raw one, and where the
  // last at-sign in it ends.
  std::size_t field = 0;
  std::size_t first_eq = std::string_view::npos;
  bool raw_eq = false;
  std::size_t after_at = std::string_view::npos;
  for (std::size_t k = 0; at != std::string_view::npos; ++k) {
    if (k == at) {
      std::size_t start = field;
      if (after_at != std::string_view::npos) {
        start = after_at;
      } else if (k > path_end && raw_eq) {
        start = first_eq + 1;
      }
      if (start < at) {
        found.push_back({decoded.raw(start), decoded.raw(at), false});
      }
      after_at = at + length;
      k = after_at - 1;
      std::tie(at, length) = find_at_sign(t, after_at);
      continue;
    }
    const char c = t[k];
    // In the query a value runs to a raw `&`: `;` is atext (`jane;work@x.io`), and a value that
    // takes in a `;b=` beside its address is redacted more, never less.
    const bool field_ends = k < path_end ? c == '/' : (k == path_end || c == '&');
    if (field_ends && decoded.is_raw(k)) {
      field = k + 1;
      first_eq = std::string_view::npos;
      raw_eq = false;
      after_at = std::string_view::npos;
    } else if (c == '=' && k > path_end) {
      first_eq = std::min(first_eq, k);
      raw_eq = raw_eq || decoded.is_raw(k);
    }
  }
}

} // namespace

std::string redact_emails(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  append_redacting_emails(out, s);
  return out;
}

bool may_hold_email(std::string_view text) noexcept {
  return find_at_sign_start(text, 0) != std::string_view::npos;
}

void init(cli::log_format format, std::string_view min_level) {
  current_format = format;
  // Lines are written by line_sink's thread (see line_sink.hpp for why not spdlog's async logger);
  // 1 MiB pending, about 5,000 access-log lines, is far more than a writer falls behind by unless
  // its reader has stopped.
  auto sink = std::make_shared<line_sink>(STDOUT_FILENO, 1024 * 1024, [](std::uint64_t count) {
    return render(current_format, "log lines dropped: the log's reader fell behind", {{"count", count}});
  });
  logger = std::make_shared<spdlog::logger>("hubgate", std::move(sink));
  if (format == cli::log_format::json) {
    logger->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l",%v})", spdlog::pattern_time_type::utc);
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc);
  }
  logger->set_level(min_level == "debug"  ? spdlog::level::debug
                    : min_level == "warn" ? spdlog::level::warn
                    : min_level == "error" ? spdlog::level::err
                                           : spdlog::level::info);
  spdlog::set_default_logger(logger);
}

void flush() {
  if (logger) {
    logger->flush();
  }
}

bool enabled(level l) { return logger && logger->should_log(to_spdlog(l)); }

std::string render(cli::log_format format, std::string_view message, std::initializer_list<field> fields) {
  std::string line;
  line.reserve(128);
  if (format == cli::log_format::json) {
    line += "\"msg\":";
    append_json_string(line, message);
    for (const auto& f : fields) {
      if (!f.is_number && f.text.empty()) {
        continue; // an empty field says nothing
      }
      line += ',';
      append_json_string(line, f.key);
      line += ':';
      if (f.is_number) {
        append_number(line, f);
      } else {
        append_json_string(line, f.text);
      }
    }
  } else {
    line += message;
    for (const auto& f : fields) {
      if (!f.is_number && f.text.empty()) {
        continue;
      }
      line += ' ';
      line += f.key;
      line += '=';
      if (f.is_number) {
        append_number(line, f);
      } else {
        append_text_value(line, f.text);
      }
    }
  }
  return line;
}

void write(level l, std::string_view message, std::initializer_list<field> fields) {
  if (!enabled(l)) {
    return;
  }
  logger->log(to_spdlog(l), "{}", render(current_format, message, fields));
}

void log_exception(std::string_view message, const std::exception_ptr& e) {
  if (!e) {
    return;
  }
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    error(message, {{"reason", ex.what()}});
  } catch (...) {
    error(message, {{"reason", "an exception of unknown type"}});
  }
}

std::string redact_target(std::string_view target) {
  const decoded_view decoded(target);
  // The query starts at the first raw `?`: an escaped one is part of the path, as servers split.
  const std::size_t path_end = raw_finder<'?'>(decoded, decoded.text().size()).from(0);
  // Each pass below finds what to redact on its own; where what they find overlaps, the union
  // goes (a local part in a credential's value, `;token=jo@x.io`): a line may say less than it
  // could, never more.
  thread_local std::vector<redaction> found;
  found.clear();
  redact_path_tokens(decoded, path_end, found);
  redact_secret_parameters(decoded, path_end, found);
  redact_addresses(decoded, path_end, found);
  std::string out;
  out.reserve(target.size() + 16);
  std::sort(found.begin(), found.end(), [](const redaction& a, const redaction& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end > b.end;
  });
  std::size_t copied = 0;
  for (std::size_t i = 0; i < found.size();) {
    const std::size_t begin = found[i].begin;
    std::size_t end = found[i].end;
    bool secret = found[i].secret;
    for (++i; i < found.size() && found[i].begin < end; ++i) {
      end = std::max(end, found[i].end);
      secret = secret || found[i].secret;
    }
    out += target.substr(copied, begin - copied);
    out += secret ? "REDACTED" : "***";
    copied = end;
  }
  out += target.substr(copied);
  return out;
}

} // namespace hubgate::logging
