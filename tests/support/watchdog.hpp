// tests/support/watchdog.hpp
//
// Turns a hang into a failure: a Watchdog aborts the test program, naming
// what hung, unless it is destroyed within its limit. For tests of deadlock
// fixes, so that a regression fails CI instead of stalling it.

#ifndef LAZYLOAD_TESTS_SUPPORT_WATCHDOG_HPP_
#define LAZYLOAD_TESTS_SUPPORT_WATCHDOG_HPP_

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

namespace lazyload_test {

class Watchdog {
 public:
  Watchdog(std::chrono::seconds limit, std::string what)
      : what_(std::move(what)), thread_([this, limit] {
          std::unique_lock<std::mutex> lock(mutex_);
          if (!cv_.wait_for(lock, limit, [this] { return done_; })) {
            std::fprintf(stderr, "watchdog: '%s' hung for %lld s\n",
                         what_.c_str(), static_cast<long long>(limit.count()));
            std::abort();
          }
        }) {}

  ~Watchdog() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false;
  std::string what_;
  std::thread thread_;
};

}  // namespace lazyload_test

#endif  // LAZYLOAD_TESTS_SUPPORT_WATCHDOG_HPP_
