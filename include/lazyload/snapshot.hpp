// lazyload/snapshot.hpp
//
// `RegistrySnapshot` and `EntrySnapshot`: the state of a registry and of each
// of its entries, as plain values read at one moment. This is the one
// contract every renderer reads: the status JSON (json.hpp), the table
// (fmt.hpp), the Prometheus exposition (prometheus.hpp) and the HTTP routes
// (http.hpp).
//
// Example Usage:
//
//   lazyload::RegistrySnapshot s = registry.snapshot();
//   std::printf("%zu of %zu loaded (%.0f %%)\n", s.loaded, s.total,
//               100.0 * s.progress);
//   for (const lazyload::EntrySnapshot& e : s.entries) {
//     if (e.status == lazyload::Status::failed) log(e.name, e.error);
//   }
//
// Rationale: a snapshot is a value, not a view, so that a renderer never
// holds a registry lock while it formats, and its counts always add up to
// `total`. Names and units are the same everywhere a fact appears (the
// handle's HandleStats, this file, and every renderer): times in seconds,
// sizes in bytes, progress as a fraction from 0 to 1.

#ifndef LAZYLOAD_SNAPSHOT_HPP_
#define LAZYLOAD_SNAPSHOT_HPP_

#include <chrono>   // std::chrono::system_clock
#include <cstddef>  // std::size_t
#include <cstdint>  // std::uint64_t
#include <string>   // std::string
#include <vector>   // std::vector

#include "detail/config.hpp"
#include "memory_pressure.hpp"  // PressureLevel
#include "status.hpp"           // Status

namespace lazyload {

// kDefaultPriority
//
// The priority of an entry whose options do not set one
// (EntryOptions::priority). Smaller numbers load first.
inline constexpr int kDefaultPriority = 100;

// EntrySnapshot
//
// One entry of a RegistrySnapshot.
struct EntrySnapshot {
  std::string name;
  std::string type;  // the value type, as the compiler spells it
  Status status = Status::unloaded;
  int priority = kDefaultPriority;
  // The last load's loader plus warm-up, success or failure, in seconds.
  double load_time = 0.0;
  std::string error;  // the last failure's message; empty if none
  std::uint64_t loads = 0;
  std::uint64_t failures = 0;
  std::uint64_t evictions = 0;
  std::uint64_t uses = 0;  // successful loads plus leases
  double progress = 0.0;   // the current or last load's fraction, 0 to 1
  std::string stage;
  std::vector<std::string> depends_on;
  // Reported by the loader, else declared in the options; 0: unknown.
  std::size_t size_bytes = 0;
  bool evictable = false;
  bool required = false;
  // When the last successful load finished; the epoch when there was none.
  std::chrono::system_clock::time_point last_loaded_at{};
  // When this entry first loaded in the registry's life, as a rank (1: the
  // first entry that loaded); 0 while it has not loaded. Warm-start profiles
  // record this order.
  std::uint64_t first_load = 0;
  // Whether a reload() runs while the current value serves (the status stays
  // `loaded`), and that reload's fraction, 0 to 1.
  bool reloading = false;
  double reload_progress = 0.0;
  // The retry policy: retries scheduled since the last success, and when the
  // next one is due; the epoch when none is.
  unsigned retries = 0;
  std::chrono::system_clock::time_point next_retry_at{};
};

// RegistrySnapshot
//
// The state of every entry, read entry by entry in registration order, with
// totals computed from exactly those entries, so that the counts always add
// up to `total`.
LAZYLOAD_SUPPRESS_DEPRECATED_BEGIN  // the implicit members copy the old name
    struct RegistrySnapshot {
  std::vector<EntrySnapshot> entries;
  std::size_t total = 0;
  std::size_t loaded = 0;
  std::size_t failed = 0;
  std::size_t loading = 0;
  std::size_t queued = 0;
  std::size_t unloaded = 0;
  // True while at least one entry is queued or loading.
  bool is_loading = false;
  // loaded / total, from 0 to 1; 0 for an empty registry.
  double progress = 0.0;
  // The sum of the sizes of the loaded entries: what the budget is compared
  // with.
  std::size_t bytes_loaded = 0;
  std::size_t memory_budget = 0;
  // Loads that left the loaded total over the budget with nothing to evict.
  std::uint64_t budget_overshoots = 0;
  // The pressure level now (normal when no thresholds are set).
  PressureLevel pressure = PressureLevel::normal;
  // The process's resident set size when the snapshot was taken, in bytes.
  std::size_t rss_bytes = 0;
  // Required entries that are not loaded (names).
  std::vector<std::string> not_ready;

  // progress * 100, under its old name; goes in the next minor release.
  [[deprecated(
      "use progress (a fraction from 0 to 1)")]] double progress_percentage =
      0.0;
};
LAZYLOAD_SUPPRESS_DEPRECATED_END

}  // namespace lazyload

#endif  // LAZYLOAD_SNAPSHOT_HPP_
