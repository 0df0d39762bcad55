// lazyload/detail/config.hpp
//
// Internal: compiler portability macros and the one place lazyload throws
// from. Not part of the public interface; do not include it directly.

#ifndef LAZYLOAD_DETAIL_CONFIG_HPP_
#define LAZYLOAD_DETAIL_CONFIG_HPP_

#include <string>   // std::string
#include <utility>  // std::move

#if defined(__GNUC__) || defined(__clang__)
#  define LAZYLOAD_PREDICT_TRUE(x) (__builtin_expect(static_cast<bool>(x), 1))
#  define LAZYLOAD_PREDICT_FALSE(x) (__builtin_expect(static_cast<bool>(x), 0))
#  define LAZYLOAD_NOINLINE __attribute__((noinline))
#else
#  define LAZYLOAD_PREDICT_TRUE(x) (x)
#  define LAZYLOAD_PREDICT_FALSE(x) (x)
#  define LAZYLOAD_NOINLINE
#endif

namespace lazyload {
namespace detail {

// throw_error<E>()
//
// Throws `E(msg)`. Kept out of line so that the code that decides to throw
// stays small; every lazyload exception leaves through here.
template <class E>
[[noreturn]] LAZYLOAD_NOINLINE void throw_error(std::string msg) {
  throw E(std::move(msg));
}

// quoted()
//
// Returns `'name'`, the way every lazyload message names the thing at fault.
inline std::string quoted(const std::string& name) {
  std::string out;
  out.reserve(name.size() + 2);
  out += '\'';
  out += name;
  out += '\'';
  return out;
}

}  // namespace detail
}  // namespace lazyload

#endif  // LAZYLOAD_DETAIL_CONFIG_HPP_
