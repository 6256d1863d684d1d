#include "audit/trail.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <stdexcept>
#include <system_error>

#include "io/fd_write.hpp"
#include "logging/log.hpp"

namespace hubgate::audit {

namespace {

std::string errno_text(int error) {
  return std::error_code(error, std::generic_category()).message();
}

} // namespace

trail::trail(std::string destination, email_redactor redactor, std::size_t queue_limit,
             std::chrono::milliseconds exit_write_time)
    : destination_(std::move(destination)),
      to_stdout_(destination_ == "-" || destination_ == "stdout"),
      redactor_(std::move(redactor)),
      queue_limit_(queue_limit),
      exit_write_time_(exit_write_time) {
  fd_ = open_destination();
  if (fd_ < 0) {
    throw std::runtime_error("cannot open the audit file " + destination_ + ": " + errno_text(errno));
  }
  writer_.emplace([this](const std::atomic<bool>& give_up) { run(give_up); });
}

trail::~trail() {
  {
    std::unique_lock lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  writer_->join_by(std::chrono::steady_clock::now() + exit_write_time_);
  if (!to_stdout_ && fd_ >= 0) {
    ::close(fd_);
  }
}

int trail::open_destination() const {
  if (to_stdout_) {
    return STDOUT_FILENO;
  }
  return ::open(destination_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

void trail::submit(std::string line) {
  bool was_empty = false;
  {
    std::unique_lock lock(mutex_);
    if (queue_.size() >= queue_limit_) {
      lock.unlock();
      dropped_full_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    was_empty = queue_.empty();
    queue_.push_back(std::move(line));
  }
  if (was_empty) {
    wake_.notify_one();
  }
}

void trail::reopen() {
  {
    std::unique_lock lock(mutex_);
    reopen_ = true;
  }
  wake_.notify_one();
}

trail_stats trail::stats() const {
  return {written_.load(std::memory_order_relaxed), dropped_full_.load(std::memory_order_relaxed),
          dropped_failed_.load(std::memory_order_relaxed), write_errors_.load(std::memory_order_relaxed)};
}

void trail::run(const std::atomic<bool>& give_up) {
  // An audit trail on stdout whose reader went away costs entries (counted), not the proxy.
  io::block_broken_pipe_signal_in_this_thread();
  std::vector<std::string> batch;
  std::string buffer;
  for (;;) {
    bool reopen = false;
    bool stop = false;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || reopen_ || !queue_.empty(); });
      batch.swap(queue_);
      reopen = std::exchange(reopen_, false);
      stop = stopping_;
    }
    if (reopen && !to_stdout_) {
      const int fresh = open_destination();
      if (fresh >= 0) {
        ::close(fd_);
        fd_ = fresh;
        line_open_ = false; // a new file
        logging::info("audit file reopened", {{"file", destination_}});
      } else {
        logging::error("cannot reopen the audit file: writing to the old one",
                       {{"file", destination_}, {"reason", errno_text(errno)}});
      }
    }
    if (!write_batch(batch, buffer, give_up)) {
      return; // what is still queued is lost with the process
    }
    batch.clear();
    if (stop) {
      std::unique_lock lock(mutex_);
      if (queue_.empty()) {
        return;
      }
    }
  }
}

bool trail::write_batch(const std::vector<std::string>& lines, std::string& buffer, const std::atomic<bool>& give_up) {
  if (lines.empty()) {
    return true;
  }
  buffer.clear();
  if (line_open_) {
    // A failed write (a full disk) left part of a line in the file: it is ended first, so that
    // the entries after it are lines of their own, not glued onto the broken one.
    buffer += '\n';
  }
  for (const auto& line : lines) {
    buffer += line;
    buffer += '\n';
  }
  std::size_t written = 0;
  const int error = io::write_all(fd_, buffer, &written, &give_up);
  if (error == ECANCELED) {
    dropped_failed_.fetch_add(lines.size(), std::memory_order_relaxed);
    return false;
  }
  // (On stdout, shared with the log, write_all ends a cut line itself.)
  line_open_ = !to_stdout_ && (written != 0 && buffer[written - 1] != '\n' ? true : line_open_ && written == 0);
  if (error != 0) {
    // Said once per minute at most: a full disk fails every write.
    const auto now =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
    const std::uint64_t errors = write_errors_.fetch_add(1, std::memory_order_relaxed) + 1;
    dropped_failed_.fetch_add(lines.size(), std::memory_order_relaxed);
    if (errors == 1 || now - last_error_said_ >= 60) {
      last_error_said_ = now;
      logging::error("audit write failed: entries lost, proxying goes on", {{"file", destination_},
                                                                            {"reason", errno_text(error)},
                                                                            {"lines", lines.size()},
                                                                            {"failed_writes", errors}});
    }
    return true;
  }
  written_.fetch_add(lines.size(), std::memory_order_relaxed);
  return true;
}

std::unique_ptr<trail> open_trail(const cli::serve_options& options) {
  if (options.audit.empty()) {
    return nullptr;
  }
  const bool keyed = !options.audit_key.empty();
  auto out = std::make_unique<trail>(options.audit,
                                     keyed ? email_redactor(options.audit_key) : email_redactor::with_random_key());
  logging::info("audit trail on", {{"destination", options.audit},
                                   {"email_hash_key", keyed ? "HUBGATE_AUDIT_KEY" : "random, this process only"}});
  return out;
}

} // namespace hubgate::audit
