// The per-thread cache of OpenSSL's record buffers (io/record_buffer_cache): what it keeps, how
// many, and that a thread's kept buffers are freed when the thread ends.

#include "io/record_buffer_cache.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <thread>
#include <vector>

namespace hubgate::test {
namespace {

using io::detail::record_buffer_allocate;
using io::detail::record_buffer_release;
using io::detail::record_buffers_freed_at_thread_exit;
using io::detail::record_buffers_kept;

// OpenSSL 3.0's write and read buffer sizes (read-ahead on).
constexpr std::size_t write_buffer = 16492;
constexpr std::size_t read_buffer = 16712;

// Each test runs on a thread of its own, so that it starts with nothing kept.
template <class Body>
void on_a_new_thread(Body body) {
  std::thread thread(body);
  thread.join();
}

TEST(record_buffer_cache, a_released_record_buffer_serves_the_next_one_of_either_size) {
  on_a_new_thread([] {
    void* write = record_buffer_allocate(write_buffer);
    ASSERT_NE(write, nullptr);
    std::memset(write, 'w', write_buffer);
    record_buffer_release(write);
    EXPECT_EQ(record_buffers_kept(), 1U);
    // A read buffer is larger than a write buffer: the kept block holds it.
    void* read = record_buffer_allocate(read_buffer);
    EXPECT_EQ(read, write);
    EXPECT_EQ(record_buffers_kept(), 0U);
    std::memset(read, 'r', read_buffer);
    record_buffer_release(read);
    EXPECT_EQ(record_buffer_allocate(write_buffer), read);
    record_buffer_release(read);
  });
}

// (A block just above a record buffer's size may be kept as one: it holds either.)
TEST(record_buffer_cache, other_sizes_go_to_malloc_and_free) {
  on_a_new_thread([] {
    for (const std::size_t size : {std::size_t{0}, std::size_t{64}, std::size_t{16383}, std::size_t{17000},
                                   std::size_t{21848}, std::size_t{64 * 1024}}) {
      void* block = record_buffer_allocate(size);
      record_buffer_release(block);
      EXPECT_EQ(record_buffers_kept(), 0U) << size;
    }
    record_buffer_release(nullptr);
    EXPECT_EQ(record_buffers_kept(), 0U);
  });
}

TEST(record_buffer_cache, a_thread_keeps_at_most_four) {
  on_a_new_thread([] {
    std::vector<void*> blocks;
    for (int i = 0; i < 6; ++i) {
      blocks.push_back(record_buffer_allocate(read_buffer));
    }
    for (void* block : blocks) {
      record_buffer_release(block);
    }
    EXPECT_EQ(record_buffers_kept(), 4U);
  });
}

TEST(record_buffer_cache, a_threads_kept_buffers_are_freed_when_it_ends) {
  const unsigned long before = record_buffers_freed_at_thread_exit();
  on_a_new_thread([] {
    void* one = record_buffer_allocate(read_buffer);
    void* two = record_buffer_allocate(write_buffer);
    record_buffer_release(one);
    record_buffer_release(two);
    EXPECT_EQ(record_buffers_kept(), 2U);
  });
  EXPECT_EQ(record_buffers_freed_at_thread_exit() - before, 2U);
}

} // namespace
} // namespace hubgate::test
