// lazyload_stress: a randomized stress test of LazyRegistry and LazyHandle.
//
//   lazyload_stress [--seconds S] [--threads T] [--seed N]
//
// T threads (default 8) run random operations for S seconds (default 3) on a
// registry whose loaders sometimes throw, sleep, report progress, depend on
// each other, wait on each other's futures and are evictable under a small
// memory budget: get, try_get, lease, unload, load, load_async (and waits on
// its future), load_all, start_background, snapshot and, when built with
// nlohmann_json, dump_status. With an odd seed the background loads run on an
// executor (a pool of the test's own) whose submit sometimes throws; with an
// even one, on the registry's workers. The run is under a non-C locale when
// one is installed (de_DE, else fr_FR; else C, and it says so), where a
// decimal comma would show in the status JSON. It checks as it goes:
//
// * every lease's value stays valid while held (a magic number and the
//   entry's id, checked again before release);
// * every snapshot's counts add up to its total;
// * at the end, for every entry, loader runs = successes + own failures;
//   every success and failure of the loader is counted by the handle or was
//   cancelled (an unload() during the load); and the handle's counts equal
//   what the status callback saw;
// * no deadlock: a watchdog aborts the run when no operation finishes for
//   10 seconds.
//
// Exit status 0 when every invariant held. The long runs (10 minutes at 16
// threads, plain and under ThreadSanitizer) are documented in the README.

#include <atomic>
#include <chrono>
#include <clocale>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <future>
#include <lazyload/lazyload.hpp>
#include <memory>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#if defined(LAZYLOAD_STRESS_WITH_JSON)
#  include <lazyload/json.hpp>
#  include <nlohmann/json.hpp>
#endif

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr std::uint64_t kMagic = 0x4c415a594c4f4144ULL;  // "LAZYLOAD"
constexpr int kEntries = 24;

struct Value {
  explicit Value(int i) : id(i) {}
  ~Value() { magic = 0; }
  std::uint64_t magic = kMagic;
  int id;
  std::vector<char> payload = std::vector<char>(256, 'v');
};

struct Counters {
  std::atomic<std::uint64_t> runs{0};
  std::atomic<std::uint64_t> successes{0};
  std::atomic<std::uint64_t> own_failures{0};
  std::atomic<std::uint64_t> seen_loaded{0};
  std::atomic<std::uint64_t> seen_failed{0};
  // Loads that ended loading -> unloaded: cancelled by an unload() while
  // they ran; whatever their loader did is not counted by the handle.
  std::atomic<std::uint64_t> seen_cancelled{0};
};

std::atomic<std::uint64_t> g_operations{0};
std::atomic<std::uint64_t> g_violations{0};

void violation(const std::string& what) {
  g_violations.fetch_add(1);
  std::fprintf(stderr, "stress: VIOLATION: %s\n", what.c_str());
}

std::string name_of(int i) { return "entry-" + std::to_string(i); }

// The program's own thread pool, handed to the registry as its executor;
// every 13th submit throws, as a full pool's would.
class Pool {
 public:
  explicit Pool(int threads) {
    for (int t = 0; t < threads; ++t) {
      threads_.emplace_back([this] { run(); });
    }
  }
  ~Pool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  void submit(std::function<void()> task) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (++submits_ % 13 == 0) throw std::runtime_error("pool is full");
    tasks_.push_back(std::move(task));
    cv_.notify_one();
  }

 private:
  void run() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      cv_.wait(lock, [this] { return stop_ || !tasks_.empty(); });
      if (tasks_.empty()) return;  // stopping, and drained
      std::function<void()> task = std::move(tasks_.front());
      tasks_.pop_front();
      lock.unlock();
      task();
      lock.lock();
    }
  }

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  std::uint64_t submits_ = 0;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

// Runs under the first of a few non-C locales that is installed.
void set_locale() {
  for (const char* name : {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8"}) {
    if (std::setlocale(LC_ALL, name) != nullptr) {
      std::printf("stress: locale %s\n", name);
      return;
    }
  }
  std::printf(
      "stress: note: no de_DE or fr_FR locale is installed; running in the C "
      "locale\n");
}

void check_counts(const lazyload::RegistrySnapshot& s) {
  if (s.loaded + s.failed + s.loading + s.queued + s.unloaded != s.total ||
      s.total != s.entries.size()) {
    violation("snapshot counts do not add up to total");
  }
}

void operate(lazyload::LazyRegistry& registry, std::mt19937& rng) {
  const int i = static_cast<int>(rng() % kEntries);
  const std::string name = name_of(i);
  try {
    switch (rng() % 12) {
    case 0:
    case 1: {
      std::shared_ptr<Value> lease = registry.handle<Value>(name).lease();
      if (lease->magic != kMagic || lease->id != i) violation("bad lease");
      std::this_thread::yield();
      if (lease->magic != kMagic || lease->id != i) {
        violation("lease invalidated while held");
      }
      break;
    }
    case 2: {
      // Odd entries only: they are neither evictable nor unloaded, and a
      // reference from get() is not safe against either.
      if (i % 2 == 1) {
        Value& v = registry.get<Value>(name);
        if (v.id != i) violation("get returned another value");
      }
      break;
    }
    case 3:
      if (Value* v = registry.handle<Value>(name).try_get();
          v != nullptr && i % 2 == 1 && v->id != i) {
        violation("try_get returned another value");
      }
      break;
    case 4:
      // Odd entries are read through get() and try_get(), whose references
      // unload() invalidates by contract, so only even ones are unloaded.
      if (i % 2 == 0) registry.unload(name);
      break;
    case 5:
      registry.load(name);
      break;
    case 6: {
      lazyload::LoadFuture f = registry.load_async(name);
      switch (rng() % 4) {
      case 0:
        f.get();  // may run the load here; throws what it threw
        break;
      case 1:
        (void)f.wait_for(1ms);
        break;
      case 2: {
        std::future<void> plain = std::move(f);  // the old return type
        plain.wait();
        break;
      }
      default:
        break;  // dropped: the load goes on
      }
      break;
    }
    case 7:
      if (rng() % 20 == 0) registry.start_background();
      break;
    case 8:
      if (rng() % 50 == 0) registry.load_all();
      break;
    case 9:
      check_counts(registry.snapshot());
      break;
    case 10: {
#if defined(LAZYLOAD_STRESS_WITH_JSON)
      const nlohmann::json j =
          nlohmann::json::parse(lazyload::dump_status(registry));
      const auto& p = j.at("progress");
      if (p.at("loaded").get<std::size_t>() +
              p.at("failed").get<std::size_t>() +
              p.at("loading").get<std::size_t>() +
              p.at("queued").get<std::size_t>() +
              p.at("unloaded").get<std::size_t>() !=
          p.at("total").get<std::size_t>()) {
        violation("dump_status counts do not add up");
      }
#else
      check_counts(registry.snapshot());
#endif
      break;
    }
    default:
      (void)registry.entry(name).stats();
      (void)registry.timeline();
      break;
    }
  } catch (const lazyload::LoadError&) {
    // Loaders throw on purpose; dependents fail with them.
  }
  g_operations.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 3;
  int threads = 8;
  unsigned seed = std::random_device{}();
  for (int a = 1; a + 1 < argc; a += 2) {
    if (std::strcmp(argv[a], "--seconds") == 0)
      seconds = std::atof(argv[a + 1]);
    if (std::strcmp(argv[a], "--threads") == 0)
      threads = std::atoi(argv[a + 1]);
    if (std::strcmp(argv[a], "--seed") == 0) {
      seed = static_cast<unsigned>(std::strtoul(argv[a + 1], nullptr, 10));
    }
  }
  const bool on_executor = seed % 2 == 1;
  std::printf("stress: %d threads for %.1f s, seed %u, loads on %s\n", threads,
              seconds, seed,
              on_executor ? "an executor that sometimes throws"
                          : "the registry's workers");
  set_locale();
  // Declared before the registry: its threads outlive the registry's tasks.
  Pool pool(3);

  std::vector<Counters> counters(kEntries);
  lazyload::RegistryOptions options;
  options.workers = 3;
  if (on_executor) {
    options.executor = [&pool](std::function<void()> task) {
      pool.submit(std::move(task));
    };
  }
  // The 12 entries that are not evictable take 12000 bytes; the 12
  // evictable ones compete for the 4000 left.
  options.memory_budget = 16 * 1000;
  options.on_change = [&](const lazyload::StatusChange& c) {
    const int i = std::atoi(std::string(c.name).substr(6).c_str());
    if (c.to == lazyload::Status::loaded) counters[i].seen_loaded++;
    if (c.to == lazyload::Status::failed) counters[i].seen_failed++;
    if (c.from == lazyload::Status::loading &&
        c.to == lazyload::Status::unloaded) {
      counters[i].seen_cancelled++;
    }
  };
  auto owned = std::make_unique<lazyload::LazyRegistry>(options);
  lazyload::LazyRegistry& registry = *owned;

  for (int i = 0; i < kEntries; ++i) {
    lazyload::EntryOptions o;
    o.priority = i % 5;
    if (i >= 3 && i % 3 == 0) o.depends_on = {name_of(i - 3)};
    o.evictable = i % 2 == 0;
    o.size_bytes = 1000;
    if (i % 8 == 0) o.idle_timeout = 5ms;
    registry.add(
        name_of(i),
        [i, &c = counters[i], &registry,
         calls = std::uint64_t{0}](lazyload::Progress& p) mutable {
          c.runs++;
          const std::uint64_t n = ++calls;
          // Entries 5, 11, 17, 23 wait on the future of the entry before
          // them (not a declared dependency): on a worker, it may be queued
          // behind this very load.
          if (i % 6 == 5 && n % 2 == 0) {
            try {
              registry.load_async(name_of(i - 1)).get();
            } catch (const lazyload::LoadError&) {
              // That entry's own failure; this load goes on.
            }
          }
          p.report(0.5, "half");
          if (n % 7 == 0) std::this_thread::sleep_for(1ms);
          if (i % 4 == 1 && n % 3 == 0) {
            c.own_failures++;
            throw std::runtime_error("injected failure");
          }
          p.report(1.0, "done");
          c.successes++;
          return std::make_unique<Value>(i);
        },
        o);
  }

  std::atomic<bool> stop{false};
  std::thread watchdog([&] {
    std::uint64_t last = g_operations.load();
    auto last_change = Clock::now();
    while (!stop.load()) {
      std::this_thread::sleep_for(100ms);
      const std::uint64_t now = g_operations.load();
      if (now != last) {
        last = now;
        last_change = Clock::now();
      } else if (Clock::now() - last_change > 10s) {
        std::fprintf(stderr,
                     "stress: DEADLOCK: no operation finished for 10 s "
                     "(seed %u)\n",
                     seed);
        std::abort();
      }
    }
  });

  const auto deadline =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double>(seconds));
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::mt19937 rng(seed + static_cast<unsigned>(t));
      while (Clock::now() < deadline) operate(registry, rng);
    });
  }
  for (auto& w : workers) w.join();
  if (!registry.wait_idle(30s)) violation("registry did not become idle");
  stop = true;
  watchdog.join();

  const lazyload::RegistrySnapshot s = registry.snapshot();
  check_counts(s);
  // Destroying the registry joins its workers, so that every status
  // callback has returned before the counts are compared.
  owned.reset();
  std::uint64_t runs = 0;
  for (int i = 0; i < kEntries; ++i) {
    const lazyload::EntrySnapshot& e = s.entries[static_cast<std::size_t>(i)];
    const Counters& c = counters[static_cast<std::size_t>(i)];
    runs += c.runs;
    if (c.runs != c.successes + c.own_failures) {
      violation(e.name + ": loader runs != successes + failures");
    }
    // A load cancelled by unload() publishes nothing and is no failure,
    // whether its loader returned or threw: each success or failure of the
    // loader is counted by the handle or was cancelled.
    if (e.loads > c.successes || e.loads + c.seen_cancelled < c.successes) {
      violation(e.name + ": handle counted " + std::to_string(e.loads) +
                " loads, loader succeeded " + std::to_string(c.successes) +
                ", " + std::to_string(c.seen_cancelled) + " cancelled");
    }
    if (e.failures + c.seen_cancelled < c.own_failures) {
      violation(e.name + ": handle counted fewer failures than the loader");
    }
    if (e.loads + e.failures + c.seen_cancelled < c.runs) {
      violation(e.name +
                ": a loader run ended neither loaded, failed nor "
                "cancelled");
    }
    if (c.seen_loaded != e.loads || c.seen_failed != e.failures) {
      violation(e.name + ": the status callback saw other counts");
    }
  }
  std::printf(
      "stress: %llu operations, %llu loader runs, %llu violations; %zu "
      "loaded, %llu over budget\n",
      static_cast<unsigned long long>(g_operations.load()),
      static_cast<unsigned long long>(runs),
      static_cast<unsigned long long>(g_violations.load()), s.loaded,
      static_cast<unsigned long long>(s.budget_overshoots));
  return g_violations.load() == 0 ? 0 : 1;
}
