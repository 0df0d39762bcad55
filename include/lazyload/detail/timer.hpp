// lazyload/detail/timer.hpp
//
// Internal: runs callbacks at given times, on one thread started by the first
// call. Not part of the public interface. A registry uses it for its retry
// policy: each failed load that should be tried again is one job.

#ifndef LAZYLOAD_DETAIL_TIMER_HPP_
#define LAZYLOAD_DETAIL_TIMER_HPP_

#include <chrono>              // std::chrono::steady_clock
#include <condition_variable>  // std::condition_variable
#include <cstdint>             // std::uint64_t
#include <functional>          // std::function, std::greater
#include <mutex>               // std::mutex, std::unique_lock
#include <queue>               // std::priority_queue
#include <thread>              // std::thread
#include <utility>             // std::move
#include <vector>              // std::vector

namespace lazyload {
namespace detail {

// Timer
//
// This class is thread-safe. Jobs due at the same time run in the order
// they were added. A job runs without the timer's lock held, so it may add
// jobs.
class Timer {
 public:
  using Clock = std::chrono::steady_clock;

  Timer() = default;
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;
  ~Timer() { stop(); }

  // Runs `job` at `due` or soon after. Returns false, adding nothing, once
  // stop() has been called.
  // Throws: std::system_error if the thread cannot start; std::bad_alloc.
  bool at(Clock::time_point due, std::function<void()> job) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stop_) return false;
    jobs_.push(Job{due, next_++, std::move(job)});
    if (!thread_.joinable()) thread_ = std::thread([this] { loop(); });
    cv_.notify_all();
    return true;
  }

  // Drops the jobs not yet due and joins the thread; a job running finishes
  // first. Later at() calls add nothing.
  void stop() noexcept {
    std::thread thread;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
      thread.swap(thread_);
      jobs_ = {};
    }
    cv_.notify_all();
    if (thread.joinable()) thread.join();
  }

 private:
  struct Job {
    Clock::time_point due;
    std::uint64_t sequence;
    std::function<void()> run;
    bool operator>(const Job& other) const {
      return due != other.due ? due > other.due : sequence > other.sequence;
    }
  };

  void loop() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stop_) {
      if (jobs_.empty()) {
        cv_.wait(lock);
        continue;
      }
      const Clock::time_point due = jobs_.top().due;
      if (Clock::now() < due) {
        cv_.wait_until(lock, due);
        continue;
      }
      std::function<void()> job = jobs_.top().run;
      jobs_.pop();
      lock.unlock();
      job();
      lock.lock();
    }
  }

  std::mutex mutex_;
  std::condition_variable cv_;
  std::priority_queue<Job, std::vector<Job>, std::greater<>> jobs_;  // mutex_
  std::thread thread_;      // guarded by mutex_
  std::uint64_t next_ = 0;  // guarded by mutex_
  bool stop_ = false;       // guarded by mutex_
};

}  // namespace detail
}  // namespace lazyload

#endif  // LAZYLOAD_DETAIL_TIMER_HPP_
