#pragma once
// Writing lines to a file descriptor from a background thread: the log's (logging/line_sink) and
// the audit trail's (audit/trail), both of which may write to stdout, a pipe whose reader can go.
#include <cstddef>
#include <string_view>

namespace hubgate::io {

// Blocks SIGPIPE in the calling thread, so that a pipe whose reader went away fails write(2) with
// EPIPE instead of raising the signal, whose default action would end the proxy. Only this thread:
// a SIGPIPE that write(2) raises belongs to the writing thread, and stays pending there.
void block_broken_pipe_signal_in_this_thread() noexcept;

// Writes all of `bytes` to `fd`, again after EINTR and after a short write. 0 when all were
// written, else the errno of the write that failed (EIO for a write that wrote nothing); `written`
// (when given) gets how many bytes went out either way.
int write_all(int fd, std::string_view bytes, std::size_t* written = nullptr) noexcept;

} // namespace hubgate::io
