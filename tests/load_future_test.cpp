// Tests for lazyload/load_future.hpp: LoadFuture, what load_async returns.
// Its waits run a request still queued on the waiting thread and take part in
// cycle detection; the watchdogs turn a regression into a failure, not a hang.

#include "lazyload/load_future.hpp"

#include <atomic>
#include <chrono>
#include <future>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>

#include "lazyload/registry.hpp"
#include "support/catch_compat.hpp"
#include "support/registry_fixtures.hpp"
#include "support/watchdog.hpp"

using lazyload::CycleError;
using lazyload::LazyRegistry;
using lazyload::LoadError;
using lazyload::LoadFuture;
using lazyload::RegistryOptions;
using lazyload::Status;
using lazyload_test::Gate;
using lazyload_test::Watchdog;
using namespace std::chrono_literals;

namespace {

lazyload::EntryOptions priority(int p) {
  lazyload::EntryOptions o;
  o.priority = p;
  return o;
}

}  // namespace

TEST_CASE("loaders that wait on each other's futures end in CycleError",
          "[load_future]") {
  Watchdog watchdog(20s, "futures waiting on each other");
  LazyRegistry r;
  r.add("a", [&] {
    r.load_async("b").get();
    return 1;
  });
  r.add("b", [&] {
    r.load_async("a").get();
    return 2;
  });
  CHECK_THROWS_AS(r.get<int>("a"), CycleError);
  CHECK(r.wait_idle(10s));
  CHECK(r.entry("a").status() == Status::failed);
  CHECK(r.snapshot().entries[0].error.find("cycle detected") !=
        std::string::npos);
}

TEST_CASE(
    "loaders on two workers that wait on each other's futures end in "
    "CycleError, not a deadlock",
    "[load_future]") {
  Watchdog watchdog(20s, "futures waiting on each other across workers");
  RegistryOptions options;
  options.workers = 2;
  LazyRegistry r(options);
  std::atomic<int> started{0};
  auto both_started = [&] {
    ++started;
    while (started < 2) std::this_thread::yield();
  };
  r.add("a", [&] {
    both_started();
    r.load_async("b").get();
    return 1;
  });
  r.add("b", [&] {
    both_started();
    r.load_async("a").get();
    return 2;
  });
  r.start_background();
  REQUIRE(r.wait_idle(10s));
  const lazyload::RegistrySnapshot s = r.snapshot();
  CHECK(s.failed == 2);
  const bool named =
      s.entries[0].error.find("cycle detected") != std::string::npos ||
      s.entries[1].error.find("cycle detected") != std::string::npos;
  CHECK(named);
}

TEST_CASE(
    "with one worker, a background loader that waits on load_async of "
    "another entry finishes",
    "[load_future]") {
  Watchdog watchdog(20s, "one worker waiting on a future queued behind it");
  RegistryOptions options;
  options.workers = 1;
  LazyRegistry r(options);
  r.add(
      "outer",
      [&] {
        r.load_async("inner").get();
        return r.get<int>("inner") + 1;
      },
      priority(1));
  r.add(
      "inner", [] { return 41; }, priority(2));
  r.start_background();  // outer first; inner queued behind it
  CHECK(r.wait_idle(10s));
  CHECK(r.get<int>("outer") == 42);
}

TEST_CASE("get on the future of a queued entry loads it on this thread",
          "[load_future]") {
  Watchdog watchdog(20s, "a future of an entry queued behind a busy worker");
  RegistryOptions options;
  options.workers = 1;
  LazyRegistry r(options);
  Gate gate(r);
  std::thread::id loaded_on;
  r.add("x", [&] {
    loaded_on = std::this_thread::get_id();
    return 1;
  });
  r.load_async("gate");
  gate.wait_until_loading();
  auto future = r.load_async("x");
  CHECK(r.entry("x").status() == Status::queued);
  future.get();  // the only worker is busy: this thread runs the load
  CHECK(loaded_on == std::this_thread::get_id());
  CHECK(r.entry("x").is_loaded());
  gate.release();
  CHECK(r.wait_idle(10s));
}

TEST_CASE("a request finds its entry loaded by another thread: success",
          "[load_future]") {
  RegistryOptions options;
  options.workers = 1;
  LazyRegistry r(options);
  Gate gate(r);
  std::atomic<int> runs{0};
  r.add("x", [&] { return ++runs; });
  r.load_async("gate");
  gate.wait_until_loading();
  std::future<void> future = r.load_async("x");  // invisible; runs on a worker
  CHECK(r.get<int>("x") == 1);                   // loaded here meanwhile
  gate.release();
  future.get();
  CHECK(runs == 1);
}

TEST_CASE(
    "a request finds its entry failed by another thread: it gets that "
    "failure and does not run the loader again",
    "[load_future]") {
  RegistryOptions options;
  options.workers = 1;
  LazyRegistry r(options);
  Gate gate(r);
  std::atomic<int> runs{0};
  r.add("x", [&]() -> int {
    if (++runs == 1) throw std::runtime_error("first try");
    return runs;
  });
  r.load_async("gate");
  gate.wait_until_loading();
  std::future<void> future = r.load_async("x");
  CHECK_THROWS_WITH_AS(r.load("x"), "lazyload: loading 'x' failed: first try",
                       LoadError);
  gate.release();
  CHECK_THROWS_WITH_AS(future.get(), "lazyload: loading 'x' failed: first try",
                       LoadError);
  CHECK(runs == 1);
}

TEST_CASE("wait_for neither runs a queued request nor waits past its timeout",
          "[load_future]") {
  RegistryOptions options;
  options.workers = 1;
  LazyRegistry r(options);
  Gate gate(r);
  r.add("x", [] { return 1; });
  r.load_async("gate");
  gate.wait_until_loading();
  LoadFuture future = r.load_async("x");
  CHECK(future.wait_for(10ms) == std::future_status::timeout);
  CHECK(future.wait_until(std::chrono::steady_clock::now() + 1ms) ==
        std::future_status::timeout);
  CHECK(r.entry("x").status() == Status::queued);
  gate.release();
  CHECK(future.wait_for(10s) == std::future_status::ready);
  CHECK(r.entry("x").is_loaded());
}

TEST_CASE("a LoadFuture is valid until get, like std::future",
          "[load_future]") {
  STATIC_REQUIRE_FALSE(std::is_copy_constructible_v<LoadFuture>);
  STATIC_REQUIRE(std::is_nothrow_move_constructible_v<LoadFuture>);
  LazyRegistry r;
  r.add("x", [] { return 1; });
  LoadFuture none;
  CHECK_FALSE(none.valid());
  CHECK_THROWS_AS(none.wait(), std::future_error);
  CHECK_THROWS_AS(none.wait_for(0s), std::future_error);
  LoadFuture future = r.load_async("x");
  CHECK(future.valid());
  future.get();
  CHECK_FALSE(future.valid());
  LoadFuture ready = r.load_async("x");  // loaded: ready at once
  CHECK(ready.wait_for(0s) == std::future_status::ready);
  LoadFuture moved = std::move(ready);
  CHECK(moved.valid());
  CHECK_FALSE(ready.valid());  // NOLINT(bugprone-use-after-move): the point
}

TEST_CASE("a LoadFuture converts to std::future<void> of the same load",
          "[load_future]") {
  LazyRegistry r;
  r.add("ok", [] { return 1; });
  r.add("bad", []() -> int { throw std::runtime_error("nope"); });
  std::future<void> ok = r.load_async("ok");
  std::future<void> bad = r.load_async("bad");
  ok.get();
  CHECK(r.entry("ok").is_loaded());
  CHECK_THROWS_WITH_AS(bad.get(), "lazyload: loading 'bad' failed: nope",
                       LoadError);
}

TEST_CASE(
    "a future outlives its registry: ready, or holding broken_promise if "
    "the request was dropped",
    "[load_future]") {
  Watchdog watchdog(20s, "a future of a dropped request");
  std::atomic<bool> released{false};  // outlives the registry's worker
  LoadFuture future;
  {
    RegistryOptions options;
    options.workers = 1;
    LazyRegistry r(options);
    r.add("busy", [&] {
      while (!released) std::this_thread::yield();
      return 0;
    });
    r.add("x", [] { return 1; });
    r.load_async("busy");
    while (r.entry("busy").status() != Status::loading) {
      std::this_thread::yield();
    }
    future = r.load_async("x");
    released = true;  // the worker may take x before the registry goes
  }
  try {
    future.get();  // x loaded, or its request was dropped
  } catch (const std::future_error& e) {
    CHECK(e.code() == std::future_errc::broken_promise);
  }
}
