// tests/support/catch_compat.hpp
//
// The one place that knows which Catch2 the tests build with. Debian 12 ships
// Catch2 2.13 (a single header); moving to Catch2 v3 means changing the
// include below to <catch2/catch_all.hpp> and main.cpp to link
// Catch2::Catch2WithMain, nothing else.

#ifndef LAZYLOAD_TESTS_SUPPORT_CATCH_COMPAT_HPP_
#define LAZYLOAD_TESTS_SUPPORT_CATCH_COMPAT_HPP_

#include <catch2/catch.hpp>

// CHECK_THROWS_WITH_AS(expr, message, type): expr throws `type` whose what()
// is exactly `message` (doctest's macro, which nlohmann/json's tests use).
#define CHECK_THROWS_WITH_AS(expr, message, type) \
  CHECK_THROWS_MATCHES(expr, type, Catch::Matchers::Message(message))

#endif  // LAZYLOAD_TESTS_SUPPORT_CATCH_COMPAT_HPP_
