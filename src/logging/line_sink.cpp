#include "logging/line_sink.hpp"

#include <cerrno>
#include <utility>

#include "io/fd_write.hpp"

namespace hubgate::logging {

namespace {

// A burst's buffer is not kept once written: memory follows what is pending.
constexpr std::size_t kept_capacity = 64 * 1024;

} // namespace

line_sink::line_sink(int fd, std::size_t max_pending, std::function<std::string(std::uint64_t)> report_dropped,
                     std::chrono::milliseconds exit_write_time)
    : fd_(fd), max_pending_(max_pending), report_dropped_(std::move(report_dropped)), exit_write_time_(exit_write_time),
      writer_([this](const std::atomic<bool>& give_up) { run_writer(give_up); }) {}

line_sink::~line_sink() {
  std::chrono::steady_clock::time_point deadline;
  {
    std::lock_guard lock(state_);
    stopping_ = true;
    deadline = std::chrono::steady_clock::now() + (stalled_ ? std::chrono::milliseconds(0) : exit_write_time_);
  }
  wake_writer_.notify_one();
  writer_.join_by(deadline);
}

std::uint64_t line_sink::dropped() const {
  std::lock_guard lock(state_);
  return dropped_;
}

void line_sink::sink_it_(const spdlog::details::log_msg& msg) {
  // base_sink's mutex is held: lines are formatted one at a time, in the order they are appended.
  std::uint64_t unreported = 0;
  {
    std::lock_guard lock(state_);
    if (pending_.size() >= max_pending_) {
      ++dropped_;
      return;
    }
    unreported = dropped_ - dropped_reported_;
  }
  spdlog::memory_buf_t line;
  if (unreported != 0) {
    const std::string report = report_dropped_(unreported);
    const spdlog::details::log_msg notice(msg.time, spdlog::source_loc{}, msg.logger_name, spdlog::level::warn, report);
    formatter_->format(notice, line);
  }
  formatter_->format(msg, line);
  {
    std::lock_guard lock(state_);
    pending_.append(line.data(), line.size());
    appended_ += unreported != 0 ? 2 : 1;
    dropped_reported_ += unreported;
  }
  wake_writer_.notify_one();
}

void line_sink::flush_() {
  std::unique_lock lock(state_);
  const std::uint64_t target = appended_;
  if (!written_.wait_for(lock, exit_write_time_, [&] { return written_lines_ >= target; })) {
    stalled_ = true;
  }
}

void line_sink::run_writer(const std::atomic<bool>& give_up) {
  // A log reader that went away costs the lines, not the proxy.
  io::block_broken_pipe_signal_in_this_thread();

  std::string writing;
  std::unique_lock lock(state_);
  while (true) {
    wake_writer_.wait(lock, [&] { return stopping_ || !pending_.empty(); });
    if (pending_.empty()) {
      break; // stopping, and everything is written
    }
    writing.swap(pending_);
    const std::uint64_t lines = appended_;
    lock.unlock();
    // A log that cannot be written is lost, never retried forever.
    const bool gave_up = io::write_all(fd_, writing, nullptr, &give_up) == ECANCELED;
    writing.clear();
    if (writing.capacity() > kept_capacity) {
      writing.shrink_to_fit();
    }
    lock.lock();
    written_lines_ = lines;
    written_.notify_all();
    if (gave_up) {
      break; // the rest pending is lost with the process
    }
  }
}

} // namespace hubgate::logging
