// benchmarks/support/opaque.cpp
//
// See opaque.hpp. Compiled separately, without link-time optimization.

#include "opaque.hpp"

namespace lazyload_bench {

int opaque_int() { return 42; }
std::string opaque_string() {
  return "a value long enough to live on the heap, not in the SSO buffer";
}

}  // namespace lazyload_bench
