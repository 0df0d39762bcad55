// lazyload/prometheus.hpp
//
// The registry's status in the Prometheus text exposition format (version
// 0.0.4), for a `/metrics` endpoint. Standard library only.
//
// Example Usage:
//
//   #include <lazyload/prometheus.hpp>
//
//   server.get("/metrics", [&] {
//     return Response(200, "text/plain; version=0.0.4",
//                     lazyload::to_prometheus(registry.snapshot()));
//   });
//
//   # HELP lazyload_entry_state Whether the entry is in the status (1) or...
//   # TYPE lazyload_entry_state gauge
//   lazyload_entry_state{name="torch",status="unloaded"} 0
//   lazyload_entry_state{name="torch",status="queued"} 0
//   lazyload_entry_state{name="torch",status="loading"} 0
//   lazyload_entry_state{name="torch",status="loaded"} 1
//   lazyload_entry_state{name="torch",status="failed"} 0
//
// The metric families, each with HELP and TYPE lines even when it has no
// sample:
//
//   gauge   lazyload_entries{status}          entries by status
//   gauge   lazyload_loaded_bytes             sizes of the loaded entries
//   gauge   lazyload_memory_budget_bytes      the budget, when there is one
//   counter lazyload_budget_overshoots_total  loads that overshot the budget
//   gauge   lazyload_ready                    1: every required entry loaded
//   gauge   lazyload_entry_info{name,type,required,evictable}  always 1
//   gauge   lazyload_entry_state{name,status}  1 for the entry's status
//   gauge   lazyload_entry_last_load_duration_seconds{name}  once loaded
//   counter lazyload_entry_loads_total{name}
//   counter lazyload_entry_failures_total{name}
//   counter lazyload_entry_evictions_total{name}  unloads for the budget
//   gauge   lazyload_entry_size_bytes{name}   when known
//   gauge   lazyload_entry_progress_ratio{name}  what the last load reported
//   gauge   lazyload_entry_last_loaded_timestamp_seconds{name}  Unix time
//
// Rationale:
//
// * Names follow the Prometheus conventions: one `lazyload_` prefix, base
//   units in the name (`_seconds`, `_bytes`, `_ratio`), `_total` on counters
//   only, and states as a gauge per state (`status` label), so that
//   `sum by (status) (lazyload_entry_state)` and alerts on
//   `lazyload_entry_state{status="failed"} == 1` work.
// * A value that is not known (a size, a budget, a duration before the first
//   load) has no sample rather than a 0 that would read as a measurement.
// * Label values are escaped as the format says (backslash, double quote,
//   line feed), and bytes that are not UTF-8 become U+FFFD, so any name
//   gives a well-formed exposition. Two names that differ only in such bytes
//   then give the same series, which Prometheus rejects as a duplicate.
// * Plain text built with std::string: no client library, no registry of
//   collectors, nothing to keep in sync; the snapshot is the collector.

#ifndef LAZYLOAD_PROMETHEUS_HPP_
#define LAZYLOAD_PROMETHEUS_HPP_

#include <chrono>       // std::chrono::system_clock
#include <cstddef>      // std::size_t
#include <cstdint>      // std::uint64_t
#include <string>       // std::string
#include <string_view>  // std::string_view

#include "detail/text.hpp"
#include "registry.hpp"
#include "status.hpp"

namespace lazyload {

// kPrometheusContentType
//
// The HTTP Content-Type of the text exposition format that to_prometheus()
// writes.
inline constexpr std::string_view kPrometheusContentType =
    "text/plain; version=0.0.4; charset=utf-8";

// to_prometheus()
//
// Returns the metrics of `snapshot` (or of `registry.snapshot()`) in the
// Prometheus text exposition format 0.0.4: a HELP and a TYPE line per metric
// family, then its samples, one per line, each line ending in '\n'. Always
// valid UTF-8.
// Thread safety: safe to call concurrently, also while loads run.
// Throws: std::bad_alloc only.
// Invalidates: none.
std::string to_prometheus(const RegistrySnapshot& snapshot);
std::string to_prometheus(const LazyRegistry& registry);

// End of public interfaces.
// Implementation details follow.

namespace detail {

// Writes one metric family: its HELP and TYPE lines, then samples.
class PrometheusWriter {
 public:
  explicit PrometheusWriter(std::string& out) : out_(out) {}

  void family(std::string_view name, std::string_view type,
              std::string_view help) {
    name_ = name;
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += help;  // static text: nothing to escape
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }

  // Starts a sample of the current family; add labels, then a value.
  PrometheusWriter& sample() {
    out_ += name_;
    first_label_ = true;
    return *this;
  }

  PrometheusWriter& label(std::string_view name, std::string_view value) {
    out_ += first_label_ ? '{' : ',';
    first_label_ = false;
    out_ += name;
    out_ += "=\"";
    append_label_value(out_, value);
    out_ += '"';
    return *this;
  }

  template <class Number> void value(Number number) {
    if (!first_label_) out_ += '}';
    out_ += ' ';
    append_number(out_, number);
    out_ += '\n';
  }

 private:
  std::string& out_;
  std::string_view name_;
  bool first_label_ = true;
};

inline void write_totals(PrometheusWriter& w, const RegistrySnapshot& s) {
  w.family("lazyload_entries", "gauge", "Registered entries by status.");
  const std::size_t counts[] = {s.unloaded, s.queued, s.loading, s.loaded,
                                s.failed};
  for (const Status status : kAllStatuses) {
    w.sample()
        .label("status", to_string(status))
        .value(std::uint64_t{counts[static_cast<std::size_t>(status)]});
  }
  w.family("lazyload_loaded_bytes", "gauge",
           "Sum of the known sizes of the loaded entries.");
  w.sample().value(std::uint64_t{s.bytes_loaded});
  w.family("lazyload_memory_budget_bytes", "gauge",
           "The registry's memory budget; no sample when there is none.");
  if (s.memory_budget != 0) w.sample().value(std::uint64_t{s.memory_budget});
  w.family("lazyload_budget_overshoots_total", "counter",
           "Loads that left the loaded total over the budget with nothing "
           "to evict.");
  w.sample().value(std::uint64_t{s.budget_overshoots});
  w.family("lazyload_ready", "gauge",
           "1 when every entry marked required is loaded, else 0.");
  w.sample().value(std::uint64_t{s.not_ready.empty() ? 1U : 0U});
}

inline void write_entries(PrometheusWriter& w, const RegistrySnapshot& s) {
  w.family("lazyload_entry_info", "gauge",
           "Always 1; the labels describe the entry.");
  for (const EntrySnapshot& e : s.entries) {
    w.sample()
        .label("name", e.name)
        .label("type", e.type)
        .label("required", e.required ? "true" : "false")
        .label("evictable", e.evictable ? "true" : "false")
        .value(std::uint64_t{1});
  }
  w.family("lazyload_entry_state", "gauge",
           "Whether the entry is in the status (1) or not (0).");
  for (const EntrySnapshot& e : s.entries) {
    for (const Status status : kAllStatuses) {
      w.sample()
          .label("name", e.name)
          .label("status", to_string(status))
          .value(std::uint64_t{e.status == status ? 1U : 0U});
    }
  }
  w.family("lazyload_entry_last_load_duration_seconds", "gauge",
           "Loader plus warm-up time of the entry's last load, successful "
           "or not.");
  for (const EntrySnapshot& e : s.entries) {
    if (e.loads + e.failures != 0) {
      w.sample().label("name", e.name).value(e.load_time);
    }
  }
  w.family("lazyload_entry_loads_total", "counter",
           "Successful loads of the entry.");
  for (const EntrySnapshot& e : s.entries) {
    w.sample().label("name", e.name).value(e.loads);
  }
  w.family("lazyload_entry_failures_total", "counter",
           "Failed loads of the entry.");
  for (const EntrySnapshot& e : s.entries) {
    w.sample().label("name", e.name).value(e.failures);
  }
  w.family("lazyload_entry_evictions_total", "counter",
           "Unloads of the entry by the registry to keep under its memory "
           "budget.");
  for (const EntrySnapshot& e : s.entries) {
    w.sample().label("name", e.name).value(e.evictions);
  }
  w.family("lazyload_entry_size_bytes", "gauge",
           "The entry's size when known, reported or declared.");
  for (const EntrySnapshot& e : s.entries) {
    if (e.size_bytes != 0) {
      w.sample().label("name", e.name).value(std::uint64_t{e.size_bytes});
    }
  }
  w.family("lazyload_entry_progress_ratio", "gauge",
           "The fraction the entry's current or last load reported.");
  for (const EntrySnapshot& e : s.entries) {
    w.sample().label("name", e.name).value(e.progress);
  }
  w.family("lazyload_entry_last_loaded_timestamp_seconds", "gauge",
           "Unix time at which the entry's last successful load finished.");
  for (const EntrySnapshot& e : s.entries) {
    if (e.last_loaded_at != std::chrono::system_clock::time_point{}) {
      const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          e.last_loaded_at.time_since_epoch())
                          .count();
      w.sample().label("name", e.name).value(static_cast<double>(ms) / 1e3);
    }
  }
}

}  // namespace detail

inline std::string to_prometheus(const RegistrySnapshot& snapshot) {
  std::string out;
  out.reserve(1024 + snapshot.entries.size() * 1024);
  detail::PrometheusWriter writer(out);
  detail::write_totals(writer, snapshot);
  detail::write_entries(writer, snapshot);
  return out;
}

inline std::string to_prometheus(const LazyRegistry& registry) {
  return to_prometheus(registry.snapshot());
}

}  // namespace lazyload

#endif  // LAZYLOAD_PROMETHEUS_HPP_
