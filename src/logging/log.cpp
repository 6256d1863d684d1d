#include "logging/log.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <utility>

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

using hubspot::read_url_byte;
using read_byte = hubspot::url_byte;

inline read_byte read_byte_at(std::string_view s, std::size_t i) { return read_url_byte(s, i); }

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

// Where the next byte that may start an at-sign (at_sign_length) is: text without one holds no
// address.
std::size_t find_at_sign_start(std::string_view s, std::size_t from) { return find_any<'@', '%', '\xEF'>(s, from); }

// The length of the at-sign that starts at s[i], or 0: `@`, or the fullwidth `＠` (U+FF20) or small
// `﹫` (U+FE6B), which Unicode normalisation (NFKC) turns into `@`; each raw or escaped (`%40`,
// `%2540`, `%ef%bc%a0`).
std::size_t at_sign_length(std::string_view s, std::size_t i) {
  const read_byte first = read_byte_at(s, i);
  if (first.byte == '@') {
    return first.length;
  }
  if (first.byte != 0xEF) {
    return 0;
  }
  const read_byte second = read_byte_at(s, i + first.length);
  const read_byte third = read_byte_at(s, i + first.length + second.length);
  const bool fullwidth = second.byte == 0xBC && third.byte == 0xA0;
  const bool small = second.byte == 0xB9 && third.byte == 0xAB;
  return fullwidth || small ? first.length + second.length + third.length : 0;
}

// A byte of an address's local part as written in a path, query or message: RFC 5322's atom
// characters, `%` (escapes), `(` `)` (comments), `\` (quoted pairs) and every non-ASCII byte
// (internationalised addresses, RFC 6531). Not `=` `/` `?` `&` `;` `,` or whitespace, which end
// the field or parameter before it, nor `"`, which quotes one (see redact_local_part).
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

// Appends `s` with the local part of each address in it (an at-sign between address-like
// text) replaced by `***`; the domain stays.
void append_redacting_emails(std::string& out, std::string_view s) {
  std::size_t i = 0;
  while (true) {
    // Text between bytes that may start an at-sign is copied as it is.
    const std::size_t next = std::min(find_at_sign_start(s, i), s.size());
    out += s.substr(i, next - i);
    if (next == s.size()) {
      return;
    }
    i = next;
    const std::size_t at = at_sign_length(s, i);
    if (at == 0) {
      out += s[i++];
      continue;
    }
    if (i + at < s.size() && is_email_char(s[i + at])) {
      redact_local_part(out);
    }
    out += s.substr(i, at);
    i += at;
  }
}

// A parameter or path segment's name as a forgiving server reads it (hubspot::read_lenient_name,
// as access control reads it), so that `H%41PIKEY` or `hapikey%C2%A0` do not pass for other names.
// The text lives in a buffer of the thread's, reused: this runs for every access-log line.
std::string_view read_name(std::string_view raw) {
  thread_local std::string scratch;
  return hubspot::read_lenient_name(raw, scratch);
}

// Parameters that carry credentials in HubSpot's APIs (reference §4.4), and the OAuth ones that
// /oauth/v1/token takes (client_secret, refresh_token, and code, the authorization code a token is
// bought with), which are as secret when a caller puts them in a query.
bool is_secret_parameter(std::string_view raw_name) {
  const std::string_view name = read_name(raw_name);
  return name == "hapikey" || name == "access_token" || name == "token" || name == "api_key" ||
         name == "refresh_token" || name == "client_secret" || name == "code";
}

// `/oauth/v1/access-tokens/<token>` and `/oauth/v1/refresh-tokens/<token>` (token information and
// deletion): the segment after one of these is a token.
bool is_token_collection(std::string_view raw_segment) {
  if (raw_segment.size() < std::string_view("access-tokens").size()) {
    return false; // decoding never lengthens a name: most segments are decided here
  }
  const std::string_view name = read_name(raw_segment);
  return name == "access-tokens" || name == "refresh-tokens";
}

bool is_dot_segment(std::string_view raw_segment) {
  const std::string_view name = read_name(raw_segment);
  return name == "." || name == "..";
}

// Appends the parameters `params` (`a=1&b=2;c=3`), each secret one's value replaced by
// `REDACTED`. Parameters are split on `&` and `;` (servlet containers take both), but a secret's
// value runs on to the first of `value_ends` (or the end): a server that splits on `&` alone reads
// `hapikey=A;B` as the key `A;B`.
void append_parameters(std::string& out, std::string_view params, std::string_view value_ends) {
  while (true) {
    auto end = find_any<'&', ';'>(params, 0);
    const std::string_view param = params.substr(0, end);
    const auto eq = param.find('=');
    if (eq != std::string_view::npos && is_secret_parameter(param.substr(0, eq))) {
      out += param.substr(0, eq + 1);
      out += "REDACTED";
      end = params.find_first_of(value_ends, eq);
    } else {
      append_redacting_emails(out, param);
    }
    if (end == std::string_view::npos) {
      return;
    }
    out += params[end];
    params.remove_prefix(end + 1);
  }
}

// Where the path segment that starts at `from` ends, and how long the separator there is: `/`, or
// `%2F` in any encoding, which a server that decodes the path also reads as one (classify.hpp).
std::pair<std::size_t, std::size_t> segment_end(std::string_view path, std::size_t from) {
  for (std::size_t i = from; i < path.size(); ++i) {
    if (path[i] == '/') {
      return {i, 1};
    }
    if (path[i] == '%') {
      const read_byte r = read_byte_at(path, i);
      if (r.byte == '/') {
        return {i, r.length};
      }
    }
  }
  return {path.size(), 0};
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
  std::string out;
  out.reserve(target.size() + 16);
  const auto q = target.find('?');
  const std::string_view path = target.substr(0, q);
  bool token_next = false;
  for (std::size_t start = 0; start <= path.size();) {
    const auto [end, separator] = segment_end(path, start);
    const std::string_view segment = path.substr(start, end - start);
    // Matrix parameters (`/contacts;hapikey=X/...`) are parameters like the query's.
    const auto semicolon = segment.find(';');
    // Every segment after the collection's name is redacted but dot segments: a server that
    // resolves them reads the token in `access-tokens/./T` or `access-tokens/x/../T`.
    if (token_next && !segment.empty() && !is_dot_segment(segment)) {
      out += "REDACTED";
    } else {
      append_redacting_emails(out, segment.substr(0, semicolon));
      if (semicolon != std::string_view::npos) {
        out += ';';
        append_parameters(out, segment.substr(semicolon + 1), {});
      }
      token_next = token_next || is_token_collection(segment.substr(0, semicolon));
    }
    out += path.substr(end, separator);
    start = end + (separator == 0 ? 1 : separator);
  }
  if (q != std::string_view::npos) {
    out += '?';
    append_parameters(out, target.substr(q + 1), "&");
  }
  return out;
}

} // namespace hubgate::logging
