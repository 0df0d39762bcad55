// A shared library for tests/shared_library_test.cpp whose initializer and
// finalizer call back into the test executable, which runs what the test
// set there: ask a registry for an entry, throw, and so on. Reports to the
// test executable as calc.cpp does.

// Exported by the test executable (ENABLE_EXPORTS); event 1: opened,
// 0: closed. The hook runs before the event is reported.
extern "C" void lazyload_test_library_hook(int library, int event);
extern "C" void lazyload_test_library_event(int library, int event);

namespace {

struct Hook {
  Hook() {
    lazyload_test_library_hook(LAZYLOAD_TEST_LIBRARY_ID, 1);
    lazyload_test_library_event(LAZYLOAD_TEST_LIBRARY_ID, 1);
  }
  ~Hook() {
    lazyload_test_library_hook(LAZYLOAD_TEST_LIBRARY_ID, 0);
    lazyload_test_library_event(LAZYLOAD_TEST_LIBRARY_ID, 0);
  }
  Hook(const Hook&) = delete;
  Hook& operator=(const Hook&) = delete;
};

const Hook hook;

}  // namespace

extern "C" int lazyload_test_hooked() { return 7; }
