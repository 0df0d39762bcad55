// Resource names for the registry benchmarks: "res-0000000", "res-0000001",
// ... Short enough for std::string's small buffer, so that building the
// argument of add() allocates nothing and only the registry's own
// allocations are counted.

#ifndef LAZYLOAD_BENCHMARKS_SUPPORT_NAMES_HPP_
#define LAZYLOAD_BENCHMARKS_SUPPORT_NAMES_HPP_

#include <cstddef>  // std::size_t
#include <cstdio>   // std::snprintf
#include <string>   // std::string
#include <vector>   // std::vector

namespace lazyload_bench {

inline std::vector<std::string> make_names(std::size_t n) {
  std::vector<std::string> names;
  names.reserve(n);
  char buf[32];
  for (std::size_t i = 0; i < n; ++i) {
    std::snprintf(buf, sizeof buf, "res-%07zu", i);
    names.emplace_back(buf);
  }
  return names;
}

}  // namespace lazyload_bench

#endif  // LAZYLOAD_BENCHMARKS_SUPPORT_NAMES_HPP_
