// lazyload/registry_options.hpp
//
// `EntryOptions`, how one registry entry loads, and `RegistryOptions`, how a
// registry runs. Both are aggregates of plain fields with defaults.
//
// Example Usage:
//
//   lazyload::EntryOptions dqn;
//   dqn.priority = 1;                       // loads before priority 2
//   dqn.depends_on = {"orchestrator"};      // loaded first, on this thread
//   dqn.failure_cooldown = std::chrono::seconds(5);  // a HandleOptions field
//
//   lazyload::RegistryOptions options;
//   options.workers = 2;
//   options.memory_budget = std::size_t{2} << 30;  // bytes
//   options.on_change = [](const lazyload::StatusChange& c) { log(c); };
//
// Rationale: `EntryOptions` is a `HandleOptions` with the registry's fields
// added, rather than a copy of its fields, so that an option a handle gains
// is an option of every registry entry at once. Set fields by name: with
// g++ -Wextra, C++20 designated initializers warn about every member they
// leave out that has no default (the callbacks) and about the base.

#ifndef LAZYLOAD_REGISTRY_OPTIONS_HPP_
#define LAZYLOAD_REGISTRY_OPTIONS_HPP_

#include <chrono>      // std::chrono::steady_clock
#include <cstddef>     // std::size_t
#include <functional>  // std::function
#include <optional>    // std::optional
#include <string>      // std::string
#include <vector>      // std::vector

#include "events.hpp"           // StatusChange
#include "handle.hpp"           // HandleOptions, Warmup
#include "memory_pressure.hpp"  // PressureThresholds, PressureEvent
#include "snapshot.hpp"         // kDefaultPriority

namespace lazyload {

// RetryPolicy
//
// How a registry tries a failed load again in the background: after
// `first_delay`, then after delays growing by `backoff` up to `max_delay`,
// each varied by up to `jitter` (a fraction) either way so that many entries
// failing together do not retry together. A successful load, by anyone, ends
// the series. An aggregate; set the fields by name.
struct RetryPolicy {
  // Retries after a failure before giving up; 0: none. kRetryForever: no end.
  unsigned attempts = 0;
  std::chrono::steady_clock::duration first_delay = std::chrono::seconds(1);
  std::chrono::steady_clock::duration max_delay = std::chrono::minutes(1);
  double backoff = 2.0;
  double jitter = 0.1;
};

// Retry for as long as the registry lives.
inline constexpr unsigned kRetryForever = static_cast<unsigned>(-1);

// EntryOptions
//
// How one registry entry loads: the handle's options (it is a
// HandleOptions: `warmup`, `failure_cooldown`, `load_timeout`) and the
// registry's. An aggregate; set the fields by name.
struct EntryOptions : HandleOptions {
  // Background loading order: smaller first; ties in registration order.
  int priority = kDefaultPriority;
  // Entries loaded before this one. Names not registered yet are accepted and
  // resolved when this entry loads; a missing one fails that load.
  std::vector<std::string> depends_on;
  // The value's size in bytes when known in advance (0: unknown). A size the
  // loader reports through Progress::set_size() wins.
  std::size_t size_bytes = 0;
  // Whether the registry may unload this entry to keep under its memory
  // budget, or when it has not been leased for `idle_timeout`.
  bool evictable = false;
  // Evicts an evictable entry nobody has leased for this long (zero: never).
  std::chrono::steady_clock::duration idle_timeout{};
  // Readiness: a registry is ready once every required entry is loaded.
  bool required = false;
  // How a failed load of this entry is retried in the background. Unset:
  // required entries retry for ever (after about 1 s, doubling up to a
  // minute), so that readiness heals by itself; others are not retried.
  std::optional<RetryPolicy> retry;
  // After an eviction or an unload() of its value, load it again in the
  // background.
  bool keep_loaded = false;
};

// RegistryOptions
//
// How a registry runs. An aggregate; set the fields by name.
struct RegistryOptions {
  // Background loading threads; 0 picks one per core, at most 4. Threads are
  // started by the first start_background() or load_async(), not before.
  unsigned workers = 0;
  // When set, background loads are handed to this executor (one task per
  // load) instead of the registry's own threads. A task may run after the
  // registry is gone: it then returns at once without touching anything.
  // If it throws, the entry it was given fails with a LoadError naming it
  // ("the executor did not take it"), the exception nested; the call that
  // queued it (start_background(), load_async()) does not throw.
  std::function<void(std::function<void()>)> executor;
  // Called on every status change of every entry, without any lazyload lock
  // held; it may call the registry. Exceptions it throws are swallowed.
  std::function<void(const StatusChange&)> on_change;
  // Target for the sum of the sizes of the loaded entries, in bytes (0: no
  // budget). Evictable entries not in use are unloaded, least recently leased
  // first, to make a load fit; a load never fails for it.
  std::size_t memory_budget = 0;
  // Optional thresholds, as fractions of memory_budget
  // (PressureThresholds{} gives 85 % and 95 %). Off unless set; needs a
  // memory_budget.
  std::optional<PressureThresholds> pressure;
  // Called once each time the loaded total crosses a threshold upward,
  // without any lazyload lock held. Exceptions it throws are swallowed.
  std::function<void(const PressureEvent&)> on_pressure;
  // Keep at most this many load records for timeline() (oldest dropped).
  std::size_t timeline_capacity = 10000;
};

}  // namespace lazyload

#endif  // LAZYLOAD_REGISTRY_OPTIONS_HPP_
