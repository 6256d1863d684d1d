#pragma once
// Writing lines to a file descriptor from a background thread: the log's (logging/line_sink) and
// the audit trail's (audit/trail), both of which may write to stdout, a pipe whose reader can go,
// or stop reading (Docker's log driver in blocking mode behind a slow log store).
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string_view>
#include <thread>

namespace hubgate::io {

// Blocks SIGPIPE in the calling thread, so that a pipe whose reader went away fails write(2) with
// EPIPE instead of raising the signal, whose default action would end the proxy. Only this thread:
// a SIGPIPE that write(2) raises belongs to the writing thread, and stays pending there.
void block_broken_pipe_signal_in_this_thread() noexcept;

// Writes all of `bytes` to `fd`, again after EINTR and after a short write. 0 when all were
// written, else the errno of the write that failed (EIO for a write that wrote nothing, ECANCELED
// once `give_up` is set: see writer_thread); `written` (when given) gets how many bytes went out
// either way. Writes to stdout and stderr hold a process-wide lock, so that the lines of two
// writers sharing the stream (the log, and `--audit stdout`) never interleave: a pipe's writes
// are atomic only up to 4 KiB. A write there that stopped part-way through a line (given up at
// exit, or failed) has that line ended by the next write, so the next lines are lines of their own.
int write_all(int fd, std::string_view bytes, std::size_t* written = nullptr,
              const std::atomic<bool>* give_up = nullptr) noexcept;

// A writer's thread that can be stopped by a deadline. Its body writes with write_all(..., give_up)
// and returns once give_up is set. At the deadline a write(2) still blocked (a reader that stopped
// reading) is interrupted by a signal, again until the body returns: hubgate's exit never waits on
// a reader for longer, and what was not written then is lost.
class writer_thread {
 public:
  explicit writer_thread(std::function<void(const std::atomic<bool>& give_up)> body);
  ~writer_thread(); // join_by(now) unless joined
  writer_thread(const writer_thread&) = delete;
  writer_thread& operator=(const writer_thread&) = delete;

  // Returns once the body has returned: by `deadline`, or a moment after it, when the body was
  // told to give up. The caller has told the body to finish (its stop flag) before.
  void join_by(std::chrono::steady_clock::time_point deadline);

 private:
  std::mutex mutex_;
  std::condition_variable finished_;
  bool done_ = false; // the body returned
  std::atomic<bool> give_up_{false};
  std::thread thread_; // last: starts once the rest is ready
};

} // namespace hubgate::io
