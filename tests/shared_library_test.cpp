// Tests for lazyload/shared_library.hpp, with real shared libraries built by
// the test suite (tests/library/): calc, whose functions the tests call, and
// slow, whose initializer takes 150 ms. Both report their initializer and
// finalizer to lazyload_test_library_event() below, which this executable
// exports, so that the tests see every open and close; /proc/self/maps shows
// whether the library is mapped as a second witness.

#include "lazyload/shared_library.hpp"

#include <atomic>
#include <chrono>
#include <exception>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "lazyload/handle.hpp"
#include "lazyload/registry.hpp"
#include "support/barrier.hpp"
#include "support/catch_compat.hpp"

namespace {

constexpr int kCalc = 0;
constexpr int kSlow = 1;

std::atomic<int> g_opened[2];
std::atomic<int> g_closed[2];

const std::string kCalcPath = LAZYLOAD_TEST_CALC_PATH;
const std::string kSlowPath = LAZYLOAD_TEST_SLOW_PATH;

int opened(int library) { return g_opened[library].load(); }
int closed(int library) { return g_closed[library].load(); }

// Whether `path` is mapped into this process now.
bool is_mapped(const std::string& path) {
  const std::string real = std::filesystem::canonical(path).string();
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    if (line.size() >= real.size() &&
        line.compare(line.size() - real.size(), real.size(), real) == 0) {
      return true;
    }
  }
  return false;
}

// The message of the exception nested in `e`, empty if none.
std::string nested_message(const std::exception& e) {
  try {
    std::rethrow_if_nested(e);
  } catch (const std::exception& inner) {
    return inner.what();
  }
  return {};
}

lazyload::EntryOptions priority(int value) {
  lazyload::EntryOptions options;
  options.priority = value;
  return options;
}

}  // namespace

// Called by the test libraries' initializers (event 1) and finalizers
// (event 0).
extern "C" __attribute__((visibility("default"))) void
lazyload_test_library_event(int library, int event) {
  (event == 1 ? g_opened : g_closed)[library].fetch_add(1);
}

TEST_CASE("a library is opened by the first call of a symbol, and once",
          "[library]") {
  const int opened_before = opened(kCalc);
  const int closed_before = closed(kCalc);
  {
    lazyload::LazyLibrary calc{kCalcPath};
    lazyload::LazySymbol<int(int)> twice{calc, "lazyload_test_twice"};
    lazyload::LazySymbol<int(int, int)> add{calc, "lazyload_test_add"};
    CHECK(calc.status() == lazyload::Status::unloaded);
    CHECK_FALSE(twice.is_resolved());
    CHECK(opened(kCalc) == opened_before);
    CHECK_FALSE(is_mapped(kCalcPath));

    CHECK(twice(21) == 42);
    CHECK(twice.is_resolved());
    CHECK(calc.status() == lazyload::Status::loaded);
    CHECK(calc.name() == kCalcPath);
    CHECK(opened(kCalc) == opened_before + 1);
    CHECK(is_mapped(kCalcPath));

    CHECK(add(2, 3) == 5);
    CHECK(twice(4) == 8);
    CHECK(opened(kCalc) == opened_before + 1);
    CHECK(closed(kCalc) == closed_before);
  }
  // The symbols went first (declared last), then the library: closed.
  CHECK(closed(kCalc) == closed_before + 1);
  CHECK_FALSE(is_mapped(kCalcPath));
}

TEST_CASE("a symbol passes arguments and returns like the function",
          "[library]") {
  lazyload::LazyLibrary calc{kCalcPath};
  lazyload::LazySymbol<void(int*, int, int)> fill{calc, "lazyload_test_fill"};
  std::vector<int> out(5, 0);
  fill(out.data(), 5, 7);
  CHECK(out == std::vector<int>(5, 7));

  lazyload::LazySymbol<int(int)> throws{calc, "lazyload_test_throws"};
  CHECK(throws(3) == 3);
  CHECK_THROWS_WITH_AS(throws(-1), "negative input", std::invalid_argument);
  CHECK(throws.name() == "lazyload_test_throws");
}

TEST_CASE("get returns the address dlsym gives", "[library]") {
  lazyload::LazyLibrary calc{kCalcPath};
  lazyload::LazySymbol<int(int)> twice{calc, "lazyload_test_twice"};
  int (*fn)(int) = twice.get();
  REQUIRE(fn != nullptr);
  CHECK(fn(5) == 10);
  CHECK(reinterpret_cast<void*>(fn) ==
        calc.lease()->symbol("lazyload_test_twice"));
  CHECK(twice.get() == fn);
}

TEST_CASE("open_library is a loader for LazyHandle<SharedLibrary>",
          "[library]") {
  const int opened_before = opened(kCalc);
  lazyload::LazyHandle calc{"calc", lazyload::open_library(kCalcPath)};
  STATIC_REQUIRE(std::is_same_v<decltype(calc),
                                lazyload::LazyHandle<lazyload::SharedLibrary>>);
  CHECK(opened(kCalc) == opened_before);

  lazyload::SharedLibrary& library = calc.get();
  CHECK(library.path() == kCalcPath);
  CHECK(library.native_handle() != nullptr);
  CHECK(calc.stats().stage == "opened");
  CHECK(opened(kCalc) == opened_before + 1);

  lazyload::LazySymbol<int(int, int)> add{calc, "lazyload_test_add"};
  CHECK(add(40, 2) == 42);
  CHECK(opened(kCalc) == opened_before + 1);
}

TEST_CASE("a SharedLibrary closes once, after a move", "[library]") {
  const int closed_before = closed(kCalc);
  {
    lazyload::SharedLibrary a{kCalcPath};
    lazyload::SharedLibrary b{std::move(a)};
    CHECK(a.native_handle() == nullptr);  // NOLINT(bugprone-use-after-move)
    CHECK(b.symbol("lazyload_test_twice") != nullptr);
    lazyload::SharedLibrary c{kCalcPath};  // a second dlopen: same mapping
    c = std::move(b);                      // closes c's, keeps b's
    CHECK(closed(kCalc) == closed_before);
    CHECK(c.symbol("lazyload_test_add") != nullptr);
  }
  CHECK(closed(kCalc) == closed_before + 1);
  CHECK_FALSE(is_mapped(kCalcPath));
}

TEST_CASE("a missing library is a LoadError naming it with dlerror's text",
          "[library]") {
  const std::string path = "/nonexistent/liblazyload_missing.so";
  const std::string dlerror_text =
      path + ": cannot open shared object file: No such file or directory";

  CHECK_THROWS_WITH_AS(
      lazyload::SharedLibrary(path),
      "lazyload: cannot open library '" + path + "': " + dlerror_text,
      lazyload::LoadError);

  lazyload::LazyLibrary missing{path};
  CHECK_THROWS_WITH_AS(missing.load(),
                       "lazyload: loading '" + path +
                           "' failed: cannot open library '" + path +
                           "': " + dlerror_text,
                       lazyload::LoadError);
  CHECK(missing.status() == lazyload::Status::failed);

  // A call names the symbol too; the library's error is nested.
  lazyload::LazySymbol<int(int)> twice{missing, "twice"};
  const std::string expected =
      "lazyload: cannot resolve symbol 'twice': "
      "loading '" +
      path + "' failed: cannot open library '" + path + "': " + dlerror_text;
  CHECK_THROWS_WITH_AS(twice(1), expected, lazyload::LoadError);
  try {
    twice(1);
    FAIL("no exception");
  } catch (const lazyload::LoadError& e) {
    CHECK(std::string(e.what()) == expected);
    CHECK(nested_message(e) == "lazyload: loading '" + path +
                                   "' failed: cannot open library '" + path +
                                   "': " + dlerror_text);
  }
  CHECK_FALSE(twice.is_resolved());
}

TEST_CASE("a library searched by name reports dlerror's text", "[library]") {
  lazyload::LazyHandle missing{"cv2",
                               lazyload::open_library("libcv2_missing.so")};
  CHECK_THROWS_WITH_AS(
      missing.load(),
      "lazyload: loading 'cv2' failed: cannot open library "
      "'libcv2_missing.so': libcv2_missing.so: cannot open shared object "
      "file: No such file or directory",
      lazyload::LoadError);
}

TEST_CASE(
    "a missing symbol is a LoadError naming it, the library and "
    "dlerror's text",
    "[library]") {
  lazyload::LazyLibrary calc{kCalcPath};
  lazyload::LazySymbol<int(int)> matmul{calc, "matmul"};
  const std::string expected =
      "lazyload: symbol 'matmul' not found in "
      "library '" +
      kCalcPath + "': " + kCalcPath + ": undefined symbol: matmul";
  CHECK_THROWS_WITH_AS(matmul(1), expected, lazyload::LoadError);
  CHECK_THROWS_WITH_AS(calc.lease()->symbol("matmul"), expected,
                       lazyload::LoadError);
  // The library itself loaded; its other symbols work.
  CHECK_FALSE(matmul.is_resolved());
  CHECK(calc.status() == lazyload::Status::loaded);
  lazyload::LazySymbol<int(int)> twice{calc, "lazyload_test_twice"};
  CHECK(twice(2) == 4);
  // The next call tries again, and fails again.
  CHECK_THROWS_WITH_AS(matmul(1), expected, lazyload::LoadError);
}

TEST_CASE("unload closes a library at once when no symbol holds it",
          "[library]") {
  lazyload::LazyLibrary calc{kCalcPath};
  calc.load();
  REQUIRE(is_mapped(kCalcPath));
  const int closed_before = closed(kCalc);
  lazyload::LazySymbol<int(int)> twice{calc, "lazyload_test_twice"};  // unused

  calc.unload();
  CHECK(calc.status() == lazyload::Status::unloaded);
  CHECK(closed(kCalc) == closed_before + 1);
  CHECK_FALSE(is_mapped(kCalcPath));
}

TEST_CASE(
    "unload keeps a library open while a resolved symbol can be "
    "called",
    "[library]") {
  lazyload::LazyLibrary calc{kCalcPath};
  lazyload::LazySymbol<int(int)> twice{calc, "lazyload_test_twice"};
  CHECK(twice(1) == 2);
  const int opened_before = opened(kCalc);
  const int closed_before = closed(kCalc);

  calc.unload();
  CHECK(calc.status() == lazyload::Status::unloaded);
  CHECK_FALSE(calc.is_loaded());
  CHECK(closed(kCalc) == closed_before);  // the symbol holds it
  CHECK(is_mapped(kCalcPath));
  CHECK(twice(5) == 10);  // still callable, without opening it again
  CHECK(opened(kCalc) == opened_before);
  CHECK(calc.status() == lazyload::Status::unloaded);

  twice.reset();  // the last holder: closed now
  CHECK_FALSE(twice.is_resolved());
  CHECK(closed(kCalc) == closed_before + 1);
  CHECK_FALSE(is_mapped(kCalcPath));

  // The next call opens it again.
  CHECK(twice(6) == 12);
  CHECK(opened(kCalc) == opened_before + 1);
  CHECK(calc.status() == lazyload::Status::loaded);
}

TEST_CASE("a library is closed when the last of its symbols lets go",
          "[library]") {
  lazyload::LazyLibrary calc{kCalcPath};
  const int closed_before = closed(kCalc);
  lazyload::LazySymbol<int(int)> twice{calc, "lazyload_test_twice"};
  {
    lazyload::LazySymbol<int(int, int)> add{calc, "lazyload_test_add"};
    CHECK(twice(1) == 2);
    CHECK(add(1, 1) == 2);
    calc.unload();
    twice.reset();
    CHECK(closed(kCalc) == closed_before);  // `add` can still be called
    CHECK(is_mapped(kCalcPath));
    CHECK(add(2, 2) == 4);
  }  // `add` destroyed: closed
  CHECK(closed(kCalc) == closed_before + 1);
  CHECK_FALSE(is_mapped(kCalcPath));

  // A lease holds it like a symbol does.
  std::shared_ptr<lazyload::SharedLibrary> lease = calc.lease();
  calc.unload();
  CHECK(closed(kCalc) == closed_before + 1);
  lease.reset();
  CHECK(closed(kCalc) == closed_before + 2);
}

TEST_CASE("reset of a symbol whose library is loaded leaves it open",
          "[library]") {
  lazyload::LazyLibrary calc{kCalcPath};
  lazyload::LazySymbol<int(int)> twice{calc, "lazyload_test_twice"};
  CHECK(twice(1) == 2);
  const int closed_before = closed(kCalc);
  const int opened_before = opened(kCalc);
  twice.reset();
  CHECK(calc.is_loaded());
  CHECK(closed(kCalc) == closed_before);
  CHECK(twice(2) == 4);  // resolves again from the open library
  CHECK(opened(kCalc) == opened_before);
}

TEST_CASE("100 threads racing the first call open the library once",
          "[library]") {
  lazyload::LazyLibrary slow{kSlowPath};
  lazyload::LazySymbol<int()> answer{slow, "lazyload_test_answer"};
  const int opened_before = opened(kSlow);
  std::atomic<int> right{0};
  std::atomic<int> errors{0};
  lazyload_test::race(100, [&](std::size_t) {
    try {
      if (answer() == 42) right.fetch_add(1);
    } catch (...) {
      errors.fetch_add(1);
    }
  });
  CHECK(right == 100);
  CHECK(errors == 0);
  CHECK(opened(kSlow) == opened_before + 1);
  CHECK(slow.handle().stats().loads == 1);
}

TEST_CASE("threads racing reset and calls never call a closed library",
          "[library]") {
  // Callers hold their own symbols; one thread unloads the library and
  // resets its own symbol over and over. The library may close and open
  // many times; every call still lands in mapped code.
  lazyload::LazyLibrary calc{kCalcPath};
  lazyload::LazySymbol<int(int)> churn{calc, "lazyload_test_twice"};
  std::atomic<int> wrong{0};
  std::atomic<int> errors{0};
  std::atomic<bool> done{false};
  lazyload_test::race(4, [&](std::size_t i) {
    if (i == 0) {
      for (int n = 0; n < 200; ++n) {
        try {
          if (churn(n) != 2 * n) wrong.fetch_add(1);
        } catch (...) {
          errors.fetch_add(1);
        }
        calc.unload();
        churn.reset();
      }
      done = true;
      return;
    }
    lazyload::LazySymbol<int(int, int)> add{calc, "lazyload_test_add"};
    for (int n = 0; !done || n < 200; ++n) {
      try {
        if (add(n, 1) != n + 1) wrong.fetch_add(1);
      } catch (...) {
        errors.fetch_add(1);
      }
      if (n % 16 == 0) add.reset();
    }
  });
  CHECK(wrong == 0);
  CHECK(errors == 0);
}

TEST_CASE("libraries load in the background by priority with status",
          "[library]") {
  const int calc_before = opened(kCalc);
  const int slow_before = opened(kSlow);
  lazyload::RegistryOptions options;
  options.workers = 1;  // one worker: the timeline is the priority order
  lazyload::LazyRegistry registry(options);
  registry.add("calc", lazyload::open_library(kCalcPath), priority(2));
  registry.add("slow", lazyload::open_library(kSlowPath), priority(1));
  registry.add("cv2", lazyload::open_library("libcv2_missing.so"), priority(3));
  CHECK(opened(kCalc) == calc_before);
  CHECK(opened(kSlow) == slow_before);

  registry.start_background();
  REQUIRE(registry.wait_idle(std::chrono::seconds(30)));

  const lazyload::RegistrySnapshot s = registry.snapshot();
  REQUIRE(s.entries.size() == 3);
  CHECK(s.loaded == 2);
  CHECK(s.failed == 1);
  CHECK(s.entries[0].type == "lazyload::SharedLibrary");
  CHECK(s.entries[1].status == lazyload::Status::loaded);
  CHECK(s.entries[1].load_time >= 0.1);  // the 150 ms initializer
  CHECK(s.entries[2].status == lazyload::Status::failed);
  CHECK(s.entries[2].error ==
        "lazyload: loading 'cv2' failed: cannot open library "
        "'libcv2_missing.so': libcv2_missing.so: cannot open shared object "
        "file: No such file or directory");
  const std::vector<lazyload::LoadRecord> timeline = registry.timeline();
  REQUIRE(timeline.size() == 3);
  CHECK(timeline[0].name == "slow");
  CHECK(timeline[1].name == "calc");
  CHECK(timeline[2].name == "cv2");
  CHECK(opened(kCalc) == calc_before + 1);
  CHECK(opened(kSlow) == slow_before + 1);

  // Symbols from registry entries; nothing opens again.
  lazyload::LazyLibrary calc{registry.handle<lazyload::SharedLibrary>("calc")};
  lazyload::LazySymbol<int(int)> twice{calc, "lazyload_test_twice"};
  lazyload::LazySymbol<int()> answer{
      registry.handle<lazyload::SharedLibrary>("slow"), "lazyload_test_answer"};
  CHECK(twice(21) == 42);
  CHECK(answer() == 42);
  CHECK(calc.name() == "calc");
  CHECK(opened(kCalc) == calc_before + 1);
  CHECK(opened(kSlow) == slow_before + 1);

  // The unload rule holds for registry entries too.
  const int closed_before = closed(kCalc);
  registry.unload("calc");
  CHECK(closed(kCalc) == closed_before);
  CHECK(twice(1) == 2);
  twice.reset();
  CHECK(closed(kCalc) == closed_before + 1);
}

TEST_CASE("a call while its library loads in the background waits for it",
          "[library]") {
  const int opened_before = opened(kSlow);
  lazyload::LazyRegistry registry;
  auto& slow = registry.add("slow", lazyload::open_library(kSlowPath));
  lazyload::LazySymbol<int()> answer{slow, "lazyload_test_answer"};
  registry.start_background();
  CHECK(answer() == 42);  // loads now or waits for the worker's load
  CHECK(opened(kSlow) == opened_before + 1);
  CHECK(slow.stats().loads == 1);
  REQUIRE(registry.wait_idle(std::chrono::seconds(30)));
}

TEST_CASE("a registry never evicts a library a resolved symbol holds",
          "[library]") {
  lazyload::RegistryOptions options;
  options.memory_budget = 100;
  lazyload::LazyRegistry registry(options);
  lazyload::EntryOptions big;
  big.size_bytes = 80;
  big.evictable = true;
  auto& calc = registry.add("calc", lazyload::open_library(kCalcPath), big);
  auto& slow = registry.add("slow", lazyload::open_library(kSlowPath), big);
  lazyload::LazySymbol<int(int)> twice{calc, "lazyload_test_twice"};
  CHECK(twice(1) == 2);
  slow.load();  // over budget: calc would go, but `twice` holds it
  CHECK(calc.is_loaded());
  CHECK(twice(2) == 4);
  twice.reset();  // calc is free to go now
  slow.unload();
  slow.load();
  CHECK_FALSE(calc.is_loaded());
  CHECK(slow.is_loaded());
}
