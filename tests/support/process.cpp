#include "support/process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <system_error>

#ifndef HUBGATE_BINARY_PATH
#error "HUBGATE_BINARY_PATH must name the hubgate executable (set by tests/support/CMakeLists.txt)"
#endif

namespace hubgate::test {
namespace {

[[noreturn]] void throw_errno(int error, const std::string& what) {
  throw std::system_error(error, std::generic_category(), "child_process: " + what);
}

// Closes a descriptor at scope exit.
class fd_guard {
 public:
  explicit fd_guard(int fd) : fd_{fd} {}
  ~fd_guard() {
    if (fd_ >= 0) ::close(fd_);
  }
  fd_guard(const fd_guard&) = delete;
  fd_guard& operator=(const fd_guard&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

std::string temp_dir(const char* prefix) {
  const char* tmp = std::getenv("TMPDIR");
  std::string path =
      std::string{tmp != nullptr && *tmp != '\0' ? tmp : "/tmp"} + "/" + prefix + "-XXXXXX";
  if (::mkdtemp(path.data()) == nullptr) throw_errno(errno, "mkdtemp " + path);
  return path;
}

// PATH is searched here, before fork, because the child may only make async-signal-safe calls.
std::string resolve_program(const std::string& program) {
  if (program.find('/') != std::string::npos) return program;
  const char* path = std::getenv("PATH");
  std::string_view dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  while (!dirs.empty()) {
    const std::size_t colon = dirs.find(':');
    std::string candidate{dirs.substr(0, colon)};
    dirs = colon == std::string_view::npos ? std::string_view{} : dirs.substr(colon + 1);
    candidate = (candidate.empty() ? std::string{"."} : candidate) + "/" + program;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  throw_errno(ENOENT, "cannot find " + program + " in PATH");
}

std::vector<std::string> child_environment(const env_list& extra_env) {
  std::vector<std::string> env;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string_view var{*entry};
    const std::string_view name = var.substr(0, var.find('='));
    const bool overridden = std::any_of(extra_env.begin(), extra_env.end(),
                                        [&](const auto& kv) { return kv.first == name; });
    if (!overridden) env.emplace_back(var);
  }
  for (const auto& [name, value] : extra_env) env.push_back(name + "=" + value);
  return env;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Runs in the forked child of a multi-threaded parent: async-signal-safe calls only, no
// allocation. Reports a failure to the parent through `error_pipe` (close-on-exec, so a
// successful exec closes it and the parent reads EOF).
[[noreturn]] void child_failed(int error_pipe) {
  const int error = errno;
  [[maybe_unused]] const ssize_t n = ::write(error_pipe, &error, sizeof error);
  ::_exit(127);
}

[[noreturn]] void exec_child(pid_t parent, int error_pipe, int stdin_fd, int output_fd,
                             const char* path, char* const* argv, char* const* envp) {
  const auto fail = [error_pipe] { child_failed(error_pipe); };
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) fail();
  if (::getppid() != parent) ::_exit(127);  // the parent died before prctl took effect

  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) ::sigaction(sig, &default_action, nullptr);
  }
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);

  if (::dup2(stdin_fd, STDIN_FILENO) < 0 || ::dup2(output_fd, STDOUT_FILENO) < 0 ||
      ::dup2(output_fd, STDERR_FILENO) < 0) {
    fail();
  }
  // Asio does not open its sockets close-on-exec. A child holding a copy of the fake's listener
  // or connections would keep them alive after the fake closes them (no RST, no refusal).
  if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
    for (int fd = 3; fd < 4096; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  ::execve(path, argv, envp);
  child_failed(error_pipe);
}

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return -WTERMSIG(status);
  return INT_MIN;  // stopped or continued: not reported without WUNTRACED/WCONTINUED
}

int poll_timeout_ms(std::chrono::steady_clock::duration left) {
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
  return static_cast<int>(std::clamp<decltype(ms)>(ms, 0, INT_MAX));
}

}  // namespace

child_process::child_process(std::vector<std::string> argv, const env_list& extra_env) {
  if (argv.empty()) throw std::invalid_argument{"child_process: empty argv"};
  const std::string path = resolve_program(argv.front());
  std::vector<std::string> env = child_environment(extra_env);
  const std::vector<char*> argv_c = c_strings(argv);
  const std::vector<char*> envp_c = c_strings(env);

  output_dir_ = temp_dir("hubgate-child");
  output_path_ = output_dir_ + "/output.log";
  try {
    const fd_guard output{
        ::open(output_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600)};
    if (output.get() < 0) throw_errno(errno, "open " + output_path_);
    const fd_guard devnull{::open("/dev/null", O_RDONLY | O_CLOEXEC)};
    if (devnull.get() < 0) throw_errno(errno, "open /dev/null");
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw_errno(errno, "pipe2");
    const fd_guard error_read{pipe_fds[0]};
    std::optional<fd_guard> error_write{std::in_place, pipe_fds[1]};

    const pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ < 0) throw_errno(errno, "fork");
    if (pid_ == 0) {
      exec_child(parent, pipe_fds[1], devnull.get(), output.get(), path.c_str(), argv_c.data(),
                 envp_c.data());
    }
    error_write.reset();

    int exec_error = 0;
    ssize_t n = 0;
    do {
      n = ::read(error_read.get(), &exec_error, sizeof exec_error);
    } while (n < 0 && errno == EINTR);
    if (n > 0) {
      int status = 0;
      ::waitpid(pid_, &status, 0);
      pid_ = -1;
      throw_errno(exec_error, "cannot start " + path);
    }
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove_all(output_dir_, ignored);
    throw;
  }
  // Without pidfd (old kernels, some sandboxes) the waits below fall back to bounded polling.
  // A raw syscall: glibc 2.36's <sys/pidfd.h> lacks extern "C", so pidfd_open() does not link
  // from C++.
  pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0U));
}

child_process::~child_process() {
  if (pid_ > 0 && !exit_status_) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  if (pidfd_ >= 0) ::close(pidfd_);
  std::error_code ignored;  // a leftover file in /tmp must not fail a test
  std::filesystem::remove_all(output_dir_, ignored);
}

void child_process::send_signal(int signal) {
  // Until it is reaped the pid cannot be reused, so kill() cannot hit another process.
  if (exit_status_) return;
  if (::kill(pid_, signal) != 0) throw_errno(errno, "kill");
}

bool child_process::try_reap() {
  if (exit_status_) return true;
  int status = 0;
  pid_t reaped = 0;
  do {
    reaped = ::waitpid(pid_, &status, WNOHANG);
  } while (reaped < 0 && errno == EINTR);
  if (reaped == 0) return false;
  if (reaped < 0) throw_errno(errno, "waitpid (is SIGCHLD ignored?)");
  exit_status_ = decode_status(status);
  return true;
}

bool child_process::running() { return !try_reap(); }

std::optional<int> child_process::wait_exit(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (try_reap()) return exit_status_;
    const auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero()) return std::nullopt;
    if (pidfd_ >= 0) {
      pollfd exited{pidfd_, POLLIN, 0};
      ::poll(&exited, 1, poll_timeout_ms(left));
    } else {
      ::poll(nullptr, 0, std::min(poll_timeout_ms(left), 10));
    }
  }
}

std::string child_process::output() const {
  std::ifstream in{output_path_, std::ios::binary};
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

bool child_process::wait_for_output(std::string_view needle, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  // Watching before the first read means a write between a read and the poll still wakes us.
  const fd_guard changes{::inotify_init1(IN_CLOEXEC | IN_NONBLOCK)};
  const bool watching = changes.get() >= 0 &&
                        ::inotify_add_watch(changes.get(), output_path_.c_str(), IN_MODIFY) >= 0;
  for (;;) {
    // Exit is checked before reading, so whatever the child printed before it exited is read.
    const bool exited = !running();
    if (output().find(needle) != std::string::npos) return true;
    if (exited) return false;
    const auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero()) return false;

    pollfd events[2];
    nfds_t count = 0;
    if (watching) events[count++] = {changes.get(), POLLIN, 0};
    if (pidfd_ >= 0) events[count++] = {pidfd_, POLLIN, 0};
    const int wait_ms =
        watching && pidfd_ >= 0 ? poll_timeout_ms(left) : std::min(poll_timeout_ms(left), 10);
    ::poll(events, count, wait_ms);
    if (watching) {
      char drain[4096];
      while (::read(changes.get(), drain, sizeof drain) > 0) {
      }
    }
  }
}

std::uint16_t free_port() {
  const fd_guard sock{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  if (sock.get() < 0) throw_errno(errno, "socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  socklen_t len = sizeof addr;
  if (::bind(sock.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0) throw_errno(errno, "bind");
  if (::getsockname(sock.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw_errno(errno, "getsockname");
  }
  return ntohs(addr.sin_port);
}

std::string hubgate_binary() {
  // HUBGATE_BINARY lets the same tests run against an installed or packaged binary.
  if (const char* override_path = std::getenv("HUBGATE_BINARY");
      override_path != nullptr && *override_path != '\0') {
    return override_path;
  }
  return HUBGATE_BINARY_PATH;
}

}  // namespace hubgate::test
