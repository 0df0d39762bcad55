// lazyload/version.hpp
//
// The version of lazyload these headers are, as macros that the
// preprocessor can test: `LAZYLOAD_VERSION_MAJOR`, `LAZYLOAD_VERSION_MINOR`,
// `LAZYLOAD_VERSION_PATCH`, and `LAZYLOAD_VERSION`, all three in one number
// (MAJOR * 10000 + MINOR * 100 + PATCH, so 0.2.0 is 200 and 1.12.3 is
// 11203) that compares in one `#if`.
//
// Example Usage:
//
//   #include <lazyload/version.hpp>
//
//   #if LAZYLOAD_VERSION < 200  // older than 0.2.0
//   #  error "this program needs lazyload 0.2 or newer"
//   #endif
//
// Rationale:
//
// * Macros, not constants, because the use is conditional compilation
//   across releases; the names follow `FMT_VERSION` (fmt/core.h) and
//   `NLOHMANN_JSON_VERSION_MAJOR` (nlohmann/json.hpp).
// * The project version in CMakeLists.txt is the other copy; a test
//   (tests/version_test.cpp) keeps the two equal. What a version promises
//   is in the README ("Versions") and CHANGELOG.md.
// * The header needs nothing, so any other header may include it.

#ifndef LAZYLOAD_VERSION_HPP_
#define LAZYLOAD_VERSION_HPP_

#define LAZYLOAD_VERSION_MAJOR 0
#define LAZYLOAD_VERSION_MINOR 2
#define LAZYLOAD_VERSION_PATCH 0

// LAZYLOAD_VERSION
//
// MAJOR * 10000 + MINOR * 100 + PATCH: 200 for 0.2.0.
#define LAZYLOAD_VERSION                                           \
  (LAZYLOAD_VERSION_MAJOR * 10000 + LAZYLOAD_VERSION_MINOR * 100 + \
   LAZYLOAD_VERSION_PATCH)

#endif  // LAZYLOAD_VERSION_HPP_
