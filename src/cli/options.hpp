#pragma once
// Command-line and environment parsing for `hubgate serve` and the other subcommands. Pure: it
// turns argv and an environment lookup into values or a one-line error, so tests drive it directly.

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace hubgate::cli {

// An https:// origin hubgate forwards to. Only https: upstream TLS is always verified.
struct upstream_url {
  std::string host; // DNS name or IP literal (without brackets)
  std::string port; // "443" unless given
  // The Host header value: host, plus ":port" when the port is not 443.
  std::string host_header() const;
};

enum class log_format { text, json };

struct serve_options {
  std::string listen_host = "127.0.0.1";
  std::string listen_port = "8080";
  upstream_url upstream{"api.hubapi.com", "443"};
  upstream_url forms_upstream{"api.hsforms.com", "443"};
  std::optional<std::string> ca_file; // nullopt: the system trust store
  unsigned threads = 0;               // 0: one per core
  log_format format = log_format::text;
  std::string log_level = "info";
  bool access_log = true;
  std::string rules_file = "config/rules.yaml";

  std::size_t max_body_bytes = 16u * 1024 * 1024;
  // Request bodies are read whole before they are decided: what all connections together may hold
  // at once, so that many large bodies cannot take all memory.
  std::size_t max_body_memory = 256u * 1024 * 1024;
  std::chrono::milliseconds client_header_timeout{10'000};
  std::chrono::milliseconds client_body_timeout{30'000};
  std::chrono::milliseconds client_idle_timeout{60'000};
  std::chrono::milliseconds upstream_connect_timeout{5'000};
  std::chrono::milliseconds upstream_response_timeout{60'000};
  std::chrono::milliseconds upstream_idle_timeout{30'000};
  std::size_t upstream_pool_size = 64; // idle keep-alive connections kept per upstream
  std::size_t max_connections = 0;     // client connections open at once; 0: from the open-file limit
  std::chrono::milliseconds drain_timeout{20'000};

  bool admin_enabled = true; // --admin-listen off: no admin listener
  std::string admin_host = "127.0.0.1";
  std::string admin_port = "9090";
  // Host names the admin listener answers besides IP addresses and names without a dot (lower
  // case): a guard against DNS rebinding (admin/admin_server.hpp).
  std::vector<std::string> admin_hosts;
  std::string audit;       // empty: no audit trail; "-" or "stdout": standard output; else a file
  std::string audit_key;   // HUBGATE_AUDIT_KEY, environment only (a secret gets no flag)
  bool watch_rules = true; // reload the rules file when it changes (SIGHUP reloads regardless)
};

struct help_request {};
struct version_request {};
struct serve_command {
  serve_options options;
};
// A bad command line: print `message` on one line and exit 2.
struct usage_error {
  std::string message;
  // 2, as for any bad flag; 1 for a healthcheck the container's own settings make impossible
  // (Docker reserves a HEALTHCHECK's 2, and the check has failed all the same).
  int exit_code = 2;
};
// `hubgate check FILE`: validate a rules file.
struct check_command {
  std::string file;
};
// `hubgate test FILE`: run the `tests:` of a rules file.
struct test_command {
  std::string file;
};
// `hubgate explain FILE --method M --path P [--body FILE] [--header 'Name: value']...`: how the
// rules decide one request.
struct explain_command {
  std::string file;
  std::string method;
  std::string path; // the request target as a client sends it: path, optional ?query
  std::optional<std::string> body_file;
  std::vector<std::pair<std::string, std::string>> headers; // in command-line order
  std::optional<std::string> client; // the request as this client (auth: clients) makes it
};

// `hubgate healthcheck [--admin-listen IP:PORT] [--timeout DURATION]`: GET /healthz from the admin
// listener (the address serve's --admin-listen / HUBGATE_ADMIN_LISTEN gives it).
struct healthcheck_command {
  std::string host = "127.0.0.1"; // where to connect: a wildcard listen address becomes loopback
  std::string port = "9090";
  std::chrono::milliseconds timeout{2'000}; // for the whole exchange, connect included
};

// `hubgate catalog`: the HubSpot calls hubgate decides, by the names rules give them.
struct catalog_command {};

using command = std::variant<help_request, version_request, serve_command, usage_error, check_command, test_command,
                             explain_command, healthcheck_command, catalog_command>;

// Looks an environment variable up; tests pass a map, main passes getenv.
using env_lookup = std::function<std::optional<std::string>(std::string_view)>;

command parse_command_line(const std::vector<std::string_view>& args, const env_lookup& env);

std::string help_text();

// Parsers shared with config files: "250ms", "10s", "2m"; "16MiB", "512k", "1000".
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);
std::optional<std::size_t> parse_byte_size(std::string_view text);
std::optional<upstream_url> parse_upstream_url(std::string_view text, std::string& error);

} // namespace hubgate::cli
