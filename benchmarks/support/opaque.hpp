// benchmarks/support/opaque.hpp
//
// Values made in another translation unit (opaque.cpp), so that the compiler
// cannot constant-initialize a function-local static built from them: the
// static then pays its guard check on every access, as it does in real code
// whose initializer is not a constant.

#ifndef LAZYLOAD_BENCH_OPAQUE_HPP_
#define LAZYLOAD_BENCH_OPAQUE_HPP_

#include <string>  // std::string

namespace lazyload_bench {

int opaque_int();
std::string opaque_string();

}  // namespace lazyload_bench

#endif  // LAZYLOAD_BENCH_OPAQUE_HPP_
