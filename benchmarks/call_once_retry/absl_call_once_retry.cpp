// benchmarks/call_once_retry/absl_call_once_retry.cpp
//
// What absl::call_once does after its callable throws. Abseil does not
// promise std::call_once's retry: abseil-cpp#1823 reports that the flag is
// left in its "running" state, so that the next call waits forever.
// tools/bench.sh runs this under `timeout 10` and records what happened here.
//
// The same two cases as std_call_once_retry.cpp:
//   1. one thread: call_once throws, then call_once again on the same flag;
//   2. two threads: the first call sleeps 50 ms and throws while a second
//      thread is blocked in call_once on the same flag.
// Exit status 0 when both pass; a hang is killed by the timeout (status 124).

#include <absl/base/call_once.h>

#include <chrono>     // std::chrono::milliseconds
#include <cstdio>     // std::printf
#include <cstring>    // std::strcmp
#include <stdexcept>  // std::runtime_error
#include <thread>     // std::thread

namespace {

int case_one() {
  std::printf("absl::call_once: case 1 (one thread, throw then retry)\n");
  absl::once_flag flag;
  int runs = 0;
  try {
    absl::call_once(flag, [&] {
      ++runs;
      throw std::runtime_error("first attempt fails");
    });
  } catch (const std::runtime_error&) {
    std::printf("  first call threw, as its callable did\n");
  }
  std::printf("  calling again on the same flag...\n");
  absl::call_once(flag, [&] { ++runs; });
  std::printf("  second call returned; callables run: %d (expected 2)\n", runs);
  return runs == 2 ? 0 : 1;
}

int case_two() {
  std::printf(
      "absl::call_once: case 2 (a waiter blocked while the first call "
      "throws)\n");
  absl::once_flag flag;
  int runs = 0;
  std::thread first([&] {
    try {
      absl::call_once(flag, [&] {
        ++runs;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        throw std::runtime_error("first attempt fails");
      });
    } catch (const std::runtime_error&) {
      std::printf("  first thread's call threw\n");
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::thread second([&] { absl::call_once(flag, [&] { ++runs; }); });
  first.join();
  second.join();
  std::printf("  waiter returned; callables run: %d (expected 2)\n", runs);
  return runs == 2 ? 0 : 1;
}

}  // namespace

// `absl_call_once_retry 1` or `2` runs one case; no argument runs both.
int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IONBF, 0);  // every line out before a hang
  const char* which = argc > 1 ? argv[1] : "";
  if (std::strcmp(which, "2") != 0 && case_one() != 0) return 1;
  if (std::strcmp(which, "1") != 0 && case_two() != 0) return 1;
  std::printf("absl::call_once: passed\n");
  return 0;
}
