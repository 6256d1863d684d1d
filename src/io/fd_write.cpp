#include "io/fd_write.hpp"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <array>
#include <cerrno>

namespace hubgate::io {

namespace {

// The signal that interrupts a writer's blocked write(2): its handler does nothing, and it is
// installed without SA_RESTART, so the write returns EINTR. A real-time signal nothing else sends.
int interrupt_signal() noexcept { return SIGRTMIN + 2; }

void install_interrupt_handler() {
  static std::once_flag installed;
  std::call_once(installed, [] {
    struct sigaction action {};
    action.sa_handler = [](int) {};
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0; // no SA_RESTART
    sigaction(interrupt_signal(), &action, nullptr);
  });
}

// Held around each write to stdout or stderr; tried again every millisecond, so that a writer
// told to give up while another holds it (blocked on the same stalled pipe) stops waiting too.
// (Not a timed_mutex: libstdc++ 12 waits on one with pthread_mutex_clocklock, which GCC 12's
// ThreadSanitizer does not intercept, so a TSan build reported every write here as a race.)
std::mutex standard_stream_lock;
// Under the lock: a write to stdout (1) or stderr (2) stopped part-way through a line (a writer
// gave up at exit, or a write failed), so the next one ends that line first.
std::array<bool, 3> standard_stream_mid_line{};

// Writes `bytes` until all went out, a write fails, or `give_up` is set; `bytes` keeps what did
// not go out. 0, or the errno (EIO for a write that wrote nothing, ECANCELED for giving up).
int write_out(int fd, std::string_view& bytes, const std::atomic<bool>* give_up) noexcept {
  while (!bytes.empty()) {
    if (give_up != nullptr && give_up->load(std::memory_order_acquire)) {
      return ECANCELED;
    }
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return n < 0 ? errno : EIO;
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return 0;
}

} // namespace

void block_broken_pipe_signal_in_this_thread() noexcept {
  sigset_t broken_pipe;
  sigemptyset(&broken_pipe);
  sigaddset(&broken_pipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &broken_pipe, nullptr);
}

int write_all(int fd, std::string_view bytes, std::size_t* written, const std::atomic<bool>* give_up) noexcept {
  const std::string_view whole = bytes;
  const auto giving_up = [give_up] { return give_up != nullptr && give_up->load(std::memory_order_acquire); };
  std::unique_lock<std::mutex> shared_stream;
  bool* mid_line = nullptr;
  if (fd == STDOUT_FILENO || fd == STDERR_FILENO) {
    shared_stream = std::unique_lock(standard_stream_lock, std::try_to_lock);
    while (!shared_stream.owns_lock()) {
      if (giving_up()) {
        if (written != nullptr) {
          *written = 0;
        }
        return ECANCELED;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1)); // the other writer's turn: rare
      shared_stream.try_lock();
    }
    mid_line = &standard_stream_mid_line[static_cast<std::size_t>(fd)];
  }
  int result = 0;
  if (mid_line != nullptr && *mid_line) {
    std::string_view end_of_line = "\n";
    result = write_out(fd, end_of_line, give_up);
    *mid_line = result != 0;
  }
  if (result == 0) {
    result = write_out(fd, bytes, give_up);
  }
  const std::size_t sent = whole.size() - bytes.size();
  if (mid_line != nullptr && sent != 0) {
    *mid_line = whole[sent - 1] != '\n';
  }
  if (written != nullptr) {
    *written = sent;
  }
  return result;
}

writer_thread::writer_thread(std::function<void(const std::atomic<bool>& give_up)> body) {
  install_interrupt_handler();
  thread_ = std::thread([this, body = std::move(body)] {
    sigset_t interrupt;
    sigemptyset(&interrupt);
    sigaddset(&interrupt, interrupt_signal());
    pthread_sigmask(SIG_UNBLOCK, &interrupt, nullptr);
    body(give_up_);
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    finished_.notify_all();
  });
}

writer_thread::~writer_thread() {
  join_by(std::chrono::steady_clock::now());
}

void writer_thread::join_by(std::chrono::steady_clock::time_point deadline) {
  if (!thread_.joinable()) {
    return;
  }
  std::unique_lock lock(mutex_);
  if (!finished_.wait_until(lock, deadline, [this] { return done_; })) {
    give_up_.store(true, std::memory_order_release);
    // The signal may land just before the write starts, and be missed: sent again until the body
    // returns.
    do {
      pthread_kill(thread_.native_handle(), interrupt_signal());
    } while (!finished_.wait_for(lock, std::chrono::milliseconds(20), [this] { return done_; }));
  }
  lock.unlock();
  thread_.join();
}

} // namespace hubgate::io
