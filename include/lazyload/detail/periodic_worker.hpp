// lazyload/detail/periodic_worker.hpp
//
// Internal: one thread that runs a task periodically (a registry's idle
// eviction), started only when first needed. Not part of the public
// interface.

#ifndef LAZYLOAD_DETAIL_PERIODIC_WORKER_HPP_
#define LAZYLOAD_DETAIL_PERIODIC_WORKER_HPP_

#include <chrono>              // std::chrono::steady_clock
#include <condition_variable>  // std::condition_variable
#include <functional>          // std::function
#include <mutex>               // std::mutex, std::unique_lock
#include <thread>              // std::thread
#include <utility>             // std::move

namespace lazyload {
namespace detail {

// PeriodicWorker
//
// This class is thread-safe.
class PeriodicWorker {
 public:
  using Duration = std::chrono::steady_clock::duration;

  PeriodicWorker() = default;
  PeriodicWorker(const PeriodicWorker&) = delete;
  PeriodicWorker& operator=(const PeriodicWorker&) = delete;
  ~PeriodicWorker() { stop(); }

  // Runs `tick` every `period` from now on, on a thread started by the first
  // call (later calls only shorten the period; their `tick` is ignored).
  // Returns false, starting nothing, once stop() has been called.
  // Throws: std::system_error if the thread cannot start.
  bool run_every(Duration period, std::function<void()> tick) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stop_) return false;
    if (period_ == Duration{} || period < period_) period_ = period;
    if (!thread_.joinable()) {
      tick_ = std::move(tick);
      thread_ = std::thread([this] { loop(); });
    }
    return true;
  }

  // Stops and joins the thread; a tick in progress finishes first.
  void stop() noexcept {
    std::thread thread;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
      thread.swap(thread_);
    }
    cv_.notify_all();
    if (thread.joinable()) thread.join();
  }

 private:
  void loop() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stop_) {
      cv_.wait_for(lock, period_);
      if (stop_) break;
      lock.unlock();
      tick_();
      lock.lock();
    }
  }

  std::mutex mutex_;
  std::condition_variable cv_;
  std::thread thread_;          // guarded by mutex_
  std::function<void()> tick_;  // set once, before the thread starts
  Duration period_{};           // guarded by mutex_
  bool stop_ = false;           // guarded by mutex_
};

}  // namespace detail
}  // namespace lazyload

#endif  // LAZYLOAD_DETAIL_PERIODIC_WORKER_HPP_
