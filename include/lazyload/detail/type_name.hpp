// lazyload/detail/type_name.hpp
//
// Internal: a compile-time key per type, and its readable name, computed by
// the compiler once per type (from __PRETTY_FUNCTION__), so that type checks
// and names need neither RTTI nor a demangler on every call. Not part of the
// public interface.

#ifndef LAZYLOAD_DETAIL_TYPE_NAME_HPP_
#define LAZYLOAD_DETAIL_TYPE_NAME_HPP_

#include <string>       // std::string
#include <string_view>  // std::string_view

namespace lazyload {
namespace detail {

// TypeKey
//
// Equal for two types exactly when they are the same type: the address of a
// variable of each type's own. Within one program image; a handle shared
// across a shared-library boundary built with hidden visibility compares
// unequal, as typeid may.
using TypeKey = const void*;

template <class T> struct TypeKeyTag { static constexpr char kId = 0; };

template <class T> constexpr TypeKey type_key() noexcept {
  return &TypeKeyTag<T>::kId;
}

// The type named in a function signature of the form `... [T = X]` (clang)
// or `... [with T = X]` (g++), with std::string spelled as such.
inline std::string type_from_signature(std::string_view signature) {
  constexpr std::string_view kMarker = "T = ";
  const std::size_t start = signature.find(kMarker);
  if (start == std::string_view::npos) return std::string(signature);
  std::string_view type = signature.substr(start + kMarker.size());
  type = type.substr(0, type.find_first_of(";]"));
  std::string name(type);
  for (const std::string_view long_form :
       {std::string_view("std::__cxx11::basic_string<char>"),
        std::string_view("std::basic_string<char>")}) {
    for (std::size_t at = name.find(long_form); at != std::string::npos;
         at = name.find(long_form)) {
      name.replace(at, long_form.size(), "std::string");
    }
  }
  return name;
}

template <class T> std::string signature_of() {
#if defined(__GNUC__) || defined(__clang__)
  return __PRETTY_FUNCTION__;
#elif defined(_MSC_VER)
  return __FUNCSIG__;
#else
  return "T = unknown type]";
#endif
}

// type_name<T>()
//
// Returns the readable name of `T` ("std::string", "demo::Resource"),
// computed on the first call for each type and kept.
template <class T> const std::string& type_name() {
  static const std::string name = type_from_signature(signature_of<T>());
  return name;
}

}  // namespace detail
}  // namespace lazyload

#endif  // LAZYLOAD_DETAIL_TYPE_NAME_HPP_
