// lazyload/status.hpp
//
// `Status`, the five states every lazily loaded entry is in, and
// `to_string(Status)`. Monitoring formats (JSON, tables, Prometheus) print
// exactly these words, so they are part of the interface.
//
//   unloaded --get()/load()--> loading --ok--> loaded --unload()--> unloaded
//      |                          |
//      +--background--> queued    +--throws--> failed --retry--> loading

#ifndef LAZYLOAD_STATUS_HPP_
#define LAZYLOAD_STATUS_HPP_

#include <array>        // std::array
#include <cstddef>      // std::size_t
#include <cstdint>      // std::uint8_t
#include <iosfwd>       // std::basic_ostream
#include <string_view>  // std::string_view
#include <type_traits>  // std::enable_if_t, std::is_enum_v

namespace lazyload {

// Status
//
// Where an entry is in its life. `queued` is only used by a registry's
// background loading.
enum class Status : std::uint8_t { unloaded, queued, loading, loaded, failed };

// kAllStatuses
//
// Every `Status`, in declaration order, for code that reports per status.
inline constexpr std::array<Status, 5> kAllStatuses = {
    Status::unloaded, Status::queued, Status::loading, Status::loaded,
    Status::failed};

// EnumName
//
// The name of an enumerator, as `to_string()` returns it: a
// `std::string_view` of a null-terminated literal, so that `c_str()` can be
// passed where a C string is needed (`printf("%s", to_string(s).c_str())`).
// This type is thread-compatible, but not thread-safe.
class EnumName : public std::string_view {
 public:
  // EnumName::EnumName()
  //
  // Views the null-terminated literal `name`.
  // Thread safety: none needed. Throws: none. Invalidates: none.
  constexpr EnumName(const char* name) noexcept  // NOLINT: from a literal
      : std::string_view(name) {}

  // EnumName::c_str()
  //
  // Returns the name as a null-terminated C string in static storage.
  // Thread safety: safe to call concurrently. Throws: none.
  // Invalidates: none.
  constexpr const char* c_str() const noexcept { return data(); }
};

// to_string()
//
// Returns "unloaded", "queued", "loading", "loaded" or "failed".
// Thread safety: safe to call concurrently.
// Throws: none.
// Invalidates: none; the view refers to static storage.
constexpr EnumName to_string(Status status) noexcept {
  constexpr std::array<const char*, 5> kNames = {"unloaded", "queued",
                                                 "loading", "loaded", "failed"};
  const auto index = static_cast<std::size_t>(status);
  return index < kNames.size() ? kNames[index] : "unknown";
}

// operator<<(std::ostream&, E)
//
// Writes to_string(value) for every lazyload enum that has one (Status,
// PressureLevel). Declared with <iosfwd> only: include <ostream> (or
// <iostream>) where you use it.
// Thread safety: as the stream's. Throws: what the stream throws.
// Invalidates: none.
template <class Traits, class E,
          class = std::enable_if_t<
              std::is_enum_v<E> &&
              std::is_same_v<decltype(to_string(E{})), EnumName>>>
std::basic_ostream<char, Traits>& operator<<(
    std::basic_ostream<char, Traits>& out, E value) {
  return out << to_string(value).c_str();
}

}  // namespace lazyload

#endif  // LAZYLOAD_STATUS_HPP_
