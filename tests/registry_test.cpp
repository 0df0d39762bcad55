// Tests for lazyload/registry.hpp: LazyRegistry.

#include "lazyload/registry.hpp"

#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "support/barrier.hpp"
#include "support/catch_compat.hpp"
#include "support/registry_fixtures.hpp"
#include "support/watchdog.hpp"

using lazyload::CycleError;
using lazyload::EntryOptions;
using lazyload::LazyError;
using lazyload::LazyRegistry;
using lazyload::LoadError;
using lazyload::RegistryOptions;
using lazyload::Status;
using lazyload_test::Gate;
using lazyload_test::Journal;
using namespace std::chrono_literals;

// Counts this thread's allocations while enabled, to prove a path allocates
// nothing. The sanitizers bring their own operator new, so the count (and
// the test that reads it) is built only without them.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#  define LAZYLOAD_TEST_SANITIZED 1
#elif defined(__has_feature)
#  if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#    define LAZYLOAD_TEST_SANITIZED 1
#  endif
#endif

#ifndef LAZYLOAD_TEST_SANITIZED
namespace {
thread_local bool g_counting = false;
thread_local std::size_t g_allocations = 0;
}  // namespace

void* operator new(std::size_t size) {
  if (g_counting) ++g_allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#endif

namespace {

struct Base {
  virtual ~Base() = default;
  virtual int id() const = 0;
};
struct Derived : Base {
  int id() const override { return 7; }
};

EntryOptions priority(int p) {
  EntryOptions o;
  o.priority = p;
  return o;
}

EntryOptions depends(std::vector<std::string> deps) {
  EntryOptions o;
  o.depends_on = std::move(deps);
  return o;
}

}  // namespace

TEST_CASE("add returns a handle that lives as long as the registry",
          "[registry]") {
  LazyRegistry r;
  auto& h = r.add("answer", [] { return 42; });
  STATIC_REQUIRE(std::is_same_v<decltype(h), lazyload::LazyHandle<int>&>);
  for (int i = 0; i < 100; ++i) {
    r.add("filler" + std::to_string(i), [] { return 0; });
  }
  CHECK(&r.handle<int>("answer") == &h);
  CHECK(r.get<int>("answer") == 42);
  CHECK(h.is_loaded());
}

TEST_CASE("add takes an explicit value type", "[registry]") {
  LazyRegistry r;
  r.add<Base>("impl", [] { return std::make_unique<Derived>(); });
  CHECK(r.get<Base>("impl").id() == 7);
}

TEST_CASE("an empty or duplicate name is refused, naming it", "[registry]") {
  LazyRegistry r;
  r.add("db", [] { return 1; });
  CHECK_THROWS_WITH_AS(r.add("", [] { return 1; }),
                       "lazyload: a resource name must not be empty",
                       LazyError);
  CHECK_THROWS_WITH_AS(r.add("db", [] { return 2; }),
                       "lazyload: resource 'db' is already registered",
                       LazyError);
  CHECK(r.size() == 1);
  CHECK(r.get<int>("db") == 1);
}

TEST_CASE("an unknown name throws an exception naming it", "[registry]") {
  LazyRegistry r;
  const char* msg = "lazyload: resource 'nope' is not registered";
  CHECK_THROWS_WITH_AS(r.get<int>("nope"), msg, LazyError);
  CHECK_THROWS_WITH_AS(r.handle<int>("nope"), msg, LazyError);
  CHECK_THROWS_WITH_AS(r.entry("nope"), msg, LazyError);
  CHECK_THROWS_WITH_AS(r.load("nope"), msg, LazyError);
  CHECK_THROWS_WITH_AS(r.unload("nope"), msg, LazyError);
  CHECK_THROWS_WITH_AS(r.load_async("nope"), msg, LazyError);
  CHECK_FALSE(r.contains("nope"));
}

TEST_CASE("asking for the wrong type names the entry and both types",
          "[registry]") {
  LazyRegistry r;
  r.add("name", [] { return std::string("x"); });
  CHECK_THROWS_WITH_AS(r.get<int>("name"),
                       "lazyload: resource 'name' holds std::string, not int",
                       LazyError);
  CHECK_FALSE(r.entry("name").is_loaded());
}

#ifndef LAZYLOAD_TEST_SANITIZED
TEST_CASE("looking a name up allocates nothing", "[registry]") {
  LazyRegistry r;
  for (int i = 0; i < 50; ++i) {
    r.add("resource-with-a-long-name-" + std::to_string(i), [i] { return i; });
  }
  r.load_all();
  const std::string name = "resource-with-a-long-name-37";
  const std::string_view view = name;
  g_allocations = 0;
  g_counting = true;
  const int v = r.get<int>(view);
  auto& h = r.handle<int>(view);
  const bool found = r.contains(view);
  g_counting = false;
  CHECK(v == 37);
  CHECK(h.is_loaded());
  CHECK(found);
  CHECK(g_allocations == 0);
}
#endif

TEST_CASE("contains, size and names reflect registration", "[registry]") {
  LazyRegistry r;
  r.add("b", [] { return 1; });
  r.add("a", [] { return 2; });
  CHECK(r.contains("a"));
  CHECK(r.size() == 2);
  CHECK(r.names() == std::vector<std::string>{"b", "a"});
}

TEST_CASE("load loads synchronously and throws what get would throw",
          "[registry]") {
  LazyRegistry r;
  r.add("ok", [] { return 1; });
  r.add("bad", []() -> int { throw std::runtime_error("no weights"); });
  r.load("ok");
  CHECK(r.entry("ok").status() == Status::loaded);
  CHECK_THROWS_WITH_AS(r.load("bad"),
                       "lazyload: loading 'bad' failed: no weights", LoadError);
  CHECK(r.entry("bad").status() == Status::failed);
}

TEST_CASE("unload by name drops the value and the next use reloads",
          "[registry]") {
  LazyRegistry r;
  int runs = 0;
  r.add("m", [&] { return ++runs; });
  CHECK(r.get<int>("m") == 1);
  r.unload("m");
  CHECK(r.entry("m").status() == Status::unloaded);
  CHECK(r.get<int>("m") == 2);
}

TEST_CASE("load_all loads in priority order and continues past failures",
          "[registry]") {
  LazyRegistry r;
  Journal journal;
  r.add(
      "low",
      [&] {
        journal.add("low");
        return 1;
      },
      priority(3));
  r.add(
      "high",
      [&] {
        journal.add("high");
        return 1;
      },
      priority(1));
  r.add(
      "broken",
      [&]() -> int {
        journal.add("broken");
        throw std::runtime_error("x");
      },
      priority(2));
  r.add(
      "high2",
      [&] {
        journal.add("high2");
        return 1;
      },
      priority(1));
  CHECK(r.load_all() == 1);
  CHECK(journal.order() ==
        std::vector<std::string>{"high", "high2", "broken", "low"});
  const auto s = r.snapshot();
  CHECK(s.loaded == 3);
  CHECK(s.failed == 1);
}

TEST_CASE("loading an entry loads its dependencies first", "[registry]") {
  LazyRegistry r;
  Journal journal;
  // The dependent is registered before the dependency: accepted.
  r.add(
      "model",
      [&] {
        journal.add("model");
        return 1;
      },
      depends({"orchestrator"}));
  r.add("orchestrator", [&] {
    journal.add("orchestrator");
    return 1;
  });
  r.get<int>("model");
  CHECK(journal.order() == std::vector<std::string>{"orchestrator", "model"});
  CHECK(r.entry("orchestrator").is_loaded());
}

TEST_CASE("a missing dependency fails the load, naming it", "[registry]") {
  LazyRegistry r;
  r.add(
      "model", [] { return 1; }, depends({"ghost"}));
  CHECK_THROWS_WITH_AS(
      r.load("model"),
      "lazyload: loading 'model' failed: dependency 'ghost' is not registered",
      LoadError);
  CHECK(r.entry("model").status() == Status::failed);
}

TEST_CASE("a failed dependency fails the dependent, naming it", "[registry]") {
  LazyRegistry r;
  r.add("gpu", []() -> int { throw std::runtime_error("no device"); });
  r.add(
      "model", [] { return 1; }, depends({"gpu"}));
  CHECK_THROWS_WITH_AS(
      r.get<int>("model"),
      "lazyload: loading 'model' failed: loading 'gpu' failed: no device",
      LoadError);
}

TEST_CASE("a declared dependency cycle is refused when it closes",
          "[registry]") {
  LazyRegistry r;
  r.add(
      "a", [] { return 1; }, depends({"b"}));
  r.add(
      "b", [] { return 1; }, depends({"c"}));
  CHECK_THROWS_WITH_AS(r.add(
                           "c", [] { return 1; }, depends({"a"})),
                       "lazyload: adding 'c' closes a dependency cycle: 'c' -> "
                       "'a' -> 'b' -> 'c'",
                       CycleError);
  CHECK_FALSE(r.contains("c"));
  CHECK_THROWS_WITH_AS(
      r.add(
          "self", [] { return 1; }, depends({"self"})),
      "lazyload: adding 'self' closes a dependency cycle: 'self' -> 'self'",
      CycleError);
  r.add("c", [] { return 1; });  // without the cycle it is fine
  CHECK(r.get<int>("a") == 1);
}

TEST_CASE(
    "a cycle through registered entries and a name declared early is "
    "refused",
    "[registry]") {
  // Only names declared before they are registered can close a cycle; the
  // edges to entries already registered are walked, not remembered.
  LazyRegistry r;
  r.add("base", [] { return 1; });
  r.add(
      "mid", [] { return 1; }, depends({"base", "top"}));
  r.add(
      "side", [] { return 1; }, depends({"mid"}));
  CHECK_THROWS_WITH_AS(r.add(
                           "top", [] { return 1; }, depends({"side"})),
                       "lazyload: adding 'top' closes a dependency cycle: "
                       "'top' -> 'side' -> 'mid' -> 'top'",
                       CycleError);
  r.add(
      "top", [] { return 2; }, depends({"base"}));
  CHECK(r.get<int>("side") == 1);
}

TEST_CASE("loaders that get each other end in CycleError on one thread",
          "[registry]") {
  LazyRegistry r;
  r.add("a", [&] { return r.get<int>("b") + 1; });
  r.add("b", [&] { return r.get<int>("a") + 1; });
  CHECK_THROWS_WITH_AS(r.get<int>("a"),
                       "lazyload: loading 'a' failed: loading 'b' failed: "
                       "cycle detected: 'a' -> 'b' -> 'a'",
                       CycleError);
}

TEST_CASE(
    "loaders that get each other across background workers end in "
    "CycleError, not a deadlock",
    "[registry]") {
  RegistryOptions options;
  options.workers = 2;
  LazyRegistry r(options);
  std::atomic<int> started{0};
  auto both_started = [&] {
    ++started;
    while (started.load() < 2) std::this_thread::yield();
  };
  r.add("x", [&] {
    both_started();
    return r.get<int>("y") + 1;
  });
  r.add("y", [&] {
    both_started();
    return r.get<int>("x") + 1;
  });
  r.start_background();
  REQUIRE(r.wait_idle(30s));
  const auto s = r.snapshot();
  CHECK(s.failed == 2);
  for (const auto& e : s.entries) {
    CHECK(e.error.find("cycle detected") != std::string::npos);
  }
  // Run again on one thread, the same cycle is found there too.
  CHECK_THROWS_AS(r.load("x"), CycleError);
}

TEST_CASE("start_background loads by priority, dependencies first",
          "[registry]") {
  RegistryOptions options;
  options.workers = 1;  // one worker: the order is observable
  LazyRegistry r(options);
  Journal journal;
  auto loader = [&](std::string name) {
    return [&journal, name] {
      journal.add(name);
      return 1;
    };
  };
  r.add("c3", loader("c3"), priority(3));
  r.add("a1", loader("a1"), priority(1));
  EntryOptions needs_dep = priority(2);
  needs_dep.depends_on = {"d9"};
  r.add("b2", loader("b2"), needs_dep);
  r.add("d9", loader("d9"), priority(9));
  r.add("a1-second", loader("a1-second"), priority(1));
  r.start_background();
  REQUIRE(r.wait_idle(10s));
  CHECK(journal.order() ==
        std::vector<std::string>{"a1", "a1-second", "d9", "b2", "c3"});
  CHECK(r.snapshot().loaded == 5);
}

TEST_CASE("queued entries show queued, and progress never goes backwards",
          "[registry]") {
  RegistryOptions options;
  options.workers = 1;
  LazyRegistry r(options);
  Gate gate(r);
  for (int i = 0; i < 20; ++i) {
    r.add(
        "item" + std::to_string(i),
        [] {
          std::this_thread::sleep_for(1ms);
          return 1;
        },
        priority(2));
  }
  r.start_background();
  gate.wait_until_loading();
  auto s = r.snapshot();
  CHECK(s.queued == 20);
  CHECK(s.loading == 1);
  CHECK(s.is_loading);
  CHECK(r.entry("item5").status() == Status::queued);
  gate.release();
  double last = -1;
  bool monotonic = true;
  while (r.snapshot().is_loading) {
    s = r.snapshot();
    monotonic = monotonic && s.progress >= last;
    last = s.progress;
    CHECK(s.loaded + s.failed + s.loading + s.queued + s.unloaded == s.total);
  }
  CHECK(monotonic);
  CHECK(r.wait_idle(10s));
  CHECK(r.snapshot().progress == Approx(1.0));
}

TEST_CASE("get on a queued entry loads it at once on the caller's thread",
          "[registry]") {
  RegistryOptions options;
  options.workers = 1;
  LazyRegistry r(options);
  Gate gate(r);
  std::thread::id loaded_on;
  r.add(
      "wanted",
      [&] {
        loaded_on = std::this_thread::get_id();
        return 5;
      },
      priority(2));
  r.start_background();
  gate.wait_until_loading();
  CHECK(r.entry("wanted").status() == Status::queued);
  CHECK(r.get<int>("wanted") == 5);
  CHECK(loaded_on == std::this_thread::get_id());
  gate.release();
  CHECK(r.wait_idle(10s));
  CHECK(r.entry("wanted").stats().loads == 1);  // the worker skipped it
}

TEST_CASE("an executor option runs the loads instead of the workers",
          "[registry]") {
  std::mutex mutex;
  std::vector<std::function<void()>> tasks;
  RegistryOptions options;
  options.executor = [&](std::function<void()> task) {
    std::lock_guard<std::mutex> lock(mutex);
    tasks.push_back(std::move(task));
  };
  LazyRegistry r(options);
  Journal journal;
  r.add(
      "second",
      [&] {
        journal.add("second");
        return 2;
      },
      priority(2));
  r.add(
      "first",
      [&] {
        journal.add("first");
        return 1;
      },
      priority(1));
  r.start_background();
  CHECK(r.snapshot().queued == 2);
  CHECK(tasks.size() == 2);
  for (auto& task : tasks) task();  // the program's pool runs them
  CHECK(journal.order() == std::vector<std::string>{"first", "second"});
  CHECK(r.wait_idle(1s));
}

TEST_CASE("executor tasks that run after the registry is gone do nothing",
          "[registry]") {
  std::vector<std::function<void()>> tasks;
  std::atomic<int> runs{0};
  {
    RegistryOptions options;
    options.executor = [&](std::function<void()> t) {
      tasks.push_back(std::move(t));
    };
    LazyRegistry r(options);
    r.add("x", [&] { return ++runs; });
    r.start_background();
  }
  for (auto& task : tasks) task();
  CHECK(runs == 0);
}

TEST_CASE("destroying the registry drops queued loads and joins running ones",
          "[registry]") {
  std::atomic<int> started{0};
  std::atomic<int> finished{0};
  const auto begin = std::chrono::steady_clock::now();
  {
    RegistryOptions options;
    options.workers = 1;
    LazyRegistry r(options);
    for (int i = 0; i < 50; ++i) {
      r.add("slow" + std::to_string(i), [&] {
        ++started;
        std::this_thread::sleep_for(100ms);
        ++finished;
        return 1;
      });
    }
    r.start_background();
    while (started == 0) std::this_thread::yield();
  }
  const auto took = std::chrono::steady_clock::now() - begin;
  CHECK(started == 1);
  CHECK(finished == 1);  // joined, not abandoned
  CHECK(took < 5s);      // 50 loads would take 5 s
}

TEST_CASE("load_async returns a future of the load", "[registry]") {
  LazyRegistry r;
  r.add("ok", [] {
    std::this_thread::sleep_for(10ms);
    return 1;
  });
  r.add("bad", []() -> int { throw std::runtime_error("nope"); });
  lazyload::LoadFuture ok = r.load_async("ok");
  lazyload::LoadFuture bad = r.load_async("bad");
  ok.get();
  CHECK(r.entry("ok").is_loaded());
  CHECK_THROWS_WITH_AS(bad.get(), "lazyload: loading 'bad' failed: nope",
                       LoadError);
  lazyload::LoadFuture again = r.load_async("ok");
  CHECK(again.wait_for(0s) == std::future_status::ready);
}

TEST_CASE("snapshot reports every entry and totals that add up", "[registry]") {
  LazyRegistry r;
  EntryOptions opts = priority(1);
  opts.depends_on = {"b"};
  opts.size_bytes = 1000;
  opts.required = true;
  r.add(
      "a",
      [] {
        std::this_thread::sleep_for(5ms);
        return 1;
      },
      opts);
  r.add("b", [](lazyload::Progress& p) {
    p.report(1.0, "done");
    p.set_size(24);
    return std::string("b");
  });
  r.add("c", []() -> int { throw std::runtime_error("broken"); });
  r.add("d", [] { return 0.5; });
  r.load("a");
  CHECK_THROWS(r.load("c"));
  const lazyload::RegistrySnapshot s = r.snapshot();
  CHECK(s.total == 4);
  CHECK(s.loaded == 2);
  CHECK(s.failed == 1);
  CHECK(s.unloaded == 1);
  CHECK(s.loading == 0);
  CHECK(s.queued == 0);
  CHECK_FALSE(s.is_loading);
  CHECK(s.progress == Approx(0.5));
  CHECK(s.bytes_loaded == 1024);
  CHECK(s.not_ready.empty());
  REQUIRE(s.entries.size() == 4);
  const auto& a = s.entries[0];
  CHECK(a.name == "a");
  CHECK(a.type == "int");
  CHECK(a.status == Status::loaded);
  CHECK(a.priority == 1);
  CHECK(a.load_time >= 0.005);
  CHECK(a.depends_on == std::vector<std::string>{"b"});
  CHECK(a.size_bytes == 1000);
  CHECK(a.loads == 1);
  CHECK(a.required);
  CHECK(s.entries[1].stage == "done");
  CHECK(s.entries[1].size_bytes == 24);
  CHECK(s.entries[1].type == "std::string");
  CHECK(s.entries[2].error == "lazyload: loading 'c' failed: broken");
  CHECK(s.entries[2].failures == 1);
  CHECK(s.entries[3].priority == lazyload::kDefaultPriority);
  r.unload("a");
  CHECK(r.snapshot().not_ready == std::vector<std::string>{"a"});
}

TEST_CASE("the status callback sees every change, without a lock held",
          "[registry]") {
  std::mutex mutex;
  std::vector<std::string> changes;
  LazyRegistry* self = nullptr;
  RegistryOptions options;
  options.on_change = [&](const lazyload::StatusChange& c) {
    // Calling back into the registry would deadlock if a lock were held.
    const auto total = self->snapshot().total;
    std::lock_guard<std::mutex> lock(mutex);
    changes.push_back(std::string(c.name) + ":" +
                      std::string(lazyload::to_string(c.from)) + "->" +
                      std::string(lazyload::to_string(c.to)) +
                      (c.error.empty() ? "" : " " + std::string(c.error)) +
                      " of " + std::to_string(total));
  };
  LazyRegistry r(options);
  self = &r;
  r.add("m", [] { return 1; });
  r.add("x", []() -> int { throw std::runtime_error("oops"); });
  r.load("m");
  CHECK_THROWS(r.load("x"));
  r.unload("m");
  CHECK(changes ==
        std::vector<std::string>{
            "m:unloaded->loading of 2", "m:loading->loaded of 2",
            "x:unloaded->loading of 2",
            "x:loading->failed lazyload: loading 'x' failed: oops of 2",
            "m:loaded->unloaded of 2"});
}

TEST_CASE("a throwing status callback does not break loading", "[registry]") {
  RegistryOptions options;
  options.on_change = [](const lazyload::StatusChange&) {
    throw std::runtime_error("callback bug");
  };
  LazyRegistry r(options);
  r.add("m", [] { return 1; });
  CHECK(r.get<int>("m") == 1);
}

TEST_CASE("timeline records each finished load with its queue time",
          "[registry]") {
  RegistryOptions options;
  options.workers = 1;
  LazyRegistry r(options);
  r.add("a", [] { return 1; });
  r.add("b", [] {
    std::this_thread::sleep_for(2ms);
    return 1;
  });
  r.start_background();
  REQUIRE(r.wait_idle(10s));
  const auto t = r.timeline();
  REQUIRE(t.size() == 2);
  CHECK(t[0].name == "a");
  CHECK(t[1].name == "b");
  CHECK(t[1].ok);
  CHECK(t[1].queued_at.time_since_epoch().count() != 0);
  CHECK(t[1].queued_at <= t[1].started_at);
  CHECK(t[1].finished_at - t[1].started_at >= 2ms);
}

TEST_CASE("get, load, unload and snapshot racing keep snapshots consistent",
          "[registry]") {
  RegistryOptions options;
  options.workers = 2;
  LazyRegistry r(options);
  constexpr int kEntries = 12;
  for (int i = 0; i < kEntries; ++i) {
    EntryOptions o = priority(i % 3);
    if (i > 0) o.depends_on = {"e" + std::to_string(i - 1)};
    r.add(
        "e" + std::to_string(i),
        [i, calls = 0]() mutable -> int {
          if (i % 5 == 4 && ++calls % 2 == 0) throw std::runtime_error("flaky");
          return i;
        },
        o);
  }
  std::atomic<int> inconsistent{0};
  std::atomic<int> wrong_value{0};
  r.start_background();
  lazyload_test::race(8, [&](std::size_t t) {
    for (int n = 0; n < 200; ++n) {
      const std::string name = "e" + std::to_string((n * 7 + t) % kEntries);
      try {
        switch ((n + t) % 5) {
        case 0: {
          auto lease = r.handle<int>(name).lease();
          if (std::to_string(*lease) != name.substr(1)) ++wrong_value;
          break;
        }
        case 1:
          r.load(name);
          break;
        case 2:
          r.unload(name);
          break;
        case 3:
          (void)r.load_async(name);
          break;
        default: {
          const auto s = r.snapshot();
          if (s.loaded + s.failed + s.loading + s.queued + s.unloaded !=
              s.total) {
            ++inconsistent;
          }
        }
        }
      } catch (const LoadError&) {
        // flaky loaders and their dependents fail sometimes
      }
    }
  });
  CHECK(r.wait_idle(30s));
  CHECK(inconsistent == 0);
  CHECK(wrong_value == 0);
}

TEST_CASE("wait_idle with duration::max waits for the background pass",
          "[registry]") {
  LazyRegistry r;
  r.add("slow", [] {
    std::this_thread::sleep_for(100ms);
    return 1;
  });
  r.start_background();
  CHECK(r.wait_idle(std::chrono::steady_clock::duration::max()));
  CHECK(r.entry("slow").is_loaded());
}

TEST_CASE("registering an empty loader fails and registers nothing",
          "[registry]") {
  LazyRegistry r;
  const std::function<int()> empty;
  CHECK_THROWS_WITH_AS(r.add("db", empty),
                       "lazyload: the loader of 'db' is empty", LazyError);
  CHECK_FALSE(r.contains("db"));
}

TEST_CASE("unloading an entry queued by load_async keeps it unloaded",
          "[registry]") {
  RegistryOptions options;
  options.workers = 1;
  LazyRegistry r(options);
  Gate gate(r);
  std::atomic<int> runs{0};
  r.add("x", [&] {
    ++runs;
    return 1;
  });
  r.start_background();
  gate.wait_until_loading();
  lazyload::LoadFuture future = r.load_async("x");
  CHECK(r.entry("x").status() == Status::queued);
  r.unload("x");
  CHECK(r.entry("x").status() == Status::unloaded);
  gate.release();
  CHECK_THROWS_WITH_AS(future.get(),
                       "lazyload: loading 'x' was cancelled: it was unloaded "
                       "while queued",
                       lazyload::LoadCancelled);
  CHECK(r.wait_idle(10s));
  CHECK(r.entry("x").status() == Status::unloaded);
  CHECK(runs == 0);
}

TEST_CASE("an executor that throws from submit fails the entry, naming it",
          "[registry]") {
  lazyload_test::Watchdog watchdog(30s, "a throwing executor");
  RegistryOptions options;
  options.executor = [](const std::function<void()>&) {
    throw std::runtime_error("pool is full");
  };
  LazyRegistry r(options);
  r.add("x", [] { return 1; });
  r.add("y", [] { return 2; });
  CHECK_NOTHROW(r.start_background());
  CHECK(r.wait_idle(10s));
  const char* refused =
      "lazyload: loading 'x' failed: the executor did not take it: pool is "
      "full";
  CHECK(r.entry("x").status() == Status::failed);
  CHECK(r.entry("x").stats().error == refused);
  auto future = r.load_async("x");
  CHECK(future.wait_for(0s) == std::future_status::ready);
  try {
    future.get();
    FAIL("the future of a refused request holds no error");
  } catch (const LoadError& e) {
    CHECK(std::string(e.what()) == refused);
    // As std::rethrow_if_nested(e), without the dynamic_cast that needs RTTI
    // (the core's tests also run with -fno-rtti).
    try {
      throw;
    } catch (const std::nested_exception& nested) {
      CHECK_THROWS_WITH_AS(nested.rethrow_nested(), "pool is full",
                           std::runtime_error);
    }
  }
  CHECK(r.get<int>("x") == 1);  // a load on this thread needs no executor
}

TEST_CASE("start_background and load_async respect failure_cooldown",
          "[registry]") {
  RegistryOptions options;
  options.workers = 1;
  LazyRegistry r(options);
  std::atomic<int> runs{0};
  EntryOptions cooled;
  cooled.failure_cooldown = 1h;
  r.add(
      "x",
      [&]() -> int {
        ++runs;
        throw std::runtime_error("broken");
      },
      cooled);
  CHECK_THROWS(r.load("x"));
  r.start_background();
  CHECK(r.wait_idle(10s));
  CHECK(runs == 1);
  CHECK(r.entry("x").status() == Status::failed);
  auto future = r.load_async("x");
  CHECK(future.wait_for(0s) == std::future_status::ready);
  CHECK_THROWS_WITH_AS(future.get(), "lazyload: loading 'x' failed: broken",
                       LoadError);
  CHECK(r.wait_idle(10s));
  CHECK(runs == 1);
}

TEST_CASE(
    "a loader that adds an entry with an idle timeout while the registry is "
    "destroyed gets LazyError",
    "[registry]") {
  lazyload_test::Watchdog watchdog(30s, "add() during destruction");
  std::string outcome;
  {
    RegistryOptions options;
    options.workers = 1;
    auto owned = std::make_unique<LazyRegistry>(options);
    LazyRegistry& r = *owned;
    std::promise<void> go;
    std::future<void> go_future = go.get_future();
    std::future<void> dropped;  // broken once the destructor drops its task
    std::atomic<bool> started{false};
    r.add("queued", [] { return 0; });
    r.add("adder", [&] {
      started = true;
      go_future.wait();
      dropped.wait();  // the destructor has begun
      EntryOptions idle;
      idle.evictable = true;
      idle.idle_timeout = 1s;
      try {
        r.add(
            "late", [] { return 0; }, idle);
        outcome = "added";
      } catch (const LazyError& e) {
        outcome = e.what();
      }
      return 0;
    });
    (void)r.load_async("adder");
    while (!started) std::this_thread::yield();
    dropped = r.load_async("queued");  // behind the busy worker
    go.set_value();
    owned.reset();
  }
  CHECK(outcome ==
        "lazyload: cannot add 'late' with an idle_timeout: the registry is "
        "being destroyed");
}

namespace {

// What a thread with a small stack did.
struct ChainJob {
  LazyRegistry* registry = nullptr;
  std::string last;
  std::string error;
  bool loaded = false;
};

void* load_chain(void* arg) {
  auto* job = static_cast<ChainJob*>(arg);
  try {
    job->registry->load(job->last);
    job->loaded = true;
  } catch (const std::exception& e) {
    job->error = e.what();
  }
  return nullptr;
}

}  // namespace

TEST_CASE(
    "a chain of 100,000 declared dependencies loads on a thread with a 1 MiB "
    "stack",
    "[registry]") {
  constexpr int kLinks = 100000;
  LazyRegistry r;
  for (int i = 0; i < kLinks; ++i) {
    EntryOptions o;
    if (i > 0) o.depends_on = {"link" + std::to_string(i - 1)};
    r.add(
        "link" + std::to_string(i), [] { return 0; }, o);
  }
  ChainJob job;
  job.registry = &r;
  job.last = "link" + std::to_string(kLinks - 1);
  pthread_attr_t attr;
  REQUIRE(pthread_attr_init(&attr) == 0);
  REQUIRE(pthread_attr_setstacksize(&attr, std::size_t{1} << 20) == 0);
  pthread_t thread;
  REQUIRE(pthread_create(&thread, &attr, load_chain, &job) == 0);
  pthread_join(thread, nullptr);
  pthread_attr_destroy(&attr);
  CHECK(job.error.empty());
  CHECK(job.loaded);
  const lazyload::RegistrySnapshot s = r.snapshot();
  CHECK(s.loaded == static_cast<std::size_t>(kLinks));
}

TEST_CASE("reload, cancel and try_lease by name", "[registry][reload]") {
  LazyRegistry registry;
  std::atomic<int> runs{0};
  registry.add("model", [&] { return ++runs; });
  CHECK_FALSE(registry.try_lease<int>("model"));  // never loads
  CHECK(runs == 0);
  registry.load("model");
  std::shared_ptr<int> old = registry.try_lease<int>("model");
  REQUIRE(old);
  registry.reload("model");
  CHECK(*registry.try_lease<int>("model") == 2);
  CHECK(*old == 1);
  CHECK_FALSE(registry.cancel("model"));  // nothing runs
  CHECK_THROWS_AS(registry.reload("nope"), LazyError);
  CHECK_THROWS_AS(registry.cancel("nope"), LazyError);
  CHECK_THROWS_AS(registry.try_lease<double>("model"), LazyError);
}

TEST_CASE("destroying a registry stops a cooperative load at once",
          "[registry][cancel]") {
  std::atomic<bool> started{false};
  const auto begin = std::chrono::steady_clock::now();
  {
    RegistryOptions options;
    options.workers = 1;
    LazyRegistry registry(options);
    registry.add("slow", [&](lazyload::Progress& p) {
      started = true;
      const auto until = std::chrono::steady_clock::now() + 30s;
      while (std::chrono::steady_clock::now() < until) {
        p.throw_if_stop_requested();
        std::this_thread::sleep_for(1ms);
      }
      return 1;
    });
    registry.start_background();
    while (!started) std::this_thread::yield();
  }
  // Joined a loader that had 30 s to go: it stopped when asked.
  CHECK(std::chrono::steady_clock::now() - begin < 10s);
}

TEST_CASE("a snapshot shows a reload in progress", "[registry][reload]") {
  LazyRegistry registry;
  std::atomic<int> runs{0};
  std::atomic<bool> release{false};
  registry.add("model", [&](lazyload::Progress& p) {
    if (++runs == 2) {
      p.report(0.5, "weights");
      while (!release) std::this_thread::yield();
    }
    return runs.load();
  });
  registry.load("model");
  std::thread reloader([&] { registry.reload("model"); });
  lazyload::EntrySnapshot during;
  do {
    during = registry.snapshot().entries.at(0);
  } while (during.reload_progress < 0.5);
  CHECK(during.status == Status::loaded);
  CHECK(during.reloading);
  release = true;
  reloader.join();
  const lazyload::EntrySnapshot after = registry.snapshot().entries.at(0);
  CHECK_FALSE(after.reloading);
  CHECK(after.loads == 2);
  CHECK(after.stage == "weights");
}

TEST_CASE("a reload cancelled by unload reports one unload, not two",
          "[registry][reload]") {
  lazyload_test::Watchdog watchdog(30s, "a cancelled reload");
  std::atomic<int> unloads{0};
  RegistryOptions options;
  options.on_change = [&](const lazyload::StatusChange& c) {
    if (c.from == Status::loaded && c.to == Status::unloaded) ++unloads;
  };
  LazyRegistry registry(options);
  std::atomic<int> runs{0};
  std::atomic<bool> reloading{false};
  std::atomic<bool> release{false};
  registry.add("model", [&] {
    if (++runs == 2) {
      reloading = true;
      while (!release) std::this_thread::yield();
    }
    return runs.load();
  });
  registry.load("model");
  std::atomic<bool> cancelled{false};
  std::thread reloader([&] {
    try {
      registry.reload("model");
    } catch (const lazyload::LoadCancelled&) {
      cancelled = true;
    }
  });
  while (!reloading) std::this_thread::yield();
  registry.unload("model");
  release = true;
  reloader.join();
  CHECK(cancelled);
  CHECK(registry.entry("model").status() == Status::unloaded);
  CHECK(unloads == 1);
  CHECK(registry.snapshot().entries.at(0).failures == 0);
}

TEST_CASE(
    "destroying a registry returns within a second of a cooperative "
    "load's start",
    "[registry][cancel]") {
  std::atomic<bool> started{false};
  auto registry = std::make_unique<LazyRegistry>();
  registry->add("slow", [&](lazyload::Progress& p) {
    started = true;
    const auto until = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < until) {
      p.throw_if_stop_requested();
      std::this_thread::sleep_for(1ms);
    }
    return 1;
  });
  registry->start_background();
  while (!started) std::this_thread::yield();
  const auto begin = std::chrono::steady_clock::now();
  registry.reset();
  CHECK(std::chrono::steady_clock::now() - begin < 1s);
}

TEST_CASE("a name that is not valid UTF-8 is refused with its bytes escaped",
          "[registry]") {
  LazyRegistry r;
  const auto refused = [&r](const std::string& name, const std::string& what) {
    INFO(what);
    CHECK_THROWS_WITH_AS(r.add(name, [] { return 1; }), what, LazyError);
    CHECK_FALSE(r.contains(name));
  };
  refused("bad \xFF", R"(lazyload: resource name 'bad \xff' is not valid )"
                      "UTF-8 at byte 4");
  refused("\xFE", R"(lazyload: resource name '\xfe' is not valid UTF-8 )"
                  "at byte 0");
  // Valid sequences around the fault are shown as they are.
  refused("\xC3\xBC\x80x",
          "lazyload: resource name '\xC3\xBC\\x80x' is not valid UTF-8 at "
          "byte 2");
  refused("\xC0\xAF", R"(lazyload: resource name '\xc0\xaf' is not valid )"
                      "UTF-8 at byte 0");  // an overlong '/'
  refused("a\xED\xA0\x80", R"(lazyload: resource name 'a\xed\xa0\x80' is )"
                           "not valid UTF-8 at byte 1");  // a surrogate
  refused("\xF4\x90\x80\x80", R"(lazyload: resource name '\xf4\x90\x80\x80' )"
                              "is not valid UTF-8 at byte 0");  // > U+10FFFF
  refused("ok\xE6\xA8", R"(lazyload: resource name 'ok\xe6\xa8' is not )"
                        "valid UTF-8 at byte 2");  // cut short
  CHECK(r.size() == 0);

  // Valid UTF-8 of every length, and control characters, are taken.
  for (const std::string name :
       {"\x7F", "\xC2\x80", "\xE6\xA8\xA1\xE5\x9E\x8B", "\xF0\x9F\x9A\x80",
        "\xF4\x8F\xBF\xBF", "new\nline\ttab\x01"}) {
    r.add(name, [] { return 1; });
    CHECK(r.contains(name));
  }
  CHECK(r.size() == 6);
}

TEST_CASE("snapshot of one name reads that entry as the full snapshot does",
          "[registry]") {
  LazyRegistry r;
  EntryOptions options;
  options.priority = 3;
  options.required = true;
  options.size_bytes = 64;
  r.add("a", [] { return 1; });
  r.add(
      "b", [] { return 2; }, options);
  r.load("b");
  const lazyload::EntrySnapshot one = r.snapshot("b");
  const lazyload::EntrySnapshot all = r.snapshot().entries.at(1);
  CHECK(one.name == "b");
  CHECK(one.status == Status::loaded);
  CHECK(one.priority == 3);
  CHECK(one.required);
  CHECK(one.size_bytes == 64);
  CHECK(one.loads == 1);
  CHECK(one.first_load == 1);
  CHECK(one.type == all.type);
  CHECK(one.last_loaded_at == all.last_loaded_at);
  CHECK_THROWS_WITH_AS(r.snapshot("ghost"),
                       "lazyload: resource 'ghost' is not registered",
                       LazyError);
}

// ---------------------------------------------------------------------------
// Lookup by name takes no lock.

namespace {

struct NoEvents final : lazyload::detail::EntryEvents {
  void before_load(lazyload::detail::RegistryEntry&) override {}
  void after_load(lazyload::detail::RegistryEntry&) noexcept override {}
  void changed(lazyload::detail::RegistryEntry&,
               const lazyload::StatusChange&) noexcept override {}
  void recorded(lazyload::detail::RegistryEntry&,
                const lazyload::LoadRecord&) noexcept override {}
};

std::unique_ptr<lazyload::detail::RegistryEntry> make_entry(NoEvents& events,
                                                            std::string name) {
  return std::make_unique<lazyload::detail::RegistryEntry>(
      events,
      std::make_unique<lazyload::LazyHandle<int>>(std::move(name),
                                                  [] { return 1; }),
      EntryOptions{});
}

}  // namespace

TEST_CASE("a lookup by name finishes while add() holds the table's lock",
          "[registry][lookup]") {
  NoEvents events;
  lazyload::detail::EntryTable table;
  lazyload::detail::RegistryEntry& a =
      table.add(make_entry(events, "a"), [](const auto&) {});
  using Found = std::pair<lazyload::detail::RegistryEntry*,
                          lazyload::detail::RegistryEntry*>;
  std::future<Found> lookup;
  std::future_status status = std::future_status::deferred;
  // add() runs its check under the exclusive lock: another thread's lookup
  // must not wait for it (a bound, not a timing: it returns at once).
  table.add(make_entry(events, "b"), [&](const auto&) {
    lookup = std::async(std::launch::async, [&table] {
      return Found(table.find("a"), table.find("b"));
    });
    status = lookup.wait_for(10s);
  });
  const Found found = lookup.get();
  REQUIRE(status == std::future_status::ready);
  CHECK(found.first == &a);
  CHECK(found.second == nullptr);  // not added yet when it looked
  CHECK(table.find("b") != nullptr);
}

TEST_CASE("lookups while another thread adds 20,000 entries find every one",
          "[registry][lookup]") {
  constexpr std::size_t kEntries = 20000;
  constexpr std::size_t kReaders = 4;
  lazyload_test::Watchdog watchdog(120s, "lookups during add()");
  LazyRegistry r;
  std::vector<std::string> names;
  names.reserve(kEntries);
  // Long shared prefixes, and names that are prefixes of others ("…-1" of
  // "…-10"), so that only the whole name tells them apart.
  for (std::size_t i = 0; i < kEntries; ++i) {
    names.push_back("a-name-with-a-long-shared-prefix-" + std::to_string(i));
  }
  std::vector<std::atomic<const lazyload::LazyHandleBase*>> handles(kEntries);
  std::atomic<std::size_t> published{0};
  std::atomic<bool> done{false};
  std::atomic<std::size_t> lookups{0};
  std::atomic<std::size_t> missed{0};
  std::atomic<std::size_t> wrong{0};
  std::atomic<std::size_t> phantom{0};

  std::thread writer([&] {
    for (std::size_t i = 0; i < kEntries; ++i) {
      const lazyload::LazyHandleBase& h =
          r.add(names[i], [i] { return static_cast<int>(i); });
      handles[i].store(&h, std::memory_order_relaxed);
      published.store(i + 1, std::memory_order_release);
    }
    done.store(true, std::memory_order_release);
  });
  std::vector<std::thread> readers;
  for (std::size_t t = 0; t < kReaders; ++t) {
    readers.emplace_back([&, t] {
      std::uint64_t x = 0x9E3779B97F4A7C15ULL * (t + 1);
      std::size_t mine = 0;
      const auto check = [&](std::size_t i) {
        ++mine;
        if (!r.contains(names[i])) {
          ++missed;
        } else if (&r.entry(names[i]) !=
                   handles[i].load(std::memory_order_relaxed)) {
          ++wrong;
        }
      };
      while (!done.load(std::memory_order_acquire)) {
        const std::size_t n = published.load(std::memory_order_acquire);
        if (n == 0) continue;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        check(static_cast<std::size_t>(x % n));
        check(n - 1);  // the newest
        // Never added: a longer name, and a prefix of one.
        if (r.contains(names[n - 1] + "0x") ||
            r.contains("a-name-with-a-long-shared-prefix-")) {
          ++phantom;
        }
      }
      for (std::size_t i = 0; i < kEntries; ++i) check(i);
      lookups += mine;
    });
  }
  writer.join();
  for (std::thread& t : readers) t.join();
  REQUIRE(lookups.load() >= kReaders * kEntries);
  CHECK(missed.load() == 0);
  CHECK(wrong.load() == 0);
  CHECK(phantom.load() == 0);
  CHECK(r.size() == kEntries);
}

TEST_CASE("names that start probing at the same slot are told apart",
          "[registry][lookup]") {
  using lazyload::detail::NameIndex;
  constexpr std::size_t kCapacity = NameIndex::kInitialCapacity;
  // Eight names whose probes all start at the last slot, so that the run of
  // them wraps around to the first; and more that start there but are absent.
  std::vector<std::string> same;
  std::vector<std::string> absent;
  for (int i = 0; same.size() < 8 || absent.size() < 8; ++i) {
    std::string name = "n" + std::to_string(i);
    if (NameIndex::home_slot(name, kCapacity) != kCapacity - 1) continue;
    (same.size() < 8 ? same : absent).push_back(std::move(name));
  }
  LazyRegistry r;
  for (std::size_t i = 0; i < same.size(); ++i) {
    r.add(same[i], [i] { return static_cast<int>(i); });
  }
  const auto check_all = [&] {
    for (std::size_t i = 0; i < same.size(); ++i) {
      INFO(same[i]);
      CHECK(r.get<int>(same[i]) == static_cast<int>(i));
    }
    for (const std::string& name : absent) {
      INFO(name);
      CHECK_FALSE(r.contains(name));
    }
  };
  check_all();
  // Enough more to rehash several times: still found.
  for (int i = 0; i < 200; ++i) {
    r.add("more-" + std::to_string(i), [i] { return i; });
  }
  check_all();
  CHECK(r.get<int>("more-199") == 199);
}

TEST_CASE("the empty name and prefixes of registered names are not found",
          "[registry][lookup]") {
  LazyRegistry r;
  CHECK_FALSE(r.contains(""));
  CHECK_FALSE(r.contains("db"));
  r.add("db", [] { return 1; });
  r.add("db-replica", [] { return 2; });
  r.add("d", [] { return 3; });
  CHECK_FALSE(r.contains(""));
  CHECK_THROWS_WITH_AS(r.get<int>(""),
                       "lazyload: resource '' is not registered", LazyError);
  CHECK_FALSE(r.contains("db-"));
  CHECK_FALSE(r.contains("db-replica2"));
  CHECK_FALSE(r.contains(std::string_view("db\0", 3)));
  CHECK(r.get<int>("db") == 1);
  CHECK(r.get<int>("db-replica") == 2);
  CHECK(r.get<int>("d") == 3);
  // A view into a longer buffer is looked up by its own length.
  const std::string longer = "db-replica";
  CHECK(r.get<int>(std::string_view(longer).substr(0, 2)) == 1);
}
