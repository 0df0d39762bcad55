// Tests for lazyload/detail/memory_budget.hpp, through the registry: sizes,
// the budget, least-recently-used and idle eviction, pressure levels.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "lazyload/registry.hpp"
#include "support/barrier.hpp"
#include "support/catch_compat.hpp"

using lazyload::EntryOptions;
using lazyload::LazyError;
using lazyload::LazyRegistry;
using lazyload::RegistryOptions;
using lazyload::Status;
using namespace std::chrono_literals;

namespace {

EntryOptions sized(std::size_t bytes, bool evictable = true) {
  EntryOptions o;
  o.size_bytes = bytes;
  o.evictable = evictable;
  return o;
}

RegistryOptions budget(std::size_t bytes) {
  RegistryOptions o;
  o.memory_budget = bytes;
  return o;
}

std::vector<std::string> loaded_names(const LazyRegistry& r) {
  std::vector<std::string> out;
  for (const auto& e : r.snapshot().entries) {
    if (e.status == Status::loaded) out.push_back(e.name);
  }
  return out;
}

}  // namespace

TEST_CASE("a load over budget first evicts idle evictable entries",
          "[registry][memory]") {
  std::vector<std::string> evicted;
  RegistryOptions options = budget(100);
  options.on_change = [&](const lazyload::StatusChange& c) {
    if (c.eviction) evicted.push_back(std::string(c.name));
  };
  LazyRegistry r(options);
  r.add(
      "a", [] { return 1; }, sized(40));
  r.add(
      "b", [] { return 2; }, sized(40));
  r.add(
      "c", [] { return 3; }, sized(40));
  r.load("a");
  r.load("b");
  CHECK(r.snapshot().bytes_loaded == 80);
  r.load("c");  // 120 would exceed 100: the least recently used goes
  CHECK(loaded_names(r) == std::vector<std::string>{"b", "c"});
  const auto s = r.snapshot();
  CHECK(s.bytes_loaded == 80);
  CHECK(s.budget_overshoots == 0);
  CHECK(s.entries[0].evictions == 1);
  CHECK(s.entries[0].status == Status::unloaded);
  CHECK(evicted == std::vector<std::string>{"a"});
  CHECK(r.get<int>("a") == 1);  // an evicted entry loads again on next use
}

TEST_CASE("a load that cannot fit still happens and counts an overshoot",
          "[registry][memory]") {
  LazyRegistry r(budget(100));
  r.add(
      "pinned", [] { return 1; }, sized(60, /*evictable=*/false));
  r.add(
      "big", [] { return 2; }, sized(60, /*evictable=*/false));
  r.load("pinned");
  r.load("big");
  const auto s = r.snapshot();
  CHECK(s.loaded == 2);
  CHECK(s.bytes_loaded == 120);
  CHECK(s.budget_overshoots == 1);
  CHECK(s.entries[0].evictions == 0);
}

TEST_CASE("a loaded total within the budget never evicts",
          "[registry][memory]") {
  LazyRegistry r(budget(100));
  r.add(
      "a", [] { return 1; }, sized(50));
  r.add(
      "b", [] { return 2; }, sized(50));
  r.load("a");
  r.load("b");
  CHECK(loaded_names(r) == std::vector<std::string>{"a", "b"});
  CHECK(r.snapshot().budget_overshoots == 0);
}

TEST_CASE("eviction follows lease order, least recently leased first",
          "[registry][memory]") {
  LazyRegistry r(budget(120));
  for (const char* name : {"a", "b", "c", "d", "e"}) {
    r.add(
        name, [] { return 0; }, sized(40));
  }
  r.load("a");
  r.load("b");
  r.load("c");
  (void)r.handle<int>("a").lease();  // order of use now: b, c, a
  r.load("d");                       // evicts b
  CHECK(loaded_names(r) == std::vector<std::string>{"a", "c", "d"});
  (void)r.handle<int>("c").lease();  // order of use now: a, d, c
  r.load("e");                       // evicts a
  CHECK(loaded_names(r) == std::vector<std::string>{"c", "d", "e"});
}

TEST_CASE("a leased value is never evicted and outlives unload",
          "[registry][memory]") {
  LazyRegistry r(budget(100));
  r.add(
      "held", [] { return std::make_unique<std::string>(1000, 'x'); },
      sized(60));
  r.add(
      "other", [] { return 2; }, sized(60));
  std::shared_ptr<std::string> lease = r.handle<std::string>("held").lease();
  r.load("other");  // nothing evictable is free: overshoot, held stays
  CHECK(r.entry("held").is_loaded());
  CHECK(r.snapshot().budget_overshoots == 1);
  r.unload("held");
  CHECK(lease->size() == 1000);  // ASan would catch a freed string here
  CHECK(lease->back() == 'x');
}

TEST_CASE("a size reported by the loader wins and is enforced after the load",
          "[registry][memory]") {
  LazyRegistry r(budget(100));
  r.add(
      "old", [] { return 1; }, sized(50));
  r.add(
      "surprise",
      [](lazyload::Progress& p) {
        p.set_size(80);  // declared nothing; turns out to be big
        return 2;
      },
      sized(0));
  r.load("old");
  r.load("surprise");
  CHECK(loaded_names(r) == std::vector<std::string>{"surprise"});
  CHECK(r.snapshot().bytes_loaded == 80);
  CHECK(r.snapshot().entries[1].size_bytes == 80);
}

TEST_CASE("loads through a handle from the registry obey its budget",
          "[registry][memory]") {
  LazyRegistry r(budget(50));
  r.add(
      "a", [] { return 1; }, sized(40));
  auto& b = r.add(
      "b", [] { return 2; }, sized(40));
  r.load("a");
  CHECK(*b.lease() == 2);
  CHECK(loaded_names(r) == std::vector<std::string>{"b"});
}

TEST_CASE("an entry nobody leases for its idle timeout is evicted",
          "[registry][memory]") {
  LazyRegistry r;
  EntryOptions idle = sized(10);
  idle.idle_timeout = 50ms;
  r.add(
      "idle", [] { return 1; }, idle);
  r.add(
      "held", [] { return 2; }, idle);
  r.add("forever", [] { return 3; });
  r.load("idle");
  r.load("forever");
  auto lease = r.handle<int>("held").lease();
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (r.entry("idle").is_loaded() &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  CHECK_FALSE(r.entry("idle").is_loaded());
  CHECK(r.snapshot().entries[0].evictions == 1);
  std::this_thread::sleep_for(150ms);
  CHECK(r.entry("held").is_loaded());  // in use: kept past its timeout
  CHECK(r.entry("forever").is_loaded());
  lease.reset();
  while (r.entry("held").is_loaded() &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  CHECK_FALSE(r.entry("held").is_loaded());
}

TEST_CASE("an idle timeout on an entry that is not evictable is refused",
          "[registry][memory]") {
  LazyRegistry r;
  EntryOptions o;
  o.idle_timeout = 1s;
  CHECK_THROWS_WITH_AS(
      r.add(
          "x", [] { return 1; }, o),
      "lazyload: resource 'x' has an idle_timeout but is not evictable",
      LazyError);
  CHECK_FALSE(r.contains("x"));
}

TEST_CASE(
    "pressure levels fire once per upward crossing and critical evicts "
    "down to warning",
    "[registry][memory]") {
  std::vector<std::string> events;
  RegistryOptions options = budget(100);
  options.pressure = lazyload::PressureThresholds{0.5, 0.8};
  options.on_pressure = [&](const lazyload::PressureEvent& e) {
    events.push_back(std::string(lazyload::to_string(e.level)) + "@" +
                     std::to_string(e.bytes_loaded));
  };
  LazyRegistry r(options);
  r.add(
      "a", [] { return 1; }, sized(30));
  r.add(
      "b", [] { return 2; }, sized(25));
  r.add(
      "c", [] { return 3; }, sized(30));
  r.add(
      "d", [] { return 4; }, sized(10));
  r.load("a");  // 30: normal
  CHECK(events.empty());
  r.load("b");  // 55: warning
  r.load("d");  // 65: still warning, no second event
  CHECK(events == std::vector<std::string>{"warning@55"});
  CHECK(r.snapshot().pressure == lazyload::PressureLevel::warning);
  r.load("c");  // 95: critical; evicts a, b (LRU) down to <= 50
  CHECK(events == std::vector<std::string>{"warning@55", "critical@95"});
  CHECK(loaded_names(r) == std::vector<std::string>{"c", "d"});
  CHECK(r.snapshot().pressure == lazyload::PressureLevel::normal);
  r.load("a");  // 70: warning again, a new crossing
  CHECK(events.back() == "warning@70");
  CHECK(events.size() == 3);
}

TEST_CASE("pressure levels are validated", "[registry][memory]") {
  RegistryOptions no_budget;
  no_budget.pressure = lazyload::PressureThresholds{};
  CHECK_THROWS_WITH_AS(LazyRegistry(no_budget),
                       "lazyload: pressure levels need a memory_budget",
                       LazyError);
  RegistryOptions inverted = budget(10);
  inverted.pressure = lazyload::PressureThresholds{0.9, 0.5};
  CHECK_THROWS_WITH_AS(LazyRegistry(inverted),
                       "lazyload: pressure levels must satisfy 0 < warning <= "
                       "critical <= 1, got warning 0.900000 and critical "
                       "0.500000",
                       LazyError);
}

TEST_CASE("the snapshot reports the process's resident memory",
          "[registry][memory]") {
  LazyRegistry r;
  CHECK(r.snapshot().rss_bytes > 0);
}

TEST_CASE("eviction racing leases, gets and loads keeps every lease valid",
          "[registry][memory]") {
  RegistryOptions options = budget(200);
  options.workers = 2;
  LazyRegistry r(options);
  constexpr int kEntries = 10;
  for (int i = 0; i < kEntries; ++i) {
    EntryOptions o = sized(60);
    if (i % 3 == 0) o.idle_timeout = 2ms;
    r.add(
        "m" + std::to_string(i),
        [i] { return std::make_unique<std::string>(100, char('a' + i)); }, o);
  }
  std::atomic<int> bad{0};
  lazyload_test::race(8, [&](std::size_t t) {
    for (int n = 0; n < 300; ++n) {
      const int i = static_cast<int>((n * 3 + t) % kEntries);
      const std::string name = "m" + std::to_string(i);
      switch ((n + t) % 4) {
      case 0:
      case 1: {
        auto lease = r.handle<std::string>(name).lease();
        std::this_thread::yield();
        if (lease->size() != 100 || (*lease)[99] != char('a' + i)) ++bad;
        break;
      }
      case 2:
        (void)r.load_async(name);
        break;
      default:
        (void)r.snapshot();
        break;
      }
    }
  });
  CHECK(r.wait_idle(30s));
  CHECK(bad == 0);
  std::uint64_t evictions = 0;
  for (const auto& e : r.snapshot().entries) evictions += e.evictions;
  CHECK(evictions > 0);
}

TEST_CASE(
    "an unload below a pressure level resets it, and the next crossing "
    "raises a second event",
    "[registry][memory]") {
  std::vector<std::string> events;
  RegistryOptions options = budget(100);
  options.pressure = lazyload::PressureThresholds{0.5, 0.9};
  options.on_pressure = [&](const lazyload::PressureEvent& e) {
    events.push_back(std::string(lazyload::to_string(e.level)) + "@" +
                     std::to_string(e.bytes_loaded));
  };
  LazyRegistry r(options);
  r.add(
      "a", [] { return 1; }, sized(60));
  r.load("a");
  CHECK(r.snapshot().pressure == lazyload::PressureLevel::warning);
  r.unload("a");
  CHECK(r.snapshot().pressure == lazyload::PressureLevel::normal);
  r.load("a");
  CHECK(events == std::vector<std::string>{"warning@60", "warning@60"});
}

TEST_CASE("a budget eviction below a pressure level resets it",
          "[registry][memory]") {
  RegistryOptions options = budget(100);
  options.pressure = lazyload::PressureThresholds{0.5, 0.9};
  LazyRegistry r(options);
  r.add(
      "a", [] { return 1; }, sized(60));
  r.add(
      "b", []() -> int { throw std::runtime_error("no room after all"); },
      sized(60, false));
  r.load("a");
  CHECK(r.snapshot().pressure == lazyload::PressureLevel::warning);
  CHECK_THROWS(r.load("b"));  // made room first: evicted a
  CHECK_FALSE(r.entry("a").is_loaded());
  CHECK(r.snapshot().pressure == lazyload::PressureLevel::normal);
}

TEST_CASE("the budget counts both values while a reload runs",
          "[budget][reload]") {
  RegistryOptions options;
  options.memory_budget = 130;
  LazyRegistry registry(options);
  EntryOptions evictable;
  evictable.evictable = true;
  registry.add(
      "a",
      [](lazyload::Progress& p) {
        p.set_size(40);
        return 1;
      },
      evictable);
  std::atomic<int> runs{0};
  std::atomic<bool> sized{false};
  std::atomic<bool> release{false};
  registry.add("model", [&](lazyload::Progress& p) {
    p.set_size(40);
    if (++runs == 2) {  // the reload: its 40 bytes live beside the old 40
      sized = true;
      while (!release) std::this_thread::yield();
    }
    return runs.load();
  });
  registry.add("c", [](lazyload::Progress& p) {
    p.set_size(40);
    return 3;
  });
  registry.load("a");
  registry.load("model");
  std::thread reloader([&] { registry.reload("model"); });
  while (!sized) std::this_thread::yield();
  // a 40 + model 40 + its reload 40 + c 40 = 160 > 130: `a` must go. Counting
  // the model once (120) would keep it.
  registry.load("c");
  CHECK_FALSE(registry.entry("a").is_loaded());
  release = true;
  reloader.join();
  CHECK(registry.get<int>("model") == 2);
  CHECK(registry.snapshot().bytes_loaded == 80);
}

TEST_CASE(
    "an entry leased again and again is never idle, however short "
    "each lease",
    "[registry][memory]") {
  // Repeated leases of the most recently used value write nothing shared
  // (no clock read, no stamp); the idle check must still see them.
  LazyRegistry r;
  EntryOptions idle = sized(10);
  idle.idle_timeout = 200ms;
  auto& h = r.add(
      "busy", [] { return 1; }, idle);
  h.load();
  const auto until = std::chrono::steady_clock::now() + 1s;
  while (std::chrono::steady_clock::now() < until) {
    CHECK(*h.lease() == 1);
    std::this_thread::sleep_for(2ms);
  }
  CHECK(r.snapshot().entries[0].evictions == 0);
}
