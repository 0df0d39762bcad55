// benchmarks/handle_benchmark.cpp
//
// LazyHandle<T>: the loaded fast path against the ways C++ programs already
// load something once, the contended first load against std::call_once, and
// what each design costs in memory. Every comparison runs in this one binary,
// in the same run; `bash tools/bench.sh` runs it with repetitions, random
// interleaving and JSON output, and benchmarks/report.py turns that into the
// tables of benchmarks/RESULTS.md.
//
// BM_Get/<type>/<design>   a loaded value read once per iteration, on 1, 2,
//                          4, 8 and 16 threads (and one per CPU), real time:
//                          items_per_second is the aggregate throughput.
// BM_Chained/<design>      the same read when the object's address depends
//                          on the previous value: what a dependent load costs.
// BM_ContendedFirstLoad/<design>/<threads>
//                          threads released together on a fresh value whose
//                          loader sleeps 1 ms; counters give the latency from
//                          the loader's end to each waiter's return.
// BM_ContendedThrowOnce/<threads>
//                          the same with a loader that throws once.
// BM_Memory/<design>       sizeof and heap bytes of one loaded value.

#include <benchmark/benchmark.h>

#include <algorithm>           // std::sort, std::find
#include <atomic>              // std::atomic
#include <chrono>              // std::chrono
#include <condition_variable>  // std::condition_variable
#include <cstdint>             // std::int64_t
#include <functional>          // std::function
#include <lazyload/handle.hpp>
#include <memory>     // std::shared_ptr, std::unique_ptr
#include <mutex>      // std::mutex, std::once_flag, std::call_once
#include <new>        // std::launder
#include <optional>   // std::optional
#include <stdexcept>  // std::runtime_error
#include <string>     // std::string
#include <thread>     // std::thread
#include <utility>    // std::move
#include <vector>     // std::vector

#if LAZYLOAD_BENCH_ABSL
#  include <absl/base/call_once.h>
#endif

#include "support/alloc_counter.hpp"
#include "support/opaque.hpp"

namespace {

using Clock = std::chrono::steady_clock;

// ---------------------------------------------------------------------------
// Values and how a benchmark reads them.

template <class T> T make_value();
template <> int make_value<int>() { return lazyload_bench::opaque_int(); }
template <> std::string make_value<std::string>() {
  return lazyload_bench::opaque_string();
}

// Puts `v` in a register, so that the load that produced it happens on every
// iteration. benchmark::DoNotOptimize() is not enough here: with g++ it may
// pass its operand as a memory reference ("+m"), and then no load is emitted
// at all.
template <class V> inline void consume(V v) {
  asm volatile("" : : "r"(v) : "memory");
}

// Reads the value the way a caller would: the int itself, the string's size.
inline void use(const int& v) { consume(v); }
inline void use(const std::string& s) { consume(s.size()); }

// ---------------------------------------------------------------------------
// The designs. Each is loaded before it is timed; `get()` is what is timed.

// The floor: a value the compiler knows is there.
template <class T> struct PlainGlobal {
  T& get() { return value; }
  T value = make_value<T>();
};

// A function-local static whose initializer the compiler cannot see
// (opaque.cpp), so that every access pays the guard check.
template <class T> struct FunctionStatic {
  static T& get() {
    static T value = make_value<T>();
    return value;
  }
};

// std::call_once with the value stored next to its flag.
template <class T> struct StdCallOnce {
  T& get() {
    std::call_once(flag, [this] { value = make_value<T>(); });
    return value;
  }
  std::once_flag flag;
  T value{};
};

#if LAZYLOAD_BENCH_ABSL
template <class T> struct AbslCallOnce {
  T& get() {
    absl::call_once(flag, [this] { value = make_value<T>(); });
    return value;
  }
  absl::once_flag flag;
  T value{};
};
#endif

// A mutex taken on every access.
template <class T> struct MutexEveryAccess {
  T& get() {
    std::lock_guard<std::mutex> lock(mutex);
    if (!value) value.emplace(make_value<T>());
    return *value;
  }
  std::mutex mutex;
  std::optional<T> value;
};

// A shared_ptr copied under a mutex on every access (the value stays alive
// while the copy is held, as a lease does).
template <class T> struct SharedPtrUnderMutex {
  std::shared_ptr<T> get() {
    std::lock_guard<std::mutex> lock(mutex);
    if (!value) value = std::make_shared<T>(make_value<T>());
    return value;
  }
  std::mutex mutex;
  std::shared_ptr<T> value;
};

// The design LazyHandle did not take, as a prototype: the value stored inline
// next to an atomic<bool> ready flag, as a function-local static stores it.
// The fast path reads the flag and then the value at a fixed offset; the
// value's address does not depend on a load. (It could not support lease()
// across unload(), which is why LazyHandle keeps a shared_ptr.)
template <class T> class InlineFlag {
 public:
  InlineFlag() : make_(&make_value<T>) {}
  explicit InlineFlag(std::function<T()> make) : make_(std::move(make)) {}
  InlineFlag(const InlineFlag&) = delete;
  InlineFlag& operator=(const InlineFlag&) = delete;
  ~InlineFlag() {
    if (ready_.load(std::memory_order_relaxed)) value()->~T();
  }

  T& get() {
    if (LAZYLOAD_PREDICT_TRUE(ready_.load(std::memory_order_acquire))) {
      return *value();
    }
    return get_slow();
  }

 private:
  LAZYLOAD_NOINLINE T& get_slow() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!ready_.load(std::memory_order_relaxed)) {
      ::new (static_cast<void*>(storage_)) T(make_());
      ready_.store(true, std::memory_order_release);
    }
    return *value();
  }
  T* value() { return std::launder(reinterpret_cast<T*>(storage_)); }

  std::atomic<bool> ready_{false};
  alignas(T) unsigned char storage_[sizeof(T)];
  std::mutex mutex_;
  std::function<T()> make_;
};

// The shared, loaded instance of each design (threads of one benchmark share
// it). Reached once before the timed loop, never inside it.
template <class D> D& instance() {
  alignas(64) static D d;
  return d;
}
template <class T> lazyload::LazyHandle<T>& handle_instance() {
  alignas(64) static lazyload::LazyHandle<T> h([] { return make_value<T>(); });
  return h;
}

// ---------------------------------------------------------------------------
// BM_Get: the loaded fast path.

template <class D> void BM_Get(benchmark::State& state) {
  D& d = instance<D>();
  use(d.get());  // loaded before timing
  for (auto _ : state) use(d.get());
  state.SetItemsProcessed(state.iterations());
}

template <class T> void BM_GetSharedPtr(benchmark::State& state) {
  SharedPtrUnderMutex<T>& d = instance<SharedPtrUnderMutex<T>>();
  use(*d.get());
  for (auto _ : state) {
    std::shared_ptr<T> p = d.get();
    use(*p);
  }
  state.SetItemsProcessed(state.iterations());
}

// The floor for a lease: a copy of one shared std::shared_ptr, no lock (what
// a lease must do at least: own the value for as long as it is held).
template <class T> void BM_SharedPtrCopy(benchmark::State& state) {
  static const std::shared_ptr<T> shared = std::make_shared<T>(make_value<T>());
  for (auto _ : state) {
    std::shared_ptr<T> p = shared;
    use(*p);
  }
  state.SetItemsProcessed(state.iterations());
}

template <class T> void BM_LazyTryLease(benchmark::State& state) {
  lazyload::LazyHandle<T>& h = handle_instance<T>();
  h.load();
  for (auto _ : state) {
    std::shared_ptr<T> p = h.try_lease();
    use(*p);
  }
  state.SetItemsProcessed(state.iterations());
}

template <class T> void BM_LazyGet(benchmark::State& state) {
  lazyload::LazyHandle<T>& h = handle_instance<T>();
  use(h.get());
  for (auto _ : state) use(h.get());
  state.SetItemsProcessed(state.iterations());
}

template <class T> void BM_LazyTryGet(benchmark::State& state) {
  lazyload::LazyHandle<T>& h = handle_instance<T>();
  h.load();
  for (auto _ : state) use(*h.try_get());
  state.SetItemsProcessed(state.iterations());
}

template <class T> void BM_LazyLease(benchmark::State& state) {
  lazyload::LazyHandle<T>& h = handle_instance<T>();
  h.load();
  for (auto _ : state) {
    std::shared_ptr<T> p = h.lease();
    use(*p);
  }
  state.SetItemsProcessed(state.iterations());
}

// ---------------------------------------------------------------------------
// BM_Chained: each read finds its object at an address computed from the
// previous value (always the same object: the offset is `v & mask` bytes with
// mask 0, which the compiler cannot know), so reads form one dependency chain
// and the time per read is its latency. The inline design loads the value at a
// fixed offset from the object (one load on the chain; the flag only feeds a
// predicted branch); LazyHandle loads the pointer, then the value (two loads
// on the chain). A function-local static has no object to find, so it has no
// place here; PlainGlobal (a plain member) is the floor.

template <class D> D& at(D& base, unsigned offset) {
  return *reinterpret_cast<D*>(reinterpret_cast<char*>(&base) + offset);
}

template <class D> void chain(benchmark::State& state, D& object) {
  unsigned mask = 0;
  benchmark::DoNotOptimize(mask);
  auto v = static_cast<unsigned>(object.get());
  for (auto _ : state) v = static_cast<unsigned>(at(object, v & mask).get());
  consume(v);
  state.SetItemsProcessed(state.iterations());
}

template <class D> void BM_Chained(benchmark::State& state) {
  chain(state, instance<D>());
}

void BM_ChainedLazy(benchmark::State& state) {
  chain(state, handle_instance<int>());
}

// BM_Reference: what the slower designs spend their time on.
void BM_SteadyClockNow(benchmark::State& state) {
  for (auto _ : state) consume(Clock::now().time_since_epoch().count());
}

// ---------------------------------------------------------------------------
// BM_ContendedFirstLoad: a pool of threads, released together each round on a
// fresh value whose loader sleeps 1 ms.

constexpr auto kLoadTime = std::chrono::milliseconds(1);

// What one round records; the loader writes the first three fields.
struct Round {
  std::atomic<int> loader_runs{0};
  std::thread::id loader_thread;
  Clock::time_point loader_end;
  std::vector<Clock::time_point> called;    // per thread: get() called
  std::vector<Clock::time_point> returned;  // per thread: get() returned
  std::vector<int> errors;                  // per thread: LoadErrors caught
};

// Runs `body(i)` on `n` threads per round, released together: each thread
// wakes on a condition variable, then all spin (yielding) at a start line
// until every thread is there.
class Pool {
 public:
  explicit Pool(int n) : n_(n) {
    for (int i = 0; i < n; ++i) threads_.emplace_back([this, i] { work(i); });
  }
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;
  ~Pool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }

  void run(const std::function<void(int)>& body) {
    std::unique_lock<std::mutex> lock(mutex_);
    body_ = &body;
    arrived_.store(0);
    done_ = 0;
    ++round_;
    cv_.notify_all();
    done_cv_.wait(lock, [this] { return done_ == n_; });
  }

 private:
  void work(int i) {
    std::uint64_t seen = 0;
    for (;;) {
      const std::function<void(int)>* body = nullptr;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        cv_.wait(lock, [&] { return stop_ || round_ != seen; });
        if (stop_) return;
        seen = round_;
        body = body_;
      }
      arrived_.fetch_add(1);
      while (arrived_.load() < n_) std::this_thread::yield();
      (*body)(i);
      std::lock_guard<std::mutex> lock(mutex_);
      if (++done_ == n_) done_cv_.notify_one();
    }
  }

  const int n_;
  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::condition_variable done_cv_;
  const std::function<void(int)>* body_ = nullptr;  // guarded by mutex_
  std::uint64_t round_ = 0;                         // guarded by mutex_
  int done_ = 0;                                    // guarded by mutex_
  bool stop_ = false;                               // guarded by mutex_
  std::atomic<int> arrived_{0};
};

// The loader of every design: counts its runs, sleeps 1 ms, records its end.
int timed_loader(Round& r) {
  r.loader_runs.fetch_add(1);
  r.loader_thread = std::this_thread::get_id();
  std::this_thread::sleep_for(kLoadTime);
  r.loader_end = Clock::now();
  return 1;
}

// Fresh instances of each design around the round's loader.
struct LazyFresh {
  explicit LazyFresh(Round& r) : h([&r] { return timed_loader(r); }) {}
  int& get() { return h.get(); }
  lazyload::LazyHandle<int> h;
};
struct StdOnceFresh {
  explicit StdOnceFresh(Round& r) : round(r) {}
  int& get() {
    std::call_once(flag, [this] { value = timed_loader(round); });
    return value;
  }
  Round& round;
  std::once_flag flag;
  int value = 0;
};
#if LAZYLOAD_BENCH_ABSL
struct AbslOnceFresh {
  explicit AbslOnceFresh(Round& r) : round(r) {}
  int& get() {
    absl::call_once(flag, [this] { value = timed_loader(round); });
    return value;
  }
  Round& round;
  absl::once_flag flag;
  int value = 0;
};
#endif
struct InlineFresh {
  explicit InlineFresh(Round& r) : v([&r] { return timed_loader(r); }) {}
  int& get() { return v.get(); }
  InlineFlag<int> v;
};

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const auto i =
      static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

double micros(Clock::duration d) {
  return std::chrono::duration<double, std::micro>(d).count();
}

template <class D> void BM_ContendedFirstLoad(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  Pool pool(n);
  std::vector<double> wake_us;  // loader end -> waiter returned
  std::int64_t rounds = 0;
  for (auto _ : state) {
    Round r;
    r.called.resize(static_cast<std::size_t>(n));
    r.returned.resize(static_cast<std::size_t>(n));
    std::vector<std::thread::id> ids(static_cast<std::size_t>(n));
    auto d = std::make_unique<D>(r);
    const auto start = Clock::now();
    pool.run([&](int i) {
      const auto k = static_cast<std::size_t>(i);
      ids[k] = std::this_thread::get_id();
      r.called[k] = Clock::now();
      benchmark::DoNotOptimize(d->get());
      r.returned[k] = Clock::now();
    });
    const auto end = Clock::now();
    state.SetIterationTime(std::chrono::duration<double>(end - start).count());
    if (r.loader_runs.load() != 1) {
      state.SkipWithError("the loader did not run exactly once");
      break;
    }
    for (std::size_t k = 0; k < ids.size(); ++k) {
      // Waiters: every thread but the loader's that called before the end.
      if (ids[k] == r.loader_thread || r.called[k] >= r.loader_end) continue;
      wake_us.push_back(micros(r.returned[k] - r.loader_end));
    }
    ++rounds;
  }
  state.counters["wake_median_us"] = percentile(wake_us, 0.5);
  state.counters["wake_p99_us"] = percentile(wake_us, 0.99);
  state.counters["waiters_per_round"] =
      rounds == 0
          ? 0.0
          : static_cast<double>(wake_us.size()) / static_cast<double>(rounds);
}

// The failure case: the first load throws, every thread retries until it
// has the value. Checks that the loader ran exactly twice.
void BM_ContendedThrowOnce(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  Pool pool(n);
  std::vector<double> all_us;  // release -> the last thread has the value
  double errors = 0;
  std::int64_t rounds = 0;
  for (auto _ : state) {
    Round r;
    r.errors.assign(static_cast<std::size_t>(n), 0);
    lazyload::LazyHandle<int> h("flaky", [&r] {
      if (r.loader_runs.load() == 0) {
        r.loader_runs.fetch_add(1);
        std::this_thread::sleep_for(kLoadTime);
        throw std::runtime_error("first attempt fails");
      }
      return timed_loader(r);
    });
    const auto start = Clock::now();
    pool.run([&](int i) {
      for (;;) {
        try {
          benchmark::DoNotOptimize(h.get());
          return;
        } catch (const lazyload::LoadError&) {
          ++r.errors[static_cast<std::size_t>(i)];
        }
      }
    });
    const auto end = Clock::now();
    state.SetIterationTime(std::chrono::duration<double>(end - start).count());
    if (r.loader_runs.load() != 2) {
      state.SkipWithError("the loader did not run exactly twice");
      break;
    }
    all_us.push_back(micros(end - start));
    for (int e : r.errors) errors += e;
    ++rounds;
  }
  state.counters["all_have_value_median_us"] = percentile(all_us, 0.5);
  state.counters["errors_per_round"] =
      rounds == 0 ? 0.0 : errors / static_cast<double>(rounds);
}

// ---------------------------------------------------------------------------
// BM_Memory: sizeof, and the heap a loaded value costs (construction and first
// load, counted by the replaced operator new), for an int.

template <class D> void BM_Memory(benchmark::State& state) {
  lazyload_bench::AllocTotals heap;
  for (auto _ : state) {
    std::optional<D> d;
    lazyload_bench::AllocScope scope;
    d.emplace();
    benchmark::DoNotOptimize(d->get());
    heap.allocations = scope.allocations();
    heap.bytes = scope.bytes();
    heap.usable_bytes = scope.usable_bytes();
  }
  state.counters["sizeof"] = sizeof(D);
  state.counters["heap_allocs"] = static_cast<double>(heap.allocations);
  state.counters["heap_bytes"] = static_cast<double>(heap.bytes);
  state.counters["heap_usable_bytes"] = static_cast<double>(heap.usable_bytes);
}

// The memory of designs whose get() is not a plain member call.
struct LazyIntDesign {
  LazyIntDesign() : h([] { return make_value<int>(); }) {}
  int& get() { return h.get(); }
  lazyload::LazyHandle<int> h;
};
struct SharedPtrIntDesign {
  int& get() { return *d.get(); }
  SharedPtrUnderMutex<int> d;
};

// ---------------------------------------------------------------------------
// Registration.

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

template <class T> void register_get(const std::string& type) {
  const std::string p = "BM_Get/" + type + "/";
  benchmark::RegisterBenchmark((p + "global").c_str(), BM_Get<PlainGlobal<T>>)
      ->Apply(thread_counts);
  benchmark::RegisterBenchmark((p + "static").c_str(),
                               BM_Get<FunctionStatic<T>>)
      ->Apply(thread_counts);
  benchmark::RegisterBenchmark((p + "lazy_get").c_str(), BM_LazyGet<T>)
      ->Apply(thread_counts);
  benchmark::RegisterBenchmark((p + "lazy_try_get").c_str(), BM_LazyTryGet<T>)
      ->Apply(thread_counts);
  benchmark::RegisterBenchmark((p + "inline_flag").c_str(),
                               BM_Get<InlineFlag<T>>)
      ->Apply(thread_counts);
  benchmark::RegisterBenchmark((p + "std_call_once").c_str(),
                               BM_Get<StdCallOnce<T>>)
      ->Apply(thread_counts);
#if LAZYLOAD_BENCH_ABSL
  benchmark::RegisterBenchmark((p + "absl_call_once").c_str(),
                               BM_Get<AbslCallOnce<T>>)
      ->Apply(thread_counts);
#endif
  benchmark::RegisterBenchmark((p + "mutex").c_str(),
                               BM_Get<MutexEveryAccess<T>>)
      ->Apply(thread_counts);
  benchmark::RegisterBenchmark((p + "shared_ptr_mutex").c_str(),
                               BM_GetSharedPtr<T>)
      ->Apply(thread_counts);
  benchmark::RegisterBenchmark((p + "shared_ptr_copy").c_str(),
                               BM_SharedPtrCopy<T>)
      ->Apply(thread_counts);
  benchmark::RegisterBenchmark((p + "lazy_lease").c_str(), BM_LazyLease<T>)
      ->Apply(thread_counts);
  benchmark::RegisterBenchmark((p + "lazy_try_lease").c_str(),
                               BM_LazyTryLease<T>)
      ->Apply(thread_counts);
}

template <class D> void register_contended(const std::string& name) {
  benchmark::RegisterBenchmark(("BM_ContendedFirstLoad/" + name).c_str(),
                               BM_ContendedFirstLoad<D>)
      ->Arg(2)
      ->Arg(4)
      ->Arg(8)
      ->Arg(16)
      ->Iterations(150)
      ->UseManualTime()
      ->Unit(benchmark::kMicrosecond);
}

template <class D> void register_memory(const std::string& name) {
  benchmark::RegisterBenchmark(("BM_Memory/" + name).c_str(), BM_Memory<D>)
      ->Iterations(1);
}

void register_all() {
  register_get<int>("int");
  register_get<std::string>("string");

  benchmark::RegisterBenchmark("BM_Chained/global",
                               BM_Chained<PlainGlobal<int>>);
  benchmark::RegisterBenchmark("BM_Chained/inline_flag",
                               BM_Chained<InlineFlag<int>>);
  benchmark::RegisterBenchmark("BM_Chained/lazy_get", BM_ChainedLazy);
  benchmark::RegisterBenchmark("BM_Reference/steady_clock_now",
                               BM_SteadyClockNow);

  register_contended<LazyFresh>("lazy_get");
  register_contended<StdOnceFresh>("std_call_once");
#if LAZYLOAD_BENCH_ABSL
  register_contended<AbslOnceFresh>("absl_call_once");
#endif
  register_contended<InlineFresh>("inline_flag");
  benchmark::RegisterBenchmark("BM_ContendedThrowOnce/lazy_get",
                               BM_ContendedThrowOnce)
      ->Arg(2)
      ->Arg(4)
      ->Arg(8)
      ->Arg(16)
      ->Iterations(50)
      ->UseManualTime()
      ->Unit(benchmark::kMicrosecond);

  register_memory<LazyIntDesign>("lazy_handle");
  register_memory<InlineFlag<int>>("inline_flag");
  register_memory<StdCallOnce<int>>("std_call_once");
#if LAZYLOAD_BENCH_ABSL
  register_memory<AbslCallOnce<int>>("absl_call_once");
#endif
  register_memory<MutexEveryAccess<int>>("mutex_optional");
  register_memory<SharedPtrIntDesign>("shared_ptr_mutex");
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext(
      "lazyload_sizeof_LazyHandle_int",
      std::to_string(sizeof(lazyload::LazyHandle<int>)));
  benchmark::AddCustomContext(
      "lazyload_sizeof_LazyHandle_string",
      std::to_string(sizeof(lazyload::LazyHandle<std::string>)));
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
