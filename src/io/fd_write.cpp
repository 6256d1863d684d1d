#include "io/fd_write.hpp"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>

namespace hubgate::io {

void block_broken_pipe_signal_in_this_thread() noexcept {
  sigset_t broken_pipe;
  sigemptyset(&broken_pipe);
  sigaddset(&broken_pipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &broken_pipe, nullptr);
}

int write_all(int fd, std::string_view bytes, std::size_t* written) noexcept {
  const std::size_t size = bytes.size();
  const auto done = [&](int result) {
    if (written != nullptr) {
      *written = size - bytes.size();
    }
    return result;
  };
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return done(n < 0 ? errno : EIO);
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return done(0);
}

} // namespace hubgate::io
