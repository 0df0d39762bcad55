// The shared library benchmarks/library_benchmark.cpp calls: one small
// function, so that the benchmark measures the call, not the work.

extern "C" int lazyload_bench_add(int a, int b) { return a + b; }
