// A shared library for tests/shared_library_test.cpp whose initializer takes
// 150 ms, like a plugin that sets up a heavy runtime, so that concurrent
// first calls and background loads really overlap with it. Reports to the
// test executable as calc.cpp does.

#include <chrono>
#include <thread>

extern "C" void lazyload_test_library_event(int library, int event);

namespace {

struct SlowStart {
  SlowStart() {
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    lazyload_test_library_event(LAZYLOAD_TEST_LIBRARY_ID, 1);
  }
  ~SlowStart() { lazyload_test_library_event(LAZYLOAD_TEST_LIBRARY_ID, 0); }
  SlowStart(const SlowStart&) = delete;
  SlowStart& operator=(const SlowStart&) = delete;
};

const SlowStart slow_start;

}  // namespace

extern "C" int lazyload_test_answer() { return 42; }
