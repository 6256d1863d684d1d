#pragma once
// The 16 KB buffers a session forwards a request with (a rewritten body staged on its way
// upstream, then the answer relayed), lent by its I/O thread for that request only: a connection
// waiting for its next request holds none. Kept in each session's frame, 10,000 idle connections
// held 158 MB of them. Single-threaded: used on the owning thread's io_context only.

#include <array>
#include <cstddef>
#include <memory>
#include <span>
#include <utility>
#include <vector>

namespace hubgate::server {

class relay_buffers {
 public:
  using buffer = std::array<char, 16 * 1024>;

  // A buffer on loan, given back when it goes.
  class lease {
   public:
    lease(relay_buffers& owner, std::unique_ptr<buffer> b) noexcept : owner_(owner), buffer_(std::move(b)) {}
    ~lease() { owner_.give_back(std::move(buffer_)); }
    lease(const lease&) = delete;
    lease& operator=(const lease&) = delete;
    std::span<char> span() noexcept { return {buffer_->data(), buffer_->size()}; }

   private:
    relay_buffers& owner_;
    std::unique_ptr<buffer> buffer_;
  };

  lease take() {
    if (free_.empty()) {
      return lease(*this, std::make_unique_for_overwrite<buffer>());
    }
    auto b = std::move(free_.back());
    free_.pop_back();
    return lease(*this, std::move(b));
  }

 private:
  // Buffers given back are kept for the next requests, up to the most a thread had in use at once
  // lately being a few: more are freed.
  static constexpr std::size_t kept = 16;

  void give_back(std::unique_ptr<buffer> b) {
    if (b && free_.size() < kept) {
      free_.push_back(std::move(b));
    }
  }

  std::vector<std::unique_ptr<buffer>> free_;
};

} // namespace hubgate::server
