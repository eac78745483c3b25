// What the CPU kernels share: cancellation (Ctrl-C) and aligned scratch; the enums are in types.h.
#pragma once
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <new>
#include <stdexcept>

#include "imgclf/types.h"

namespace imgclf {

// Cooperative cancellation: compiled loops call poll() from one thread; poll() asks the
// caller-supplied check (e.g. "was Ctrl-C pressed?") at most every 100 ms.  Every thread
// reads stopped() and leaves its loop early; the caller raises after the parallel region.
class Cancel {
 public:
  explicit Cancel(std::function<bool()> check = {}) : check_(std::move(check)) {}
  bool stopped() const { return stop_.load(std::memory_order_relaxed); }
  void poll() {
    if (!check_ || stopped()) return;
    auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    if (check_()) stop_.store(true, std::memory_order_relaxed);
  }

 private:
  std::function<bool()> check_;
  std::atomic<bool> stop_{false};
  std::chrono::steady_clock::time_point last_{};
};

// 64-byte aligned, uninitialized scratch of T.
template <class T> class Buffer {
 public:
  Buffer() = default;
  explicit Buffer(std::size_t n) { reset(n); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer() { std::free(p_); }
  void reset(std::size_t n) {
    std::free(p_);
    p_ = nullptr;
    n_ = n;
    if (n == 0) return;
    std::size_t bytes = (n * sizeof(T) + 63) / 64 * 64;
    p_ = static_cast<T*>(std::aligned_alloc(64, bytes));
    if (!p_) throw std::bad_alloc();
  }
  T* data() { return p_; }
  const T* data() const { return p_; }
  T& operator[](std::size_t i) { return p_[i]; }
  const T& operator[](std::size_t i) const { return p_[i]; }
  std::size_t size() const { return n_; }

 private:
  T* p_ = nullptr;
  std::size_t n_ = 0;
};

}  // namespace imgclf
