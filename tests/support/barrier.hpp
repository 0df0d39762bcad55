// tests/support/barrier.hpp
//
// A one-shot start line for concurrency tests (std::barrier is C++20): every
// thread waits at arrive_and_wait() until all have arrived, then all run.

#ifndef LAZYLOAD_TESTS_SUPPORT_BARRIER_HPP_
#define LAZYLOAD_TESTS_SUPPORT_BARRIER_HPP_

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace lazyload_test {

class StartLine {
 public:
  explicit StartLine(std::size_t count) : count_(count) {}

  void arrive_and_wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    if (++arrived_ == count_) {
      cv_.notify_all();
      return;
    }
    cv_.wait(lock, [this] { return arrived_ >= count_; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::size_t count_;
  std::size_t arrived_ = 0;
};

// Runs body(i) on `count` threads released together, and joins them.
inline void race(std::size_t count,
                 const std::function<void(std::size_t)>& body) {
  StartLine start(count);
  std::vector<std::thread> threads;
  threads.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      body(i);
    });
  }
  for (auto& t : threads) t.join();
}

}  // namespace lazyload_test

#endif  // LAZYLOAD_TESTS_SUPPORT_BARRIER_HPP_
