// benchmarks/call_once_retry/lazyload_retry.cpp
//
// The same two cases as std_call_once_retry.cpp, with LazyHandle: a loader
// that throws makes get() throw LoadError (every waiter of that load gets the
// same error), and the next get() runs the loader again.

#include <atomic>  // std::atomic
#include <chrono>  // std::chrono::milliseconds
#include <cstdio>  // std::printf
#include <lazyload/handle.hpp>
#include <stdexcept>  // std::runtime_error
#include <thread>     // std::thread

int main() {
  std::setvbuf(stdout, nullptr, _IONBF, 0);

  std::printf("LazyHandle: case 1 (one thread, throw then retry)\n");
  {
    int runs = 0;
    lazyload::LazyHandle<int> h("flaky", [&] {
      if (++runs == 1) throw std::runtime_error("first attempt fails");
      return 7;
    });
    try {
      h.get();
    } catch (const lazyload::LoadError& e) {
      std::printf("  first get() threw: %s\n", e.what());
    }
    const int v = h.get();
    std::printf("  second get() returned %d; loader runs: %d (expected 2)\n", v,
                runs);
    if (runs != 2) return 1;
  }

  std::printf(
      "LazyHandle: case 2 (a waiter blocked while the first load throws)\n");
  {
    std::atomic<int> runs{0};
    lazyload::LazyHandle<int> h("flaky", [&] {
      if (runs.fetch_add(1) == 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        throw std::runtime_error("first attempt fails");
      }
      return 7;
    });
    std::thread first([&] {
      try {
        h.get();
      } catch (const lazyload::LoadError&) {
        std::printf("  first thread's get() threw\n");
      }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::thread second([&] {
      for (;;) {
        try {
          h.get();
          return;
        } catch (const lazyload::LoadError&) {
          std::printf("  the waiter got the same error, and retries\n");
        }
      }
    });
    first.join();
    second.join();
    std::printf("  waiter returned; loader runs: %d (expected 2)\n",
                runs.load());
    if (runs.load() != 2) return 1;
  }
  std::printf("LazyHandle: both cases passed\n");
  return 0;
}
