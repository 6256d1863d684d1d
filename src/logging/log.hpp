#pragma once
// Structured log lines over spdlog: a message plus key/value fields, rendered as `key=value` text
// or as one JSON object per line (--log-format). Lines are written by a background thread so that
// logging never blocks an I/O thread (line_sink.hpp); when its reader stops, new lines are dropped
// and counted.
// Secrets never reach a field: callers pass targets through redact_target().

#include <cstdint>
#include <exception>
#include <initializer_list>
#include <string>
#include <string_view>

#include "cli/options.hpp"

namespace hubgate::logging {

enum class level { debug, info, warn, error };

struct field {
  field(std::string_view k, std::string_view v) : key(k), text(v) {}
  field(std::string_view k, const std::string& v) : key(k), text(v) {}
  field(std::string_view k, const char* v) : key(k), text(v) {}
  field(std::string_view k, std::uint64_t v) : key(k), number(v), is_number(true) {}
  field(std::string_view k, std::int64_t v) : key(k), number(static_cast<std::uint64_t>(v)), is_number(true) {
    negative = v < 0;
    if (negative) {
      number = static_cast<std::uint64_t>(-(v + 1)) + 1;
    }
  }
  field(std::string_view k, unsigned v) : field(k, static_cast<std::uint64_t>(v)) {}
  field(std::string_view k, int v) : field(k, static_cast<std::int64_t>(v)) {}

  std::string_view key;
  std::string_view text;
  std::uint64_t number = 0;
  bool is_number = false;
  bool negative = false;
};

// Sets up the process-wide logger. Call once, before any thread logs.
void init(cli::log_format format, std::string_view min_level);
// Writes what is queued; call before exit.
void flush();

bool enabled(level l);
void write(level l, std::string_view message, std::initializer_list<field> fields = {});

inline void debug(std::string_view m, std::initializer_list<field> f = {}) { write(level::debug, m, f); }
inline void info(std::string_view m, std::initializer_list<field> f = {}) { write(level::info, m, f); }
inline void warn(std::string_view m, std::initializer_list<field> f = {}) { write(level::warn, m, f); }
inline void error(std::string_view m, std::initializer_list<field> f = {}) { write(level::error, m, f); }

// Logs the exception in `e` (if any) as an error line `message reason=...`. With a literal
// message, log_uncaught(message) is a co_spawn completion handler that does it, so that an
// exception ending a coroutine is reported rather than lost.
void log_exception(std::string_view message, const std::exception_ptr& e);
inline auto log_uncaught(std::string_view message) {
  return [message](const std::exception_ptr& e) { log_exception(message, e); };
}

// Renders one line's message and fields (without time and level) in the given format.
std::string render(cli::log_format format, std::string_view message, std::initializer_list<field> fields);

// A request target fit for a log line, so that neither tokens nor contacts' addresses reach the
// log: the value of each credential parameter (`hapikey`, `access_token`, `token`, `api_key`,
// `refresh_token`, `client_secret`, `code`, or one of these with `[]`), in the query or as a path
// segment's `;parameter`, replaced by `REDACTED` (names compared as a server reads them:
// `h%61pikey` too; escaped delimiters, `%3F` `%3B` `%26` `%3D` at any depth, read as the ones
// they decode to); the segment after `access-tokens` or `refresh-tokens` (OAuth token
// information, /oauth/v1/access-tokens/<token>) replaced by `REDACTED`; and, before each at-sign
// (`@`, `%40`, `%25%34%30`, `＠`... as in redact_emails, at any depth of escaping), whatever the
// path segment or query value holds replaced by `***`. Where unsure, it redacts more.
std::string redact_target(std::string_view target);

// Free text fit for a log line (the access log's detail=): the local part of anything that looks
// like an email address replaced by `***`, the domain kept. The at-sign may be `@`, `%40`,
// `%2540`, `%25%34%30` (escaped at any depth, any of its characters) or the fullwidth `＠` (raw or
// escaped); the local part may hold non-ASCII letters, `(comments)` or be "quoted". Defence in
// depth: hubgate's own reasons never quote an address.
std::string redact_emails(std::string_view text);

// False when redact_emails(text) would surely return `text` unchanged: a cheap test that spares
// the copy.
bool may_hold_email(std::string_view text) noexcept;

} // namespace hubgate::logging
