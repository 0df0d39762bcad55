// Fixtures shared by the registry's tests: a journal of loader runs, and a
// gate entry that holds a background worker until the test releases it.

#ifndef LAZYLOAD_TESTS_SUPPORT_REGISTRY_FIXTURES_HPP_
#define LAZYLOAD_TESTS_SUPPORT_REGISTRY_FIXTURES_HPP_

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "lazyload/registry.hpp"

namespace lazyload_test {

// Records the order in which loaders run.
class Journal {
 public:
  void add(const std::string& name) {
    std::lock_guard<std::mutex> lock(mutex_);
    order_.push_back(name);
  }
  std::vector<std::string> order() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return order_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> order_;
};

// An entry (an int) whose loader spins until release(): started in the
// background, it holds one worker, so that what is queued behind it stays
// queued while the test looks. Release it before the registry is destroyed.
class Gate {
 public:
  explicit Gate(lazyload::LazyRegistry& registry, std::string name = "gate",
                int priority = 1)
      : registry_(registry), name_(std::move(name)) {
    lazyload::EntryOptions options;
    options.priority = priority;
    registry.add(
        name_,
        [this] {
          while (!released_) std::this_thread::yield();
          return 0;
        },
        options);
  }

  // Waits until a worker runs the gate's loader.
  void wait_until_loading() const {
    while (registry_.entry(name_).status() != lazyload::Status::loading) {
      std::this_thread::yield();
    }
  }

  void release() { released_ = true; }

 private:
  lazyload::LazyRegistry& registry_;
  const std::string name_;
  std::atomic<bool> released_{false};
};

}  // namespace lazyload_test

#endif  // LAZYLOAD_TESTS_SUPPORT_REGISTRY_FIXTURES_HPP_
