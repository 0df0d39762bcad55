// benchmarks/library_benchmark.cpp
//
// LazySymbol<R(Args...)>: a call through a resolved symbol against the two
// ways a program already calls a function in a shared library: through a
// function pointer it got from dlsym, and directly, linked at build time
// (through the PLT). All three call the same function in the same library
// (benchmarks/library/bench_plugin.cpp), in this one binary, on one thread
// and on every CPU.
//
// BM_DirectCall           lazyload_bench_add(x, 1), linked normally
// BM_FunctionPointerCall  the same through a global function pointer
// BM_LazySymbolCall       the same through a resolved global LazySymbol
// BM_LazySymbolResolve    reset() and a call: the slow path with the library
//                         already open (the symbol's lock, a lease, dlsym)
//
// Each call takes the previous result, so iterations form one dependency
// chain: the numbers are call latencies, not throughput of independent
// calls.

#include <benchmark/benchmark.h>

#include <lazyload/shared_library.hpp>
#include <memory>  // std::shared_ptr

// The function, linked at build time for BM_DirectCall.
extern "C" int lazyload_bench_add(int a, int b);

namespace {

lazyload::LazyLibrary plugin{LAZYLOAD_BENCH_PLUGIN_PATH};
lazyload::LazySymbol<int(int, int)> lazy_add{plugin, "lazyload_bench_add"};

}  // namespace

// A global the compiler must reload after every call, as a program's
// function pointers are; set before the benchmarks run.
int (*function_pointer_add)(int, int) = nullptr;

namespace {

void BM_DirectCall(benchmark::State& state) {
  int x = 0;
  for (auto _ : state) x = lazyload_bench_add(x, 1);
  benchmark::DoNotOptimize(x);
}

void BM_FunctionPointerCall(benchmark::State& state) {
  int x = 0;
  for (auto _ : state) x = function_pointer_add(x, 1);
  benchmark::DoNotOptimize(x);
}

void BM_LazySymbolCall(benchmark::State& state) {
  int x = 0;
  for (auto _ : state) x = lazy_add(x, 1);
  benchmark::DoNotOptimize(x);
}

void BM_LazySymbolResolve(benchmark::State& state) {
  lazyload::LazySymbol<int(int, int)> add{plugin, "lazyload_bench_add"};
  const std::shared_ptr<lazyload::SharedLibrary> open = plugin.lease();
  int x = 0;
  for (auto _ : state) {
    add.reset();
    x = add(x, 1);
  }
  benchmark::DoNotOptimize(x);
}

BENCHMARK(BM_DirectCall)->Threads(1);
BENCHMARK(BM_DirectCall)->ThreadPerCpu();
BENCHMARK(BM_FunctionPointerCall)->Threads(1);
BENCHMARK(BM_FunctionPointerCall)->ThreadPerCpu();
BENCHMARK(BM_LazySymbolCall)->Threads(1);
BENCHMARK(BM_LazySymbolCall)->ThreadPerCpu();
BENCHMARK(BM_LazySymbolResolve)->Threads(1);

}  // namespace

int main(int argc, char** argv) {
  // Resolved before any measurement: the benchmarks measure loaded calls.
  function_pointer_add = lazy_add.get();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
