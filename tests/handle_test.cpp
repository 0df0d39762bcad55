// Tests for lazyload/handle.hpp: LazyHandle<T> and LazyHandleBase.

#include "lazyload/handle.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "support/barrier.hpp"
#include "support/catch_compat.hpp"
#include "support/watchdog.hpp"

using lazyload::CycleError;
using lazyload::LazyError;
using lazyload::LazyHandle;
using lazyload::LoadError;
using lazyload::Progress;
using lazyload::Status;
using namespace std::chrono_literals;

namespace {

struct Model {
  explicit Model(int v) : value(v) {}
  int value;
  bool warm = false;
};

// Counts live instances, to see exactly when a value is destroyed.
struct Tracked {
  explicit Tracked(std::atomic<int>& live) : live_(&live) { ++*live_; }
  Tracked(const Tracked&) = delete;
  Tracked& operator=(const Tracked&) = delete;
  ~Tracked() { --*live_; }
  std::atomic<int>* live_;
};

struct CustomError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace

TEST_CASE("class template argument deduction picks T from the loader",
          "[handle]") {
  LazyHandle a{[] { return std::make_unique<Model>(1); }};
  LazyHandle b{[] { return std::make_shared<Model>(2); }};
  LazyHandle c{[] { return 3; }};
  LazyHandle d{"named", [](Progress&) { return std::string("x"); }};
  LazyHandle e{"opts", [] { return 5.0; }, lazyload::HandleOptions{}};
  STATIC_REQUIRE(std::is_same_v<decltype(a), LazyHandle<Model>>);
  STATIC_REQUIRE(std::is_same_v<decltype(b), LazyHandle<Model>>);
  STATIC_REQUIRE(std::is_same_v<decltype(c), LazyHandle<int>>);
  STATIC_REQUIRE(std::is_same_v<decltype(d), LazyHandle<std::string>>);
  STATIC_REQUIRE(std::is_same_v<decltype(e), LazyHandle<double>>);
  CHECK(a->value == 1);
  CHECK((*b).value == 2);
  CHECK(c.get() == 3);
  CHECK(d.get() == "x");
  CHECK(d.name() == "named");
}

TEST_CASE("handles are neither copyable nor movable", "[handle]") {
  STATIC_REQUIRE_FALSE(std::is_copy_constructible_v<LazyHandle<int>>);
  STATIC_REQUIRE_FALSE(std::is_move_constructible_v<LazyHandle<int>>);
  STATIC_REQUIRE_FALSE(std::is_copy_assignable_v<LazyHandle<int>>);
  STATIC_REQUIRE_FALSE(std::is_move_assignable_v<LazyHandle<int>>);
}

TEST_CASE("the loader does not run until first use, then runs once",
          "[handle]") {
  int runs = 0;
  LazyHandle<Model> h{[&] {
    ++runs;
    return std::make_unique<Model>(42);
  }};
  CHECK(runs == 0);
  CHECK_FALSE(h.is_loaded());
  CHECK(h.status() == Status::unloaded);
  Model* first = &h.get();
  CHECK(runs == 1);
  CHECK(&h.get() == first);
  CHECK(&*h == first);
  CHECK(h.operator->() == first);
  CHECK(runs == 1);
  CHECK(h.is_loaded());
  CHECK(h.status() == Status::loaded);
}

TEST_CASE("get runs the loader once when 100 threads race", "[handle]") {
  std::atomic<int> runs{0};
  LazyHandle<Model> h{[&] {
    ++runs;
    std::this_thread::sleep_for(20ms);
    return std::make_unique<Model>(7);
  }};
  std::vector<Model*> seen(100);
  lazyload_test::race(100, [&](std::size_t i) { seen[i] = &h.get(); });
  CHECK(runs == 1);
  CHECK(std::set<Model*>(seen.begin(), seen.end()).size() == 1);
  CHECK(seen[0]->value == 7);
}

TEST_CASE("try_get returns nullptr before loading and never loads",
          "[handle]") {
  int runs = 0;
  LazyHandle<int> h{[&] { return ++runs; }};
  CHECK(h.try_get() == nullptr);
  CHECK(runs == 0);
  CHECK(h.status() == Status::unloaded);
  h.load();
  REQUIRE(h.try_get() != nullptr);
  CHECK(*h.try_get() == 1);
}

TEST_CASE("a const value type works", "[handle]") {
  LazyHandle<const Model> h{[] { return Model(3); }};
  const Model& m = h.get();
  CHECK(m.value == 3);
  std::shared_ptr<const Model> lease = h.lease();
  CHECK(lease.get() == &m);
  LazyHandle<const int> i{[] { return std::make_shared<const int>(9); }};
  CHECK(i.get() == 9);
}

TEST_CASE("a move-only loader is accepted", "[handle]") {
  auto owned = std::make_unique<int>(5);
  LazyHandle<int> h{[p = std::move(owned)] { return *p * 2; }};
  CHECK(h.get() == 10);
}

TEST_CASE("status is loading while the loader runs", "[handle]") {
  LazyHandle<int>* self = nullptr;
  Status inside = Status::unloaded;
  LazyHandle<int> h{[&] {
    inside = self->status();
    return 1;
  }};
  self = &h;
  h.get();
  CHECK(inside == Status::loading);
}

TEST_CASE("a throwing loader gives a LoadError naming the entry", "[handle]") {
  int runs = 0;
  LazyHandle<int> h{"db", [&]() -> int {
                      ++runs;
                      throw CustomError("connection refused");
                    }};
  CHECK_THROWS_WITH_AS(
      h.get(), "lazyload: loading 'db' failed: connection refused", LoadError);
  CHECK(h.status() == Status::failed);
  CHECK(h.stats().error == "lazyload: loading 'db' failed: connection refused");
  CHECK(h.stats().failures == 1);
  CHECK(h.try_get() == nullptr);
  CHECK(runs == 1);
}

TEST_CASE("the loader's exception stays reachable as a nested exception",
          "[handle]") {
  LazyHandle<int> h{[]() -> int { throw CustomError("disk"); }};
  bool caught_original = false;
  try {
    h.get();
  } catch (const LoadError& e) {
    CHECK(std::string(e.what()) == "lazyload: loading failed: disk");
    // As std::rethrow_if_nested(e), without the dynamic_cast that needs RTTI.
    try {
      throw;
    } catch (const std::nested_exception& nested) {
      try {
        nested.rethrow_nested();
      } catch (const CustomError& original) {
        caught_original = std::string(original.what()) == "disk";
      }
    }
  }
  CHECK(caught_original);
}

TEST_CASE("a loader throwing a non-exception type still gives a LoadError",
          "[handle]") {
  LazyHandle<int> h{"odd", []() -> int { throw 42; }};
  bool caught_int = false;
  try {
    h.get();
  } catch (const LoadError& e) {
    CHECK(std::string(e.what()) ==
          "lazyload: loading 'odd' failed: unknown exception");
    try {
      throw;
    } catch (const std::nested_exception& nested) {
      try {
        nested.rethrow_nested();
      } catch (int v) {
        caught_int = v == 42;
      }
    }
  }
  CHECK(caught_int);
}

TEST_CASE("the next access after a failure runs the loader again", "[handle]") {
  int runs = 0;
  LazyHandle<int> h{[&] {
    if (++runs == 1) throw std::runtime_error("not yet");
    return 7;
  }};
  CHECK_THROWS_AS(h.get(), LoadError);
  CHECK(h.get() == 7);
  CHECK(runs == 2);
  CHECK(h.status() == Status::loaded);
  CHECK(h.stats().error.empty());
  CHECK(h.stats().loads == 1);
  CHECK(h.stats().failures == 1);
}

TEST_CASE("a failure cool-down rethrows without running the loader",
          "[handle]") {
  int runs = 0;
  lazyload::HandleOptions options;
  options.failure_cooldown = 1h;
  LazyHandle<int> h{"flaky",
                    [&]() -> int {
                      ++runs;
                      throw std::runtime_error("down");
                    },
                    options};
  CHECK_THROWS_WITH_AS(h.get(), "lazyload: loading 'flaky' failed: down",
                       LoadError);
  CHECK_THROWS_WITH_AS(h.get(), "lazyload: loading 'flaky' failed: down",
                       LoadError);
  CHECK(runs == 1);
  h.unload();  // forgets the failure
  CHECK(h.status() == Status::unloaded);
  CHECK_THROWS_AS(h.get(), LoadError);
  CHECK(runs == 2);
}

TEST_CASE("a short failure cool-down expires", "[handle]") {
  int runs = 0;
  lazyload::HandleOptions options;
  options.failure_cooldown = 30ms;
  LazyHandle<int> h{[&]() -> int {
                      if (++runs == 1) throw std::runtime_error("down");
                      return 1;
                    },
                    options};
  CHECK_THROWS_AS(h.get(), LoadError);
  CHECK_THROWS_AS(h.get(), LoadError);
  CHECK(runs == 1);
  std::this_thread::sleep_for(60ms);
  CHECK(h.get() == 1);
  CHECK(runs == 2);
}

TEST_CASE("every thread waiting on a failed load gets that same failure",
          "[handle]") {
  constexpr std::size_t kThreads = 16;
  std::atomic<int> runs{0};
  std::atomic<std::size_t> entered{0};
  LazyHandle<int> h{"shared", [&]() -> int {
                      ++runs;
                      // Give every other thread time to block on this load.
                      while (entered.load() < kThreads)
                        std::this_thread::yield();
                      std::this_thread::sleep_for(200ms);
                      throw std::runtime_error("bad weights");
                    }};
  std::mutex mutex;
  std::set<const void*> errors;
  std::atomic<int> failures{0};
  lazyload_test::race(kThreads, [&](std::size_t) {
    ++entered;
    try {
      h.get();
    } catch (const LoadError& e) {
      ++failures;
      std::lock_guard<std::mutex> lock(mutex);
      errors.insert(&e);
    }
  });
  CHECK(runs == 1);
  CHECK(failures == static_cast<int>(kThreads));
  CHECK(errors.size() == 1);  // one exception object, shared by all
}

TEST_CASE("a loader that asks for its own value gets CycleError", "[handle]") {
  LazyHandle<int>* self = nullptr;
  LazyHandle<int> h{"self", [&] { return self->get() + 1; }};
  self = &h;
  CHECK_THROWS_WITH_AS(
      h.get(),
      "lazyload: loading 'self' failed: cycle detected: 'self' -> 'self'",
      CycleError);
  CHECK(h.status() == Status::failed);
}

TEST_CASE("a cycle through other handles on one thread names the chain",
          "[handle]") {
  LazyHandle<int>* pa = nullptr;
  LazyHandle<int>* pc = nullptr;
  LazyHandle<int> a{"a", [&] { return pc->get(); }};
  LazyHandle<int> b{"b", [&] { return pa->get(); }};
  LazyHandle<int> c{"c", [&] { return b.get(); }};
  pa = &a;
  pc = &c;
  CHECK_THROWS_WITH_AS(a.get(),
                       "lazyload: loading 'a' failed: loading 'c' failed: "
                       "loading 'b' failed: cycle detected: 'a' -> 'c' -> "
                       "'b' -> 'a'",
                       CycleError);
  // Nothing stays stuck: the handles load once the cycle is broken.
  pc = nullptr;
  LazyHandle<int> fresh{[&] { return 1; }};
  CHECK(fresh.get() == 1);
  CHECK(a.status() == Status::failed);
  CHECK(b.status() == Status::failed);
  CHECK(c.status() == Status::failed);
}

TEST_CASE("a cycle across two threads ends in CycleError, not a deadlock",
          "[handle]") {
  std::atomic<bool> x_started{false};
  std::atomic<bool> y_started{false};
  LazyHandle<int>* py = nullptr;
  LazyHandle<int> x{"x", [&] {
                      x_started = true;
                      while (!y_started) std::this_thread::yield();
                      return py->get() + 1;
                    }};
  LazyHandle<int> y{"y", [&] {
                      y_started = true;
                      while (!x_started) std::this_thread::yield();
                      return x.get() + 1;
                    }};
  py = &y;
  std::atomic<int> cycles{0};
  auto run = [&](LazyHandle<int>& h) {
    try {
      h.get();
    } catch (const CycleError&) {
      ++cycles;
    }
  };
  std::thread t1([&] { run(x); });
  std::thread t2([&] { run(y); });
  t1.join();
  t2.join();
  // One thread detects the cycle; its failure propagates to the other load,
  // which waited on it, so both callers see a CycleError.
  CHECK(cycles == 2);
}

TEST_CASE("the warm-up runs on the value before it is published", "[handle]") {
  lazyload::HandleOptions options;
  options.warmup = [](Model& m) { m.warm = true; };
  LazyHandle<Model> h{[] { return std::make_unique<Model>(1); }, options};
  CHECK(h.get().warm);
}

TEST_CASE("a throwing warm-up fails the load", "[handle]") {
  int warmups = 0;
  lazyload::HandleOptions options;
  options.warmup = [&](int&) {
    if (++warmups == 1) throw std::runtime_error("kernel compile failed");
  };
  LazyHandle<int> h{"gpu", [] { return 1; }, options};
  CHECK_THROWS_WITH_AS(h.get(),
                       "lazyload: loading 'gpu' failed: kernel compile failed",
                       LoadError);
  CHECK(h.status() == Status::failed);
  CHECK(h.try_get() == nullptr);
  CHECK(h.get() == 1);
  CHECK(warmups == 2);
}

TEST_CASE("a warm-up for another type is refused at construction", "[handle]") {
  lazyload::HandleOptions options;
  options.warmup = [](std::string&) {};
  auto make = [&] { LazyHandle<int> h{"n", [] { return 1; }, options}; };
  CHECK_THROWS_WITH_AS(make(),
                       "lazyload: the warm-up of 'n' takes std::string but "
                       "the value is int",
                       LazyError);
}

TEST_CASE("progress and stage are readable while the loader runs", "[handle]") {
  std::atomic<bool> reported{false};
  std::atomic<bool> release{false};
  LazyHandle<int> h{"staged", [&](Progress& p) {
                      p.report(0.7, "weights");
                      reported = true;
                      while (!release) std::this_thread::yield();
                      p.report(1.0, "ready");
                      return 1;
                    }};
  std::thread loader([&] { h.get(); });
  while (!reported) std::this_thread::yield();
  const lazyload::HandleStats during = h.stats();
  CHECK(during.status == Status::loading);
  CHECK(during.progress == Approx(0.7));
  CHECK(during.stage == "weights");
  release = true;
  loader.join();
  CHECK(h.stats().stage == "ready");
  CHECK(h.stats().progress == Approx(1.0));
}

TEST_CASE("a loader returning a null pointer fails", "[handle]") {
  LazyHandle<Model> h{"empty", [] { return std::unique_ptr<Model>(); }};
  CHECK_THROWS_WITH_AS(
      h.get(),
      "lazyload: loading 'empty' failed: the loader returned a null pointer",
      LoadError);
}

TEST_CASE("unload destroys an unleased value before it returns", "[handle]") {
  std::atomic<int> live{0};
  int runs = 0;
  LazyHandle<Tracked> h{[&] {
    ++runs;
    return std::make_unique<Tracked>(live);
  }};
  h.get();
  CHECK(live == 1);
  h.unload();
  CHECK(live == 0);
  CHECK(h.status() == Status::unloaded);
  CHECK_FALSE(h.is_loaded());
  CHECK(h.try_get() == nullptr);
  h.get();  // the next access loads again
  CHECK(runs == 2);
  CHECK(live == 1);
}

TEST_CASE("a lease keeps the value alive across unload", "[handle]") {
  std::atomic<int> live{0};
  LazyHandle<Tracked> h{[&] { return std::make_unique<Tracked>(live); }};
  std::shared_ptr<Tracked> lease = h.lease();
  std::shared_ptr<Tracked> second = lease;
  h.unload();
  CHECK(live == 1);
  CHECK(lease->live_ == &live);
  lease.reset();
  CHECK(live == 1);
  second.reset();  // the last lease destroys it
  CHECK(live == 0);
}

TEST_CASE("lease loads the value if needed", "[handle]") {
  int runs = 0;
  LazyHandle<int> h{[&] { return ++runs; }};
  auto lease = h.lease();
  CHECK(*lease == 1);
  CHECK(lease.get() == h.try_get());
  CHECK(runs == 1);
}

TEST_CASE("the destructor destroys the value", "[handle]") {
  std::atomic<int> live{0};
  {
    LazyHandle<Tracked> h{[&] { return std::make_unique<Tracked>(live); }};
    h.get();
    CHECK(live == 1);
  }
  CHECK(live == 0);
}

TEST_CASE("wait_for times out when nobody loads", "[handle]") {
  LazyHandle<int> h{[] { return 1; }};
  CHECK_FALSE(h.wait_for(10ms));
  CHECK(h.status() == Status::unloaded);
}

TEST_CASE("wait_for returns once another thread's load finishes", "[handle]") {
  std::atomic<bool> started{false};
  LazyHandle<int> h{[&] {
    started = true;
    std::this_thread::sleep_for(50ms);
    return 1;
  }};
  std::thread loader([&] { h.get(); });
  while (!started) std::this_thread::yield();
  CHECK(h.wait_for(10s));
  CHECK(h.is_loaded());
  loader.join();
}

TEST_CASE("stats record load time, counts and time of loading", "[handle]") {
  LazyHandle<int> h{"timed", [] {
                      std::this_thread::sleep_for(20ms);
                      return 1;
                    }};
  const auto before = std::chrono::system_clock::now();
  h.get();
  const lazyload::HandleStats s = h.stats();
  CHECK(s.name == "timed");
  CHECK(s.status == Status::loaded);
  CHECK(s.loads == 1);
  CHECK(s.failures == 0);
  CHECK(s.load_time >= 0.020);
  CHECK(s.last_loaded_at >= before);
  const lazyload::LoadRecord r = h.last_load();
  CHECK(r.ok);
  CHECK(r.name == "timed");
  CHECK(r.thread == std::this_thread::get_id());
  CHECK(r.finished_at - r.started_at >= 20ms);
}

TEST_CASE("load time includes the warm-up", "[handle]") {
  lazyload::HandleOptions options;
  options.warmup = [](int&) { std::this_thread::sleep_for(30ms); };
  LazyHandle<int> h{[] { return 1; }, options};
  h.get();
  CHECK(h.stats().load_time >= 0.030);
}

TEST_CASE("leases, gets and unloads racing keep every lease valid",
          "[handle]") {
  std::atomic<int> live{0};
  std::atomic<int> runs{0};
  LazyHandle<Tracked> h{[&] {
    ++runs;
    return std::make_unique<Tracked>(live);
  }};
  std::atomic<int> bad{0};  // Catch2 assertions are not thread-safe
  lazyload_test::race(8, [&](std::size_t i) {
    for (int n = 0; n < 300; ++n) {
      if (i % 4 == 0) {
        h.unload();
      } else {
        try {
          std::shared_ptr<Tracked> lease = h.lease();
          if (lease->live_ != &live) ++bad;  // a destroyed value would differ
        } catch (const lazyload::LoadCancelled&) {
          // An unload() raced with this lease's load and cancelled it.
        }
      }
      (void)h.try_get();
      (void)h.stats();
    }
  });
  h.unload();
  CHECK(bad == 0);
  CHECK(live == 0);
  CHECK(runs >= 1);
}

TEST_CASE(
    "wait_for with duration::max waits for the load instead of "
    "returning at once",
    "[handle]") {
  LazyHandle<int> h{[] {
    std::this_thread::sleep_for(100ms);
    return 1;
  }};
  std::thread loader([&] { h.load(); });
  while (h.status() != Status::loading) std::this_thread::yield();
  CHECK(h.wait_for(std::chrono::steady_clock::duration::max()));
  CHECK(h.wait_for(std::chrono::hours::max()));
  loader.join();
}

TEST_CASE("an empty loader is refused at construction, naming the handle",
          "[handle]") {
  int (*none)() = nullptr;
  CHECK_THROWS_WITH_AS((LazyHandle<int>{"model", none}),
                       "lazyload: the loader of 'model' is empty", LazyError);
  const std::function<int()> empty;
  CHECK_THROWS_WITH_AS((LazyHandle<int>{"db", empty}),
                       "lazyload: the loader of 'db' is empty", LazyError);
  CHECK_THROWS_WITH_AS((LazyHandle<int>{empty}),
                       "lazyload: the loader of an unnamed handle is empty",
                       LazyError);
}

// Reload, cancellation, deadlines and try_lease: the serving lifecycle.

namespace {

// A flag one thread raises and others wait for, with a bound, so that a
// regression fails the test instead of hanging it.
class Flag {
 public:
  void raise() {
    std::lock_guard<std::mutex> lock(mutex_);
    raised_ = true;
    cv_.notify_all();
  }
  bool wait(std::chrono::seconds bound = 10s) {
    std::unique_lock<std::mutex> lock(mutex_);
    return cv_.wait_for(lock, bound, [this] { return raised_; });
  }
  bool raised() {
    std::lock_guard<std::mutex> lock(mutex_);
    return raised_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool raised_ = false;
};

// A value that counts its destructions.
struct Version {
  Version(int v, std::atomic<int>& destroyed) : value(v), gone(&destroyed) {}
  Version(const Version&) = delete;
  Version& operator=(const Version&) = delete;
  ~Version() { gone->fetch_add(1); }
  int value;
  std::atomic<int>* gone;
};

}  // namespace

TEST_CASE("reload serves the old value until the new one is ready",
          "[handle][reload]") {
  std::atomic<int> version{0};
  std::atomic<int> destroyed{0};
  Flag started;
  Flag release;
  LazyHandle<Version> h{"model", [&] {
                          const int v = ++version;
                          if (v == 2) {
                            started.raise();
                            release.wait();
                          }
                          return std::make_unique<Version>(v, destroyed);
                        }};
  REQUIRE(h.get().value == 1);
  std::shared_ptr<Version> held = h.lease();
  std::thread reloader([&] { h.reload(); });
  REQUIRE(started.wait());
  // While the reload runs: status loaded, every read returns version 1 at once.
  CHECK(h.status() == Status::loaded);
  CHECK(h.stats().reloading);
  CHECK(h.get().value == 1);
  CHECK(h.try_lease()->value == 1);
  CHECK(h.lease()->value == 1);
  release.raise();
  reloader.join();
  CHECK(h.get().value == 2);
  CHECK_FALSE(h.stats().reloading);
  CHECK(h.stats().loads == 2);
  // The old value lives as long as its lease, and is destroyed exactly once.
  CHECK(destroyed == 0);
  CHECK(held->value == 1);
  held.reset();
  CHECK(destroyed == 1);
}

TEST_CASE("readers that lease throughout reloads never block or see a gap",
          "[handle][reload]") {
  std::atomic<int> version{0};
  std::atomic<int> destroyed{0};
  LazyHandle<Version> h{[&] {
    std::this_thread::sleep_for(1ms);
    return std::make_unique<Version>(++version, destroyed);
  }};
  h.load();
  std::atomic<bool> done{false};
  std::atomic<int> empty{0};
  std::atomic<int> backwards{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 4; ++r) {
    readers.emplace_back([&] {
      int last = 0;
      while (!done) {
        std::shared_ptr<Version> v = h.try_lease();
        if (!v) {
          ++empty;
          continue;
        }
        if (v->value < last) ++backwards;
        last = v->value;
      }
    });
  }
  for (int i = 0; i < 50; ++i) h.reload();
  done = true;
  for (auto& t : readers) t.join();
  CHECK(empty == 0);
  CHECK(backwards == 0);
  CHECK(h.get().value == 51);
  // Every replaced version was destroyed once, the serving one not at all.
  CHECK(destroyed == 50);
}

TEST_CASE("a failed reload leaves the old value serving", "[handle][reload]") {
  std::atomic<int> runs{0};
  LazyHandle<int> h{"model", [&]() -> int {
                      if (++runs == 2) throw std::runtime_error("bad weights");
                      return runs;
                    }};
  REQUIRE(h.get() == 1);
  CHECK_THROWS_WITH_AS(
      h.reload(), "lazyload: loading 'model' failed: bad weights", LoadError);
  CHECK(h.status() == Status::loaded);
  CHECK(h.get() == 1);
  const auto stats = h.stats();
  CHECK(stats.failures == 1);
  CHECK(stats.error == "lazyload: loading 'model' failed: bad weights");
  h.reload();
  CHECK(h.get() == 3);
  CHECK(h.stats().error.empty());
}

TEST_CASE("reload of a handle that is not loaded is a load",
          "[handle][reload]") {
  int runs = 0;
  LazyHandle<int> h{[&] { return ++runs; }};
  h.reload();
  CHECK(h.is_loaded());
  CHECK(runs == 1);
}

TEST_CASE("concurrent reloads share one load", "[handle][reload]") {
  std::atomic<int> runs{0};
  Flag started;
  Flag release;
  LazyHandle<int> h{[&] {
    const int n = ++runs;
    if (n == 2) {
      started.raise();
      release.wait();
    }
    return n;
  }};
  h.load();
  std::thread first([&] { h.reload(); });
  REQUIRE(started.wait());
  std::vector<std::thread> others;
  for (int i = 0; i < 4; ++i) others.emplace_back([&] { h.reload(); });
  std::this_thread::sleep_for(20ms);  // let them reach the wait (not needed
                                      // for correctness: they share anyway)
  release.raise();
  first.join();
  for (auto& t : others) t.join();
  CHECK(runs == 2);
  CHECK(h.get() == 2);
}

TEST_CASE("a cancelled load publishes nothing and every waiter is told",
          "[handle][cancel]") {
  std::atomic<bool> stuck{true};
  std::atomic<int> runs{0};
  LazyHandle<int> h{"slow", [&](Progress& p) {
                      ++runs;
                      while (stuck && !p.stop_requested())
                        std::this_thread::yield();
                      return 7;  // returned anyway: not published while stuck
                    }};
  CHECK_FALSE(h.cancel());  // nothing runs yet
  std::atomic<int> cancelled{0};
  std::atomic<int> finished{0};
  std::vector<std::thread> callers;
  for (int i = 0; i < 3; ++i) {
    callers.emplace_back([&] {
      try {
        h.get();
      } catch (const lazyload::LoadCancelled& e) {
        if (std::string(e.what()) == "lazyload: loading 'slow' was cancelled") {
          ++cancelled;
        }
      }
      ++finished;
    });
  }
  // Each caller either runs the loader or waits for the caller that does;
  // cancelling until all have returned reaches every one of them.
  while (finished < 3) {
    h.cancel();
    std::this_thread::yield();
  }
  for (auto& t : callers) t.join();
  CHECK(cancelled == 3);
  CHECK(runs >= 1);
  CHECK(h.status() == Status::unloaded);
  CHECK_FALSE(h.is_loaded());
  CHECK(h.stats().failures == 0);
  stuck = false;
  CHECK(h.get() == 7);  // the next access loads again
}

TEST_CASE("a cancelled reload keeps the old value", "[handle][cancel]") {
  std::atomic<int> runs{0};
  Flag started;
  LazyHandle<int> h{[&](Progress& p) {
    const int n = ++runs;
    if (n == 2) {
      started.raise();
      while (true) p.throw_if_stop_requested();
    }
    return n;
  }};
  h.load();
  std::atomic<bool> cancelled{false};  // Catch2 asserts on one thread only
  std::thread reloader([&] {
    try {
      h.reload();
    } catch (const lazyload::LoadCancelled&) {
      cancelled = true;
    }
  });
  REQUIRE(started.wait());
  CHECK(h.cancel());
  reloader.join();
  CHECK(cancelled);
  CHECK(h.status() == Status::loaded);
  CHECK(h.get() == 1);
  CHECK(h.stats().failures == 0);
}

TEST_CASE("unload during a load cancels it", "[handle][cancel]") {
  Flag started;
  LazyHandle<int> h{[&](Progress& p) {
    started.raise();
    while (!p.stop_requested()) std::this_thread::yield();
    return 1;
  }};
  std::atomic<bool> cancelled{false};
  std::thread loader([&] {
    try {
      h.get();
    } catch (const lazyload::LoadCancelled&) {
      cancelled = true;
    }
  });
  REQUIRE(started.wait());
  h.unload();
  loader.join();
  CHECK(cancelled);
  CHECK(h.status() == Status::unloaded);
  CHECK_FALSE(h.is_loaded());
}

TEST_CASE("load_timeout stops a cooperative loader and says so",
          "[handle][cancel]") {
  lazyload::HandleOptions options;
  options.load_timeout = 50ms;
  LazyHandle<int> h{"stuck",
                    [](Progress& p) {
                      while (true) p.throw_if_stop_requested();
                      return 0;
                    },
                    options};
  CHECK_THROWS_WITH_AS(
      h.get(), "lazyload: loading 'stuck' timed out after 50 ms", LoadError);
  CHECK(h.status() == Status::failed);
  CHECK(h.stats().failures == 1);
}

TEST_CASE("a loader that returns after its deadline publishes nothing",
          "[handle][cancel]") {
  lazyload::HandleOptions options;
  options.load_timeout = 10ms;
  LazyHandle<int> h{[] {
                      std::this_thread::sleep_for(50ms);  // ignores the stop
                      return 1;
                    },
                    options};
  CHECK_THROWS_WITH_AS(h.get(), "lazyload: loading timed out after 10 ms",
                       LoadError);
  CHECK_FALSE(h.is_loaded());
}

TEST_CASE("try_lease never loads and never waits for a load",
          "[handle][try_lease]") {
  Flag started;
  Flag release;
  LazyHandle<int> h{[&] {
    started.raise();
    release.wait();
    return 5;
  }};
  CHECK_FALSE(h.try_lease());
  CHECK(h.status() == Status::unloaded);
  std::thread loader([&] { h.load(); });
  REQUIRE(started.wait());
  CHECK_FALSE(h.try_lease());  // returns at once during the load
  release.raise();
  loader.join();
  std::shared_ptr<int> lease = h.try_lease();
  REQUIRE(lease);
  h.unload();
  CHECK(*lease == 5);  // the lease outlives unload
}

TEST_CASE(
    "stop_requested is false outside a stop, and no deadline is set "
    "by default",
    "[handle][cancel]") {
  bool seen = true;
  LazyHandle<int> h{[&](Progress& p) {
    seen = p.stop_requested();
    return 1;
  }};
  h.load();
  CHECK_FALSE(seen);
}

#if LAZYLOAD_HAS_FORCED_UNWIND
#  include <pthread.h>

TEST_CASE("a loader that ends its thread fails the load and frees waiters",
          "[handle][cancel]") {
  // pthread_exit() unwinds with abi::__forced_unwind: swallowing it aborts
  // the process ("FATAL: exception not rethrown").
  static std::atomic<int> runs{0};
  static LazyHandle<int>* handle = nullptr;
  LazyHandle<int> h{"exit", [] {
                      if (++runs == 1) pthread_exit(nullptr);
                      return 2;
                    }};
  handle = &h;
  pthread_t thread;
  REQUIRE(pthread_create(
              &thread, nullptr,
              [](void*) -> void* {
                handle->load();
                return nullptr;
              },
              nullptr) == 0);
  REQUIRE(pthread_join(thread, nullptr) == 0);
  CHECK(h.status() == Status::failed);
  CHECK(h.stats().error ==
        "lazyload: loading 'exit' failed: the loading thread was ended");
  CHECK(h.get() == 2);  // the next access loads again
}
#endif

TEST_CASE(
    "a reload that ends during a later load keeps that load's cycle "
    "detection",
    "[handle][reload]") {
  // reload() starts; unload() cancels it; load() starts on another thread;
  // the cancelled reload ends. The load's own wait for itself must still be
  // a CycleError, not a wait for ever.
  lazyload_test::Watchdog watchdog(30s, "a self-wait after a reload");
  static LazyHandle<int>* self = nullptr;
  std::atomic<int> runs{0};
  Flag reloading;
  Flag release_reload;
  Flag third;
  Flag reload_over;
  LazyHandle<int> h{"h", [&]() -> int {
                      const int n = ++runs;
                      if (n == 2) {
                        reloading.raise();
                        release_reload.wait();
                      } else if (n == 3) {
                        third.raise();
                        reload_over.wait();
                        self->get();  // waits for itself
                      }
                      return n;
                    }};
  self = &h;
  h.get();
  std::thread reloader([&] {
    try {
      h.reload();
    } catch (const LoadError&) {
      // cancelled by the unload below
    }
  });
  REQUIRE(reloading.wait());
  h.unload();
  std::atomic<bool> cycle{false};
  std::thread loader([&] {
    try {
      h.load();
    } catch (const CycleError&) {
      cycle = true;
    } catch (const LoadError&) {
    }
  });
  REQUIRE(third.wait());
  release_reload.raise();
  reloader.join();
  reload_over.raise();
  loader.join();
  CHECK(cycle);
}

// The word waiters of a load sleep on (detail/wait_word.hpp).
TEST_CASE("a wait word wakes every waiter with one bump and honours deadlines",
          "[handle][wait_word]") {
  lazyload::detail::WaitWord word;
  const std::uint32_t seen = word.load();

  // A deadline already past returns at once, unchanged.
  CHECK_FALSE(word.wait(seen, std::chrono::steady_clock::now()));
  // A short deadline passes without a bump.
  const auto start = std::chrono::steady_clock::now();
  CHECK_FALSE(word.wait(seen, start + 20ms));
  CHECK(std::chrono::steady_clock::now() - start >= 20ms);

  constexpr int kWaiters = 8;
  std::atomic<int> woken{0};
  std::atomic<int> changed{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kWaiters; ++i) {
    threads.emplace_back([&] {
      if (word.wait(seen)) changed.fetch_add(1);
      woken.fetch_add(1);
    });
  }
  std::this_thread::sleep_for(20ms);  // most of them asleep by now
  CHECK(woken.load() == 0);
  word.bump();
  for (auto& t : threads) t.join();
  CHECK(woken.load() == kWaiters);
  CHECK(changed.load() == kWaiters);
  // A value that already moved on returns at once.
  CHECK(word.wait(seen));
}

TEST_CASE("waiters released by a load return its value, many times over",
          "[handle][wait_word]") {
  // Many rounds of a contended first load: every thread gets the one value,
  // the loader runs once per round, and nobody is left asleep.
  lazyload_test::Watchdog watchdog(60s, "contended first loads");
  for (int round = 0; round < 200; ++round) {
    std::atomic<int> runs{0};
    LazyHandle<int> h([&] {
      runs.fetch_add(1);
      std::this_thread::sleep_for(std::chrono::microseconds(round % 7 * 50));
      return round;
    });
    std::vector<int> got(6, -1);
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < got.size(); ++i) {
      threads.emplace_back([&, i] { got[i] = h.get(); });
    }
    for (auto& t : threads) t.join();
    REQUIRE(runs.load() == 1);
    for (int v : got) REQUIRE(v == round);
  }
}

TEST_CASE("a handle is at most one cache line, whatever its value type",
          "[handle][size]") {
  // The cold state (mutex, statistics, progress, name) lives out of line:
  // per-tile and per-image handles cost a few words each.
  struct Big {
    char bytes[4096];
  };
  STATIC_REQUIRE(sizeof(LazyHandle<int>) <= 64);
  STATIC_REQUIRE(sizeof(LazyHandle<std::string>) <= 64);
  STATIC_REQUIRE(sizeof(LazyHandle<Big>) <= 64);
  STATIC_REQUIRE(sizeof(lazyload::LazyHandleBase) <= 64);
}

TEST_CASE("leases racing unload and reload hold a whole, live value",
          "[handle][lease]") {
  // lease() and try_lease() take no mutex on a loaded handle; unload() and
  // reload() replace the value under them. Every lease must hold a value
  // that is alive (not destroyed) and whole, however the race falls.
  lazyload_test::Watchdog watchdog(60s, "leases racing unload and reload");
  struct Tracked {
    explicit Tracked(int v, std::atomic<int>& live) : value(v), live(live) {
      live.fetch_add(1);
    }
    ~Tracked() {
      value = -1;
      live.fetch_sub(1);
    }
    Tracked(const Tracked&) = delete;
    Tracked& operator=(const Tracked&) = delete;
    int value;
    std::atomic<int>& live;
  };
  std::atomic<int> live{0};
  std::atomic<int> next{1};
  LazyHandle<Tracked> h("tracked", [&] {
    return std::make_unique<Tracked>(next.fetch_add(1), live);
  });
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::atomic<long> leases{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&, t] {
      while (!stop.load()) {
        std::shared_ptr<Tracked> p = t == 0 ? h.try_lease() : h.lease();
        if (!p) continue;
        leases.fetch_add(1);
        if (p->value <= 0) bad.fetch_add(1);
      }
    });
  }
  long seen = 0;
  for (int i = 0; i < 2000; ++i) {
    if (i % 50 == 0) {  // the readers take leases between the changes
      if (i % 100 == 0) h.load();
      while (leases.load() <= seen) std::this_thread::yield();
      seen = leases.load();
    }
    if (i % 2 == 0) {
      h.unload();
    } else {
      h.reload();
    }
  }
  stop.store(true);
  for (auto& t : readers) t.join();
  CHECK(bad.load() == 0);
  CHECK(leases.load() > 0);
  h.unload();
  CHECK(live.load() == 0);  // nothing leaked, nothing destroyed twice
}

TEST_CASE("every lease counts as a use", "[handle][lease]") {
  LazyHandle<int> h([] { return 7; });
  h.load();  // a load is one use
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        auto a = h.lease();
        auto b = h.try_lease();
        static_cast<void>(a);
        static_cast<void>(b);
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(h.stats().uses == 1 + 4 * 2000);
}

TEST_CASE(
    "the portable wait (no futex) wakes every waiter and honours "
    "deadlines",
    "[handle][wait_word]") {
  // What WaitWord sleeps on where there is no futex; compiled everywhere.
  std::atomic<std::uint32_t> word{0};
  lazyload_test::Watchdog watchdog(30s, "the portable wait");
  const auto deadline = std::chrono::steady_clock::now() + 20ms;
  while (std::chrono::steady_clock::now() < deadline) {  // spurious: again
    lazyload::detail::bucket_sleep_on(word, 0, deadline);
  }
  lazyload::detail::bucket_sleep_on(word, 1, std::nullopt);  // not 1: returns

  std::atomic<int> woken{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      while (word.load() == 0) {
        lazyload::detail::bucket_sleep_on(word, 0, std::nullopt);
      }
      woken.fetch_add(1);
    });
  }
  std::this_thread::sleep_for(20ms);
  CHECK(woken.load() == 0);
  word.store(1);
  lazyload::detail::bucket_wake_all(word);
  for (auto& t : threads) t.join();
  CHECK(woken.load() == 4);
}
