#include "cli/options.hpp"

#include <gtest/gtest.h>

#include <map>

namespace hubgate::cli {
namespace {

using namespace std::chrono_literals;

command parse(std::vector<std::string_view> args, std::map<std::string, std::string> env = {}) {
  args.insert(args.begin(), "hubgate");
  return parse_command_line(args, [&](std::string_view name) -> std::optional<std::string> {
    auto it = env.find(std::string(name));
    return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
  });
}

serve_options serve_of(const command& c) {
  EXPECT_TRUE(std::holds_alternative<serve_command>(c)) << (std::holds_alternative<usage_error>(c)
                                                               ? std::get<usage_error>(c).message
                                                               : "not serve");
  return std::holds_alternative<serve_command>(c) ? std::get<serve_command>(c).options : serve_options{};
}

std::string error_of(const command& c) {
  return std::holds_alternative<usage_error>(c) ? std::get<usage_error>(c).message : "(no error)";
}

TEST(options, defaults_are_hubspot_over_https_on_loopback) {
  auto o = serve_of(parse({"serve"}));
  EXPECT_EQ(o.listen_host, "127.0.0.1");
  EXPECT_EQ(o.listen_port, "8080");
  EXPECT_EQ(o.upstream.host, "api.hubapi.com");
  EXPECT_EQ(o.upstream.port, "443");
  EXPECT_EQ(o.upstream.host_header(), "api.hubapi.com");
  EXPECT_EQ(o.forms_upstream.host, "api.hsforms.com");
  EXPECT_FALSE(o.ca_file);
  EXPECT_EQ(o.threads, 0u);
  EXPECT_EQ(o.max_body_bytes, 16u * 1024 * 1024);
  EXPECT_EQ(o.format, log_format::text);
}

TEST(options, flags_in_both_spellings) {
  auto o = serve_of(parse({"serve", "--listen", "0.0.0.0:9000", "--upstream=https://localhost:8443", "--threads", "3",
                           "--log-format=json", "--ca-file", "/tmp/ca.pem", "--max-body-size", "2MiB",
                           "--upstream-response-timeout", "1500ms", "--forms-upstream", "https://[::1]:9443/"}));
  EXPECT_EQ(o.listen_host, "0.0.0.0");
  EXPECT_EQ(o.listen_port, "9000");
  EXPECT_EQ(o.upstream.host, "localhost");
  EXPECT_EQ(o.upstream.host_header(), "localhost:8443");
  EXPECT_EQ(o.forms_upstream.host, "::1");
  EXPECT_EQ(o.forms_upstream.host_header(), "[::1]:9443");
  EXPECT_EQ(o.threads, 3u);
  EXPECT_EQ(o.format, log_format::json);
  EXPECT_EQ(o.ca_file, std::optional<std::string>("/tmp/ca.pem"));
  EXPECT_EQ(o.max_body_bytes, 2u * 1024 * 1024);
  EXPECT_EQ(o.upstream_response_timeout, 1500ms);
}

TEST(options, environment_sets_and_flags_win) {
  auto o = serve_of(parse({"serve", "--threads", "4"},
                          {{"HUBGATE_LISTEN", "127.0.0.1:7000"}, {"HUBGATE_THREADS", "2"},
                           {"HUBGATE_UPSTREAM", "https://eu.example"}, {"HUBGATE_CA_FILE", "/ca"}}));
  EXPECT_EQ(o.listen_port, "7000");
  EXPECT_EQ(o.threads, 4u);
  EXPECT_EQ(o.upstream.host, "eu.example");
  EXPECT_EQ(o.ca_file, std::optional<std::string>("/ca"));
  EXPECT_EQ(error_of(parse({"serve"}, {{"HUBGATE_THREADS", "many"}})),
            "HUBGATE_THREADS='many': expected a number from 1 to 1024");
}

// The bodies held at once must fit the largest body allowed.
TEST(options, body_memory_holds_at_least_the_largest_body) {
  EXPECT_EQ(serve_of(parse({"serve"})).max_body_memory, 256u * 1024 * 1024);
  EXPECT_EQ(serve_of(parse({"serve", "--max-body-memory", "64MiB"})).max_body_memory, 64u * 1024 * 1024);
  EXPECT_EQ(error_of(parse({"serve", "--max-body-memory", "1MiB"})),
            "--max-body-memory (1048576) is less than --max-body-size (16777216): the largest body allowed could "
            "never be held");
  EXPECT_EQ(serve_of(parse({"serve", "--max-body-memory", "1MiB", "--max-body-size", "512KiB"})).max_body_memory,
            1024u * 1024);
  // A larger body size alone raises the default to fit it.
  EXPECT_EQ(serve_of(parse({"serve", "--max-body-size", "300MiB"})).max_body_memory, 300u * 1024 * 1024);
  EXPECT_EQ(serve_of(parse({"serve"}, {{"HUBGATE_MAX_BODY_SIZE", "512MiB"}})).max_body_memory, 512u * 1024 * 1024);
  // Named as given: a variable, not a flag nobody typed.
  EXPECT_EQ(error_of(parse({"serve", "--max-body-size", "2MiB"}, {{"HUBGATE_MAX_BODY_MEMORY", "1MiB"}})),
            "HUBGATE_MAX_BODY_MEMORY (1048576) is less than --max-body-size (2097152): the largest body allowed "
            "could never be held");
}

// The log names the level `warning`; the flag takes that word too.
TEST(options, log_level_takes_the_words_the_log_uses) {
  EXPECT_EQ(serve_of(parse({"serve", "--log-level", "warning"})).log_level, "warn");
  EXPECT_EQ(serve_of(parse({"serve", "--log-level", "warn"})).log_level, "warn");
  EXPECT_EQ(serve_of(parse({"serve"}, {{"HUBGATE_LOG_LEVEL", "error"}})).log_level, "error");
  EXPECT_EQ(error_of(parse({"serve", "--log-level", "loud"})), "--log-level 'loud': expected debug, info, warn or error");
}

TEST(options, bad_command_lines_are_one_line_errors) {
  EXPECT_EQ(error_of(parse({"serve", "--bogus"})), "unknown flag '--bogus' (see hubgate --help)");
  EXPECT_EQ(error_of(parse({"--bogus"})), "unknown flag '--bogus' (see hubgate --help)");
  EXPECT_EQ(error_of(parse({"frobnicate"})), "unknown command 'frobnicate' (see hubgate --help)");
  EXPECT_EQ(error_of(parse({})), "missing command (see hubgate --help)");
  EXPECT_EQ(error_of(parse({"serve", "--listen"})), "flag --listen needs a value IP:PORT");
  EXPECT_EQ(error_of(parse({"serve", "--listen", "8080"})),
            "--listen '8080': expected IP:PORT (an IP address, such as 127.0.0.1, 0.0.0.0 or [::1])");
  // A name, or no address at all, is a bad flag too.
  for (const std::string_view bad : {"localhost:8080", "999.1.1.1:8080", "[::g]:8080"}) {
    EXPECT_NE(error_of(parse({"serve", "--listen", bad})).find("expected IP:PORT"), std::string::npos) << bad;
  }
  EXPECT_EQ(serve_of(parse({"serve", "--listen", "[::1]:8080"})).listen_host, "::1");
  // A timeout of zero would fail every request.
  EXPECT_EQ(error_of(parse({"serve", "--upstream-response-timeout", "0ms"})),
            "--upstream-response-timeout '0ms': must be longer than 0");
  EXPECT_EQ(error_of(parse({"serve"}, {{"HUBGATE_UPSTREAM_CONNECT_TIMEOUT", "0s"}})),
            "HUBGATE_UPSTREAM_CONNECT_TIMEOUT='0s': must be longer than 0");
  // A flag replaces its variable, bad value and all.
  EXPECT_EQ(serve_of(parse({"serve", "--threads", "2"}, {{"HUBGATE_THREADS", "abc"}})).threads, 2u);
  EXPECT_EQ(serve_of(parse({"serve", "--threads=2"}, {{"HUBGATE_THREADS", "abc"}})).threads, 2u);
  EXPECT_EQ(error_of(parse({"serve", "--log-format", "xml"})), "--log-format 'xml': expected text or json");
  // Upstream TLS is always verified: there is no plain-HTTP upstream.
  EXPECT_NE(error_of(parse({"serve", "--upstream", "http://api.hubapi.com"})).find("https://"), std::string::npos);
  EXPECT_NE(error_of(parse({"serve", "--upstream", "https://api.hubapi.com/crm"})).find("no path"),
            std::string::npos);
  for (auto c : {parse({"serve", "--help"}), parse({"--help"}), parse({"-h"})}) {
    EXPECT_TRUE(std::holds_alternative<help_request>(c));
  }
  // Help is given whatever the environment holds.
  EXPECT_TRUE(std::holds_alternative<help_request>(parse({"serve", "--help"}, {{"HUBGATE_THREADS", "abc"}})));
  EXPECT_TRUE(std::holds_alternative<version_request>(parse({"--version"})));
}

// An upstream URL with credentials is refused, but the error goes to stderr and the container's
// log: it must name the value without the user and password (a HubSpot token, often).
TEST(options, a_bad_value_is_echoed_without_the_credentials_of_a_url) {
  EXPECT_EQ(error_of(parse({"serve"}, {{"HUBGATE_UPSTREAM", "https://hubgate:pat-na1-URLSECRET-1@api.hubapi.com"}})),
            "HUBGATE_UPSTREAM='https://***@api.hubapi.com': expected https://HOST[:PORT] with no path, query or "
            "credentials");
  EXPECT_EQ(error_of(parse({"serve", "--forms-upstream", "https://pat-na1-URLSECRET-2@api.hsforms.com/"})),
            "--forms-upstream 'https://***@api.hsforms.com/': expected https://HOST[:PORT] with no path, query or "
            "credentials");
  // The user part runs to the last at-sign: a password may hold `@`, `/` or `#` unescaped.
  for (const std::string_view bad : {"https://u:p@ss/w#rd@api.hubapi.com", "http://u:URLSECRET@api.hubapi.com",
                                     "u:URLSECRET@api.hubapi.com", "https://u:p@ss@"}) {
    const auto error = error_of(parse({"serve", "--upstream", bad}));
    EXPECT_EQ(error.find("URLSECRET"), std::string::npos) << error;
    EXPECT_EQ(error.find(":p"), std::string::npos) << error;
    EXPECT_NE(error.find("***@"), std::string::npos) << error;
  }
  EXPECT_EQ(error_of(parse({"serve", "--upstream", "http://u:p@ss@api.hubapi.com"})),
            "--upstream 'http://***@api.hubapi.com': expected an https:// URL (upstream TLS is always verified)");
  // A query may hold a token too.
  EXPECT_EQ(error_of(parse({"serve", "--upstream", "https://api.hubapi.com/?hapikey=URLSECRET"})),
            "--upstream 'https://api.hubapi.com/?***': expected https://HOST[:PORT] with no path, query or "
            "credentials");
  const auto error = error_of(parse({"serve", "--upstream", "https://u:p?URLSECRET@api.hubapi.com"}));
  EXPECT_EQ(error.find("URLSECRET"), std::string::npos) << error;
  // A value with no at-sign is shown as it is.
  EXPECT_EQ(error_of(parse({"serve", "--upstream", "http://api.hubapi.com"})),
            "--upstream 'http://api.hubapi.com': expected an https:// URL (upstream TLS is always verified)");
}

TEST(options, durations_and_sizes) {
  EXPECT_EQ(parse_duration("250ms"), 250ms);
  EXPECT_EQ(parse_duration("10s"), 10s);
  EXPECT_EQ(parse_duration("2m"), 120s);
  EXPECT_EQ(parse_duration("1h"), 3600s);
  EXPECT_FALSE(parse_duration("10"));
  EXPECT_FALSE(parse_duration("s"));
  EXPECT_FALSE(parse_duration("-1s"));
  EXPECT_EQ(parse_byte_size("1000"), 1000u);
  EXPECT_EQ(parse_byte_size("16MiB"), 16u << 20);
  EXPECT_EQ(parse_byte_size("512k"), 512u << 10);
  EXPECT_FALSE(parse_byte_size("lots"));
  EXPECT_FALSE(parse_byte_size("99999999999999999999G"));
}

TEST(options, help_lists_every_flag_with_its_environment_variable) {
  auto help = help_text();
  for (const char* s : {"--listen", "HUBGATE_LISTEN", "--upstream", "HUBGATE_UPSTREAM", "--forms-upstream",
                        "HUBGATE_FORMS_UPSTREAM", "--ca-file", "HUBGATE_CA_FILE", "--threads", "HUBGATE_THREADS",
                        "--log-format", "--rules", "HUBGATE_RULES"}) {
    EXPECT_NE(help.find(s), std::string::npos) << s;
  }
}

healthcheck_command healthcheck_of(const command& c) {
  EXPECT_TRUE(std::holds_alternative<healthcheck_command>(c)) << error_of(c);
  return std::holds_alternative<healthcheck_command>(c) ? std::get<healthcheck_command>(c) : healthcheck_command{};
}

TEST(options, healthcheck_reaches_the_admin_address_serve_is_given) {
  auto c = healthcheck_of(parse({"healthcheck"}));
  EXPECT_EQ(c.host, "127.0.0.1");
  EXPECT_EQ(c.port, "9090");
  EXPECT_EQ(c.timeout, 2s);
  // The container's HUBGATE_ADMIN_LISTEN is a wildcard: serve listens there, the check connects
  // to loopback.
  c = healthcheck_of(parse({"healthcheck"}, {{"HUBGATE_ADMIN_LISTEN", "0.0.0.0:9191"}}));
  EXPECT_EQ(c.host, "127.0.0.1");
  EXPECT_EQ(c.port, "9191");
  c = healthcheck_of(parse({"healthcheck", "--admin-listen=[::]:9292", "--timeout", "500ms"},
                           {{"HUBGATE_ADMIN_LISTEN", "0.0.0.0:9191"}}));
  EXPECT_EQ(c.host, "::1");
  EXPECT_EQ(c.port, "9292");
  EXPECT_EQ(c.timeout, 500ms);
  EXPECT_EQ(healthcheck_of(parse({"healthcheck", "--admin-listen", "10.1.2.3:9"})).host, "10.1.2.3");
  EXPECT_TRUE(std::holds_alternative<help_request>(parse({"healthcheck", "--help"})));
  EXPECT_NE(help_text().find("hubgate healthcheck"), std::string::npos);

  EXPECT_EQ(error_of(parse({"healthcheck", "--admin-listen", "127.0.0.1:0"})),
            "--admin-listen '127.0.0.1:0': expected IP:PORT with a port from 1 to 65535");
  EXPECT_EQ(error_of(parse({"healthcheck"}, {{"HUBGATE_ADMIN_LISTEN", "9090"}})),
            "HUBGATE_ADMIN_LISTEN='9090': expected IP:PORT with a port from 1 to 65535");
  EXPECT_EQ(error_of(parse({"healthcheck"}, {{"HUBGATE_ADMIN_LISTEN", "off"}})),
            "HUBGATE_ADMIN_LISTEN='off': the admin listener is off, there is no /healthz to ask");
  // The container's settings make the check impossible: unhealthy (1), not Docker's reserved 2.
  EXPECT_EQ(std::get<usage_error>(parse({"healthcheck"}, {{"HUBGATE_ADMIN_LISTEN", "off"}})).exit_code, 1);
  EXPECT_EQ(std::get<usage_error>(parse({"healthcheck", "--timeout", "0s"})).exit_code, 2);
  EXPECT_EQ(error_of(parse({"healthcheck", "--timeout", "0s"})),
            "--timeout '0s': expected a duration like 500ms or 2s");
  EXPECT_EQ(error_of(parse({"healthcheck", "--timeout"})), "flag --timeout needs a value");
  EXPECT_EQ(error_of(parse({"healthcheck", "--listen", "127.0.0.1:1"})), "unknown flag '--listen' (see hubgate --help)");
}

TEST(options, admin_audit_and_reload_flags) {
  auto o = serve_of(parse({"serve"}));
  EXPECT_TRUE(o.admin_enabled);
  EXPECT_EQ(o.admin_host, "127.0.0.1");
  EXPECT_EQ(o.admin_port, "9090");
  EXPECT_EQ(o.audit, "");
  EXPECT_EQ(o.audit_key, "");
  EXPECT_TRUE(o.watch_rules);

  o = serve_of(parse({"serve", "--admin-listen", "0.0.0.0:0", "--audit", "/var/log/hubgate/audit.jsonl",
                      "--watch-rules=off"},
                     {{"HUBGATE_AUDIT_KEY", "s3cret"}, {"HUBGATE_ADMIN_LISTEN", "off"}}));
  EXPECT_TRUE(o.admin_enabled) << "the flag wins over the environment";
  EXPECT_EQ(o.admin_host, "0.0.0.0");
  EXPECT_EQ(o.admin_port, "0");
  EXPECT_EQ(o.audit, "/var/log/hubgate/audit.jsonl");
  EXPECT_EQ(o.audit_key, "s3cret");
  EXPECT_FALSE(o.watch_rules);

  o = serve_of(parse({"serve"}, {{"HUBGATE_ADMIN_LISTEN", "off"}, {"HUBGATE_AUDIT", "stdout"}}));
  EXPECT_FALSE(o.admin_enabled);
  EXPECT_EQ(o.audit, "stdout");
  EXPECT_EQ(serve_of(parse({"serve", "--audit", "off"}, {{"HUBGATE_AUDIT", "stdout"}})).audit, "");

  EXPECT_EQ(error_of(parse({"serve", "--admin-listen", "9090"})),
            "--admin-listen '9090': expected IP:PORT (an IP address, such as 127.0.0.1 or 0.0.0.0) or off");
  EXPECT_EQ(error_of(parse({"serve", "--watch-rules", "yes"})), "--watch-rules 'yes': expected on or off");
  EXPECT_EQ(error_of(parse({"serve", "--audit="})), "--audit '': expected a file, stdout or off");
  EXPECT_NE(help_text().find("HUBGATE_AUDIT_KEY"), std::string::npos);
}

} // namespace
} // namespace hubgate::cli
