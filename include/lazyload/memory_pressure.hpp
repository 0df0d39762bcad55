// lazyload/memory_pressure.hpp
//
// Memory pressure for a registry with a budget (`PressureThresholds`,
// `PressureLevel`, `PressureEvent`), and the process's resident set size.
//
// Example Usage:
//
//   lazyload::RegistryOptions options;
//   options.memory_budget = std::size_t{512} << 20;   // bytes
//   options.pressure = lazyload::PressureThresholds{};  // 85 % and 95 %
//   options.on_pressure = [](const lazyload::PressureEvent& e) {
//     std::printf("memory %s: %zu of %zu bytes\n",
//                 to_string(e.level).c_str(), e.bytes_loaded,
//                 e.budget);
//   };
//   std::size_t rss = lazyload::process_rss_bytes();
//
// Rationale: servers that hold models act at about 85 % and 95 % of their
// memory; thresholds are fractions of the registry's budget, so that they
// mean the same thing on a 512 MB host and a 64 GB one. They are off unless
// set: with only a budget, the registry evicts only to make a load fit.

#ifndef LAZYLOAD_MEMORY_PRESSURE_HPP_
#define LAZYLOAD_MEMORY_PRESSURE_HPP_

#include <array>        // std::array
#include <cstddef>      // std::size_t
#include <cstdint>      // std::uint8_t
#include <cstdio>       // std::FILE, std::fopen, std::fscanf
#include <string_view>  // std::string_view

#include "status.hpp"  // EnumName, operator<<

#if defined(__unix__) || defined(__APPLE__)
#  include <unistd.h>  // sysconf
#endif

namespace lazyload {

// PressureLevel
//
// How full the budget is: below the warning level, at or above it, at or
// above the critical level.
enum class PressureLevel : std::uint8_t { normal, warning, critical };

// to_string()
//
// Returns "normal", "warning" or "critical".
// Thread safety: safe to call concurrently. Throws: none.
// Invalidates: none; the view refers to static storage.
constexpr EnumName to_string(PressureLevel level) noexcept {
  constexpr std::array<const char*, 3> kNames = {"normal", "warning",
                                                 "critical"};
  const auto index = static_cast<std::size_t>(level);
  return index < kNames.size() ? kNames[index] : "unknown";
}

// PressureThresholds
//
// Thresholds as fractions of the memory budget. Crossing one upward raises a
// PressureEvent once; at `critical` the registry evicts down to `warning`.
struct PressureThresholds {
  double warning = 0.85;
  double critical = 0.95;
};

// PressureLevels
//
// The old name of PressureThresholds, kept for one minor release.
using PressureLevels [[deprecated("use PressureThresholds")]] =
    PressureThresholds;

// PressureEvent
//
// Reported when the loaded total crosses a threshold upward.
struct PressureEvent {
  PressureLevel level = PressureLevel::normal;
  std::size_t bytes_loaded = 0;
  std::size_t budget = 0;
};

// process_rss_bytes()
//
// Returns the resident set size of this process in bytes, read from
// /proc/self/statm; 0 where that is not available.
// Thread safety: safe to call concurrently.
// Throws: none.
// Invalidates: none.
inline std::size_t process_rss_bytes() noexcept {
#if defined(__linux__)
  // NOLINTNEXTLINE(cppcoreguidelines-owning-memory): closed below, no throw
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  unsigned long size = 0;
  unsigned long resident = 0;
  const int read = std::fscanf(f, "%lu %lu", &size, &resident);
  std::fclose(f);  // NOLINT(cppcoreguidelines-owning-memory): opened above
  if (read != 2) return 0;
  const long page = sysconf(_SC_PAGESIZE);
  return page > 0 ? static_cast<std::size_t>(resident) *
                        static_cast<std::size_t>(page)
                  : 0;
#else
  return 0;
#endif
}

}  // namespace lazyload

#endif  // LAZYLOAD_MEMORY_PRESSURE_HPP_
