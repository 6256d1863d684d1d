// io::write_all says how much of a write went out when it fails: the audit trail ends a line a
// failed write cut short before it writes the next (audit/trail.cpp).

#include "io/fd_write.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

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

} // namespace
} // namespace hubgate
