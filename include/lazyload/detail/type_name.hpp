// lazyload/detail/type_name.hpp
//
// Internal: readable type names for error messages.

#ifndef LAZYLOAD_DETAIL_TYPE_NAME_HPP_
#define LAZYLOAD_DETAIL_TYPE_NAME_HPP_

#include <cstdlib>   // std::free
#include <memory>    // std::unique_ptr
#include <string>    // std::string
#include <typeinfo>  // std::type_info

#if defined(__GNUC__) || defined(__clang__)
#  include <cxxabi.h>  // abi::__cxa_demangle
#endif

namespace lazyload {
namespace detail {

// Returns the demangled name of `type` ("std::string", not "NSt7__cxx1112...").
inline std::string type_name(const std::type_info& type) {
#if defined(__GNUC__) || defined(__clang__)
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> demangled(
      abi::__cxa_demangle(type.name(), nullptr, nullptr, &status), std::free);
  if (status == 0 && demangled) {
    std::string name = demangled.get();
    // The standard library spells std::string as its full instantiation.
    const std::string long_string =
        "std::__cxx11::basic_string<char, std::char_traits<char>, "
        "std::allocator<char> >";
    for (auto pos = name.find(long_string); pos != std::string::npos;
         pos = name.find(long_string)) {
      name.replace(pos, long_string.size(), "std::string");
    }
    return name;
  }
#endif
  return type.name();
}

}  // namespace detail
}  // namespace lazyload

#endif  // LAZYLOAD_DETAIL_TYPE_NAME_HPP_
