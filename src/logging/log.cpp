#include "logging/log.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <array>
#include <charconv>

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

bool is_email_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("._%+-!#$&'*=^`{|}~").find(c) != std::string_view::npos;
}

// Query parameters that carry credentials in HubSpot's APIs (reference §4.4).
bool is_secret_parameter(std::string_view name) {
  std::string lower(name);
  for (char& c : lower) {
    c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return lower == "hapikey" || lower == "access_token" || lower == "token" || lower == "api_key";
}

} // namespace

std::string redact_emails(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    // An '@' (or its encoding %40) with an address-like run on both sides.
    std::size_t at_len = s[i] == '@' ? 1 : (s.substr(i, 3) == "%40" ? 3 : 0);
    if (at_len != 0 && i + at_len < s.size() && is_email_char(s[i + at_len])) {
      std::size_t start = out.size();
      while (start > 0 && is_email_char(out[start - 1]) && out[start - 1] != '=') {
        --start;
      }
      if (start < out.size()) {
        out.resize(start);
        out += "***";
      }
    }
    out += s[i];
    ++i;
  }
  return out;
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
  auto q = target.find('?');
  std::string out = redact_emails(target.substr(0, q));
  if (q == std::string_view::npos) {
    return out;
  }
  std::string_view query = target.substr(q + 1);
  out += '?';
  bool first = true;
  while (true) {
    auto amp = query.find('&');
    std::string_view param = query.substr(0, amp);
    if (!first) {
      out += '&';
    }
    first = false;
    auto eq = param.find('=');
    if (eq != std::string_view::npos && is_secret_parameter(param.substr(0, eq))) {
      out += param.substr(0, eq);
      out += "=REDACTED";
    } else {
      out += redact_emails(param);
    }
    if (amp == std::string_view::npos) {
      break;
    }
    query = query.substr(amp + 1);
  }
  return out;
}

} // namespace hubgate::logging
