// lazyload/detail/snapshot_fields.hpp
//
// Internal: the one list of the facts a snapshot holds, in the order the
// renderers show them. Not part of the public interface; do not include it
// directly.
//
// Every renderer walks this list instead of naming the members itself, so
// that a field added to EntrySnapshot or RegistrySnapshot and to this list
// appears in all of them at once, under one name and one unit:
//
//   json.hpp        one key per field, named as here (null when not known)
//   fmt.hpp         a column, the DETAILS column, or the summary line
//   prometheus.hpp  a metric family per numeric field (`family`), a label of
//                   lazyload_entry_info, or a gauge per state
//
// Example Usage:
//
//   struct Printer {
//     template <class Value> void field(const Field& f, const Value& v) {...}
//   };
//   Printer p;
//   for_each_entry_field(entry, p);  // p.field(kLoadTime, 5.8), ...
//
// Rationale:
//
// * A visitor, not a table of member pointers: the fields have different
//   types, and a value that is not known (a size of 0, the epoch) reaches
//   the renderer as an empty std::optional, decided here once.
// * The descriptor carries what differs between renderers (the Prometheus
//   family and its HELP text), so that the renderers hold no per-field
//   knowledge beyond their layout.
// * Units are the snapshot's: seconds, bytes, fractions from 0 to 1, and
//   time points as Unix time; renderers convert for people, never for
//   machines.

#ifndef LAZYLOAD_DETAIL_SNAPSHOT_FIELDS_HPP_
#define LAZYLOAD_DETAIL_SNAPSHOT_FIELDS_HPP_

#include <array>        // std::array
#include <chrono>       // std::chrono::system_clock
#include <cstdint>      // std::uint8_t, std::uint64_t
#include <optional>     // std::optional
#include <string_view>  // std::string_view

#include "../memory_pressure.hpp"  // PressureLevel
#include "../snapshot.hpp"         // EntrySnapshot, RegistrySnapshot
#include "../status.hpp"           // Status

namespace lazyload {
namespace detail {

// What a number measures.
enum class Unit : std::uint8_t {
  none,       // text, a flag, a state, a list, a rank
  count,      // a number of events or entries
  seconds,    // a duration
  bytes,      // a size
  ratio,      // a fraction from 0 to 1
  timestamp,  // a system_clock time point; Unix seconds in Prometheus
};

// How prometheus.hpp exposes a field.
enum class Metric : std::uint8_t {
  none,        // not a metric: free text or a list (see `help`)
  gauge,       // its own gauge family, `family`
  counter,     // its own counter family, `family` (ends in _total)
  by_status,   // a sample of `family` with label `label` = the field's name
  state_set,   // `family` with one sample per state, labelled `label`
  info_label,  // a label of lazyload_entry_info named as the field
};

// How json.hpp writes a value that is not known.
enum class Unknown : std::uint8_t {
  null,  // null: the rule for every key since the status JSON had one
  zero,  // 0: load_time, documented as 0 before the first load
};

// One field of a snapshot, as the renderers name and measure it.
struct Field {
  std::string_view name;  // the JSON key; the table's and metric's stem
  Unit unit;
  Metric metric;
  std::string_view family;  // the Prometheus family, if any
  std::string_view label;   // for by_status and state_set
  std::string_view help;    // the Prometheus HELP text; why, for none
  Unknown unknown = Unknown::null;
};

// The values of PressureLevel, for renderers that show each state.
inline constexpr std::array<PressureLevel, 3> kAllPressureLevels = {
    PressureLevel::normal, PressureLevel::warning, PressureLevel::critical};

// The fields of an entry, in the order of EntrySnapshot.
namespace entry_field {
inline constexpr Field kName{"name", Unit::none, Metric::info_label,
                             "",     "",         "The entry's name."};
inline constexpr Field kType{"type", Unit::none, Metric::info_label,
                             "",     "",         "The value type, demangled."};
inline constexpr Field kStatus{
    "status",          Unit::none,
    Metric::state_set, "lazyload_entry_state",
    "status",          "Whether the entry is in the status (1) or not (0)."};
inline constexpr Field kPriority{
    "priority",
    Unit::none,
    Metric::gauge,
    "lazyload_entry_priority",
    "",
    "Background loading order of the entry: smaller first."};
inline constexpr Field kLoadTime{
    "load_time",
    Unit::seconds,
    Metric::gauge,
    "lazyload_entry_last_load_duration_seconds",
    "",
    "Loader plus warm-up time of the entry's last load, successful or not.",
    Unknown::zero};
inline constexpr Field kError{
    "error", Unit::none, Metric::none,
    "",      "",         "Free text: the last failure's message."};
inline constexpr Field kLoads{"loads",
                              Unit::count,
                              Metric::counter,
                              "lazyload_entry_loads_total",
                              "",
                              "Successful loads of the entry."};
inline constexpr Field kFailures{"failures",
                                 Unit::count,
                                 Metric::counter,
                                 "lazyload_entry_failures_total",
                                 "",
                                 "Failed loads of the entry."};
inline constexpr Field kEvictions{
    "evictions",
    Unit::count,
    Metric::counter,
    "lazyload_entry_evictions_total",
    "",
    "Unloads of the entry by the registry to keep under its memory budget."};
inline constexpr Field kUses{"uses",
                             Unit::count,
                             Metric::counter,
                             "lazyload_entry_uses_total",
                             "",
                             "Successful loads plus leases of the entry."};
inline constexpr Field kProgress{
    "progress",
    Unit::ratio,
    Metric::gauge,
    "lazyload_entry_progress_ratio",
    "",
    "The fraction the entry's current or last load reported."};
inline constexpr Field kStage{
    "stage", Unit::none, Metric::none,
    "",      "",         "Free text: the stage the load reported."};
inline constexpr Field kDependsOn{
    "depends_on", Unit::none, Metric::none,
    "",           "",         "A list: the declared dependencies."};
inline constexpr Field kSizeBytes{
    "size_bytes",
    Unit::bytes,
    Metric::gauge,
    "lazyload_entry_size_bytes",
    "",
    "The entry's size when known, reported or declared."};
inline constexpr Field kEvictable{
    "evictable", Unit::none, Metric::info_label,
    "",          "",         "The budget may unload the entry."};
inline constexpr Field kRequired{
    "required", Unit::none, Metric::info_label,
    "",         "",         "The entry counts for readiness."};
inline constexpr Field kLastLoadedAt{
    "last_loaded_at",
    Unit::timestamp,
    Metric::gauge,
    "lazyload_entry_last_loaded_timestamp_seconds",
    "",
    "Unix time at which the entry's last successful load finished."};
inline constexpr Field kFirstLoad{
    "first_load",
    Unit::none,
    Metric::gauge,
    "lazyload_entry_first_load",
    "",
    "Rank of the entry's first load in the registry's life (1: first)."};
inline constexpr Field kReloading{
    "reloading",
    Unit::none,
    Metric::gauge,
    "lazyload_entry_reloading",
    "",
    "1 while a reload runs beside the entry's serving value, else 0."};
inline constexpr Field kReloadProgress{
    "reload_progress",
    Unit::ratio,
    Metric::gauge,
    "lazyload_entry_reload_progress_ratio",
    "",
    "The fraction the entry's running reload reported."};
inline constexpr Field kRetries{
    "retries",
    Unit::count,
    Metric::gauge,
    "lazyload_entry_retries",
    "",
    "Retries of the entry scheduled since its last successful load."};
inline constexpr Field kNextRetryAt{
    "next_retry_at",
    Unit::timestamp,
    Metric::gauge,
    "lazyload_entry_next_retry_timestamp_seconds",
    "",
    "Unix time at which the entry's next retry is due."};
}  // namespace entry_field

// The fields of the totals, in the order of RegistrySnapshot, with `ready`
// (not_ready is empty) before not_ready.
namespace registry_field {
inline constexpr std::string_view kEntriesHelp =
    "Registered entries by status.";
inline constexpr Field kTotal{
    "total", Unit::count, Metric::none,
    "",      "",          "Not a family: sum(lazyload_entries) is the total."};
inline constexpr Field kLoaded{"loaded",          Unit::count,
                               Metric::by_status, "lazyload_entries",
                               "status",          kEntriesHelp};
inline constexpr Field kFailed{"failed",          Unit::count,
                               Metric::by_status, "lazyload_entries",
                               "status",          kEntriesHelp};
inline constexpr Field kLoading{"loading",         Unit::count,
                                Metric::by_status, "lazyload_entries",
                                "status",          kEntriesHelp};
inline constexpr Field kQueued{"queued",          Unit::count,
                               Metric::by_status, "lazyload_entries",
                               "status",          kEntriesHelp};
inline constexpr Field kUnloaded{"unloaded",        Unit::count,
                                 Metric::by_status, "lazyload_entries",
                                 "status",          kEntriesHelp};
inline constexpr Field kIsLoading{
    "is_loading",
    Unit::none,
    Metric::gauge,
    "lazyload_is_loading",
    "",
    "1 while an entry is queued or loading, else 0."};
inline constexpr Field kProgress{
    "progress",
    Unit::ratio,
    Metric::gauge,
    "lazyload_progress_ratio",
    "",
    "Loaded entries over registered entries; 0 when there are none."};
inline constexpr Field kBytesLoaded{
    "bytes_loaded",
    Unit::bytes,
    Metric::gauge,
    "lazyload_loaded_bytes",
    "",
    "Sum of the known sizes of the loaded entries."};
inline constexpr Field kMemoryBudget{
    "memory_budget",
    Unit::bytes,
    Metric::gauge,
    "lazyload_memory_budget_bytes",
    "",
    "The registry's memory budget; no sample when there is none."};
inline constexpr Field kBudgetOvershoots{
    "budget_overshoots",
    Unit::count,
    Metric::counter,
    "lazyload_budget_overshoots_total",
    "",
    "Loads that left the loaded total over the budget with nothing to evict."};
inline constexpr Field kPressure{
    "pressure",
    Unit::none,
    Metric::state_set,
    "lazyload_pressure",
    "level",
    "Whether the memory pressure is at the level (1) or not (0)."};
inline constexpr Field kRssBytes{
    "rss_bytes",
    Unit::bytes,
    Metric::gauge,
    "lazyload_rss_bytes",
    "",
    "Resident set size of the process when the snapshot was taken."};
inline constexpr Field kReady{
    "ready",
    Unit::none,
    Metric::gauge,
    "lazyload_ready",
    "",
    "1 when every entry marked required is loaded, else 0."};
inline constexpr Field kNotReady{
    "not_ready",
    Unit::none,
    Metric::none,
    "",
    "",
    "A list: lazyload_entry_info{required} and lazyload_entry_state say it."};
}  // namespace registry_field

// Returns `value` when `known`, else nothing.
template <class T> std::optional<T> known_if(bool known, T value) {
  return known ? std::optional<T>(value) : std::nullopt;
}

// Calls `v.field(field, value)` for each field of `e`, in list order. The
// values are std::string_view, std::optional<std::string_view>, Status,
// int, std::uint64_t, double, bool, std::optional<double>,
// std::optional<std::uint64_t>, std::optional<system_clock::time_point>
// and const std::vector<std::string>&.
template <class Visitor>
void for_each_entry_field(const EntrySnapshot& e, Visitor& v) {
  namespace f = entry_field;
  using Time = std::chrono::system_clock::time_point;
  v.field(f::kName, std::string_view(e.name));
  v.field(f::kType, std::string_view(e.type));
  v.field(f::kStatus, e.status);
  v.field(f::kPriority, e.priority);
  v.field(f::kLoadTime, known_if(e.loads + e.failures != 0, e.load_time));
  v.field(f::kError, known_if(!e.error.empty(), std::string_view(e.error)));
  v.field(f::kLoads, e.loads);
  v.field(f::kFailures, e.failures);
  v.field(f::kEvictions, e.evictions);
  v.field(f::kUses, e.uses);
  v.field(f::kProgress, e.progress);
  v.field(f::kStage, known_if(!e.stage.empty(), std::string_view(e.stage)));
  v.field(f::kDependsOn, e.depends_on);
  v.field(f::kSizeBytes,
          known_if(e.size_bytes != 0, std::uint64_t{e.size_bytes}));
  v.field(f::kEvictable, e.evictable);
  v.field(f::kRequired, e.required);
  v.field(f::kLastLoadedAt,
          known_if(e.last_loaded_at != Time{}, e.last_loaded_at));
  v.field(f::kFirstLoad, known_if(e.first_load != 0, e.first_load));
  v.field(f::kReloading, e.reloading);
  v.field(f::kReloadProgress, known_if(e.reloading, e.reload_progress));
  v.field(f::kRetries, std::uint64_t{e.retries});
  v.field(f::kNextRetryAt,
          known_if(e.next_retry_at != Time{}, e.next_retry_at));
}

// Calls `v.field(field, value)` for each field of the totals of `s`, in
// list order; the values are as for for_each_entry_field(), plus
// PressureLevel.
template <class Visitor>
void for_each_registry_field(const RegistrySnapshot& s, Visitor& v) {
  namespace f = registry_field;
  v.field(f::kTotal, std::uint64_t{s.total});
  v.field(f::kLoaded, std::uint64_t{s.loaded});
  v.field(f::kFailed, std::uint64_t{s.failed});
  v.field(f::kLoading, std::uint64_t{s.loading});
  v.field(f::kQueued, std::uint64_t{s.queued});
  v.field(f::kUnloaded, std::uint64_t{s.unloaded});
  v.field(f::kIsLoading, s.is_loading);
  v.field(f::kProgress, s.progress);
  v.field(f::kBytesLoaded, std::uint64_t{s.bytes_loaded});
  v.field(f::kMemoryBudget,
          known_if(s.memory_budget != 0, std::uint64_t{s.memory_budget}));
  v.field(f::kBudgetOvershoots, s.budget_overshoots);
  v.field(f::kPressure, s.pressure);
  v.field(f::kRssBytes, known_if(s.rss_bytes != 0, std::uint64_t{s.rss_bytes}));
  v.field(f::kReady, s.not_ready.empty());
  v.field(f::kNotReady, s.not_ready);
}

}  // namespace detail
}  // namespace lazyload

#endif  // LAZYLOAD_DETAIL_SNAPSHOT_FIELDS_HPP_
