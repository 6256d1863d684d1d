// The log's writer: lines reach the descriptor whole and in order, a stalled reader costs dropped
// lines (counted, and said so in the log) rather than a blocked logger, and nothing logged before
// the sink goes is lost.
#include "logging/line_sink.hpp"

#include <gtest/gtest.h>

#include <spdlog/logger.h>

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace hubgate::logging {
namespace {

struct pipe_ends {
  pipe_ends() { EXPECT_EQ(::pipe(fds), 0); }
  ~pipe_ends() {
    close_write();
    close_read();
  }
  void close_read() {
    if (fds[0] >= 0) {
      ::close(fds[0]);
      fds[0] = -1;
    }
  }
  void close_write() {
    if (fds[1] >= 0) {
      ::close(fds[1]);
      fds[1] = -1;
    }
  }
  int read_end() const { return fds[0]; }
  int write_end() const { return fds[1]; }
  // Everything until the write end is closed.
  std::string read_all() const {
    std::string out;
    char buffer[4096];
    ssize_t n = 0;
    while ((n = ::read(fds[0], buffer, sizeof buffer)) > 0) {
      out.append(buffer, static_cast<std::size_t>(n));
    }
    return out;
  }
  int fds[2] = {-1, -1};
};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
  }
  return lines;
}

std::string report(std::uint64_t n) { return "dropped " + std::to_string(n); }

TEST(line_sink, lines_are_written_whole_and_in_order_once_flushed) {
  pipe_ends pipe;
  auto sink = std::make_shared<line_sink>(pipe.write_end(), 1024 * 1024, report);
  spdlog::logger logger("t", sink);
  logger.set_pattern("%l %v");
  for (int i = 0; i < 2000; ++i) {
    logger.info("line {}", i);
  }
  logger.flush();
  // flush() returned: all 2,000 lines are in the pipe already (about 30 KB, less than it holds).
  ASSERT_EQ(::fcntl(pipe.read_end(), F_SETFL, O_NONBLOCK), 0);
  std::string text;
  char buffer[4096];
  ssize_t n = 0;
  while ((n = ::read(pipe.read_end(), buffer, sizeof buffer)) > 0) {
    text.append(buffer, static_cast<std::size_t>(n));
  }
  const auto lines = lines_of(text);
  ASSERT_EQ(lines.size(), 2000U);
  for (int i = 0; i < 2000; ++i) {
    ASSERT_EQ(lines[static_cast<std::size_t>(i)], "info line " + std::to_string(i));
  }
  EXPECT_EQ(sink->dropped(), 0U);
}

TEST(line_sink, a_stalled_reader_costs_counted_lines_not_a_blocked_logger) {
  pipe_ends pipe;
  // Fill the pipe, so that the writer blocks in its first write until the test reads.
  ASSERT_EQ(::fcntl(pipe.write_end(), F_SETFL, O_NONBLOCK), 0);
  std::size_t filled = 0;
  const std::string block(4096, '#');
  while (true) {
    const ssize_t n = ::write(pipe.write_end(), block.data(), block.size());
    if (n <= 0) {
      break;
    }
    filled += static_cast<std::size_t>(n);
  }
  ASSERT_EQ(::fcntl(pipe.write_end(), F_SETFL, 0), 0);

  constexpr std::size_t max_pending = 4096;
  auto sink = std::make_shared<line_sink>(pipe.write_end(), max_pending, report);
  auto logger = std::make_unique<spdlog::logger>("t", sink);
  logger->set_pattern("%v");
  // About 50 KB of lines against 4 KB pending and a writer that cannot write: this returns (the
  // logger never waits for the reader), and most lines are dropped.
  constexpr int logged = 5000;
  for (int i = 0; i < logged; ++i) {
    logger->info("line {:05}", i);
  }
  const std::uint64_t dropped = sink->dropped();
  EXPECT_GT(dropped, static_cast<std::uint64_t>(logged / 2));

  // The reader comes back and the writer catches up: the next line gets through, after one saying
  // how many were dropped.
  std::string text;
  std::thread reader([&] { text = pipe.read_all(); });
  logger->flush();
  EXPECT_EQ(sink->dropped(), dropped);
  logger->info("after");
  logger.reset();
  sink.reset(); // the writer writes what is pending, then stops
  pipe.close_write();
  reader.join();

  ASSERT_GE(text.size(), filled);
  EXPECT_EQ(text.substr(0, filled), std::string(filled, '#'));
  const auto lines = lines_of(text.substr(filled));
  ASSERT_GE(lines.size(), 2U);
  EXPECT_EQ(lines.back(), "after");
  // A line saying how many were dropped comes right before the first line let through after
  // drops. (A pipe may take a few bytes more than it was filled with, and the writer then gets on
  // during the loop: such a line comes earlier too, and the loop's last lines may get through.)
  // The lines that got through are whole and in order, and with the dropped ones, which the
  // reports count, they account for every line logged.
  std::uint64_t reported = 0;
  std::size_t kept = 0;
  int last = -1;
  bool after_report = false; // the line before was a report of drops
  for (std::size_t i = 0; i + 1 < lines.size(); ++i) {
    if (lines[i].starts_with("dropped ")) {
      reported += std::stoull(lines[i].substr(8));
      after_report = true;
      continue;
    }
    ASSERT_TRUE(lines[i].size() == 10 && lines[i].starts_with("line ")) << lines[i];
    const int number = std::stoi(lines[i].substr(5));
    ASSERT_GT(number, last) << "out of order";
    EXPECT_TRUE(number == last + 1 || after_report) << "lines before " << lines[i] << " dropped unreported";
    after_report = false;
    last = number;
    ++kept;
  }
  EXPECT_TRUE(last == logged - 1 || after_report) << "lines before 'after' dropped unreported";
  EXPECT_EQ(reported, dropped);
  EXPECT_EQ(kept + dropped, static_cast<std::size_t>(logged));
}

// Docker's log driver in blocking mode behind a log store that stopped: at exit hubgate flushes
// the log and ends its sink, and neither may wait for the reader past the sink's exit time.
TEST(line_sink, a_reader_that_stopped_reading_does_not_hold_the_exit) {
  pipe_ends pipe;
  ASSERT_EQ(::fcntl(pipe.write_end(), F_SETFL, O_NONBLOCK), 0);
  std::size_t filled = 0;
  const std::string block(4096, '#');
  ssize_t n = 0;
  while ((n = ::write(pipe.write_end(), block.data(), block.size())) > 0) {
    filled += static_cast<std::size_t>(n);
  }
  ASSERT_EQ(::fcntl(pipe.write_end(), F_SETFL, 0), 0);

  auto sink = std::make_shared<line_sink>(pipe.write_end(), 1024 * 1024, report, std::chrono::milliseconds(50));
  auto logger = std::make_unique<spdlog::logger>("t", sink);
  logger->set_pattern("%v");
  logger->info("stopped");
  logger->flush(); // returns, the line unwritten
  logger.reset();
  sink.reset(); // returns: the writer gave up its write

  ASSERT_EQ(::fcntl(pipe.read_end(), F_SETFL, O_NONBLOCK), 0);
  std::string text;
  char buffer[4096];
  while ((n = ::read(pipe.read_end(), buffer, sizeof buffer)) > 0) {
    text.append(buffer, static_cast<std::size_t>(n));
  }
  EXPECT_EQ(text, std::string(filled, '#')) << "nothing was written after the reader stopped";
}

TEST(line_sink, a_reader_that_went_away_costs_lines_not_the_process) {
  // Docker's log pipe closed under a running sidecar: writing to it raises SIGPIPE, whose default
  // action ends the process (this test's too). The writer gets EPIPE instead and goes on.
  pipe_ends pipe;
  pipe.close_read();
  auto sink = std::make_shared<line_sink>(pipe.write_end(), 1024 * 1024, report);
  spdlog::logger logger("t", sink);
  logger.set_pattern("%v");
  logger.info("nobody reads this");
  logger.flush(); // returns once the writer has tried
  logger.info("nor this");
  logger.flush();
  EXPECT_EQ(sink->dropped(), 0U); // lost to the closed pipe, not dropped for want of room
}

} // namespace
} // namespace hubgate::logging
