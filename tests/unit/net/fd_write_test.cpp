// io::write_all says how much of a write went out when it fails: the audit trail ends a line a
// failed write cut short before it writes the next (audit/trail.cpp). A writer_thread blocked on
// a reader that stopped reading gives up at its deadline.

#include "io/fd_write.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>

namespace hubgate {
namespace {

TEST(fd_write, a_write_that_fails_part_way_says_how_much_went_out) {
  int ends[2];
  ASSERT_EQ(::pipe2(ends, O_NONBLOCK), 0);
  const int room = ::fcntl(ends[1], F_SETPIPE_SZ, 4096);
  ASSERT_GT(room, 0);
  // More than the pipe holds: the write fills it, then fails with EAGAIN, as a full disk fails.
  const std::string lines(static_cast<std::size_t>(room) + 100, 'x');
  std::size_t written = 0;
  EXPECT_EQ(io::write_all(ends[1], lines, &written), EAGAIN);
  EXPECT_EQ(written, static_cast<std::size_t>(room));

  std::string drained(static_cast<std::size_t>(room), '\0');
  ASSERT_EQ(::read(ends[0], drained.data(), drained.size()), room);
  EXPECT_EQ(io::write_all(ends[1], "ok\n", &written), 0);
  EXPECT_EQ(written, 3U);
  ::close(ends[0]);
  ::close(ends[1]);
}

// A pipe whose reader stopped reading: full, and blocking, as Docker's log pipe is.
int full_blocking_pipe(int ends[2]) {
  if (::pipe2(ends, O_NONBLOCK) != 0) {
    return -1;
  }
  const std::string block(4096, '#');
  int filled = 0;
  ssize_t n = 0;
  while ((n = ::write(ends[1], block.data(), block.size())) > 0) {
    filled += static_cast<int>(n);
  }
  return ::fcntl(ends[1], F_SETFL, 0) == 0 ? filled : -1;
}

TEST(fd_write, a_writer_blocked_by_a_reader_that_stopped_gives_up_at_its_deadline) {
  int ends[2];
  const int filled = full_blocking_pipe(ends);
  ASSERT_GT(filled, 0);
  int result = 0;
  std::size_t written = 1;
  {
    io::writer_thread writer([&](const std::atomic<bool>& give_up) {
      result = io::write_all(ends[1], std::string(8192, 'x'), &written, &give_up);
    });
    writer.join_by(std::chrono::steady_clock::now() + std::chrono::milliseconds(50));
  }
  EXPECT_EQ(result, ECANCELED);
  EXPECT_EQ(written, 0U);
  ::close(ends[0]);
  ::close(ends[1]);
}

TEST(fd_write, a_writer_that_finishes_in_time_is_joined_as_it_is) {
  int ends[2];
  ASSERT_EQ(::pipe(ends), 0);
  int result = -1;
  io::writer_thread writer([&](const std::atomic<bool>& give_up) { result = io::write_all(ends[1], "ok\n", nullptr, &give_up); });
  writer.join_by(std::chrono::steady_clock::now() + std::chrono::seconds(60));
  EXPECT_EQ(result, 0);
  char got[4] = {};
  EXPECT_EQ(::read(ends[0], got, 3), 3);
  EXPECT_STREQ(got, "ok\n");
  ::close(ends[0]);
  ::close(ends[1]);
}

// At exit the audit writer may give up part-way through a line on stdout, which the log shares:
// the next write ends that line first, so the log's next line is a line of its own. (stdout is
// this test's for a moment: nothing is printed until it is given back.)
TEST(fd_write, a_line_cut_on_stdout_is_ended_before_the_next_write) {
  int ends[2];
  ASSERT_EQ(::pipe(ends), 0);
  ASSERT_GT(::fcntl(ends[1], F_SETPIPE_SZ, 4096), 0);
  const int room = ::fcntl(ends[1], F_GETPIPE_SZ);
  std::fflush(stdout);
  const int saved_stdout = ::dup(STDOUT_FILENO);
  ASSERT_GE(saved_stdout, 0);
  ::dup2(ends[1], STDOUT_FILENO);
  int cut = 0;
  std::size_t written = 0;
  {
    // A line longer than the pipe holds, nobody reading: the writer gives up part-way.
    const std::string line = std::string(static_cast<std::size_t>(room) * 2, 'x') + "\n";
    io::writer_thread writer(
        [&](const std::atomic<bool>& give_up) { cut = io::write_all(STDOUT_FILENO, line, &written, &give_up); });
    writer.join_by(std::chrono::steady_clock::now() + std::chrono::milliseconds(50));
  }
  std::string got(static_cast<std::size_t>(room), '\0');
  const ssize_t drained = ::read(ends[0], got.data(), got.size());
  const int next = io::write_all(STDOUT_FILENO, "next\n");
  ::dup2(saved_stdout, STDOUT_FILENO);
  ::close(saved_stdout);
  ::close(ends[1]);
  std::string rest;
  char buffer[64];
  for (ssize_t n = 0; (n = ::read(ends[0], buffer, sizeof buffer)) > 0;) {
    rest.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(ends[0]);

  EXPECT_EQ(cut, ECANCELED);
  EXPECT_EQ(written, static_cast<std::size_t>(room));
  EXPECT_EQ(drained, room);
  EXPECT_EQ(next, 0);
  EXPECT_EQ(rest, "\nnext\n");
}

} // namespace
} // namespace hubgate
