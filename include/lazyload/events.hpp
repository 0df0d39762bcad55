// lazyload/events.hpp
//
// What happens to an entry, as values: `StatusChange`, one change of status
// reported to a registry's `on_change` callback, and `LoadRecord`, one
// finished load as a timeline (trace.hpp) draws it.
//
// Example Usage:
//
//   lazyload::RegistryOptions options;
//   options.on_change = [](const lazyload::StatusChange& c) {
//     std::printf("%.*s: %s -> %s\n", static_cast<int>(c.name.size()),
//                 c.name.data(), to_string(c.from).c_str(),
//                 to_string(c.to).c_str());
//   };
//
// Rationale: both are plain values with no behaviour, kept apart from the
// handle and the registry that produce them, so that a renderer of events
// (trace.hpp) needs neither.

#ifndef LAZYLOAD_EVENTS_HPP_
#define LAZYLOAD_EVENTS_HPP_

#include <chrono>       // std::chrono::steady_clock
#include <string>       // std::string
#include <string_view>  // std::string_view
#include <thread>       // std::thread::id

#include "status.hpp"

namespace lazyload {

// StatusChange
//
// One change of an entry's status, as reported to a registry's callback.
// The views are valid during the callback only.
struct StatusChange {
  std::string_view name;
  Status from = Status::unloaded;
  Status to = Status::unloaded;
  // For `loaded` and `failed`: the load's loader plus warm-up time.
  std::chrono::steady_clock::duration duration{};
  // For `failed`: the error message.
  std::string_view error;
  // For `unloaded`: whether a registry evicted it (memory budget, pressure or
  // idle timeout) rather than someone calling unload().
  bool eviction = false;
  // Whether this change ends a reload(): `from` and `to` are then both
  // `loaded` (or `to` is `unloaded` if it was unloaded meanwhile), and
  // `error` is set when the new value failed to load.
  bool reload = false;
  // For a load a registry runs again under its retry policy: which attempt
  // this is (1 for the first retry); 0 for every other change.
  unsigned retry = 0;
};

// LoadRecord
//
// One finished load, for timelines: when it was queued (if it was), started
// and finished, on which thread, and whether it succeeded.
struct LoadRecord {
  std::string name;
  std::thread::id thread;
  std::chrono::steady_clock::time_point queued_at{};  // epoch: not queued
  std::chrono::steady_clock::time_point started_at{};
  std::chrono::steady_clock::time_point finished_at{};
  bool ok = false;
};

}  // namespace lazyload

#endif  // LAZYLOAD_EVENTS_HPP_
