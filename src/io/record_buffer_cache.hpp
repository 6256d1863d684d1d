#pragma once
// OpenSSL's TLS record buffers, kept per thread between requests.
//
// Each upstream connection gives its ~16.5 KB read and write buffers back after every exchange
// (SSL_MODE_RELEASE_BUFFERS, as nginx does: an idle or waiting connection holds none), and takes
// new ones for the next. Buffers that size are beyond glibc's per-thread cache, so each request
// paid malloc's slow path twice and free's twice: about 1,100 instructions of a read's 39,500.
// The functions installed here keep up to four such buffers per thread for the next connection
// that needs one; other sizes go to malloc and free unchanged. The most a thread holds beyond
// what nginx's way holds is four buffers (67 KB), and only once it has served requests.
#include <cstddef>

namespace hubgate::io {

// Installs the cache as OpenSSL's memory functions. Must run before OpenSSL allocates anything
// (first thing in main); false, and nothing changes, when it is too late.
bool install_record_buffer_cache() noexcept;

namespace detail {
// For tests: OpenSSL's allocation and release of a block of `size` bytes through the cache, and
// how many blocks the calling thread keeps, and how many threads freed as they ended.
void* record_buffer_allocate(std::size_t size) noexcept;
void record_buffer_release(void* block) noexcept;
unsigned record_buffers_kept() noexcept;
unsigned long record_buffers_freed_at_thread_exit() noexcept;
} // namespace detail

} // namespace hubgate::io
