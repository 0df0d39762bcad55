// lazyload/load_future.hpp
//
// `LoadFuture`: what `LazyRegistry::load_async()` returns, a future of one
// requested load whose waits cannot deadlock.
//
// Example Usage:
//
//   lazyload::LoadFuture f = registry.load_async("model");
//   ...                 // the load runs on a background worker meanwhile
//   f.get();            // ready, or rethrows the LoadError naming "model"
//   std::future<void> s = registry.load_async("tokenizer");  // converts
//
// Rationale:
//
// * A loader may wait on another entry's future. A wait on a
//   `std::future` is invisible: two loaders waiting on each other's futures
//   hang, and a background worker that waits for a request queued behind
//   itself waits for ever. So `wait()` and `get()` first run the request on
//   the calling thread if it is still queued (a worker never waits for its
//   own queue), then wait with the entry's edge in the wait graph, as a
//   `get()` of the entry would: a wait that would never end throws
//   `CycleError` naming the chain instead.
// * `wait_for()` and `wait_until()` neither run the request nor take part in
//   cycle detection: their timeout ends the wait, and a poll such as
//   `wait_for(0s)` must not start a load on the polling thread.
// * It converts to `std::future<void>` (from an rvalue), so that code written
//   for the old return type compiles; waits through the converted future are
//   plain `std::future` waits, invisible to cycle detection and never run
//   the request inline.
// * Move-only, like `std::future`.

#ifndef LAZYLOAD_LOAD_FUTURE_HPP_
#define LAZYLOAD_LOAD_FUTURE_HPP_

#include <chrono>   // std::chrono::duration, time_point
#include <cstdint>  // std::uint64_t
#include <future>   // std::future, std::future_status, std::future_error
#include <memory>   // std::weak_ptr, std::shared_ptr
#include <utility>  // std::move

#include "detail/scheduler.hpp"
#include "detail/wait_graph.hpp"
#include "handle.hpp"

namespace lazyload {

class LazyRegistry;

// LoadFuture
//
// The future of a load requested with LazyRegistry::load_async(). Becomes
// ready when the entry is loaded, or holds the load's error. This type is
// thread-compatible, but not thread-safe (as std::future): one thread waits
// on one future. It is movable, not copyable.
class LoadFuture {
 public:
  // LoadFuture::LoadFuture()
  //
  // A future with no state: valid() is false.
  // Thread safety: none needed. Throws: none. Invalidates: none.
  LoadFuture() noexcept = default;

  // LoadFuture::LoadFuture(LoadFuture&&), operator=(LoadFuture&&)
  //
  // Takes the state of `other`, which is left without one.
  // Thread safety: none needed. Throws: none.
  // Invalidates: `other`'s state.
  LoadFuture(LoadFuture&& other) noexcept = default;
  LoadFuture& operator=(LoadFuture&& other) noexcept = default;
  LoadFuture(const LoadFuture&) = delete;
  LoadFuture& operator=(const LoadFuture&) = delete;

  // LoadFuture::~LoadFuture()
  //
  // Drops the state without waiting; the load goes on.
  // Thread safety: none needed. Throws: none. Invalidates: the state.
  ~LoadFuture() = default;

  // LoadFuture::valid()
  //
  // Returns whether the future has a state: true from load_async() until
  // get() or a move from it.
  // Thread safety: as std::future. Throws: none. Invalidates: none.
  bool valid() const noexcept { return future_.valid(); }

  // LoadFuture::wait()
  //
  // Waits until the future is ready. If the request is still queued, it runs
  // on this thread first (so a background worker never waits for a task
  // queued behind itself); if the entry is loading on another thread, the
  // wait is an edge of the wait graph, like a get() of the entry.
  // Thread safety: as std::future.
  // Throws: std::future_error(no_state) if !valid(); CycleError, naming the
  // chain, when the wait would never end (the future stays valid).
  // Invalidates: none.
  void wait() const;

  // LoadFuture::get()
  //
  // Waits as wait() does, then returns, or rethrows the load's error.
  // Thread safety: as std::future.
  // Throws: what wait() throws; LoadError naming the entry, with the
  // loader's exception nested, if the load failed (CycleError for a cycle);
  // std::future_error(broken_promise) if the registry was destroyed before
  // the load started.
  // Invalidates: the state: valid() is false afterwards.
  void get() {
    wait();
    std::future<void> done = std::move(future_);
    done.get();
  }

  // LoadFuture::wait_for(), wait_until()
  //
  // Waits until the future is ready or the timeout passes, as std::future
  // does; never runs the request on this thread and is not an edge of the
  // wait graph (the timeout ends it). Returns ready or timeout.
  // Thread safety: as std::future.
  // Throws: std::future_error(no_state) if !valid().
  // Invalidates: none.
  template <class Rep, class Period>
  std::future_status wait_for(
      const std::chrono::duration<Rep, Period>& timeout) const {
    check_valid();
    return future_.wait_for(timeout);
  }
  template <class Clock, class Duration>
  std::future_status wait_until(
      const std::chrono::time_point<Clock, Duration>& deadline) const {
    check_valid();
    return future_.wait_until(deadline);
  }

  // LoadFuture::operator std::future<void>()
  //
  // Converts an rvalue to a plain std::future<void> of the same load, for
  // code written against the old return type of load_async(). Waits through
  // the result are invisible to cycle detection and never run the request
  // on the waiting thread.
  // Thread safety: none needed.
  // Throws: none.
  // Invalidates: this future's state.
  // NOLINTNEXTLINE(google-explicit-constructor): source compatibility
  operator std::future<void>() && noexcept {
    handle_ = nullptr;
    return std::move(future_);
  }

 private:
  friend class LazyRegistry;

  // A future that is ready, or whose request cannot be waited on visibly.
  explicit LoadFuture(std::future<void> future) noexcept
      : future_(std::move(future)) {}
  // The future of request `request` of `scheduler`, loading `handle`.
  LoadFuture(std::future<void> future, LazyHandleBase& handle,
             std::weak_ptr<detail::Scheduler> scheduler,
             std::uint64_t request) noexcept
      : future_(std::move(future)),
        handle_(&handle),
        scheduler_(std::move(scheduler)),
        request_(request) {}

  void check_valid() const {
    if (!future_.valid()) {
      throw std::future_error(std::future_errc::no_state);
    }
  }

  std::future<void> future_;
  LazyHandleBase* handle_ = nullptr;  // null: nothing to run or wait on
  std::weak_ptr<detail::Scheduler> scheduler_;
  std::uint64_t request_ = 0;  // the scheduler's id of the request
};

// End of public interfaces.
// Implementation details follow.

inline void LoadFuture::wait() const {
  check_valid();
  if (handle_ == nullptr ||
      future_.wait_for(std::chrono::seconds(0)) == std::future_status::ready) {
    future_.wait();
    return;
  }
  // A registry being destroyed has stopped its scheduler, and its handles may
  // be gone: then only the promise is left to wait on (set, or broken).
  if (std::shared_ptr<detail::Scheduler> scheduler = scheduler_.lock();
      scheduler && !scheduler->stopped()) {
    if (scheduler->run_inline(request_)) return;  // ran here; ready now
    scheduler.reset();
    detail::WaitScope edge(detail::HandleAccess::site(*handle_));
    future_.wait();
    return;
  }
  future_.wait();
}

}  // namespace lazyload

#endif  // LAZYLOAD_LOAD_FUTURE_HPP_
