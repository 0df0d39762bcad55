// lazyload/progress.hpp
//
// `Progress`: how a loader says how far it has got. A loader that takes
// `lazyload::Progress&` reports a fraction and a stage name while it runs, and
// any thread can read both from the handle or the registry snapshot at the
// same time. This is the staged loading of a GPU model
// (cuda_init -> architecture -> weights -> optimization -> ready):
//
//   lazyload::LazyHandle model{[](lazyload::Progress& p) {
//     p.report(0.1, "architecture");
//     auto m = build();
//     p.report(0.7, "weights");
//     m->load_weights("w.bin");
//     p.set_size(m->bytes());  // for the registry's memory budget
//     return m;
//   }};
//
// A long loader also asks whether it should give up: `cancel()`, `unload()`,
// a `load_timeout` or the registry's destruction request a stop, and
// `stop_requested()` (a relaxed load, plus a clock read only when a deadline
// is set) is cheap enough for a tight loop:
//
//   for (auto& shard : shards) {
//     p.throw_if_stop_requested();  // throws lazyload::LoadCancelled
//     m->load(shard);
//   }
//
// Rationale: the fraction is an atomic so that readers never block a loader;
// the stage is a short string behind its own small mutex, written a handful of
// times per load.

#ifndef LAZYLOAD_PROGRESS_HPP_
#define LAZYLOAD_PROGRESS_HPP_

#include <atomic>       // std::atomic
#include <chrono>       // std::chrono::steady_clock
#include <cmath>        // std::isnan
#include <cstddef>      // std::size_t
#include <cstdint>      // std::int64_t
#include <mutex>        // std::mutex, std::lock_guard
#include <string>       // std::string
#include <string_view>  // std::string_view
#include <utility>      // std::move

#include "error.hpp"

namespace lazyload {

class LazyHandleBase;

// Progress
//
// Progress of one load, owned by its handle. This class is thread-safe. It is
// neither copyable nor movable: loaders receive it by reference.
class Progress {
 public:
  // Progress::Progress()
  //
  // Creates progress at 0, with no stage and no size reported.
  // Thread safety: none needed (construction). Throws: none.
  // Invalidates: none.
  Progress() = default;

  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // Progress::~Progress()
  //
  // Destroys the progress with its handle.
  // Thread safety: no other member may run during destruction.
  // Throws: none.
  // Invalidates: every reference to it, such as the one a loader receives.
  ~Progress() = default;

  // Progress::report()
  //
  // Records the fraction done, clamped to [0, 1] (NaN is ignored), and, when
  // `stage` is not empty, the name of the stage now running.
  // Thread safety: safe to call concurrently with every reader.
  // Throws: std::bad_alloc only, when the stage name cannot be copied.
  // Invalidates: none.
  void report(double fraction, std::string_view stage = {}) {
    if (!std::isnan(fraction)) {
      fraction_.store(fraction < 0.0 ? 0.0 : (fraction > 1.0 ? 1.0 : fraction),
                      std::memory_order_relaxed);
    }
    if (!stage.empty()) {
      std::lock_guard<std::mutex> lock(mutex_);
      stage_.assign(stage.data(), stage.size());
    }
  }

  // Progress::set_size()
  //
  // Reports the size of the value in bytes, for memory accounting. It wins
  // over a size declared in the entry's options.
  // Thread safety: safe to call concurrently.
  // Throws: none.
  // Invalidates: none.
  void set_size(std::size_t bytes) noexcept {
    size_.store(bytes, std::memory_order_relaxed);
  }

  // Progress::fraction()
  //
  // Returns the last fraction reported, 0 before the first report.
  // Thread safety: safe to call concurrently. Throws: none. Invalidates: none.
  double fraction() const noexcept {
    return fraction_.load(std::memory_order_relaxed);
  }

  // Progress::stage()
  //
  // Returns a copy of the last stage name reported, empty before the first.
  // Thread safety: safe to call concurrently.
  // Throws: std::bad_alloc only. Invalidates: none.
  std::string stage() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return stage_;
  }

  // Progress::size_bytes()
  //
  // Returns the size reported with set_size(), 0 when none was.
  // Thread safety: safe to call concurrently. Throws: none. Invalidates: none.
  std::size_t size_bytes() const noexcept {
    return size_.load(std::memory_order_relaxed);
  }

  // Progress::stop_requested()
  //
  // Returns whether this load has been asked to stop: by `cancel()`, by
  // `unload()`, by the registry's destruction, or because its `load_timeout`
  // has passed. A loader that sees it should give up by throwing; whatever it
  // returns is not published anyway.
  // Thread safety: safe to call concurrently. Throws: none. Invalidates: none.
  bool stop_requested() const noexcept {
    if (stop_.load(std::memory_order_relaxed)) return true;
    const std::int64_t deadline = deadline_.load(std::memory_order_relaxed);
    return deadline != kNoDeadline && now_ticks() >= deadline;
  }

  // Progress::throw_if_stop_requested()
  //
  // Throws `LoadCancelled` if stop_requested(); otherwise does nothing.
  // Thread safety: safe to call concurrently.
  // Throws: LoadCancelled. Invalidates: none.
  void throw_if_stop_requested() const {
    if (stop_requested()) {
      throw LoadCancelled("lazyload: the load was asked to stop");
    }
  }

 private:
  friend class LazyHandleBase;

  static constexpr std::int64_t kNoDeadline = 0;

  static std::int64_t now_ticks() noexcept {
    return std::chrono::steady_clock::now().time_since_epoch().count();
  }

  // Clears everything and sets the new load's deadline; the handle calls it
  // as a load starts. Requires: no lock held (it takes `mutex_`).
  void reset(std::chrono::steady_clock::duration timeout = {}) {
    fraction_.store(0.0, std::memory_order_relaxed);
    size_.store(0, std::memory_order_relaxed);
    stop_.store(false, std::memory_order_relaxed);
    std::int64_t deadline = kNoDeadline;
    if (timeout > std::chrono::steady_clock::duration::zero()) {
      const auto now = std::chrono::steady_clock::now().time_since_epoch();
      deadline = now > std::chrono::steady_clock::duration::max() - timeout
                     ? std::chrono::steady_clock::duration::max().count()
                     : (now + timeout).count();
    }
    deadline_.store(deadline, std::memory_order_relaxed);
    std::lock_guard<std::mutex> lock(mutex_);
    stage_.clear();
  }

  // Asks the running load to stop.
  void request_stop() noexcept { stop_.store(true, std::memory_order_relaxed); }
  // Whether request_stop() was called for this load (not the deadline).
  bool stop_flag() const noexcept {
    return stop_.load(std::memory_order_relaxed);
  }
  // Whether this load's deadline has passed.
  bool timed_out() const noexcept {
    const std::int64_t deadline = deadline_.load(std::memory_order_relaxed);
    return deadline != kNoDeadline && now_ticks() >= deadline;
  }
  // Copies what a finished reload reported into the serving progress.
  void adopt(const Progress& other) {
    fraction_.store(1.0, std::memory_order_relaxed);
    size_.store(other.size_bytes(), std::memory_order_relaxed);
    std::string stage = other.stage();
    std::lock_guard<std::mutex> lock(mutex_);
    stage_ = std::move(stage);
  }

  std::atomic<double> fraction_{0.0};
  std::atomic<std::size_t> size_{0};
  std::atomic<bool> stop_{false};
  std::atomic<std::int64_t> deadline_{kNoDeadline};  // steady_clock ticks
  mutable std::mutex mutex_;
  std::string stage_;  // guarded by mutex_
};

}  // namespace lazyload

#endif  // LAZYLOAD_PROGRESS_HPP_
