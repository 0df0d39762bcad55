// tests/support/scenario.hpp
//
// A registry caught with an entry in each of the five statuses, and with
// names that break naive output: quotes, backslashes, a newline, control
// characters, a slash and non-ASCII UTF-8. (Bytes that are not UTF-8 are
// refused as names; the tests put them in error messages instead.) The
// monitoring tests (and the program the JSON schema test validates) all
// print this one registry.
//
//   loaded    torch, dqn "quoted" \ back
//   failed    new<LF>line<TAB>tab<SOH>
//   loading   slow/loading  (its loader waits at a gate)
//   queued    queued one    (behind it, on the single worker)
//   unloaded  ünïcødé 模型 🚀 (loaded, then unloaded), never loaded

#ifndef LAZYLOAD_TESTS_SUPPORT_SCENARIO_HPP_
#define LAZYLOAD_TESTS_SUPPORT_SCENARIO_HPP_

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "lazyload/load_future.hpp"
#include "lazyload/registry.hpp"

namespace lazyload_test {

// A gate loaders wait at until the test opens it.
class Gate {
 public:
  void open() {
    std::lock_guard<std::mutex> lock(mutex_);
    open_ = true;
    cv_.notify_all();
  }
  void wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [this] { return open_; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool open_ = false;
};

// Waits at most 30 s for `done()`; throws if it never happens.
template <class F> void wait_until(F done, const char* what) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error(std::string("timed out waiting for ") + what);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

struct Model {
  std::vector<char> bytes;
};

class Scenario {
 public:
  static constexpr const char* kTorch = "torch";
  static constexpr const char* kQuoted = "dqn \"quoted\" \\ back";
  static constexpr const char* kFailed = "new\nline\ttab\x01";
  static constexpr const char* kLoading = "slow/loading";
  static constexpr const char* kQueued = "queued one";
  static constexpr const char* kUnicode =
      "\xC3\xBCn\xC3\xAF\x63\xC3\xB8\x64\xC3\xA9 \xE6\xA8\xA1\xE5\x9E\x8B "
      "\xF0\x9F\x9A\x80";  // ünïcødé 模型 🚀
  static constexpr const char* kNever = "never loaded";
  static constexpr const char* kError =
      "weights.bin: no such file\n\"second\" line \\ end";
  static constexpr std::size_t kTorchSize = 64 * 1024 * 1024;
  static constexpr std::size_t kBudget = 1024UL * 1024 * 1024;

  Scenario() : registry_(options()) {
    try {
      build();
    } catch (...) {
      gate_.open();  // or the registry's destructor would wait forever
      throw;
    }
  }

  Scenario(const Scenario&) = delete;
  Scenario& operator=(const Scenario&) = delete;

  // Lets the slow load finish; the registry then drops the queued one.
  ~Scenario() { gate_.open(); }

  lazyload::LazyRegistry& registry() { return registry_; }

 private:
  static lazyload::RegistryOptions options() {
    lazyload::RegistryOptions o;
    o.workers = 1;
    o.memory_budget = kBudget;
    return o;
  }

  void build() {
    using lazyload::EntryOptions;
    EntryOptions torch;
    torch.priority = 1;
    torch.required = true;
    registry_.add(
        kTorch,
        [](lazyload::Progress& p) {
          p.report(1.0, "ready");
          p.set_size(kTorchSize);
          return std::make_unique<Model>();
        },
        torch);

    EntryOptions quoted;
    quoted.priority = 2;
    quoted.depends_on = {kTorch};
    quoted.size_bytes = 4096;
    registry_.add(
        kQuoted, [] { return std::string("dqn"); }, quoted);

    EntryOptions failed;
    failed.priority = 3;
    failed.required = true;
    failed.depends_on = {kUnicode};
    registry_.add(
        kFailed,
        [](lazyload::Progress& p) -> int {
          p.report(0.25, "open");
          throw std::runtime_error(kError);
        },
        failed);

    EntryOptions loading;
    loading.priority = 4;
    registry_.add(
        kLoading,
        [this](lazyload::Progress& p) {
          p.report(0.4, "weights");
          gate_.wait();
          return 42;
        },
        loading);

    registry_.add(kQueued, [] { return 1.5; });

    EntryOptions unicode;
    unicode.evictable = true;
    unicode.size_bytes = 1000;
    registry_.add(
        kUnicode, [] { return 7; }, unicode);

    EntryOptions never;
    never.required = true;
    registry_.add(
        kNever, [] { return 8; }, never);

    registry_.load(kQuoted);  // loads torch first
    try {
      registry_.load(kFailed);  // loads the unicode entry first
    } catch (const lazyload::LoadError&) {
      // Expected: the entry is meant to be failed.
    }
    registry_.unload(kUnicode);
    futures_.push_back(registry_.load_async(kLoading));
    wait_until(
        [this] { return registry_.entry(kLoading).stats().stage == "weights"; },
        "the slow entry to report its stage");
    futures_.push_back(registry_.load_async(kQueued));
  }

  Gate gate_;  // declared first: outlives the registry's worker
  std::vector<lazyload::LoadFuture> futures_;
  lazyload::LazyRegistry registry_;
};

}  // namespace lazyload_test

#endif  // LAZYLOAD_TESTS_SUPPORT_SCENARIO_HPP_
