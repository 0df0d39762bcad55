// Tests for lazyload/version.hpp.

#include "lazyload/version.hpp"

#include <string>

#include "support/catch_compat.hpp"

// LAZYLOAD_TEST_PROJECT_VERSION is project(VERSION) from CMakeLists.txt,
// defined for this file by tests/CMakeLists.txt.
TEST_CASE("the version macros equal the CMake project version", "[version]") {
  const std::string header = std::to_string(LAZYLOAD_VERSION_MAJOR) + "." +
                             std::to_string(LAZYLOAD_VERSION_MINOR) + "." +
                             std::to_string(LAZYLOAD_VERSION_PATCH);
  INFO("change include/lazyload/version.hpp and project(VERSION) together");
  CHECK(header == LAZYLOAD_TEST_PROJECT_VERSION);
}

TEST_CASE("LAZYLOAD_VERSION is MAJOR * 10000 + MINOR * 100 + PATCH",
          "[version]") {
  STATIC_REQUIRE(LAZYLOAD_VERSION == LAZYLOAD_VERSION_MAJOR * 10000 +
                                         LAZYLOAD_VERSION_MINOR * 100 +
                                         LAZYLOAD_VERSION_PATCH);
  // Two digits each, or the number stops comparing like the version.
  STATIC_REQUIRE(LAZYLOAD_VERSION_MINOR < 100);
  STATIC_REQUIRE(LAZYLOAD_VERSION_PATCH < 100);
#if LAZYLOAD_VERSION < 200
  FAIL("LAZYLOAD_VERSION does not work in #if");
#endif
}
