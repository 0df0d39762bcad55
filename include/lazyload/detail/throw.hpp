// lazyload/detail/throw.hpp
//
// Internal: the one place lazyload throws from, and how messages quote the
// thing at fault. Not part of the public interface; do not include it
// directly.

#ifndef LAZYLOAD_DETAIL_THROW_HPP_
#define LAZYLOAD_DETAIL_THROW_HPP_

#include <string>   // std::string
#include <utility>  // std::move

#include "config.hpp"

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

// label_of()
//
// Returns how a message names a handle: `'name'`, or "an unnamed handle".
inline std::string label_of(const std::string& name) {
  return name.empty() ? std::string("an unnamed handle") : quoted(name);
}

}  // namespace detail
}  // namespace lazyload

#endif  // LAZYLOAD_DETAIL_THROW_HPP_
