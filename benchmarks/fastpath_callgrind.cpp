// benchmarks/fastpath_callgrind.cpp
//
// A deterministic look at the loaded fast path, for tools/bench.sh:
//
// * under `valgrind --tool=callgrind`, each `fastpath_*` function below is
//   called N times on a loaded value; its self instruction count (Ir) divided
//   by N is the instructions one access costs, exactly, run after run;
// * `objdump -d --no-show-raw-insn` of the same functions shows the code: the
//   loaded path of `fastpath_lazy_get` must hold no locked instruction and no
//   store.
//
// Each function is noinline and extern "C", so that it is one symbol with an
// unmangled name, and returns the int it read, so that nothing is elided.
//
//   fastpath_callgrind [N]   (default 1000000)

#include <atomic>   // std::atomic
#include <cstdio>   // std::printf
#include <cstdlib>  // std::atol
#include <lazyload/handle.hpp>
#include <mutex>  // std::once_flag, std::call_once

#if LAZYLOAD_BENCH_ABSL
#  include <absl/base/call_once.h>
#endif

#include "support/opaque.hpp"

#define LAZYLOAD_BENCH_ACCESSOR extern "C" __attribute__((noinline))

namespace {

lazyload::LazyHandle<int> g_handle([] { return lazyload_bench::opaque_int(); });

int g_plain = 0;

std::once_flag g_std_flag;
int g_std_value = 0;

#if LAZYLOAD_BENCH_ABSL
absl::once_flag g_absl_flag;
int g_absl_value = 0;
#endif

// The inline-storage design of handle_benchmark.cpp, reduced to its fast path.
std::atomic<bool> g_inline_ready{false};
int g_inline_value = 0;
LAZYLOAD_NOINLINE int& inline_slow() {
  static std::mutex m;
  std::lock_guard<std::mutex> lock(m);
  if (!g_inline_ready.load(std::memory_order_relaxed)) {
    g_inline_value = lazyload_bench::opaque_int();
    g_inline_ready.store(true, std::memory_order_release);
  }
  return g_inline_value;
}

}  // namespace

LAZYLOAD_BENCH_ACCESSOR int fastpath_global() { return g_plain; }

LAZYLOAD_BENCH_ACCESSOR int fastpath_static() {
  static int value = lazyload_bench::opaque_int();
  return value;
}

LAZYLOAD_BENCH_ACCESSOR int fastpath_lazy_get() { return g_handle.get(); }

LAZYLOAD_BENCH_ACCESSOR int fastpath_lazy_try_get() {
  return *g_handle.try_get();
}

LAZYLOAD_BENCH_ACCESSOR int fastpath_inline_flag() {
  if (LAZYLOAD_PREDICT_TRUE(g_inline_ready.load(std::memory_order_acquire))) {
    return g_inline_value;
  }
  return inline_slow();
}

LAZYLOAD_BENCH_ACCESSOR int fastpath_std_call_once() {
  std::call_once(g_std_flag,
                 [] { g_std_value = lazyload_bench::opaque_int(); });
  return g_std_value;
}

#if LAZYLOAD_BENCH_ABSL
LAZYLOAD_BENCH_ACCESSOR int fastpath_absl_call_once() {
  absl::call_once(g_absl_flag,
                  [] { g_absl_value = lazyload_bench::opaque_int(); });
  return g_absl_value;
}
#endif

int main(int argc, char** argv) {
  const long n = argc > 1 ? std::atol(argv[1]) : 1000000;
  g_plain = lazyload_bench::opaque_int();
  int (*const accessors[])() = {
    fastpath_global,
    fastpath_static,
    fastpath_lazy_get,
    fastpath_lazy_try_get,
    fastpath_inline_flag,
    fastpath_std_call_once,
#if LAZYLOAD_BENCH_ABSL
    fastpath_absl_call_once,
#endif
  };
  // Load everything first, so that the N counted calls are all loaded.
  for (auto* f : accessors) f();
  unsigned long sum = 0;
  for (auto* f : accessors) {
    for (long i = 0; i < n; ++i) sum += static_cast<unsigned>(f());
  }
  std::printf("calls per accessor: %ld (checksum %lu)\n", n, sum);
  return 0;
}
