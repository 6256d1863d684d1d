// Wiring only: parse the command line, set up logging, run the chosen command.

#include <fcntl.h>
#include <malloc.h>
#include <openssl/crypto.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <string_view>
#include <vector>

#include "admin/control_plane.hpp"
#include "audit/trail.hpp"
#include "cli/commands.hpp"
#include "cli/healthcheck.hpp"
#include "cli/options.hpp"
#include "hubgate/config/rules_file.hpp"
#include "hubgate/version.hpp"
#include "io/record_buffer_cache.hpp"
#include "logging/log.hpp"
#include "reload/rules_in_force.hpp"
#include "server/server.hpp"

namespace {

// Started with stdin, stdout or stderr closed (`>&-`), the next file opened would take its number:
// the audit file would get every log line, or an eventfd the log. Each closed one is opened on
// /dev/null first, which takes the lowest number free.
void open_missing_standard_descriptors() noexcept {
  for (int fd = STDIN_FILENO; fd <= STDERR_FILENO; ++fd) {
    if (::fcntl(fd, F_GETFD) == -1 && errno == EBADF) {
      const int null = ::open("/dev/null", O_RDWR);
      if (null > STDERR_FILENO) {
        ::close(null); // cannot happen: the lowest free number is fd
      }
    }
  }
}

template <class... Ts>
struct overloaded : Ts... {
  using Ts::operator()...;
};

bool record_buffer_cache_installed = false;

int serve(const hubgate::cli::serve_options& options) {
  // The process holds the HubSpot token and client keys (and, passing through, callers' tokens):
  // no core file is written of it, and no process of another user may read its memory or
  // environment through /proc or ptrace. Set before any secret is read.
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  // glibc gives the top of the heap back to the kernel whenever more than 128 KB of it is free. A
  // batch request's buffers (its body, the scanner's tokens, the records) are freed together, so
  // under bench/'s mix workload the heap shrank and grew again for most batches (343 brk calls in
  // 3 s, each shrink followed by page faults to grow back). Freed memory is kept instead, up to
  // 64 MiB: no brk at all then. The peak RSS is unchanged (it is what the load needed); only the
  // drop after a burst is given up.
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
  // A SIGHUP asks for a reload; until the watcher catches it (once the server is up), one would
  // end the process, without a word, in the middle of loading a large rules file. The rules are
  // read after this, so no change is missed.
  std::signal(SIGHUP, SIG_IGN);
  hubgate::metrics::proxy_metrics metrics;
  hubgate::access::client_ledger clients;
  // An invalid rules file stops the start, with the same errors `hubgate check` prints.
  auto loaded = hubgate::reload::load_rules(options.rules_file, metrics, clients, 1);
  if (!loaded.rules) {
    for (const auto& e : loaded.errors) {
      // Redacted as on a reload: this goes to the same log (a container's stderr).
      std::cerr << hubgate::logging::redact_emails(hubgate::config::format_error(e)) << "\n";
    }
    std::cerr << "hubgate: not starting: " << options.rules_file << " has " << loaded.errors.size()
              << (loaded.errors.size() == 1 ? " error\n" : " errors\n");
    return 1;
  }
  hubgate::logging::init(options.format, options.log_level);
  if (!record_buffer_cache_installed) {
    hubgate::logging::warn("TLS record buffers are not kept between requests: OpenSSL had allocated before main", {});
  }
  hubgate::logging::info("rules loaded", {{"file", options.rules_file},
                                          {"rules", loaded.rules->rules->rule_count()},
                                          {"sha256", std::string_view(loaded.rules->sha256).substr(0, 12)}});
  hubgate::reload::log_notes(*loaded.rules);
  try {
    hubgate::reload::rules_in_force rules(loaded.rules);
    auto audit = hubgate::audit::open_trail(options);
    hubgate::server::server proxy(options, rules, {metrics, clients, audit.get()});
    hubgate::admin::control_plane control(options, proxy.state(), rules, metrics, audit.get());
    int code = proxy.run([&control] { control.start(); });
    control.stop();
    audit.reset(); // writes what is still queued
    hubgate::logging::flush();
    return code;
  } catch (const std::exception& e) {
    hubgate::logging::error("cannot start", {{"reason", e.what()}});
    hubgate::logging::flush();
    return 1;
  }
}

} // namespace

int main(int argc, char** argv) {
  open_missing_standard_descriptors();
  // Before anything can make OpenSSL allocate.
  record_buffer_cache_installed = hubgate::io::install_record_buffer_cache();
  std::vector<std::string_view> args(argv, argv + argc);
  auto env = [](std::string_view name) -> std::optional<std::string> {
    const char* value = std::getenv(std::string(name).c_str());
    if (value == nullptr) {
      return std::nullopt;
    }
    return std::string(value);
  };
  auto command = hubgate::cli::parse_command_line(args, env);
  return std::visit(
      overloaded{
          [](const hubgate::cli::help_request&) {
            std::cout << hubgate::cli::help_text();
            return 0;
          },
          [](const hubgate::cli::version_request&) {
            std::cout << "hubgate " << hubgate::version << "\n";
            // Which OpenSSL does the upstream TLS, and whether it is inside the binary: then a
            // security update of the system's OpenSSL reaches hubgate only with a rebuild.
#ifdef HUBGATE_OPENSSL_IN_BINARY
            std::cout << OpenSSL_version(OPENSSL_VERSION) << " (in the binary: rebuild for an OpenSSL update)\n";
#else
            std::cout << OpenSSL_version(OPENSSL_VERSION) << " (the system's shared library)\n";
#endif
            return 0;
          },
          [](const hubgate::cli::usage_error& e) {
            std::cerr << "hubgate: " << e.message << "\n";
            return e.exit_code;
          },
          [](const hubgate::cli::serve_command& c) { return serve(c.options); },
          [](const hubgate::cli::check_command& c) { return hubgate::cli::run_check(c, std::cout, std::cerr); },
          [](const hubgate::cli::catalog_command&) { return hubgate::cli::run_catalog(std::cout); },
          [](const hubgate::cli::test_command& c) { return hubgate::cli::run_test(c, std::cout, std::cerr); },
          [](const hubgate::cli::explain_command& c) { return hubgate::cli::run_explain(c, std::cout, std::cerr); },
          [](const hubgate::cli::healthcheck_command& c) {
            return hubgate::cli::run_healthcheck(c, std::cout, std::cerr);
          },
      },
      command);
}
