// benchmarks/registry_benchmark.cpp
//
// LazyRegistry: lookup by name, status snapshots, registration, background
// scheduling, and the memory an entry costs. Allocations are counted by the
// replaced operator new in support/alloc_counter.cpp.
//
// BM_RegistryGet/by_name      get<int>(name) on a loaded entry among 1,000,
//                             1 to 16 threads; allocs_per_op must be 0.
// BM_RegistryGet/by_name_100k get<int>(name) of random loaded entries among
//                             100,000, so that cache misses show.
// BM_RegistryGet/kept_handle  the same value through the handle add() gave.
// BM_RegistrySnapshot/<n>     snapshot() of n loaded entries.
// BM_RegistryAdd/<n>          add() of n entries into a fresh registry.
// BM_RegistryMemory/<n>       heap bytes and allocations per add(), and per
//                             first load, over n entries.
// BM_Background/registry/<n>  start_background() + wait_idle() over n trivial
//                             loaders on 2 workers, against
// BM_Background/bare_queue/<n> 2 threads popping n std::function tasks.
// BM_DumpStatus/<n>           dump_status() (<lazyload/json.hpp>) of n loaded
//                             entries, when built with nlohmann_json.
// BM_Prometheus/<n>           to_prometheus() (<lazyload/prometheus.hpp>) of
//                             n loaded entries, per-entry series included.
// BM_PrometheusTotals/<n>     the same with PrometheusOptions::per_entry
//                             false: the registry-wide series only.

#include <benchmark/benchmark.h>

#include <algorithm>           // std::find
#include <atomic>              // std::atomic
#include <chrono>              // std::chrono
#include <condition_variable>  // std::condition_variable
#include <deque>               // std::deque
#include <functional>          // std::function
#include <lazyload/prometheus.hpp>
#include <lazyload/registry.hpp>
#if defined(LAZYLOAD_BENCH_WITH_JSON)
#  include <lazyload/json.hpp>
#endif
#include <map>          // std::map
#include <memory>       // std::unique_ptr
#include <mutex>        // std::mutex
#include <random>       // std::mt19937_64
#include <string>       // std::string
#include <string_view>  // std::string_view
#include <thread>       // std::thread
#include <vector>       // std::vector

#include "support/alloc_counter.hpp"
#include "support/names.hpp"

namespace {

lazyload::RegistryOptions options(unsigned workers) {
  lazyload::RegistryOptions o;
  o.workers = workers;
  return o;
}

// A registry of n loaded int entries, built once per n and kept.
lazyload::LazyRegistry& loaded_registry(std::size_t n) {
  static std::mutex mutex;
  static std::map<std::size_t, std::unique_ptr<lazyload::LazyRegistry>> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto& r = cache[n];
  if (!r) {
    r = std::make_unique<lazyload::LazyRegistry>(options(1));
    for (const std::string& name : lazyload_bench::make_names(n)) {
      r->add(name, [] { return 1; }).load();
    }
  }
  return *r;
}

// ---------------------------------------------------------------------------
// Lookup by name.

// Reports a lookup benchmark's items and its allocations per lookup.
void report_lookups(benchmark::State& state,
                    const lazyload_bench::AllocScope& scope) {
  state.counters["allocs_per_op"] =
      benchmark::Counter(static_cast<double>(scope.allocations()) /
                             static_cast<double>(state.iterations()),
                         benchmark::Counter::kAvgThreads);
  state.SetItemsProcessed(state.iterations());
}

void BM_RegistryGetByName(benchmark::State& state) {
  lazyload::LazyRegistry& r = loaded_registry(1000);
  const std::string name = "res-0000500";
  benchmark::DoNotOptimize(r.get<int>(name));
  lazyload_bench::AllocScope scope;
  for (auto _ : state) {
    int v = r.get<int>(name);
    benchmark::DoNotOptimize(v);
  }
  report_lookups(state, scope);
}

// Each thread looks up its own random sequence of names (fixed seed per
// thread), built before the timed loop.
void BM_RegistryGetByName100k(benchmark::State& state) {
  constexpr std::size_t kEntries = 100000;
  constexpr std::size_t kLookups = 1 << 14;  // a power of two
  lazyload::LazyRegistry& r = loaded_registry(kEntries);
  static const std::vector<std::string> names =
      lazyload_bench::make_names(kEntries);
  std::mt19937_64 random(0x5eed + static_cast<unsigned>(state.thread_index()));
  std::uniform_int_distribution<std::size_t> pick(0, kEntries - 1);
  std::vector<std::string_view> order;
  order.reserve(kLookups);
  for (std::size_t i = 0; i < kLookups; ++i)
    order.push_back(names[pick(random)]);
  std::size_t next = 0;
  lazyload_bench::AllocScope scope;
  for (auto _ : state) {
    int v = r.get<int>(order[next++ & (kLookups - 1)]);
    benchmark::DoNotOptimize(v);
  }
  report_lookups(state, scope);
}

void BM_RegistryGetKeptHandle(benchmark::State& state) {
  lazyload::LazyHandle<int>& h =
      loaded_registry(1000).handle<int>("res-0000500");
  for (auto _ : state) {
    int v = h.get();
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(state.iterations());
}

// ---------------------------------------------------------------------------
// Snapshots, registration, memory.

void BM_RegistrySnapshot(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  lazyload::LazyRegistry& r = loaded_registry(n);
  lazyload_bench::AllocScope scope;
  for (auto _ : state) {
    lazyload::RegistrySnapshot s = r.snapshot();
    if (s.total != n || s.loaded != n) {
      state.SkipWithError("the snapshot does not count every entry");
      break;
    }
    benchmark::DoNotOptimize(s);
  }
  state.counters["entries"] = static_cast<double>(n);
  state.counters["allocs_per_entry"] =
      static_cast<double>(scope.allocations()) /
      static_cast<double>(state.iterations()) / static_cast<double>(n);
}

void BM_RegistryAdd(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const std::vector<std::string> names = lazyload_bench::make_names(n);
  for (auto _ : state) {
    auto r = std::make_unique<lazyload::LazyRegistry>();
    for (const std::string& name : names) r->add(name, [] { return 1; });
    state.PauseTiming();
    r.reset();
    state.ResumeTiming();
  }
  state.counters["entries"] = static_cast<double>(n);
}

void BM_RegistryMemory(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const std::vector<std::string> names = lazyload_bench::make_names(n);
  lazyload_bench::AllocTotals add;
  lazyload_bench::AllocTotals load;
  for (auto _ : state) {
    lazyload::LazyRegistry r(options(1));
    lazyload_bench::AllocScope adding;
    for (const std::string& name : names) r.add(name, [] { return 1; });
    add = {adding.allocations(), adding.bytes(), adding.usable_bytes()};
    lazyload_bench::AllocScope loading;
    for (const std::string& name : names) r.load(name);
    load = {loading.allocations(), loading.bytes(), loading.usable_bytes()};
  }
  const auto per = [n](std::uint64_t v) {
    return static_cast<double>(v) / static_cast<double>(n);
  };
  state.counters["entries"] = static_cast<double>(n);
  state.counters["add_allocs_per_entry"] = per(add.allocations);
  state.counters["add_bytes_per_entry"] = per(add.bytes);
  state.counters["add_usable_bytes_per_entry"] = per(add.usable_bytes);
  state.counters["load_allocs_per_entry"] = per(load.allocations);
  state.counters["load_bytes_per_entry"] = per(load.bytes);
  state.counters["load_usable_bytes_per_entry"] = per(load.usable_bytes);
}

// ---------------------------------------------------------------------------
// Background scheduling overhead.

constexpr unsigned kWorkers = 2;

void BM_BackgroundRegistry(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const std::vector<std::string> names = lazyload_bench::make_names(n);
  for (auto _ : state) {
    state.PauseTiming();
    auto r = std::make_unique<lazyload::LazyRegistry>(options(kWorkers));
    for (const std::string& name : names) r->add(name, [] { return 1; });
    state.ResumeTiming();
    r->start_background();
    if (!r->wait_idle(std::chrono::minutes(1))) {
      state.SkipWithError("wait_idle timed out");
      break;
    }
    state.PauseTiming();
    const lazyload::RegistrySnapshot s = r->snapshot();
    r.reset();
    state.ResumeTiming();
    if (s.loaded != n) {
      state.SkipWithError("not every entry loaded");
      break;
    }
  }
  state.counters["entries"] = static_cast<double>(n);
}

// The floor: kWorkers threads popping a queue of std::function, each task as
// trivial as the loaders above.
void BM_BackgroundBareQueue(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    std::mutex mutex;
    std::condition_variable cv;
    std::condition_variable done_cv;
    std::deque<std::function<void()>> queue;
    bool stop = false;
    std::size_t done = 0;
    std::atomic<int> sink{0};
    std::vector<std::thread> workers;
    for (unsigned w = 0; w < kWorkers; ++w) {
      workers.emplace_back([&] {
        for (;;) {
          std::function<void()> task;
          {
            std::unique_lock<std::mutex> lock(mutex);
            cv.wait(lock, [&] { return stop || !queue.empty(); });
            if (queue.empty()) return;
            task = std::move(queue.front());
            queue.pop_front();
          }
          task();
          std::lock_guard<std::mutex> lock(mutex);
          if (++done == n) done_cv.notify_all();
        }
      });
    }
    for (std::size_t i = 0; i < n; ++i) {
      std::lock_guard<std::mutex> lock(mutex);
      queue.emplace_back(
          [&sink] { sink.fetch_add(1, std::memory_order_relaxed); });
      cv.notify_one();
    }
    {
      std::unique_lock<std::mutex> lock(mutex);
      done_cv.wait(lock, [&] { return done == n; });
      stop = true;
    }
    cv.notify_all();
    state.PauseTiming();
    for (auto& t : workers) t.join();
    state.ResumeTiming();
  }
  state.counters["entries"] = static_cast<double>(n);
}

// 1, 2, 4, 8 and 16 threads, and one per CPU when that is another number.
void thread_counts(benchmark::internal::Benchmark* b) {
  std::vector<int> counts = {1, 2, 4, 8, 16};
  const int cpus = static_cast<int>(std::thread::hardware_concurrency());
  if (cpus > 0 &&
      std::find(counts.begin(), counts.end(), cpus) == counts.end()) {
    counts.push_back(cpus);
  }
  for (int n : counts) b->Threads(n);
  b->UseRealTime();
}
#if defined(LAZYLOAD_BENCH_WITH_JSON)
void BM_DumpStatus(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  lazyload::LazyRegistry& r = loaded_registry(n);
  for (auto _ : state) {
    std::string json = lazyload::dump_status(r);
    if (json.size() < n) {
      state.SkipWithError("dump_status is shorter than one byte per entry");
      break;
    }
    benchmark::DoNotOptimize(json);
  }
  state.counters["entries"] = static_cast<double>(n);
}
#endif

void BM_Prometheus(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  lazyload::LazyRegistry& r = loaded_registry(n);
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::string text = lazyload::to_prometheus(r);
    if (text.size() < n) {
      state.SkipWithError("to_prometheus is shorter than one byte per entry");
      break;
    }
    bytes = text.size();
    benchmark::DoNotOptimize(text);
  }
  state.counters["entries"] = static_cast<double>(n);
  state.counters["bytes_per_entry"] =
      static_cast<double>(bytes) / static_cast<double>(n);
}

void BM_PrometheusTotals(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  lazyload::LazyRegistry& r = loaded_registry(n);
  lazyload::PrometheusOptions options;
  options.per_entry = false;
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::string text = lazyload::to_prometheus(r, options);
    bytes = text.size();
    benchmark::DoNotOptimize(text);
  }
  state.counters["entries"] = static_cast<double>(n);
  state.counters["bytes"] = static_cast<double>(bytes);
}

}  // namespace

BENCHMARK(BM_RegistryGetByName)
    ->Name("BM_RegistryGet/by_name")
    ->Apply(thread_counts);
BENCHMARK(BM_RegistryGetByName100k)
    ->Name("BM_RegistryGet/by_name_100k")
    ->Apply(thread_counts);
BENCHMARK(BM_RegistryGetKeptHandle)
    ->Name("BM_RegistryGet/kept_handle")
    ->Apply(thread_counts);
BENCHMARK(BM_RegistrySnapshot)
    ->Arg(10)
    ->Arg(1000)
    ->Arg(10000)
    ->Arg(100000)
    ->Unit(benchmark::kMicrosecond);
#if defined(LAZYLOAD_BENCH_WITH_JSON)
BENCHMARK(BM_DumpStatus)
    ->Arg(10)
    ->Arg(1000)
    ->Arg(10000)
    ->Arg(100000)
    ->Unit(benchmark::kMicrosecond);
#endif
BENCHMARK(BM_Prometheus)
    ->Arg(10)
    ->Arg(1000)
    ->Arg(10000)
    ->Arg(100000)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_PrometheusTotals)->Arg(100000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_RegistryAdd)->Arg(100000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RegistryMemory)
    ->Arg(10000)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_BackgroundRegistry)
    ->Name("BM_Background/registry")
    ->Arg(10000)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_BackgroundBareQueue)
    ->Name("BM_Background/bare_queue")
    ->Arg(10000)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
