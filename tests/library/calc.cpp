// A shared library for tests/shared_library_test.cpp: functions the tests call
// through LazySymbol, and an initializer and a finalizer that report to the
// test executable, so that the tests see exactly when the library is opened
// (mapped, initializers run) and closed (finalizers run, unmapped).
//
// Only C functions and a file-local object: nothing here may become a
// STB_GNU_UNIQUE symbol (an inline variable, a static in an inline
// function), which would make the library impossible to unload.

#include <stdexcept>

// Exported by the test executable (ENABLE_EXPORTS); event 1: opened,
// 0: closed.
extern "C" void lazyload_test_library_event(int library, int event);

namespace {

struct Reporter {
  Reporter() { lazyload_test_library_event(LAZYLOAD_TEST_LIBRARY_ID, 1); }
  ~Reporter() { lazyload_test_library_event(LAZYLOAD_TEST_LIBRARY_ID, 0); }
  Reporter(const Reporter&) = delete;
  Reporter& operator=(const Reporter&) = delete;
};

const Reporter reporter;

}  // namespace

extern "C" int lazyload_test_twice(int x) { return 2 * x; }

extern "C" int lazyload_test_add(int a, int b) { return a + b; }

extern "C" void lazyload_test_fill(int* out, int count, int value) {
  for (int i = 0; i < count; ++i) out[i] = value;
}

extern "C" int lazyload_test_throws(int x) {
  if (x < 0) throw std::invalid_argument("negative input");
  return x;
}
