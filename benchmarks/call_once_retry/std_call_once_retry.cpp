// benchmarks/call_once_retry/std_call_once_retry.cpp
//
// What std::call_once does after its callable throws. The standard says the
// call is then "exceptional": the flag stays unset and the next call_once
// runs a callable again. GCC bug 66146 reports that libstdc++'s
// implementation (pthread_once underneath) hangs instead on some platforms.
// tools/bench.sh runs this under `timeout 10` and records what happened here.
//
// Two cases, each printing a line when it passes:
//   1. one thread: call_once throws, then call_once again on the same flag;
//   2. two threads: the first call sleeps 50 ms and throws while a second
//      thread is blocked in call_once on the same flag; the second thread's
//      callable must then run.
// Exit status 0 when both pass; a hang is killed by the timeout (status 124).

#include <chrono>     // std::chrono::milliseconds
#include <cstdio>     // std::printf
#include <mutex>      // std::once_flag, std::call_once
#include <stdexcept>  // std::runtime_error
#include <thread>     // std::thread

int main() {
  std::setvbuf(stdout, nullptr, _IONBF, 0);  // every line out before a hang

  std::printf("std::call_once: case 1 (one thread, throw then retry)\n");
  {
    std::once_flag flag;
    int runs = 0;
    try {
      std::call_once(flag, [&] {
        ++runs;
        throw std::runtime_error("first attempt fails");
      });
    } catch (const std::runtime_error&) {
      std::printf("  first call threw, as its callable did\n");
    }
    std::call_once(flag, [&] { ++runs; });
    std::printf("  second call returned; callables run: %d (expected 2)\n",
                runs);
    if (runs != 2) return 1;
  }

  std::printf(
      "std::call_once: case 2 (a waiter blocked while the first call "
      "throws)\n");
  {
    std::once_flag flag;
    int runs = 0;
    std::thread first([&] {
      try {
        std::call_once(flag, [&] {
          ++runs;
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
          throw std::runtime_error("first attempt fails");
        });
      } catch (const std::runtime_error&) {
        std::printf("  first thread's call threw\n");
      }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::thread second([&] { std::call_once(flag, [&] { ++runs; }); });
    first.join();
    second.join();
    std::printf("  waiter returned; callables run: %d (expected 2)\n", runs);
    if (runs != 2) return 1;
  }
  std::printf("std::call_once: both cases passed\n");
  return 0;
}
