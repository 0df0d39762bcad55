// Tests for lazyload/error.hpp.

#include "lazyload/error.hpp"

#include <stdexcept>
#include <type_traits>

#include "support/catch_compat.hpp"

TEST_CASE("every lazyload exception derives from LazyError", "[error]") {
  STATIC_REQUIRE(std::is_base_of_v<std::runtime_error, lazyload::LazyError>);
  STATIC_REQUIRE(std::is_base_of_v<lazyload::LazyError, lazyload::LoadError>);
  STATIC_REQUIRE(std::is_base_of_v<lazyload::LoadError, lazyload::CycleError>);
}

TEST_CASE("a CycleError is caught as a LoadError and keeps its message",
          "[error]") {
  CHECK_THROWS_WITH_AS(throw lazyload::CycleError("lazyload: cycle detected"),
                       "lazyload: cycle detected", lazyload::LoadError);
}
