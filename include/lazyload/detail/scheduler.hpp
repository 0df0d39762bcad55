// lazyload/detail/scheduler.hpp
//
// Internal: a registry's background queue and the threads that drain it, or
// the executor it hands loads to. Not part of the public interface.
//
// Two queues: explicit requests (load_async, warm starts) before the
// background pass, each in arrival order. Executor tasks hold only a
// weak_ptr to the scheduler, so a task that runs after the registry is gone
// returns at once without touching anything. A request still queued can be
// taken out and run by the thread that waits for it (run_inline), so that a
// worker never waits for a task queued behind itself. A task that cannot be
// handed to anyone (the executor throws, no worker thread starts) fails its
// entry with a LoadError naming it, instead of staying queued for ever.

#ifndef LAZYLOAD_DETAIL_SCHEDULER_HPP_
#define LAZYLOAD_DETAIL_SCHEDULER_HPP_

#include <algorithm>           // std::min, std::max, std::find_if
#include <condition_variable>  // std::condition_variable
#include <cstdint>             // std::uint64_t
#include <deque>               // std::deque
#include <exception>           // std::exception_ptr, std::throw_with_nested
#include <functional>          // std::function
#include <future>              // std::promise
#include <memory>              // std::shared_ptr, std::weak_ptr
#include <mutex>               // std::mutex, std::lock_guard
#include <string>              // std::string
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

  // Queues a background load of `handle` (already marked queued). A task
  // nobody can run fails the entry (see push()); nothing is thrown for it.
  void submit(LazyHandleBase& handle) { push(Task{&handle, nullptr}, false); }

  // Queues a warm-start load, served before the background pass.
  void submit_first(LazyHandleBase& handle) {
    push(Task{&handle, nullptr}, true);
  }

  // Queues an explicit request, served before the background pass; returns
  // its id for run_inline(). A request nobody can run fails the entry and
  // its promise gets that LoadError.
  std::uint64_t submit(LazyHandleBase& handle, std::promise<void> promise) {
    return push(
        Task{&handle, std::make_unique<std::promise<void>>(std::move(promise))},
        true);
  }

  // Takes request `id` out of the queue, if it is still there, and runs it
  // on this thread as a worker would, setting its promise. Returns whether
  // it did.
  bool run_inline(std::uint64_t id) {
    Task task;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) return false;
      const auto it = std::find_if(requests_.begin(), requests_.end(),
                                   [id](const Task& t) { return t.id == id; });
      if (it == requests_.end()) return false;
      task = std::move(*it);
      requests_.erase(it);
      ++running_;
    }
    return run_taken(task);
  }

  // Whether stop() has been called.
  bool stopped() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return stopping_;
  }

  // Stops: queued tasks are dropped (their promises become broken, before
  // the running ones are joined, so that a running loader waiting on one is
  // released), running ones are joined. Later submissions are dropped.
  void stop() noexcept {
    std::vector<std::thread> workers;
    {
      std::deque<Task> dropped;
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
    std::uint64_t id = 0;                         // set by push()
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
    return run_taken(task);
  }

  // Runs a task taken off a queue (and counted in `running_`), then
  // uncounts it. Returns true. Requires: `mutex_` not held.
  bool run_taken(Task& task) {
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

  // An explicit request: loads the handle if it is still queued. If another
  // thread got to it first, the request ends as that did: loaded, success;
  // loading, wait for it (with the wait graph's edge); failed, that
  // failure, without running the loader again. One unloaded while queued
  // stays unloaded, and its requester is told so.
  static void run_request(LazyHandleBase& handle) {
    if (HandleAccess::load_if_queued(handle)) return;
    const Status status = handle.status();
    if (status == Status::unloaded) {
      throw_error<LoadCancelled>(
          "lazyload: loading " + label_of(handle.name()) +
          " was cancelled: it was unloaded while queued");
    }
    if (status == Status::failed) {
      if (std::exception_ptr failure = HandleAccess::failure(handle)) {
        std::rethrow_exception(failure);
      }
    }
    handle.load();  // loaded: returns; loading: waits for that load
  }

  // Queues `task`, and has a worker or the executor run it; returns its id.
  // If nobody can run it (the executor throws, no worker thread starts), a
  // queued task is failed instead: this one if it is still queued.
  std::uint64_t push(Task task, bool request) {
    std::exception_ptr refused;
    std::uint64_t id = 0;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) return 0;
      id = task.id = ++last_id_;
      (request ? requests_ : background_).push_back(std::move(task));
      if (!executor_) {
        try {
          start_workers();
        } catch (...) {
          if (workers_.empty()) refused = std::current_exception();
        }
        if (!refused) {
          cv_.notify_one();
          return id;
        }
      }
    }
    if (refused) {
      refuse(id, refused, "no worker thread could start");
      return id;
    }
    // Each executor task runs the next task in queue order, whichever that
    // is, so that priority holds even on a FIFO executor.
    std::weak_ptr<Scheduler> self = self_;
    try {
      executor_([self] {
        if (auto s = self.lock()) s->run_one(false);
      });
    } catch (...) {
      refuse(id, std::current_exception(), "the executor did not take it");
    }
    return id;
  }

  // One queued task has nobody to run it: fails task `id` if it is still
  // queued, else the last one queued (the one least urgent).
  void refuse(std::uint64_t id, const std::exception_ptr& cause,
              const char* why) {
    Task task;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!take(requests_, id, task) && !take(background_, id, task)) {
        std::deque<Task>& queue = background_.empty() ? requests_ : background_;
        if (queue.empty()) return;
        task = std::move(queue.back());
        queue.pop_back();
      }
    }
    fail(task, cause, why);
  }

  // Requires: `mutex_` held. Moves task `id` out of `queue` into `out`.
  static bool take(std::deque<Task>& queue, std::uint64_t id, Task& out) {
    const auto it = std::find_if(queue.begin(), queue.end(),
                                 [id](const Task& t) { return t.id == id; });
    if (it == queue.end()) return false;
    out = std::move(*it);
    queue.erase(it);
    return true;
  }

  // Fails `task`'s entry, if it is still queued, and its promise with a
  // LoadError naming the entry, `why` and `cause`, with `cause` nested.
  static void fail(Task& task, const std::exception_ptr& cause,
                   const char* why) {
    std::string message = "lazyload: loading " + label_of(task.handle->name()) +
                          " failed: " + why;
    std::exception_ptr error;
    try {
      try {
        std::rethrow_exception(cause);
      } catch (const std::exception& e) {
        message += ": ";
        message += e.what();
        std::throw_with_nested(LoadError(message));
      } catch (...) {
        std::throw_with_nested(LoadError(message));
      }
    } catch (...) {
      error = std::current_exception();
    }
    HandleAccess::fail_queued(*task.handle, error, message);
    if (task.promise) task.promise->set_exception(error);
  }

  // Requires: `mutex_` held. Throws std::system_error if a thread cannot
  // start; the threads started before it keep running.
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

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::uint64_t last_id_ = 0;         // guarded by mutex_
  std::deque<Task> requests_;         // guarded by mutex_
  std::deque<Task> background_;       // guarded by mutex_
  std::vector<std::thread> workers_;  // guarded by mutex_
  unsigned running_ = 0;              // guarded by mutex_
  bool stopping_ = false;             // guarded by mutex_
};

}  // namespace detail
}  // namespace lazyload

#endif  // LAZYLOAD_DETAIL_SCHEDULER_HPP_
