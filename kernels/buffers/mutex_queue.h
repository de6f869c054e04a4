// The queue most code starts with: a std::deque behind a std::mutex.
//
// Bounded here (try_push fails at `capacity`, like the ring), so that both
// hand over the same number of messages in flight and a fast producer cannot
// grow the deque without limit. Every push and every pop takes the lock:
// an atomic read-modify-write on the mutex's line, which moves to whichever
// core locks it, and the deque's head/tail bookkeeping, which moves with it.
// Uncontended on one core that is ~20-40 ns a lock/unlock pair; between two
// cores every operation pulls the lock's line (and the deque's) across. The
// deque also allocates a 512-byte block each time its end crosses one, and
// frees the block its front leaves behind.
#pragma once

#include <cstddef>
#include <deque>
#include <mutex>

namespace cachetick::buffers {

template <class T>
class MutexQueue {
 public:
  explicit MutexQueue(std::size_t capacity) : cap_(capacity) {}

  bool try_push(const T& v) {
    std::lock_guard<std::mutex> lock(m_);
    if (q_.size() >= cap_) return false;
    q_.push_back(v);
    return true;
  }

  bool try_pop(T& out) {
    std::lock_guard<std::mutex> lock(m_);
    if (q_.empty()) return false;
    out = q_.front();
    q_.pop_front();
    return true;
  }

  std::size_t size() const {
    std::lock_guard<std::mutex> lock(m_);
    return q_.size();
  }
  std::size_t capacity() const { return cap_; }

 private:
  mutable std::mutex m_;
  std::deque<T> q_;
  std::size_t cap_;
};

}  // namespace cachetick::buffers
