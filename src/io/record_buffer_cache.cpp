#include "io/record_buffer_cache.hpp"

#include <malloc.h>
#include <openssl/crypto.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdlib>

namespace hubgate::io {

namespace {

// OpenSSL 3.0 asks for 16,492 bytes (a write buffer) and 16,712 (a read buffer, read-ahead on).
// Both are served as one size, so that any kept buffer fits either; requests between these
// bounds are treated as record buffers.
constexpr std::size_t smallest_record_buffer = 16 * 1024;
constexpr std::size_t record_buffer_size = 16 * 1024 + 384;
// A block malloc gave for record_buffer_size has at least that many usable bytes, and less than a
// chunk more; a block in that range is one of ours or as good as one.
constexpr std::size_t usable_slack = 64;
constexpr unsigned kept_per_thread = 4;

// Trivially destructible, so that it is usable for the whole life of its thread, also from
// OpenSSL's own clean-up after the thread's destructors have run.
struct kept_buffers {
  std::array<void*, kept_per_thread> blocks;
  unsigned count;
  bool flush_registered;
  bool closed; // the thread is ending: release straight to free
};
thread_local kept_buffers kept{};
std::atomic<unsigned long> flushed_at_thread_exit{0};

// Frees a thread's kept buffers when it ends (LeakSanitizer would report them otherwise).
struct flush_at_thread_exit {
  flush_at_thread_exit() noexcept = default;
  flush_at_thread_exit(const flush_at_thread_exit&) = delete;
  flush_at_thread_exit& operator=(const flush_at_thread_exit&) = delete;
  ~flush_at_thread_exit() {
    for (unsigned i = 0; i < kept.count; ++i) {
      std::free(kept.blocks[i]);
    }
    flushed_at_thread_exit.fetch_add(kept.count, std::memory_order_relaxed);
    kept.count = 0;
    kept.closed = true;
  }
  void arm() noexcept {}
};
thread_local flush_at_thread_exit flusher;

bool is_record_buffer_request(std::size_t size) noexcept {
  return size >= smallest_record_buffer && size <= record_buffer_size;
}

void* allocate(std::size_t size, const char* /*file*/, int /*line*/) {
  if (is_record_buffer_request(size)) {
    if (kept.count != 0) {
      return kept.blocks[--kept.count];
    }
    size = record_buffer_size;
  }
  return std::malloc(size);
}

void* reallocate(void* block, std::size_t size, const char* /*file*/, int /*line*/) {
  return std::realloc(block, size);
}

void release(void* block, const char* /*file*/, int /*line*/) {
  if (block != nullptr && kept.count != kept_per_thread && !kept.closed) {
    const std::size_t usable = malloc_usable_size(block);
    if (usable >= record_buffer_size && usable < record_buffer_size + usable_slack) {
      if (!kept.flush_registered) {
        flusher.arm(); // constructs this thread's flusher, whose destructor then runs at its exit
        kept.flush_registered = true;
      }
      kept.blocks[kept.count++] = block;
      return;
    }
  }
  std::free(block);
}

} // namespace

bool install_record_buffer_cache() noexcept { return CRYPTO_set_mem_functions(allocate, reallocate, release) == 1; }

namespace detail {
void* record_buffer_allocate(std::size_t size) noexcept { return allocate(size, __FILE__, __LINE__); }
void record_buffer_release(void* block) noexcept { release(block, __FILE__, __LINE__); }
unsigned record_buffers_kept() noexcept { return kept.count; }
unsigned long record_buffers_freed_at_thread_exit() noexcept {
  return flushed_at_thread_exit.load(std::memory_order_relaxed);
}
} // namespace detail

} // namespace hubgate::io
