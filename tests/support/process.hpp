#pragma once

// Runs a program (the built hubgate binary) as a child process for end-to-end tests, with its
// stdout and stderr captured to one temporary file.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hubgate::test {

using env_list = std::vector<std::pair<std::string, std::string>>;

/**
 * A running child process. It inherits the test's environment plus `extra_env` (which overrides
 * variables of the same name), reads stdin from /dev/null, starts with default signal dispositions
 * and an empty signal mask, and writes stdout and stderr, interleaved, to a temporary file. The
 * destructor kills it with SIGKILL if it is still running, reaps it and removes the file.
 *
 * If the test process dies first (a crash, a ctest timeout), the kernel sends the child SIGKILL
 * (PR_SET_PDEATHSIG), so no hubgate outlives its test holding a port. The kernel ties that to the
 * starting *thread*: start children from a thread that outlives them (the test body's).
 *
 * @par Thread safety
 * Not thread-safe; use one object from one thread.
 */
class child_process {
 public:
  /**
   * Starts `argv[0]` (looked up in PATH if it has no slash) with `argv` as its arguments.
   * @throws std::system_error if the program cannot be started (missing file, not executable).
   */
  explicit child_process(std::vector<std::string> argv, const env_list& extra_env = {});
  ~child_process();
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  pid_t pid() const { return pid_; }

  /** Sends `signal` (e.g. SIGTERM, SIGHUP); does nothing once the child has been reaped. */
  void send_signal(int signal);

  /**
   * Waits up to `timeout` for the child to exit and reaps it.
   * @return its exit code, or minus the signal number if a signal killed it (-9 for SIGKILL),
   *         as Python's subprocess does; std::nullopt if it is still running at the deadline.
   *         Once reaped, every call returns the same value at once.
   */
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);

  /** True until the child has been reaped. */
  bool running();

  /** Everything the child wrote to stdout and stderr so far. */
  std::string output() const;
  const std::string& output_path() const { return output_path_; }

  /**
   * Waits until `needle` appears in the output (the readiness protocol: hubgate logs a line when
   * it listens). Re-reads the output whenever the file changes (inotify), so it does not poll.
   * @return false at the deadline, or as soon as the child exits without having printed it.
   */
  bool wait_for_output(std::string_view needle, std::chrono::milliseconds timeout);

 private:
  bool try_reap();

  pid_t pid_ = -1;
  int pidfd_ = -1;  // readable once the child exits; -1 if the kernel has no pidfd_open
  std::optional<int> exit_status_;
  std::string output_dir_;
  std::string output_path_;
};

/**
 * A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, read, closed), for a
 * process that must be told its port on the command line. Another process may take it before the
 * child binds it; tests that can read the port from the child's output should prefer port 0.
 */
std::uint16_t free_port();

/** Absolute path of the `hubgate` binary from this build tree. */
std::string hubgate_binary();

}  // namespace hubgate::test
