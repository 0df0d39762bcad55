// benchmarks/scale_benchmark.cpp
//
// How LazyRegistry's costs grow with its size (issue 16, target 7): each
// benchmark runs at a small and a large size, and benchmarks/report.py
// divides by the size and compares the cost per entry. Linear: the cost per
// entry at the large size within 1.5x of the small size's.
//
// BM_ScaleAdd/flat/<n>     add() of n entries without dependencies into a
//                          fresh registry (10,000 and 100,000).
// BM_ScaleAdd/chain/<n>    add() of n entries, each depending on the one
//                          before it (10,000 and 100,000).
// BM_ScaleChainLoad/<n>    load() of the last link of such a chain, which
//                          loads every link, on a thread whose stack is
//                          1 MiB: a recursion per link would overflow it at
//                          100,000 links (10,000 and 100,000).
// BM_ScaleReadyz/<n>       respond(GET /readyz) (<lazyload/http.hpp>) of n
//                          required entries none of which is loaded, so the
//                          503 lists every one (1,000 and 100,000); built
//                          when nlohmann_json is found.
//
// Every benchmark times only the measured call with a steady clock (manual
// time): building the registry beforehand and destroying it afterwards are
// left out, and so is starting the 1 MiB thread. The counter
// cpu_ns_per_entry is the same call's CPU time (of the thread that made it)
// per entry, which time taken by other processes does not inflate; the
// ratios are judged on it. No allocation counter is linked in, so operator
// new costs what it costs in a program.

#include <benchmark/benchmark.h>
#include <pthread.h>
#include <time.h>  // clock_gettime, CLOCK_THREAD_CPUTIME_ID

#include <chrono>     // std::chrono::steady_clock
#include <cstddef>    // std::size_t
#include <exception>  // std::exception
#include <lazyload/registry.hpp>
#if defined(LAZYLOAD_BENCH_WITH_JSON)
#  include <lazyload/http.hpp>
#endif
#include <map>      // std::map
#include <memory>   // std::unique_ptr
#include <mutex>    // std::mutex
#include <string>   // std::string
#include <utility>  // std::move
#include <vector>   // std::vector

#include "support/names.hpp"

namespace {

using Clock = std::chrono::steady_clock;

// One registry worker, as the other registry benchmarks use.
lazyload::RegistryOptions one_worker() {
  lazyload::RegistryOptions o;
  o.workers = 1;
  return o;
}

// The options of a chain: entry i depends on entry i - 1.
std::vector<lazyload::EntryOptions> chain_options(
    const std::vector<std::string>& names) {
  std::vector<lazyload::EntryOptions> options(names.size());
  for (std::size_t i = 1; i < names.size(); ++i) {
    options[i].depends_on = {names[i - 1]};
  }
  return options;
}

// This thread's CPU time in seconds.
double thread_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

// Times one call on this thread: wall time, which becomes the benchmark's
// manual time, and the thread's CPU time, which leaves out the time other
// processes on a shared machine took the CPU from it.
class Stopwatch {
 public:
  Stopwatch() : wall_(Clock::now()), cpu_(thread_cpu_seconds()) {}
  void stop() {
    cpu_seconds = thread_cpu_seconds() - cpu_;
    wall_seconds = std::chrono::duration<double>(Clock::now() - wall_).count();
  }
  double wall_seconds = 0;
  double cpu_seconds = 0;

 private:
  Clock::time_point wall_;
  double cpu_;
};

// Sums the timed calls' CPU time; finish() reports it per entry.
class CpuPerEntry {
 public:
  void add(const Stopwatch& w) { seconds_ += w.cpu_seconds; }
  // Sets the counters `entries` and `cpu_ns_per_entry`: the timed calls'
  // CPU time per iteration over the n entries each handled.
  void finish(benchmark::State& state, std::size_t n) const {
    state.counters["entries"] = static_cast<double>(n);
    if (state.iterations() == 0) return;
    state.counters["cpu_ns_per_entry"] =
        seconds_ * 1e9 / static_cast<double>(state.iterations()) /
        static_cast<double>(n);
  }

 private:
  double seconds_ = 0;
};

// ---------------------------------------------------------------------------
// add().

// add() of every name into a fresh registry; with `chain`, each entry
// depends on the one before it. The names and options are built, and the
// registry destroyed, outside the timed part.
void BM_ScaleAdd(benchmark::State& state, bool chain) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const std::vector<std::string> names = lazyload_bench::make_names(n);
  CpuPerEntry cpu;
  for (auto _ : state) {
    std::vector<lazyload::EntryOptions> options =
        chain ? chain_options(names) : std::vector<lazyload::EntryOptions>(n);
    std::vector<std::string> keys = names;
    auto r = std::make_unique<lazyload::LazyRegistry>(one_worker());
    Stopwatch watch;
    for (std::size_t i = 0; i < n; ++i) {
      r->add(
          std::move(keys[i]), [] { return 1; }, std::move(options[i]));
    }
    watch.stop();
    state.SetIterationTime(watch.wall_seconds);
    cpu.add(watch);
    if (r->snapshot().total != n) {
      state.SkipWithError("not every entry was added");
      break;
    }
  }
  cpu.finish(state, n);
}

// ---------------------------------------------------------------------------
// Loading a chain.

// What the 1 MiB thread does: load the last link, timed on that thread.
struct ChainJob {
  lazyload::LazyRegistry* registry = nullptr;
  const std::string* last = nullptr;
  Stopwatch watch;
  std::string error;
};

void* load_last_link(void* arg) {
  auto* job = static_cast<ChainJob*>(arg);
  try {
    job->watch = Stopwatch();
    job->registry->load(*job->last);
    job->watch.stop();
  } catch (const std::exception& e) {
    job->error = e.what();
  }
  return nullptr;
}

// Runs `job` on a new thread with a 1 MiB stack; returns false (with
// job.error set) when the thread cannot be started.
bool run_on_1mib_stack(ChainJob& job) {
  pthread_attr_t attr;
  if (pthread_attr_init(&attr) != 0) {
    job.error = "pthread_attr_init failed";
    return false;
  }
  bool ok = pthread_attr_setstacksize(&attr, std::size_t{1} << 20) == 0;
  pthread_t thread;
  ok = ok && pthread_create(&thread, &attr, load_last_link, &job) == 0;
  pthread_attr_destroy(&attr);
  if (!ok) {
    job.error = "cannot start a thread with a 1 MiB stack";
    return false;
  }
  pthread_join(thread, nullptr);
  return true;
}

void BM_ScaleChainLoad(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const std::vector<std::string> names = lazyload_bench::make_names(n);
  CpuPerEntry cpu;
  for (auto _ : state) {
    std::vector<lazyload::EntryOptions> options = chain_options(names);
    auto r = std::make_unique<lazyload::LazyRegistry>(one_worker());
    for (std::size_t i = 0; i < n; ++i) {
      r->add(
          names[i], [] { return 1; }, std::move(options[i]));
    }
    ChainJob job;
    job.registry = r.get();
    job.last = &names.back();
    if (!run_on_1mib_stack(job) || !job.error.empty()) {
      state.SkipWithError(job.error.c_str());
      break;
    }
    state.SetIterationTime(job.watch.wall_seconds);
    cpu.add(job.watch);
    if (r->snapshot().loaded != n) {
      state.SkipWithError("loading the last link did not load every link");
      break;
    }
  }
  cpu.finish(state, n);
}

// ---------------------------------------------------------------------------
// /readyz.

#if defined(LAZYLOAD_BENCH_WITH_JSON)
// A registry of n required entries, none loaded, built once per n and kept.
lazyload::LazyRegistry& unready_registry(std::size_t n) {
  static std::mutex mutex;
  static std::map<std::size_t, std::unique_ptr<lazyload::LazyRegistry>> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto& r = cache[n];
  if (!r) {
    r = std::make_unique<lazyload::LazyRegistry>(one_worker());
    lazyload::EntryOptions required;
    required.required = true;
    for (const std::string& name : lazyload_bench::make_names(n)) {
      r->add(
          name, [] { return 1; }, required);
    }
  }
  return *r;
}

void BM_ScaleReadyz(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  lazyload::LazyRegistry& r = unready_registry(n);
  CpuPerEntry cpu;
  for (auto _ : state) {
    Stopwatch watch;
    lazyload::HttpResponse response = lazyload::respond(r, "GET", "/readyz");
    watch.stop();
    state.SetIterationTime(watch.wall_seconds);
    cpu.add(watch);
    if (response.status != 503 || response.body.size() < n) {
      state.SkipWithError("/readyz did not answer 503 listing every entry");
      break;
    }
    benchmark::DoNotOptimize(response);
  }
  cpu.finish(state, n);
}
#endif

}  // namespace

BENCHMARK_CAPTURE(BM_ScaleAdd, flat, false)
    ->Arg(10000)
    ->Arg(100000)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ScaleAdd, chain, true)
    ->Arg(10000)
    ->Arg(100000)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ScaleChainLoad)
    ->Arg(10000)
    ->Arg(100000)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
#if defined(LAZYLOAD_BENCH_WITH_JSON)
BENCHMARK(BM_ScaleReadyz)
    ->Arg(1000)
    ->Arg(100000)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
#endif

BENCHMARK_MAIN();
