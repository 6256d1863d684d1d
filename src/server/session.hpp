#pragma once

#include <atomic>
#include <cstdint>
// One client connection: read a request (head first, bounded in time and size), decide where it
// goes, forward it, relay the answer; repeat while the connection is kept alive. Requests on one
// connection are handled one after the other, so pipelined requests are answered in order.

#include <memory>

#include "io/executor.hpp"
#include "io/tcp_stream.hpp"
#include "server/server.hpp"

namespace hubgate::server {

// A session as the drain sees it. Touched only on the session's I/O thread.
struct session_slot {
  explicit session_slot(io::executor ex) : executor(ex) {}
  io::executor executor;
  io::tcp_stream* stream = nullptr; // null once the session has ended
  // Waiting for the next request's first byte, and since when (steady clock, ns): written by the
  // session's thread, read by the acceptor's to pick the connection idle longest when full.
  std::atomic<bool> idle{false};
  std::atomic<std::int64_t> idle_since{0};
  // The drain's timeout cut the session (proxy_state::cut_in_flight): what it still reads from its
  // client ends at once. Touched only on the session's thread.
  bool cut = false;
};

// `thread`: the I/O thread the session runs on, whose upstream pools it uses.
io::awaitable<void> run_session(io::tcp_stream stream, proxy_state& state, io_thread& thread,
                                std::shared_ptr<session_slot> slot);

} // namespace hubgate::server
