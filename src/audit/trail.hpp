#pragma once
// The audit trail's writer: JSON lines appended to a file (or stdout) by a thread of its own, so
// that an I/O thread only ever queues a line. The queue is bounded: when the writer cannot keep
// up, lines are dropped and counted rather than stalling requests. A failed write (a full disk) is
// counted and logged, never fatal: proxying goes on. At exit what is queued gets a bounded time
// (`exit_write_time`) to be written (a reader of stdout, or of a FIFO, that stopped reading costs the entries then).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "cli/options.hpp"
#include "hubgate/audit/redact.hpp"
#include "io/fd_write.hpp"

namespace hubgate::audit {

struct trail_stats {
  std::uint64_t written = 0;        // lines written
  std::uint64_t dropped_full = 0;   // lines dropped because the queue was full
  std::uint64_t dropped_failed = 0; // lines lost to failed writes
  std::uint64_t write_errors = 0;   // failed writes
};

class trail {
 public:
  // `destination`: "-" or "stdout" for standard output, else a file opened for appending (created
  // with mode 0640). Throws std::runtime_error when the file cannot be opened: a start-up error.
  trail(std::string destination, email_redactor redactor, std::size_t queue_limit = 16384,
        std::chrono::milliseconds exit_write_time = std::chrono::seconds(2));
  ~trail(); // writes what is queued, then stops the writer
  trail(const trail&) = delete;
  trail& operator=(const trail&) = delete;

  // Queues one line (without its newline). Never waits for I/O; drops the line when the queue is full.
  void submit(std::string line);
  // Reopens the file before the next write (after log rotation moved it); nothing for stdout.
  void reopen();

  trail_stats stats() const;
  const email_redactor& redactor() const { return redactor_; }
  const std::string& destination() const { return destination_; }

 private:
  void run(const std::atomic<bool>& give_up);
  int open_destination() const; // -1 with errno set on failure
  // False when told to give up (the batch is lost).
  bool write_batch(const std::vector<std::string>& lines, std::string& buffer, const std::atomic<bool>& give_up);

  const std::string destination_;
  const bool to_stdout_;
  const email_redactor redactor_;
  const std::size_t queue_limit_;
  const std::chrono::milliseconds exit_write_time_;
  int fd_ = -1;                      // the writer's, once it runs
  bool line_open_ = false;           // the writer's: a failed write ended the file mid-line
  std::int64_t last_error_said_ = 0; // the writer's: when a failed write was last logged (s)

  mutable std::mutex mutex_; // guards queue_, stopping_, reopen_; never held across a write
  std::condition_variable wake_;
  std::vector<std::string> queue_;
  bool stopping_ = false;
  bool reopen_ = false;

  std::atomic<std::uint64_t> written_{0};
  std::atomic<std::uint64_t> dropped_full_{0};
  std::atomic<std::uint64_t> dropped_failed_{0};
  std::atomic<std::uint64_t> write_errors_{0};
  std::optional<io::writer_thread> writer_; // last: starts once everything above is ready
};

// The trail `--audit` asks for (nullptr when off), hashing emails with HUBGATE_AUDIT_KEY or, without
// one, a random key (then hashes link entries of this process only). Says so in the log; throws
// std::runtime_error when the file cannot be opened.
std::unique_ptr<trail> open_trail(const cli::serve_options& options);

} // namespace hubgate::audit
