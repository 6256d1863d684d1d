#pragma once
// The spdlog sink hubgate writes its lines through: a line is formatted by the thread that logs
// it and appended to a pending buffer, and one writer thread writes what is pending to a file
// descriptor (stdout) in as few write(2) calls as it can. So a slow reader of the log (a pipe
// that Docker drains) never blocks an I/O thread.
//
// Why not spdlog's async logger: its queue is a ring of fixed slots (408 bytes each), all of them
// built, and so resident, at start: 0.42 MB of every sidecar's memory for 1,024 lines, idle or
// not. Here memory follows what is pending, usually one line or none. Past `max_pending` bytes
// (a writer stalled by its reader) new lines are dropped and counted, never a request delayed;
// the next line that fits is preceded by one saying how many. At exit, what is pending gets
// `exit_write_time` to be written; a reader that still does not read then costs the lines, not a
// process that never exits.
#include <spdlog/sinks/base_sink.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

#include "io/fd_write.hpp"

namespace hubgate::logging {

class line_sink final : public spdlog::sinks::base_sink<std::mutex> {
public:
  // `report_dropped(n)` renders the message of the line that says n lines were dropped.
  line_sink(int fd, std::size_t max_pending, std::function<std::string(std::uint64_t)> report_dropped,
            std::chrono::milliseconds exit_write_time = std::chrono::seconds(2));
  ~line_sink() override; // writes what is pending, then stops the writer

  line_sink(const line_sink&) = delete;
  line_sink& operator=(const line_sink&) = delete;

  // Lines dropped so far because max_pending bytes were waiting.
  std::uint64_t dropped() const;

protected:
  void sink_it_(const spdlog::details::log_msg& msg) override;
  // Returns once every line logged before the call has been written, or after exit_write_time.
  void flush_() override;

private:
  void run_writer(const std::atomic<bool>& give_up);

  const int fd_;
  const std::size_t max_pending_;
  const std::function<std::string(std::uint64_t)> report_dropped_;
  const std::chrono::milliseconds exit_write_time_;

  // Guarded by `state_`; base_sink's own mutex only orders the formatting of lines.
  mutable std::mutex state_;
  std::condition_variable wake_writer_;
  std::condition_variable written_;
  std::string pending_;            // lines formatted, not yet taken by the writer
  std::uint64_t appended_ = 0;     // lines appended to pending_ since start
  std::uint64_t written_lines_ = 0; // lines the writer has written (or failed to write) since start
  std::uint64_t dropped_ = 0;
  std::uint64_t dropped_reported_ = 0;
  bool stopping_ = false;
  bool stalled_ = false; // a flush gave up waiting: the sink's end does not wait again

  io::writer_thread writer_; // last: starts once the rest is ready
};

} // namespace hubgate::logging
