// Tests for the registry's retry policy and keep_loaded: readiness that heals
// (lazyload/registry_options.hpp RetryPolicy, detail/retry.hpp,
// detail/timer.hpp).

#include "lazyload/detail/retry.hpp"

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "lazyload/detail/timer.hpp"
#include "lazyload/registry.hpp"
#include "support/catch_compat.hpp"

using lazyload::EntryOptions;
using lazyload::LazyRegistry;
using lazyload::RegistryOptions;
using lazyload::RetryPolicy;
using lazyload::Status;
using namespace std::chrono_literals;

namespace {

// Waits up to `bound` for `done()`; returns its last answer.
template <class F> bool eventually(F done, std::chrono::seconds bound = 10s) {
  const auto until = std::chrono::steady_clock::now() + bound;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

RetryPolicy fast(unsigned attempts) {
  RetryPolicy policy;
  policy.attempts = attempts;
  policy.first_delay = 1ms;
  policy.max_delay = 4ms;
  return policy;
}

}  // namespace

TEST_CASE("a failed load is retried in the background until it loads",
          "[retry]") {
  std::atomic<int> runs{0};
  std::mutex mutex;
  std::vector<unsigned> retries_seen;
  RegistryOptions options;
  options.on_change = [&](const lazyload::StatusChange& c) {
    if (c.to == Status::loading && c.retry != 0) {
      std::lock_guard<std::mutex> lock(mutex);
      retries_seen.push_back(c.retry);
    }
  };
  LazyRegistry registry(options);
  EntryOptions entry;
  entry.retry = fast(5);
  registry.add(
      "flaky",
      [&]() -> int {
        if (++runs < 3) throw std::runtime_error("not yet");
        return 7;
      },
      entry);
  CHECK_THROWS_AS(registry.load("flaky"), lazyload::LoadError);
  REQUIRE(eventually([&] { return registry.entry("flaky").is_loaded(); }));
  CHECK(runs == 3);
  std::lock_guard<std::mutex> lock(mutex);
  CHECK(retries_seen == std::vector<unsigned>{1, 2});
  CHECK(registry.snapshot().entries.at(0).retries == 0);  // reset on success
}

TEST_CASE("retries stop after the policy's attempts", "[retry]") {
  std::atomic<int> runs{0};
  LazyRegistry registry;
  EntryOptions entry;
  entry.retry = fast(2);
  registry.add(
      "broken",
      [&]() -> int {
        ++runs;
        throw std::runtime_error("no");
      },
      entry);
  CHECK_THROWS(registry.load("broken"));
  REQUIRE(eventually([&] {
    return runs == 3 && registry.entry("broken").status() == Status::failed &&
           registry.snapshot().entries.at(0).next_retry_at ==
               std::chrono::system_clock::time_point{};
  }));
  std::this_thread::sleep_for(50ms);  // ten times the longest delay
  CHECK(runs == 3);                   // the load plus two retries
  CHECK(registry.snapshot().entries.at(0).retries == 2);
}

TEST_CASE(
    "a required entry that failed once loads again without anyone "
    "asking",
    "[retry]") {
  std::atomic<int> runs{0};
  LazyRegistry registry;
  EntryOptions entry;
  entry.required = true;  // retries by default, first after about a second
  registry.add(
      "db",
      [&]() -> int {
        if (++runs == 1) throw std::runtime_error("transient");
        return 1;
      },
      entry);
  registry.start_background();
  REQUIRE(eventually([&] { return runs >= 1; }));
  REQUIRE(
      eventually([&] { return registry.snapshot().not_ready.empty(); }, 10s));
  CHECK(runs == 2);
}

TEST_CASE("the snapshot shows when the next retry is due", "[retry]") {
  LazyRegistry registry;
  EntryOptions entry;
  entry.retry = RetryPolicy{};
  entry.retry->attempts = 1;
  entry.retry->first_delay = 1h;
  entry.retry->max_delay = 2h;
  entry.retry->jitter = 0.0;
  registry.add(
      "later", []() -> int { throw std::runtime_error("no"); }, entry);
  const auto before = std::chrono::system_clock::now();
  CHECK_THROWS(registry.load("later"));
  const lazyload::EntrySnapshot s = registry.snapshot().entries.at(0);
  CHECK(s.retries == 1);
  CHECK(s.next_retry_at > before + 59min);
  CHECK(s.next_retry_at < before + 61min);
}

TEST_CASE("unrequired entries are not retried by default", "[retry]") {
  std::atomic<int> runs{0};
  LazyRegistry registry;
  registry.add("once", [&]() -> int {
    ++runs;
    throw std::runtime_error("no");
  });
  CHECK_THROWS(registry.load("once"));
  CHECK(registry.snapshot().entries.at(0).next_retry_at ==
        std::chrono::system_clock::time_point{});
  CHECK(runs == 1);
}

TEST_CASE("keep_loaded loads an entry again after unload and eviction",
          "[retry]") {
  std::atomic<int> runs{0};
  LazyRegistry registry;
  EntryOptions entry;
  entry.keep_loaded = true;
  registry.add(
      "cache", [&] { return ++runs; }, entry);
  registry.load("cache");
  registry.unload("cache");
  REQUIRE(eventually([&] { return registry.entry("cache").is_loaded(); }));
  CHECK(runs == 2);
}

TEST_CASE("retry delays back off, stay under the cap and vary with jitter",
          "[retry]") {
  RetryPolicy policy;
  policy.first_delay = 1s;
  policy.max_delay = 60s;
  policy.jitter = 0.0;
  CHECK(lazyload::detail::retry_delay(policy, 0) == 1s);
  CHECK(lazyload::detail::retry_delay(policy, 3) == 8s);
  CHECK(lazyload::detail::retry_delay(policy, 100) == 60s);
  policy.jitter = 0.5;
  bool varied = false;
  for (int i = 0; i < 50; ++i) {
    const auto d = lazyload::detail::retry_delay(policy, 0);
    CHECK(d >= 500ms);
    CHECK(d <= 1500ms);
    if (d != 1s) varied = true;
  }
  CHECK(varied);
  policy.max_delay = std::chrono::steady_clock::duration::max();
  CHECK(lazyload::detail::retry_delay(policy, 10000) > 1h);  // no overflow
}

TEST_CASE("the timer runs jobs in due order and drops them on stop",
          "[retry]") {
  lazyload::detail::Timer timer;
  std::mutex mutex;
  std::vector<int> order;
  std::atomic<int> done{0};
  const auto now = std::chrono::steady_clock::now();
  for (int i : {3, 1, 2}) {
    REQUIRE(timer.at(now + std::chrono::milliseconds(i * 5), [&, i] {
      std::lock_guard<std::mutex> lock(mutex);
      order.push_back(i);
      ++done;
    }));
  }
  REQUIRE(timer.at(now + 1h, [&] { ++done; }));
  REQUIRE(eventually([&] { return done == 3; }));
  timer.stop();
  CHECK_FALSE(timer.at(now, [] {}));
  CHECK(order == std::vector<int>{1, 2, 3});
  CHECK(done == 3);
}

TEST_CASE("a retry waits out the failure cool-down instead of being lost",
          "[retry]") {
  std::atomic<int> runs{0};
  LazyRegistry registry;
  EntryOptions entry;
  entry.retry = fast(3);  // first retry after 1 ms, inside the cool-down
  entry.failure_cooldown = 100ms;
  registry.add(
      "db",
      [&]() -> int {
        if (++runs == 1) throw std::runtime_error("transient");
        return 1;
      },
      entry);
  CHECK_THROWS(registry.load("db"));
  REQUIRE(eventually([&] { return registry.entry("db").is_loaded(); }));
  CHECK(runs == 2);
}

TEST_CASE("destroying a registry stops a retry running on an inline executor",
          "[retry]") {
  std::atomic<int> runs{0};
  std::atomic<bool> retrying{false};
  RegistryOptions options;
  options.executor = [](const std::function<void()>& task) { task(); };
  auto registry = std::make_unique<LazyRegistry>(options);
  EntryOptions entry;
  entry.retry = fast(1);
  registry->add(
      "slow",
      [&](lazyload::Progress& p) -> int {
        if (++runs == 1) throw std::runtime_error("first");
        retrying = true;  // on the timer's thread
        const auto until = std::chrono::steady_clock::now() + 30s;
        while (std::chrono::steady_clock::now() < until) {
          p.throw_if_stop_requested();
          std::this_thread::sleep_for(1ms);
        }
        return 1;
      },
      entry);
  CHECK_THROWS(registry->load("slow"));
  REQUIRE(eventually([&] { return retrying.load(); }));
  const auto begin = std::chrono::steady_clock::now();
  registry.reset();
  CHECK(std::chrono::steady_clock::now() - begin < 10s);
}

TEST_CASE("keep_loaded loads an entry again after an idle eviction",
          "[retry]") {
  std::atomic<int> runs{0};
  LazyRegistry registry;
  EntryOptions entry;
  entry.keep_loaded = true;
  entry.evictable = true;
  entry.idle_timeout = 20ms;
  registry.add(
      "cache", [&] { return ++runs; }, entry);
  registry.load("cache");
  REQUIRE(eventually([&] {
    return registry.snapshot().entries.at(0).evictions >= 1 && runs >= 2;
  }));
  CHECK(eventually([&] { return registry.entry("cache").is_loaded(); }));
}
