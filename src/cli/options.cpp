#include "cli/options.hpp"

#include "hubgate/hubspot/text.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <charconv>
#include <limits>

namespace hubgate::cli {

namespace {

std::optional<std::uint64_t> parse_unsigned(std::string_view text) {
  std::uint64_t value = 0;
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc{} || ptr != end || text.empty()) {
    return std::nullopt;
  }
  return value;
}

// A flag's value as an error shows it (on stderr, in a container's log): the user part of a URL
// (`https://user:pat-na1-...@host`, a HubSpot token often) becomes `***`, and so does its query
// (`?hapikey=...`). The user part is taken to run to the last at-sign, as a careless password may
// hold `@`, `/`, `?` or `#` unescaped, and from the start when the scheme is missing
// (`user:token@host`).
std::string shown(std::string_view value) {
  const auto scheme = value.find("://");
  const std::size_t user = scheme != std::string_view::npos ? scheme + 3 : 0;
  const auto at = value.rfind('@');
  std::string out;
  std::string_view rest = value;
  if (at != std::string_view::npos && at >= user) {
    out = std::string(value.substr(0, user)) + "***";
    rest = value.substr(at);
  }
  const auto query = rest.find('?');
  out += rest.substr(0, query);
  if (query != std::string_view::npos) {
    out += "?***";
  }
  return out;
}

// Splits "host:port" and "[v6]:port".
bool parse_listen(std::string_view text, serve_options& out) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon + 1 == text.size()) {
    return false;
  }
  std::string_view host = text.substr(0, colon);
  std::string_view port = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  auto number = parse_unsigned(port);
  if (host.empty() || !number || *number > 65535) {
    return false;
  }
  // An IP address, as the listener binds it: a name would be looked up, and could mean another
  // address tomorrow (or several).
  const std::string host_text(host);
  in6_addr scratch{};
  if (inet_pton(AF_INET, host_text.c_str(), &scratch) != 1 && inet_pton(AF_INET6, host_text.c_str(), &scratch) != 1) {
    return false;
  }
  out.listen_host = std::string(host);
  out.listen_port = std::string(port);
  return true;
}

using setter = bool (*)(std::string_view, serve_options&, std::string&);

struct flag_spec {
  std::string_view flag;
  std::string_view env;
  std::string_view value_name;
  std::string_view help;
  setter set;
};

bool set_duration(std::string_view v, std::chrono::milliseconds& out, std::string& error) {
  auto d = parse_duration(v);
  if (!d) {
    error = "expected a duration like 500ms, 10s or 2m";
    return false;
  }
  out = *d;
  return true;
}

// A timeout that must leave time: zero would fail every request (or client) at once.
bool set_byte_size(std::string_view v, std::size_t& out, std::string& error) {
  const auto n = parse_byte_size(v);
  if (!n || *n == 0) {
    error = "expected a size like 16MiB, 512KiB or 1000";
    return false;
  }
  out = *n;
  return true;
}

bool set_positive_duration(std::string_view v, std::chrono::milliseconds& out, std::string& error) {
  if (!set_duration(v, out, error)) {
    return false;
  }
  if (out.count() <= 0) {
    error = "must be longer than 0";
    return false;
  }
  return true;
}

bool set_switch(std::string_view v, bool& out, std::string& error) {
  if (v != "on" && v != "off") {
    error = "expected on or off";
    return false;
  }
  out = v == "on";
  return true;
}

// The flags of `hubgate serve`. Each one is also settable by its environment variable (Docker);
// a flag on the command line wins over the environment.
const flag_spec serve_flags[] = {
    {"--listen", "HUBGATE_LISTEN", "IP:PORT", "address the proxy listens on (default 127.0.0.1:8080)",
     [](std::string_view v, serve_options& o, std::string& e) {
       if (!parse_listen(v, o)) {
         e = "expected IP:PORT (an IP address, such as 127.0.0.1, 0.0.0.0 or [::1])";
         return false;
       }
       return true;
     }},
    {"--upstream", "HUBGATE_UPSTREAM", "URL", "HubSpot API origin (default https://api.hubapi.com)",
     [](std::string_view v, serve_options& o, std::string& e) {
       auto u = parse_upstream_url(v, e);
       if (u) {
         o.upstream = *u;
       }
       return u.has_value();
     }},
    {"--forms-upstream", "HUBGATE_FORMS_UPSTREAM", "URL",
     "origin for /submissions/ and /uploads/form/ (default https://api.hsforms.com)",
     [](std::string_view v, serve_options& o, std::string& e) {
       auto u = parse_upstream_url(v, e);
       if (u) {
         o.forms_upstream = *u;
       }
       return u.has_value();
     }},
    {"--ca-file", "HUBGATE_CA_FILE", "PATH", "CA bundle to verify upstreams with (default: system trust store)",
     [](std::string_view v, serve_options& o, std::string&) {
       o.ca_file = std::string(v);
       return true;
     }},
    {"--threads", "HUBGATE_THREADS", "N", "I/O threads (default: number of cores)",
     [](std::string_view v, serve_options& o, std::string& e) {
       auto n = parse_unsigned(v);
       if (!n || *n == 0 || *n > 1024) {
         e = "expected a number from 1 to 1024";
         return false;
       }
       o.threads = static_cast<unsigned>(*n);
       return true;
     }},
    {"--log-format", "HUBGATE_LOG_FORMAT", "text|json", "log line format (default text)",
     [](std::string_view v, serve_options& o, std::string& e) {
       if (v == "text") {
         o.format = log_format::text;
       } else if (v == "json") {
         o.format = log_format::json;
       } else {
         e = "expected text or json";
         return false;
       }
       return true;
     }},
    {"--log-level", "HUBGATE_LOG_LEVEL", "LEVEL", "debug, info, warn or error (default info)",
     [](std::string_view v, serve_options& o, std::string& e) {
       // `warning` too: the log lines name that level so.
       if (v != "debug" && v != "info" && v != "warn" && v != "warning" && v != "error") {
         e = "expected debug, info, warn or error";
         return false;
       }
       o.log_level = v == "warning" ? "warn" : std::string(v);
       return true;
     }},
    {"--access-log", "HUBGATE_ACCESS_LOG", "on|off", "one log line per request (default on)",
     [](std::string_view v, serve_options& o, std::string& e) { return set_switch(v, o.access_log, e); }},
    {"--rules", "HUBGATE_RULES", "PATH", "rules file (default config/rules.yaml)",
     [](std::string_view v, serve_options& o, std::string&) {
       o.rules_file = std::string(v);
       return true;
     }},
    {"--max-body-size", "HUBGATE_MAX_BODY_SIZE", "BYTES", "largest request body, answered 413 above (default 16MiB)",
     [](std::string_view v, serve_options& o, std::string& e) { return set_byte_size(v, o.max_body_bytes, e); }},
    {"--max-body-memory", "HUBGATE_MAX_BODY_MEMORY", "BYTES",
     "request bodies held at once, all connections together, and the memory reading large JSON bodies takes; a body past it "
     "gets 503 (default 256MiB, or --max-body-size if larger)",
     [](std::string_view v, serve_options& o, std::string& e) { return set_byte_size(v, o.max_body_memory, e); }},
    {"--client-header-timeout", "HUBGATE_CLIENT_HEADER_TIMEOUT", "DURATION",
     "time a client has to send a request head once it starts (default 10s)",
     [](std::string_view v, serve_options& o, std::string& e) { return set_positive_duration(v, o.client_header_timeout, e); }},
    {"--client-body-timeout", "HUBGATE_CLIENT_BODY_TIMEOUT", "DURATION",
     "time a client has to send a request body (default 30s)",
     [](std::string_view v, serve_options& o, std::string& e) { return set_positive_duration(v, o.client_body_timeout, e); }},
    {"--client-idle-timeout", "HUBGATE_CLIENT_IDLE_TIMEOUT", "DURATION",
     "idle keep-alive client connections are closed after (default 60s)",
     [](std::string_view v, serve_options& o, std::string& e) { return set_positive_duration(v, o.client_idle_timeout, e); }},
    {"--upstream-connect-timeout", "HUBGATE_UPSTREAM_CONNECT_TIMEOUT", "DURATION",
     "connect and TLS handshake to an upstream, 502 after (default 5s)",
     [](std::string_view v, serve_options& o, std::string& e) {
       return set_positive_duration(v, o.upstream_connect_timeout, e);
     }},
    {"--upstream-response-timeout", "HUBGATE_UPSTREAM_RESPONSE_TIMEOUT", "DURATION",
     "wait for an upstream answer (and between its body reads), 504 after (default 60s)",
     [](std::string_view v, serve_options& o, std::string& e) {
       return set_positive_duration(v, o.upstream_response_timeout, e);
     }},
    {"--upstream-idle-timeout", "HUBGATE_UPSTREAM_IDLE_TIMEOUT", "DURATION",
     "pooled upstream connections idle longer are not reused (default 30s)",
     [](std::string_view v, serve_options& o, std::string& e) { return set_duration(v, o.upstream_idle_timeout, e); }},
    {"--upstream-pool-size", "HUBGATE_UPSTREAM_POOL_SIZE", "N",
     "idle keep-alive connections kept per upstream (default 64)",
     [](std::string_view v, serve_options& o, std::string& e) {
       auto n = parse_unsigned(v);
       if (!n || *n > 100000) {
         e = "expected a number from 0 to 100000";
         return false;
       }
       o.upstream_pool_size = static_cast<std::size_t>(*n);
       return true;
     }},
    {"--max-connections", "HUBGATE_MAX_CONNECTIONS", "N",
     "client connections open at once; at the limit a new one closes the one idle longest, or waits (default: half of the open-file limit less 64, at most 10000)",
     [](std::string_view v, serve_options& o, std::string& e) {
       auto n = parse_unsigned(v);
       if (!n || *n < 1 || *n > 1000000) {
         e = "expected a number from 1 to 1000000";
         return false;
       }
       o.max_connections = static_cast<std::size_t>(*n);
       return true;
     }},
    {"--drain-timeout", "HUBGATE_DRAIN_TIMEOUT", "DURATION",
     "on SIGTERM, how long in-flight requests may take to finish (default 20s)",
     [](std::string_view v, serve_options& o, std::string& e) { return set_duration(v, o.drain_timeout, e); }},
    {"--admin-listen", "HUBGATE_ADMIN_LISTEN", "IP:PORT|off",
     "address of /healthz, /readyz, /metrics, /rules and /clients, or off (default 127.0.0.1:9090)",
     [](std::string_view v, serve_options& o, std::string& e) {
       serve_options parsed;
       if (v == "off") {
         o.admin_enabled = false;
       } else if (parse_listen(v, parsed)) {
         o.admin_enabled = true;
         o.admin_host = std::move(parsed.listen_host);
         o.admin_port = std::move(parsed.listen_port);
       } else {
         e = "expected IP:PORT (an IP address, such as 127.0.0.1 or 0.0.0.0) or off";
         return false;
       }
       return true;
     }},
    {"--admin-hosts", "HUBGATE_ADMIN_HOSTS", "NAMES",
     "host names the admin listener answers, comma-separated, besides IP addresses and names without a dot "
     "(default none: a page on another site cannot reach it by DNS rebinding)",
     [](std::string_view v, serve_options& o, std::string& e) {
       o.admin_hosts.clear();
       while (!v.empty()) {
         const std::size_t comma = v.find(',');
         std::string name(hubspot::trim_ows(v.substr(0, comma)));
         v = comma == std::string_view::npos ? std::string_view{} : v.substr(comma + 1);
         if (name.empty() || name.find_first_of(" /:@[]") != std::string::npos) {
           e = "expected host names separated by commas, such as hubgate-admin.monitoring.svc";
           return false;
         }
         std::transform(name.begin(), name.end(), name.begin(),
                        [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; });
         o.admin_hosts.push_back(std::move(name));
       }
       return true;
     }},
    {"--audit", "HUBGATE_AUDIT", "PATH|stdout|off",
     "audit trail of contact-creating requests, as JSON lines (default off; key: HUBGATE_AUDIT_KEY)",
     [](std::string_view v, serve_options& o, std::string& e) {
       if (v.empty()) {
         e = "expected a file, stdout or off";
         return false;
       }
       o.audit = v == "off" ? std::string() : std::string(v);
       return true;
     }},
    {"--watch-rules", "HUBGATE_WATCH_RULES", "on|off",
     "reload the rules file when it changes (default on; SIGHUP always reloads)",
     [](std::string_view v, serve_options& o, std::string& e) { return set_switch(v, o.watch_rules, e); }},
};

const flag_spec* find_flag(std::string_view name) {
  for (const auto& f : serve_flags) {
    if (f.flag == name) {
      return &f;
    }
  }
  return nullptr;
}

command parse_serve(const std::vector<std::string_view>& args, std::size_t first, const env_lookup& env) {
  serve_options options;
  if (auto key = env("HUBGATE_AUDIT_KEY")) {
    options.audit_key = std::move(*key);
  }
  // The environment first, so that flags override it: a variable whose flag is given is not read
  // (a bad value there is no error when the flag replaces it).
  const auto flag_given = [&](std::string_view flag) {
    for (std::size_t i = first; i < args.size(); ++i) {
      if (args[i] == flag || (args[i].starts_with(flag) && args[i].size() > flag.size() && args[i][flag.size()] == '=')) {
        return true;
      }
    }
    return false;
  };
  if (flag_given("--help") || flag_given("-h")) {
    return help_request{}; // whatever the environment holds
  }
  for (const auto& f : serve_flags) {
    if (flag_given(f.flag)) {
      continue;
    }
    if (auto value = env(f.env)) {
      std::string error;
      if (!f.set(*value, options, error)) {
        return usage_error{std::string(f.env) + "='" + shown(*value) + "': " + error};
      }
    }
  }
  for (std::size_t i = first; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (arg == "--help" || arg == "-h") {
      return help_request{};
    }
    std::string_view name = arg;
    std::optional<std::string_view> value;
    if (auto eq = arg.find('='); arg.starts_with("--") && eq != std::string_view::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    }
    const flag_spec* f = find_flag(name);
    if (f == nullptr) {
      return usage_error{"unknown flag '" + std::string(name) + "' (see hubgate --help)"};
    }
    if (!value) {
      if (i + 1 >= args.size()) {
        return usage_error{"flag " + std::string(name) + " needs a value " + std::string(f->value_name)};
      }
      value = args[++i];
    }
    std::string error;
    if (!f->set(*value, options, error)) {
      return usage_error{std::string(name) + " '" + shown(*value) + "': " + error};
    }
  }
  // A larger --max-body-size alone raises the default to fit it: a deployment that set only that
  // keeps starting.
  if (!flag_given("--max-body-memory") && !env("HUBGATE_MAX_BODY_MEMORY")) {
    options.max_body_memory = std::max(options.max_body_memory, options.max_body_bytes);
  } else if (options.max_body_memory < options.max_body_bytes) {
    // Named as they were given: a flag, or its variable.
    const auto given_as = [&](std::string_view flag, const char* variable) {
      return flag_given(flag) || !env(variable) ? std::string(flag) : std::string(variable);
    };
    return usage_error{given_as("--max-body-memory", "HUBGATE_MAX_BODY_MEMORY") + " (" +
                       std::to_string(options.max_body_memory) + ") is less than " +
                       given_as("--max-body-size", "HUBGATE_MAX_BODY_SIZE") + " (" +
                       std::to_string(options.max_body_bytes) + "): the largest body allowed could never be held"};
  }
  return serve_command{std::move(options)};
}

// RFC 9110 token: what an HTTP method or a header name is made of.
bool is_token(std::string_view text) {
  constexpr std::string_view extra = "!#$%&'*+-.^_`|~";
  return !text.empty() && std::all_of(text.begin(), text.end(), [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           extra.find(c) != std::string_view::npos;
  });
}

// `check FILE` and `test FILE`: one rules file, nothing else.
template <class file_command>
command parse_file_command(const std::vector<std::string_view>& args, std::size_t first, std::string_view name) {
  file_command c;
  for (std::size_t i = first; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    if (arg == "--help" || arg == "-h") {
      return help_request{};
    }
    if (arg.starts_with("-")) {
      return usage_error{"unknown flag '" + std::string(arg) + "' (see hubgate --help)"};
    }
    if (!c.file.empty()) {
      return usage_error{"unexpected argument '" + std::string(arg) + "' (" + std::string(name) +
                         " takes one rules FILE)"};
    }
    c.file = std::string(arg);
  }
  if (c.file.empty()) {
    return usage_error{std::string(name) + " needs a rules FILE (see hubgate --help)"};
  }
  return c;
}

command parse_explain(const std::vector<std::string_view>& args, std::size_t first) {
  explain_command c;
  bool have_method = false;
  bool have_path = false;
  for (std::size_t i = first; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    if (arg == "--help" || arg == "-h") {
      return help_request{};
    }
    if (!arg.starts_with("-")) {
      if (!c.file.empty()) {
        return usage_error{"unexpected argument '" + std::string(arg) + "' (explain takes one rules FILE)"};
      }
      c.file = std::string(arg);
      continue;
    }
    std::string_view name = arg;
    std::optional<std::string_view> value;
    if (const auto eq = arg.find('='); eq != std::string_view::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    }
    if (name != "--method" && name != "--path" && name != "--body" && name != "--header" && name != "--client") {
      return usage_error{"unknown flag '" + std::string(name) + "' (see hubgate --help)"};
    }
    if (!value) {
      if (i + 1 >= args.size()) {
        return usage_error{"flag " + std::string(name) + " needs a value"};
      }
      value = args[++i];
    }
    const auto once = [&](bool& seen) {
      const bool first_time = !seen;
      seen = true;
      return first_time;
    };
    if (name == "--method") {
      if (!once(have_method)) {
        return usage_error{"--method given twice"};
      }
      if (!is_token(*value)) {
        return usage_error{"--method '" + std::string(*value) + "': expected an HTTP method like POST"};
      }
      c.method = std::string(*value);
    } else if (name == "--path") {
      if (!once(have_path)) {
        return usage_error{"--path given twice"};
      }
      if (value->empty()) {
        return usage_error{"--path: expected a request target like /crm/v3/objects/contacts"};
      }
      c.path = std::string(*value);
    } else if (name == "--client") {
      if (c.client) {
        return usage_error{"--client given twice"};
      }
      if (value->empty()) {
        return usage_error{"--client: expected a client NAME from the file's clients"};
      }
      c.client = std::string(*value);
    } else if (name == "--body") {
      if (c.body_file) {
        return usage_error{"--body given twice"};
      }
      if (value->empty()) {
        return usage_error{"--body: expected a FILE"};
      }
      c.body_file = std::string(*value);
    } else {
      const auto colon = value->find(':');
      const std::string_view header_name =
          colon == std::string_view::npos ? std::string_view{} : value->substr(0, colon);
      if (!is_token(header_name)) {
        // Not quoted: what was meant for a value (a token) may be all there is.
        return usage_error{"--header: expected 'Name: value', a field name then ':' (what was given is not shown, "
                           "as it may hold a secret)"};
      }
      c.headers.emplace_back(std::string(header_name), std::string(hubspot::trim_ows(value->substr(colon + 1))));
    }
  }
  if (c.file.empty()) {
    return usage_error{"explain needs a rules FILE (see hubgate --help)"};
  }
  if (!have_method) {
    return usage_error{"explain needs --method"};
  }
  if (!have_path) {
    return usage_error{"explain needs --path"};
  }
  return c;
}

// The admin address as serve reads it (flag over HUBGATE_ADMIN_LISTEN); a wildcard address is
// where serve listens, not where to connect, so it becomes loopback.
bool set_admin_address(std::string_view text, healthcheck_command& c) {
  serve_options parsed;
  if (!parse_listen(text, parsed) || parse_unsigned(parsed.listen_port) == 0U) {
    return false;
  }
  const std::string& host = parsed.listen_host;
  c.host = host == "0.0.0.0" ? "127.0.0.1" : host == "::" ? "::1" : host;
  c.port = parsed.listen_port;
  return true;
}

command parse_healthcheck(const std::vector<std::string_view>& args, std::size_t first, const env_lookup& env) {
  constexpr std::string_view address_error = ": expected IP:PORT with a port from 1 to 65535";
  healthcheck_command c;
  if (auto value = env("HUBGATE_ADMIN_LISTEN"); value && !set_admin_address(*value, c)) {
    return usage_error{"HUBGATE_ADMIN_LISTEN='" + shown(*value) + "'" +
                           (*value == "off" ? ": the admin listener is off, there is no /healthz to ask"
                                            : std::string(address_error)),
                       1};
  }
  for (std::size_t i = first; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    if (arg == "--help" || arg == "-h") {
      return help_request{};
    }
    const auto eq = arg.find('=');
    const std::string_view name = arg.substr(0, eq);
    if (name != "--admin-listen" && name != "--timeout") {
      return usage_error{"unknown flag '" + std::string(name) + "' (see hubgate --help)"};
    }
    if (eq == std::string_view::npos && i + 1 >= args.size()) {
      return usage_error{"flag " + std::string(name) + " needs a value"};
    }
    const std::string_view value = eq == std::string_view::npos ? args[++i] : arg.substr(eq + 1);
    if (name == "--admin-listen") {
      if (!set_admin_address(value, c)) {
        return usage_error{"--admin-listen '" + shown(value) + "'" + std::string(address_error)};
      }
    } else if (auto timeout = parse_duration(value); timeout && timeout->count() > 0) {
      c.timeout = *timeout;
    } else {
      return usage_error{"--timeout '" + shown(value) + "': expected a duration like 500ms or 2s"};
    }
  }
  return c;
}

} // namespace

std::string upstream_url::host_header() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return port == "443" ? h : h + ":" + port;
}

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
    ++digits;
  }
  auto number = parse_unsigned(text.substr(0, digits));
  if (!number || *number > 365ULL * 24 * 3600 * 1000) {
    return std::nullopt;
  }
  std::string_view unit = text.substr(digits);
  std::uint64_t factor = 0;
  if (unit == "ms") {
    factor = 1;
  } else if (unit == "s") {
    factor = 1000;
  } else if (unit == "m") {
    factor = 60'000;
  } else if (unit == "h") {
    factor = 3'600'000;
  } else {
    return std::nullopt;
  }
  return std::chrono::milliseconds(static_cast<std::chrono::milliseconds::rep>(*number * factor));
}

std::optional<std::size_t> parse_byte_size(std::string_view text) {
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
    ++digits;
  }
  auto number = parse_unsigned(text.substr(0, digits));
  if (!number) {
    return std::nullopt;
  }
  std::string_view unit = text.substr(digits);
  std::uint64_t factor = 0;
  if (unit.empty() || unit == "B") {
    factor = 1;
  } else if (unit == "k" || unit == "K" || unit == "KiB" || unit == "kB") {
    factor = 1024;
  } else if (unit == "M" || unit == "MiB" || unit == "MB") {
    factor = 1024 * 1024;
  } else if (unit == "G" || unit == "GiB" || unit == "GB") {
    factor = 1024ULL * 1024 * 1024;
  } else {
    return std::nullopt;
  }
  if (*number > std::numeric_limits<std::size_t>::max() / factor) {
    return std::nullopt;
  }
  return static_cast<std::size_t>(*number * factor);
}

std::optional<upstream_url> parse_upstream_url(std::string_view text, std::string& error) {
  constexpr std::string_view scheme = "https://";
  if (!text.starts_with(scheme)) {
    error = "expected an https:// URL (upstream TLS is always verified)";
    return std::nullopt;
  }
  std::string_view rest = text.substr(scheme.size());
  if (!rest.empty() && rest.back() == '/') {
    rest.remove_suffix(1);
  }
  if (rest.find_first_of("/?#@") != std::string_view::npos) {
    error = "expected https://HOST[:PORT] with no path, query or credentials";
    return std::nullopt;
  }
  upstream_url url{"", "443"};
  std::string_view host = rest;
  if (rest.starts_with('[')) {
    auto close = rest.find(']');
    if (close == std::string_view::npos) {
      error = "unterminated IPv6 address";
      return std::nullopt;
    }
    host = rest.substr(1, close - 1);
    rest = rest.substr(close + 1);
    if (!rest.empty() && !rest.starts_with(':')) {
      error = "expected :PORT after the IPv6 address";
      return std::nullopt;
    }
    if (!rest.empty()) {
      url.port = std::string(rest.substr(1));
    }
  } else if (auto colon = rest.find(':'); colon != std::string_view::npos) {
    host = rest.substr(0, colon);
    url.port = std::string(rest.substr(colon + 1));
  }
  auto port = parse_unsigned(url.port);
  if (host.empty() || !port || *port == 0 || *port > 65535) {
    error = "expected https://HOST[:PORT]";
    return std::nullopt;
  }
  url.host = std::string(host);
  return url;
}

command parse_command_line(const std::vector<std::string_view>& args, const env_lookup& env) {
  if (args.size() < 2) {
    return usage_error{"missing command (see hubgate --help)"};
  }
  std::string_view first = args[1];
  if (first == "--help" || first == "-h" || first == "help") {
    return help_request{};
  }
  if (first == "--version" || first == "-V" || first == "version") {
    return version_request{};
  }
  if (first == "serve") {
    return parse_serve(args, 2, env);
  }
  if (first == "check") {
    return parse_file_command<check_command>(args, 2, "check");
  }
  if (first == "test") {
    return parse_file_command<test_command>(args, 2, "test");
  }
  if (first == "explain") {
    return parse_explain(args, 2);
  }
  if (first == "healthcheck") {
    return parse_healthcheck(args, 2, env);
  }
  if (first == "catalog") {
    if (args.size() > 2) {
      return args[2] == "--help" || args[2] == "-h"
                 ? command{help_request{}}
                 : command{usage_error{"unexpected argument '" + std::string(args[2]) + "' (catalog takes none)"}};
    }
    return catalog_command{};
  }
  if (first.starts_with("-")) {
    return usage_error{"unknown flag '" + std::string(first) + "' (see hubgate --help)"};
  }
  return usage_error{"unknown command '" + std::string(first) + "' (see hubgate --help)"};
}

std::string help_text() {
  std::string text =
      "hubgate: a gate in front of HubSpot's API that decides, by rules in YAML, which calls that\n"
      "would create contacts may pass.\n"
      "\n"
      "Usage:\n"
      "  hubgate serve [FLAGS]     run the proxy\n"
      "  hubgate check FILE        validate a rules file: every error as FILE:LINE:COLUMN: message\n"
      "  hubgate test FILE         run the tests: of a rules file, one PASS or FAIL line each\n"
      "  hubgate explain FILE --method M --path P [--body FILE] [--header 'Name: value']... [--client NAME]\n"
      "                            show, as JSON, how the rules decide one request; without a\n"
      "                            Content-Type header, the one the operation takes is assumed\n"
      "  hubgate catalog           list the HubSpot calls hubgate decides: the names `operations:`\n"
      "                            takes, their kind, method and paths\n"
      "  hubgate healthcheck [--admin-listen IP:PORT] [--timeout DURATION]\n"
      "                            GET /healthz from a running hubgate's admin listener (default\n"
      "                            127.0.0.1:9090, or HUBGATE_ADMIN_LISTEN; 0.0.0.0 is reached on\n"
      "                            127.0.0.1) within the timeout (default 2s); exit 0 on 200, else 1\n"
      "  hubgate --version         print the version\n"
      "  hubgate --help            print this help\n"
      "\n"
      "Exit status: 0 success, 1 invalid rules or a failed test, 2 a bad command line.\n"
      "\n"
      "Flags of serve (each also read from the environment variable shown):\n";
  for (const auto& f : serve_flags) {
    std::string left = "  " + std::string(f.flag) + " " + std::string(f.value_name);
    left.resize(std::max<std::size_t>(left.size() + 1, 40), ' ');
    text += left + std::string(f.help) + "  [" + std::string(f.env) + "]\n";
  }
  text +=
      "\n"
      "HUBGATE_AUDIT_KEY (environment only): the key of the hash that replaces the local part of\n"
      "email addresses in the audit trail; without it, a random key per process.\n";
  return text;
}

} // namespace hubgate::cli
