// lazyload/detail/scheduler.hpp
//
// Internal: a registry's background queue and the threads that drain it, or
// the executor it hands loads to. Not part of the public interface.
//
// Two queues: explicit requests (load_async, warm starts) before the
// background pass, each in arrival order. Executor tasks hold only a
// weak_ptr to the scheduler, so a task that runs after the registry is gone
// returns at once without touching anything.

#ifndef LAZYLOAD_DETAIL_SCHEDULER_HPP_
#define LAZYLOAD_DETAIL_SCHEDULER_HPP_

#include <algorithm>           // std::min, std::max
#include <condition_variable>  // std::condition_variable
#include <deque>               // std::deque
#include <functional>          // std::function
#include <future>              // std::promise
#include <memory>              // std::shared_ptr, std::weak_ptr
#include <mutex>               // std::mutex, std::lock_guard
#include <thread>              // std::thread
#include <utility>             // std::move
#include <vector>              // std::vector

#include "../error.hpp"
#include "../handle.hpp"
#include "../status.hpp"
#include "throw.hpp"

namespace lazyload {
namespace detail {

// Scheduler
//
// This class is thread-safe. Create it with make(), so that executor tasks
// can hold it weakly.
class Scheduler {
 public:
  using Executor = std::function<void(std::function<void()>)>;

  // Returns a scheduler with `workers` threads (0: one per core, at most 4),
  // started on first use, or handing tasks to `executor` when it is set.
  static std::shared_ptr<Scheduler> make(Executor executor, unsigned workers) {
    std::shared_ptr<Scheduler> s(new Scheduler(std::move(executor), workers));
    s->self_ = s;
    return s;
  }

  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;
  ~Scheduler() { stop(); }

  // Queues a background load of `handle` (already marked queued).
  void submit(LazyHandleBase& handle) { push(Task{&handle, nullptr}, false); }

  // Queues a warm-start load, served before the background pass.
  void submit_first(LazyHandleBase& handle) {
    push(Task{&handle, nullptr}, true);
  }

  // Queues an explicit request, served before the background pass.
  void submit(LazyHandleBase& handle, std::promise<void> promise) {
    push(
        Task{&handle, std::make_unique<std::promise<void>>(std::move(promise))},
        true);
  }

  // Stops: queued tasks are dropped (their promises become broken), running
  // ones are joined. Later submissions are dropped.
  void stop() noexcept {
    std::vector<std::thread> workers;
    std::deque<Task> dropped;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
      workers.swap(workers_);
      dropped.swap(requests_);
      for (auto& t : background_) dropped.push_back(std::move(t));
      background_.clear();
      cv_.notify_all();
    }
    for (auto& w : workers) w.join();
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [this] { return running_ == 0; });
  }

 private:
  struct Task {
    LazyHandleBase* handle = nullptr;
    std::unique_ptr<std::promise<void>> promise;  // explicit requests only
  };

  Scheduler(Executor executor, unsigned workers)
      : executor_(std::move(executor)),
        workers_wanted_(workers != 0 ? workers
                                     : std::min(4U, std::max(1U, cores()))) {}

  static unsigned cores() noexcept {
    return std::thread::hardware_concurrency();
  }

  // Runs the next queued task, if any; what executor tasks and workers do.
  // Returns false once stopping.
  bool run_one(bool block) {
    Task task;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      if (block) {
        cv_.wait(lock, [this] {
          return stopping_ || !requests_.empty() || !background_.empty();
        });
      }
      if (stopping_) return false;
      std::deque<Task>& queue = requests_.empty() ? background_ : requests_;
      if (queue.empty()) return true;
      task = std::move(queue.front());
      queue.pop_front();
      ++running_;
    }
    run(task);
    std::lock_guard<std::mutex> lock(mutex_);
    --running_;
    cv_.notify_all();
    return true;
  }

  static void run(Task& task) {
    if (task.promise) {
      try {
        run_request(*task.handle);
        task.promise->set_value();
      } catch (...) {
        task.promise->set_exception(std::current_exception());
      }
      return;
    }
    try {
      HandleAccess::load_if_queued(*task.handle);
    } catch (...) {
      // Recorded in the entry's status and error; nobody waits on it here.
    }
  }

  // An explicit request: loads the handle if it is still queued, or waits
  // for a load under way; one unloaded while queued stays unloaded, and its
  // requester is told so.
  static void run_request(LazyHandleBase& handle) {
    if (HandleAccess::load_if_queued(handle)) return;
    if (handle.status() == Status::unloaded) {
      throw_error<LoadError>("lazyload: loading " + label_of(handle.name()) +
                             " was cancelled: it was unloaded while queued");
    }
    handle.load();
  }

  void push(Task task, bool request) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) return;
      (request ? requests_ : background_).push_back(std::move(task));
      if (!executor_) {
        start_workers();
        cv_.notify_one();
        return;
      }
    }
    // Each executor task runs the next task in queue order, whichever that
    // is, so that priority holds even on a FIFO executor.
    std::weak_ptr<Scheduler> self = self_;
    executor_([self] {
      if (auto s = self.lock()) s->run_one(false);
    });
  }

  // Requires: `mutex_` held.
  void start_workers() {
    while (workers_.size() < workers_wanted_) {
      workers_.emplace_back([this] {
        while (run_one(true)) {
        }
      });
    }
  }

  const Executor executor_;
  const unsigned workers_wanted_;
  std::weak_ptr<Scheduler> self_;  // set by make()

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Task> requests_;         // guarded by mutex_
  std::deque<Task> background_;       // guarded by mutex_
  std::vector<std::thread> workers_;  // guarded by mutex_
  unsigned running_ = 0;              // guarded by mutex_
  bool stopping_ = false;             // guarded by mutex_
};

}  // namespace detail
}  // namespace lazyload

#endif  // LAZYLOAD_DETAIL_SCHEDULER_HPP_
