#pragma once
// Request bodies are read whole before the gate decides them: the bytes all connections together
// hold at once are bounded (--max-body-memory), so that many large bodies, sent together, cannot
// take all the memory there is. A session takes a body's bytes as they arrive (a step ahead of
// them at most, so that a client declaring a large body and sending nothing holds little) and
// gives them back when the request is done (body_hold).

#include <algorithm>
#include <atomic>
#include <cstddef>

namespace hubgate::http {

class body_memory {
 public:
  explicit body_memory(std::size_t limit) noexcept : limit_(limit) {}
  body_memory(const body_memory&) = delete;
  body_memory& operator=(const body_memory&) = delete;

  // Takes `bytes` when they fit under the limit with what is held; false (nothing taken) if not.
  bool take(std::size_t bytes) noexcept {
    std::size_t held = held_.load(std::memory_order_relaxed);
    do {
      if (bytes > limit_ || held > limit_ - bytes) {
        return false;
      }
    } while (!held_.compare_exchange_weak(held, held + bytes, std::memory_order_relaxed));
    return true;
  }
  void give(std::size_t bytes) noexcept { held_.fetch_sub(bytes, std::memory_order_relaxed); }
  std::size_t held() const noexcept { return held_.load(std::memory_order_relaxed); }
  std::size_t limit() const noexcept { return limit_; }

 private:
  std::atomic<std::size_t> held_{0};
  const std::size_t limit_;
};

// What one request holds, given back when it goes.
class body_hold {
 public:
  explicit body_hold(body_memory& memory) noexcept : memory_(memory) {}
  ~body_hold() { memory_.give(bytes_); }
  body_hold(const body_hold&) = delete;
  body_hold& operator=(const body_hold&) = delete;

  bool take(std::size_t bytes) noexcept {
    if (!memory_.take(bytes)) {
      refused_ = true;
      return false;
    }
    bytes_ += bytes;
    return true;
  }
  // Gives back `bytes` of what it holds (at most all of it).
  void give(std::size_t bytes) noexcept {
    bytes = std::min(bytes, bytes_);
    bytes_ -= bytes;
    memory_.give(bytes);
  }
  // Holds `total` bytes in all, taking what it lacks.
  bool hold_at_least(std::size_t total) noexcept { return total <= bytes_ || take(total - bytes_); }
  bool refused() const noexcept { return refused_; } // a take failed: the body was not read whole
  std::size_t bytes() const noexcept { return bytes_; }

 private:
  body_memory& memory_;
  std::size_t bytes_ = 0;
  bool refused_ = false;
};

} // namespace hubgate::http
