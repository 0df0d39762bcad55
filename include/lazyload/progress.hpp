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
// Rationale: the fraction is an atomic so that readers never block a loader;
// the stage is a short string behind its own small mutex, written a handful of
// times per load.

#ifndef LAZYLOAD_PROGRESS_HPP_
#define LAZYLOAD_PROGRESS_HPP_

#include <atomic>       // std::atomic
#include <cmath>        // std::isnan
#include <cstddef>      // std::size_t
#include <mutex>        // std::mutex, std::lock_guard
#include <string>       // std::string
#include <string_view>  // std::string_view

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

 private:
  friend class LazyHandleBase;

  // Clears everything; the handle calls it as a new load starts.
  // Requires: no lock held (it takes `mutex_`).
  void reset() {
    fraction_.store(0.0, std::memory_order_relaxed);
    size_.store(0, std::memory_order_relaxed);
    std::lock_guard<std::mutex> lock(mutex_);
    stage_.clear();
  }

  std::atomic<double> fraction_{0.0};
  std::atomic<std::size_t> size_{0};
  mutable std::mutex mutex_;
  std::string stage_;  // guarded by mutex_
};

}  // namespace lazyload

#endif  // LAZYLOAD_PROGRESS_HPP_
